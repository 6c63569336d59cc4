#include "cli/drive.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "cli/exit_status.hpp"
#include "cli/progress.hpp"
#include "cli/reports.hpp"
#include "engine/engine.hpp"
#include "engine/local_launcher.hpp"

namespace wfo::cli {
namespace {

class SystemClock final : public Clock {
 public:
  SteadyTime steady_now() override { return std::chrono::steady_clock::now(); }
  SystemTime system_now() override { return wfo::system_now(); }
};

class SystemRandom final : public Random {
 public:
  double uniform() override { return std::uniform_real_distribution<double>(0.0, 1.0)(m_gen); }

 private:
  std::mt19937_64 m_gen{std::random_device{}()};
};

void print_gates(const GlobalOptions& g, const RunSnapshot& s) {
  std::string state = state_arg(g);
  for (const auto& gate : s.gates) {
    if (gate.status != GateStatus::waiting) continue;
    std::fprintf(stderr, "wfo: run %s is waiting for approval of task '%s': %s\n", s.run.id.c_str(),
                 gate.task_id.c_str(), gate.message.c_str());
    if (!gate.approvers.empty()) {
      std::string who;
      for (const auto& a : gate.approvers) who += (who.empty() ? "" : ", ") + a;
      std::fprintf(stderr, "  approvers: %s\n", who.c_str());
    }
    std::fprintf(stderr, "  approve: wfo approve %s --task %s%s\n", s.run.id.c_str(),
                 shell_quote(gate.task_id).c_str(), state.c_str());
    std::fprintf(stderr, "  reject:  wfo reject %s --task %s%s\n", s.run.id.c_str(),
                 shell_quote(gate.task_id).c_str(), state.c_str());
    std::fprintf(stderr, "  then:    wfo resume %s%s\n", s.run.id.c_str(), state.c_str());
  }
}

// The first task whose `before` gate was rejected, when every task that failed the run
// failed that way, else "". A resume fails such a task again (the decision is final), where
// it runs a task again whose `after` or `on_failure` gate was rejected, and asks anew.
std::string rejected_gate(const Plan& plan, const RunSnapshot& s) {
  std::string first;
  GatesByTask gates = gates_by_task(s);
  for (const auto& t : s.tasks) {
    if (t.status != TaskStatus::failed) continue;
    auto i = plan.find(t.id);
    if (i && plan.tasks[*i].spec->continue_on_error) continue;
    auto found = gates.find(t.id);
    if (found == gates.end() || found->second->when != "before" ||
        found->second->status != GateStatus::rejected)
      return "";
    if (first.empty()) first = t.id;
  }
  return first;
}

}  // namespace

int drive_run(const GlobalOptions& g, SqliteRunStore& store, LoadedWorkflow& loaded,
              RunSnapshot snapshot, const DriveRequest& request) {
  const Workflow& wf = *loaded.plan.workflow;
  EngineOptions options;
  options.state_db = state_path(g);
  options.state_dir = state_dir(options.state_db);
  options.max_parallel = snapshot.run.max_parallel;
  if (request.jobs) options.max_parallel = *request.jobs;
  bool full = request.durability == "full" ||
              (request.durability.empty() && wf.durability == Durability::full);
  options.sync = full ? Sync::durable : Sync::normal;
  options.workflow_file = snapshot.run.workflow_file;
  options.user = current_user();
  options.wait_for_gates = request.wait;
  options.resume = request.resume;
  options.secrets = request.secrets;
  options.state_arg = state_arg(g);
  std::string run_id = snapshot.run.id;

  // A checkpoint (every 1,000 WAL pages, about 220 tasks of a chain) waited for two syncs
  // in the commit that crossed the line; the driver leaves them to a thread of their own.
  if (auto ok = store.checkpoint_in_background(); !ok) return report(ok.error());
  SystemClock clock;
  SystemRandom random;
  LocalLauncher launcher(options.state_db);
  auto progress = make_progress({options.state_dir, &snapshot, request.output.verbosity});
  Result<DriveOutcome> outcome = [&] {
    // The engine's per-task state is gone before the final state is loaded: at 10,000
    // tasks, the two together would set the run's peak memory.
    Engine engine(loaded.plan, store, launcher, clock, random, *progress, options);
    return engine.drive(std::move(snapshot));
  }();
  progress->finish();
  if (!outcome) return report(outcome.error());
  // The final state is read back only when something shows it.
  bool needs_state = request.json || wants_reports(request.output) ||
                     *outcome == DriveOutcome::failed || *outcome == DriveOutcome::waiting_approval;
  Result<RunSnapshot> final_state = RunSnapshot{};
  if (needs_state) final_state = store.load_run(run_id);
  if (!final_state) return report(final_state.error());
  write_reports(request.output, loaded.plan, *final_state);  // builds only what is asked for
  if (request.json) print_json(run_json(*final_state, true));
  switch (*outcome) {
    case DriveOutcome::succeeded:
      std::fprintf(stderr, "wfo: run %s succeeded\n", run_id.c_str());
      return k_exit_succeeded;
    case DriveOutcome::failed: {
      std::fprintf(stderr, "wfo: run %s failed: %s\n", run_id.c_str(),
                   final_state->run.reason.c_str());
      std::string rejected = rejected_gate(loaded.plan, *final_state);
      std::string new_run = "start a new run: wfo run " +
                            shell_quote(final_state->run.workflow_file) + options.state_arg;
      if (!rejected.empty())
        std::fprintf(stderr,
                     "  the gate of task '%s' was rejected, and a decision is final: a resume "
                     "fails it again; %s\n",
                     rejected.c_str(), new_run.c_str());
      else if (final_state->run.reason.starts_with("run timed out after "))
        std::fprintf(stderr,
                     "  the run's timeout counts from its start, so a resume stops at once; %s\n",
                     new_run.c_str());
      else
        std::fprintf(stderr, "  inspect: wfo status %s%s; fix, then: wfo resume %s%s\n",
                     run_id.c_str(), options.state_arg.c_str(), run_id.c_str(),
                     options.state_arg.c_str());
      return k_exit_failed;
    }
    case DriveOutcome::waiting_approval:
      print_gates(g, *final_state);
      return k_exit_waiting_approval;
    case DriveOutcome::cancelled:
      std::fprintf(stderr, "wfo: run %s cancelled\n", run_id.c_str());
      return k_exit_cancelled;
    case DriveOutcome::interrupted:
      std::fprintf(stderr, "wfo: run %s interrupted; continue with: wfo resume %s%s\n",
                   run_id.c_str(), run_id.c_str(), options.state_arg.c_str());
      return k_exit_interrupted;
  }
  return k_exit_failed;
}

}  // namespace wfo::cli
