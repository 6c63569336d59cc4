// ProcessSet::spawn, as ninja's subprocess-posix.cc: posix_spawn (a vfork-like clone, no copy
// of wfo's memory) with the child in its own process group, so a terminal ctrl-c reaches wfo
// alone and wfo can signal the whole attempt through -pgid. The child's stdout and stderr are
// one pipe that wait() drains into the log (process_set.cpp), so wfo masks secrets before a
// byte reaches the disk, and a task that prints nothing costs no file. Invariants: every
// descriptor opened here is close-on-exec from birth, and the parent's copy of the pipe's
// write end is closed before spawn() returns, whatever happens.

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
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

struct SpawnAttributes {
  posix_spawnattr_t value;
  SpawnAttributes() { posix_spawnattr_init(&value); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&value); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

struct SpawnActions {
  posix_spawn_file_actions_t value;
  SpawnActions() { posix_spawn_file_actions_init(&value); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&value); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// Returns 0 or the first error code of the posix_spawnattr_* calls.
int set_attributes(posix_spawnattr_t& attr) {
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal : k_default_signals) sigaddset(&defaults, signal);
  // Put the child in its own process group (pgid 0: its own pid), so ctrl-c won't reach it.
  short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  int rc = posix_spawnattr_setflags(&attr, flags);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &empty);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &defaults);
  return rc;
}

// Returns 0 or the first error code of the posix_spawn_file_actions_* calls. The dup2s come
// before the open of fd 0, so an `out_fd` of 0 (wfo started with stdin closed) still works.
int set_actions(posix_spawn_file_actions_t& actions, int out_fd, const std::string& workdir) {
  int rc = posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
  if (rc == 0) rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // Also close what wfo inherited without close-on-exec: a task sees only 0, 1 and 2.
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (rc == 0 && !workdir.empty()) {
    rc = posix_spawn_file_actions_addchdir_np(&actions, workdir.c_str());
  }
  return rc;
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
// request's) as execvp would in the child (posix_spawnp would use wfo's own PATH instead).
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

std::unexpected<Error> spawn_error(const SpawnRequest& request, int rc) {
  const std::string& name = request.argv[0];
  // The child's chdir fails with the same ENOENT as a missing program; tell them apart.
  if (!request.workdir.empty() && ::access(request.workdir.c_str(), X_OK) != 0) {
    return fail(ErrorKind::io,
                "cannot run '" + name + "' in '" + request.workdir + "': " + std::strerror(errno));
  }
  return fail(ErrorKind::io, "cannot run '" + name + "': " + std::strerror(rc));
}

const char* c_string(const std::string& s) {
  return s.c_str();
}
const char* c_string(const std::string* s) {
  return s->c_str();
}

// argv or envp for posix_spawn: the strings' own buffers, then a null.
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

}  // namespace

/// Attributes, the same for every spawn, and file actions for up to k_kept recent pairs of
/// (pipe write end, working directory), the most recent first.
struct ProcessSet::SpawnSetup {
  struct Entry {
    int out_fd = -1;
    std::string workdir;
    SpawnActions actions;
  };
  static constexpr size_t k_kept = 4;
  SpawnAttributes attr;
  int attr_rc = set_attributes(attr.value);  ///< 0, or the first posix_spawnattr_* error
  std::vector<std::unique_ptr<Entry>> entries;

  /// Returns the actions for `out_fd` and `workdir`, made now when not kept; null with
  /// `*rc` set when a posix_spawn_file_actions_* call fails.
  const posix_spawn_file_actions_t* actions(int out_fd, const std::string& workdir, int* rc) {
    for (size_t k = 0; k < entries.size(); ++k) {
      if (entries[k]->out_fd != out_fd || entries[k]->workdir != workdir) continue;
      std::rotate(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(k),
                  entries.begin() + static_cast<std::ptrdiff_t>(k) + 1);
      return &entries.front()->actions.value;
    }
    auto entry = std::make_unique<Entry>();
    *rc = set_actions(entry->actions.value, out_fd, workdir);
    if (*rc != 0) return nullptr;
    entry->out_fd = out_fd;
    entry->workdir = workdir;
    if (entries.size() == k_kept) entries.pop_back();
    entries.insert(entries.begin(), std::move(entry));
    return &entries.front()->actions.value;
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

Result<pid_t> ProcessSet::spawn(const SpawnRequest& request) {
  if (request.argv.empty()) return fail(ErrorKind::internal, "cannot run an empty command");
  std::vector<const std::string*> env = merged_env(request.base_env.get(), request.env);
  Result<std::string> program = find_program(request, env);
  if (!program) return std::unexpected(program.error());

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return fail(ErrorKind::io, std::string("cannot make a pipe: ") + std::strerror(errno));
  FdCloser close_write{pipe_fds[1]};  // the child has its own copies on 1 and 2
  FdCloser close_read{pipe_fds[0]};   // until the child is ours to watch
  // Only wfo's end is non-blocking: the task writes to an ordinary blocking pipe.
  ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);

  if (!m_setup) m_setup = std::make_shared<SpawnSetup>();
  int rc = m_setup->attr_rc;
  const posix_spawn_file_actions_t* actions =
      rc == 0 ? m_setup->actions(pipe_fds[1], request.workdir, &rc) : nullptr;
  if (rc != 0) return spawn_error(request, rc);

  std::vector<char*> argv = c_strings(request.argv);
  std::vector<char*> envp = c_strings(env);
  pid_t pid = 0;
  rc = posix_spawn(&pid, program->c_str(), actions, &m_setup->attr.value, argv.data(), envp.data());
  if (rc != 0) return spawn_error(request, rc);
  Child child;
  child.pid = pid;
  child.kill_at = std::chrono::steady_clock::time_point::max();
  child.out_fd = pipe_fds[0];
  child.log_path = request.log_path;
  child.mask = MaskStream(request.mask);
  m_children.push_back(std::move(child));
  close_read.fd = -1;  // m_children owns it now
  return pid;
}

}  // namespace wfo::process
