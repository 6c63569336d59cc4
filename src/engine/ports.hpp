#pragma once
// The engine's ports (STYLE.md): it decides, and it reaches the world only through these.
// Launcher runs attempts (local processes today, a batch scheduler later), RunStore
// remembers (SQLite), Clock and Random make time and jitter injectable, Observer reports
// to people. Tests plug fakes into all of them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/status.hpp"
#include "util/error.hpp"
#include "util/mask.hpp"
#include "util/time.hpp"

namespace wfo {

using SteadyTime = std::chrono::steady_clock::time_point;

// ---------------------------------------------------------------------------------------
// Launcher

/// One attempt's command, ready to run: no expressions left.
struct LaunchRequest {
  std::vector<std::string> argv;  ///< non-empty
  /// The environment: `base_env` with `env` set over it (a name in both is env's). Both
  /// hold "KEY=value" lines in name order. The base is wfo's own environment, shared by
  /// every launch rather than copied into each (about 40 strings a launch).
  std::vector<std::string> env;
  std::shared_ptr<const std::vector<std::string>> base_env;  ///< may be null: none
  std::string workdir;            ///< absolute
  std::string log_path;           ///< stdout and stderr are appended here (from the first byte)
  std::shared_ptr<const Masker> mask;  ///< secrets written to the log as `***`; may be null
};

/// Resource use of an ended attempt (from wait4's rusage for local processes).
struct AttemptUsage {
  int64_t cpu_user_ms = 0;
  int64_t cpu_system_ms = 0;
  int64_t max_rss_kb = 0;
};

/// Runs attempts. Handles are opaque strings stored with the attempt (`pgid:1234` locally),
/// so a later wfo can find what a dead one left behind; nothing in the engine assumes a pid.
class Launcher {
 public:
  virtual ~Launcher() = default;

  struct Started {
    uint64_t token = 0;  ///< identifies the attempt to this launcher until it ends
    std::string handle;  ///< external handle to store, e.g. "pgid:1234"
    int64_t pid = 0;     ///< for the record only; 0 where there is none
  };
  /// Starts `request`, which it takes: the engine moves it in (its environment is all of
  /// wfo's, and copying it was about 40 allocations per launch). Errors: the command cannot
  /// be started (message says why).
  virtual Result<Started> start(LaunchRequest request) = 0;

  /// Stops a started attempt: asks it to end now, forces it after `grace`.
  virtual void cancel(uint64_t token, std::chrono::milliseconds grace) = 0;

  struct Ended {
    uint64_t token = 0;
    int exit_code = -1;  ///< -1 when killed by a signal
    int signal = 0;
    AttemptUsage usage;
    std::string log_error;  ///< empty, or why the log lost output (the attempt then fails)
  };
  struct Events {
    std::vector<Ended> ended;
    int signal = 0;  ///< SIGINT/SIGTERM/SIGHUP that reached wfo, else 0
  };
  /// Blocks until an attempt ends, a signal arrives or `deadline` passes.
  virtual Events wait(SteadyTime deadline) = 0;

  /// On resume: stops whatever survives of `handles` (attempts a dead driver left running)
  /// and any other process still carrying `run_id`, and waits until they are gone, so two
  /// attempts of one task never overlap. Errors: none (best effort, then logged).
  virtual void recover(const std::string& run_id, const std::vector<std::string>& handles) = 0;
};

// ---------------------------------------------------------------------------------------
// Clock and randomness

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime steady_now() = 0;
  virtual SystemTime system_now() = 0;
};

/// A source of uniform numbers in [0, 1), for jitter.
class Random {
 public:
  virtual ~Random() = default;
  virtual double uniform() = 0;
};

// ---------------------------------------------------------------------------------------
// Records: what the store keeps (spec: Machine-readable output)

/// What kind of process an attempt ran.
enum class AttemptKind { main, fallback, compensate, hook };

struct AttemptRecord {
  std::string task_id;
  int number = 0;  ///< 1-based, across every drive of the run
  AttemptKind kind = AttemptKind::main;
  AttemptStatus status = AttemptStatus::running;
  std::string handle;
  int64_t pid = 0;
  SystemTime started_at{};
  std::optional<SystemTime> ended_at;
  std::optional<int> exit_code;
  int signal = 0;
  std::string reason;  ///< why it ended as it did, e.g. `exit code 75`
  std::string log_path;
  int64_t delay_ms = 0;  ///< the backoff waited before it started
  std::string delay_reason;
  AttemptUsage usage;
  nlohmann::json outputs = nlohmann::json::object();
};

