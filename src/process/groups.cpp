// Process groups wfo does not own (left by a wfo that died) and the /proc scan that finds a
// run's processes by an environment entry. Nothing here reaps: these are not our children.

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <thread>

#include "process/process.hpp"

namespace wfo::process {

namespace {

pid_t parse_pid(const char* name);

// True when some member of group `pgid` is alive and not a zombie. A zombie is dead: it only
// waits for its parent (init, for what a dead wfo left) to reap it, which may take seconds.
bool group_has_live_member(pid_t pgid) {
  if (!group_alive(pgid)) return false;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return true;
  bool live = false;
  char buf[512];
  while (const dirent* item = ::readdir(proc)) {
    pid_t pid = parse_pid(item->d_name);
    if (pid <= 0) continue;
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    // The fields after the command's closing parenthesis: state ppid pgrp ...
    const char* close = std::strrchr(buf, ')');
    char state = 0;
    int ppid = 0, pgrp = 0;
    if (close && std::sscanf(close + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
        state != 'Z' && state != 'X') {
      live = true;
      break;
    }
  }
  ::closedir(proc);
  return live;
}

// Polls until group `pgid` has no live member or `limit` has passed; true when gone. Polling
// is the only way: a group that is not our child sends us no SIGCHLD.
bool wait_group_gone(pid_t pgid, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (!group_has_live_member(pgid)) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Returns the pid named by a /proc entry, or 0 when `name` is not all digits.
pid_t parse_pid(const char* name) {
  pid_t pid = 0;
  const char* end = name + std::strlen(name);
  auto [ptr, ec] = std::from_chars(name, end, pid);
  return ec == std::errc() && ptr == end ? pid : 0;
}

// Reads /proc/<pid>/environ into `out`; false when it cannot be read.
bool read_environ(pid_t pid, std::string& out) {
  out.clear();
  std::string path = "/proc/" + std::to_string(pid) + "/environ";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[8192];
  ssize_t n;
  for (;;) {
    n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return n == 0;
}

// True when the NUL-separated `environ` holds exactly `entry`.
bool has_entry(std::string_view environ, std::string_view entry) {
  while (!environ.empty()) {
    size_t end = environ.find('\0');
    if (environ.substr(0, end) == entry) return true;
    if (end == std::string_view::npos) break;
    environ.remove_prefix(end + 1);
  }
  return false;
}

}  // namespace

bool group_alive(pid_t pgid) {
  // kill(0, ...) would name our own group and kill(-1, ...) every process we may signal.
  if (pgid <= 1) return false;
  return ::kill(-pgid, 0) == 0 || errno == EPERM;
}

bool terminate_foreign_group(pid_t pgid, std::chrono::milliseconds grace) {
  if (pgid <= 1 || pgid == ::getpgrp()) return false;
  if (!group_has_live_member(pgid)) return true;
  ::kill(-pgid, SIGTERM);
  if (wait_group_gone(pgid, grace)) return true;
  ::kill(-pgid, SIGKILL);
  return wait_group_gone(pgid, std::chrono::seconds(2));
}

std::vector<pid_t> find_processes_with_env(const std::vector<std::string>& entries) {
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");  // glibc opens it close-on-exec
  if (proc == nullptr) return found;
  const pid_t self = ::getpid();
  std::string environ;
  while (const dirent* item = ::readdir(proc)) {
    pid_t pid = parse_pid(item->d_name);
    if (pid <= 0 || pid == self) continue;
    if (!read_environ(pid, environ)) continue;
    bool all = true;
    for (const std::string& entry : entries) all = all && has_entry(environ, entry);
    if (all) found.push_back(pid);
  }
  ::closedir(proc);
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace wfo::process
