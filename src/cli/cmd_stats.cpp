// `wfo stats [ID] [--json] [--metrics FILE]`: a run's figures (reports.hpp) from the store:
// per-task durations, attempts, CPU and peak RSS, the critical path against the wall time,
// and the waits on backoff and gates.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/reports.hpp"
#include "util/file.hpp"

namespace wfo::cli {
namespace {

struct StatsOptions {
  std::string run_id;
  bool json = false;
  std::string metrics_path;
};

int stats(const GlobalOptions& g, const StatsOptions& o) {
  auto store = open_store(g, false);
  if (!store) return report(store.error());
  std::string id = o.run_id;
  if (id.empty()) {
    auto latest = (*store)->latest_run_id();
    if (!latest) return report(latest.error());
    if (!*latest)
      return report(
          Error{ErrorKind::usage, "no runs yet", {}, 0, 0, "start one with 'wfo run FILE'"});
    id = **latest;
  }
  auto snapshot = (*store)->load_run(id);
  if (!snapshot) return report(snapshot.error());
  // The DAG comes from the text the run started with, not from today's file.
  auto loaded = load_text(snapshot->run.workflow_text, snapshot->run.workflow_file,
                          snapshot->run.source_dir, &snapshot->run.subflow_texts);
  Plan none;  // without the DAG (a sub-workflow file gone?), figures without a critical path
  RunStats figures = compute_stats(*snapshot, loaded ? loaded->plan : none, system_now());
  if (!o.metrics_path.empty())
    if (auto ok = write_file_atomic(o.metrics_path, prometheus_text(figures)); !ok) {
      // Exit 5 is the state database's (spec: Exit codes); a path that cannot be written
      // is a bad argument.
      Error e = ok.error();
      e.kind = ErrorKind::usage;
      e.hint = "check the path given to --metrics";
      return report(e);
    }
  if (o.json) {
    print_json(stats_json(figures));
  } else {
    std::string text = stats_text(figures);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return k_exit_succeeded;
}

}  // namespace

void register_stats(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto o = std::make_shared<StatsOptions>();
  auto* cmd = app.add_subcommand(
      "stats", "Show a run's durations, attempts, CPU, peak RSS, critical path and waits");
  cmd->add_option("id", o->run_id, "The run's id (default: the newest run)")
      ->check(not_empty("leave the id out for the newest run"));
  cmd->add_flag("--json", o->json, "Print the figures as JSON");
  cmd->add_option("--metrics", o->metrics_path, "Also write Prometheus metrics to FILE")
      ->check(report_file())
      ->type_name("FILE");
  cmd->callback([&g, o, exit_code] { *exit_code = stats(g, *o); });
}

}  // namespace wfo::cli
