// wfo's SQLite VFS (store/vfs.hpp): a transaction's WAL frames reach the file in one write,
// before the commit is visible; a failure of that write fails the commit and leaves nothing;
// large transactions and pages written again inside one stay whole. The writes are seen
// through the unix VFS's own hook for its system calls (SQLite's docs, xSetSystemCall).

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "store/vfs.hpp"
#include "temp_dir.hpp"

namespace {

using wfo::test::TempDir;

constexpr int k_page = 2048;
constexpr int k_frame = 24 + k_page;  ///< a WAL frame: its header and one page

/// One pwrite that reached a file ending in "-wal": its size in bytes and offset.
struct WalWrite {
  size_t bytes;
  off_t at;
};

std::vector<WalWrite> g_wal_writes;
int g_fail_wal_writes = 0;  ///< the next this many pwrites to a WAL fail with EIO
sqlite3_syscall_ptr g_real_pwrite = nullptr;

bool is_wal(int fd) {
  char link[64], target[PATH_MAX];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  if (n < 4) return false;
  return std::string(target, static_cast<size_t>(n)).ends_with("-wal");
}

ssize_t watched_pwrite(int fd, const void* data, size_t bytes, off_t at) {
  if (is_wal(fd)) {
    if (g_fail_wal_writes > 0) {
      --g_fail_wal_writes;
      errno = EIO;
      return -1;
    }
    g_wal_writes.push_back({bytes, at});
  }
  auto real = reinterpret_cast<ssize_t (*)(int, const void*, size_t, off_t)>(g_real_pwrite);
  return real(fd, data, bytes, at);
}

/// Routes the unix VFS's pwrite and pwrite64 through watched_pwrite while alive.
struct WatchWrites {
  sqlite3_vfs* unix_vfs = sqlite3_vfs_find("unix");
  WatchWrites() {
    g_wal_writes.clear();
    g_fail_wal_writes = 0;
    // One of the two is compiled in (os_unix.c: USE_PREAD64 or USE_PREAD); on LP64 Linux
    // they take the same arguments.
    g_real_pwrite = unix_vfs->xGetSystemCall(unix_vfs, "pwrite64");
    if (g_real_pwrite == nullptr) g_real_pwrite = unix_vfs->xGetSystemCall(unix_vfs, "pwrite");
    bool found = g_real_pwrite != nullptr;  // a function pointer doctest cannot print
    REQUIRE(found);
    auto hook = reinterpret_cast<sqlite3_syscall_ptr>(&watched_pwrite);
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite64", hook);
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite", hook);
  }
  ~WatchWrites() {
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite64", nullptr);  // null: back to the default
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite", nullptr);
  }
};

/// A connection in WAL mode with 2 KiB pages, through `vfs` (null: SQLite's default).
struct Db {
  sqlite3* db = nullptr;
  Db(const std::string& path, const char* vfs) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) ==
            SQLITE_OK);
    exec("PRAGMA page_size=2048; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  }
  ~Db() { sqlite3_close(db); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  /// sqlite3_exec's extended result code.
  int exec(const std::string& sql) {
    sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    return sqlite3_extended_errcode(db);
  }
  /// The first column of the first row of `sql` as text; "" when there is none.
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return out;
  }
};

/// A table whose insert touches three pages (the table and two indexes), with one row in.
void make_table(Db& db) {
  REQUIRE(db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, a TEXT, b TEXT);"
                  "CREATE INDEX t_a ON t(a); CREATE INDEX t_b ON t(b);"
                  "INSERT INTO t VALUES(1, 'a1', 'b1')") == SQLITE_OK);
}

const char* state_vfs() {
  const char* name = wfo::store::state_vfs();
  REQUIRE(name != nullptr);
  return name;
}

/// A fresh database `path` with make_table's table, open through wfo's VFS as `writer`.
struct Fresh {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  Db writer{path, state_vfs()};
  Fresh() { make_table(writer); }
};

}  // namespace

TEST_CASE("a commit's WAL frames reach the file in one write; without the VFS, two a frame") {
  TempDir dir;
  for (bool ours : {true, false}) {
    CAPTURE(ours);
    Db db(dir.path + (ours ? "/ours.db" : "/plain.db"), ours ? state_vfs() : nullptr);
    make_table(db);
    WatchWrites watch;
    REQUIRE(db.exec("INSERT INTO t VALUES(2, 'a2', 'b2')") == SQLITE_OK);
    size_t bytes = 0;
    for (const WalWrite& w : g_wal_writes) bytes += w.bytes;
    CHECK(bytes == 3 * k_frame);  // the table's page and each index's
    CHECK(g_wal_writes.size() == (ours ? 1u : 6u));
    for (size_t i = 1; i < g_wal_writes.size(); ++i)
      CHECK(g_wal_writes[i].at ==
            g_wal_writes[i - 1].at + static_cast<off_t>(g_wal_writes[i - 1].bytes));
  }
}

