// `wfo status [ID] [--json]`: the run's tasks as a tree (status_tree.hpp), with attempts,
// delays and gates.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/follow.hpp"
#include "cli/status_tree.hpp"
#include "engine/gates.hpp"
#include "util/duration.hpp"

namespace wfo::cli {
namespace {

struct StatusOptions {
  std::string run_id;
  bool json = false;
};

void print_text(const RunSnapshot& s) {
  const RunRecord& r = s.run;
  std::printf("run %s (%s) %s\n", r.id.c_str(), r.workflow.c_str(),
              std::string(to_string(r.status)).c_str());
  std::printf("  started %s by %s%s\n", format_rfc3339(r.started_at).c_str(), r.started_by.c_str(),
              r.ended_at ? (", ended " + format_rfc3339(*r.ended_at)).c_str() : "");
  if (!r.reason.empty()) std::printf("  reason: %s\n", r.reason.c_str());
  // The tree needs the DAG: stored with the run, else (a run made before schema version 2)
  // from the text the run started with. Without either, a flat list.
  std::optional<TaskGraph> graph = TaskGraph::from_json(r.dag);
  if (!graph) {
    auto loaded = load_text(r.workflow_text, r.workflow_file, r.source_dir, &r.subflow_texts);
    graph = loaded ? TaskGraph::from_plan(loaded->plan) : TaskGraph{};
  }
  std::string tree = status_tree(s, *graph, system_now());
  std::fwrite(tree.data(), 1, tree.size(), stdout);
}

int status(const GlobalOptions& g, const StatusOptions& o) {
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
  // Looking at a parked run enforces its gates' timeouts (issue: gates time out even when no
  // wfo process is running); a cancelled run's are left to its resume.
  static const std::vector<GateRecord> none;
  bool cancelled = snapshot->run.status == RunStatus::cancelled;
  auto expired = expire_due_gates(**store, id, cancelled ? none : snapshot->gates, system_now(),
                                  GateLook::show);
  if (!expired) return report(expired.error());
  if (!expired->empty()) {
    snapshot = (*store)->load_run(id);
    if (!snapshot) return report(snapshot.error());
  }
  show_abandoned(snapshot->run, state_dir(state_path(g)));
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
  cmd->add_option("id", o->run_id, "The run's id (default: the newest run)")
      ->check(not_empty("leave the id out for the newest run"));
  cmd->add_flag("--json", o->json, "Print the run as JSON");
  cmd->callback([&g, o, exit_code] { *exit_code = status(g, *o); });
}

}  // namespace wfo::cli
