// ProcessSet::wait, terminate and the destructor; signals reaching wfo; groups wfo does not
// own. The test process makes itself a child subreaper, so the orphans of a killed group
// come to it and reap_strays() can prove the group empty at once (else they would wait for
// init, which may reap late: 2 s on some VMs).

#include <dirent.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "error_text.hpp"
#include "process/process.hpp"
#include "util/file.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::steady_clock;
using namespace wfo::process;

const bool k_subreaper = ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "wfo-process-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

SpawnRequest request(std::vector<std::string> argv, std::string log_path) {
  return {std::move(argv), {"PATH=/usr/bin:/bin"}, "", std::move(log_path), nullptr, nullptr};
}

// True when `pid` (-1: any child) is no child of this process, neither running nor a zombie:
// waitpid(2) fails with ECHILD. errno is read here, before a CHECK's report (doctest's -s
// writes every one) can change it.
bool no_child(pid_t pid) {
  errno = 0;
  int rc = ::waitpid(pid, nullptr, WNOHANG);
  return rc == -1 && errno == ECHILD;
}

pid_t spawn(ProcessSet& set, const SpawnRequest& req) {
  wfo::Result<pid_t> pid = set.spawn(req);
  REQUIRE_MESSAGE(pid.has_value(), wfo::test::error_text(pid));
  return *pid;
}

std::string contents(const std::string& path) {
  return wfo::read_file(path).value_or("");
}

// Polls (test side only) until `done()` or 5 s have passed; returns done().
template <typename F>
bool eventually(F done) {
  auto end = steady_clock::now() + 5s;
  while (!done() && steady_clock::now() < end) std::this_thread::sleep_for(10ms);
  return done();
}

// As eventually(), for a child's log: waits in `set.wait()`, which is what copies the output
// to the log, instead of sleeping. For children that do not exit meanwhile.
template <typename F>
bool logged(ProcessSet& set, F done) {
  auto end = steady_clock::now() + 5s;
  while (!done() && steady_clock::now() < end) {
    WaitResult r = set.wait(steady_clock::now() + 10ms);
    REQUIRE(r.exits.empty());
  }
  return done();
}

// Waits until `pid` ends (at most `limit`) and returns how.
Exit wait_for(ProcessSet& set, pid_t pid, std::chrono::seconds limit = 5s) {
  auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    for (const Exit& exit : set.wait(deadline).exits) {
      if (exit.pid == pid) return exit;
    }
  }
  FAIL("child " << pid << " did not end in time");
  return {};
}

// Reaps the orphans of group `pgid` (ours, as a subreaper); true when the group is empty
// within 2 s, which only happens when its members were killed.
bool reap_strays(pid_t pgid) {
  REQUIRE(k_subreaper);
  auto end = steady_clock::now() + 2s;
  for (;;) {
    pid_t rc = ::waitpid(-pgid, nullptr, WNOHANG);
    if (rc < 0 && errno == ECHILD) return !group_alive(pgid);
    if (rc == 0 && steady_clock::now() > end) return false;
    if (rc == 0) std::this_thread::sleep_for(10ms);
  }
}

