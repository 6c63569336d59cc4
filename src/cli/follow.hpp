#pragma once
// `wfo logs ID TASK -f`: following a task's output while another wfo process drives the run.

#include <optional>
#include <string>

#include "store/sqlite_run_store.hpp"

namespace wfo::cli {

/// True when a live process holds the driver lock of `run_id` under `state_dir` (flock(2) on
/// runs/<id>.lock, looked up in /proc/locks so that looking never takes the lock). Errors:
/// none (false when the lock file does not exist).
bool run_is_driven(const std::string& state_dir, const std::string& run_id);

/// A run recorded `running` that no process drives (its driver was killed, or the machine
/// went down) is shown as `interrupted`, which is what it is and how `wfo resume` takes it:
/// sets `r.status` and, when empty, `r.reason` ("its driver stopped"). Other runs are left.
void show_abandoned(RunRecord& r, const std::string& state_dir);

/// The refusal of `wfo logs --attempt N` for a task with no attempt N (ErrorKind::usage):
/// "task 'X' has no attempt N", hint "it has K attempt(s)".
Error no_such_attempt(const TaskRecord& t, int number);

/// Copies the output of `task`'s attempts to stdout as it is written, from the start of the
/// latest attempt (or of attempt `only_attempt`), going on to each new attempt after a retry,
/// until the task has ended (or waits at a gate), or no process drives the run any more.
/// Polls the store and the log 5 times a second. Returns the exit code; errors (an unknown
/// run or task; attempt `only_attempt` never came, and the task has ended or nothing drives
/// the run) are reported as `wfo: error: ...`.
int follow_task_log(SqliteRunStore& store, const std::string& state_dir, const std::string& run_id,
                    const std::string& task, std::optional<int> only_attempt);

}  // namespace wfo::cli
