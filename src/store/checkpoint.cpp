// WAL checkpoints on a thread of their own (SqliteRunStore::checkpoint_in_background).
// Invariants: the checkpointer's connection is used by its thread alone; the committing
// thread only reads the WAL's size in the commit hook and wakes the thread, at most once
// per checkpoint; the checkpointer is stopped, and its connection closed, before the main
// connection closes, so that close is the last and checkpoints what is left.
#include "store/checkpoint.hpp"

#include "store/internal.hpp"
#include "store/vfs.hpp"

namespace wfo {

Result<void> SqliteRunStore::checkpoint_in_background(int pages) {
  if (m_checkpointer) return {};
  std::lock_guard db_lock(m_db_mutex);
  auto c = std::make_unique<Checkpointer>();
  c->pages = pages;
  c->threshold = pages;
  try {
    c->db = std::make_unique<SQLite::Database>(
        m_path.c_str(), SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX, 0, store::state_vfs());
    c->db->setBusyTimeout(5000);
    // A connection finds the WAL at its first read; until then a checkpoint does nothing.
    (void)c->db->execAndGet("PRAGMA user_version");
    // Replaces SQLite's own hook, which wal_autocheckpoint installs (sqlite3_wal_hook).
    m_db->exec("PRAGMA wal_autocheckpoint=0");
  } catch (const SQLite::Exception& e) {
    return std::unexpected(store::state_error(m_path, e.getErrorStr()));
  }
  sqlite3_wal_hook(m_db->getHandle(), &Checkpointer::on_commit, c.get());
  c->thread = std::thread([raw = c.get()] { raw->run(); });
  m_checkpointer = std::move(c);
  return {};
}

void SqliteRunStore::stop_checkpointer() noexcept {
  if (!m_checkpointer) return;
  {
    std::lock_guard db_lock(m_db_mutex);
    sqlite3_wal_hook(m_db->getHandle(), nullptr, nullptr);
  }
  {
    std::lock_guard lock(m_checkpointer->mutex);
    m_checkpointer->stop = true;
  }
  m_checkpointer->wake.notify_one();
  if (m_checkpointer->thread.joinable()) m_checkpointer->thread.join();
  m_checkpointer.reset();  // closes its connection before the main one
}

}  // namespace wfo
