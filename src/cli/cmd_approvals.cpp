// `wfo approvals [--json]`: every gate waiting for a decision, across the runs in the state
// database, with who may decide, the approvals so far and the deadline.
#include <cstdio>
#include <unordered_set>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "engine/gates.hpp"
#include "util/strings.hpp"

namespace wfo::cli {
namespace {

int approvals(const GlobalOptions& g, bool json) {
  auto store = open_store(g, false);
  if (!store) {
    if (store.error().message.starts_with("no state database")) {
      if (json) print_json(nlohmann::json::array());
      return k_exit_succeeded;
    }
    return report(store.error());
  }
  auto waiting = (*store)->waiting_gates();
  if (!waiting) return report(waiting.error());
  // Enforce due timeouts first, so a gate past its deadline is not listed as waiting. A
  // cancelled run's are left to its resume, and not listed: its timeout decides them first.
  bool expired_any = false;
  SystemTime now = system_now();
  std::unordered_set<std::string> runs_due;  // each run's due gates in one transaction
  for (const auto& [run, gate] : *waiting) {
    if (run.status == RunStatus::cancelled || !gate_due(gate, now) ||
        !runs_due.insert(run.id).second)
      continue;
    auto expired = expire_due_gates(**store, run.id, {gate}, now, GateLook::show);
    if (!expired) return report(expired.error());
    expired_any = expired_any || !expired->empty();
  }
  if (expired_any) {
    waiting = (*store)->waiting_gates();
    if (!waiting) return report(waiting.error());
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [run, gate] : *waiting) {
    if (run.status == RunStatus::cancelled && gate_due(gate, now)) continue;
    nlohmann::json approved_by = nlohmann::json::array();
    for (const auto& d : gate.decisions)
      if (d.approve) approved_by.push_back(d.user);
    out.push_back({{"run", run.id},
                   {"workflow", run.workflow},
                   {"task", gate.task_id},
                   {"when", gate.when},
                   {"message", gate.message},
                   {"approvers", gate.approvers},
                   {"min_approvals", gate.min_approvals},
                   {"approvals", approved_by},
                   {"created_at", format_rfc3339(gate.created_at)},
                   {"deadline", gate.deadline ? nlohmann::json(format_rfc3339(*gate.deadline))
                                              : nlohmann::json()},
                   {"inputs", gate.inputs_spec}});
  }
  if (json) {
    print_json(out);
    return k_exit_succeeded;
  }
  if (out.empty()) {
    std::printf("no gate is waiting for a decision\n");
    return k_exit_succeeded;
  }
  for (const auto& a : out) {
    std::string who = a["approvers"].empty() ? "anyone"
                                             : join(a["approvers"].get<std::vector<std::string>>(), ", ");
    std::printf("%s %s: %s\n", a["run"].get<std::string>().c_str(),
                a["task"].get<std::string>().c_str(), a["message"].get<std::string>().c_str());
    std::printf("    approvers: %s; approvals %zu of %d%s\n", who.c_str(), a["approvals"].size(),
                a["min_approvals"].get<int>(),
                a["deadline"].is_null()
                    ? ""
                    : ("; deadline " + a["deadline"].get<std::string>()).c_str());
    std::printf("    wfo approve %s --task %s%s\n", a["run"].get<std::string>().c_str(),
                shell_quote(a["task"].get<std::string>()).c_str(), state_arg(g).c_str());
  }
  return k_exit_succeeded;
}

}  // namespace

void register_approvals(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("approvals", "List every gate waiting for a decision");
  cmd->add_flag("--json", *json, "Print an array of waiting gates as JSON");
  cmd->callback([&g, json, exit_code] { *exit_code = approvals(g, *json); });
}

}  // namespace wfo::cli
