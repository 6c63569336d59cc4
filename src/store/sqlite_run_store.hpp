#pragma once
// SqliteRunStore: the RunStore on SQLite, through SQLiteCpp; the only code with SQL (STYLE.md).
// WAL mode, synchronous=NORMAL (each commit crash-safe; Sync::durable switches one commit to
// synchronous=FULL, an fsync: SQLite's docs, "PRAGMA synchronous"), writing transactions
// begin IMMEDIATE, a 5 s busy timeout. The schema version is PRAGMA user_version; a newer
// one is refused. `--durability full` adds a writer thread that groups queued commits into
// one transaction per fsync (docs/reliability.md, "Durability modes"; store/commit.cpp).

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/ports.hpp"

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace wfo {

/// The schema version this wfo writes and reads.
inline constexpr int k_schema_version = 4;

class SqliteRunStore final : public RunStore {
 public:
  /// Opens (and creates when `create` is true) the database at `path`, creating its folder
  /// 0700 and the file 0600. Errors (ErrorKind::state): not a database, corrupt, read-only
  /// when writing is needed, schema newer than k_schema_version
  /// (`... has schema version 3; this wfo reads version 2: upgrade wfo`), missing (create
  /// false: `no state database at '...'`).
  static Result<std::unique_ptr<SqliteRunStore>> open(const std::string& path, bool create);
  ~SqliteRunStore() override;

  Result<void> create_run(const RunSnapshot& snapshot) override;
  Result<RunSnapshot> load_run(const std::string& run_id) override {
    return load_run(run_id, true);
  }
  /// As load_run; without `with_texts`, the run's texts (workflow, sub-workflows, DAG) are
  /// left empty, for a caller that read them with load_run_record (they never change).
  Result<RunSnapshot> load_run(const std::string& run_id, bool with_texts);
  /// Commits `t` before returning: with what deferrable commits hold back (one transaction),
  /// or, for a deferrable `t`, holds it back. A Sync::durable `t` is written through the
  /// group-commit writer, which starts with the first one (docs/reliability.md); there a
  /// deferrable `t` waits in the queue for the next batch, which an empty `t` starts.
  Result<void> commit(const std::string& run_id, const Transition& t) override;
  Result<uint64_t> commit_async(const std::string& run_id, const Transition& t) override;
  Result<uint64_t> durable_ticket() override;
  Result<void> wait_durable(uint64_t ticket) override;
  /// While the writer runs, a poll finding the database busy with it reports no change
  /// (the next poll looks again) rather than wait for its fsync.
  Result<std::optional<ExternalChanges>> poll_external(const std::string& run_id) override;

  /// Moves WAL checkpoints off the committing thread, for a process that drives a run: this
  /// connection stops checkpointing after its commits (wal_autocheckpoint=0), and a thread
  /// with a connection of its own checkpoints (PASSIVE) once the WAL has grown by
  /// `pages` pages since the last one. A checkpoint syncs the WAL, copies its pages into the
  /// database and syncs that (SQLite's docs, "Write-Ahead Logging"): about 4 ms every 220
  /// tasks of a chain, which the task after it waited for. Nothing of the run's durability
  /// changes: a frame stays in the WAL until a checkpoint has copied and synced it. A failed
  /// checkpoint is left for the next one, as SQLite's own automatic one is; the last close
  /// checkpoints what is left. Errors (ErrorKind::state): the second connection cannot be
  /// opened.
  Result<void> checkpoint_in_background(int pages = 1000);

  /// An eventfd that becomes readable whenever the group-commit writer made a batch
  /// durable, for the driver's wait to watch (close-on-exec, non-blocking; owned here).
  int durable_fd() const { return m_durable_fd; }

  /// Runs, newest first, without workflow text; `status` filters; at most `limit`.
  Result<std::vector<RunRecord>> list_runs(std::optional<RunStatus> status, int limit);
  /// The newest run's id, or nullopt when there is none.
  Result<std::optional<std::string>> latest_run_id();
  /// The run's record alone (no tasks). Errors: unknown id (ErrorKind::usage).
  /// With `with_texts`, also the workflow text, the sub-workflow texts and the DAG (they
  /// never change after create_run, so they may be used while the run's state is read).
  Result<RunRecord> load_run_record(const std::string& run_id, bool with_texts = false);
  /// The run's audit trail, oldest first.
  Result<std::vector<Event>> events(const std::string& run_id);

  /// In one IMMEDIATE transaction: loads the run and its gates, calls `decide`, and writes
  /// what it returns (per update: gate, decision, event). `decide`'s error is returned
  /// unchanged and nothing is written. A decision racing a driver's commit is serialized by
  /// SQLite. The commit is synced to disk (synchronous=FULL), as every decision is.
  Result<std::vector<GateUpdate>> update_gates(const std::string& run_id,
                                               const GateDecider& decide) override;

  /// Marks a running run's cancel request for its driver to see: counts it in
  /// RunRecord::cancel_requested, up to 2 (a second request stops the cleanup tasks).
  Result<void> request_cancel(const std::string& run_id);

  /// Every waiting gate across runs, with its run.
  Result<std::vector<std::pair<RunRecord, GateRecord>>> waiting_gates();

 private:
  SqliteRunStore();
  Result<void> migrate();
  void prepare();
  std::vector<GateRecord> read_gates(const std::string& run_id);
  void write_run(const RunRecord& r);
  /// Upserts task `r`'s row; a `position` below 0 appends it (after the run's last task;
  /// O(1) but for the run's first append). `existing`: the row is most
  /// likely there already (a transition's task, not a new for_each instance), so an UPDATE
  /// by key is tried first, and the upsert runs only when it changed no row.
  void write_task(const std::string& run_id, const TaskRecord& r, int position, bool existing);
  void write_attempt(const std::string& run_id, const AttemptRecord& a);
  void write_gate(const std::string& run_id, const GateRecord& g);
  void write_event(const std::string& run_id, const Event& e);
  void write_breaker(const std::string& run_id, const BreakerRecord& b);

  // store/commit.cpp: writing transitions, holding deferrable ones, the writer thread.
  struct Queued {
    std::string run_id;
    Transition transition;
  };
  struct Writer;
  /// Writes `batch`, then `last` (of `run_id`) when given, in one transaction; synchronous
  /// FULL when `full` or while the writer runs. Call with m_db_mutex held.
  Result<void> write_batch(const std::vector<Queued>& batch, const std::string& run_id,
                           const Transition* last, bool full);
  /// Writes `t`'s records; `skip`, when given, points at one flag per task record and then per
  /// attempt record of `t`, in order: set for those a later commit of the same batch
  /// overwrites, which are not written.
  void write_transition(const std::string& run_id, const Transition& t,
                        const char* skip = nullptr);
  void begin();
  void commit_tx();
  void rollback_tx() noexcept;
  void use_full_sync(bool full);
  Result<void> drain_writer();
  /// Writes what the writer has queued, and `t` after it when given, as one synchronous=FULL
  /// transaction on the calling thread; `durable` then covers them. Errors: this batch or an
  /// earlier one failed (every later write then fails too).
  Result<void> write_queued(const std::string& run_id, const Transition* t);
  /// Wakes the writer for what is queued without waiting for it. Errors: a batch failed.
  Result<void> flush_writer();
  void start_writer();
  void run_writer();
  void stop_writer() noexcept;

  std::string m_path;
  std::unique_ptr<SQLite::Database> m_db;
  std::unique_ptr<SQLite::Statement> m_update_run, m_update_task, m_upsert_task, m_upsert_attempt,
      m_upsert_gate, m_insert_event, m_data_version, m_upsert_breaker, m_begin, m_commit,
      m_rollback;
  int64_t m_last_data_version = -1;
  /// The position the next appended task (a for_each instance) of a run takes: read once per
  /// run with MAX(position), which visits every row of the run, then counted here. Only the
  /// run's driver appends (it holds the driver lock); a position lost to a rollback leaves a
  /// gap, which orders the same.
  std::string m_append_run;
  int m_append_position = -1;
  /// Guards m_db and its statements once the writer thread shares them.
  std::recursive_mutex m_db_mutex;
  bool m_full_sync = false;     ///< PRAGMA synchronous is FULL now
  std::vector<Queued> m_held;   ///< deferrable commits not written yet (no writer)
  uint64_t m_sync_tickets = 0;  ///< commit_async tickets when there is no writer
  int m_durable_fd = -1;
  std::unique_ptr<Writer> m_writer;
  // store/checkpoint.cpp
  struct Checkpointer;
  std::unique_ptr<Checkpointer> m_checkpointer;
  void stop_checkpointer() noexcept;
};

}  // namespace wfo
