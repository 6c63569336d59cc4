#pragma once
// Local subprocesses, as in ninja's subprocess-posix.cc: each child is spawned with vfork
// and exec into its own process group, stdin /dev/null, stdout and stderr appended to a
// log file, every descriptor wfo opens close-on-exec. This layer knows commands, not tasks.

#include <poll.h>
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/mask.hpp"

namespace wfo::process {

/// What to run. `argv[0]` is looked up in PATH of the environment when it has no slash
/// ("/bin:/usr/bin" when it has no PATH; a relative PATH entry is taken from `workdir`, as the
/// child sees it).
struct SpawnRequest {
  std::vector<std::string> argv;  ///< non-empty
  /// The child's environment: `base_env` (when given) with `env` set over it, both
  /// "KEY=value" lines; see merged_env().
  std::vector<std::string> env;
  std::string workdir;            ///< chdir before exec; empty: wfo's own directory
  /// stdout and stderr, through a pipe wfo drains, appended here: created 0600 at the first
  /// byte (a task that prints nothing leaves no file), masked by `mask` on the way.
  std::string log_path;
  std::shared_ptr<const Masker> mask;  ///< secret values to write as `***`; may be null
  std::shared_ptr<const std::vector<std::string>> base_env;  ///< may be null
};

/// The environment of `base` (may be null) with `overlay` set over it, as pointers to their
/// lines ("KEY=value"): each name once, the overlay's line where both have it. Both must be
/// in name order (by the text before '='); so is the result. Copies no string. Errors: none.
std::vector<const std::string*> merged_env(const std::vector<std::string>* base,
                                           const std::vector<std::string>& overlay);

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
  /// Empty, or why the log could not be written in full (`cannot open log file 'path':
  /// <strerror>`, `cannot write log file 'path': <strerror>`); the output after that point
  /// was read and dropped, so the child never blocked on it.
  std::string log_error;
};

/// What one wait() saw. `signal` is SIGINT, SIGTERM or SIGHUP when one reached wfo, else 0.
struct WaitResult {
  std::vector<Exit> exits;
  int signal = 0;
};

/// Blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD for the life of the object and installs
/// handlers that only set a flag; they are unblocked only inside ppoll(2) (STYLE.md).
/// SIGPIPE is ignored (a write to a closed pipe fails with EPIPE instead); children get all
/// five back at their defaults. Create one, early in main, before any thread or child.
/// Restores mask and handlers. Guards nest if destroyed in reverse order.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  static constexpr int k_signal_count = 5;
  sigset_t m_old_mask;
  struct sigaction m_old_actions[k_signal_count];
};

