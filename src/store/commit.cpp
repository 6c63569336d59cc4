// Writing transitions: the upserts, one IMMEDIATE transaction per commit, deferrable commits
// held back until the next one, and the group-commit writer of `--durability full`.
//
// Invariants: the database always holds a prefix of the commit history. Without the writer,
// held commits are written first in the transaction of the next commit; with it, commits
// are queued in order, and each batch (everything queued, taken while the connection is
// held) is one transaction with synchronous=FULL, so one fsync covers it. A commit that is
// not deferrable writes the batch, itself last, on its own thread (it waits anyway, and a
// hand-off to the writer thread would cost two wake-ups); the writer thread writes what an
// empty commit, a commit_async or a wait asks for. Tickets count commits; `durable` only
// grows, and only after the transaction holding the ticket has committed. After a failed
// batch every later write fails: nothing may be written over the gap.
// m_db_mutex guards the connection and its statements whenever both threads may use them.
#include <sys/eventfd.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <condition_variable>
#include <thread>
#include <tuple>

#include "store/checkpoint.hpp"
#include "store/internal.hpp"
#include "store/sqlite_run_store.hpp"
#include "util/json_text.hpp"

namespace wfo {

struct SqliteRunStore::Writer {
  std::thread thread;
  std::mutex mutex;              ///< guards the fields below
  std::condition_variable work;  ///< flush or stop was set
  std::condition_variable done;  ///< durable grew, or failed
  std::vector<Queued> queue;     ///< in commit order
  /// Something in `queue` must be written now: a commit that is not deferrable, or someone
  /// waits for a ticket. Deferrable commits alone do not wake the writer; they go with the
  /// next batch (in a chain, each attempt's start with its end: one fsync per attempt).
  bool flush = false;
  uint64_t queued = 0;   ///< the last ticket handed out
  uint64_t durable = 0;  ///< the last ticket written and synced
  std::optional<Error> failed;
  bool stop = false;
};

namespace {

using store::state_error;

// Binds text that stays alive and unchanged until the statement has run (SQLITE_STATIC):
// record fields, which SQLiteCpp's bind() would copy first.
void bind_text(SQLite::Statement& st, int index, const std::string& text) {
  st.bindNoCopy(index, text);
}

// Status and kind names: views of string literals, so NUL-terminated and never freed.
void bind_name(SQLite::Statement& st, int index, std::string_view literal) {
  st.bindNoCopy(index, literal.data());
}

// format_rfc3339 without a gmtime and an snprintf per call: the text up to the second is
// kept for the last second seen (the commits of a run come many to a second).
class TimeText {
 public:
  /// Returns the text, NUL-terminated, valid until the next call.
  std::string_view operator()(SystemTime t) {
    int64_t ms = t.time_since_epoch().count();
    int64_t second = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
    int frac = static_cast<int>(ms - second * 1000);
    if (second != m_second || m_text.size() != 24) {
      m_text = format_rfc3339(t);
      m_second = second;
      if (m_text.size() != 24) return m_text;  // a year beyond 9999: as formatted
    }
    m_text[20] = static_cast<char>('0' + frac / 100);
    m_text[21] = static_cast<char>('0' + frac / 10 % 10);
    m_text[22] = static_cast<char>('0' + frac % 10);
    return m_text;
  }

