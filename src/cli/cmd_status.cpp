// `wfo status [ID] [--json]`: the run's tasks, attempts, delays and gates.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "engine/gates.hpp"
#include "util/duration.hpp"

namespace wfo::cli {
namespace {

struct StatusOptions {
  std::string run_id;
  bool json = false;
};

std::string_view symbol(TaskStatus s) {
  switch (s) {
    case TaskStatus::succeeded: return "ok  ";
    case TaskStatus::failed: return "FAIL";
    case TaskStatus::skipped: return "skip";
    case TaskStatus::running: return "run ";
    case TaskStatus::retrying: return "rtry";
    case TaskStatus::waiting_approval: return "gate";
    case TaskStatus::cancelled: return "cncl";
    case TaskStatus::pending: return "    ";
  }
  return "    ";
}

void print_text(const RunSnapshot& s) {
  const RunRecord& r = s.run;
  std::printf("run %s (%s) %s\n", r.id.c_str(), r.workflow.c_str(),
              std::string(to_string(r.status)).c_str());
  std::printf("  started %s by %s%s\n", format_rfc3339(r.started_at).c_str(), r.started_by.c_str(),
              r.ended_at ? (", ended " + format_rfc3339(*r.ended_at)).c_str() : "");
  if (!r.reason.empty()) std::printf("  reason: %s\n", r.reason.c_str());
  SystemTime now = system_now();
  for (const TaskRecord& t : s.tasks) {
    std::string line = "  [" + std::string(symbol(t.status)) + "] " + t.id + " " +
                       std::string(to_string(t.status));
    if (t.status == TaskStatus::retrying && t.next_attempt_at) {
      auto left = std::max(std::chrono::milliseconds{0}, *t.next_attempt_at - now);
      line += ": retrying in " + format_duration(left) + " (" + t.reason + ")";
    } else if (!t.reason.empty()) {
      line += ": " + t.reason;
    }
    std::printf("%s\n", line.c_str());
    for (const auto& a : t.attempts) {
      std::string al = "      attempt " + std::to_string(a.number) + " " +
                       std::string(to_string(a.status));
      if (a.ended_at) al += " in " + format_duration(*a.ended_at - a.started_at);
      if (a.delay_ms > 0)
        al += ", after " + format_duration(std::chrono::milliseconds{a.delay_ms}) + " (" +
              a.delay_reason + ")";
      if (!a.reason.empty()) al += ": " + a.reason;
      std::printf("%s\n", al.c_str());
    }
    for (const auto& g : s.gates) {
      if (g.task_id != t.id) continue;
      std::string gl = "      gate (" + g.when + ") " + std::string(to_string(g.status));
      if (g.decided_by) gl += " by " + *g.decided_by;
      if (!g.comment.empty()) gl += ": " + g.comment;
      if (g.status == GateStatus::waiting) gl += ": " + g.message;
      std::printf("%s\n", gl.c_str());
    }
  }
}

int status(const GlobalOptions& g, const StatusOptions& o) {
  auto store = open_store(g, false);
  if (!store) return report(store.error());
  std::string id = o.run_id;
  if (id.empty()) {
    auto latest = (*store)->latest_run_id();
    if (!latest) return report(latest.error());
    if (!*latest)
      return report(Error{ErrorKind::usage, "no runs yet", {}, 0, 0, "start one with 'wfo run FILE'"});
    id = **latest;
  }
  auto snapshot = (*store)->load_run(id);
  if (!snapshot) return report(snapshot.error());
  // Looking at a parked run enforces its gates' timeouts (issue: gates time out even when no
  // wfo process is running).
  auto expired = expire_due_gates(**store, id, snapshot->gates, system_now());
  if (!expired) return report(expired.error());
  if (!expired->empty()) {
    snapshot = (*store)->load_run(id);
    if (!snapshot) return report(snapshot.error());
  }
  if (o.json)
    print_json(run_json(*snapshot, true));
  else
    print_text(*snapshot);
  return k_exit_succeeded;
}

}  // namespace

void register_status(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto o = std::make_shared<StatusOptions>();
  auto* cmd = app.add_subcommand("status", "Show a run's tasks, attempts, delays and gates");
  cmd->add_option("id", o->run_id, "The run's id (default: the newest run)");
  cmd->add_flag("--json", o->json, "Print the run as JSON");
  cmd->callback([&g, o, exit_code] { *exit_code = status(g, *o); });
}

}  // namespace wfo::cli
