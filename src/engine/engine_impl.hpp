#pragma once
// Private to the engine: the state of one drive. Split from engine.cpp so that attempt
// preparation (attempt.cpp) and the drive loop (engine.cpp) stay readable.
//
// Invariants:
// - Every change to a task's status is committed (RunStore::commit) before anything acts on
//   it: a task's success before any dependent starts or is recorded (skipped, gated). The
//   records nothing acts on yet, an attempt's start (written after the spawn anyway) and,
//   in the default mode, a task's success, are deferrable: they go with the next commit,
//   which writes them first, at most options.start_flush later, and a success before the
//   spawn of a task that needs it (await_ends). In `full` mode a success is queued to the
//   writer instead and waited for in the same places.
// - `waiting_needs` of a task counts its needs that are not final (or, on a resume, kept and
//   not yet settled: wait_past_kept); a task is resolved (its `if` and gate evaluated)
//   exactly once per drive, when that count reaches zero; a cleanup task (begin_cleanup)
//   once more, after a cancel or the run's timeout.
// - A task has at most one running attempt; a retry is scheduled only after the previous
//   attempt has been reaped (the launcher kills the attempt's whole group before reaping).

#include <deque>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/engine.hpp"
#include "engine/flow_state.hpp"
#include "engine/secrets.hpp"
#include "util/box.hpp"

namespace wfo {

/// Why the drive is winding down, if it is.
enum class StopMode { none, interrupt, cancel, run_timeout };

struct TaskRun {
  TaskStatus status = TaskStatus::pending;
  int attempts = 0;     ///< highest attempt number used in this run
  int budget_base = 0;  ///< attempts before the current budget
  int failures = 0;     ///< failed attempts within the current budget
  uint32_t waiting_needs = 0;
  bool resolved = false;  ///< `if` and gate evaluated in this drive
  std::string reason;
  std::optional<SystemTime> ended_at;
  int64_t finish_seq = 0;
  nlohmann::json outputs = nlohmann::json::object();
  std::optional<int> exit_code;
  // While an attempt runs:
  bool running = false;
  uint64_t token = 0;
  std::optional<SteadyTime> deadline;
  SteadyTime started_steady{};
  bool timed_out = false;
  /// The latest attempt launched in this drive: made by launch(), kept after it ends (the
  /// end's records read it). Boxed: a TaskRun is held per task, and most of a resumed
  /// run's tasks never launch in it (272 bytes each at 100,000 tasks).
  Box<AttemptRecord> attempt;
  /// `full` mode: the store's ticket for this task's latest success, queued without waiting
  /// for its fsync (commit_end); 0 when none is pending. Nothing starts on it before it is
  /// durable (await_ends).
  uint64_t end_ticket = 0;
  std::string output_path;  ///< its $WFO_OUTPUT: the file of slot `output_slot`
  int output_slot = -1;     ///< held from build_request until the attempt has ended
  AttemptKind next_kind = AttemptKind::main;  ///< what the next launch runs
  bool fallback_used = false;                 ///< the fallback was tried in this budget
  bool compensated = false;                   ///< its compensation ran after its success
  bool undone = false;  ///< and succeeded: a resume runs the task again (recover_and_reset)
  /// Inputs of approving decisions: null until the first (update() makes it an object).
  nlohmann::json gate_inputs;
  // While waiting for a retry:
  std::optional<SteadyTime> retry_at;
  std::optional<SystemTime> retry_at_system;
  int64_t next_delay_ms = 0;
  std::string next_delay_reason;
};

struct Engine::Impl {
  Plan& plan;  ///< grows by the instances of for_each tasks (fanout.cpp)
  RunStore& store;
  Launcher& launcher;
  Clock& clock;
  Random& random;
  Observer& observer;
  EngineOptions options;

