// Invariants: every public method that writes runs in exactly one IMMEDIATE transaction
// (SQLite::Transaction rolls back in its destructor unless committed), so a crash leaves
// the database at a prefix of the commit history. Prepared statements are created once and
// reset after each use. SQLiteCpp exceptions never leave this file: they become Error.
#include "store/sqlite_run_store.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <filesystem>
#include <unordered_map>

#include "store/internal.hpp"
#include "store/schema.hpp"
#include "store/vfs.hpp"
#include "util/json_text.hpp"

namespace wfo {
namespace {

using nlohmann::json;

using store::state_error;

void bind_time(SQLite::Statement& st, int index, const std::optional<SystemTime>& t) {
  if (t)
    st.bind(index, format_rfc3339(*t));
  else
    st.bind(index);
}

std::optional<SystemTime> column_time(SQLite::Column c) {
  if (c.isNull()) return std::nullopt;
  return parse_rfc3339(c.getString());
}

AttemptKind parse_kind(const std::string& s) {
  if (s == "fallback") return AttemptKind::fallback;
  if (s == "compensate") return AttemptKind::compensate;
  if (s == "hook") return AttemptKind::hook;
  return AttemptKind::main;
}

json parse_json(const std::string& s, json fallback) {
  auto v = json::parse(s, nullptr, false);
  return v.is_discarded() ? fallback : v;
}

constexpr const char* k_run_columns =
    "id, workflow, workflow_file, source_dir, params, status, started_at, ended_at, "
    "started_by, reason, max_parallel, deadline, cancel_requested, workflow_hash";

RunRecord read_run_row(SQLite::Statement& st) {
  RunRecord r;
  r.id = st.getColumn(0).getString();
  r.workflow = st.getColumn(1).getString();
  r.workflow_file = st.getColumn(2).getString();
  r.source_dir = st.getColumn(3).getString();
  r.params = parse_json(st.getColumn(4).getString(), json::object());
  r.status = parse_run_status(st.getColumn(5).getString()).value_or(RunStatus::failed);
  r.started_at = column_time(st.getColumn(6)).value_or(SystemTime{});
  r.ended_at = column_time(st.getColumn(7));
  r.started_by = st.getColumn(8).getString();
  r.reason = st.getColumn(9).getString();
  r.max_parallel = st.getColumn(10).getInt();
  r.deadline = column_time(st.getColumn(11));
  r.cancel_requested = st.getColumn(12).getInt();
  r.workflow_hash = st.getColumn(13).getString();
  return r;
}

// The rest of a run query that reads the texts too (schema 4 keeps them in run_texts).
constexpr const char* k_text_columns =
    ", coalesce(t.workflow_text, ''), coalesce(t.subflow_texts, '{}'), coalesce(t.dag, '') "
    "FROM runs LEFT JOIN run_texts t ON t.run_id=runs.id WHERE runs.id=?1";

// Reads the columns of k_text_columns, after k_run_columns, into `r`.
void read_texts(SQLite::Statement& st, RunRecord& r) {
  r.workflow_text = st.getColumn(14).getString();
  r.subflow_texts = parse_json(st.getColumn(15).getString(), json::object());
  r.dag = st.getColumn(16).getString();
}

// The row of run `run_id` in the database at `path`, with its texts when `with_texts`.
// Errors: a usage error naming `path` when there is no such run. Throws SQLite::Exception.
Result<RunRecord> select_run(SQLite::Database& db, const std::string& path,
                             const std::string& run_id, bool with_texts) {
  SQLite::Statement st(db, std::string("SELECT ") + k_run_columns +
                               (with_texts ? k_text_columns : " FROM runs WHERE runs.id=?1"));
  st.bind(1, run_id);
  if (!st.executeStep())
    return fail(ErrorKind::usage, "no run '" + run_id + "' in " + path,
                "list runs with 'wfo list'");
  RunRecord r = read_run_row(st);
  if (with_texts) read_texts(st, r);
  return r;
}

// Creates the folder (0700) and an empty file (0600) first, so SQLite's own files inherit
// the file's mode (SQLite gives -wal and -shm the database file's permissions).
Result<void> prepare_path(const std::string& path, bool create) {
  struct stat st {};
  // A device or a pipe: SQLite would write a journal beside it (/dev/null-journal).
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return std::unexpected(Error{ErrorKind::state,
                                 "state database '" + path + "' is not a file but " +
                                     (S_ISDIR(st.st_mode) ? "a folder" : "a device or a pipe"),
                                 {},
                                 0,
                                 0,
                                 S_ISDIR(st.st_mode)
                                     ? "name a file in it, e.g. --state " + path + "/state.db"
                                     : "point --state / WFO_STATE at a file"});
  if (::stat(path.c_str(), &st) == 0) return {};
  if (!create)
    return std::unexpected(Error{ErrorKind::state, "no state database at '" + path + "'", {}, 0, 0,
                                 "start a run first, or point --state / WFO_STATE at one"});
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return std::unexpected(state_error(path, "cannot create its folder: " + ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(state_error(path, std::string("cannot create: ") + strerror(errno)));
  ::close(fd);
  return {};
}

}  // namespace

Result<std::unique_ptr<SqliteRunStore>> SqliteRunStore::open(const std::string& path, bool create) {
  if (auto ok = prepare_path(path, create); !ok) return std::unexpected(ok.error());
  // SQLite's memory statistics take a global mutex around every allocation it makes (about
  // 7,000 instructions of a task's commit); wfo reads none of them (sqlite3_memory_used,
  // the heap limits). SQLITE_CONFIG_MEMSTATUS only takes effect before the library
  // initializes (SQLite's docs, sqlite3_config), so it is set before the first open or VFS
  // registration; afterwards the call fails harmlessly with SQLITE_MISUSE.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  std::unique_ptr<SqliteRunStore> store(new SqliteRunStore());
  store->m_path = path;
  try {
    // wfo's VFS gathers each commit's WAL frames into one write, and fails chosen I/O when
    // tests set WFO_FAULT_WRITE / WFO_FAULT_SYNC (store/vfs.hpp); null: the default VFS.
    const char* vfs = store::state_vfs();
    // NOMUTEX: SQLite's multi-thread mode, no lock of its own around every call (11% of
    // `wfo status`'s instructions went to locking it per column read). Safe because the
    // connection is only ever shared with the group-commit writer, and both hold
    // m_db_mutex while they use it (SQLite's docs: "Using SQLite In Multi-Threaded
    // Applications").
    store->m_db = std::make_unique<SQLite::Database>(
        path.c_str(), SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX, 0, vfs);
    store->m_db->setBusyTimeout(5000);
    // A database wfo never made (no schema version, but tables) is someone else's: wfo must
    // not turn it to WAL mode and add its tables (a mistyped --state or WFO_STATE).
    if (store->m_db->execAndGet("PRAGMA user_version").getInt() == 0 &&
        store->m_db->execAndGet("SELECT count(*) FROM sqlite_master").getInt() > 0)
      return std::unexpected(Error{ErrorKind::state,
                                   "'" + path + "' is an SQLite database, but not wfo's",
                                   {},
                                   0,
                                   0,
                                   "point --state / WFO_STATE at wfo's state database"});
    // 2 KiB pages for a new database (issue 7). A WAL frame is a whole page, and a task's
    // commit writes three to six of them (its task row, its attempt row, the page the events
    // append to, and the siblings a B-tree balance rewrites), each checksummed by SQLite and
    // copied twice (into the WAL, then by the checkpoint). At 4 KiB the checksums alone were
    // about 19,000 instructions a commit, a tenth of a task's; at 2 KiB about 11,700, and the
    // commit's own work 27,300 -> 20,500 (callgrind, chain-300). Rows of the WITHOUT ROWID
    // tables keep up to 488 bytes on their page (SQLite's file format, "B-tree Pages":
    // ((U-12)*64/255)-23, was 1,004); a longer one spills into an overflow page, so its
    // commit writes no more bytes than at 4 KiB. The pragma only takes effect while the file
    // is empty (SQLite's docs, PRAGMA page_size): an existing database keeps its pages.
    store->m_db->exec("PRAGMA page_size=2048");
    store->m_db->exec("PRAGMA journal_mode=WAL");
    store->m_db->exec("PRAGMA synchronous=NORMAL");
    if (auto ok = store->migrate(); !ok) return std::unexpected(ok.error());
    store->prepare();
    store->m_durable_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(path, e.getErrorStr()));
  }
  return store;
}

Result<void> SqliteRunStore::migrate() {
  int version = m_db->execAndGet("PRAGMA user_version").getInt();
  if (version > k_schema_version)
    return std::unexpected(Error{
        ErrorKind::state,
        "state database '" + m_path + "' has schema version " + std::to_string(version) +
            "; this wfo reads version " + std::to_string(k_schema_version),
        {}, 0, 0, "upgrade wfo, or point --state at another database"});
  if (version == k_schema_version) return {};
  SQLite::Transaction tx(*m_db, SQLite::TransactionBehavior::IMMEDIATE);
  // Read again under the write lock: another wfo may have migrated in between.
  int now = m_db->execAndGet("PRAGMA user_version").getInt();
  if (now < k_schema_version) {
    if (now < 1) m_db->exec(schema::k_v1);
    if (now < 2) m_db->exec(schema::k_v2);
    if (now < 3) m_db->exec(schema::k_v3);
    if (now < 4) m_db->exec(schema::k_v4);
    m_db->exec("PRAGMA user_version=" + std::to_string(k_schema_version));
  }
  tx.commit();
  return {};
}

void SqliteRunStore::prepare() {
  auto& db = *m_db;
  m_update_run = std::make_unique<SQLite::Statement>(
      db,
      "UPDATE runs SET status=?2, ended_at=?3, reason=?4, deadline=?5, "
      // A second `wfo cancel` that came after the driver last looked is not undone.
      "cancel_requested=CASE WHEN ?6=0 THEN 0 ELSE MAX(cancel_requested, ?6) END WHERE id=?1");
  // An UPDATE of a row that is there costs less than the upsert, which seeks the key for
  // the INSERT and again for its DO UPDATE (callgrind, chain-300: write_task 2.2k fewer
  // instructions a task). Same columns as the upsert's DO UPDATE.
  m_update_task = std::make_unique<SQLite::Statement>(
      db,
      "UPDATE tasks SET status=?3, budget_base=?4, reason=?5, ended_at=?6, "
      "next_attempt_at=?7, finish_seq=?8 WHERE run_id=?1 AND task_id=?2");
  m_upsert_task = std::make_unique<SQLite::Statement>(
      db,
      "INSERT INTO tasks(run_id, task_id, position, status, budget_base, reason, ended_at, "
      "next_attempt_at, finish_seq, item) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
      "ON CONFLICT(run_id, task_id) DO UPDATE SET status=?4, budget_base=?5, reason=?6, "
      "ended_at=?7, next_attempt_at=?8, finish_seq=?9");
  m_upsert_attempt = std::make_unique<SQLite::Statement>(
      db, "INSERT INTO attempts(run_id, task_id, number, kind, status, handle, pid, started_at, "
          "ended_at, exit_code, signal, reason, log_path, delay_ms, delay_reason, cpu_user_ms, "
          "cpu_system_ms, max_rss_kb, outputs) "
          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19) "
          "ON CONFLICT(run_id, task_id, number) DO UPDATE SET status=?5, handle=?6, pid=?7, "
          "ended_at=?9, exit_code=?10, signal=?11, reason=?12, log_path=?13, cpu_user_ms=?16, "
          "cpu_system_ms=?17, max_rss_kb=?18, outputs=?19");
  m_upsert_gate = std::make_unique<SQLite::Statement>(
      db, "INSERT INTO gates(run_id, task_id, gate_when, status, message, approvers, "
          "min_approvals, prevent_self, created_at, deadline, on_timeout, round, decided_by, "
          "decided_at, comment, inputs_spec) "
          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16) "
          "ON CONFLICT(run_id, task_id) DO UPDATE SET gate_when=?3, status=?4, message=?5, "
          "approvers=?6, min_approvals=?7, prevent_self=?8, created_at=?9, deadline=?10, "
          "on_timeout=?11, round=?12, decided_by=?13, decided_at=?14, comment=?15, "
          "inputs_spec=?16");
  m_upsert_breaker = std::make_unique<SQLite::Statement>(
      db, "INSERT INTO breakers(run_id, agent, consecutive_failures, open_until) "
          "VALUES(?1,?2,?3,?4) ON CONFLICT(run_id, agent) DO UPDATE SET "
          "consecutive_failures=?3, open_until=?4");
  m_insert_event = std::make_unique<SQLite::Statement>(
      db, "INSERT INTO events(run_id, at, task_id, attempt, kind, detail) VALUES(?1,?2,?3,?4,?5,?6)");
  m_data_version = std::make_unique<SQLite::Statement>(db, "PRAGMA data_version");
  m_begin = std::make_unique<SQLite::Statement>(db, "BEGIN IMMEDIATE");
  m_commit = std::make_unique<SQLite::Statement>(db, "COMMIT");
  m_rollback = std::make_unique<SQLite::Statement>(db, "ROLLBACK");
}

