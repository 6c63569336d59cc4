// ProcessSet: waiting, terminating and reaping. Invariants: m_children holds exactly the
// children spawned here and not yet reaped; a leader is reaped only after its group got
// SIGKILL, and only while its zombie still pins the pid, so -pid never names a stranger's
// group. Other ProcessSets may have children too: we look only at our own pids
// (waitid(P_PID, ..., WNOWAIT)), never at P_ALL, so their exits are left to them.

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>

#include "process/process.hpp"

namespace wfo::process {

namespace {

using Clock = std::chrono::steady_clock;

enum class ChildState { running, exited, gone };

// Looks without reaping: the zombie must stay until its group has been killed.
ChildState probe(pid_t pid) {
  siginfo_t info = {};
  int rc;
  do {
    info.si_pid = 0;
    rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return ChildState::gone;  // ECHILD: someone else reaped it
  return info.si_pid == 0 ? ChildState::running : ChildState::exited;
}

std::chrono::microseconds to_duration(const timeval& tv) {
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

// Reaps `pid`, which has exited (or is gone: then only the pid is known).
Exit reap(pid_t pid) {
  Exit exit;
  exit.pid = pid;
  int status = 0;
  rusage usage = {};
  pid_t rc;
  do {
    rc = ::wait4(pid, &status, 0, &usage);
  } while (rc < 0 && errno == EINTR);
  if (rc != pid) return exit;
  if (WIFEXITED(status)) exit.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  exit.usage.user = to_duration(usage.ru_utime);
  exit.usage.system = to_duration(usage.ru_stime);
  exit.usage.max_rss_kb = usage.ru_maxrss;
  return exit;
}

// The calling thread's mask without the four signals SignalGuard blocks: the mask for ppoll.
sigset_t wait_mask() {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigdelset(&mask, signal);
  return mask;
}

// Sleeps until `wake` (no limit when max()) or until a signal arrives, whichever is first.
void sleep_until(Clock::time_point wake, Clock::time_point now, const sigset_t& mask) {
  if (wake == Clock::time_point::max()) {
    ::ppoll(nullptr, 0, nullptr, &mask);
    return;
  }
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now);
  timespec timeout = {static_cast<time_t>(left.count() / 1'000'000'000),
                      static_cast<long>(left.count() % 1'000'000'000)};
  ::ppoll(nullptr, 0, &timeout, &mask);  // EINTR is the normal way out
}

}  // namespace

ProcessSet::~ProcessSet() {
  // Reap child if forgotten (ninja), after killing its whole group.
  for (const Child& child : m_children) {
    if (probe(child.pid) != ChildState::gone) ::kill(-child.pid, SIGKILL);
  }
  for (const Child& child : m_children) {
    int status;
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
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
    ChildState state = probe(pid);
    if (state == ChildState::running) {
      ++i;
      continue;
    }
    // Kill what is left of the group (say a grandchild that keeps stdout open) while the
    // zombie leader still holds the pgid; a gone leader's pid may name a stranger now.
    if (state == ChildState::exited) ::kill(-pid, SIGKILL);
    result.exits.push_back(reap(pid));
    m_children[i] = m_children.back();
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
  const sigset_t mask = wait_mask();
  for (;;) {
    reap_exited(result);
    result.signal = take_pending_signal();
    if (!result.exits.empty() || result.signal != 0) return result;
    Clock::time_point now = Clock::now();
    Clock::time_point next_kill = send_due_kills(now);
    if (deadline <= now) return result;
    // Signals are blocked outside ppoll, so a SIGCHLD that came since reap_exited is
    // pending and ends ppoll at once: no exit is missed between the two.
    sleep_until(std::min(deadline, next_kill), now, mask);
  }
}

}  // namespace wfo::process