  RunRecord run;
  std::vector<TaskRun> tasks;
  std::unordered_map<std::string, GateRecord> gates;  ///< by task id; set through track_gate
  /// (deadline, task id) of waiting gates with a deadline, earliest on top, so that a turn
  /// of the loop finds the next gate timeout in O(log G), not by a scan of every gate. An
  /// entry whose gate no longer waits with that deadline is dropped when met
  /// (next_gate_deadline).
  using GateDeadline = std::pair<SystemTime, std::string>;
  mutable std::priority_queue<GateDeadline, std::vector<GateDeadline>, std::greater<>>
      gate_deadlines;
  ReadyQueue ready;
  std::multimap<SteadyTime, uint32_t> retry_timers;
  std::unordered_map<uint64_t, uint32_t> running_by_token;
  std::unordered_map<std::string, int> agent_running;  ///< agent name -> attempts running
  std::unordered_map<std::string, std::deque<uint32_t>> agent_waiting;  ///< pool full
  /// wfo's environment, captured once: "NAME=value" lines in name order, shared by every
  /// LaunchRequest as its base_env (a task's own variables are set over it).
  std::shared_ptr<const std::vector<std::string>> base_env;
  std::string run_dir;
  Redactor redactor;  ///< masks secret values in what is recorded
  bool run_dir_ready = false;
  int64_t finish_seq = 0;
  StopMode stop = StopMode::none;
  bool cleanup = false;           ///< begin_cleanup kept tasks: they may be running
  bool cancel_on_resume = false;  ///< recover_and_reset found a cancel its driver left
  /// recover_and_reset found the cleanup after a stop begun by the dead driver
  /// (RunSnapshot::cleanup_started): every task left that may run in a cleanup is kept,
  /// those that failed in it and wait for a retry included.
  bool cleanup_resumed = false;
  /// recover_and_reset found a stop pending whose cleanup had not begun: the tasks, sorted,
  /// whose attempt the dead driver left running. A live driver stops those before its
  /// cleanup, so they are not kept (cleanup_task).
  std::vector<uint32_t> stopped_before_cleanup;
  /// 1 for a task kept by a resume after a task that runs again (wait_past_kept); empty
  /// when there is none.
  std::vector<uint8_t> kept_after_redo;
  bool kept(uint32_t k) const { return k < kept_after_redo.size() && kept_after_redo[k]; }
  /// How a need reads to its dependents: its status, except for a need kept by a resume
  /// without a status function in its `if`: `skipped` when a need of it (read the same way)
  /// now did not succeed, as a fresh run would have skipped it; `culprit` is then the task
  /// that ran again and did not succeed, else k_no_node.
  struct NeedView {
    TaskStatus status;
    uint32_t culprit;
  };
  /// need_view's answers: final once asked, since a task resolves only after every task
  /// that runs again before its kept needs has ended.
  mutable std::unordered_map<uint32_t, NeedView> need_views;
  NeedView need_view(uint32_t n) const;
  /// A signal, or a second `wfo cancel`, after a cancel or the run's timeout: no cleanup
  /// task starts, those running are stopped, and their attempts end with `halt_reason`.
  bool cleanup_halted = false;
  std::string halt_reason;
  std::optional<SteadyTime> run_deadline;
  /// Circuit breakers by agent name (spec: Agents), with whether a trial attempt runs.
  struct Breaker {
    BreakerRecord record;
    bool trial_running = false;
  };
  std::unordered_map<std::string, Breaker> breakers;
  bool parked_waiting = false;  ///< --wait: the run is recorded waiting_approval meanwhile
  /// When the oldest deferrable commit that the store may still hold back was made; reset by
  /// every other commit, which writes it too.
  std::optional<SteadyTime> held_since;
  /// When check_external last asked the store; unset before the first time.
  std::optional<SteadyTime> polled_at;
  /// $WFO_OUTPUT files by slot, `output-slot-<k>` in run_dir: an attempt holds the lowest
  /// free slot while it runs, and the slot's file is emptied for it (reset_empty_file). A
  /// run makes one file per attempt running at once, not one per attempt: a new inode per
  /// attempt cost more than anything else wfo does per task (issue 7).
  enum class OutputSlot : char {
    free,        ///< not held; its file is emptied (or made) when next taken
    held,        ///< an attempt holds it
    held_empty,  ///< held, and read back after the attempt as an empty file of its own
    free_empty,  ///< not held, and known empty since then: taken without a reset
  };
  std::vector<OutputSlot> output_slots;
  uint64_t last_end_ticket = 0;  ///< the highest TaskRun::end_ticket handed out
  /// Commits that were not deferrable so far, each of which wrote what was held: in the
  /// default mode a held success's end_ticket is the count that will have written it.
  uint64_t flushes = 0;
  /// Events committed (or queued to the store) and not yet shown to the observer, in commit
  /// order. notify() shows them before the engine next waits for its processes, and before
  /// Engine::drive returns: the observer's work (a progress line and its write to stderr, a
  /// terminal redraw, the log tail of GitHub's group) is then off the path from a task's exit
  /// to the spawn of the task that needs it (issue 7).
  std::vector<Event> notes;
  /// Events of deferrable commits the store still holds: they join `notes` when the next
  /// commit that is not deferrable writes them, so a progress line never reports a change
  /// the database does not have.
  std::vector<Event> held_notes;

