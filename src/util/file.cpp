#include "util/file.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wfo {

namespace {

/// Waits until `fd` is readable (data, or its writer gone). False when SIGINT, SIGTERM or
/// SIGHUP arrived: the caller's mask may block them (process::SignalGuard), so they are let
/// through for the wait alone, as ProcessSet::wait does.
bool wait_readable(int fd) {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigdelset(&mask, signal);
  pollfd p{fd, POLLIN, 0};
  // EINTR: a handler ran, and only the three could reach one here (SignalGuard records the
  // signal for its owner). Any other error: the read that follows reports it.
  return ::ppoll(&p, 1, nullptr, &mask) >= 0 || errno != EINTR;
}

}  // namespace

Result<std::string> read_file(const std::string& path, bool* regular) {
  // O_NONBLOCK: a FIFO nobody writes to opens at once (and reads as empty) instead of
  // blocking. A regular file loses the flag below; a pipe keeps it, and its reads wait for
  // the writer in wait_readable().
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail(ErrorKind::io, "cannot read '" + path + "': " + std::strerror(errno));
  std::string out;
  // Sized once from the file's length (a workflow of 100,000 tasks is 5 MB; growing by
  // doubling would hold 8 MB); a file that grows meanwhile is still read to its end.
  struct stat st;
  bool stat_ok = ::fstat(fd, &st) == 0;
  bool is_regular = stat_ok && S_ISREG(st.st_mode);
  if (regular) *regular = is_regular;
  if (stat_ok && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode))) {
    ::close(fd);  // /dev/zero or /dev/urandom would be read for ever
    return fail(ErrorKind::io, "cannot read '" + path + "': not a file or a pipe");
  }
  // A pipe stays non-blocking: its reads wait in wait_readable(), where a signal ends them.
  bool pipe = stat_ok && S_ISFIFO(st.st_mode);
  if (!pipe) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  if (is_regular && st.st_size > 0 && static_cast<size_t>(st.st_size) <= k_max_read_bytes)
    out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    if (out.size() > k_max_read_bytes) {
      ::close(fd);
      return fail(ErrorKind::io, "cannot read '" + path + "': larger than 64 MiB");
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && pipe) {
      if (wait_readable(fd)) continue;
      ::close(fd);
      return fail(ErrorKind::interrupted, "interrupted while reading '" + path + "'");
    }
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail(ErrorKind::io, "cannot read '" + path + "': " + std::strerror(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<void> reset_empty_file(const std::string& path) {
  auto error = [&](int err) {
    return fail(ErrorKind::io, "cannot write '" + path + "': " + std::strerror(err));
  };
  // O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of blocking the drive.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd >= 0) {
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
      int rc = st.st_size == 0 ? 0 : ::ftruncate(fd, 0);
      int err = errno;
      ::close(fd);
      if (rc == 0) return {};
      return error(err);
    }
    ::close(fd);
  }
  // Not a file of its own (or not openable as one): replaced, whatever the open's error was;
  // the error reported is the one that stops the replacement.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return error(errno);
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return error(errno);
  ::close(fd);
  return {};
}

Result<void> write_file_atomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(ErrorKind::io, "cannot write '" + path + "': " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(ErrorKind::io, "cannot write '" + path + "': " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorKind::io, "cannot write '" + path + "': " + std::strerror(err));
  }
  return {};
}

}  // namespace wfo
