// ProcessSet::spawn: vfork and exec (no copy of wfo's memory; the parent waits until the
// child's exec), with the child in its own process group, so a terminal ctrl-c reaches wfo
// alone and wfo can signal the whole attempt through -pgid. ninja's subprocess-posix.cc uses
// posix_spawn for the same; wfo does the child's few steps itself (run_child), because glibc's
// posix_spawn also reads and resets all 64 signal dispositions and maps a stack in every spawn,
// about 20 µs of each task's critical path here (docs/benchmarks.md). The child's stdout and
// stderr are one pipe that wait() drains into the log (process_set.cpp), so wfo masks secrets
// before a byte reaches the disk, and a task that prints nothing costs no file. Invariants:
// every descriptor opened here is close-on-exec from birth, and the parent's copy of the
// pipe's write end is closed before spawn() returns, or owned by the child's entry
// (Child::hold_fd), whatever happens.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "process/process.hpp"

namespace wfo::process {

namespace {

// The signals wfo blocks, catches or ignores; the child gets their defaults back. Caught
// ones would be reset by exec anyway, but an ignored one (SIGPIPE) would stay ignored.
constexpr int k_default_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE};

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

/// What the child does between vfork and exec, in order; the first failure's errno goes to
/// `*error` and the child exits 127 (vfork shares memory: the parent reads it when vfork
/// returns). Only system calls, as vfork(2) requires of a child: no allocation, no lock, no
/// return. Runs with every signal blocked (the parent blocked them before vfork), so no
/// handler of wfo's can run on wfo's memory here; each signal wfo handles or ignores is back
/// to SIG_DFL before the mask is emptied for the program.
struct ChildPlan {
  const char* program;
  char* const* argv;
  char* const* envp;
  int out_fd;           ///< the pipe's write end: becomes 1 and 2
  const char* workdir;  ///< null: stay in wfo's directory
  const int* reset;     ///< signals to set to SIG_DFL
  size_t reset_count;
  int max_fd;           ///< descriptors to close one by one when close_range(2) is missing
  volatile int* error;  ///< errno of the step that failed, 0 when none
};

[[noreturn]] void child_fail(const ChildPlan& plan) {
  *plan.error = errno != 0 ? errno : EINVAL;
  ::_exit(127);
}

// Puts `fd` on `target`, without close-on-exec (dup2 of a descriptor onto itself keeps the
// flag, so that case clears it by hand, as posix_spawn's adddup2 does).
bool place(int fd, int target) {
  if (fd != target) return ::dup2(fd, target) == target;
  int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == 0;
}

[[noreturn]] void run_child(const ChildPlan& plan) {
  // Its own process group (pgid: its pid), so a terminal's ctrl-c reaches wfo alone.
  if (::setpgid(0, 0) != 0) child_fail(plan);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (size_t k = 0; k < plan.reset_count; ++k)
    if (::sigaction(plan.reset[k], &dfl, nullptr) != 0) child_fail(plan);
  // The dup2s come before the open of fd 0, so an `out_fd` of 0 (wfo started with stdin
  // closed) still works.
  if (!place(plan.out_fd, 1) || !place(plan.out_fd, 2)) child_fail(plan);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || !place(null_fd, 0)) child_fail(plan);
  // Also close what wfo inherited without close-on-exec: a task sees only 0, 1 and 2.
  // close_range(2) is Linux 5.9; before it, one close per descriptor up to the limit.
  if (::close_range(3, ~0U, 0) != 0)
    for (int fd = 3; fd < plan.max_fd; ++fd) ::close(fd);
  if (plan.workdir && ::chdir(plan.workdir) != 0) child_fail(plan);
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) child_fail(plan);
  ::execve(plan.program, plan.argv, plan.envp);
  child_fail(plan);
}

bool is_executable_file(const std::string& path) {
  struct stat info;
  return ::access(path.c_str(), X_OK) == 0 && ::stat(path.c_str(), &info) == 0 &&
         S_ISREG(info.st_mode);
}

std::string_view search_path(const std::vector<const std::string*>& env) {
  for (const std::string* entry : env) {
    if (entry->starts_with("PATH=")) return std::string_view(*entry).substr(5);
  }
  return "/bin:/usr/bin";  // execvp's default
}

