// wfo's VFS (vfs.hpp). Each file opened through it is a WfoFile: our sqlite3_file header
// followed, in the same allocation SQLite makes (szOsFile), by the default VFS's own file
// object, to which every method is forwarded. Invariants: a WAL file's buffer holds only
// writes that continue one another (`len` bytes for offset `at`), none of a finished commit;
// every method of a WAL file that reads, syncs, sizes, truncates, locks or closes it, and
// every shared-memory method of its database's file, writes the buffer first. The
// io_methods we hand out carry the wrapped file's iVersion, so SQLite never calls a method
// the real file lacks.
#include "store/vfs.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

namespace wfo::store {
namespace {

const char* g_log_path = nullptr;  ///< WFO_FAULT_LOG, or null

/// Appends `line` to WFO_FAULT_LOG, so a test knows that (and where) a fault fired.
void log_fault(const char* op, uint64_t n) {
  if (g_log_path == nullptr) return;
  int fd = ::open(g_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string line = std::string(op) + " " + std::to_string(n) + "\n";
  ssize_t written = ::write(fd, line.data(), line.size());
  (void)written;  // best effort: the log only helps a test explain what it saw
  ::close(fd);
}

/// When to fail: the `first`-th call (1-based), and every later one when `permanent`.
struct Fault {
  const char* op = "";
  uint64_t first = 0;  ///< 0: never
  bool permanent = false;
  std::atomic<uint64_t> calls{0};

  /// Counts one call; true when it must fail.
  bool hit() {
    if (first == 0) return false;
    uint64_t n = calls.fetch_add(1) + 1;
    bool fail = n == first || (permanent && n > first);
    if (fail) log_fault(op, n);
    return fail;
  }
};

Fault g_write_fault, g_sync_fault;

/// Parses "N" or "N+" (N >= 1) into `fault`; false for anything else.
bool parse_fault(const char* op, const char* text, Fault& fault) {
  if (text == nullptr) return false;
  std::string_view s(text);
  bool permanent = !s.empty() && s.back() == '+';
  if (permanent) s.remove_suffix(1);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n == 0) return false;
  fault.op = op;
  fault.first = n;
  fault.permanent = permanent;
  return true;
}

/// How many bytes of WAL writes are gathered at most; a larger transaction writes them in
/// pieces about this size (a task's commit is 3-6 frames of 2,072 bytes). The unix VFS takes
/// writes under 128 KiB only: its seekAndWrite keeps the low 17 bits of the count (os_unix.c).
constexpr int k_gather_bytes = 64 * 1024;
/// The sizes of SQLite's WAL frame header and of the field in it that says "commit" (SQLite's
/// file format, "WAL Frame Format": bytes 4-7, the database's size in pages after a commit
/// frame, zero in any other frame).
constexpr int k_frame_header_bytes = 24;

struct WfoFile {
  sqlite3_file base;   ///< pMethods: one of k_methods
  sqlite3_file* real;  ///< the default VFS's file, right after this header
  bool is_wal;
  /// A main database file: its connection's WAL file while that is open, else null.
  WfoFile* wal;
  /// A WAL file: its database's file, when that was opened through this VFS; else null.
  WfoFile* main;
  unsigned char* buffer;  ///< a WAL file's gathered writes (k_gather_bytes); null until needed
  int len;                ///< bytes gathered
  sqlite3_int64 at;       ///< their offset in the file
  bool commit_next;       ///< the last write was a commit frame's header: its page ends it
};

WfoFile* wfo_of(sqlite3_file* f) {
  return reinterpret_cast<WfoFile*>(f);
}
sqlite3_file* real_of(sqlite3_file* f) {
  return wfo_of(f)->real;
}
const sqlite3_io_methods& real_methods(sqlite3_file* f) {
  return *real_of(f)->pMethods;
}

/// Writes to the real file, or fails as WFO_FAULT_WRITE says.
int write_through(WfoFile* f, const void* data, int amount, sqlite3_int64 offset) {
  if (g_write_fault.hit()) return SQLITE_IOERR_WRITE;
  return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

/// Writes what `wal` has gathered, and forgets it either way: when the write fails, SQLite
/// gets the error (from the write, sync or read that called this) and rolls back the
/// transaction those frames belong to, which then are past the WAL's last commit, never read.
int flush(WfoFile* wal) {
  if (wal == nullptr || wal->len == 0) return SQLITE_OK;
  int len = wal->len;
  wal->len = 0;
  wal->commit_next = false;
  return write_through(wal, wal->buffer, len, wal->at);
}

/// Flushes the WAL of `f`: `f` itself when it is a WAL file, else its connection's WAL.
int settle(sqlite3_file* f) {
  WfoFile* w = wfo_of(f);
  return flush(w->is_wal ? w : w->wal);
}

/// Gathers a write to a WAL file; see vfs.hpp.
int gather(WfoFile* f, const unsigned char* data, int amount, sqlite3_int64 offset) {
  const sqlite3_int64 end = f->at + f->len;
  int rc = SQLITE_OK;
  if (f->len > 0 && offset >= f->at && offset + amount <= end) {
    // Bytes gathered already, written again: SQLite rewrites a frame of this transaction.
    std::memcpy(f->buffer + (offset - f->at), data, static_cast<size_t>(amount));
  } else if (f->len > 0 && (offset + amount <= f->at || offset > end)) {
    // Apart from what is gathered (a frame written out before, written again when a large
    // transaction spills pages): written at once, and the gathering goes on.
    rc = write_through(f, data, amount, offset);
  } else {
    if (f->len > 0 && (offset != end || f->len + amount > k_gather_bytes)) {
      if (rc = flush(f); rc != SQLITE_OK) return rc;  // overlaps it in part, or it is full
    }
    if (f->buffer == nullptr) f->buffer = static_cast<unsigned char*>(std::malloc(k_gather_bytes));
    if (amount > k_gather_bytes || f->buffer == nullptr)
      return write_through(f, data, amount, offset);
    if (f->len == 0) f->at = offset;
    std::memcpy(f->buffer + f->len, data, static_cast<size_t>(amount));
    f->len += amount;
  }
  if (rc != SQLITE_OK) return rc;
  if (f->commit_next) return flush(f);  // the commit frame's page: the transaction is whole
  if (amount == k_frame_header_bytes) f->commit_next = (data[4] | data[5] | data[6] | data[7]) != 0;
  return SQLITE_OK;
}

int f_close(sqlite3_file* f) {
  WfoFile* w = wfo_of(f);
  int flushed = settle(f);
  if (w->is_wal && w->main != nullptr && w->main->wal == w) w->main->wal = nullptr;
  if (!w->is_wal && w->wal != nullptr) w->wal->main = nullptr;
  std::free(w->buffer);
  w->buffer = nullptr;
  int rc = real_methods(f).xClose(real_of(f));
  return flushed != SQLITE_OK ? flushed : rc;
}
int f_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  if (wfo_of(f)->is_wal) {
    if (int rc = settle(f); rc != SQLITE_OK) return rc;
  }
  return real_methods(f).xRead(real_of(f), buf, amount, offset);
}
int f_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  WfoFile* w = wfo_of(f);
  if (w->is_wal) return gather(w, static_cast<const unsigned char*>(buf), amount, offset);
  return write_through(w, buf, amount, offset);
}
int f_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xTruncate(real_of(f), size);
}
int f_sync(sqlite3_file* f, int flags) {
  if (int rc = settle(f); rc != SQLITE_OK) return rc;
  if (g_sync_fault.hit()) return SQLITE_IOERR_FSYNC;
  return real_methods(f).xSync(real_of(f), flags);
}
int f_file_size(sqlite3_file* f, sqlite3_int64* size) {
  if (wfo_of(f)->is_wal) {
    if (int rc = settle(f); rc != SQLITE_OK) return rc;
  }
  return real_methods(f).xFileSize(real_of(f), size);
}
int f_lock(sqlite3_file* f, int level) {
  if (int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xLock(real_of(f), level);
}
int f_unlock(sqlite3_file* f, int level) {
  if (int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xUnlock(real_of(f), level);
}
int f_check_reserved_lock(sqlite3_file* f, int* out) {
  return real_methods(f).xCheckReservedLock(real_of(f), out);
}
int f_file_control(sqlite3_file* f, int op, void* arg) {
  if (wfo_of(f)->is_wal) {
    if (int rc = settle(f); rc != SQLITE_OK) return rc;
  }
  return real_methods(f).xFileControl(real_of(f), op, arg);
}
int f_sector_size(sqlite3_file* f) {
  return real_methods(f).xSectorSize(real_of(f));
}
int f_device_characteristics(sqlite3_file* f) {
  return real_methods(f).xDeviceCharacteristics(real_of(f));
}
int f_shm_map(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  if (int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xShmMap(real_of(f), page, page_size, extend, out);
}
int f_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  if (int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xShmLock(real_of(f), offset, n, flags);
}
void f_shm_barrier(sqlite3_file* f) {
  // No way to report an error here; the commit frame's write has flushed in every
  // transaction SQLite publishes, so nothing is left to fail (vfs.hpp).
  (void)settle(f);
  real_methods(f).xShmBarrier(real_of(f));
}
int f_shm_unmap(sqlite3_file* f, int delete_flag) {
  if (int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xShmUnmap(real_of(f), delete_flag);
}
int f_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  if (int rc = settle(f); rc != SQLITE_OK) return rc;
  return real_methods(f).xFetch(real_of(f), offset, amount, out);
}
int f_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return real_methods(f).xUnfetch(real_of(f), offset, p);
}

constexpr sqlite3_io_methods methods_of_version(int version) {
  return {version,
          f_close,
          f_read,
          f_write,
          f_truncate,
          f_sync,
          f_file_size,
          f_lock,
          f_unlock,
          f_check_reserved_lock,
          f_file_control,
          f_sector_size,
          f_device_characteristics,
          f_shm_map,
          f_shm_lock,
          f_shm_barrier,
          f_shm_unmap,
          f_fetch,
          f_unfetch};
}

const sqlite3_io_methods k_methods[] = {methods_of_version(1), methods_of_version(2),
                                        methods_of_version(3)};

bool is_ours(const sqlite3_file* f) {
  return f != nullptr && f->pMethods >= &k_methods[0] && f->pMethods <= &k_methods[2];
}

sqlite3_vfs g_vfs;

sqlite3_vfs* base_vfs() {
  return static_cast<sqlite3_vfs*>(g_vfs.pAppData);
}

int v_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = wfo_of(file);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->real->pMethods = nullptr;
  f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->wal = nullptr;
  f->main = nullptr;
  f->buffer = nullptr;
  f->len = 0;
  f->at = 0;
  f->commit_next = false;
  int rc = base_vfs()->xOpen(base_vfs(), name, f->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed xOpen: mirror the
  // real file's pMethods so that our xClose reaches it exactly when it must.
  const sqlite3_io_methods* real = f->real->pMethods;
  if (real == nullptr) {
    f->base.pMethods = nullptr;
    return rc;
  }
  int version = real->iVersion < 1 ? 1 : (real->iVersion > 3 ? 3 : real->iVersion);
  f->base.pMethods = &k_methods[version - 1];
  if (f->is_wal && rc == SQLITE_OK && name != nullptr) {
    // The WAL's name leads to its database's file (SQLite's docs,
    // sqlite3_database_file_object), whose shared-memory calls must flush this WAL first.
    sqlite3_file* db = sqlite3_database_file_object(name);
    if (is_ours(db)) {
      f->main = wfo_of(db);
      f->main->wal = f;
    }
  }
  return rc;
}
int v_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return base_vfs()->xDelete(base_vfs(), name, sync_dir);
}
int v_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs()->xAccess(base_vfs(), name, flags, out);
}
int v_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return base_vfs()->xFullPathname(base_vfs(), name, size, out);
}

const char* register_vfs() {
  parse_fault("write", std::getenv("WFO_FAULT_WRITE"), g_write_fault);
  parse_fault("sync", std::getenv("WFO_FAULT_SYNC"), g_sync_fault);
  g_log_path = std::getenv("WFO_FAULT_LOG");
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr) return nullptr;
  // Everything but open, delete, access and full pathname goes to the default VFS's own
  // functions, which read nothing of the sqlite3_vfs they are given beyond what we copied.
  g_vfs = *base;
  g_vfs.pNext = nullptr;
  g_vfs.zName = "wfo";
  g_vfs.pAppData = base;
  g_vfs.szOsFile = static_cast<int>(sizeof(WfoFile)) + base->szOsFile;
  g_vfs.xOpen = v_open;
  g_vfs.xDelete = v_delete;
  g_vfs.xAccess = v_access;
  g_vfs.xFullPathname = v_full_pathname;
  if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) return nullptr;
  return g_vfs.zName;
}

}  // namespace

const char* state_vfs() {
  static const char* name = register_vfs();  // once per process; thread-safe
  return name;
}

}  // namespace wfo::store
