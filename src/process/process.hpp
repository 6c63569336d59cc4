#pragma once
// Local subprocesses, as in ninja's subprocess-posix.cc: each child is spawned with
// posix_spawn into its own process group, stdin /dev/null, stdout and stderr appended to a
// log file, every descriptor wfo opens close-on-exec. This layer knows commands, not tasks.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace wfo::process {

/// What to run. `argv[0]` is looked up in PATH of `env` when it has no slash.
struct SpawnRequest {
  std::vector<std::string> argv;  ///< non-empty
  std::vector<std::string> env;   ///< the child's whole environment, each "KEY=value"
  std::string workdir;            ///< chdir before exec; empty: wfo's own directory
  std::string log_path;           ///< stdout and stderr appended here (created 0600)
};

/// Resource use of an exited child, from wait4(2)'s rusage.
struct Usage {
  std::chrono::microseconds user{0};
  std::chrono::microseconds system{0};
  int64_t max_rss_kb = 0;  ///< ru_maxrss, in KiB
};

/// How a child ended: `exit_code` when it exited (else -1), `signal` when killed (else 0).
struct Exit {
  pid_t pid = 0;
  int exit_code = -1;
  int signal = 0;
  Usage usage;
};

/// What one wait() saw. `signal` is SIGINT, SIGTERM or SIGHUP when one reached wfo, else 0.
struct WaitResult {
  std::vector<Exit> exits;
  int signal = 0;
};

/// Blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD for the life of the object and installs
/// handlers that only set a flag; they are unblocked only inside ppoll(2) (STYLE.md).
/// Create one, early in main, before any thread or child. Restores mask and handlers.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
};

/// Returns and clears the last SIGINT/SIGTERM/SIGHUP seen by the handlers; 0 when none.
int take_pending_signal();

/// The children of one wfo. Owns them: the destructor SIGKILLs every group still alive and
/// reaps it, so no zombie and no orphan outlives the set (ninja: "Reap child if forgotten").
class ProcessSet {
 public:
  ProcessSet() = default;
  ~ProcessSet();
  ProcessSet(const ProcessSet&) = delete;
  ProcessSet& operator=(const ProcessSet&) = delete;

  /// Starts `request`; the child leads a new process group (pgid == returned pid), with the
  /// signal mask and dispositions of a fresh process. Errors (ErrorKind::io): the log file
  /// cannot be opened, or posix_spawn fails (e.g. ENOENT for a missing program: message
  /// `cannot run 'prog': No such file or directory`).
  Result<pid_t> spawn(const SpawnRequest& request);

  /// Sends SIGTERM to the group of `pid` now and SIGKILL once `grace` has passed (the kill
  /// is sent by a later wait()). Unknown pids are ignored.
  void terminate(pid_t pid, std::chrono::milliseconds grace);

  /// Waits until a child exits, a signal reaches wfo, or `deadline` passes (whichever is
  /// first), sleeping in ppoll(2) without polling. When a group leader has exited, any other
  /// member of its group is SIGKILLed before the leader is reaped (no survivor, and no pgid
  /// reuse while we signal). Returns every child that ended. Errors: none.
  WaitResult wait(std::chrono::steady_clock::time_point deadline);

  /// Number of children not yet reaped.
  size_t size() const { return m_children.size(); }

 private:
  struct Child {
    pid_t pid;
    std::chrono::steady_clock::time_point kill_at;  ///< max() when no kill is pending
  };
  std::vector<Child> m_children;
};

/// True when some process is in group `pgid` (kill(-pgid, 0) succeeds, or EPERM).
bool group_alive(pid_t pgid);

/// Terminates group `pgid` that wfo does not own (left by a wfo that died): SIGTERM, then
/// SIGKILL after `grace`, then waits until the group is gone (at most 2 s more).
/// Returns true when it is gone. Errors: none.
bool terminate_foreign_group(pid_t pgid, std::chrono::milliseconds grace);

/// Returns the pids of this user's processes whose environment holds exactly the entry
/// `entry` (e.g. "WFO_RUN_ID=r-123"), from /proc/<pid>/environ. Errors: none (unreadable
/// entries are skipped).
std::vector<pid_t> find_processes_with_env(std::string_view entry);

}  // namespace wfo::process