  Impl(Plan& p, RunStore& s, Launcher& l, Clock& c, Random& r, Observer& o, EngineOptions opt)
      : plan(p), store(s), launcher(l), clock(c), random(r), observer(o), options(std::move(opt)) {}

  // engine.cpp: the drive
  Result<DriveOutcome> drive(RunSnapshot snapshot);
  void load(const RunSnapshot& snapshot);
  Result<void> recover_and_reset(const RunSnapshot& snapshot);
  /// Evaluates task `i`'s `if` and gate once its needs have ended (resolve_now): it is
  /// queued to run, skipped, failed, or parked at its gate. A skip or failure resolves the
  /// tasks after it in turn; called during a resolve, it queues `i` for the outermost call
  /// to take next, so that a cascade down a chain of 100,000 tasks does not recurse as
  /// deep. Errors: the commits'.
  Result<void> resolve(uint32_t i);
  Result<void> resolve_now(uint32_t i);
  bool resolving = false;           ///< inside resolve(): later calls queue
  std::deque<uint32_t> to_resolve;  ///< what resolve() takes next
  /// On resume, a task that succeeded is kept (its work stands) even when a task before it
  /// runs again (a compensation undid it, or it failed before an `always()` task ran). Such
  /// a kept task settles once every task before it that runs again has ended (count_down):
  /// until then each task after it counts it in waiting_needs, as a need not ended, and
  /// reads it through need_view. One forward walk from the tasks not ended through ended
  /// ones: O(tasks + needs). Errors: none.
  void wait_past_kept();
  Result<void> release_dependents(uint32_t i);
  /// Counts down one need of task `first` that ended or settled. At zero, a task not ended
  /// is resolved (when `resolve_ready`, and the run is not stopping or it is a cleanup
  /// task); a kept one (wait_past_kept) settles: it takes the highest end ticket of its
  /// needs as its own, so that await_ends of a task after it waits for what ran again
  /// before it, and counts down its dependents in turn, iteratively. Errors: resolve's.
  Result<void> count_down(uint32_t first, bool resolve_ready);
  Result<void> start_ready();
  Result<void> on_ended(const Launcher::Ended& ended);
  Result<void> finish_attempt_failed(uint32_t i, AttemptStatus status, std::string reason,
                                     const std::string& output_tail);
  Result<void> finish_task(uint32_t i, TaskStatus status, std::string reason,
                           std::vector<Event> events = {});
  Result<void> check_external();
  Result<void> apply_gate(const GateRecord& gate);
  void check_deadlines();
  /// Begins the stop for the run's timeout once its deadline has passed. Errors: none.
  void stop_at_deadline();
  void begin_stop(StopMode mode);
  /// Stops the running attempts (each gets options.kill_grace) and drops queued starts and
  /// retries.
  void stop_what_runs();
  /// A signal or a second `wfo cancel` after a cancel or the run's timeout: no cleanup task
  /// starts and those running are stopped; their attempts end cancelled with `reason`. Once.
  void halt_cleanup(const char* reason);
  /// After `wfo cancel` or the run's timeout, once the attempts it stopped have ended: the
  /// tasks that may still run (cleanup_task) wait for their needs and run if their `if`
  /// holds; every other task not ended is cancelled, in one commit. Errors: the commit's.
  Result<void> begin_cleanup();
  /// True for a task that a cancel or the run's timeout does not cancel before its `if` is
  /// read again: pending, no attempt failed yet, in the root workflow (not a for_each,
  /// sub-workflow or a task inside one), no `approval` or `repeat`, and an `if` that calls
  /// a status function (GitHub Actions re-evaluates `if` on cancellation).
  bool cleanup_task(uint32_t i) const;
  /// Cleanup tasks may start: the cleanup began and no signal stopped it.
  bool cleanup_running() const { return cleanup && !cleanup_halted; }
  Result<DriveOutcome> finish_run();
  Result<DriveOutcome> finish_stopped();
  SteadyTime next_wake() const;
  Result<void> commit(Transition t);
  /// What follows a commit, or the queueing of one: the held-commit clock; `t`'s events
  /// move to `notes`, or for a deferrable `t` to `held_notes` until the next commit that
  /// is not. Errors: none.
  void committed(Transition& t);
  /// Shows the observer every event in `notes`, oldest first, and empties it. Errors: none.
  void notify();
  /// Commits task `i`'s success. In the default mode it is deferrable (held by the store
  /// until the next commit, at most options.start_flush later), so that successes that end
  /// close together share a transaction; await_ends() writes it before a task that needs it
  /// is spawned. In `full` mode, unless it makes a dependent ready (then as commit()), it is
  /// queued to the store's writer, which writes it at once (grouped with whatever else is
  /// queued), and this returns without waiting for the fsync: a task that does not need `i`
  /// may start meanwhile. Either way nothing acts on the success before it is written
  /// (durable, in `full` mode): await_ends() waits for it before a dependent or a retry
  /// starts, and every later synchronous commit writes what is held or queued first (in
  /// order, so the database still holds a prefix of the commits). Errors: the store's.
  Result<void> commit_end(uint32_t i, Transition t);
  /// Waits until the pending successes task `i` starts on, its needs' and its own, are
  /// written: durable in `full` mode; otherwise a held one is committed now (with whatever
  /// else is held). Errors: the store's write failed.
  Result<void> await_ends(uint32_t i);
  /// Waits until the success with `ticket` (TaskRun::end_ticket) is written: in `full`
  /// mode durable, otherwise committed (a held one is written now). 0: at once.
  Result<void> await_ticket(uint64_t ticket);
  Event event(std::string_view kind, uint32_t task, std::string detail = {}, int attempt = 0);
  TaskRecord task_record(uint32_t i) const;
  const std::string& id(uint32_t i) const { return plan.tasks[i].spec->id; }

