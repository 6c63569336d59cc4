// `wfo logs ID [TASK] [--attempt N] [-f]`: an attempt's output (default: every task's last
// one); with -f, follows the task's output while the run is driven (follow.hpp).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/follow.hpp"
#include "util/file.hpp"

namespace wfo::cli {
namespace {

struct LogsOptions {
  std::string run_id;
  std::string task;
  std::optional<int> attempt;
  bool follow = false;
};

void copy_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rbe");
  if (!f) return;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) std::fwrite(buf, 1, n, stdout);
  std::fclose(f);
}

int logs(const GlobalOptions& g, const LogsOptions& o) {
  auto store = open_store(g, false);
  if (!store) return report(store.error());
  if (o.follow) {
    if (o.task.empty())
      return report(Error{ErrorKind::usage,
                          "-f follows one task",
                          {},
                          0,
                          0,
                          "name it: wfo logs " + o.run_id + " TASK -f" + state_arg(g)});
    return follow_task_log(**store, state_dir(state_path(g)), o.run_id, o.task, o.attempt);
  }
  auto snapshot = (*store)->load_run(o.run_id);
  if (!snapshot) return report(snapshot.error());
  bool found_task = o.task.empty();
  for (const TaskRecord& t : snapshot->tasks) {
    if (!o.task.empty() && t.id != o.task) continue;
    found_task = true;
    if (t.attempts.empty()) {
      if (o.attempt && !o.task.empty()) return report(no_such_attempt(t, *o.attempt));
      continue;
    }
    const AttemptRecord* chosen = &t.attempts.back();
    if (o.attempt) {
      chosen = nullptr;
      for (const auto& a : t.attempts)
        if (a.number == *o.attempt) chosen = &a;
      if (!chosen) return report(no_such_attempt(t, *o.attempt));
    }
    if (o.task.empty()) std::printf("==> %s (attempt %d) <==\n", t.id.c_str(), chosen->number);
    std::fflush(stdout);
    copy_file(chosen->log_path);
  }
  if (!found_task)
    return report(Error{ErrorKind::usage, "run " + o.run_id + " has no task '" + o.task + "'", {},
                        0, 0, "see its tasks with 'wfo status " + o.run_id + "'"});
  std::fflush(stdout);
  return k_exit_succeeded;
}

}  // namespace

void register_logs(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto o = std::make_shared<LogsOptions>();
  auto* cmd = app.add_subcommand("logs", "Print an attempt's output");
  cmd->add_option("id", o->run_id, "The run's id")->required();
  cmd->add_option("task", o->task, "The task (default: every task that ran)")
      ->check(not_empty("leave the task out for every task that ran"));
  cmd->add_option("--attempt", o->attempt, "The attempt number (default: the last)")
      ->transform(whole_number(1, 1'000'000'000));
  cmd->add_flag("-f,--follow", o->follow, "Follow the task's output until it ends");
  cmd->callback([&g, o, exit_code] { *exit_code = logs(g, *o); });
}

}  // namespace wfo::cli
