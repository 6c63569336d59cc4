#pragma once
// The rules of a gate decision (spec: Approval gates): who may decide, and what a decision
// does. Pure: the store calls decide_gate inside the transaction that read the gate.

#include <optional>
#include <string>
#include <vector>

#include "engine/ports.hpp"

namespace wfo {

/// A person's decision, as `wfo approve` / `wfo reject` give it.
struct DecisionRequest {
  std::string user;  ///< the OS user of the deciding process
  bool approve = true;
  std::optional<std::string> task;  ///< --task; may be omitted when one gate waits
  std::string comment;
  SystemTime at{};
  std::vector<std::pair<std::string, std::string>> inputs;  ///< --input k=v, in order
};

/// Applies `request` to the waiting gates of `run`. Errors (ErrorKind::usage, nothing to
/// record): the run has ended; no gate waits; several wait and no --task (the message lists
/// them); the task has no waiting gate; the user is not an approver; self-approval when
/// prevented; a second decision by the same user. With `min_approvals` N, a gate is approved
/// by the N-th distinct approval; one rejection rejects it.
Result<GateUpdate> decide_gate(const RunRecord& run, const std::vector<GateRecord>& gates,
                               const DecisionRequest& request);

/// Checks `inputs` against a gate's `inputs_spec` ({name: {required, enum, pattern}}) and
/// returns them as a JSON object. Errors (ErrorKind::usage): `unknown input 'x'` (with
/// did-you-mean), `missing required input 'x'`, `input 'x' must be one of a, b`,
/// `input 'x' does not match pattern 'p'`. Required inputs are checked only when approving.
Result<nlohmann::json> check_inputs(const nlohmann::json& inputs_spec,
                                    const std::vector<std::pair<std::string, std::string>>& inputs,
                                    bool approve);

/// True when gate `g` waits and its deadline is at or before `now`: its timeout decides it,
/// not a person (spec: approval timeout).
bool gate_due(const GateRecord& g, SystemTime now);

/// The updates that decide every waiting gate of `gates` whose deadline is at or before
/// `now` by its `on_timeout` (spec: approval timeout; the deciding user is recorded as
/// `timeout`), in the order of `gates`; empty when none is due. O(gates).
std::vector<GateUpdate> decide_timeouts(const std::vector<GateRecord>& gates, SystemTime now);

/// Who asks expire_due_gates: a command that only shows the run (status, approvals), or
/// one about to decide a gate (approve, reject).
enum class GateLook { show, decide };

/// Expires every due gate of `run_id` through `store`, all in one transaction that reads
/// the gates afresh (a person's decision racing a timeout wins or loses whole), so a
/// parked run times out whenever wfo looks at it (status, approve, resume). A look that only
/// shows a cancelled run decides nothing (it was stopped on purpose; its resume decides its
/// gates); a decision applies the timeouts passed first, whatever the run's status, so that
/// no person decides a gate after its deadline. `gates` is what the caller last read: when
/// none of them is due, nothing is read or written. Returns the updates made. Errors: the
/// store's (ErrorKind::state).
Result<std::vector<GateUpdate>> expire_due_gates(RunStore& store, const std::string& run_id,
                                                 const std::vector<GateRecord>& gates,
                                                 SystemTime now, GateLook look);

}  // namespace wfo
