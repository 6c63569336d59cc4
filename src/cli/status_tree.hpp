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

#include <string>

#include "engine/plan.hpp"
#include "engine/ports.hpp"

namespace wfo::cli {

/// The one-character symbol of a task status: ✓ ✗ ● ↻ ⏸ ○ ⊘ ■.
std::string_view status_symbol(TaskStatus s);

/// The tasks of `run` as a tree in dependency order, each line indented by two spaces and
/// ending with a newline. A task hangs under its need that comes last in topological order
/// and names its other needs as `(also needs a, b)`; tasks `plan` does not know (instances
/// added while running, `test[suite=unit]`) hang where their base task `test` would.
/// `now` gives the countdown of a retrying task. Errors: none.
std::string status_tree(const RunSnapshot& run, const Plan& plan, SystemTime now);

}  // namespace wfo::cli