  // finale.cpp: compensation and run hooks, run one at a time after the loop
  /// Set by run_to_end when SIGINT, SIGTERM or SIGHUP stopped its process: compensate()
  /// then stops, and the run is interrupted, to finish compensating on resume.
  bool finale_interrupted = false;
  Result<Launcher::Ended> run_to_end(const LaunchRequest& request);
  Result<std::string> compensate();
  void run_hook(const std::optional<CompiledTemplate>& hook, const std::string& name,
                const std::vector<std::pair<std::string, std::string>>& extra_env);
  void run_end_hooks();
  std::vector<std::pair<std::string, std::string>> waiting_gate_env() const;
  /// A hook's variables over wfo's own: the workflow's env, `extra` and the secrets, as
  /// LaunchRequest::env lines.
  std::vector<std::string> make_env(const std::map<std::string, std::string>& extra) const;
  /// `overlay` as LaunchRequest::env: "NAME=value" lines in name order, to be set over
  /// base_env (which is shared, never copied).
  static std::vector<std::string> env_lines(const std::map<std::string, std::string>& overlay);

  // breaker.cpp: circuit breakers of agents
  enum class BreakerVerdict { run, fail_open, defer };
  BreakerVerdict breaker_verdict(uint32_t i, std::string* reason);
  Result<void> breaker_record(uint32_t i, bool success);
  void requeue_agent(const std::string& agent, bool all);

  // gates in engine.cpp
  /// Sets gates[g.task_id] = g and remembers its deadline when it waits with one.
  void track_gate(const GateRecord& g);
  /// The earliest deadline of a waiting gate, or nullopt; drops stale entries. O(log G)
  /// amortized.
  std::optional<SystemTime> next_gate_deadline() const;
  Result<void> expire_gates();
  Result<void> set_parked(bool parked);

