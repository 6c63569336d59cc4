// ProcessSet::spawn: what the child gets (argv, env, workdir, stdin, log, descriptors,
// signals, process group) and how it is reported (exit code, signal, rusage, errors).

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
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
using wfo::process::Exit;
using wfo::process::ProcessSet;
using wfo::process::SignalGuard;
using wfo::process::SpawnRequest;
using wfo::process::WaitResult;

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

std::string contents(const std::string& path) {
  return wfo::read_file(path).value_or("<none>");
}

// Waits until `pid` ends (at most 5 s) and returns how.
Exit wait_for(ProcessSet& set, pid_t pid) {
  auto deadline = steady_clock::now() + 5s;
  while (steady_clock::now() < deadline) {
    for (const Exit& exit : set.wait(deadline).exits) {
      if (exit.pid == pid) return exit;
    }
  }
  FAIL("child " << pid << " did not end within 5 s");
  return {};
}

// Spawns `req`, waits for it and returns how it ended.
Exit run(ProcessSet& set, const SpawnRequest& req) {
  wfo::Result<pid_t> pid = set.spawn(req);
  REQUIRE_MESSAGE(pid.has_value(), wfo::test::error_text(pid));
  return wait_for(set, *pid);
}

using wfo::process::SchedAttr;

// The calling thread's scheduling parameters (sched_getattr(2)), or nothing where the call is
// refused (a seccomp filter).
std::optional<SchedAttr> read_sched() {
  SchedAttr attr;
  if (::syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return std::nullopt;
  return attr;
}

SchedAttr own_sched() {
  auto attr = read_sched();
  REQUIRE(attr.has_value());
  return *attr;
}

// Since Linux 6.12 sched_getattr reports a SCHED_OTHER thread's time slice in sched_runtime;
// before, 0, and a custom slice cannot be asked for.
bool kernel_has_slices() {
  auto attr = read_sched();
  return attr && attr->sched_runtime != 0;
}

}  // namespace

TEST_CASE("prefer_prompt_wakeups: a 100 µs slice for the caller, nice and policy kept") {
  if (!kernel_has_slices()) {
    MESSAGE("skipped: this kernel has no custom time slices (Linux 6.12)");
    return;
  }
  // Fresh threads: what the test's main thread asked for earlier does not carry over (the
  // reset-on-fork flag gives new threads the default slice).
  std::thread([] {
    uint64_t before = own_sched().sched_runtime;
    CHECK(before != wfo::process::k_supervisor_slice_ns);
    REQUIRE(::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 3) == 0);
    wfo::process::prefer_prompt_wakeups();
    SchedAttr after = own_sched();
    CHECK(after.sched_runtime == wfo::process::k_supervisor_slice_ns);
    CHECK(after.sched_nice == 3);
    CHECK(after.sched_policy == SCHED_OTHER);
    // A thread made now starts with the default slice again.
    std::thread([before] { CHECK(own_sched().sched_runtime == before); }).join();
  }).join();
  std::thread([] {
    // A negative nice (root only) is left alone, and so is the slice.
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), -1) != 0) {
      MESSAGE("negative nice not tested: needs CAP_SYS_NICE");
      return;
    }
    uint64_t before = own_sched().sched_runtime;
    wfo::process::prefer_prompt_wakeups();
    CHECK(own_sched().sched_runtime == before);
    CHECK(own_sched().sched_nice == -1);
  }).join();
  std::thread([] {
    // Another policy is left alone.
    sched_param param{};
    REQUIRE(::sched_setscheduler(0, SCHED_BATCH, &param) == 0);
    uint64_t before = own_sched().sched_runtime;
    wfo::process::prefer_prompt_wakeups();
    CHECK(own_sched().sched_policy == SCHED_BATCH);
    CHECK(own_sched().sched_runtime == before);
  }).join();
}

TEST_CASE("spawn: the spawning thread gets the short slice, the child the default one") {
  if (!kernel_has_slices() || !fs::exists("/proc/self/sched")) {
    MESSAGE("skipped: no custom time slices, or no /proc/PID/sched");
    return;
  }
  SignalGuard guard;
  TempDir dir;
  std::thread([&dir] {
    uint64_t before = own_sched().sched_runtime;
    ProcessSet set;
    Exit exit = run(set, request({"sh", "-c", "grep '^se.slice' /proc/$$/sched"}, dir.file("log")));
    CHECK(exit.exit_code == 0);
    CHECK(own_sched().sched_runtime == wfo::process::k_supervisor_slice_ns);
    std::string line = contents(dir.file("log"));
    CHECK(line.find(" " + std::to_string(before) + "\n") != std::string::npos);
  }).join();
}

