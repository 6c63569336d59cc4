// What happens after the drive loop: compensations (saga) when a run fails, and the run's
// hooks. Both run one process at a time through the same Launcher as attempts, so they are
// process groups that a timeout or a kill reaches like any attempt.
//
// Compensations run in reverse order of completion, for every succeeded task that has
// `compensate` and has not been compensated since its success; each is recorded as an
// attempt (kind compensate) of its task. A failing compensation is recorded and the others
// still run. A hook's failure is recorded as an event and never changes the run's result.
#include <algorithm>
#include <filesystem>

#include "engine/engine_impl.hpp"
#include "engine/flow.hpp"
#include "util/strings.hpp"

namespace wfo {

std::vector<std::string> Engine::Impl::env_lines(
    const std::map<std::string, std::string>& overlay) {
  std::vector<std::string> out;
  out.reserve(overlay.size());
  for (const auto& [name, value] : overlay) {
    std::string& s = out.emplace_back();
    s.reserve(name.size() + 1 + value.size());
    s.append(name).append(1, '=').append(value);
  }
  return out;
}

std::vector<std::string> Engine::Impl::make_env(
    const std::map<std::string, std::string>& extra) const {
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : plan.workflow->env) env[k] = v.text;
  for (const auto& [k, v] : extra) env[k] = v;
  for (const auto& [name, value] : options.secrets) env["WFO_SECRET_" + env_name(name)] = value;
  return env_lines(env);
}

Result<Launcher::Ended> Engine::Impl::run_to_end(const LaunchRequest& request) {
  // Hooks and compensations act on the whole run: every success before them is durable.
  if (auto ok = await_ticket(last_end_ticket); !ok) return std::unexpected(ok.error());
  auto started = launcher.start(request);
  if (!started) return std::unexpected(started.error());
  for (;;) {
    notify();
    Launcher::Events events = launcher.wait(clock.steady_now() + std::chrono::seconds(1));
    // A signal stops this process too. A hook's run has its outcome recorded already; a
    // compensation's is recorded interrupted, and the run with it (compensate()).
    if (events.signal) {
      finale_interrupted = true;
      launcher.cancel(started->token, options.kill_grace);
    }
    for (const auto& e : events.ended)
      if (e.token == started->token) return e;
  }
}

Result<std::string> Engine::Impl::compensate() {
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < tasks.size(); ++i) {
    // A for_each collector shares its task's `compensate` with its instances, which did the
    // work; run for the collector, it would undo with an empty `item` (rm -rf "out/").
    bool collector = plan.flow && plan.flow->nodes[i].role == NodeRole::foreach_collector;
    if (tasks[i].status == TaskStatus::succeeded && plan.tasks[i].compensate &&
        !tasks[i].compensated && !collector)
      order.push_back(i);
  }
  if (order.empty()) return std::string();
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return tasks[a].finish_seq > tasks[b].finish_seq; });
  if (!run_dir_ready) {
    std::error_code ec;
    std::filesystem::create_directories(run_dir, ec);
    run_dir_ready = true;
  }
  int failures = 0;
  for (uint32_t i : order) {
    TaskRun& t = tasks[i];
    int number = ++t.attempts;
    AttemptRecord a;
    a.task_id = id(i);
    a.number = number;
    a.kind = AttemptKind::compensate;
    a.started_at = clock.system_now();
    a.log_path = file_stem(i, number) + ".log";
    auto request = build_request(i, number, AttemptKind::compensate);
    Result<Launcher::Ended> ended =
        request ? run_to_end(*request) : std::unexpected(request.error());
    release_output_file(i);  // a compensation's outputs are not read
    a.ended_at = clock.system_now();
    if (ended) {
      a.exit_code = ended->signal ? std::nullopt : std::optional<int>(ended->exit_code);
      a.signal = ended->signal;
      a.usage = ended->usage;
    }
    bool ok = ended && ended->signal == 0 && ended->exit_code == 0;
    if (finale_interrupted && !ok) {
      // Cut short: neither done nor failed. The task is not compensated yet; the resume of
      // the interrupted run compensates it (and those after it in this order).
      a.status = AttemptStatus::interrupted;
      a.reason = "wfo was interrupted";
      Transition tr;
      tr.attempts.push_back(a);
      tr.events.push_back(event("attempt_interrupted", i, a.reason, number));
      if (auto c = commit(std::move(tr)); !c) return std::unexpected(c.error());
      return std::string("compensation interrupted");
    }
    a.status = ok ? AttemptStatus::succeeded : AttemptStatus::failed;
    a.reason = !ended ? ended.error().message
               : ok   ? ""
                      : describe_exit(ended->exit_code, ended->signal);
    if (!ok) ++failures;
    t.compensated = true;
    Transition tr;
    tr.attempts.push_back(a);
    tr.events.push_back(
        event(ok ? "compensation_succeeded" : "compensation_failed", i, a.reason, number));
    if (auto c = commit(std::move(tr)); !c) return std::unexpected(c.error());
    if (finale_interrupted) return std::string("compensation interrupted");
  }
  size_t n = order.size();
  if (failures == 0) return "compensated " + std::to_string(n) + (n == 1 ? " task" : " tasks");
  return "partly compensated: " + std::to_string(failures) + " of " + std::to_string(n) +
         " compensations failed";
}