// Returns the path to exec for `request.argv[0]`, searched in the PATH of `env` (the
// request's) as execvp would in the child (execvp would search wfo's own PATH instead).
Result<std::string> find_program(const SpawnRequest& request,
                                 const std::vector<const std::string*>& env) {
  const std::string& name = request.argv[0];
  if (name.find('/') != std::string::npos) return name;
  std::string_view path = search_path(env);
  while (!name.empty()) {
    size_t colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    std::string candidate = std::string(dir.empty() ? "." : dir) + "/" + name;
    // The child resolves a relative candidate after its chdir; check it the same way.
    bool relative = candidate[0] != '/' && !request.workdir.empty();
    if (is_executable_file(relative ? request.workdir + "/" + candidate : candidate)) {
      return candidate;
    }
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return fail(ErrorKind::io, "cannot run '" + name + "': " + std::strerror(ENOENT));
}

/// What made execve(2) fail with E2BIG: a string (with its NUL; an environment entry with
/// its NAME=) longer than MAX_ARG_STRLEN, 32 pages, or all of them with a pointer to each
/// over the limit that the stack's size sets (sysconf's ARG_MAX). A `run:` that substitutes a
/// large output is the usual cause; the way out is a file.
std::string too_long(const SpawnRequest& request, const std::vector<const std::string*>& env) {
  long page = ::sysconf(_SC_PAGESIZE);
  const size_t per_string = 32 * static_cast<size_t>(page > 0 ? page : 4096);
  auto over = [&](const std::string& what, size_t size, size_t allowed) {
    return ": " + what + " is " + std::to_string(size) + " bytes, and Linux takes at most " +
           std::to_string(allowed) + " there; pass a large value in a file";
  };
  size_t total = 0;
  for (size_t i = 0; i < request.argv.size(); ++i) {
    const std::string& arg = request.argv[i];
    total += arg.size() + 1 + sizeof(char*);
    if (arg.size() + 1 > per_string)
      return over(
          i == 2 && request.argv[1] == "-c" ? "the command" : "argument " + std::to_string(i),
          arg.size(), per_string - 1);
  }
  for (const std::string* line : env) {
    total += line->size() + 1 + sizeof(char*);
    if (line->size() + 1 > per_string) {
      std::string var = line->substr(0, line->find('='));
      // render_shell (expr/template.cpp) passes each ${{ }} of a `run:` in WFO_EXPR_<n>.
      return over(var.starts_with("WFO_EXPR_") ? "the value of a ${{ }} in the command"
                                               : "environment variable " + var,
                  line->size() - var.size() - 1, per_string - 1 - var.size() - 1);
    }
  }
  long arg_max = ::sysconf(_SC_ARG_MAX);
  return ": the arguments and environment take " + std::to_string(total) +
         " bytes (with a pointer to each), over the system's limit" +
         (arg_max > 0 ? " of " + std::to_string(arg_max) : std::string()) +
         "; pass large values in files";
}

std::unexpected<Error> spawn_error(const SpawnRequest& request,
                                   const std::vector<const std::string*>& env, int rc) {
  const std::string& name = request.argv[0];
  // The child's chdir fails with the same ENOENT as a missing program; tell them apart.
  if (!request.workdir.empty() && ::access(request.workdir.c_str(), X_OK) != 0) {
    return fail(ErrorKind::io,
                "cannot run '" + name + "' in '" + request.workdir + "': " + std::strerror(errno));
  }
  return fail(ErrorKind::io, "cannot run '" + name + "': " + std::strerror(rc) +
                                 (rc == E2BIG ? too_long(request, env) : ""));
}

const char* c_string(const std::string& s) {
  return s.c_str();
}
const char* c_string(const std::string* s) {
  return s->c_str();
}

// argv or envp for execve: the strings' own buffers, then a null.
template <class Strings>
std::vector<char*> c_strings(const Strings& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(c_string(s)));
  out.push_back(nullptr);
  return out;
}

std::string_view env_name(const std::string& line) {
  return std::string_view(line).substr(0, line.find('='));
}

constexpr uint64_t k_sched_reset_on_fork = 0x01;  // SCHED_FLAG_RESET_ON_FORK, <linux/sched.h>

}  // namespace

void prefer_prompt_wakeups() {
  if (::sched_getscheduler(0) != SCHED_OTHER) return;
  errno = 0;
  int nice = ::getpriority(PRIO_PROCESS, 0);  // the calling thread's, on Linux
  if (errno != 0 || nice < 0) return;
  SchedAttr attr;
  attr.sched_policy = SCHED_OTHER;
  attr.sched_flags = k_sched_reset_on_fork;
  attr.sched_nice = nice;
  attr.sched_runtime = k_supervisor_slice_ns;
  (void)::syscall(SYS_sched_setattr, 0, &attr, 0);
}