size_t open_fd_count() {
  size_t count = 0;
  for ([[maybe_unused]] auto& entry : fs::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

std::chrono::microseconds cpu_time() {
  rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return std::chrono::seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         std::chrono::microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

}  // namespace

TEST_CASE("wait: with no child it returns at the deadline, without spinning") {
  SignalGuard guard;
  ProcessSet set;
  auto cpu_before = cpu_time();
  auto start = steady_clock::now();
  WaitResult result = set.wait(start + 300ms);
  auto elapsed = steady_clock::now() - start;
  CHECK(result.exits.empty());
  CHECK(result.signal == 0);
  CHECK(elapsed >= 300ms);
  CHECK(cpu_time() - cpu_before < 20ms);
  // A deadline in the past is a poll.
  start = steady_clock::now();
  CHECK(set.wait(start - 1s).exits.empty());
}

TEST_CASE("wait: a running child does not end it early; a past deadline polls") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  pid_t pid = spawn(set, request({"sleep", "30"}, dir.file("log")));
  auto start = steady_clock::now();
  CHECK(set.wait(start + 200ms).exits.empty());
  CHECK(steady_clock::now() - start >= 200ms);
  CHECK(set.wait(steady_clock::time_point::min()).exits.empty());
  CHECK(set.size() == 1);
  set.terminate(pid, 1s);
  CHECK(wait_for(set, pid).signal == SIGTERM);
}

TEST_CASE("wait: a SIGINT sent to wfo is reported once, promptly") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  spawn(set, request({"sleep", "30"}, dir.file("log")));
  auto start = steady_clock::now();
  REQUIRE(::kill(::getpid(), SIGINT) == 0);
  WaitResult result = set.wait(start + 5s);
  CHECK(result.signal == SIGINT);
  CHECK(result.exits.empty());
  CHECK(take_pending_signal() == 0);  // wait() took it
  CHECK(set.wait(steady_clock::now() + 50ms).signal == 0);

  REQUIRE(::raise(SIGTERM) == 0);
  CHECK(set.wait(steady_clock::now() + 5s).signal == SIGTERM);
  CHECK(set.size() == 1);  // the destructor kills and reaps the sleep
}

TEST_CASE("terminate: SIGKILL after the grace when the child ignores SIGTERM") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  std::string log = dir.file("log");
  pid_t pid = spawn(set, request({"sh", "-c", "trap '' TERM; echo ready; sleep 30"}, log));
  REQUIRE(logged(set, [&] { return contents(log) == "ready\n"; }));
  auto start = steady_clock::now();
  set.terminate(pid, 300ms);
  set.terminate(pid + 100000, 0ms);  // unknown: ignored
  Exit exit = wait_for(set, pid);
  auto elapsed = steady_clock::now() - start;
  CHECK(exit.signal == SIGKILL);
  CHECK(exit.exit_code == -1);
  CHECK(elapsed >= 300ms);
  CHECK(reap_strays(pid));
}

TEST_CASE("terminate: a grandchild that ignores SIGTERM does not survive its group") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  std::string log = dir.file("log");
  pid_t pid = spawn(set, request({"sh", "-c", "(trap '' TERM; echo ready; sleep 30) & wait"}, log));
  REQUIRE(logged(set, [&] { return contents(log) == "ready\n"; }));
  set.terminate(pid, 5s);
  Exit exit = wait_for(set, pid, 2s);  // the leader dies of the SIGTERM itself
  CHECK(exit.signal == SIGTERM);
  CHECK(reap_strays(pid));
  CHECK_FALSE(group_alive(pid));
}

TEST_CASE("wait: a leader that exits is reported at once; a grandchild holding stdout dies") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  std::string log = dir.file("log");
  pid_t pid = spawn(set, request({"sh", "-c", "sleep 30 & echo hi"}, log));
  Exit exit = wait_for(set, pid, 5s);
  CHECK(exit.exit_code == 0);
  CHECK(contents(log) == "hi\n");
  CHECK(reap_strays(pid));
  CHECK_FALSE(group_alive(pid));
}

TEST_CASE("~ProcessSet: kills and reaps every group still alive") {
  SignalGuard guard;
  TempDir dir;
  pid_t pid = 0;
  {
    ProcessSet set;
    pid = spawn(set, request({"sh", "-c", "trap '' TERM; sleep 30 & wait"}, dir.file("log")));
  }
  CHECK(no_child(pid));  // reaped: no zombie
  CHECK(reap_strays(pid));
}

namespace {
// A ProcessSet whose descriptors are counted from before it was made.
struct CountedSet {
  SignalGuard guard;
  TempDir dir;
  size_t fds_before = open_fd_count();
  std::optional<ProcessSet> holder{std::in_place};
  ProcessSet& set = *holder;

  // Once every child is reaped: the next wait closes what the reaps left, and only the
  // pipe made ahead for a next spawn stays open, until the set is gone.
  void check_nothing_left() {
    set.wait(steady_clock::now() + 1ms);
    CHECK(open_fd_count() == fds_before + 2);
    holder.reset();
    CHECK(open_fd_count() == fds_before);
  }
};
}  // namespace