 private:
  int64_t m_second = INT64_MIN;
  std::string m_text;
};

thread_local TimeText t_time_text;

// Times are copied (SQLite's bind of a char*): the next time formatted reuses the buffer.
void bind_time(SQLite::Statement& st, int index, SystemTime t) {
  st.bind(index, t_time_text(t).data());
}

void bind_time(SQLite::Statement& st, int index, const std::optional<SystemTime>& t) {
  if (t)
    bind_time(st, index, *t);
  else
    st.bind(index);
}

std::string_view kind_name(AttemptKind k) {
  switch (k) {
    case AttemptKind::main:
      return "main";
    case AttemptKind::fallback:
      return "fallback";
    case AttemptKind::compensate:
      return "compensate";
    case AttemptKind::hook:
      return "hook";
  }
  return "main";
}

bool is_empty(const Transition& t) {
  return !t.run && t.tasks.empty() && t.attempts.empty() && t.gates.empty() && t.breakers.empty() &&
         t.events.empty();
}

// Runs `st` to completion and resets it; a failed step leaves it reset too, so the next
// bind() works (a statement left mid-step refuses bindings).
void run(SQLite::Statement& st) {
  st.tryReset();
  st.exec();
  st.reset();
}

}  // namespace

// Here, where Writer is complete.
SqliteRunStore::SqliteRunStore() = default;

SqliteRunStore::~SqliteRunStore() {
  stop_writer();
  stop_checkpointer();
  if (m_durable_fd >= 0) ::close(m_durable_fd);
}

void SqliteRunStore::write_run(const RunRecord& r) {
  auto& st = *m_update_run;
  st.tryReset();
  bind_text(st, 1, r.id);
  bind_name(st, 2, to_string(r.status));
  bind_time(st, 3, r.ended_at);
  bind_text(st, 4, r.reason);
  bind_time(st, 5, r.deadline);
  st.bind(6, r.cancel_requested);
  run(st);
}

void SqliteRunStore::write_task(const std::string& run_id, const TaskRecord& r, int position,
                                bool existing) {
  // The columns both statements set, from parameter `first` on.
  auto bind_state = [&r](SQLite::Statement& st, int first) {
    bind_name(st, first, to_string(r.status));
    st.bind(first + 1, r.budget_base);
    bind_text(st, first + 2, r.reason);
    bind_time(st, first + 3, r.ended_at);
    bind_time(st, first + 4, r.next_attempt_at);
    st.bind(first + 5, static_cast<int64_t>(r.finish_seq));
  };
  if (existing) {
    auto& up = *m_update_task;
    up.tryReset();
    bind_text(up, 1, run_id);
    bind_text(up, 2, r.id);
    bind_state(up, 3);
    run(up);
    if (m_db->getChanges() > 0) return;
  }
  if (position < 0) {
    if (m_append_run != run_id) {
      SQLite::Statement last(*m_db,
                             "SELECT COALESCE(MAX(position), -1) FROM tasks WHERE run_id=?1");
      bind_text(last, 1, run_id);
      last.executeStep();
      m_append_run = run_id;
      m_append_position = last.getColumn(0).getInt() + 1;
    }
    position = m_append_position++;  // unused when the row is there: its position stays
  }
  auto& st = *m_upsert_task;
  st.tryReset();
  bind_text(st, 1, run_id);
  bind_text(st, 2, r.id);
  st.bind(3, position);
  bind_state(st, 4);
  if (r.item)
    st.bind(10, json_text(*r.item));  // written with the instance, never updated
  else
    st.bind(10);
  run(st);
}

void SqliteRunStore::write_attempt(const std::string& run_id, const AttemptRecord& a) {
  auto& st = *m_upsert_attempt;
  st.tryReset();
  bind_text(st, 1, run_id);
  bind_text(st, 2, a.task_id);
  st.bind(3, a.number);
  bind_name(st, 4, kind_name(a.kind));
  bind_name(st, 5, to_string(a.status));
  bind_text(st, 6, a.handle);
  st.bind(7, static_cast<int64_t>(a.pid));
  bind_time(st, 8, a.started_at);
  bind_time(st, 9, a.ended_at);
  if (a.exit_code)
    st.bind(10, *a.exit_code);
  else
    st.bind(10);
  st.bind(11, a.signal);
  bind_text(st, 12, a.reason);
  bind_text(st, 13, a.log_path);
  st.bind(14, static_cast<int64_t>(a.delay_ms));
  bind_text(st, 15, a.delay_reason);
  st.bind(16, static_cast<int64_t>(a.usage.cpu_user_ms));
  st.bind(17, static_cast<int64_t>(a.usage.cpu_system_ms));
  st.bind(18, static_cast<int64_t>(a.usage.max_rss_kb));
  std::string outputs = a.outputs.empty() ? std::string("{}") : json_text(a.outputs);
  bind_text(st, 19, outputs);
  run(st);
}

void SqliteRunStore::write_gate(const std::string& run_id, const GateRecord& g) {
  auto& st = *m_upsert_gate;
  st.tryReset();
  bind_text(st, 1, run_id);
  bind_text(st, 2, g.task_id);
  bind_text(st, 3, g.when);
  bind_name(st, 4, to_string(g.status));
  bind_text(st, 5, g.message);
  std::string approvers = json_text(nlohmann::json(g.approvers));
  bind_text(st, 6, approvers);
  st.bind(7, g.min_approvals);
  st.bind(8, g.prevent_self_approval ? 1 : 0);
  bind_time(st, 9, g.created_at);
  bind_time(st, 10, g.deadline);
  bind_text(st, 11, g.on_timeout);
  st.bind(12, g.round);
  if (g.decided_by)
    bind_text(st, 13, *g.decided_by);
  else
    st.bind(13);
  bind_time(st, 14, g.decided_at);
  bind_text(st, 15, g.comment);
  std::string inputs_spec = json_text(g.inputs_spec);
  bind_text(st, 16, inputs_spec);
  run(st);
}

void SqliteRunStore::write_breaker(const std::string& run_id, const BreakerRecord& b) {
  auto& st = *m_upsert_breaker;
  st.tryReset();
  bind_text(st, 1, run_id);
  bind_text(st, 2, b.agent);
  st.bind(3, b.consecutive_failures);
  bind_time(st, 4, b.open_until);
  run(st);
}

void SqliteRunStore::write_event(const std::string& run_id, const Event& e) {
  auto& st = *m_insert_event;
  st.tryReset();
  bind_text(st, 1, run_id);
  bind_time(st, 2, e.at);
  bind_text(st, 3, e.task_id);
  st.bind(4, e.attempt);
  bind_text(st, 5, e.kind);
  bind_text(st, 6, e.detail);
  run(st);
}

void SqliteRunStore::write_transition(const std::string& run_id, const Transition& t,
                                      const char* skip) {
  if (t.run) write_run(*t.run);
  size_t k = 0;
  for (const auto& task : t.tasks)
    if (!skip || !skip[k++]) write_task(run_id, task, task.item ? -1 : 0, !task.item);
  for (const auto& a : t.attempts)
    if (!skip || !skip[k++]) write_attempt(run_id, a);
  for (const auto& g : t.gates) write_gate(run_id, g);
  for (const auto& b : t.breakers) write_breaker(run_id, b);
  for (const auto& e : t.events) write_event(run_id, e);
}

// BEGIN IMMEDIATE, COMMIT and ROLLBACK are prepared once: parsing them cost as much as a
// small upsert.
void SqliteRunStore::begin() {
  run(*m_begin);
}
void SqliteRunStore::commit_tx() {
  run(*m_commit);
}
void SqliteRunStore::rollback_tx() noexcept {
  m_rollback->tryReset();
  m_rollback->tryExecuteStep();  // fails harmlessly when SQLite already rolled back
  m_rollback->tryReset();
}

void SqliteRunStore::use_full_sync(bool full) {
  if (full == m_full_sync) return;
  m_db->exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  m_full_sync = full;
}

namespace {

/// For the transitions of a batch (in write order), one flag per task record and then per
/// attempt record of each, all in one array: set when a later record of the batch upserts
/// the same row. Both upserts would run in one transaction, so no reader could ever see the
/// earlier one: an attempt's start, held back (Transition::deferrable), and its end rewrite
/// the task's row and the attempt's row. Writing only the last saves two of a short
/// attempt's six statements. Every column the earlier upsert would set is set by the later
/// one too (the insert-only ones, such as an attempt's start time, are the same record's),
/// except a for_each instance's position, taken on insert: instances are always written, in
/// order. The rows are told apart by sorting their keys (views of the records, no copies):
/// O(n log n) for a batch of n records, and no allocation per record.
std::vector<char> superseded(
    const std::vector<std::pair<const std::string*, const Transition*>>& order) {
  struct Key {
    const std::string* run_id;
    std::string_view task_id;
    bool attempt;  ///< an attempt's row, else the task's
    int number;    ///< the attempt's number
    size_t flag;   ///< its index in the result, in write order
    auto row() const { return std::tuple(attempt, number, task_id, std::string_view(*run_id)); }
  };
  std::vector<Key> keys;
  size_t flags = 0;
  for (const auto& [run_id, t] : order) {
    for (const TaskRecord& r : t->tasks) {
      if (!r.item) keys.push_back(Key{run_id, r.id, false, 0, flags});
      ++flags;
    }
    for (const AttemptRecord& a : t->attempts)
      keys.push_back(Key{run_id, a.task_id, true, a.number, flags++});
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return std::pair(a.row(), a.flag) < std::pair(b.row(), b.flag);
  });
  std::vector<char> skip(flags, 0);
  for (size_t k = 0; k + 1 < keys.size(); ++k)
    if (keys[k].row() == keys[k + 1].row()) skip[keys[k].flag] = 1;
  return skip;
}

}  // namespace

