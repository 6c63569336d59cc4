#pragma once
// `wfo status` as a tree: the tasks hang under the tasks they need, roots first, each with a
// status symbol, then its attempts and gate:
//
//     ✓ build succeeded
//     │     attempt 1 succeeded in 1.2s
//     ├─ ✗ test failed: exit code 1 (attempt 3/3)
//     │  │     attempt 1 failed in 2.0s: exit code 1
//     │  └─ ⊘ deploy skipped: need 'test' failed (also needs lint)
//     └─ ✓ lint succeeded

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/plan.hpp"
#include "engine/ports.hpp"

namespace wfo::cli {

/// A run's task graph as the tree needs it: the plan's task ids in topological order, each
/// with the positions of its needs in that order. `wfo run` stores it with the run
/// (RunRecord::dag) so that `wfo status` need not parse and compile the workflow again (at
/// 10,000 tasks that was over half of status's time).
struct TaskGraph {
  std::vector<std::string> ids;                     ///< topological order
  std::vector<std::vector<uint32_t>> needs;         ///< per id: positions in `ids`, each smaller
  std::unordered_map<std::string, uint32_t> index;  ///< id -> position

  /// The graph of every task `plan` holds (matrix instances and sub-workflow tasks included).
  static TaskGraph from_plan(const Plan& plan);
  /// Reads what to_json wrote. Errors: nullopt when `text` is not an array of
  /// `[id, [positions]]` with each position before its own (a hand-edited database).
  static std::optional<TaskGraph> from_json(std::string_view text);
  /// JSON text: `[["build",[]],["test",[0]],["deploy",[0,1]]]`.
  std::string to_json() const;
};

/// The one-character symbol of a task status: ✓ ✗ ● ↻ ⏸ ○ ⊘ ■.
std::string_view status_symbol(TaskStatus s);

/// The tasks of `run` as a tree in dependency order, each line indented by two spaces and
/// ending with a newline. A task hangs under its need that comes last in topological order
/// and names its other needs as `(also needs a, b)`; tasks `graph` does not know (instances
/// added while running, `test[suite=unit]`) hang where their base task `test` would.
/// `now` gives the countdown of a retrying task. Errors: none.
std::string status_tree(const RunSnapshot& run, const TaskGraph& graph, SystemTime now);

}  // namespace wfo::cli