TEST_CASE("wait: 200 short children leave no zombie and no descriptor behind") {
  CountedSet c;
  ProcessSet& set = c.set;
  TempDir& dir = c.dir;
  int launched = 0;
  int ended = 0;
  while (launched < 200 || set.size() > 0) {
    while (launched < 200 && set.size() < 16) {
      spawn(set, request({"true"}, dir.file("log")));
      ++launched;
    }
    for (const Exit& exit : set.wait(steady_clock::now() + 5s).exits) {
      CHECK(exit.exit_code == 0);
      ++ended;
    }
  }
  CHECK(ended == 200);
  set.wait(steady_clock::now() + 1ms);  // reaps the leaders the last wait returned
  CHECK(no_child(-1));
  c.check_nothing_left();
}

TEST_CASE("wait: a returned leader stays a zombie until the next wait, which reaps it") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  pid_t pid = spawn(set, request({"sh", "-c", "exit 3"}, dir.file("log")));
  Exit exit = wait_for(set, pid);
  CHECK(exit.exit_code == 3);
  CHECK(exit.signal == 0);
  CHECK(set.size() == 0);
  siginfo_t info = {};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0);
  CHECK(info.si_pid == pid);  // unreaped: the pid, and so -pid, is still taken
  CHECK(info.si_status == 3);
  set.wait(steady_clock::now() + 1ms);
  CHECK(no_child(pid));
}

TEST_CASE("~ProcessSet: reaps the leaders the last wait returned") {
  SignalGuard guard;
  TempDir dir;
  pid_t pid = 0;
  {
    ProcessSet set;
    pid = spawn(set, request({"true"}, dir.file("log")));
    CHECK(wait_for(set, pid).exit_code == 0);
  }
  CHECK(no_child(pid));
}

TEST_CASE("wait: the next child's pipe is made, and the reaped one's closed, by the next wait") {
  CountedSet c;
  ProcessSet& set = c.set;
  TempDir& dir = c.dir;
  set.wait(steady_clock::now() + 1ms);
  CHECK(open_fd_count() == c.fds_before);  // nothing made before the first spawn
  std::string log = dir.file("log");
  pid_t first = spawn(set, request({"sh", "-c", "echo one"}, log));
  CHECK(open_fd_count() == c.fds_before + 2);  // the child's pipe, both ends held
  CHECK(wait_for(set, first).exit_code == 0);
  CHECK(contents(log) == "one\n");  // complete when the exit is reported
  // The wait that reaped it made a spare pipe; the next wait closes the child's. The next
  // spawn takes the spare and makes no pipe of its own.
  set.wait(steady_clock::now() + 1ms);
  CHECK(open_fd_count() == c.fds_before + 2);
  pid_t second = spawn(set, request({"sh", "-c", "echo two"}, dir.file("log2")));
  CHECK(open_fd_count() == c.fds_before + 2);
  CHECK(wait_for(set, second).exit_code == 0);
  CHECK(contents(dir.file("log2")) == "two\n");
  c.holder.reset();
  CHECK(open_fd_count() == c.fds_before);
}

TEST_CASE("wait: 80 children at once, past the 64 that keep their pipe's write end") {
  CountedSet c;
  ProcessSet& set = c.set;
  TempDir& dir = c.dir;
  // Each child waits for a file, so all 80 are alive together, then prints its number.
  std::string go = dir.file("go");
  for (int k = 0; k < 80; ++k) {
    spawn(set,
          request({"sh", "-c",
                   "while [ ! -e " + go + " ]; do sleep 0.01; done; echo " + std::to_string(k)},
                  dir.file("log" + std::to_string(k))));
  }
  // Both ends of a pipe for each of the first 64, the read end alone for the other 16.
  CHECK(open_fd_count() == c.fds_before + 64 * 2 + 16);
  REQUIRE(wfo::write_file_atomic(go, "").has_value());
  int ended = 0;
  auto deadline = steady_clock::now() + 10s;
  while (set.size() > 0 && steady_clock::now() < deadline) {
    for (const Exit& exit : set.wait(deadline).exits) {
      CHECK(exit.exit_code == 0);
      ++ended;
    }
  }
  CHECK(ended == 80);
  for (int k = 0; k < 80; ++k)
    CHECK(contents(dir.file("log" + std::to_string(k))) == std::to_string(k) + "\n");
  c.check_nothing_left();
}