Result<void> SqliteRunStore::write_batch(const std::vector<Queued>& batch,
                                         const std::string& run_id, const Transition* last,
                                         bool full) {
  try {
    use_full_sync(full || m_writer != nullptr);
    begin();
    try {
      std::vector<std::pair<const std::string*, const Transition*>> order;
      order.reserve(batch.size() + 1);
      for (const Queued& q : batch) order.emplace_back(&q.run_id, &q.transition);
      if (last) order.emplace_back(&run_id, last);
      if (order.size() == 1) {
        write_transition(*order[0].first, *order[0].second);
      } else {
        std::vector<char> skip = superseded(order);
        const char* flags = skip.data();
        for (const auto& [run_id, t] : order) {
          write_transition(*run_id, *t, flags);
          flags += t->tasks.size() + t->attempts.size();
        }
      }
      commit_tx();
    } catch (...) {
      rollback_tx();
      throw;
    }
    use_full_sync(m_writer != nullptr);
  } catch (const SQLite::Exception& e) {
    std::string what = e.getErrorStr();
    try {
      use_full_sync(m_writer != nullptr);
    } catch (const SQLite::Exception&) {
    }
    return std::unexpected(state_error(m_path, what));
  }
  return {};
}

Result<void> SqliteRunStore::commit(const std::string& run_id, const Transition& t) {
  bool durable = t.sync == Sync::durable;
  if (m_writer || (durable && t.deferrable)) {
    if (is_empty(t)) return flush_writer();  // what is queued is written soon, unwaited
    if (!t.deferrable && m_writer) return write_queued(run_id, &t);
    auto ticket = commit_async(run_id, t);
    if (!ticket) return std::unexpected(ticket.error());
    return {};  // deferrable
  }
  std::lock_guard lock(m_db_mutex);
  if (t.deferrable) {
    m_held.push_back(Queued{run_id, t});
    return {};
  }
  if (m_held.empty() && is_empty(t)) return {};
  auto ok = write_batch(m_held, run_id, is_empty(t) ? nullptr : &t, durable);
  m_held.clear();  // written, or lost with the failed transaction as a crash would lose them
  return ok;
}