/// Returns and clears the last SIGINT/SIGTERM/SIGHUP seen by the handlers; 0 when none.
/// ProcessSet::wait() takes the signal the same way: a signal is reported exactly once,
/// either in a WaitResult or here, whichever asks first.
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
  /// signal mask and dispositions of a fresh process, and no descriptor but 0 (/dev/null),
  /// 1 and 2 (one pipe, drained by wait() into the log), even those wfo inherited without
  /// close-on-exec. Errors (ErrorKind::io): no pipe (`cannot make a pipe: <strerror>`), or
  /// vfork or a step of the child before its exec fails
  /// (e.g. ENOENT for a missing program: message `cannot run 'prog': No such file or
  /// directory`; a missing `workdir`: `cannot run 'prog' in 'dir': <strerror>`).
  Result<pid_t> spawn(const SpawnRequest& request);

  /// Sends SIGTERM to the group of `pid` now and SIGKILL once `grace` has passed (the kill
  /// is sent by a later wait()). Unknown pids are ignored.
  void terminate(pid_t pid, std::chrono::milliseconds grace);

  /// Waits until a child exits, a signal reaches wfo, or `deadline` passes (whichever is
  /// first), sleeping in ppoll(2) without polling, and meanwhile copies the children's output
  /// to their logs. When a group leader has exited, any other member of its group is
  /// SIGKILLed before the leader is reaped (no survivor, and no pgid reuse while we signal);
  /// then what is left in its pipe is copied (at most 1 MiB more: a process that left the
  /// group with setsid may keep writing) and the log is complete before the exit is returned.
  /// The pipe and the log are closed, and the leader's zombie reaped, by the next call (or
  /// the destructor): a write to the pipe fails (EPIPE) after that, and before it is dropped
  /// (or, with the pipe full, waits for the close).
  /// Returns every child that ended. A signal caught now or earlier and not yet taken is
  /// returned in WaitResult::signal and cleared, so take_pending_signal() no longer sees it. A
  /// past `deadline` makes it a non-blocking poll; time_point::max() waits without limit.
  /// Needs a live SignalGuard (else SIGCHLD would not wake it). Reaps only its own children.
  /// A child reaped behind our back (waitpid(-1) elsewhere) is reported with exit_code -1 and
  /// signal 0. Errors: none.
  WaitResult wait(std::chrono::steady_clock::time_point deadline);

  /// Number of children whose exit wait() has not returned yet.
  size_t size() const { return m_children.size(); }

 private:
  struct Child {
    pid_t pid = 0;
    std::chrono::steady_clock::time_point kill_at;  ///< max() when no kill is pending
    int out_fd = -1;                                ///< pipe's read end; -1 once at EOF
    int log_fd = -1;                                ///< -1 until the first byte
    /// wfo's copy of the pipe's write end, closed at the reap; -1 when not kept. While wfo
    /// holds it, the child's exit is no end of file on the pipe: without it, each exit woke
    /// wfo twice (the pipe's end, in the middle of the child's exit, then SIGCHLD), two more
    /// context switches, a ppoll, a read and a waitid a task (docs/benchmarks.md).
    int hold_fd = -1;
    std::string log_path;
    std::string log_error;  ///< first failure to open or write the log; then output is dropped
    MaskStream mask{nullptr};
  };
  /// Children that keep hold_fd: up to this many at once, one descriptor more each.
  static constexpr size_t k_hold_limit = 64;
  std::vector<Child> m_children;     ///< live (unreaped) children only, in no particular order
  std::vector<pollfd> m_poll;        ///< scratch for wait(): the open pipes
  std::vector<size_t> m_poll_owner;  ///< scratch: m_poll[k] is m_children[m_poll_owner[k]]'s
  std::vector<char> m_buffer;        ///< scratch for copying output (64 KiB)
  /// ppoll's mask: the waiting thread's mask without the four signals SignalGuard blocks,
  /// read once (the first wait), not with a pthread_sigmask call per wait.
  std::optional<sigset_t> m_wait_mask;
  /// The signals each child sets back to SIG_DFL, found at the first spawn (spawn.cpp).
  /// Shared, not unique: the type is complete in spawn.cpp only.
  struct SpawnSetup;
  std::shared_ptr<SpawnSetup> m_setup;
  /// A pipe made before it is needed (read end non-blocking, both close-on-exec; -1 when
  /// none), and the descriptors of children reaped by the last wait(), closed later: both
  /// are done when wait() is next called, after the spawns those exits allowed, not between
  /// a child's exit and the next spawn, which on a chain is the critical path (a pipe made,
  /// set and closed is 4 system calls, 6.5 µs on the benchmark's machine: docs/benchmarks.md).
  int m_spare_pipe[2] = {-1, -1};
  std::vector<int> m_closing;
  /// Leaders whose exit the last wait() returned, still zombies: reaped by the next wait()
  /// (tidy) or the destructor, so that the reap's system call is not between an exit and
  /// the next spawn either. Their pids stay taken until then; status and usage came from
  /// waitid (probe, process_set.cpp).
  std::vector<pid_t> m_zombies;
  /// The last wait() returned exits, so a SIGCHLD may be pending: the next tidy() takes it.
  bool m_take_sigchld = false;

  /// Puts a pipe for a child in `fds`: the spare if there is one, else a new one (read end
  /// non-blocking, both close-on-exec). Returns false with errno set when pipe2 fails.
  bool take_pipe(int fds[2]);
  /// Reaps m_zombies, takes a pending SIGCHLD (m_take_sigchld), closes what m_closing
  /// holds, and makes the spare pipe once a child was spawned.
  void tidy();
  /// Reaps every pid in m_zombies and clears it.
  void reap_zombies();

  /// Copies what `child`'s pipe holds to its log: up to `max_bytes`, until the pipe is
  /// empty (EAGAIN) or at EOF (then closes it).
  void drain(Child& child, size_t max_bytes);
  /// Masks and appends `data` to `child`'s log, opening it at the first byte.
  void write_log(Child& child, std::string_view data);
  /// Drains `child` (bounded), flushes what masking held back, and hands its descriptors
  /// to m_closing.
  void finish_output(Child& child);
  /// Moves every child that has exited from m_children into `result`, killing its group first.
  void reap_exited(WaitResult& result);
  /// SIGKILLs the groups whose grace has run out; returns the earliest kill still pending.
  std::chrono::steady_clock::time_point send_due_kills(std::chrono::steady_clock::time_point now);
};