TEST_CASE("spawn: exit codes are reported") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  for (int code : {0, 3, 75}) {
    CAPTURE(code);
    Exit exit = run(set, request({"sh", "-c", "exit " + std::to_string(code)}, dir.file("log")));
    CHECK(exit.exit_code == code);
    CHECK(exit.signal == 0);
  }
  CHECK(set.size() == 0);
}

TEST_CASE("spawn: a child killed by a signal reports it, with exit code -1") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  Exit exit = run(set, request({"sh", "-c", "kill -KILL $$"}, dir.file("log")));
  CHECK(exit.signal == SIGKILL);
  CHECK(exit.exit_code == -1);
}

TEST_CASE("spawn: stdout and stderr are appended to the log in order, mode 0600") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  SpawnRequest req = request({"sh", "-c", "echo out1; echo err1 >&2; echo out2; printf err2 >&2"},
                             dir.file("log"));
  CHECK(run(set, req).exit_code == 0);
  CHECK(run(set, req).exit_code == 0);
  CHECK(contents(req.log_path) == "out1\nerr1\nout2\nerr2out1\nerr1\nout2\nerr2");
  struct stat info;
  REQUIRE(::stat(req.log_path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
}

TEST_CASE("spawn: env is the child's whole environment; workdir is its directory") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  SpawnRequest req = request({"sh", "-c", "echo \"$FOO\" \"${HOME-unset}\"; pwd -P"}, "log");
  req.env.push_back("FOO=bar baz");
  req.workdir = dir.path.string();  // the relative log path is wfo's, not the workdir's
  req.log_path = dir.file("log");
  CHECK(run(set, req).exit_code == 0);
  CHECK(contents(req.log_path) == "bar baz unset\n" + fs::canonical(dir.path).string() + "\n");
}

TEST_CASE("spawn: each child gets its own workdir, though its pipe reuses a descriptor") {
  // The file actions are kept by pipe descriptor and workdir (spawn.cpp): a key without the
  // workdir would send the second child to the first one's directory.
  SignalGuard guard;
  TempDir dir;
  fs::create_directory(dir.path / "a");
  fs::create_directory(dir.path / "b");
  ProcessSet set;
  for (const char* sub : {"a", "b", "a", "", "b"}) {
    SpawnRequest req = request({"sh", "-c", "pwd -P"}, dir.file(std::string("log-") + sub));
    req.workdir = *sub ? (dir.path / sub).string() : std::string();
    CHECK(run(set, req).exit_code == 0);
    std::string want = *sub ? fs::canonical(dir.path / sub).string() : fs::current_path().string();
    CHECK(contents(req.log_path).ends_with(want + "\n"));
    ::unlink(req.log_path.c_str());
  }
}

TEST_CASE("merged_env sets the overlay over the base, each name once, in name order") {
  using wfo::process::merged_env;
  std::vector<std::string> base{"A=1", "A_B=2", "HOME=/root", "PATH=/bin", "Z=9"};
  std::vector<std::string> overlay{"A=x", "B=new", "PATH=/opt/bin", "ZZ=last"};
  std::vector<std::string> got;
  for (const std::string* line : merged_env(&base, overlay)) got.push_back(*line);
  CHECK(got == std::vector<std::string>{"A=x", "A_B=2", "B=new", "HOME=/root", "PATH=/opt/bin",
                                        "Z=9", "ZZ=last"});
  // The lines are the inputs' own, not copies.
  CHECK(merged_env(&base, overlay)[1] == &base[1]);
  CHECK(merged_env(&base, overlay)[0] == &overlay[0]);
  // No base: the overlay as it is, in its own order.
  std::vector<std::string> unsorted{"Z=1", "A=2"};
  got.clear();
  for (const std::string* line : merged_env(nullptr, unsorted)) got.push_back(*line);
  CHECK(got == unsorted);
  std::vector<std::string> none;
  CHECK(merged_env(&base, none).size() == base.size());
}

TEST_CASE("spawn: argv[0] is searched in the PATH of the request's env") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  fs::create_directory(dir.path / "bin");
  std::string script = dir.file("bin/wfo-hello");
  REQUIRE(wfo::write_file_atomic(script, "#!/bin/sh\necho hello \"$1\"\n").has_value());
  fs::permissions(script, fs::perms::owner_all);
  SpawnRequest req = request({"wfo-hello", "world"}, dir.file("log"));
  req.env = {"PATH=/nonexistent:" + dir.file("bin")};
  CHECK(run(set, req).exit_code == 0);
  CHECK(contents(req.log_path) == "hello world\n");

  // A relative PATH entry is resolved from the workdir, as the child would.
  req.env = {"PATH=bin"};
  req.workdir = dir.path.string();
  CHECK(run(set, req).exit_code == 0);
  CHECK(contents(req.log_path) == "hello world\nhello world\n");

  // The PATH may come from base_env, which env is set over (the engine sends wfo's own
  // environment so): the child sees each name once, env's where both have it.
  req.workdir.clear();
  req.base_env = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{"BOTH=base", "PATH=" + dir.file("bin"), "SHARED=s"});
  req.env = {"BOTH=task", "OWN=o"};
  CHECK(run(set, req).exit_code == 0);
  req.argv = {"/bin/sh", "-c", "echo \"$SHARED $OWN $BOTH\""};
  CHECK(run(set, req).exit_code == 0);
  CHECK(contents(req.log_path) == "hello world\nhello world\nhello world\ns o task\n");
}