TEST_CASE("wait: an exit it reports leaves no SIGCHLD pending for the next wait") {
  // Found before ppoll sleeps, an exit leaves its SIGCHLD pending (signals are blocked
  // outside ppoll). The next wait() takes it first, after the spawns the exit allowed, so
  // that its ppoll does not wake at once for nothing (process_set.cpp, tidy and
  // consume_pending_sigchld).
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  auto sigchld_pending = [] {
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    return sigismember(&pending, SIGCHLD) == 1;
  };
  for (int k = 0; k < 20; ++k) {
    CAPTURE(k);
    pid_t pid = spawn(set, request({"true"}, dir.file("log")));
    bool exited_first = k % 2 == 0;
    if (exited_first) {  // the child ends before the wait: its probe finds the exit
      siginfo_t info{};
      while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0 &&
             errno == EINTR) {
      }
    }
    CHECK(wait_for(set, pid).exit_code == 0);
    if (exited_first) CHECK(sigchld_pending());  // left for the next wait
    (void)set.wait(steady_clock::now());
    CHECK_FALSE(sigchld_pending());
  }
}

TEST_CASE("find_processes_with_env: finds the processes holding an exact entry") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  std::string entry = "WFO_TEST_RUN_ID=r-" + std::to_string(::getpid());
  std::string db = "WFO_TEST_STATE=" + dir.file("state.db");
  SpawnRequest req = request({"sleep", "30"}, dir.file("log"));
  req.env.push_back(entry);
  req.env.push_back(db);
  pid_t pid = spawn(set, req);
  using Pids = std::vector<pid_t>;
  // Right after exec the kernel may not have published the new environment yet.
  CHECK(eventually([&] { return find_processes_with_env({entry}) == Pids{pid}; }));
  CHECK(find_processes_with_env({entry, db}) == Pids{pid});
  CHECK(find_processes_with_env({entry.substr(0, entry.size() - 1)}).empty());
  CHECK(find_processes_with_env({entry + "0"}).empty());
  // Every entry must be there: the same run id under another state database is not ours.
  CHECK(find_processes_with_env({entry, db + "x"}).empty());
}

TEST_CASE("group_alive and terminate_foreign_group refuse dangerous pgids") {
  CHECK_FALSE(group_alive(0));
  CHECK_FALSE(group_alive(1));
  CHECK_FALSE(group_alive(-5));
  CHECK(group_alive(::getpgrp()));
  CHECK_FALSE(terminate_foreign_group(1, 0ms));
  CHECK_FALSE(terminate_foreign_group(::getpgrp(), 0ms));
}

TEST_CASE("terminate_foreign_group: kills a group that is not our child") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  std::string log = dir.file("log");
  // A keeper reaps the foreign group's leader, as init would for a dead wfo's attempt.
  std::string keeper = "setsid sh -c \"trap '' TERM; echo ready; exec sleep 30\" & echo $!; wait";
  pid_t keeper_pid = spawn(set, request({"sh", "-c", keeper}, log));
  REQUIRE(logged(set, [&] { return contents(log).find("ready\n") != std::string::npos; }));
  std::string text = contents(log);
  size_t digits = text.find_first_of("0123456789");
  REQUIRE(digits != std::string::npos);
  pid_t pgid = std::stoi(text.substr(digits));
  REQUIRE(group_alive(pgid));

  auto start = steady_clock::now();
  CHECK(terminate_foreign_group(pgid, 200ms));  // SIGTERM is ignored: SIGKILL does it
  auto elapsed = steady_clock::now() - start;
  CHECK(elapsed >= 200ms);
  // No live member is left; the killed leader may stay a zombie until the keeper reaps it.
  CHECK(eventually([&] { return !group_alive(pgid); }));
  CHECK(wait_for(set, keeper_pid).exit_code == 0);
  CHECK(terminate_foreign_group(pgid, 200ms));  // already gone
}
