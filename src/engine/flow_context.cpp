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
                              const SharedVector<OutputSpec>& declared) {
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

nlohmann::json projected(const nlohmann::json& all, const NameReads* reads) {
  if (!reads) return nlohmann::json::object();
  if (reads->all) return all;
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& name : reads->names) {
    auto it = all.find(name);
    // Not there as written: the evaluator may find it case-insensitively, in the whole.
    if (it == all.end()) return all;
    out[name] = *it;
  }
  return out;
}

const nlohmann::json& Engine::Impl::scope_env(uint32_t scope) const {
  const Workflow* wf = plan.flow->scopes[scope].workflow;
  auto [it, added] = flow.env_texts.try_emplace(wf);
  if (added) it->second = env_texts(*wf);
  return it->second;
}

void Engine::Impl::flow_context(uint32_t i, nlohmann::json& ctx) const {
  const FlowNode& node = plan.flow->nodes[i];
  const ContextReads* reads = node.reads ? &*node.reads : nullptr;
  // A sub-workflow's tasks see its params and env, never the parent's.
  auto params = scope_params(node.scope);
  ctx["params"] =
      params ? projected(**params, reads ? &reads->params : nullptr) : nlohmann::json::object();
  ctx["env"] = projected(scope_env(node.scope), reads ? &reads->env : nullptr);
  if (!node.matrix.is_null()) ctx["matrix"] = node.matrix;
  if (node.role == NodeRole::foreach_instance) ctx["item"] = node.item;
  static const std::vector<TaskRead> none;
  ctx["tasks"] = tasks_view(node.scope, reads ? reads->tasks : none, i);
}

namespace {

// A task's outputs as later tasks read them: its last successful attempt's, then the inputs
// given with the decisions that approved its gate; of those, the names `read` (projected).
nlohmann::json outputs_view(const TaskRun& t, const NameReads& read) {
  auto merged = [&] {
    nlohmann::json out = t.outputs;
    if (!t.gate_inputs.empty()) out.update(t.gate_inputs);
    return out;
  };
  if (read.all) return merged();
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& name : read.names) {
    if (auto it = t.gate_inputs.find(name); it != t.gate_inputs.end()) {
      out[name] = *it;
    } else if (auto o = t.outputs.find(name); o != t.outputs.end()) {
      out[name] = *o;
    } else {
      return merged();  // the evaluator may find it case-insensitively, in the whole
    }
  }
  return out;
}

}  // namespace

nlohmann::json Engine::Impl::task_view(uint32_t n, uint32_t reader, const NameReads& read) const {
  const TaskRun& t = tasks[n];
  // A need kept by a resume reads as its `if` did (need_view), as for the task's own `if`.
  // (kept() first; is_direct_need marks a long list once: a join can read 10,000 needs.)
  TaskStatus status = reader != k_no_node && kept(n) && plan.dag.is_direct_need(n, reader)
                          ? need_view(n).status
                          : t.status;
  // A task that continued on error reads as succeeded to its dependents (GitHub Actions).
  if (status == TaskStatus::failed && plan.tasks[n].spec->continue_on_error)
    status = TaskStatus::succeeded;
  return {{"status", std::string(to_string(status))},
          {"outputs", outputs_view(t, read)},
          {"exit_code", t.exit_code ? nlohmann::json(*t.exit_code) : nlohmann::json()}};
}

nlohmann::json Engine::Impl::tasks_view(uint32_t scope, const std::vector<TaskRead>& reads,
                                        uint32_t reader) const {
  const FlowPlan& fp = *plan.flow;
  // A group's outputs: each instance's projected, and the declared keys read. A name read
  // that is then no key of the group's (not declared, set by no instance as written) is
  // looked for case-insensitively by the evaluator: the group's whole outputs are gathered.
  auto group = [&](const std::vector<uint32_t>& members, const SharedVector<OutputSpec>& declared,
                   const NameReads& read) {
    std::vector<std::string> statuses;
    std::vector<nlohmann::json> outputs;
    nlohmann::json codes = nlohmann::json::array();
    for (uint32_t m : members) {
      nlohmann::json v = task_view(m, reader, read);
      statuses.push_back(v["status"].get<std::string>());
      outputs.push_back(std::move(v["outputs"]));
      codes.push_back(std::move(v["exit_code"]));
    }
    std::vector<OutputSpec> declared_read;
    if (!read.all)
      for (const OutputSpec& o : declared)
        if (std::binary_search(read.names.begin(), read.names.end(), o.name))
          declared_read.push_back(o);
    nlohmann::json gathered = gather_outputs(outputs, read.all ? declared : declared_read);
    for (const std::string& name : read.names)
      if (!gathered.contains(name)) {
        outputs.clear();
        for (uint32_t m : members) outputs.push_back(task_view(m, reader, k_read_all)["outputs"]);
        gathered = gather_outputs(outputs, declared);
        break;
      }
    return nlohmann::json{{"status", group_status(statuses)},
                          {"outputs", std::move(gathered)},
                          {"exit_code", std::move(codes)}};
  };
  static const NameReads nothing;
  nlohmann::json out = nlohmann::json::object();
  for (const TaskRead& r : reads) {
    const std::string& name = r.name;
    if (reader != k_no_node && fp.nodes[reader].name == name) {
      out[name] = task_view(reader, reader, r.outputs);
      continue;
    }
    const auto* nodes = fp.lookup(scope, name);
    if (!nodes || nodes->empty()) continue;
    NodeRole role = fp.nodes[nodes->front()].role;
    if (role == NodeRole::matrix_instance)
      out[name] = group(*nodes, plan.tasks[nodes->front()].spec->outputs, r.outputs);
    else if (role == NodeRole::foreach_collector) {
      // Its own status (it may have failed to make its list); its instances' outputs
      // gathered as a matrix's are, also when one of them failed (the collector keeps
      // outputs only when it succeeded).
      // A for_each that made no list (skipped, failed before its instances) has no
      // instances, as an empty list has: only the latter reads its declared outputs as [].
      uint32_t c = nodes->front();
      bool listed = !fp.nodes[c].members.empty() || tasks[c].status == TaskStatus::succeeded;
      static const SharedVector<OutputSpec> undeclared;
      nlohmann::json view =
          group(fp.nodes[c].members, listed ? plan.tasks[c].spec->outputs : undeclared, r.outputs);
      view["status"] = task_view(c, reader, nothing)["status"];
      out[name] = std::move(view);
    } else
      out[name] = task_view(nodes->front(), reader, r.outputs);
  }
  return out;
}

}  // namespace wfo