  // flow.cpp, fanout.cpp, subflow.cpp, repeat.cpp: matrix groups, for_each, sub-workflows
  // and repeat (issue 5; engine/flow.hpp). Hooks: drive, resolve, start_ready,
  // release_dependents, on_ended and context_for call them.
  FlowState flow;
  void restore_instances(const RunSnapshot& snapshot);
  Result<void> prepare_flow(const RunSnapshot& snapshot);
  bool held(uint32_t i) const;
  /// Counts an attempt of node `i` starting (`change` 1) or ending (-1) in its group's
  /// max_parallel (flow.group_running); an end gives a waiting task of the group its place
  /// in the ready queue again. Nothing for a node in no group or without a max_parallel.
  void count_group_attempt(uint32_t i, int change);
  /// When node `i`'s group has a free slot, gives the oldest task waiting for one its place
  /// in the ready queue again: after an attempt of the group ends, and after start_ready
  /// popped a task of the group that did not start (it had ended, its launch failed, or it
  /// waits for its agent's pool), so that the slot passes on.
  void release_group_waiter(uint32_t i);
  Result<bool> start_flow(uint32_t i);
  Result<void> settled(uint32_t i);
  std::optional<Result<void>> repeat_after_success(uint32_t i);
  void flow_context(uint32_t i, nlohmann::json& ctx) const;
  Result<void> start_foreach(uint32_t i);
  uint32_t add_instance(uint32_t collector, size_t index, const nlohmann::json& item);
  /// The node that holds node `n`: its for_each collector, or the sub-workflow collector
  /// that runs its file; k_no_node for a task of the root file.
  uint32_t holder(uint32_t n) const;
  Result<void> start_subflow(uint32_t i);
  Result<void> open_collector(uint32_t i, std::string detail, std::vector<uint32_t> made = {});
  Result<void> complete_collector(uint32_t i);
  Result<void> record_summary(uint32_t i, bool succeeded, const std::string& reason,
                              const nlohmann::json& outputs, const std::string& summary);
  /// The params of `scope` (the run's for the root), kept for the run: the pointer stays
  /// valid until start_subflow binds the scope afresh.
  Result<const nlohmann::json*> scope_params(uint32_t scope) const;
  /// The `env` context of `scope`'s file (env_texts), built once per file.
  const nlohmann::json& scope_env(uint32_t scope) const;
  Result<nlohmann::json> scope_outputs(uint32_t scope) const;
  /// Node `n` as expressions read it: {status, outputs, exit_code}, with the outputs `read`
  /// names (projected). Read by node `reader` (k_no_node for hooks and a file's outputs), a
  /// need kept by a resume reads as its `if` did (need_view).
  nlohmann::json task_view(uint32_t n, uint32_t reader, const NameReads& read) const;
  /// The `tasks` context of node `reader` (or of a file's outputs and hooks: k_no_node) in
  /// `scope`: each task of `reads` by its name, a matrix or for_each task as its group.
  nlohmann::json tasks_view(uint32_t scope, const std::vector<TaskRead>& reads,
                            uint32_t reader) const;

  // attempt.cpp: preparing and launching attempts
  Result<void> launch(uint32_t i);
  Result<void> fail_without_running(uint32_t i, std::string reason);
  nlohmann::json context_for(uint32_t i) const;
  expr::StatusFlags flags_for(uint32_t i) const;
  Result<LaunchRequest> build_request(uint32_t i, int attempt_number, AttemptKind kind);
  Result<GateRecord> open_gate(uint32_t i, const std::string& when);
  std::string file_stem(uint32_t i, int attempt_number) const;
  /// Gives task `i`'s next attempt a $WFO_OUTPUT file of its own, empty: sets output_slot and
  /// output_path. Errors: reset_empty_file's (the slot stays held; release it).
  Result<void> take_output_file(uint32_t i);
  /// Frees task `i`'s output slot, if it holds one. Called once the attempt's outputs have
  /// been read: no attempt starts in between, so the file is not emptied under the reader.
  void release_output_file(uint32_t i);
  /// Returns what task `i`'s attempt wrote to its $WFO_OUTPUT (up to 64 MiB, the end; empty
  /// when unreadable). When that is nothing, one lstat tells (no open), and the slot is
  /// marked known empty for the next attempt that takes it: a file of its own (one link,
  /// not a symlink) of 0 bytes, after the attempt's process group was killed.
  std::string read_output_file(uint32_t i);
};

/// Returns the last `max_bytes` of the file at `path` (empty when unreadable).
std::string read_tail(const std::string& path, size_t max_bytes);

/// Describes how an attempt ended for people: `exit code 3`, `killed by signal 9 (SIGKILL)`.
std::string describe_exit(int exit_code, int signal);

}  // namespace wfo
