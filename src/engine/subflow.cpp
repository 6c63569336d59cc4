// Sub-workflows (spec: Tasks, `uses`): the used file's tasks are nodes of the plan under the
// collector's id (expand.cpp); here the collector runs them. Its `with` values, rendered in
// its own context once its needs are final, are the sub-workflow's params (checked as `-p`
// values are: defaults, required, enum). When every task of the sub-workflow has ended, the
// file's declared `outputs:` are rendered in the sub-workflow's context and become the
// collector's outputs (complete_collector).
#include "engine/engine_impl.hpp"
#include "engine/flow.hpp"

namespace wfo {
Result<void> Engine::Impl::start_subflow(uint32_t c) {
  uint32_t scope = plan.flow->nodes[c].child_scope;
  flow.scope_params.erase(scope);  // the needs of `c` are final now: bind afresh
  auto params = scope_params(scope);
  if (!params) return finish_task(c, TaskStatus::failed, params.error().message);
  return open_collector(c, "sub-workflow " + plan.flow->scopes[scope].workflow->file);
}

Result<const nlohmann::json*> Engine::Impl::scope_params(uint32_t scope) const {
  if (scope == 0) return &run.params;
  if (auto it = flow.scope_params.find(scope); it != flow.scope_params.end()) return &it->second;
  const FlowScope& s = plan.flow->scopes[scope];
  uint32_t c = s.collector;
  nlohmann::json ctx = context_for(c);
  expr::StatusFlags flags = flags_for(c);
  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& [key, value] : plan.tasks[c].with) {
    auto v = value.parsed.render(ctx, flags);
    if (!v) return std::unexpected(v.error());
    given.emplace_back(key, *v);
  }
  auto bound = bind_params(*s.workflow, given);
  if (!bound)
    return fail(ErrorKind::invalid_workflow,
                "sub-workflow " + s.workflow->file + ": " + bound.error().message);
  nlohmann::json& kept = flow.scope_params[scope];
  kept = std::move(*bound);
  return &kept;
}

Result<nlohmann::json> Engine::Impl::scope_outputs(uint32_t scope) const {
  const FlowScope& s = plan.flow->scopes[scope];
  auto params = scope_params(scope);
  if (!params) return std::unexpected(params.error());
  nlohmann::json ctx = {{"params", **params},
                        {"run", {{"id", run.id}}},
                        {"env", scope_env(scope)},
                        {"tasks", tasks_view(scope, s.output_reads, k_no_node)}};
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : s.outputs) {
    auto v = value.parsed.render(ctx, expr::StatusFlags{});
    if (!v) return std::unexpected(v.error());
    out[name] = *v;
  }
  return out;
}

}  // namespace wfo