Result<void> SqliteRunStore::create_run(const RunSnapshot& s) {
  if (auto ok = drain_writer(); !ok) return ok;
  std::lock_guard lock(m_db_mutex);
  try {
    SQLite::Transaction tx(*m_db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement exists(*m_db, "SELECT 1 FROM runs WHERE id=?1");
    exists.bind(1, s.run.id);
    if (exists.executeStep())
      return fail(ErrorKind::usage, "a run with id '" + s.run.id + "' already exists",
                  "choose another --run-id, or resume it with 'wfo resume " + s.run.id + "'");
    SQLite::Statement st(
        *m_db,
        "INSERT INTO runs(id, seq, workflow, workflow_file, source_dir, workflow_text, "
        "workflow_hash, params, status, started_at, ended_at, started_by, reason, max_parallel, "
        "deadline, cancel_requested) VALUES(?1, (SELECT COALESCE(MAX(seq),0)+1 FROM runs), ?2, "
        "?3, ?4, '', ?5, ?6, ?7, ?8, NULL, ?9, '', ?10, ?11, 0)");
    const RunRecord& r = s.run;
    st.bind(1, r.id);
    st.bind(2, r.workflow);
    st.bind(3, r.workflow_file);
    st.bind(4, r.source_dir);
    st.bind(5, r.workflow_hash);
    st.bind(6, json_text(r.params));
    st.bind(7, std::string(to_string(r.status)));
    st.bind(8, format_rfc3339(r.started_at));
    st.bind(9, r.started_by);
    st.bind(10, r.max_parallel);
    bind_time(st, 11, r.deadline);
    st.exec();
    // The texts apart from the row that changes with the run's status (schema.hpp, k_v4).
    SQLite::Statement texts(*m_db,
                            "INSERT INTO run_texts(run_id, workflow_text, subflow_texts, dag) "
                            "VALUES(?1, ?2, ?3, ?4)");
    texts.bind(1, r.id);
    texts.bind(2, r.workflow_text);
    texts.bind(3, json_text(r.subflow_texts));
    texts.bind(4, r.dag);
    texts.exec();
    for (size_t i = 0; i < s.tasks.size(); ++i)
      write_task(r.id, s.tasks[i], static_cast<int>(i), false);
    tx.commit();
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
  return {};
}

Result<RunRecord> SqliteRunStore::load_run_record(const std::string& run_id, bool with_texts) {
  std::lock_guard lock(m_db_mutex);
  try {
    return select_run(*m_db, m_path, run_id, with_texts);
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
}

std::vector<GateRecord> SqliteRunStore::read_gates(const std::string& run_id) {
  std::vector<GateRecord> out;
  std::unordered_map<std::string, size_t> by_task;  // a gate per task (the table's key)
  SQLite::Statement st(*m_db,
                       "SELECT task_id, gate_when, status, message, approvers, min_approvals, "
                       "prevent_self, created_at, deadline, on_timeout, round, decided_by, "
                       "decided_at, comment, inputs_spec FROM gates WHERE run_id=?1");
  st.bind(1, run_id);
  while (st.executeStep()) {
    GateRecord g;
    g.task_id = st.getColumn(0).getString();
    g.when = st.getColumn(1).getString();
    g.status = parse_gate_status(st.getColumn(2).getString()).value_or(GateStatus::waiting);
    g.message = st.getColumn(3).getString();
    // A hand-edited value that is not a list of names reads as no list, never a crash.
    json approvers = parse_json(st.getColumn(4).getString(), json::array());
    if (approvers.is_array())
      for (const auto& a : approvers)
        if (a.is_string()) g.approvers.push_back(a.get<std::string>());
    g.min_approvals = st.getColumn(5).getInt();
    g.prevent_self_approval = st.getColumn(6).getInt() != 0;
    g.created_at = column_time(st.getColumn(7)).value_or(SystemTime{});
    g.deadline = column_time(st.getColumn(8));
    g.on_timeout = st.getColumn(9).getString();
    g.round = st.getColumn(10).getInt();
    if (!st.getColumn(11).isNull()) g.decided_by = st.getColumn(11).getString();
    g.decided_at = column_time(st.getColumn(12));
    g.comment = st.getColumn(13).getString();
    g.inputs_spec = parse_json(st.getColumn(14).getString(), json::object());
    by_task.emplace(g.task_id, out.size());
    out.push_back(std::move(g));
  }
  SQLite::Statement d(*m_db,
                      "SELECT task_id, user, decision, at, comment, inputs, round FROM decisions "
                      "WHERE run_id=?1 ORDER BY id");
  d.bind(1, run_id);
  while (d.executeStep()) {
    auto found = by_task.find(d.getColumn(0).getString());
    if (found == by_task.end()) continue;
    GateRecord& g = out[found->second];
    if (d.getColumn(6).getInt() != g.round) continue;
    DecisionRecord r;
    r.user = d.getColumn(1).getString();
    r.approve = d.getColumn(2).getString() == "approve";
    r.at = column_time(d.getColumn(3)).value_or(SystemTime{});
    r.comment = d.getColumn(4).getString();
    r.inputs = parse_json(d.getColumn(5).getString(), json::object());
    g.decisions.push_back(std::move(r));
  }
  return out;
}

Result<RunSnapshot> SqliteRunStore::load_run(const std::string& run_id, bool with_texts) {
  if (auto ok = drain_writer(); !ok) return std::unexpected(ok.error());
  std::lock_guard lock(m_db_mutex);
  try {
    RunSnapshot snap;
    auto run = select_run(*m_db, m_path, run_id, with_texts);
    if (!run) return std::unexpected(run.error());
    snap.run = std::move(*run);
    SQLite::Statement t(*m_db,
                        "SELECT task_id, status, budget_base, reason, ended_at, next_attempt_at, "
                        "finish_seq, item FROM tasks WHERE run_id=?1 ORDER BY position");
    t.bind(1, run_id);
    std::unordered_map<std::string, size_t> index;
    while (t.executeStep()) {
      TaskRecord r;
      r.id = t.getColumn(0).getString();
      r.status = parse_task_status(t.getColumn(1).getString()).value_or(TaskStatus::pending);
      r.budget_base = t.getColumn(2).getInt();
      r.reason = t.getColumn(3).getString();
      r.ended_at = column_time(t.getColumn(4));
      r.next_attempt_at = column_time(t.getColumn(5));
      r.finish_seq = t.getColumn(6).getInt64();
      if (!t.getColumn(7).isNull()) r.item = parse_json(t.getColumn(7).getString(), json());
      index[r.id] = snap.tasks.size();
      snap.tasks.push_back(std::move(r));
    }
    SQLite::Statement a(*m_db,
                        "SELECT task_id, number, kind, status, handle, pid, started_at, ended_at, "
                        "exit_code, signal, reason, log_path, delay_ms, delay_reason, "
                        "cpu_user_ms, cpu_system_ms, max_rss_kb, outputs FROM attempts "
                        "WHERE run_id=?1 ORDER BY task_id, number");
    a.bind(1, run_id);
    while (a.executeStep()) {
      AttemptRecord r;
      r.task_id = a.getColumn(0).getString();
      r.number = a.getColumn(1).getInt();
      r.kind = parse_kind(a.getColumn(2).getString());
      r.status = parse_attempt_status(a.getColumn(3).getString()).value_or(AttemptStatus::failed);
      r.handle = a.getColumn(4).getString();
      r.pid = a.getColumn(5).getInt64();
      r.started_at = column_time(a.getColumn(6)).value_or(SystemTime{});
      r.ended_at = column_time(a.getColumn(7));
      if (!a.getColumn(8).isNull()) r.exit_code = a.getColumn(8).getInt();
      r.signal = a.getColumn(9).getInt();
      r.reason = a.getColumn(10).getString();
      r.log_path = a.getColumn(11).getString();
      r.delay_ms = a.getColumn(12).getInt64();
      r.delay_reason = a.getColumn(13).getString();
      r.usage = {a.getColumn(14).getInt64(), a.getColumn(15).getInt64(), a.getColumn(16).getInt64()};
      r.outputs = parse_json(a.getColumn(17).getString(), json::object());
      auto it = index.find(r.task_id);
      if (it != index.end()) snap.tasks[it->second].attempts.push_back(std::move(r));
    }
    snap.gates = read_gates(run_id);
    SQLite::Statement b(*m_db, "SELECT agent, consecutive_failures, open_until FROM breakers "
                               "WHERE run_id=?1");
    b.bind(1, run_id);
    while (b.executeStep())
      snap.breakers.push_back(BreakerRecord{b.getColumn(0).getString(), b.getColumn(1).getInt(),
                                            column_time(b.getColumn(2))});
    // Asked only of a run with a stop pending: the events have no index (schema k_v3), and
    // this reads them from the newest back, to the run's last start, resume or cleanup.
    RunStatus status = snap.run.status;
    bool open = status == RunStatus::running || status == RunStatus::waiting_approval ||
                status == RunStatus::interrupted;
    if (open && (snap.run.cancel_requested > 0 || snap.run.deadline)) {
      SQLite::Statement e(*m_db,
                          "SELECT kind FROM events WHERE run_id=?1 AND kind IN ('run_started', "
                          "'run_resumed', 'cleanup_started') ORDER BY id DESC LIMIT 1");
      e.bind(1, run_id);
      snap.cleanup_started = e.executeStep() && e.getColumn(0).getString() == "cleanup_started";
    }
    return snap;
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
}

Result<std::optional<ExternalChanges>> SqliteRunStore::poll_external(const std::string& run_id) {
  std::unique_lock lock(m_db_mutex, std::try_to_lock);
  if (!lock.owns_lock()) return std::optional<ExternalChanges>{};  // the writer is syncing
  try {
    m_data_version->executeStep();
    int64_t version = m_data_version->getColumn(0).getInt64();
    m_data_version->reset();
    if (version == m_last_data_version) return std::optional<ExternalChanges>{};
    m_last_data_version = version;
    ExternalChanges changes;
    SQLite::Statement st(*m_db, "SELECT cancel_requested FROM runs WHERE id=?1");
    st.bind(1, run_id);
    if (st.executeStep()) changes.cancel_requested = st.getColumn(0).getInt();
    changes.gates = read_gates(run_id);
    return std::optional<ExternalChanges>{std::move(changes)};
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
}

Result<std::vector<RunRecord>> SqliteRunStore::list_runs(std::optional<RunStatus> status, int limit) {
  std::lock_guard lock(m_db_mutex);
  try {
    std::string sql = std::string("SELECT ") + k_run_columns + " FROM runs";
    if (status) sql += " WHERE status=?1";
    sql += " ORDER BY seq DESC LIMIT " + std::to_string(limit);
    SQLite::Statement st(*m_db, sql);
    if (status) st.bind(1, std::string(to_string(*status)));
    std::vector<RunRecord> out;
    while (st.executeStep()) out.push_back(read_run_row(st));
    return out;
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
}

Result<std::optional<std::string>> SqliteRunStore::latest_run_id() {
  std::lock_guard lock(m_db_mutex);
  try {
    SQLite::Statement st(*m_db, "SELECT id FROM runs ORDER BY seq DESC LIMIT 1");
    if (!st.executeStep()) return std::optional<std::string>{};
    return std::optional<std::string>{st.getColumn(0).getString()};
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
}

Result<std::vector<Event>> SqliteRunStore::events(const std::string& run_id) {
  if (auto ok = drain_writer(); !ok) return std::unexpected(ok.error());
  std::lock_guard lock(m_db_mutex);
  try {
    SQLite::Statement st(*m_db, "SELECT at, task_id, attempt, kind, detail FROM events "
                                "WHERE run_id=?1 ORDER BY id");
    st.bind(1, run_id);
    std::vector<Event> out;
    while (st.executeStep())
      out.push_back(Event{column_time(st.getColumn(0)).value_or(SystemTime{}),
                          st.getColumn(1).getString(), st.getColumn(2).getInt(),
                          st.getColumn(3).getString(), st.getColumn(4).getString()});
    return out;
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
}

Result<std::vector<GateUpdate>> SqliteRunStore::update_gates(const std::string& run_id,
                                                             const GateDecider& decide) {
  if (auto ok = drain_writer(); !ok) return std::unexpected(ok.error());
  std::lock_guard lock(m_db_mutex);
  try {
    use_full_sync(true);  // decisions are always synced to disk
    Result<std::vector<GateUpdate>> updates;
    {
      SQLite::Transaction tx(*m_db, SQLite::TransactionBehavior::IMMEDIATE);
      auto run = load_run_record(run_id);
      if (run)
        updates = decide(*run, read_gates(run_id));
      else
        updates = std::unexpected(run.error());
      if (updates) {
        SQLite::Statement d(*m_db,
                            "INSERT INTO decisions(run_id, task_id, round, user, decision, at, "
                            "comment, inputs) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
        for (const auto& update : *updates) {
          write_gate(run_id, update.gate);
          d.reset();
          d.bind(1, run_id);
          d.bind(2, update.gate.task_id);
          d.bind(3, update.gate.round);
          d.bind(4, update.decision.user);
          d.bind(5, update.decision.approve ? "approve" : "reject");
          d.bind(6, format_rfc3339(update.decision.at));
          d.bind(7, update.decision.comment);
          d.bind(8, json_text(update.decision.inputs));
          d.exec();
          write_event(run_id, update.event);
        }
        tx.commit();
      }
    }  // Rolled back unless committed; synchronous cannot change inside a transaction.
    use_full_sync(m_writer != nullptr);
    return updates;
  } catch (const SQLite::Exception& e) {
    try {
      use_full_sync(m_writer != nullptr);
    } catch (const SQLite::Exception&) {
    }
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
}

Result<void> SqliteRunStore::request_cancel(const std::string& run_id) {
  if (auto ok = drain_writer(); !ok) return ok;
  std::lock_guard lock(m_db_mutex);
  try {
    SQLite::Transaction tx(*m_db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement st(*m_db,
                         "UPDATE runs SET cancel_requested=MIN(cancel_requested+1, 2) WHERE id=?1");
    st.bind(1, run_id);
    st.exec();
    write_event(run_id, Event{system_now(), "", 0, "cancel_requested", ""});
    tx.commit();
    return {};
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
}

Result<std::vector<std::pair<RunRecord, GateRecord>>> SqliteRunStore::waiting_gates() {
  std::lock_guard lock(m_db_mutex);
  try {
    std::vector<std::pair<RunRecord, GateRecord>> out;
    SQLite::Statement st(*m_db, "SELECT DISTINCT run_id FROM gates WHERE status='waiting'");
    std::vector<std::string> ids;
    while (st.executeStep()) ids.push_back(st.getColumn(0).getString());
    for (const auto& id : ids) {
      auto run = load_run_record(id);
      // A gate whose run is gone is not listed; a database that cannot be read is an error
      // (a damaged file said "no gate is waiting").
      if (!run && run.error().kind != ErrorKind::usage) return std::unexpected(run.error());
      if (!run) continue;
      for (auto& g : read_gates(id))
        if (g.status == GateStatus::waiting) out.emplace_back(*run, std::move(g));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return std::unexpected(state_error(m_path, e.getErrorStr()));
  }
}

}  // namespace wfo
