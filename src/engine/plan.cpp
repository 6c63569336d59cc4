// compile() parses every template of the workflow exactly once and checks what the loader
// cannot: the DAG's acyclicity and what expressions refer to. After it succeeds the engine
// never meets a syntax error, only evaluation errors (e.g. fromJSON of bad text).
#include "engine/plan.hpp"

#include <filesystem>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "engine/flow.hpp"

#include "util/strings.hpp"

namespace wfo {
namespace {

/// Compiled maps and agent commands, each shared by the tasks whose source is the same: maps
/// keyed by where their source maps are kept (SharedVector::identity(): the base's, the
/// task's own), commands by their agent.
struct SharedTemplates {
  std::map<std::pair<const void*, const void*>, CompiledTemplateMap> maps;
  std::unordered_map<const AgentSpec*, SharedVector<CompiledTemplate>> commands;
};

struct Compiler {
  Plan& plan;
  const Workflow& wf;                         ///< the file of `scope`
  uint32_t scope = 0;                         ///< the scope being compiled (engine/flow.hpp)
  TemplatePlace place = TemplatePlace::task;  ///< what the template at hand may read
  /// The file's folder, normalized once per scope and kept by compile(): most tasks run
  /// there (a path per task was 5% of validating a 10,000-task file). Null: not kept.
  std::shared_ptr<const std::string>* source_workdir = nullptr;
  /// Templates compiled once for the tasks that share them, kept by compile(). Null: none.
  SharedTemplates* shared = nullptr;

  Error error_at(Mark m, std::string message, std::string hint = {}) const {
    return Error{ErrorKind::invalid_workflow, std::move(message), wf.file, m.line, m.column,
                 std::move(hint)};
  }

  std::vector<std::string> param_names() const {
    std::vector<std::string> out;
    for (const auto& p : wf.params) out.push_back(p.name);
    return out;
  }

