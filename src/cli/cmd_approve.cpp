// `wfo approve ID [--task T] [--comment C]` and `wfo reject ...`: decide a waiting gate.
// The deciding identity is the OS user of this process, never a flag or variable.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/follow.hpp"
#include "engine/gates.hpp"

namespace wfo::cli {
namespace {

struct DecideOptions {
  std::string run_id;
  std::string task;
  std::string comment;
  std::vector<std::string> inputs;
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
  for (const auto& kv : o.inputs) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return report(Error{ErrorKind::usage, "--input takes NAME=VALUE, got '" + kv + "'", {}, 0, 0,
                          "e.g. --input version=1.2.3"});
    request.inputs.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  // A gate whose deadline passed is decided by its timeout before anyone else may decide it.
  if (auto snapshot = (*store)->load_run(o.run_id); snapshot)
    if (auto expired =
            expire_due_gates(**store, o.run_id, snapshot->gates, request.at, GateLook::decide);
        !expired)
      return report(expired.error());
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
    // A driver that waits for the decision (`wfo run --wait`) goes on by itself; a resume
    // now would be refused as the run is being driven.
    if (run_is_driven(state_dir(state_path(g)), o.run_id))
      std::fprintf(stderr, "  the process driving the run goes on with it\n");
    else
      std::fprintf(stderr, "  continue with: wfo resume %s%s\n", o.run_id.c_str(),
                   state_arg(g).c_str());
  }
  return k_exit_succeeded;
}

void add(CLI::App& app, GlobalOptions& g, int* exit_code, bool approve) {
  auto o = std::make_shared<DecideOptions>();
  auto* cmd = app.add_subcommand(approve ? "approve" : "reject",
                                 approve ? "Approve a waiting gate" : "Reject a waiting gate");
  cmd->add_option("id", o->run_id, "The run's id")->required();
  cmd->add_option("--task", o->task, "The gate's task (needed when several wait)")
      ->check(not_empty("leave --task out when one gate waits"));
  cmd->add_option("--comment", o->comment, "A comment recorded with the decision");
  cmd->add_option("--input", o->inputs, "A gate input as NAME=VALUE (repeatable)");
  cmd->callback([&g, o, exit_code, approve] { *exit_code = decide(g, *o, approve); });
}

}  // namespace

void register_approve(CLI::App& app, GlobalOptions& g, int* exit_code) {
  add(app, g, exit_code, true);
  add(app, g, exit_code, false);
}

}  // namespace wfo::cli