Result<uint64_t> SqliteRunStore::commit_async(const std::string& run_id, const Transition& t) {
  if (!m_writer) {
    if (t.sync != Sync::durable) {
      if (auto ok = commit(run_id, t); !ok) return std::unexpected(ok.error());
      return ++m_sync_tickets;
    }
    start_writer();
  }
  Writer& w = *m_writer;
  std::lock_guard lock(w.mutex);
  if (w.failed) return std::unexpected(*w.failed);
  w.queue.push_back(Queued{run_id, t});
  if (!t.deferrable) {
    w.flush = true;
    w.work.notify_one();
  }
  return ++w.queued;
}

Result<uint64_t> SqliteRunStore::durable_ticket() {
  if (!m_writer) return m_sync_tickets;
  std::lock_guard lock(m_writer->mutex);
  if (m_writer->failed) return std::unexpected(*m_writer->failed);
  return m_writer->durable;
}

Result<void> SqliteRunStore::wait_durable(uint64_t ticket) {
  if (!m_writer) return {};
  Writer& w = *m_writer;
  std::unique_lock lock(w.mutex);
  if (!w.failed && w.durable < ticket) {  // the ticket may be a deferrable commit's
    w.flush = true;
    w.work.notify_one();
  }
  w.done.wait(lock, [&] { return w.failed || w.durable >= ticket; });
  if (w.failed) return std::unexpected(*w.failed);
  return {};
}

