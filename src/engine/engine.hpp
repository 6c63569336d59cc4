#pragma once
// The Engine drives one run: it starts ready tasks through the Launcher, decides what each
// ended attempt means (success, retry after a backoff, failure, gate), and commits every
// state change to the RunStore before acting on it. It knows no terminal and no SQL.

#include <chrono>
#include <memory>
#include <string>

#include "engine/plan.hpp"
#include "engine/ports.hpp"

namespace wfo {

/// What the driver is allowed to do; filled by the CLI.
struct EngineOptions {
  std::string state_dir;  ///< absolute; logs go under state_dir/runs/<run>/
  /// Absolute path of the state database: WFO_STATE for every process (a `wfo` command in a
  /// task uses the same database), and with the run id, how a resume knows its processes.
  std::string state_db;
  int max_parallel = 1;                        ///< -j: attempts at once
  std::chrono::milliseconds kill_grace{5000};  ///< SIGTERM -> SIGKILL (spec: timeout)
  Sync sync = Sync::normal;                    ///< durability of every commit
  /// An attempt's start record, and in the default mode a task's success (both
  /// Transition::deferrable), go with the next commit (a start usually with its attempt's
  /// end, a success at the latest with the launch of a task that needs it), or at the
  /// latest this long after the oldest was made; 0 writes each at once.
  std::chrono::milliseconds start_flush{10};
  /// How often, at most, the drive asks the store for other processes' changes (`wfo
  /// approve`, `wfo cancel`) while attempts keep ending; 0 asks on every turn of the loop.
  /// An idle drive still asks at least once a second (next_wake). Each ask is a read
  /// transaction (2 to 4 fcntl locks); 100 ms is one ask per 130 tasks of a `true` chain,
  /// and far below the seconds a person takes to approve or cancel.
  std::chrono::milliseconds external_poll{100};
  std::string workflow_file;    ///< WFO_WORKFLOW for every process
  std::string user;             ///< the OS user driving (for events)
  bool wait_for_gates = false;  ///< --wait: block instead of exiting 3
  bool resume = false;          ///< the snapshot was loaded: recover what a dead driver left first
  /// Secret params' values, name -> value: given to every process as WFO_SECRET_<NAME> and
  /// masked as *** in everything wfo records (engine/secrets.hpp).
  std::vector<std::pair<std::string, std::string>> secrets;
  std::string state_arg;  ///< appended to printed wfo commands, e.g. " --state /x/state.db"
};

/// How a drive of a run ended; the CLI maps it to an exit code.
enum class DriveOutcome { succeeded, failed, waiting_approval, cancelled, interrupted };

/// Returns the path, without extension, of the files of attempt `attempt_number` of task
/// `task_id` in the run folder `run_dir` (`<stem>.log`, `.inputs.json`): the id with
/// characters outside [A-Za-z0-9_-] as `_`, plus an FNV-1a hash of the id when any was
/// replaced, so distinct ids never share files. The CLI finds logs with it. Errors: none.
std::string attempt_file_stem(const std::string& run_dir, const std::string& task_id,
                              int attempt_number);

/// Drives one run. Not thread-safe; one Engine per run per process.
class Engine {
 public:
  /// `plan`, the ports and `options` must outlive the Engine. The engine adds the instances
  /// of for_each tasks to `plan` as their lists become known (engine/flow.hpp).
  Engine(Plan& plan, RunStore& store, Launcher& launcher, Clock& clock, Random& random,
         Observer& observer, EngineOptions options);
  ~Engine();

  /// Drives `snapshot` (a run just created, or loaded for resume) until it succeeds, fails,
  /// parks at a gate, is cancelled or is interrupted by a signal. On resume, attempts left
  /// running by a dead driver are stopped and recorded `interrupted`, and failed tasks get a
  /// fresh retry budget. Errors: a store commit failed (the run stays resumable).
  Result<DriveOutcome> drive(RunSnapshot snapshot);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace wfo