struct TaskRecord {
  std::string id;
  TaskStatus status = TaskStatus::pending;
  int budget_base = 0;  ///< attempts before the current retry budget (a resume of a failed run)
  std::string reason;
  std::optional<SystemTime> ended_at;
  std::optional<SystemTime> next_attempt_at;  ///< when retrying
  int64_t finish_seq = 0;                     ///< order of success, for compensation
  std::vector<AttemptRecord> attempts;        ///< filled by load_run
  /// A for_each instance's element, written when the instance is made (never updated), so
  /// that a resumed run fans out exactly as it did (issue 5). Unset for other tasks.
  std::optional<nlohmann::json> item;
};

struct DecisionRecord {
  std::string user;
  bool approve = false;
  SystemTime at{};
  std::string comment;
  nlohmann::json inputs = nlohmann::json::object();
};

struct GateRecord {
  std::string task_id;
  std::string when;  ///< before | after | on_failure
  GateStatus status = GateStatus::waiting;
  std::string message;
  std::vector<std::string> approvers;
  int min_approvals = 1;
  bool prevent_self_approval = false;
  SystemTime created_at{};
  std::optional<SystemTime> deadline;
  std::string on_timeout = "reject";
  int round = 1;  ///< an on_failure gate opens again after each retry
  /// The inputs a decision may carry: {name: {required, enum, pattern, description}}.
  nlohmann::json inputs_spec = nlohmann::json::object();
  std::optional<std::string> decided_by;
  std::optional<SystemTime> decided_at;
  std::string comment;
  std::vector<DecisionRecord> decisions;
};

struct RunRecord {
  std::string id;
  std::string workflow;  ///< the workflow's name
  std::string workflow_file;
  std::string source_dir;
  std::string workflow_text;
  std::string workflow_hash;
  /// Texts of the sub-workflow files the run uses, by key (model/subflow.hpp): a resumed run
  /// reads these, never the files again.
  nlohmann::json subflow_texts = nlohmann::json::object();
  /// The run's task graph as JSON text, written once at creation for `wfo status`
  /// (cli/status_tree.hpp: TaskGraph); the store keeps it as given. Empty for runs
  /// made before schema version 2.
  std::string dag;
  nlohmann::json params = nlohmann::json::object();
  RunStatus status = RunStatus::running;
  SystemTime started_at{};
  std::optional<SystemTime> ended_at;
  std::string started_by;
  std::string reason;
  int max_parallel = 1;
  std::optional<SystemTime> deadline;  ///< the run's timeout as an absolute time
  /// How many times `wfo cancel` asked to cancel the run, at most 2: the second stops the
  /// tasks that run after the cancel (begin_cleanup). 0 once a resume has dealt with it.
  int cancel_requested = 0;
};

/// A circuit breaker's state for one agent in one run (spec: Agents).
struct BreakerRecord {
  std::string agent;
  int consecutive_failures = 0;
  std::optional<SystemTime> open_until;  ///< set while open
};

struct RunSnapshot {
  RunRecord run;
  std::vector<TaskRecord> tasks;  ///< in workflow order
  std::vector<GateRecord> gates;
  std::vector<BreakerRecord> breakers;
  /// True when the run has not ended, a stop is pending (a cancel asked, or a deadline set),
  /// and the newest of its events `run_started`, `run_resumed` and `cleanup_started` is
  /// `cleanup_started`: a drive had begun the cleanup after a cancel or the run's timeout
  /// (its kept tasks were chosen and the others cancelled) when it stopped.
  bool cleanup_started = false;
};

/// One line of the audit trail.
struct Event {
  SystemTime at{};
  std::string task_id;  ///< empty for run-level events
  int attempt = 0;
  std::string kind;  ///< e.g. task_started, attempt_failed, gate_waiting, run_finished
  std::string detail;
};

/// How durable a commit must be before the engine acts on it.
enum class Sync { normal, durable };

/// One state change, committed as one transaction (STYLE.md: Store).
struct Transition {
  std::optional<RunRecord> run;         ///< status, ended_at, reason, deadline are written
  std::vector<TaskRecord> tasks;        ///< upserted (attempts ignored)
  std::vector<AttemptRecord> attempts;  ///< upserted by (task_id, number)
  std::vector<GateRecord> gates;        ///< upserted by task_id (decisions ignored)
  std::vector<BreakerRecord> breakers;  ///< upserted by agent
  std::vector<Event> events;
  Sync sync = Sync::normal;
  /// Nothing acts on this change yet (an attempt's start record; in the default mode a
  /// task's success too, until a task starts on it), so the store may write it with its
  /// next commit instead of now (one transaction per attempt instead of two, and one for
  /// several attempts that end close together). A crash before then loses it: resume finds
  /// the attempt's processes by their environment (Launcher::recover), or finds the attempt
  /// running or not started, and runs the task again. Its events reach the Observer once
  /// it is written (or, in `full` mode, queued with the next commit that is not deferrable).
  bool deferrable = false;
};