TEST_CASE("spawn: stdin is /dev/null") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  CHECK(run(set, request({"cat"}, dir.file("cat.log"))).exit_code == 0);
  CHECK(contents(dir.file("cat.log")) == "<none>");  // it printed nothing: no log
  CHECK(run(set, request({"readlink", "/proc/self/fd/0"}, dir.file("log"))).exit_code == 0);
  CHECK(contents(dir.file("log")) == "/dev/null\n");
}

TEST_CASE("spawn: with wfo's own stdin closed, the child still gets /dev/null and its output") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  // The pipe's read end then takes descriptor 0 in wfo; the child's 0 must not be it.
  int saved = ::dup(0);
  REQUIRE(saved >= 0);
  ::close(0);
  Exit exit =
      run(set, request({"sh", "-c", "readlink /proc/self/fd/0; echo err >&2"}, dir.file("log")));
  ::dup2(saved, 0);
  ::close(saved);
  CHECK(exit.exit_code == 0);
  CHECK(contents(dir.file("log")) == "/dev/null\nerr\n");
}

TEST_CASE("spawn: the child has only descriptors 0, 1 and 2 (inherited-fds)") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  // Even a descriptor wfo got without close-on-exec stays out of the child.
  int leaky = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaky >= 0);
  Exit exit = run(set, request({"ls", "/proc/self/fd"}, dir.file("log")));
  ::close(leaky);
  CHECK(exit.exit_code == 0);
  CHECK(contents(dir.file("log")) == "0\n1\n2\n3\n");  // 3: ls's own handle on the directory
}

TEST_CASE("spawn: the child leads its own group, with an empty mask and default signals") {
  SignalGuard guard;  // blocks four signals and ignores SIGPIPE in wfo
  TempDir dir;
  ProcessSet set;
  // The spawned program itself reads /proc/self: a shell would show its own mask changes.
  wfo::Result<pid_t> pid =
      set.spawn(request({"cut", "-d ", "-f5", "/proc/self/stat"}, dir.file("stat")));
  REQUIRE(pid.has_value());
  CHECK(wait_for(set, *pid).exit_code == 0);
  CHECK(contents(dir.file("stat")) == std::to_string(*pid) + "\n");

  SpawnRequest req =
      request({"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"}, dir.file("status"));
  CHECK(run(set, req).exit_code == 0);
  std::string status = contents(req.log_path);
  CHECK(status.find("SigBlk:\t0000000000000000\n") != std::string::npos);
  // None ignored, SIGPIPE included, nor glibc's two internal real-time signals (32, 33),
  // which its posix_spawn left ignored in every child (python's os.posix_spawn still does).
  CHECK(status.find("SigIgn:\t0000000000000000\n") != std::string::npos);
}

TEST_CASE("spawn: arguments too long for execve say which, and how long") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  // MAX_ARG_STRLEN: a string with its NUL (an environment entry with its NAME=) of 32 pages.
  const size_t limit = 32 * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto refusal = [&](const SpawnRequest& req) {
    wfo::Result<pid_t> pid = set.spawn(req);
    REQUIRE_FALSE(pid.has_value());
    return pid.error().message;
  };
  const std::string way_out = " there; pass a large value in a file";
  CHECK(refusal(request({"/bin/sh", "-c", std::string(limit, 'x')}, dir.file("log"))) ==
        "cannot run '/bin/sh': Argument list too long: the command is " + std::to_string(limit) +
            " bytes, and Linux takes at most " + std::to_string(limit - 1) + way_out);
  // An environment variable: its value gets what NAME= and the NUL leave.
  SpawnRequest with_env = request({"/bin/true"}, dir.file("log"));
  with_env.env = {"BIG=" + std::string(limit - 4, 'v')};
  CHECK(refusal(with_env) ==
        "cannot run '/bin/true': Argument list too long: environment variable BIG is " +
            std::to_string(limit - 4) + " bytes, and Linux takes at most " +
            std::to_string(limit - 5) + way_out);
  with_env.env = {"BIG=" + std::string(limit - 5, 'v')};  // the most it takes
  wfo::Result<pid_t> pid = set.spawn(with_env);
  REQUIRE(pid.has_value());
  CHECK(wait_for(set, *pid).exit_code == 0);
  // Many arguments, each within the limit, together over ARG_MAX (a quarter of the stack's
  // limit; not tried when that is unlimited).
  auto arg_max = static_cast<size_t>(::sysconf(_SC_ARG_MAX));
  if (arg_max > (64u << 20)) return;
  std::vector<std::string> argv{"/bin/true"};
  while (argv.size() * (limit / 2) < arg_max + limit) argv.push_back(std::string(limit / 2, 'y'));
  size_t total = 0;
  for (const auto& s : argv) total += s.size() + 1 + sizeof(char*);
  total += std::string("PATH=/usr/bin:/bin").size() + 1 + sizeof(char*);
  CHECK(refusal(request(argv, dir.file("log"))) ==
        "cannot run '/bin/true': Argument list too long: the arguments and environment take " +
            std::to_string(total) +
            " bytes (with a pointer to each), over the system's limit "
            "of " +
            std::to_string(arg_max) + "; pass large values in files");
  CHECK(set.size() == 0);
}

