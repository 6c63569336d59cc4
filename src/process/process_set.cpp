// ProcessSet: waiting, terminating and reaping. Invariants: m_children holds exactly the
// children spawned here whose exit was not yet returned, m_zombies those returned by the last
// wait() and not yet reaped (the next wait() or the destructor reaps them); a leader is
// reaped only after its group got SIGKILL, and only while its zombie still pins the pid, so
// -pid never names a stranger's group. Other ProcessSets may have children too: we look only
// at our own pids (waitid(P_PID, ..., WNOWAIT)), never at P_ALL, so their exits are left to
// them. A child's output is copied to its log while we wait, and all of it is in the log
// before its exit is reported.

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "process/process.hpp"

namespace wfo::process {

namespace {

using Clock = std::chrono::steady_clock;

enum class ChildState { running, exited, gone };

std::chrono::microseconds to_duration(const timeval& tv) {
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

// Looks without reaping: the zombie must stay until its group has been killed. For an exited
// child, fills `exit` (when given) with its status and resource usage: the raw waitid(2)
// takes a struct rusage, which glibc's wrapper does not pass, and fills it for a child left
// unreaped by WNOWAIT as wait4(2) does at the reap (getrusage(RUSAGE_BOTH) of the zombie:
// kernel/exit.c). So the reap itself can wait until after the spawns this exit allows.
ChildState probe(pid_t pid, Exit* exit = nullptr) {
  siginfo_t info = {};
  rusage usage = {};
  long rc;
  do {
    info.si_pid = 0;
    rc = ::syscall(SYS_waitid, P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT,
                   exit ? &usage : nullptr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return ChildState::gone;  // ECHILD: someone else reaped it
  if (info.si_pid == 0) return ChildState::running;
  if (exit) {
    if (info.si_code == CLD_EXITED)
      exit->exit_code = info.si_status;
    else  // CLD_KILLED or CLD_DUMPED: only exits are asked for (WEXITED)
      exit->signal = info.si_status;
    exit->usage.user = to_duration(usage.ru_utime);
    exit->usage.system = to_duration(usage.ru_stime);
    exit->usage.max_rss_kb = usage.ru_maxrss;
  }
  return ChildState::exited;
}

// The calling thread's mask without the four signals SignalGuard blocks: the mask for ppoll.
sigset_t wait_mask() {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigdelset(&mask, signal);
  return mask;
}

// Takes a SIGCHLD left pending by the exits the last wait() returned, without running its
// handler; the next wait() calls it first (tidy), after the spawns those exits allowed. An
// exit found before ppoll slept (by the probe, or through the pipe's end of a child that
// keeps no hold_fd) leaves one: the next ppoll would return at once for it, one more turn
// of the loop (a probe, a signal frame) right after the next spawn. Race-free
// because wait() probes every child after this, before it sleeps, and an exit after this
// raises SIGCHLD anew; the only waiter is the thread in wait() (signal_guard.cpp).
void consume_pending_sigchld() {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  const timespec now = {0, 0};
  while (::sigtimedwait(&chld, nullptr, &now) < 0 && errno == EINTR) {
  }
}

// Sleeps until `wake` (no limit when max()), a signal arrives or one of `fds` is readable,
// whichever is first.
void sleep_until(Clock::time_point wake, Clock::time_point now, const sigset_t& mask,
                 std::vector<pollfd>& fds) {
  if (wake == Clock::time_point::max()) {
    ::ppoll(fds.data(), fds.size(), nullptr, &mask);
    return;
  }
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now);
  timespec timeout = {static_cast<time_t>(left.count() / 1'000'000'000),
                      static_cast<long>(left.count() % 1'000'000'000)};
  ::ppoll(fds.data(), fds.size(), &timeout, &mask);  // EINTR is the normal way out
}

constexpr size_t k_chunk = 64 * 1024;
// Per child per wake-up: a task writing without pause must not starve the others' exits.
constexpr size_t k_read_per_wake = 4 * k_chunk;
// After the group is killed: what a process that escaped it (setsid) may add is not waited for.
constexpr size_t k_read_after_exit = 16 * k_chunk;

}  // namespace

ProcessSet::~ProcessSet() {
  // Reap child if forgotten (ninja), after killing its whole group.
  for (const Child& child : m_children) {
    if (probe(child.pid) != ChildState::gone) ::kill(-child.pid, SIGKILL);
  }
  for (Child& child : m_children) {
    int status;
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
    }
    finish_output(child);
  }
  reap_zombies();
  for (int fd : m_closing) ::close(fd);
  for (int fd : m_spare_pipe)
    if (fd >= 0) ::close(fd);
}

void ProcessSet::tidy() {
  reap_zombies();
  if (m_take_sigchld) consume_pending_sigchld();
  m_take_sigchld = false;
  for (int fd : m_closing) ::close(fd);
  m_closing.clear();
  if (m_setup && m_spare_pipe[0] < 0) {
    int fds[2];
    if (take_pipe(fds)) {  // no spare: a new pipe; on failure spawn() tries again and reports
      m_spare_pipe[0] = fds[0];
      m_spare_pipe[1] = fds[1];
    }
  }
}

void ProcessSet::reap_zombies() {
  for (pid_t pid : m_zombies)  // a zombie: returns at once (ECHILD if reaped behind our back)
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  m_zombies.clear();
}

void ProcessSet::write_log(Child& child, std::string_view data) {
  if (data.empty() || !child.log_error.empty()) return;
  if (child.log_fd < 0) {
    child.log_fd = ::open(child.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (child.log_fd < 0) {
      child.log_error = "cannot open log file '" + child.log_path + "': " + std::strerror(errno);
      return;
    }
  }
  while (!data.empty()) {
    ssize_t n = ::write(child.log_fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      child.log_error = "cannot write log file '" + child.log_path + "': " + std::strerror(errno);
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void ProcessSet::drain(Child& child, size_t max_bytes) {
  if (child.out_fd < 0) return;
  m_buffer.resize(k_chunk);
  std::string masked;
  for (size_t total = 0; total < max_bytes;) {
    ssize_t n = ::read(child.out_fd, m_buffer.data(), m_buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // EOF: every writer is gone. EAGAIN: nothing more for now. Anything else: treat as EOF.
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        ::close(child.out_fd);
        child.out_fd = -1;
      }
      return;
    }
    total += static_cast<size_t>(n);
    std::string_view chunk(m_buffer.data(), static_cast<size_t>(n));
    if (!child.mask.masks()) {
      write_log(child, chunk);  // no secret: no copy
      continue;
    }
    masked.clear();
    child.mask.feed(chunk, masked);
    write_log(child, masked);
  }
}

void ProcessSet::finish_output(Child& child) {
  drain(child, k_read_after_exit);
  std::string rest;
  child.mask.finish(rest);
  write_log(child, rest);
  // Closed by the next wait() (tidy): the log is complete already.
  for (int fd : {child.out_fd, child.log_fd, child.hold_fd})
    if (fd >= 0) m_closing.push_back(fd);
  child.out_fd = -1;
  child.log_fd = -1;
  child.hold_fd = -1;
}

void ProcessSet::terminate(pid_t pid, std::chrono::milliseconds grace) {
  auto it = std::find_if(m_children.begin(), m_children.end(),
                         [pid](const Child& child) { return child.pid == pid; });
  if (it == m_children.end()) return;
  ::kill(-pid, SIGTERM);
  it->kill_at = std::min(it->kill_at, Clock::now() + grace);
}

void ProcessSet::reap_exited(WaitResult& result) {
  for (size_t i = 0; i < m_children.size();) {
    pid_t pid = m_children[i].pid;
    Exit exit;
    exit.pid = pid;
    ChildState state = probe(pid, &exit);
    if (state == ChildState::running) {
      ++i;
      continue;
    }
    // Kill what is left of the group (say a grandchild that keeps stdout open) while the
    // zombie leader still holds the pgid; a gone leader's pid may name a stranger now.
    if (state == ChildState::exited) {
      ::kill(-pid, SIGKILL);
      m_zombies.push_back(pid);
    }
    finish_output(m_children[i]);
    exit.log_error = std::move(m_children[i].log_error);
    result.exits.push_back(std::move(exit));
    if (i + 1 != m_children.size()) m_children[i] = std::move(m_children.back());
    m_children.pop_back();
  }
}

Clock::time_point ProcessSet::send_due_kills(Clock::time_point now) {
  Clock::time_point next = Clock::time_point::max();
  for (Child& child : m_children) {
    if (child.kill_at <= now) {
      ::kill(-child.pid, SIGKILL);
      child.kill_at = Clock::time_point::max();
    }
    next = std::min(next, child.kill_at);
  }
  return next;
}

WaitResult ProcessSet::wait(Clock::time_point deadline) {
  WaitResult result;
  if (!m_wait_mask) m_wait_mask = wait_mask();
  const sigset_t& mask = *m_wait_mask;
  tidy();  // called again after the spawns the last exits allowed, so off their path
  for (;;) {
    reap_exited(result);
    result.signal = take_pending_signal();
    m_take_sigchld = !result.exits.empty();  // its SIGCHLD is taken by the next tidy()
    if (!result.exits.empty() || result.signal != 0) return result;
    Clock::time_point now = Clock::now();
    Clock::time_point next_kill = send_due_kills(now);
    if (deadline <= now) return result;
    // Signals are blocked outside ppoll, so a SIGCHLD that came since reap_exited is
    // pending and ends ppoll at once: no exit is missed between the two.
    m_poll.clear();
    m_poll_owner.clear();
    for (size_t i = 0; i < m_children.size(); ++i) {
      if (m_children[i].out_fd < 0) continue;
      m_poll.push_back({m_children[i].out_fd, POLLIN, 0});
      m_poll_owner.push_back(i);
    }
    sleep_until(std::min(deadline, next_kill), now, mask, m_poll);
    for (size_t k = 0; k < m_poll.size(); ++k)
      if (m_poll[k].revents != 0) drain(m_children[m_poll_owner[k]], k_read_per_wake);
  }
}

}  // namespace wfo::process