/// A gate decision to record, decided by engine/gates.hpp and written by the store in the
/// same transaction that read the gate.
struct GateUpdate {
  GateRecord gate;          ///< the gate's new state
  DecisionRecord decision;  ///< the decision to append
  Event event;              ///< the audit line
};

/// What another process changed in a run since the driver last looked.
struct ExternalChanges {
  int cancel_requested = 0;       ///< as RunRecord::cancel_requested
  std::vector<GateRecord> gates;  ///< every gate of the run, with decisions
};

/// Remembers runs. Implemented by SqliteRunStore; faked in engine tests.
class RunStore {
 public:
  virtual ~RunStore() = default;
  /// Creates `snapshot.run` with its tasks (all pending). Errors: the id exists, or I/O.
  virtual Result<void> create_run(const RunSnapshot& snapshot) = 0;
  /// Loads a run with tasks, attempts, gates and decisions. Errors: unknown id, I/O.
  virtual Result<RunSnapshot> load_run(const std::string& run_id) = 0;
  /// Commits `t` for `run_id` as one transaction before returning. Errors: I/O (the engine
  /// then stops: it never acts on a change that is not durable).
  virtual Result<void> commit(const std::string& run_id, const Transition& t) = 0;
  /// Group commit (`--durability full`): queues `t` and returns at once with a ticket; the
  /// change is durable once durable_ticket() reaches it. Tickets grow in commit order, and
  /// the store writes in that order. A deferrable `t` is queued without a write of its own:
  /// it goes with the next commit that is not, an empty commit, or a wait_durable() for its
  /// ticket. Default: commit() now, ticket 0. Errors: as commit().
  virtual Result<uint64_t> commit_async(const std::string& run_id, const Transition& t) {
    if (auto ok = commit(run_id, t); !ok) return std::unexpected(ok.error());
    return uint64_t{0};
  }
  /// The highest ticket of commit_async() that is durable. Errors: a queued commit failed
  /// (the engine then stops). Default: all of them.
  virtual Result<uint64_t> durable_ticket() { return UINT64_MAX; }
  /// Blocks until `ticket` is durable. Errors: as durable_ticket().
  virtual Result<void> wait_durable(uint64_t ticket) {
    (void)ticket;
    return {};
  }
  /// Cheap check for changes by other processes (`PRAGMA data_version`); nullopt when
  /// nothing changed since the last call.
  virtual Result<std::optional<ExternalChanges>> poll_external(const std::string& run_id) = 0;
  /// The rule a gate transaction applies: given the run and all its gates as read inside
  /// the transaction, the updates to write (none is fine), or an error to write nothing.
  using GateDecider = std::function<Result<std::vector<GateUpdate>>(
      const RunRecord&, const std::vector<GateRecord>&)>;
  /// In one transaction: reads the run and its gates once, calls `decide`, writes every
  /// update it returns (gate, decision, event, in order) unless it returns an error, which
  /// is passed on with nothing written. Used for decisions and gate timeouts, which may race
  /// another process; timeouts of many gates are decided together, in O(gates).
  virtual Result<std::vector<GateUpdate>> update_gates(const std::string& run_id,
                                                       const GateDecider& decide) {
    (void)run_id;
    (void)decide;
    return fail(ErrorKind::internal, "this store cannot update gates");
  }
  /// update_gates for one decision: `decide` returns the one update or an error.
  Result<GateUpdate> update_gate(
      const std::string& run_id,
      const std::function<Result<GateUpdate>(const RunRecord&, const std::vector<GateRecord>&)>&
          decide) {
    auto updates =
        update_gates(run_id,
                     [&](const RunRecord& r,
                         const std::vector<GateRecord>& g) -> Result<std::vector<GateUpdate>> {
                       auto one = decide(r, g);
                       if (!one) return std::unexpected(one.error());
                       return std::vector<GateUpdate>{std::move(*one)};
                     });
    if (!updates) return std::unexpected(updates.error());
    return std::move(updates->front());
  }
};

// ---------------------------------------------------------------------------------------
// Observer

/// Sees every event as it is committed, for terminal and CI output. Default: nothing.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_event(const Event& /*event*/) {}
};

}  // namespace wfo
