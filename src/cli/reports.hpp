#pragma once
// What a finished (or parked) run is worth to a CI server and a monitoring system, computed
// from the store alone: per-task figures, the critical path, JUnit XML and the Prometheus
// text exposition. `wfo stats` prints the same figures.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/progress.hpp"
#include "engine/plan.hpp"
#include "engine/ports.hpp"

namespace wfo::cli {

using Millis = std::chrono::milliseconds;

/// One task's figures. Durations are wall-clock milliseconds.
struct TaskStats {
  std::string id;
  TaskStatus status = TaskStatus::pending;
  int attempts = 0;                ///< attempts of every kind except compensation
  int retries = 0;                 ///< attempts after the first (main and fallback)
  int failures = 0;                ///< attempts that failed or timed out
  std::optional<Millis> duration;  ///< first attempt's start to last attempt's end
  Millis busy{0};                  ///< sum of the attempts' own durations
  Millis backoff{0};               ///< sum of the delays waited before attempts
  Millis gate_wait{0};             ///< from the gate's opening to its decision (or now)
  int64_t cpu_user_ms = 0;
  int64_t cpu_system_ms = 0;
  int64_t max_rss_kb = 0;  ///< the largest of its attempts'
  bool critical = false;   ///< on the critical path
};

/// A run's figures.
struct RunStats {
  std::string run_id;
  std::string workflow;
  RunStatus status = RunStatus::running;
  Millis wall{0};                ///< started_at to ended_at (or now while it runs or is parked)
  std::vector<TaskStats> tasks;  ///< in workflow order
  std::vector<std::string> critical_path;  ///< task ids, first to last
  Millis critical_path_length{0};          ///< the sum of `busy` along critical_path
  Millis backoff_wait{0};                  ///< sum over tasks
  Millis gate_wait{0};                     ///< sum over gates
};

/// A task's duration: its first attempt's start to its last attempt's end (compensations
/// left out); nullopt before any attempt has ended.
std::optional<Millis> task_duration(const TaskRecord& t);

/// Computes the figures of `run`. `plan` gives the DAG for the critical path (the longest
/// path through the needs, weighing each task by `busy`); tasks the plan does not know are
/// left off the path. `now` stands in for missing end times. Errors: none.
RunStats compute_stats(const RunSnapshot& run, const Plan& plan, SystemTime now);

/// The figures as JSON: {run_id, workflow, status, wall_ms, critical_path: {tasks,
/// length_ms}, backoff_wait_ms, gate_wait_ms, tasks: [{id, status, attempts, retries,
/// failures, duration_ms, busy_ms, backoff_ms, gate_wait_ms, cpu_user_ms, cpu_system_ms,
/// max_rss_kb, critical}]}.
nlohmann::json stats_json(const RunStats& stats);

/// The figures as a table for people, ending with the critical path and the waits.
std::string stats_text(const RunStats& stats);

/// The Prometheus text exposition (format 0.0.4) of the figures: each metric's HELP and TYPE
/// once, then its samples together, labelled {workflow, run_id[, task]}.
std::string prometheus_text(const RunStats& stats);

/// JUnit XML: one testsuite for the run, one testcase per task with its duration in seconds
/// (3 decimals), `<failure>` (reason, then the last 20 lines of the failed attempt's log) for
/// a failed task, `<skipped/>` for a skipped one; valid against Jenkins' junit-10.xsd.
std::string junit_xml(const RunSnapshot& run, const RunStats& stats);

/// True when write_reports() has something to write: --junit, --metrics, or GitHub Actions.
bool wants_reports(const OutputOptions& options);

/// Writes the reports `options` asks for (--junit, --metrics) and, in GitHub Actions, the step
/// summary; builds none that is not asked for (nothing at all when !wants_reports()).
/// Prints `wfo: error: ...` for each that cannot be written. Returns false then.
bool write_reports(const OutputOptions& options, const Plan& plan, const RunSnapshot& run);

}  // namespace wfo::cli