std::vector<std::pair<std::string, std::string>> Engine::Impl::waiting_gate_env() const {
  for (const auto& [task, gate] : gates) {
    if (gate.status != GateStatus::waiting) continue;
    std::string approve =
        "wfo approve " + run.id + " --task " + shell_quote(task) + options.state_arg;
    return {{"WFO_GATE_TASK", task},
            {"WFO_GATE_MESSAGE", gate.message},
            {"WFO_APPROVE_COMMAND", approve}};
  }
  return {};
}

void Engine::Impl::run_hook(const std::optional<CompiledTemplate>& hook, const std::string& name,
                            const std::vector<std::pair<std::string, std::string>>& extra_env) {
  if (!hook) return;
  std::vector<std::string> failed;
  for (uint32_t i = 0; i < tasks.size(); ++i)
    if (tasks[i].status == TaskStatus::failed) failed.push_back(id(i));
  std::map<std::string, std::string> env = {{"WFO_RUN_ID", run.id},
                                            {"WFO_RUN_STATUS", std::string(to_string(run.status))},
                                            {"WFO_FAILED_TASKS", join(failed, ",")},
                                            {"WFO_LOG_DIR", run_dir},
                                            {"WFO_WORKFLOW", options.workflow_file},
                                            {"WFO_HOOK", name}};
  if (!options.state_db.empty()) env["WFO_STATE"] = options.state_db;
  for (const auto& [k, v] : extra_env) env[k] = v;
  // The tasks a hook reads (recorded by the plan with those of the root's `outputs:`), as a
  // task reads its needs: status, exit_code, outputs (matrix and for_each groups gathered).
  nlohmann::json ctx = {{"params", run.params},
                        {"run", {{"id", run.id}}},
                        {"tasks", tasks_view(0, plan.flow->scopes[0].output_reads, k_no_node)}};
  int next_expr = 1;
  auto script = hook->parsed.render_shell(ctx, expr::StatusFlags{}, &next_expr);
  std::string detail;
  bool ok = false;
  if (!script) {
    detail = script.error().message;
  } else {
    for (auto& [k, v] : script->env) env[k] = v;
    std::error_code ec;
    std::filesystem::create_directories(run_dir, ec);
    run_dir_ready = true;
    LaunchRequest req;
    req.argv = {"/bin/sh", "-c", script->script};
    req.env = make_env(env);
    req.base_env = base_env;
    req.workdir = plan.workflow->source_dir;
    req.log_path = run_dir + "/hook-" + name + ".log";
    req.mask = redactor.masker();
    auto ended = run_to_end(req);
    ok = ended && ended->signal == 0 && ended->exit_code == 0;
    detail = !ended ? ended.error().message : describe_exit(ended->exit_code, ended->signal);
  }
  Transition t;
  t.events.push_back(Event{clock.system_now(), "", 0, ok ? "hook_succeeded" : "hook_failed",
                           name + ": " + detail});
  (void)commit(std::move(t));  // a hook never changes the run's result, even unrecorded
}

void Engine::Impl::run_end_hooks() {
  switch (run.status) {
    case RunStatus::succeeded:
      run_hook(plan.hook_on_success, "on_success", {});
      break;
    case RunStatus::failed:
      run_hook(plan.hook_on_failure, "on_failure", {});
      break;
    case RunStatus::cancelled:
      run_hook(plan.hook_on_cancel, "on_cancel", {});
      break;
    case RunStatus::waiting_approval:
      if (!parked_waiting) run_hook(plan.hook_on_waiting, "on_waiting", waiting_gate_env());
      break;
    default:
      break;
  }
  run_hook(plan.hook_on_exit, "on_exit", {});
}

}  // namespace wfo