TEST_CASE("spawn: a missing program is an io error naming it") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  wfo::Result<pid_t> pid = set.spawn(request({"wfo-no-such-program"}, dir.file("log")));
  REQUIRE_FALSE(pid.has_value());
  CHECK(pid.error().kind == wfo::ErrorKind::io);
  CHECK(pid.error().message == "cannot run 'wfo-no-such-program': No such file or directory");

  pid = set.spawn(request({"/nonexistent/prog", "x"}, dir.file("log")));
  REQUIRE_FALSE(pid.has_value());
  CHECK(pid.error().message == "cannot run '/nonexistent/prog': No such file or directory");
  CHECK(set.size() == 0);
}

TEST_CASE("spawn: a log that cannot be opened is reported with the exit, naming it") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  std::string log = dir.file("missing/log");
  // Nothing printed: no log file is needed, so none is missed.
  Exit quiet = run(set, request({"true"}, log));
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.log_error.empty());
  // Output that cannot be written is drained all the same: the task never blocks on it.
  Exit loud = run(set, request({"sh", "-c", "head -c 1000000 /dev/zero; echo done >&2"}, log));
  CHECK(loud.exit_code == 0);
  CHECK(loud.log_error == "cannot open log file '" + log + "': No such file or directory");
  CHECK_FALSE(fs::exists(log));
}

TEST_CASE("spawn: a task that prints nothing leaves no log file") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  SpawnRequest req = request({"sh", "-c", "exit 3"}, dir.file("log"));
  CHECK(run(set, req).exit_code == 3);
  CHECK_FALSE(fs::exists(req.log_path));
}

TEST_CASE("spawn: secrets are masked before the log is written, even cut across writes") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  auto masker = std::make_shared<wfo::Masker>();
  masker->add({"hunter2-secret"});
  SpawnRequest req = request({"sh", "-c",
                              "printf 'a hunter2-'; sleep 0.05; printf 'secret b\\n';"
                              "echo hunter2-secrethunter2-secret >&2; printf hunter2-sec"},
                             dir.file("log"));
  req.mask = masker;
  CHECK(run(set, req).exit_code == 0);
  CHECK(contents(req.log_path) == "a *** b\n******\nhunter2-sec");
}

TEST_CASE("spawn: the whole output is in the log when the exit is reported, then the pipe closes") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  // 300 KiB: more than a pipe holds, written by a grandchild in the group (done before the
  // leader exits) and by the leader itself.
  SpawnRequest req = request({"sh", "-c",
                              "(head -c 200000 /dev/zero | tr '\\0' a) & wait;"
                              "head -c 100000 /dev/zero | tr '\\0' b"},
                             dir.file("log"));
  CHECK(run(set, req).exit_code == 0);
  std::string log = contents(req.log_path);
  CHECK(log.size() == 300000);
  CHECK(log.find('b') == 200000);
}

TEST_CASE("spawn: a workdir that cannot be used is an io error naming it") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  SpawnRequest req = request({"true"}, dir.file("log"));
  req.workdir = dir.file("missing");
  wfo::Result<pid_t> pid = set.spawn(req);
  REQUIRE_FALSE(pid.has_value());
  CHECK(pid.error().message ==
        "cannot run 'true' in '" + req.workdir + "': No such file or directory");
  CHECK(set.size() == 0);
}

TEST_CASE("spawn: rusage of a child that burns CPU") {
  SignalGuard guard;
  TempDir dir;
  ProcessSet set;
  std::string burn = "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done";
  Exit exit = run(set, request({"sh", "-c", burn}, dir.file("log")));
  CHECK(exit.exit_code == 0);
  CHECK(exit.usage.user + exit.usage.system > 20ms);
  CHECK(exit.usage.user > 0us);
  CHECK(exit.usage.max_rss_kb > 0);
}
