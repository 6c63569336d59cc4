// compile() parses every template of the workflow exactly once and checks what the loader
// cannot: the DAG's acyclicity and what expressions refer to. After it succeeds the engine
// never meets a syntax error, only evaluation errors (e.g. fromJSON of bad text).
#include "engine/plan.hpp"

#include <filesystem>

#include "util/strings.hpp"

namespace wfo {
namespace {

struct Compiler {
  Plan& plan;
  const Workflow& wf;

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
  Result<void> check_reference(const expr::Reference& ref, std::optional<uint32_t> reader,
                               std::vector<uint32_t>* referenced) const {
    const auto& path = ref.path;
    if (path.empty()) return {};
    if (path[0] == "params" && path.size() >= 2) {
      for (const auto& p : wf.params)
        if (p.name == path[1]) return {};
      std::string guess = closest_match(path[1], param_names());
      return std::unexpected(error_at(
          ref.mark, "unknown param '" + path[1] + "'" +
                        (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
          "declare it under 'params:' or fix the name"));
    }
    if (path[0] == "tasks" && path.size() >= 2) {
      auto target = plan.find(path[1]);
      if (!target) {
        std::vector<std::string> ids;
        for (const auto& t : wf.tasks) ids.push_back(t.id);
        std::string guess = closest_match(path[1], ids);
        return std::unexpected(error_at(
            ref.mark, "unknown task '" + path[1] + "' in expression" +
                          (guess.empty() ? "" : " (did you mean '" + guess + "'?)")));
      }
      // A task may read itself (an `after` gate's message, `repeat: until`) and its upstream.
      if (reader && *target != *reader && !plan.dag.is_upstream(*target, *reader)) {
        return std::unexpected(error_at(
            ref.mark,
            "task '" + wf.tasks[*reader].id + "' reads task '" + path[1] +
                "', which it does not need",
            "add '" + path[1] + "' to its needs (directly or through another task)"));
      }
      if (referenced && std::find(referenced->begin(), referenced->end(), *target) ==
                            referenced->end())
        referenced->push_back(*target);
    }
    return {};
  }

  Result<CompiledTemplate> compile_template(const Template& t, std::optional<uint32_t> reader,
                                            std::vector<uint32_t>* referenced) const {
    auto parsed = expr::ParsedTemplate::parse(t);
    if (!parsed) {
      Error e = parsed.error();
      e.file = wf.file;
      return std::unexpected(e);
    }
    for (const auto& ref : parsed->references())
      if (auto ok = check_reference(ref, reader, referenced); !ok) return std::unexpected(ok.error());
    return CompiledTemplate{t.text, std::move(*parsed)};
  }

  Result<void> compile_map(const TemplateMap& in, uint32_t reader, CompiledTask& task,
                           CompiledTemplateMap& out) const {
    for (const auto& [key, value] : in) {
      auto c = compile_template(value, reader, &task.referenced_tasks);
      if (!c) return std::unexpected(c.error());
      // A later layer (task over agent over workflow) replaces an earlier key.
      auto it = std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == key; });
      if (it != out.end())
        it->second = std::move(*c);
      else
        out.emplace_back(key, std::move(*c));
    }
    return {};
  }

  Result<void> compile_task(uint32_t i) {
    const TaskSpec& spec = wf.tasks[i];
    CompiledTask& task = plan.tasks[i];
    task.spec = &spec;
    auto* refs = &task.referenced_tasks;
    if (!spec.agent.empty()) task.agent = wf.find_agent(spec.agent);
    if (spec.run) {
      auto c = compile_template(*spec.run, i, refs);
      if (!c) return std::unexpected(c.error());
      task.run = std::move(*c);
    }
    if (task.agent) {
      task.command_form = task.agent->command.form;
      for (const auto& part : task.agent->command.parts) {
        auto c = compile_template(part, i, refs);
        if (!c) return std::unexpected(c.error());
        task.command.push_back(std::move(*c));
      }
    }
    if (spec.if_expr) {
      Template t = *spec.if_expr;
      // `if:` may be written without ${{ }}, as in GitHub Actions.
      if (t.text.find("${{") == std::string::npos) t.text = "${{ " + t.text + " }}", t.mark.column -= 4;
      auto c = compile_template(t, i, refs);
      if (!c) return std::unexpected(c.error());
      task.if_uses_status = c->parsed.uses_status_function();
      task.if_expr = std::move(*c);
    }
    if (auto ok = compile_map(wf.env, i, task, task.env); !ok) return ok;
    if (task.agent)
      if (auto ok = compile_map(task.agent->env, i, task, task.env); !ok) return ok;
    if (auto ok = compile_map(spec.env, i, task, task.env); !ok) return ok;
    if (auto ok = compile_map(spec.with, i, task, task.with); !ok) return ok;
    if (spec.approval && spec.approval->message) {
      auto c = compile_template(*spec.approval->message, i, refs);
      if (!c) return std::unexpected(c.error());
      task.approval_message = std::move(*c);
    }
    if (auto ok = compile_extras(i, spec, task); !ok) return ok;
    resolve_policies(spec, task);
    return {};
  }

