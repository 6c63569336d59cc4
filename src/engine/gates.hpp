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
};

/// Applies `request` to the waiting gates of `run`. Errors (ErrorKind::usage, nothing to
/// record): the run has ended; no gate waits; several wait and no --task (the message lists
/// them); the task has no waiting gate; the user is not an approver; self-approval when
/// prevented; a second decision by the same user. With `min_approvals` N, a gate is approved
/// by the N-th distinct approval; one rejection rejects it.
Result<GateUpdate> decide_gate(const RunRecord& run, const std::vector<GateRecord>& gates,
                               const DecisionRequest& request);

}  // namespace wfo
