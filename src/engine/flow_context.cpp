// What expressions see of other tasks, by the names of their file (spec: Outputs and
// handoffs): a task as it is; a matrix task as its group, whose outputs are arrays of the
// instances' values in matrix order (no instance overwrites another), whose exit_code is the
// array of theirs and whose status is `failed` when one failed, else `cancelled` when one was,
// else `skipped` when all were, else `succeeded`; a for_each task as its collector, whose
// outputs were gathered the same way when it ended.
#include <unordered_set>

#include "engine/engine_impl.hpp"
#include "engine/flow.hpp"

namespace wfo {
namespace {

std::string group_status(const std::vector<std::string>& statuses) {
  auto any = [&](std::string_view s) {
    return std::find(statuses.begin(), statuses.end(), s) != statuses.end();
  };
  for (std::string_view s :
       {"failed", "cancelled", "running", "retrying", "waiting_approval", "pending"})
    if (any(s)) return std::string(s);
  bool all_skipped = std::all_of(statuses.begin(), statuses.end(),
                                 [](const std::string& s) { return s == "skipped"; });
  return all_skipped && !statuses.empty() ? "skipped" : "succeeded";
}

}  // namespace

nlohmann::json gather_outputs(const std::vector<nlohmann::json>& per_instance,
                              const std::vector<OutputSpec>& declared) {
  std::vector<std::string> keys;  // declared first, then the others as first set
  std::unordered_set<std::string> known;
  for (const OutputSpec& o : declared)
    if (known.insert(o.name).second) keys.push_back(o.name);
  for (const auto& o : per_instance)
    for (const auto& [k, v] : o.items())
      if (known.insert(k).second) keys.push_back(k);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& k : keys) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& o : per_instance) values.push_back(o.contains(k) ? o[k] : nlohmann::json());
    out[k] = std::move(values);
  }
  return out;
}

nlohmann::json env_texts(const Workflow& wf) {
  nlohmann::json env = nlohmann::json::object();
  for (const auto& [k, v] : wf.env) env[k] = v.text;
  return env;
}

void Engine::Impl::flow_context(uint32_t i, nlohmann::json& ctx) const {
  const FlowNode& node = plan.flow->nodes[i];
  if (node.scope != 0) {
    // A sub-workflow's tasks see its params and env, never the parent's.
    auto params = scope_params(node.scope);
    ctx["params"] = params ? *params : nlohmann::json::object();
    ctx["env"] = env_texts(*plan.flow->scopes[node.scope].workflow);
  }
  if (!node.matrix.is_null()) ctx["matrix"] = node.matrix;
  if (node.role == NodeRole::foreach_instance) ctx["item"] = node.item;
  // Moved, not copied: ctx["tasks"] is replaced just below.
  nlohmann::json by_id = ctx.contains("tasks") ? std::move(ctx["tasks"]) : nlohmann::json::object();
  ctx["tasks"] = tasks_view(node.scope, node.reads, i, by_id);
}

nlohmann::json Engine::Impl::task_view(uint32_t n) const {
  const TaskRun& t = tasks[n];
  // A task that continued on error reads as succeeded to its dependents (GitHub Actions).
  bool continued = t.status == TaskStatus::failed && plan.tasks[n].spec->continue_on_error;
  nlohmann::json outputs = t.outputs;
  if (!t.gate_inputs.empty()) outputs.update(t.gate_inputs);
  return {{"status", std::string(to_string(continued ? TaskStatus::succeeded : t.status))},
          {"outputs", std::move(outputs)},
          {"exit_code", t.exit_code ? nlohmann::json(*t.exit_code) : nlohmann::json()}};
}

nlohmann::json Engine::Impl::tasks_view(uint32_t scope, const std::vector<std::string>& names,
                                        uint32_t self, const nlohmann::json& by_id) const {
  const FlowPlan& fp = *plan.flow;
  auto entry = [&](uint32_t n) {
    auto it = by_id.find(id(n));
    return it != by_id.end() ? *it : task_view(n);
  };
  auto group = [&](const std::vector<uint32_t>& members, const std::vector<OutputSpec>& declared,
                   nlohmann::json view) {
    std::vector<std::string> statuses;
    std::vector<nlohmann::json> outputs;
    nlohmann::json codes = nlohmann::json::array();
    for (uint32_t m : members) {
      nlohmann::json v = entry(m);
      statuses.push_back(v["status"].get<std::string>());
      outputs.push_back(v["outputs"]);
      codes.push_back(v["exit_code"]);
    }
    if (view.is_null())
      view = {{"status", group_status(statuses)}, {"outputs", gather_outputs(outputs, declared)}};
    view["exit_code"] = std::move(codes);
    return view;
  };
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& name : names) {
    if (self != k_no_node && fp.nodes[self].name == name) {
      out[name] = entry(self);
      continue;
    }
    const auto* nodes = fp.lookup(scope, name);
    if (!nodes || nodes->empty()) continue;
    NodeRole role = fp.nodes[nodes->front()].role;
    if (role == NodeRole::matrix_instance)
      out[name] = group(*nodes, plan.tasks[nodes->front()].spec->outputs, nlohmann::json());
    else if (role == NodeRole::foreach_collector) {
      // Its own status (it may have failed to make its list); its instances' outputs
      // gathered as a matrix's are, also when one of them failed (the collector keeps
      // outputs only when it succeeded).
      // A for_each that made no list (skipped, failed before its instances) has no
      // instances, as an empty list has: only the latter reads its declared outputs as [].
      uint32_t c = nodes->front();
      bool listed = !fp.nodes[c].members.empty() || tasks[c].status == TaskStatus::succeeded;
      static const std::vector<OutputSpec> none;
      nlohmann::json view =
          group(fp.nodes[c].members, listed ? plan.tasks[c].spec->outputs : none, nlohmann::json());
      view["status"] = entry(c)["status"];
      out[name] = std::move(view);
    } else
      out[name] = entry(nodes->front());
  }
  return out;
}

}  // namespace wfo