  // The fallback and the compensation: commands run only when things go wrong.
  Result<void> compile_extras(uint32_t i, const TaskSpec& spec, CompiledTask& task) {
    auto* refs = &task.referenced_tasks;
    if (spec.fallback) {
      if (spec.fallback->run) {
        auto c = compile_template(*spec.fallback->run, i, refs);
        if (!c) return std::unexpected(c.error());
        task.fallback_run = std::move(*c);
      } else if (!spec.fallback->agent.empty()) {
        task.fallback_agent = wf.find_agent(spec.fallback->agent);
        if (!task.fallback_agent)
          return std::unexpected(error_at(spec.fallback->mark, "task '" + spec.id +
                                                                    "' falls back to unknown agent '" +
                                                                    spec.fallback->agent + "'"));
        for (const auto& part : task.fallback_agent->command.parts) {
          auto c = compile_template(part, i, refs);
          if (!c) return std::unexpected(c.error());
          task.fallback_command.push_back(std::move(*c));
        }
        if (auto ok = compile_map(spec.fallback->with, i, task, task.fallback_with); !ok)
          return ok;
      }
    }
    if (spec.compensate) {
      auto c = compile_template(*spec.compensate, i, refs);
      if (!c) return std::unexpected(c.error());
      task.compensate = std::move(*c);
    }
    return {};
  }

  void resolve_policies(const TaskSpec& spec, CompiledTask& task) const {
    if (spec.retry)
      task.retry = *spec.retry;
    else if (task.agent && task.agent->retry)
      task.retry = *task.agent->retry;
    else if (wf.defaults.retry)
      task.retry = *wf.defaults.retry;
    if (spec.timeout)
      task.timeout = spec.timeout;
    else if (task.agent && task.agent->timeout)
      task.timeout = task.agent->timeout;
    else
      task.timeout = wf.defaults.timeout;
    std::filesystem::path dir = wf.source_dir;
    if (spec.workdir)
      dir /= *spec.workdir;
    else if (task.agent && task.agent->workdir)
      dir /= *task.agent->workdir;
    task.workdir = dir.lexically_normal().string();
  }

  Result<void> compile_hook(const std::optional<Template>& t,
                            std::optional<CompiledTemplate>& out) const {
    if (!t) return {};
    auto c = compile_template(*t, std::nullopt, nullptr);
    if (!c) return std::unexpected(c.error());
    out = std::move(*c);
    return {};
  }
};

}  // namespace

Result<Plan> compile(Workflow workflow) {
  Plan plan;
  plan.workflow = std::make_unique<Workflow>(std::move(workflow));
  const Workflow& wf = *plan.workflow;
  auto dag = Dag::build(wf);
  if (!dag) return std::unexpected(dag.error());
  plan.dag = std::move(*dag);
  plan.index.reserve(wf.tasks.size());
  for (uint32_t i = 0; i < wf.tasks.size(); ++i) plan.index.emplace(wf.tasks[i].id, i);
  plan.tasks.resize(wf.tasks.size());
  Compiler c{plan, wf};
  for (uint32_t i = 0; i < wf.tasks.size(); ++i)
    if (auto ok = c.compile_task(i); !ok) return std::unexpected(ok.error());
  const HooksSpec& h = wf.hooks;
  for (auto [spec, out] : {std::pair{&h.on_success, &plan.hook_on_success},
                           std::pair{&h.on_failure, &plan.hook_on_failure},
                           std::pair{&h.on_cancel, &plan.hook_on_cancel},
                           std::pair{&h.on_waiting, &plan.hook_on_waiting},
                           std::pair{&h.on_exit, &plan.hook_on_exit}})
    if (auto ok = c.compile_hook(*spec, *out); !ok) return std::unexpected(ok.error());
  return plan;
}

Result<nlohmann::json> bind_params(const Workflow& workflow,
                                   const std::vector<std::pair<std::string, std::string>>& given) {
  nlohmann::json out = nlohmann::json::object();
  std::vector<std::string> names;
  for (const auto& p : workflow.params) names.push_back(p.name);
  for (const auto& [key, value] : given) {
    if (std::find(names.begin(), names.end(), key) == names.end()) {
      std::string guess = closest_match(key, names);
      return fail(ErrorKind::usage,
                  "unknown param '" + key + "'" +
                      (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
                  names.empty() ? "this workflow declares no params"
                                : "its params are: " + join(names, ", "));
    }
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