Result<void> SqliteRunStore::flush_writer() {
  if (!m_writer) return {};
  std::lock_guard lock(m_writer->mutex);
  if (m_writer->failed) return std::unexpected(*m_writer->failed);
  if (!m_writer->queue.empty()) {
    m_writer->flush = true;
    m_writer->work.notify_one();
  }
  return {};
}

Result<void> SqliteRunStore::drain_writer() {
  if (!m_writer) return {};
  uint64_t last;
  {
    std::lock_guard lock(m_writer->mutex);
    last = m_writer->queued;
  }
  return wait_durable(last);
}

// Switches to group commit: from now on every commit is queued and written in a batch with
// synchronous=FULL, by the writer thread or by a commit that waits (write_queued). What
// deferrable commits held back goes first, with the next batch.
void SqliteRunStore::start_writer() {
  m_writer = std::make_unique<Writer>();
  m_writer->queue = std::move(m_held);
  m_held.clear();
  m_writer->queued = m_writer->queue.size();
  m_writer->durable = 0;
  m_writer->thread = std::thread([this] { run_writer(); });
}

// The batch is taken while the connection is held, so whoever writes next takes every
// ticket before its own: batches reach the database in ticket order from either thread.
Result<void> SqliteRunStore::write_queued(const std::string& run_id, const Transition* t) {
  Writer& w = *m_writer;
  std::lock_guard db(m_db_mutex);
  std::vector<Queued> batch;
  uint64_t last;
  {
    std::lock_guard lock(w.mutex);
    if (w.failed) return std::unexpected(*w.failed);
    if (w.queue.empty() && !t) return {};
    batch.swap(w.queue);  // all of it: never wait to fill a batch
    last = t ? ++w.queued : w.queued;
  }
  Result<void> ok = write_batch(batch, run_id, t, true);
  {
    std::lock_guard lock(w.mutex);
    if (ok)
      w.durable = last;
    else
      w.failed = ok.error();
    // The notice goes out under the lock, before anyone can see the new `durable`: a
    // thread that saw it (wait_durable returned) finds the descriptor readable too.
    uint64_t one = 1;
    if (m_durable_fd >= 0) (void)!::write(m_durable_fd, &one, sizeof one);
  }
  w.done.notify_all();
  return ok;
}

void SqliteRunStore::run_writer() {
  Writer& w = *m_writer;
  for (;;) {
    {
      std::unique_lock lock(w.mutex);
      w.work.wait(lock, [&] { return w.stop || w.flush; });
      w.flush = false;
      if (w.queue.empty()) {
        if (w.stop) return;  // everything is written
        continue;
      }
    }
    if (!write_queued(std::string(), nullptr)) return;  // nothing may follow a lost batch
  }
}

void SqliteRunStore::stop_writer() noexcept {
  if (m_writer) {
    {
      std::lock_guard lock(m_writer->mutex);
      m_writer->stop = true;
    }
    m_writer->work.notify_one();
    if (m_writer->thread.joinable()) m_writer->thread.join();
  }
  if (!m_held.empty()) {
    // Best effort, as at any other end: what is held is deferrable.
    (void)write_batch(m_held, std::string(), nullptr, false);
    m_held.clear();
  }
}

}  // namespace wfo