  // Checks one reference read from a template owned by task `reader` (or none for hooks).
  Result<void> check_reference(const expr::Reference& ref, std::optional<uint32_t> reader) const {
    const auto& path = ref.path;
    if (path.empty()) return {};
    if (path[0] == "params" && path.size() >= 2) {
      const auto& params = plan.flow->scopes[scope].params;
      if (auto it = params.find(path[1]); it != params.end()) {
        const ParamSpec& p = *it->second;
        // A secret reaches a task only through its environment, never through a template
        // (an argv element or a rendered message would show it).
        if (p.secret)
          return std::unexpected(error_at(ref.mark, "param '" + p.name + "' is secret",
                                          "read it from $WFO_SECRET_" + env_name(p.name) +
                                              " in the task instead"));
        return check_flow_reference(plan, wf, scope, ref, reader, place);
      }
      std::string guess = closest_match(path[1], param_names());
      return std::unexpected(error_at(
          ref.mark, "unknown param '" + path[1] + "'" +
                        (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
          "declare it under 'params:' or fix the name"));
    }
    // Tasks by name in the scope (a task may read itself: an `after` gate's message,
    // `repeat: until`), and where `inputs`, `matrix` and `item` exist (engine/references.cpp).
    return check_flow_reference(plan, wf, scope, ref, reader, place);
  }

  Result<CompiledTemplate> compile_template(const Template& t,
                                            std::optional<uint32_t> reader) const {
    auto parsed = expr::ParsedTemplate::parse(t);
    if (!parsed) {
      Error e = parsed.error();
      e.file = wf.file;
      return std::unexpected(e);
    }
    for (const auto& ref : parsed->references())
      if (auto ok = check_reference(ref, reader); !ok) return std::unexpected(ok.error());
    return CompiledTemplate{t.text, std::move(*parsed)};
  }

  // `if:` and `until:` may be written without ${{ }}, as in GitHub Actions: `t` wrapped in
  // them, its marks still on the text as written.
  static void wrap_condition(Template& t) {
    if (t.text.find("${{") != std::string::npos) return;
    t.text = "${{ " + t.text + " }}";
    t.mark.column -= 4;
    if (!t.folded_lines.empty())
      for (FoldedLine& line : t.folded_lines.edit()) line.offset += 4;
  }

  // Checks the references of `t`, compiled for another task, as task `i`'s own (what it may
  // read, what it reads), at the current place.
  Result<void> check_as_own(const CompiledTemplate& t, uint32_t i) const {
    for (const auto& ref : t.parsed.references())
      if (auto ok = check_reference(ref, i); !ok) return ok;
    return {};
  }

  // `base` then `over` (either may be null) compiled for task `reader` into one map, a name of
  // `over` replacing the same name of `base` in place. A name is found by an index of what is
  // compiled so far, so that layering K names is O(K), not O(K^2); a map's keys are unique
  // (the loader rejects a duplicate key).
  Result<CompiledTemplateMap> compile_layers(const TemplateMap* base, const TemplateMap* over,
                                             uint32_t reader) const {
    std::vector<std::pair<std::string, CompiledTemplate>> out;
    out.reserve((base ? base->size() : 0) + (over ? over->size() : 0));  // `at` views the keys
    bool layered = base && over && !base->empty() && !over->empty();
    std::unordered_map<std::string_view, size_t> at;
    for (const TemplateMap* layer : {base, over}) {
      if (!layer) continue;
      bool upper = layer == over;
      for (const auto& [key, value] : *layer) {
        auto c = compile_template(value, reader);
        if (!c) return std::unexpected(c.error());
        if (layered && upper)
          if (auto it = at.find(key); it != at.end()) {
            out[it->second].second = std::move(*c);
            continue;
          }
        out.emplace_back(key, std::move(*c));
        if (layered && !upper) at.emplace(out.back().first, out.size() - 1);
      }
    }
    return CompiledTemplateMap(std::move(out));
  }

  // Task `i`'s map of `base` then `over` (as compile_layers), shared with the tasks before it
  // whose maps are the same ones (the file's env, the instances of a matrix task, the tasks of
  // a file used by several `uses`, the tasks of an agent that set no names of their own):
  // parsed once. `common`: `over` is no one task's (the file's env).
  Result<void> share_layers(uint32_t i, const TemplateMap* base, const TemplateMap& over,
                            CompiledTemplateMap& out, bool common = false) const {
    if (over.empty() && (!base || base->empty())) return {};
    // Worth keeping only when another task may have the same maps: the task's own map is
    // shared by copies of the task, or it has none and the base is an agent's.
    bool keep = shared && (common || over.empty() || over.shared());
    std::pair<const void*, const void*> key{base ? base->identity() : nullptr, over.identity()};
    if (keep)
      if (auto it = shared->maps.find(key); it != shared->maps.end()) {
        for (const auto& [name, t] : it->second)
          if (auto ok = check_as_own(t, i); !ok) return ok;
        out = it->second;
        return {};
      }
    auto map = compile_layers(base, &over, i);
    if (!map) return std::unexpected(map.error());
    out = std::move(*map);
    if (keep) shared->maps.emplace(key, out);
    return {};
  }

  // The command parts of `agent` compiled for task `i` (a place of their own: they read
  // `inputs`), shared with the other tasks that run the agent.
  Result<void> share_command(uint32_t i, const AgentSpec& agent,
                             SharedVector<CompiledTemplate>& out) {
    place = TemplatePlace::agent_command;
    Result<void> done = [&]() -> Result<void> {
      if (shared)
        if (auto it = shared->commands.find(&agent); it != shared->commands.end()) {
          for (const CompiledTemplate& t : it->second)
            if (auto ok = check_as_own(t, i); !ok) return ok;
          out = it->second;
          return {};
        }
      std::vector<CompiledTemplate> parts;
      parts.reserve(agent.command.parts.size());
      for (const auto& part : agent.command.parts) {
        auto c = compile_template(part, i);
        if (!c) return std::unexpected(c.error());
        parts.push_back(std::move(*c));
      }
      out = std::move(parts);
      if (shared) shared->commands.emplace(&agent, out);
      return {};
    }();
    place = TemplatePlace::task;
    return done;
  }

  Result<void> compile_task(uint32_t i) {
    const TaskSpec& spec = plan.workflow->tasks[i];
    CompiledTask& task = plan.tasks[i];
    task.spec = &spec;
    if (!spec.agent.empty()) task.agent = wf.find_agent(spec.agent);
    if (spec.run) {
      auto c = compile_template(*spec.run, i);
      if (!c) return std::unexpected(c.error());
      task.run = std::move(*c);
    }
    if (task.agent) {
      task.command_form = task.agent->command.form;
      if (auto ok = share_command(i, *task.agent, task.command); !ok) return ok;
    }
    place = TemplatePlace::once;
    if (spec.if_expr) {
      Template t = *spec.if_expr;
      // One expression, so that `${{ a }} && ${{ b }}` is refused, not a non-empty string and
      // so always true (the spec; GitHub Actions evaluates it so).
      if (auto cond = expr::parse_condition(t); !cond) {
        Error e = cond.error();
        e.file = wf.file;
        return std::unexpected(e);
      }
      wrap_condition(t);
      auto c = compile_template(t, i);
      if (!c) return std::unexpected(c.error());
      task.if_uses_status = c->parsed.uses_status_function();
      task.if_expr = std::move(*c);
    }
    place = TemplatePlace::task;
    if (auto ok = share_layers(i, nullptr, wf.env, task.file_env, true); !ok) return ok;
    if (auto ok = share_layers(i, task.agent ? &task.agent->env : nullptr, spec.env, task.env); !ok)
      return ok;
    if (auto ok = share_layers(i, nullptr, spec.with, task.with); !ok) return ok;
    if (spec.approval && spec.approval->message) {
      place = TemplatePlace::once;
      auto c = compile_template(*spec.approval->message, i);
      place = TemplatePlace::task;
      if (!c) return std::unexpected(c.error());
      task.approval_message = std::move(*c);
    }
    if (auto ok = compile_extras(i, spec, task); !ok) return ok;
    if (auto ok = compile_flow_templates(i, spec); !ok) return ok;
    resolve_policies(spec, task);
    return {};
  }

  // `for_each` and `repeat.until` (issue 5), kept in the plan's flow.
  Result<void> compile_flow_templates(uint32_t i, const TaskSpec& spec) {
    FlowNode& node = plan.flow->nodes[i];
    if (spec.for_each) {
      place = TemplatePlace::once;
      auto c = compile_template(*spec.for_each, i);
      place = TemplatePlace::task;
      if (!c) return std::unexpected(c.error());
      node.for_each = std::move(*c);
    }
    if (spec.repeat) {
      Template t = spec.repeat->until;
      if (auto cond = expr::parse_condition(t); !cond) {
        Error e = cond.error();
        e.file = wf.file;
        return std::unexpected(e);
      }
      wrap_condition(t);
      auto c = compile_template(t, i);
      if (!c) return std::unexpected(c.error());
      node.until = std::move(*c);
    }
    return {};
  }

  // The fallback and the compensation: commands run only when things go wrong.
  Result<void> compile_extras(uint32_t i, const TaskSpec& spec, CompiledTask& task) {
    if (spec.fallback) {
      if (spec.fallback->run) {
        auto c = compile_template(*spec.fallback->run, i);
        if (!c) return std::unexpected(c.error());
        task.fallback_run = std::move(*c);
      } else if (!spec.fallback->agent.empty()) {
        task.fallback_agent = wf.find_agent(spec.fallback->agent);
        if (!task.fallback_agent)
          return std::unexpected(error_at(spec.fallback->mark, "task '" + spec.id +
                                                                    "' falls back to unknown agent '" +
                                                                    spec.fallback->agent + "'"));
        if (auto ok = share_command(i, *task.fallback_agent, task.fallback_command); !ok) return ok;
        if (auto ok = share_layers(i, nullptr, spec.fallback->with, task.fallback_with); !ok)
          return ok;
        if (auto ok = share_layers(i, &task.fallback_agent->env, spec.env, task.fallback_env); !ok)
          return ok;
      }
    }
    if (spec.compensate) {
      auto c = compile_template(*spec.compensate, i);
      if (!c) return std::unexpected(c.error());
      task.compensate = std::move(*c);
    }
    return {};
  }

  void resolve_policies(const TaskSpec& spec, CompiledTask& task) const {
    if (spec.retry)
      task.retry = &*spec.retry;
    else if (task.agent && task.agent->retry)
      task.retry = &*task.agent->retry;
    else if (wf.defaults.retry)
      task.retry = &*wf.defaults.retry;
    task.place = resolve_place(spec, task.agent);
    if (task.fallback_agent) task.fallback_place = resolve_place(spec, task.fallback_agent);
  }

  // The task's own workdir and timeout, else `agent`'s (when there is one), else the file's
  // folder and `defaults`' timeout (spec: Agents, "a command template with defaults").
  AttemptPlace resolve_place(const TaskSpec& spec, const AgentSpec* agent) const {
    AttemptPlace place;
    if (spec.timeout)
      place.timeout = spec.timeout;
    else if (agent && agent->timeout)
      place.timeout = agent->timeout;
    else
      place.timeout = wf.defaults.timeout;
    const std::string* own = spec.workdir              ? &*spec.workdir
                             : agent && agent->workdir ? &*agent->workdir
                                                       : nullptr;
    if (own == nullptr) {
      std::shared_ptr<const std::string> unkept;
      std::shared_ptr<const std::string>& normal = source_workdir ? *source_workdir : unkept;
      if (!normal)
        normal = std::make_shared<const std::string>(
            std::filesystem::path(wf.source_dir).lexically_normal().string());
      place.workdir = normal;
      return place;
    }
    place.workdir = std::make_shared<const std::string>(
        (std::filesystem::path(wf.source_dir) / *own).lexically_normal().string());
    return place;
  }

  Result<void> compile_hook(const std::optional<Template>& t,
                            std::optional<CompiledTemplate>& out) const {
    if (!t) return {};
    auto c = compile_template(*t, std::nullopt);
    if (!c) return std::unexpected(c.error());
    out = std::move(*c);
    return {};
  }
};

// The declared outputs of every scope's file (what a sub-workflow hands to its parent).
Result<void> compile_scope_outputs(Plan& plan) {
  for (uint32_t s = 0; s < plan.flow->scopes.size(); ++s) {
    FlowScope& scope = plan.flow->scopes[s];
    Compiler c{plan, *scope.workflow, s, TemplatePlace::outside};
    for (const auto& [name, value] : scope.workflow->outputs) {
      auto compiled = c.compile_template(value, std::nullopt);
      if (!compiled) return std::unexpected(compiled.error());
      scope.outputs.emplace_back(name, std::move(*compiled));
    }
  }
  return {};
}

}  // namespace

Result<Plan> compile(Workflow workflow, SubflowMap subflows) {
  Plan plan;
  plan.workflow = std::make_unique<Workflow>(std::move(workflow));
  // The file's own graph first, so that a cycle is reported in its terms.
  auto dag = Dag::build(*plan.workflow);
  if (!dag) return std::unexpected(dag.error());
  bool fans_out = std::any_of(plan.workflow->tasks.begin(), plan.workflow->tasks.end(),
                              [](const TaskSpec& t) { return t.matrix || !t.uses.empty(); });
  plan.flow = std::make_shared<FlowPlan>();
  plan.flow->subflows = std::move(subflows);
  if (auto ok = expand_flow(plan); !ok) return std::unexpected(ok.error());
  const Workflow& wf = *plan.workflow;
  if (fans_out) dag = Dag::build(wf);  // over the nodes: instances and sub-workflow tasks
  if (!dag) return std::unexpected(dag.error());
  plan.dag = std::move(*dag);
  plan.index.reserve(wf.tasks.size());
  for (uint32_t i = 0; i < wf.tasks.size(); ++i) plan.index.emplace(wf.tasks[i].id, i);
  plan.tasks.resize(wf.tasks.size());
  std::vector<std::shared_ptr<const std::string>> workdirs(plan.flow->scopes.size());
  SharedTemplates shared;
  for (uint32_t i = 0; i < wf.tasks.size(); ++i) {
    uint32_t scope = plan.flow->nodes[i].scope;
    Compiler node_compiler{
        plan,   *plan.flow->scopes[scope].workflow, scope, TemplatePlace::task, &workdirs[scope],
        &shared};
    if (auto ok = node_compiler.compile_task(i); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = compile_scope_outputs(plan); !ok) return std::unexpected(ok.error());
  Compiler c{plan, wf, 0, TemplatePlace::outside};
  for (const auto& p : wf.params)
    if (p.secret && p.default_value)
      return std::unexpected(c.error_at(p.mark, "secret param '" + p.name + "' has a default",
                                        "a secret never lives in the workflow file: remove the "
                                        "default and set WFO_SECRET_" + env_name(p.name)));
  const HooksSpec& h = wf.hooks;
  for (auto [spec, out] : {std::pair{&h.on_success, &plan.hook_on_success},
                           std::pair{&h.on_failure, &plan.hook_on_failure},
                           std::pair{&h.on_cancel, &plan.hook_on_cancel},
                           std::pair{&h.on_waiting, &plan.hook_on_waiting},
                           std::pair{&h.on_exit, &plan.hook_on_exit}})
    if (auto ok = c.compile_hook(*spec, *out); !ok) return std::unexpected(ok.error());
  for (auto& node : plan.flow->nodes)
    if (node.reads) merge_reads(*node.reads);
  for (auto& scope : plan.flow->scopes) merge_task_reads(scope.output_reads);
  return plan;
}

Result<nlohmann::json> bind_params(const Workflow& workflow,
                                   const std::vector<std::pair<std::string, std::string>>& given) {
  nlohmann::json out = nlohmann::json::object();
  std::vector<std::string> names;
  for (const auto& p : workflow.params) names.push_back(p.name);
  std::unordered_set<std::string_view> declared(names.begin(), names.end());
  for (const auto& [key, value] : given) {
    if (!declared.contains(key)) {
      std::string guess = closest_match(key, names);
      return fail(ErrorKind::usage,
                  "unknown param '" + key + "'" +
                      (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
                  names.empty() ? "this workflow declares no params"
                                : "its params are: " + join(names, ", "));
    }
    if (!valid_utf8(value))
      return fail(ErrorKind::usage, "param '" + key + "' is not UTF-8 text",
                  "pass text in the UTF-8 encoding; for bytes, pass a file's path or base64");
    out[key] = value;
  }
  for (const auto& p : workflow.params) {
    if (!out.contains(p.name)) {
      if (p.default_value)
        out[p.name] = *p.default_value;
      else if (p.required)
        return std::unexpected(Error{ErrorKind::usage, "missing required param '" + p.name + "'",
                                     workflow.file, p.mark.line, p.mark.column,
                                     "pass it with -p " + p.name + "=VALUE"});
      else
        out[p.name] = "";
    }
    if (!p.enum_values.empty()) {
      std::string v = out[p.name].get<std::string>();
      if (std::find(p.enum_values.begin(), p.enum_values.end(), v) == p.enum_values.end())
        return std::unexpected(Error{
            ErrorKind::usage,
            "param '" + p.name + "' is '" + v + "', not one of " + join(p.enum_values, ", "),
            workflow.file, p.mark.line, p.mark.column,
            "pass -p " + p.name + "=" + p.enum_values.front()});
    }
  }
  return out;
}

}  // namespace wfo
