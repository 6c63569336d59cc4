// `wfo __complete WHAT [ARGS]`: words for the shell completions in completions/, read from the
// state database, one per line. Hidden from --help. It never prints an error and always exits
// 0: a completion must not spill messages into the user's command line.
//
//   wfo __complete runs [STATUS...]   run ids, newest first (only those STATUSes when given)
//   wfo __complete tasks ID           the task ids of run ID, in workflow order
//   wfo __complete gates ID           the tasks of run ID whose gate waits for a person's
//                                     decision (not past its deadline: a timeout decides it)
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "engine/gates.hpp"

namespace wfo::cli {
namespace {

constexpr int k_max_runs = 200;

void print_lines(const std::vector<std::string>& words) {
  for (const auto& w : words) std::printf("%s\n", w.c_str());
}

void runs(SqliteRunStore& store, const std::vector<std::string>& statuses) {
  auto list = store.list_runs(std::nullopt, k_max_runs);
  if (!list) return;
  std::vector<std::string> ids;
  for (const auto& r : *list) {
    bool wanted = statuses.empty();
    for (const auto& s : statuses) wanted = wanted || s == to_string(r.status);
    if (wanted) ids.push_back(r.id);
  }
  print_lines(ids);
}

void tasks(SqliteRunStore& store, const std::string& run_id, bool only_waiting_gates) {
  auto snapshot = store.load_run(run_id);
  if (!snapshot) return;
  std::vector<std::string> ids;
  if (only_waiting_gates) {
    SystemTime now = system_now();
    for (const auto& g : snapshot->gates)
      if (g.status == GateStatus::waiting && !gate_due(g, now)) ids.push_back(g.task_id);
  } else {
    for (const auto& t : snapshot->tasks) ids.push_back(t.id);
  }
  print_lines(ids);
}

int complete(const GlobalOptions& g, const std::string& what,
             const std::vector<std::string>& args) {
  auto store = open_store(g, false);
  if (!store) return k_exit_succeeded;
  if (what == "runs")
    runs(**store, args);
  else if ((what == "tasks" || what == "gates") && !args.empty())
    tasks(**store, args[0], what == "gates");
  std::fflush(stdout);
  return k_exit_succeeded;
}

}  // namespace

void register_complete(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto what = std::make_shared<std::string>();
  auto args = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("__complete", "Words for shell completions");
  cmd->group("");  // hidden
  cmd->add_option("what", *what, "runs, tasks or gates")->required();
  cmd->add_option("args", *args, "a status filter, or a run id");
  cmd->callback([&g, what, args, exit_code] { *exit_code = complete(g, *what, *args); });
}

}  // namespace wfo::cli