/// struct sched_attr as sched_setattr(2) and sched_getattr(2) read and write it, in its first
/// version (SCHED_ATTR_SIZE_VER0, 48 bytes). Declared here: glibc 2.36 has no wrapper, and
/// <linux/sched/types.h> clashes with the <sched.h> of newer glibc.
struct SchedAttr {
  uint32_t size = sizeof(SchedAttr);
  uint32_t sched_policy = 0;  ///< SCHED_OTHER
  uint64_t sched_flags = 0;
  int32_t sched_nice = 0;
  uint32_t sched_priority = 0;
  uint64_t sched_runtime = 0;  ///< ns; for SCHED_OTHER, the thread's time slice (Linux 6.12+)
  uint64_t sched_deadline = 0;
  uint64_t sched_period = 0;
};
static_assert(sizeof(SchedAttr) == 48, "SCHED_ATTR_SIZE_VER0");

/// The time slice prefer_prompt_wakeups asks for: 100 µs, the shortest the kernel accepts.
inline constexpr uint64_t k_supervisor_slice_ns = 100'000;

/// Asks the kernel to run the calling thread (wfo's event loop) soon after it wakes, rather
/// than after the task that holds its CPU: a custom time slice of k_supervisor_slice_ns
/// (sched_setattr(2), `sched_runtime` of a SCHED_OTHER thread, Linux 6.12 and later). Under
/// the EEVDF scheduler a woken thread preempts the running one only when its slice is the
/// shorter; with the default (0.7-3 ms) wfo, woken by a child's exit at -j2 on two CPUs,
/// often waited behind the other task while the exited one's CPU went idle (docs/design.md,
/// "Prompt wake-ups"). SCHED_FLAG_RESET_ON_FORK gives every child and thread made afterwards
/// the default slice, so the tasks run as they would anywhere else. Only for SCHED_OTHER at
/// nice 0 or more (the flag would also raise a child's negative nice to 0); other policies
/// and the nice value are left as they are. Errors: none; a kernel that refuses the call or
/// predates custom slices leaves the thread as it was.
void prefer_prompt_wakeups();

/// True when some process is in group `pgid` (kill(-pgid, 0) succeeds, or EPERM). A zombie
/// counts until its parent (often init, for orphans) reaps it. False for `pgid` <= 1.
bool group_alive(pid_t pgid);

/// Terminates group `pgid` that wfo does not own (left by a wfo that died): SIGTERM, then
/// SIGKILL after `grace`, then waits until the group is gone (at most 2 s more).
/// Returns true when it is gone. Refuses (returns false) `pgid` <= 1 and wfo's own group.
/// Polls in 10 ms steps: the group is not our child, so no SIGCHLD tells us. Errors: none.
bool terminate_foreign_group(pid_t pgid, std::chrono::milliseconds grace);

/// Returns the pids of this user's processes whose environment holds exactly every entry of
/// `entries` (e.g. "WFO_RUN_ID=r-123"), from /proc/<pid>/environ, in increasing order; the
/// calling process is left out. The environment is the one given at exec (later setenv
/// calls are not seen; a process that is still inside execve may show none for a moment).
/// Errors: none (unreadable or vanished processes are skipped).
std::vector<pid_t> find_processes_with_env(const std::vector<std::string>& entries);

}  // namespace wfo::process
