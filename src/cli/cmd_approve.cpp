// `wfo approve ID [--task T] [--comment C]` and `wfo reject ...`: decide a waiting gate.
// The deciding identity is the OS user of this process, never a flag or variable.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "engine/gates.hpp"

namespace wfo::cli {
namespace {

struct DecideOptions {
  std::string run_id;
  std::string task;
  std::string comment;
};

int decide(const GlobalOptions& g, const DecideOptions& o, bool approve) {
  auto store = open_store(g, false);
  if (!store) return report(store.error());
  DecisionRequest request;
  request.user = current_user();
  request.approve = approve;
  if (!o.task.empty()) request.task = o.task;
  request.comment = o.comment;
  request.at = system_now();
  auto update = (*store)->update_gate(
      o.run_id, [&](const RunRecord& run, const std::vector<GateRecord>& gates) {
        return decide_gate(run, gates, request);
      });
  if (!update) return report(update.error());
  const GateRecord& gate = update->gate;
  if (gate.status == GateStatus::waiting) {
    std::fprintf(stderr, "wfo: recorded %s's approval of task '%s' (%zu of %d needed)\n",
                 request.user.c_str(), gate.task_id.c_str(), gate.decisions.size(),
                 gate.min_approvals);
  } else {
    std::fprintf(stderr, "wfo: task '%s' of run %s %s by %s\n", gate.task_id.c_str(),
                 o.run_id.c_str(), approve ? "approved" : "rejected", request.user.c_str());
    std::fprintf(stderr, "  continue with: wfo resume %s\n", o.run_id.c_str());
  }
  return k_exit_succeeded;
}

void add(CLI::App& app, GlobalOptions& g, int* exit_code, bool approve) {
  auto o = std::make_shared<DecideOptions>();
  auto* cmd = app.add_subcommand(approve ? "approve" : "reject",
                                 approve ? "Approve a waiting gate" : "Reject a waiting gate");
  cmd->add_option("id", o->run_id, "The run's id")->required();
  cmd->add_option("--task", o->task, "The gate's task (needed when several wait)");
  cmd->add_option("--comment", o->comment, "A comment recorded with the decision");
  cmd->callback([&g, o, exit_code, approve] { *exit_code = decide(g, *o, approve); });
}

}  // namespace

void register_approve(CLI::App& app, GlobalOptions& g, int* exit_code) {
  add(app, g, exit_code, true);
  add(app, g, exit_code, false);
}

}  // namespace wfo::cli
