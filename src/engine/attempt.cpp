// Preparing attempts: the command rendered (expressions reach a shell only through
// environment variables, spec: Expressions), the environment, the per-attempt files, and
// the launch with its commit. Also opening gates, whose message is rendered the same way.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <unordered_map>

#include "engine/engine_impl.hpp"
#include "util/file.hpp"
#include "util/json_text.hpp"
#include "util/strings.hpp"

namespace wfo {

std::string read_tail(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  std::string out;
  if (::fstat(fd, &st) == 0) {
    off_t start =
        st.st_size > static_cast<off_t>(max_bytes) ? st.st_size - static_cast<off_t>(max_bytes) : 0;
    out.resize(static_cast<size_t>(st.st_size - start));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n =
          ::pread(fd, out.data() + done, out.size() - done, start + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    out.resize(done);
  }
  ::close(fd);
  return out;
}

std::string attempt_file_stem(const std::string& run_dir, const std::string& task_id,
                              int attempt_number) {
  // Task ids are [A-Za-z0-9_-] but matrix instances add `[k=v]`: keep file names plain.
  std::string stem;
  for (char c : task_id)
    stem += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  // Ids that lost characters (`test[v=1.2]`, `test[v=1_2]`, `deploy/x`) could meet: a hash of
  // the whole id (FNV-1a, stable across builds) keeps their files apart.
  if (stem != task_id) {
    uint32_t h = 2166136261u;
    for (char c : task_id) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", h);
    stem += "-" + std::string(hex);
  }
  return run_dir + "/" + stem + "." + std::to_string(attempt_number);
}

std::string Engine::Impl::file_stem(uint32_t i, int attempt_number) const {
  return attempt_file_stem(run_dir, id(i), attempt_number);
}

Result<void> Engine::Impl::take_output_file(uint32_t i) {
  TaskRun& t = tasks[i];
  bool known_empty = false;
  if (t.output_slot < 0) {
    auto free = std::find_if(output_slots.begin(), output_slots.end(), [](OutputSlot s) {
      return s == OutputSlot::free || s == OutputSlot::free_empty;
    });
    t.output_slot = static_cast<int>(free - output_slots.begin());
    if (free == output_slots.end()) output_slots.push_back(OutputSlot::free);
    OutputSlot& slot = output_slots[static_cast<size_t>(t.output_slot)];
    known_empty = slot == OutputSlot::free_empty;
    slot = OutputSlot::held;
  }
  t.output_path = run_dir + "/output-slot-" + std::to_string(t.output_slot);
  if (known_empty) return {};  // read back empty when its last attempt ended: no reset
  return reset_empty_file(t.output_path);
}

void Engine::Impl::release_output_file(uint32_t i) {
  TaskRun& t = tasks[i];
  if (t.output_slot < 0) return;
  OutputSlot& slot = output_slots[static_cast<size_t>(t.output_slot)];
  slot = slot == OutputSlot::held_empty ? OutputSlot::free_empty : OutputSlot::free;
  t.output_slot = -1;
}

std::string Engine::Impl::read_output_file(uint32_t i) {
  TaskRun& t = tasks[i];
  struct stat st {};
  if (t.output_slot >= 0 && ::lstat(t.output_path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_nlink == 1 && st.st_size == 0) {
    output_slots[static_cast<size_t>(t.output_slot)] = OutputSlot::held_empty;
    return {};
  }
  return read_tail(t.output_path, 64 << 20);
}

expr::StatusFlags Engine::Impl::flags_for(uint32_t i) const {
  expr::StatusFlags flags;
  // A run's timeout stops it as a cancel does: cancelled() is true after either
  // (wfo-workflow(5), CONDITIONS; the spec names cancelled() without saying).
  flags.cancelled = stop == StopMode::cancel || stop == StopMode::run_timeout;
  for (uint32_t n : plan.dag.needs(i)) {
    // A need kept by a resume reads as what the tasks before it that ran again made of it.
    TaskStatus status = need_view(n).status;
    bool ok = status == TaskStatus::succeeded ||
              (status == TaskStatus::failed && plan.tasks[n].spec->continue_on_error);
    if (!ok) flags.success = false;
    if (status == TaskStatus::failed && !plan.tasks[n].spec->continue_on_error)
      flags.failure = true;
  }
  if (flags.cancelled) flags.success = false;
  return flags;
}

nlohmann::json Engine::Impl::context_for(uint32_t i) const {
  nlohmann::json ctx = {{"run", {{"id", run.id}}}};
  // params, env and tasks by name in the task's scope, as much as its templates read;
  // matrix, item (flow_context.cpp)
  flow_context(i, ctx);
  return ctx;
}

Result<LaunchRequest> Engine::Impl::build_request(uint32_t i, int attempt_number,
                                                  AttemptKind kind) {
  const CompiledTask& task = plan.tasks[i];
  TaskRun& t = tasks[i];
  // The expression context is built only for a template that has an expression: most are
  // literal text (`run: make test`), which renders without it. It holds `inputs` once the
  // agent's inputs are known, as it always has.
  std::optional<nlohmann::json> built;
  nlohmann::json inputs = nlohmann::json::object();
  bool inputs_known = false;
  static const nlohmann::json k_unused;
  auto ctx = [&](const CompiledTemplate& tmpl) -> const nlohmann::json& {
    if (tmpl.parsed.is_literal()) return k_unused;
    if (!built) {
      built = context_for(i);
      if (inputs_known) (*built)["inputs"] = inputs;
    }
    return *built;
  };
  expr::StatusFlags flags = flags_for(i);
  std::map<std::string, std::string> env;  // set over wfo's own (env_lines)
  auto set_env = [&](const std::string& key, const CompiledTemplate& value) -> Result<void> {
    auto v = value.parsed.render(ctx(value), flags);
    if (!v) return std::unexpected(v.error());
    env[key] = *v;
    return {};
  };
  // The file's names first, each with the agent's or the task's value where they set it,
  // then theirs that the file does not set: the order of layering (the first error wins).
  // A fallback to an agent has that agent's env under the task's, not the task's agent's.
  const CompiledTemplateMap& task_env =
      kind == AttemptKind::fallback && task.fallback_agent ? task.fallback_env : task.env;
  if (!task.file_env.empty()) {
    std::unordered_map<std::string_view, const CompiledTemplate*> own;
    own.reserve(task_env.size());
    for (const auto& [key, value] : task_env) own.emplace(key, &value);
    for (const auto& [key, value] : task.file_env) {
      auto it = own.find(key);
      if (auto ok = set_env(key, it != own.end() ? *it->second : value); !ok)
        return std::unexpected(ok.error());
    }
  }
  for (const auto& [key, value] : task_env)
    if (!env.contains(key))
      if (auto ok = set_env(key, value); !ok) return std::unexpected(ok.error());
  // What runs: the task's own command, its fallback, or its compensation.
  const AgentSpec* agent = kind == AttemptKind::fallback ? task.fallback_agent : task.agent;
  const CompiledTemplateMap& with = kind == AttemptKind::fallback ? task.fallback_with : task.with;
  const SharedVector<CompiledTemplate>& command =
      kind == AttemptKind::fallback ? task.fallback_command : task.command;
  const CompiledTemplate* shell_command =
      kind == AttemptKind::fallback     ? (task.fallback_run ? &*task.fallback_run : nullptr)
      : kind == AttemptKind::compensate ? (task.compensate ? &*task.compensate : nullptr)
                                        : (task.run ? &*task.run : nullptr);
  if (kind == AttemptKind::compensate) agent = nullptr;
  if (agent) {
    for (const auto& [key, value] : with) {
      auto v = value.parsed.render(ctx(value), flags);
      if (!v) return std::unexpected(v.error());
      inputs[key] = *v;
      env["WFO_INPUT_" + env_name(key)] = *v;
    }
  }
  inputs_known = true;
  if (built) (*built)["inputs"] = inputs;
  std::string stem = file_stem(i, attempt_number);
  if (auto ok = take_output_file(i); !ok) return std::unexpected(ok.error());
  if (agent) {
    std::string inputs_path = stem + ".inputs.json";
    if (auto ok = write_file_atomic(inputs_path, json_text(inputs)); !ok)
      return std::unexpected(ok.error());
    env["WFO_INPUTS"] = inputs_path;
  }
  LaunchRequest req;
  int next_expr = 1;
  auto shell = [&](const CompiledTemplate& tmpl) -> Result<void> {
    auto r = tmpl.parsed.render_shell(ctx(tmpl), flags, &next_expr);
    if (!r) return std::unexpected(r.error());
    for (auto& [k, v] : r->env) env[k] = v;
    req.argv = {"/bin/sh", "-c", r->script};
    return {};
  };
  if (shell_command && (!agent || kind == AttemptKind::compensate)) {
    if (auto ok = shell(*shell_command); !ok) return std::unexpected(ok.error());
  } else if (agent && agent->command.form == CommandSpec::Form::shell && !command.empty()) {
    if (auto ok = shell(command[0]); !ok) return std::unexpected(ok.error());
  } else {
    for (const auto& part : command) {
      auto v = part.parsed.render(ctx(part), flags);
      if (!v) return std::unexpected(v.error());
      req.argv.push_back(*v);
    }
  }
  if (req.argv.empty())
    return fail(ErrorKind::internal, "task '" + id(i) + "' has no command to run");
  env["WFO_RUN_ID"] = run.id;
  if (!options.state_db.empty()) env["WFO_STATE"] = options.state_db;
  env["WFO_TASK_ID"] = id(i);
  env["WFO_ATTEMPT"] = std::to_string(attempt_number);
  env["WFO_WORKFLOW"] = options.workflow_file;
  env["WFO_IDEMPOTENCY_KEY"] = run.id + "/" + id(i);
  env["WFO_OUTPUT"] = t.output_path;
  for (const auto& [name, value] : options.secrets) env["WFO_SECRET_" + env_name(name)] = value;
  req.env = env_lines(env);
  req.base_env = base_env;
  const AttemptPlace& place = task.place_of(kind == AttemptKind::fallback);
  if (place.workdir) req.workdir = *place.workdir;
  req.log_path = stem + ".log";
  req.mask = redactor.masker();
  return req;
}

// Records an attempt that failed before anything ran (the command could not start, or the
// agent's circuit is open), then lets the retry policy decide as for any failure.
Result<void> Engine::Impl::fail_without_running(uint32_t i, std::string reason) {
  release_output_file(i);
  TaskRun& t = tasks[i];
  AttemptRecord& a = *t.attempt;
  // It took no place in its agent's pool: the place it may have been given (a requeue when
  // one freed) goes to the next task waiting there, else that one waits for ever.
  if (const AgentSpec* pool = plan.tasks[i].pool_agent(a.kind == AttemptKind::fallback);
      pool && pool->max_parallel)
    requeue_agent(pool->name, false);
  a.ended_at = a.started_at;
  t.status = TaskStatus::running;
  Transition tr;
  tr.tasks.push_back(task_record(i));
  tr.attempts.push_back(a);
  if (auto ok = commit(std::move(tr)); !ok) return ok;
  return finish_attempt_failed(i, AttemptStatus::failed, std::move(reason), "");
}

Result<void> Engine::Impl::launch(uint32_t i) {
  TaskRun& t = tasks[i];
  const CompiledTask& task = plan.tasks[i];
  if (!run_dir_ready) {
    std::error_code ec;
    std::filesystem::create_directories(run_dir, ec);
    run_dir_ready = true;
  }
  std::string open_reason;
  BreakerVerdict verdict =
      t.next_kind == AttemptKind::main ? breaker_verdict(i, &open_reason) : BreakerVerdict::run;
  if (verdict == BreakerVerdict::defer) {
    agent_waiting[task.agent->name].push_back(i);  // after the breaker's trial attempt
    return {};
  }
  int number = t.attempts + 1;
  t.attempts = number;
  AttemptRecord& a = t.attempt.emplace();
  a.task_id = id(i);
  a.number = number;
  a.kind = t.next_kind;
  a.started_at = clock.system_now();
  a.delay_ms = t.next_delay_ms;
  a.delay_reason = t.next_delay_reason;
  t.next_delay_ms = 0;
  t.next_delay_reason.clear();
  t.retry_at_system.reset();
  t.timed_out = false;
  a.log_path = file_stem(i, number) + ".log";
  if (verdict == BreakerVerdict::fail_open) return fail_without_running(i, open_reason);
  auto request = build_request(i, number, a.kind);
  // Built first, so that in `full` mode the request is made while a need's fsync runs.
  if (auto ok = await_ends(i); !ok) return ok;
  Result<Launcher::Started> started =
      request ? launcher.start(std::move(*request)) : std::unexpected(request.error());
  if (!started) return fail_without_running(i, started.error().message);
  a.handle = started->handle;
  a.pid = started->pid;
  t.running = true;
  t.token = started->token;
  t.started_steady = clock.steady_now();
  t.deadline.reset();
  const bool fallback = a.kind == AttemptKind::fallback;
  const std::optional<std::chrono::milliseconds>& timeout = task.place_of(fallback).timeout;
  if (timeout && timeout->count() > 0) t.deadline = t.started_steady + *timeout;
  running_by_token[t.token] = i;
  if (const AgentSpec* pool = task.pool_agent(fallback); pool && pool->max_parallel)
    ++agent_running[pool->name];
  count_group_attempt(i, 1);
  t.status = TaskStatus::running;
  Transition tr;
  tr.tasks.push_back(task_record(i));
  tr.attempts.push_back(a);
  std::string detail = "attempt " + std::to_string(number);
  if (a.kind == AttemptKind::fallback) detail += ", fallback";
  if (a.delay_ms > 0)
    detail += " after " + std::to_string(a.delay_ms) + "ms (" + a.delay_reason + ")";
  tr.events.push_back(event("task_started", i, detail, number));
  tr.deferrable = true;  // nothing acts on it: it rides with the attempt's end (ports.hpp)
  return commit(std::move(tr));
}

Result<GateRecord> Engine::Impl::open_gate(uint32_t i, const std::string& when) {
  const CompiledTask& task = plan.tasks[i];
  const ApprovalSpec& spec = *task.spec->approval;
  GateRecord g;
  g.task_id = id(i);
  g.when = when;
  g.status = GateStatus::waiting;
  if (task.approval_message) {
    auto m = task.approval_message->parsed.render(context_for(i), flags_for(i));
    if (!m) return std::unexpected(m.error());
    g.message = *m;
  } else {
    g.message = "approve task '" + id(i) + "'?";
  }
  g.approvers = spec.approvers;
  g.min_approvals = spec.min_approvals;
  g.prevent_self_approval = spec.prevent_self_approval;
  g.created_at = clock.system_now();
  if (spec.timeout) g.deadline = g.created_at + *spec.timeout;
  g.on_timeout = spec.on_timeout == GateOnTimeout::approve ? "approve" : "reject";
  for (const GateInputSpec& in : spec.inputs) {
    nlohmann::json j = {{"required", in.required}, {"description", in.description}};
    if (!in.enum_values.empty()) j["enum"] = in.enum_values;
    if (in.pattern) j["pattern"] = in.pattern->source();
    g.inputs_spec[in.name] = j;
  }
  auto prev = gates.find(g.task_id);
  if (prev != gates.end()) g.round = prev->second.round + 1;
  TaskRun& t = tasks[i];
  t.status = TaskStatus::waiting_approval;
  Transition tr;
  tr.gates.push_back(g);
  tr.tasks.push_back(task_record(i));
  tr.events.push_back(event("gate_waiting", i, g.message));
  if (auto ok = commit(std::move(tr)); !ok) return std::unexpected(ok.error());
  track_gate(g);
  return g;
}

}  // namespace wfo
