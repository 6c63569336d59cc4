// Following works from the outside, as `tail -f` does: the store says which attempt is the
// task's latest and whether it still runs, the log file grows, and /proc/locks says whether
// a driver is alive (a driver killed with -9 leaves its attempt `running` in the store for
// ever, so the store alone cannot end the wait). SIGINT and friends stay blocked in wfo
// (main.cpp), so the pause between polls is a sigtimedwait that also ends on Ctrl-C.
#include "cli/follow.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "cli/common.hpp"
#include "cli/exit_status.hpp"
#include "cli/log_tail.hpp"

namespace wfo::cli {
namespace {

constexpr long k_poll_ns = 200'000'000;

// The attempt of `t` to follow: number `only`, else the latest that runs the task's command.
const AttemptRecord* pick(const TaskRecord& t, std::optional<int> only) {
  const AttemptRecord* found = nullptr;
  for (const auto& a : t.attempts) {
    if (only ? a.number == *only : a.kind == AttemptKind::main || a.kind == AttemptKind::fallback)
      found = &a;
  }
  return found;
}

// Waits one poll interval; returns the signal that asked wfo to stop, else 0.
int pause_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  struct timespec timeout {
    0, k_poll_ns
  };
  int sig = ::sigtimedwait(&set, nullptr, &timeout);
  return sig > 0 ? sig : 0;
}

// Whether following `t` should go on after copying what `a` wrote so far.
bool keep_following(const TaskRecord& t, const AttemptRecord* a, std::optional<int> only,
                    const std::string& state_dir, const std::string& run_id) {
  bool running = a && a->status == AttemptStatus::running;
  if (!running && only && a) return false;  // the attempt asked for has ended
  bool task_goes_on = !is_final(t.status) && t.status != TaskStatus::waiting_approval;
  if (!running && !task_goes_on) return false;
  return run_is_driven(state_dir, run_id);
}

}  // namespace

bool run_is_driven(const std::string& state_dir, const std::string& run_id) {
  struct stat st {};
  if (::stat((state_dir + "/runs/" + run_id + ".lock").c_str(), &st) != 0) return false;
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    // `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`; waiters carry `->` after the number.
    std::istringstream in(line);
    std::string number, type, mode, access, pid, device;
    in >> number >> type;
    if (type == "->") in >> type;
    in >> mode >> access >> pid >> device;
    unsigned major = 0, minor = 0;
    unsigned long inode = 0;
    if (type != "FLOCK" || std::sscanf(device.c_str(), "%x:%x:%lu", &major, &minor, &inode) != 3)
      continue;
    if (inode == st.st_ino && makedev(major, minor) == st.st_dev) return true;
  }
  return false;
}

void show_abandoned(RunRecord& r, const std::string& state_dir) {
  if (r.status != RunStatus::running || run_is_driven(state_dir, r.id)) return;
  r.status = RunStatus::interrupted;
  if (r.reason.empty()) r.reason = "its driver stopped";
}

Error no_such_attempt(const TaskRecord& t, int number) {
  return Error{ErrorKind::usage,
               "task '" + t.id + "' has no attempt " + std::to_string(number),
               {},
               0,
               0,
               "it has " + std::to_string(t.attempts.size()) + " attempt(s)"};
}

int follow_task_log(SqliteRunStore& store, const std::string& state_dir, const std::string& run_id,
                    const std::string& task, std::optional<int> only_attempt) {
  std::optional<LogFollower> follower;
  int current = 0;
  for (;;) {
    auto snapshot = store.load_run(run_id);
    if (!snapshot) return report(snapshot.error());
    const TaskRecord* t = nullptr;
    for (const auto& rec : snapshot->tasks)
      if (rec.id == task) t = &rec;
    if (!t)
      return report(Error{ErrorKind::usage,
                          "run " + run_id + " has no task '" + task + "'",
                          {},
                          0,
                          0,
                          "see its tasks with 'wfo status " + run_id + "'"});
    const AttemptRecord* a = pick(*t, only_attempt);
    if (a && a->number != current) {
      if (follower) follower->copy_to_stdout();  // the end of the previous attempt
      if (current != 0)
        std::fprintf(stderr, "wfo: attempt %d of task '%s' started\n", a->number, task.c_str());
      follower.emplace(a->log_path);
      current = a->number;
    }
    if (follower) follower->copy_to_stdout();
    if (!keep_following(*t, a, only_attempt, state_dir, run_id)) {
      if (!a && only_attempt) return report(no_such_attempt(*t, *only_attempt));
      if (follower) follower->copy_to_stdout();
      return k_exit_succeeded;
    }
    if (pause_for_signal()) return k_exit_interrupted;
  }
}

}  // namespace wfo::cli
