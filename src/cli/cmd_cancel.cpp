// `wfo cancel ID`: stops a run. A driven run is asked through the database (its driver
// notices within a second and terminates its attempts); a parked run is cancelled here.
// Asked again while the driver runs the tasks whose `if` holds after a cancel (always(),
// cancelled()), it stops those too, as GitHub's force cancel does.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "engine/local_launcher.hpp"

namespace wfo::cli {
namespace {

int cancel(const GlobalOptions& g, const std::string& run_id) {
  auto store = open_store(g, false);
  if (!store) return report(store.error());
  auto record = (*store)->load_run_record(run_id);
  if (!record) return report(record.error());
  if (record->status == RunStatus::succeeded || record->status == RunStatus::cancelled)
    return report(Error{ErrorKind::usage,
                        "run " + run_id + " has already " + std::string(to_string(record->status)),
                        {},
                        0,
                        0,
                        {}});
  if (auto ok = (*store)->request_cancel(run_id); !ok) return report(ok.error());
  auto lock = DriverLock::acquire(g, run_id);
  if (!lock) {
    if (record->cancel_requested > 0)
      std::fprintf(stderr,
                   "wfo: asked the driver of run %s again: the tasks that run after a cancel "
                   "(always(), cancelled()) are stopped too\n",
                   run_id.c_str());
    else
      std::fprintf(stderr, "wfo: asked the driver of run %s to cancel it\n", run_id.c_str());
    return k_exit_succeeded;
  }
  // Nobody drives it: cancel it here, as a driver would, in one commit. Attempts that a dead
  // driver left running are stopped first (spec: running attempts are terminated).
  auto snapshot = (*store)->load_run(run_id);
  if (!snapshot) return report(snapshot.error());
  Transition t;
  SystemTime now = system_now();
  std::vector<std::string> handles;
  for (const TaskRecord& task : snapshot->tasks)
    for (AttemptRecord a : task.attempts)
      if (a.status == AttemptStatus::running) {
        handles.push_back(a.handle);
        a.status = AttemptStatus::cancelled;
        a.reason = "run cancelled";
        a.ended_at = now;
        t.attempts.push_back(a);
      }
  LocalLauncher(state_path(g)).recover(run_id, handles);
  RunRecord run = snapshot->run;
  run.status = RunStatus::cancelled;
  run.reason = "cancelled by " + current_user();
  run.ended_at = now;
  t.run = run;
  for (TaskRecord task : snapshot->tasks) {
    if (is_final(task.status)) continue;
    task.status = TaskStatus::cancelled;
    task.reason = run.reason;
    task.ended_at = now;
    t.tasks.push_back(task);
  }
  t.events.push_back(Event{now, "", 0, "run_cancelled", run.reason});
  t.sync = Sync::durable;
  if (auto ok = (*store)->commit(run_id, t); !ok) return report(ok.error());
  std::fprintf(stderr, "wfo: run %s cancelled\n", run_id.c_str());
  return k_exit_succeeded;
}

}  // namespace

void register_cancel(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto run_id = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("cancel", "Stop a run; running attempts are terminated");
  cmd->add_option("id", *run_id, "The run's id")->required();
  cmd->callback([&g, run_id, exit_code] { *exit_code = cancel(g, *run_id); });
}

}  // namespace wfo::cli
