#pragma once
// SqliteRunStore::Checkpointer, complete where the store is made and destroyed (commit.cpp)
// and where it runs (checkpoint.cpp). See SqliteRunStore::checkpoint_in_background.
#include <sqlite3.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "store/sqlite_run_store.hpp"

namespace wfo {

struct SqliteRunStore::Checkpointer {
  std::unique_ptr<SQLite::Database> db;  ///< the thread's own connection
  int pages = 1000;                      ///< the WAL growth that asks for a checkpoint
  std::atomic<int> threshold{1000};      ///< the WAL size (pages) that wakes the thread next
  std::atomic<bool> wanted{false};       ///< the WAL has grown past `pages`; cleared when done
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;  ///< guarded by `mutex`
  std::thread thread;

  /// sqlite3_wal_hook's callback: runs on the committing thread after each commit, with
  /// the WAL's size in pages. Returns SQLITE_OK (anything else would fail the commit).
  static int on_commit(void* arg, sqlite3*, const char*, int wal_pages) {
    auto* c = static_cast<Checkpointer*>(arg);
    if (wal_pages >= c->threshold.load(std::memory_order_relaxed) && !c->wanted.exchange(true)) {
      std::lock_guard lock(c->mutex);
      c->wake.notify_one();
    }
    return SQLITE_OK;
  }

  void run() {
    for (;;) {
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stop || wanted.load(); });
        if (stop) return;
      }
      // PASSIVE: never waits for a reader or a writer; what it cannot copy now, the next
      // checkpoint (or the last close) does. An error is not reported: the frames stay in
      // the WAL, and SQLite's own automatic checkpoint ignores it too.
      int log = 0, copied = 0;
      int rc = sqlite3_wal_checkpoint_v2(db->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log,
                                         &copied);
      // All copied: the next commit starts the WAL over, and `pages` more wake us again.
      // Otherwise (a reader still uses older frames, or it failed), wait for `pages` more
      // than now rather than retry at every commit.
      threshold = rc == SQLITE_OK && copied == log ? pages : std::max(log, 0) + pages;
      wanted = false;
    }
  }
};

}  // namespace wfo
