#pragma once
// Private to the engine: what one drive keeps about matrix groups, for_each and sub-workflow
// collectors and repeating tasks (issue 5; engine/flow.hpp). Everything here can be rebuilt
// from the run's record, so nothing of it is stored.

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/workflow.hpp"
#include "util/time.hpp"

namespace wfo {

struct FlowState {
  /// Attempts running in each matrix or for_each group with a `max_parallel`, by
  /// FlowPlan::group_key.
  std::unordered_map<uint32_t, int> group_running;
  /// Tasks popped from the ready queue while their group ran `max_parallel` attempts, oldest
  /// first; one goes back to the ready queue each time an attempt of the group ends.
  std::unordered_map<uint32_t, std::deque<uint32_t>> group_waiting;
  /// Per running collector, how many of its first members have ended: settled() moves it on
  /// instead of testing every member at each member's end (O(members) in all, not each).
  std::unordered_map<uint32_t, size_t> members_ended;
  /// Successful runs of each repeating task within its current retry budget.
  std::unordered_map<uint32_t, int> repetitions;
  /// When each collector started running in this drive (its summary attempt's start).
  std::unordered_map<uint32_t, SystemTime> opened_at;
  /// The params of each sub-workflow scope, as its collector's `with` gave them. A pure
  /// function of the record once the collector's needs are final, so kept once computed.
  mutable std::unordered_map<uint32_t, nlohmann::json> scope_params;
  /// The `env` context of each file (env_texts), built at its first use.
  mutable std::unordered_map<const Workflow*, nlohmann::json> env_texts;
};

/// The outputs of a group read as one task (spec: Outputs and handoffs): each key the task
/// declares (`outputs:`, in their order) and each other key any instance set, as an array of
/// the instances' values in their order, null where an instance did not set it; so a group
/// without instances (an empty for_each list) reads `[]` for a declared key. `per_instance`
/// holds one object of string values per instance.
nlohmann::json gather_outputs(const std::vector<nlohmann::json>& per_instance,
                              const SharedVector<OutputSpec>& declared);

/// The `env` context of a file's tasks: its `env:` entries as written.
nlohmann::json env_texts(const Workflow& wf);

/// What a node reads of the context (engine/flow.hpp).
struct NameReads;
struct TaskRead;

/// The members of `all` (a JSON object) that `reads` names (engine/flow.hpp), so that a
/// task's context copies only what its templates read: an empty object for none (nullptr);
/// all of `all` when it is read whole, or when a name read is not a member as written (the
/// evaluator then looks for it case-insensitively, in the whole).
nlohmann::json projected(const nlohmann::json& all, const NameReads* reads);

}  // namespace wfo