TEST_CASE("a commit is read by another connection at once, and from the file after a reopen") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  {
    Db writer(path, state_vfs());
    Db reader(path, state_vfs());
    make_table(writer);
    for (int k = 2; k <= 50; ++k) {
      std::string v = std::to_string(k);
      REQUIRE(writer.exec("INSERT INTO t VALUES(" + v + ", 'a" + v + "', 'b" + v + "')") ==
              SQLITE_OK);
      CHECK(reader.text("SELECT group_concat(k) FROM (SELECT k FROM t WHERE k >= " + v + ")") == v);
    }
    CHECK(reader.text("PRAGMA integrity_check") == "ok");
  }
  Db again(path, nullptr);  // the default VFS: the file alone must hold everything
  CHECK(again.text("SELECT count(*) || ' ' || sum(k) FROM t") == "50 1275");
  CHECK(again.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("a transaction larger than the gathered buffer is written in pieces and stays whole") {
  Fresh fresh;
  Db& writer = fresh.writer;
  const std::string& path = fresh.path;
  WatchWrites watch;
  // 400 KiB of random bytes: about 200 frames; the unix VFS keeps only 17 bits of a write's
  // count, so one write of them all would be cut short.
  REQUIRE(writer.exec("CREATE TABLE blobs(v BLOB); INSERT INTO blobs VALUES(randomblob(409600))") ==
          SQLITE_OK);
  REQUIRE(g_wal_writes.size() > 1);
  for (const WalWrite& w : g_wal_writes) CHECK(w.bytes <= 64 * 1024 + k_frame);
  Db reader(path, nullptr);
  CHECK(reader.text("SELECT length(v) FROM blobs") == "409600");
  CHECK(reader.text("SELECT hex(substr(v, 1, 64)) || length(v) FROM blobs") ==
        writer.text("SELECT hex(substr(v, 1, 64)) || length(v) FROM blobs"));
  CHECK(reader.text("SELECT hex(substr(v, 409537, 64)) FROM blobs") ==
        writer.text("SELECT hex(substr(v, 409537, 64)) FROM blobs"));
  CHECK(reader.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("pages spilled and written again inside one transaction end up right") {
  size_t writes[2] = {0, 0};  // through wfo's VFS, through SQLite's
  for (bool ours : {true, false}) {
    CAPTURE(ours);
    TempDir dir;
    std::string path = dir.path + "/state.db";
    Db writer(path, ours ? state_vfs() : nullptr);
    make_table(writer);
    // A cache of 10 pages: the transaction spills its pages to the WAL before the commit
    // and writes many of them again, in place.
    WatchWrites watch;
    REQUIRE(writer.exec("PRAGMA cache_size=10; BEGIN;"
                        "WITH RECURSIVE n(k) AS (SELECT 2 UNION ALL SELECT k + 1 FROM n WHERE k "
                        "< 3000) INSERT INTO t SELECT k, 'a' || k, hex(randomblob(40)) FROM n;"
                        "UPDATE t SET a = 'x' || k WHERE k % 3 = 0;"
                        "UPDATE t SET b = 'y' || k WHERE k % 7 = 0;"
                        "COMMIT") == SQLITE_OK);
    off_t end = 0;
    int rewrites = 0;
    for (const WalWrite& w : g_wal_writes) {
      if (w.at < end) ++rewrites;
      end = std::max(end, w.at + static_cast<off_t>(w.bytes));
    }
    MESSAGE(g_wal_writes.size(), " WAL writes, ", rewrites, " of them over earlier ones");
    CHECK(rewrites > 0);
    writes[ours ? 0 : 1] = g_wal_writes.size();
    Db reader(path, nullptr);
    CHECK(reader.text("SELECT count(*) || ' ' || sum(k) FROM t") == "3000 4501500");
    CHECK(reader.text("SELECT count(*) FROM t WHERE a GLOB 'x*'") == "1000");
    CHECK(reader.text("SELECT count(*) FROM t WHERE b GLOB 'y*'") == "428");
    CHECK(reader.text("PRAGMA integrity_check") == "ok");
  }
  CHECK(writes[0] < writes[1]);  // never more writes than SQLite's own
}

TEST_CASE("a failed write of the gathered frames fails the commit and records nothing") {
  Fresh fresh;
  Db& writer = fresh.writer;
  const std::string& path = fresh.path;
  {
    WatchWrites watch;
    g_fail_wal_writes = 1;
    CHECK(writer.exec("INSERT INTO t VALUES(2, 'a2', 'b2')") == SQLITE_IOERR_WRITE);
    CHECK(g_fail_wal_writes == 0);
    CHECK(g_wal_writes.empty());  // nothing of the transaction reached the file
    CHECK(writer.text("SELECT count(*) FROM t") == "1");
    {
      Db reader(path, nullptr);
      CHECK(reader.text("SELECT count(*) FROM t") == "1");
    }
    // The disk is back: the same insert goes through, whole.
    CHECK(writer.exec("INSERT INTO t VALUES(2, 'a2', 'b2')") == SQLITE_OK);
  }
  Db reader(path, nullptr);
  CHECK(reader.text("SELECT group_concat(a) FROM t") == "a1,a2");
  CHECK(reader.text("PRAGMA integrity_check") == "ok");
}
