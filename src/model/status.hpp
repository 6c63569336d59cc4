#pragma once
// Run, task and attempt statuses: exactly the spec's values (spec: Exit codes and statuses).

#include <optional>
#include <string_view>

namespace wfo {

enum class RunStatus { running, waiting_approval, succeeded, failed, cancelled, interrupted };
enum class TaskStatus {
  pending,
  running,
  retrying,
  waiting_approval,
  succeeded,
  failed,
  skipped,
  cancelled
};
enum class AttemptStatus { running, succeeded, failed, timed_out, interrupted, cancelled };
enum class GateStatus { waiting, approved, rejected };

std::string_view to_string(RunStatus s);
std::string_view to_string(TaskStatus s);
std::string_view to_string(AttemptStatus s);
std::string_view to_string(GateStatus s);

/// Parse the spec's spelling; nullopt for anything else.
std::optional<RunStatus> parse_run_status(std::string_view s);
std::optional<TaskStatus> parse_task_status(std::string_view s);
std::optional<AttemptStatus> parse_attempt_status(std::string_view s);
std::optional<GateStatus> parse_gate_status(std::string_view s);

/// True for the statuses a task never leaves within one drive of a run.
inline bool is_final(TaskStatus s) {
  return s == TaskStatus::succeeded || s == TaskStatus::failed || s == TaskStatus::skipped ||
         s == TaskStatus::cancelled;
}

}  // namespace wfo
