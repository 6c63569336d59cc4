// `wfo list [--status S] [--json]`: runs, newest first, with relative start times.
#include <algorithm>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/follow.hpp"
#include "util/duration.hpp"

namespace wfo::cli {
namespace {

// How long ago `then` was, as people say it: `12s ago`, `3m ago`, `5h ago`, `2d ago`; the date
// from 30 days on.
std::string ago(SystemTime then, SystemTime now) {
  int64_t s = std::max<int64_t>(0, (now - then).count() / 1000);
  if (s < 60) return std::to_string(s) + "s ago";
  if (s < 3600) return std::to_string(s / 60) + "m ago";
  if (s < 86'400) return std::to_string(s / 3600) + "h ago";
  if (s < 30 * 86'400) return std::to_string(s / 86'400) + "d ago";
  return format_rfc3339(then).substr(0, 10);
}

// The runs as a table: id, status, when it started, how long it took, workflow; a failed
// run's reason below it.
void print_table(const std::vector<RunRecord>& runs) {
  int width = 2;
  for (const auto& r : runs) width = std::max(width, static_cast<int>(r.id.size()));
  SystemTime now = system_now();
  std::printf("%-*s  %-16s  %-9s  %-8s  %s\n", width, "ID", "STATUS", "STARTED", "DURATION",
              "WORKFLOW");
  for (const auto& r : runs) {
    std::string duration = r.ended_at ? format_duration(*r.ended_at - r.started_at) : "-";
    std::printf("%-*s  %-16s  %-9s  %-8s  %s\n", width, r.id.c_str(),
                std::string(to_string(r.status)).c_str(), ago(r.started_at, now).c_str(),
                duration.c_str(), r.workflow.c_str());
    if (r.status == RunStatus::failed && !r.reason.empty())
      std::printf("%*s  %s\n", width, "", r.reason.c_str());
  }
}

struct ListOptions {
  std::string status;
  bool json = false;
  int limit = 1000;
};

int list(const GlobalOptions& g, const ListOptions& o) {
  std::optional<RunStatus> filter;
  if (!o.status.empty()) {
    filter = parse_run_status(o.status);
    if (!filter)
      return report(Error{ErrorKind::usage, "unknown run status '" + o.status + "'", {}, 0, 0,
                          "use running, waiting_approval, succeeded, failed, cancelled or "
                          "interrupted"});
  }
  auto store = open_store(g, false);
  if (!store) {
    // No database yet means no runs: an empty list, not an error.
    if (store.error().message.starts_with("no state database")) {
      if (o.json) print_json(nlohmann::json::array());
      return k_exit_succeeded;
    }
    return report(store.error());
  }
  // A run recorded `running` that nothing drives is shown as interrupted (show_abandoned),
  // so --status running and --status interrupted each read both kinds of record.
  bool either = filter == RunStatus::running || filter == RunStatus::interrupted;
  auto runs = (*store)->list_runs(either ? RunStatus::running : filter, o.limit);
  if (!runs) return report(runs.error());
  std::string dir = state_dir(state_path(g));
  for (RunRecord& r : *runs) show_abandoned(r, dir);
  if (either) {
    auto more = (*store)->list_runs(RunStatus::interrupted, o.limit);
    if (!more) return report(more.error());
    runs->insert(runs->end(), more->begin(), more->end());
    std::erase_if(*runs, [&](const RunRecord& r) { return r.status != *filter; });
    // Newest first, as list_runs gives them (started_at: ids need not sort by time).
    std::stable_sort(runs->begin(), runs->end(), [](const RunRecord& a, const RunRecord& b) {
      return a.started_at > b.started_at;
    });
    if (runs->size() > static_cast<size_t>(o.limit)) runs->resize(static_cast<size_t>(o.limit));
  }
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *runs) out.push_back(run_summary_json(r));
    print_json(out);
    return k_exit_succeeded;
  }
  print_table(*runs);
  return k_exit_succeeded;
}

}  // namespace

void register_list(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto o = std::make_shared<ListOptions>();
  auto* cmd = app.add_subcommand("list", "List runs, newest first");
  cmd->add_option("--status", o->status, "Only runs with this status")
      ->check(not_empty("leave --status out for runs of every status"));
  cmd->add_option("--limit", o->limit, "At most this many runs")
      ->transform(whole_number(1, 1'000'000'000));
  cmd->add_flag("--json", o->json, "Print an array of runs as JSON");
  cmd->callback([&g, o, exit_code] { *exit_code = list(g, *o); });
}

}  // namespace wfo::cli