/// The signals a child sets back to SIG_DFL: those wfo handles or ignores (k_default_signals)
/// and any other with a handler when the first child was spawned (a sanitizer's, say). Read
/// once: glibc's posix_spawn asks for all 64 dispositions in every child (64 sigaction calls
/// between the clone and the exec of each task, about 15 µs here).
struct ProcessSet::SpawnSetup {
  std::vector<int> reset;
  int max_fd = static_cast<int>(std::min<long>(::sysconf(_SC_OPEN_MAX), 1 << 20));
  SpawnSetup() {
    prefer_prompt_wakeups();  // the thread that spawns is the one that waits for the exits
    reset.assign(std::begin(k_default_signals), std::end(k_default_signals));
    for (int sig = 1; sig < NSIG; ++sig) {
      if (std::find(reset.begin(), reset.end(), sig) != reset.end()) continue;
      struct sigaction old {};
      // glibc refuses its own internal signals (EINVAL): they stay as they are.
      if (::sigaction(sig, nullptr, &old) != 0) continue;
      // sa_handler and sa_sigaction share their storage: SIG_DFL and SIG_IGN read the same
      // through either, as glibc's posix_spawn reads them.
      if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) reset.push_back(sig);
    }
  }
};

std::vector<const std::string*> merged_env(const std::vector<std::string>* base,
                                           const std::vector<std::string>& overlay) {
  std::vector<const std::string*> out;
  out.reserve((base ? base->size() : 0) + overlay.size());
  auto b = base ? base->begin() : overlay.end();
  auto b_end = base ? base->end() : overlay.end();
  for (const std::string& line : overlay) {
    std::string_view name = env_name(line);
    for (; b != b_end && env_name(*b) < name; ++b) out.push_back(&*b);
    if (b != b_end && env_name(*b) == name) ++b;  // set over
    out.push_back(&line);
  }
  for (; b != b_end; ++b) out.push_back(&*b);
  return out;
}

bool ProcessSet::take_pipe(int fds[2]) {
  if (m_spare_pipe[0] >= 0) {
    fds[0] = m_spare_pipe[0];
    fds[1] = m_spare_pipe[1];
    m_spare_pipe[0] = m_spare_pipe[1] = -1;
    return true;
  }
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  // Only wfo's end is non-blocking: the task writes to an ordinary blocking pipe.
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  return true;
}

Result<pid_t> ProcessSet::spawn(const SpawnRequest& request) {
  if (request.argv.empty()) return fail(ErrorKind::internal, "cannot run an empty command");
  std::vector<const std::string*> env = merged_env(request.base_env.get(), request.env);
  Result<std::string> program = find_program(request, env);
  if (!program) return std::unexpected(program.error());

  int pipe_fds[2];
  if (!take_pipe(pipe_fds))
    return fail(ErrorKind::io, std::string("cannot make a pipe: ") + std::strerror(errno));
  FdCloser close_write{pipe_fds[1]};  // the child has its own copies on 1 and 2
  FdCloser close_read{pipe_fds[0]};   // until the child is ours to watch

  if (!m_setup) m_setup = std::make_shared<SpawnSetup>();
  std::vector<char*> argv = c_strings(request.argv);
  std::vector<char*> envp = c_strings(env);
  volatile int child_error = 0;
  const ChildPlan plan{program->c_str(),
                       argv.data(),
                       envp.data(),
                       pipe_fds[1],
                       request.workdir.empty() ? nullptr : request.workdir.c_str(),
                       m_setup->reset.data(),
                       m_setup->reset.size(),
                       m_setup->max_fd,
                       &child_error};
  // Every signal blocked across vfork: the child shares wfo's memory until its exec, and
  // must not run a handler of wfo's (run_child empties the mask just before the exec).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::vfork();
  if (pid == 0) run_child(plan);
  int vfork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return spawn_error(request, env, vfork_errno);
  if (child_error != 0) {
    // The child exited 127 before its exec: reap it here, it is no task.
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return spawn_error(request, env, child_error);
  }
  Child child;
  child.pid = pid;
  child.kill_at = std::chrono::steady_clock::time_point::max();
  child.out_fd = pipe_fds[0];
  child.log_path = request.log_path;
  child.mask = MaskStream(request.mask);
  // wfo keeps a copy of the write end until the reap (process.hpp, Child::hold_fd), so the
  // child's exit does not also end its pipe; past k_hold_limit children, a descriptor each
  // weighs more than that saves.
  if (m_children.size() < k_hold_limit) {
    child.hold_fd = pipe_fds[1];
    close_write.fd = -1;
  }
  m_children.push_back(std::move(child));
  close_read.fd = -1;  // m_children owns it now
  return pid;
}

}  // namespace wfo::process
