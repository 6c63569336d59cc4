// Static expansion of a workflow into the plan's nodes (see flow.hpp). Each file's own DAG is
// checked first, so a cycle is reported in that file's terms; the expansion then keeps the
// graph acyclic: instances share their task's needs, a need on a matrix task becomes a need on
// every instance, and a sub-workflow's nodes hang off no edge of the parent (their collector
// holds them instead).
#include <algorithm>
#include <unordered_set>

#include "engine/flow.hpp"
#include "util/strings.hpp"

namespace wfo {

uint32_t FlowPlan::add_scope(const Workflow& workflow, std::string prefix, uint32_t collector) {
  FlowScope& s = scopes.emplace_back();
  s.workflow = &workflow;
  s.prefix = std::move(prefix);
  s.collector = collector;
  s.params.reserve(workflow.params.size());
  for (const auto& p : workflow.params) s.params.emplace(p.name, &p);
  return static_cast<uint32_t>(scopes.size() - 1);
}

const std::vector<uint32_t>* FlowPlan::lookup(uint32_t scope, std::string_view name) const {
  const FlowScope& s = scopes[scope];
  auto it = s.name_index.find(std::string(name));
  return it == s.name_index.end() ? nullptr : &s.names[it->second].second;
}

std::vector<uint32_t> FlowPlan::group_of(uint32_t i) const {
  const FlowNode& n = nodes[i];
  if (n.role == NodeRole::foreach_instance) return nodes[n.collector].members;
  if (n.role == NodeRole::matrix_instance) return *lookup(n.scope, n.name);
  return {};
}

uint32_t FlowPlan::group_key(uint32_t i) const {
  const FlowNode& n = nodes[i];
  if (n.role == NodeRole::foreach_instance) return n.collector;
  if (n.role == NodeRole::matrix_instance) return lookup(n.scope, n.name)->front();
  return k_no_node;
}

uint32_t FlowPlan::holder_of(uint32_t i) const {
  const FlowNode& n = nodes[i];
  if (n.role == NodeRole::foreach_instance) return n.collector;
  return scopes[n.scope].collector;
}

namespace {

constexpr int k_max_depth = 32;
/// The most tasks a workflow may expand to through its sub-workflows: ten times the scale
/// wfo is built for (issue 7). A file used twice at each level doubles per level, so 18 small
/// files made 524,287 tasks and 947 MB of plan.
constexpr size_t k_max_tasks = 1'000'000;
/// The largest matrix product expanded: exclusions may bring a larger one under
/// k_max_matrix_instances; beyond this, do not even try.
constexpr size_t k_max_product = 65536;

struct Expander {
  FlowPlan& flow;
  std::vector<TaskSpec> specs;  ///< the nodes' specs, parallel to flow.nodes
  std::unordered_map<const Workflow*, size_t> sizes;  ///< expanded_size() of each file

  // The instances a matrix task makes, or 1 for a matrix that add_matrix refuses (so that
  // its own error is the one reported).
  static size_t matrix_instances(const MatrixSpec& m) {
    if (matrix_product_size(m) > k_max_product || m.include.size() > k_max_matrix_instances)
      return 1;
    return std::clamp<size_t>(expand_matrix(m).size(), 1, k_max_matrix_instances);
  }

  // The tasks `file` expands to through its sub-workflows (a lower bound: a matrix refused
  // later counts 1), saturating; each file counted once, so that a tree of files too large is
  // refused before any of it is made. Below k_max_depth only: deeper is refused by add_subflow.
  size_t expanded_size(const Workflow& file, int depth) {
    if (depth >= k_max_depth) return 0;
    if (auto it = sizes.find(&file); it != sizes.end()) return it->second;
    size_t n = 0;
    for (const TaskSpec& t : file.tasks) {
      size_t add = t.matrix ? matrix_instances(*t.matrix) : 1;
      if (!t.uses.empty())
        if (auto it = flow.subflows.find(subflow_key(file, t.uses)); it != flow.subflows.end())
          add = std::min(SIZE_MAX - 1, expanded_size(it->second, depth + 1)) + 1;
      n = n > SIZE_MAX - add ? SIZE_MAX : n + add;
    }
    sizes.emplace(&file, n);
    return n;
  }

  static std::unexpected<Error> error_at(const Workflow& wf, Mark at, std::string message,
                                         std::string hint = {}) {
    return std::unexpected(Error{ErrorKind::invalid_workflow, std::move(message), wf.file, at.line,
                                 at.column, std::move(hint)});
  }

  // Refuses combinations of fan-out keys that have no meaning together.
  static Result<void> check_kinds(const Workflow& wf, const TaskSpec& t) {
    std::string who = "task '" + t.id + "'";
    if (t.for_each && t.matrix)
      return error_at(wf, t.for_each->mark, who + " has both 'for_each' and 'matrix'",
                      "fan out over one of them; a matrix axis may list the items");
    if (!t.uses.empty() && (t.for_each || t.matrix))
      return error_at(wf, t.uses_mark,
                      who + " has 'uses' with '" + (t.matrix ? "matrix" : "for_each") +
                          "': a sub-workflow task runs once",
                      "fan out inside the sub-workflow instead");
    if (!t.uses.empty() && t.repeat)
      return error_at(wf, t.repeat->mark, who + " has 'uses' with 'repeat'");
    bool collector = !t.uses.empty() || t.for_each;
    if (collector && t.approval && t.approval->when != GateWhen::before)
      return error_at(wf, t.approval->mark,
                      who + " collects other tasks: its gate may only stand before it",
                      "use approval: {when: before}, or gate a task inside");
    if (!t.uses.empty() && (t.fallback || t.compensate))
      return error_at(wf, t.fallback ? t.fallback->mark : t.compensate->mark,
                      who + " has 'uses' with '" + (t.fallback ? "fallback" : "compensate") + "'",
                      "give the sub-workflow's own tasks a fallback or compensation");
    return {};
  }

  static std::unexpected<Error> too_many(const Workflow& wf, const TaskSpec& t, size_t n) {
    std::string count = n == SIZE_MAX ? "too many" : std::to_string(n);
    return error_at(wf, t.matrix->mark,
                    "the matrix of task '" + t.id + "' makes " + count + " combinations; at most " +
                        std::to_string(k_max_matrix_instances) + " are allowed",
                    "split the task, or fan out over a list with for_each");
  }

  // `spec` is the file task's, copied (or moved, when nothing reads the file task again).
  uint32_t add_node(TaskSpec spec, std::string id, NodeRole role, uint32_t scope) {
    std::string name = std::move(spec.id);
    spec.id = std::move(id);
    specs.push_back(std::move(spec));
    return add_flow_node(std::move(name), role, scope);
  }

  // The node's entry in flow.nodes and its scope's names; its spec is pushed by the caller.
  uint32_t add_flow_node(std::string name_in_file, NodeRole role, uint32_t scope) {
    FlowNode node;
    node.role = role;
    node.scope = scope;
    node.name = std::move(name_in_file);
    flow.nodes.push_back(std::move(node));
    auto index = static_cast<uint32_t>(flow.nodes.size() - 1);
    const std::string& name = flow.nodes.back().name;
    FlowScope& s = flow.scopes[scope];
    if (s.names.empty() || s.names.back().first != name) {
      s.name_index.emplace(name, s.names.size());
      s.names.emplace_back(name, std::vector<uint32_t>{});
    }
    s.names.back().second.push_back(index);
    return index;
  }

  Result<void> add_matrix(const Workflow& wf, const TaskSpec& t, uint32_t scope) {
    size_t product = matrix_product_size(*t.matrix);
    if (product > k_max_product) return too_many(wf, t, product);
    // Each include entry is checked against every combination: bounded as the instances are.
    if (t.matrix->include.size() > k_max_matrix_instances)
      return error_at(wf, t.matrix->mark,
                      "the matrix of task '" + t.id + "' has " +
                          std::to_string(t.matrix->include.size()) + " include entries; at most " +
                          std::to_string(k_max_matrix_instances) + " are allowed",
                      "split the task, or fan out over a list with for_each");
    auto combos = expand_matrix(*t.matrix);
    if (combos.size() > k_max_matrix_instances) return too_many(wf, t, combos.size());
    if (combos.empty())
      return error_at(wf, t.matrix->mark, "the matrix of task '" + t.id + "' has no combination",
                      "every combination is excluded; remove an 'exclude' entry");
    const std::string& prefix = flow.scopes[scope].prefix;
    for (size_t k = 0; k < combos.size(); ++k) {
      uint32_t i = add_node(t, prefix + matrix_instance_id(t.id, combos[k], k),
                            NodeRole::matrix_instance, scope);
      nlohmann::json values = nlohmann::json::object();
      for (const auto& [key, value] : combos[k]) values[key] = value;
      flow.nodes[i].matrix = std::move(values);
    }
    return {};
  }

  // The `with` of a `uses` task gives the sub-workflow's params: each must be declared there,
  // and every required one without a default must be given (values are checked at run time).
  static Result<void> check_with(const Workflow& wf, const TaskSpec& t, const Workflow& sub) {
    std::vector<std::string> names;
    for (const auto& p : sub.params) names.push_back(p.name);
    std::unordered_set<std::string_view> declared(names.begin(), names.end());
    for (const auto& [key, value] : t.with) {
      if (declared.contains(key)) continue;
      std::string guess = closest_match(key, names);
      return error_at(
          wf, value.mark,
          "sub-workflow " + sub.file + " has no param '" + key + "'" +
              (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
          names.empty() ? "it declares no params" : "its params are: " + join(names, ", "));
    }
    for (const auto& p : sub.params) {
      bool given = std::any_of(t.with.begin(), t.with.end(),
                               [&](const auto& w) { return w.first == p.name; });
      if (p.required && !p.default_value && !given)
        return error_at(wf, t.uses_mark,
                        "sub-workflow " + sub.file + " needs param '" + p.name + "'",
                        "give it under 'with:', e.g. with: {" + p.name + ": value}");
    }
    return {};
  }

  Result<void> add_subflow(const Workflow& wf, const TaskSpec& t, uint32_t node, int depth) {
    auto it = flow.subflows.find(subflow_key(wf, t.uses));
    if (it == flow.subflows.end())
      return error_at(wf, t.uses_mark, "sub-workflow '" + t.uses + "' was not loaded");
    if (depth >= k_max_depth)
      return error_at(wf, t.uses_mark,
                      "sub-workflows nest deeper than " + std::to_string(k_max_depth) + " levels");
    size_t adds = std::max(it->second.tasks.size(), expanded_size(it->second, depth + 1));
    if (adds > k_max_tasks - std::min(k_max_tasks, flow.nodes.size()))
      return error_at(wf, t.uses_mark,
                      "the workflow expands to more than " + std::to_string(k_max_tasks) +
                          " tasks through its sub-workflows",
                      "use each sub-workflow fewer times, or split the work into several runs");
    if (auto cycle = Dag::build(it->second); !cycle) return std::unexpected(cycle.error());
    if (auto ok = check_with(wf, t, it->second); !ok) return ok;
    uint32_t scope = flow.add_scope(it->second, specs[node].id + "/", node);
    flow.nodes[node].child_scope = scope;
    auto members = expand_scope(it->second, it->second.tasks, false, scope, depth + 1);
    if (!members) return std::unexpected(members.error());
    flow.nodes[node].members = std::move(*members);
    return {};
  }

  // Needs by file task id become needs by node id: every instance of a matrix task.
  // Each node's spec still holds its file task's needs (copied with it).
  void map_needs(uint32_t scope, const std::vector<uint32_t>& made) {
    for (uint32_t node : made) {
      TaskSpec& spec = specs[node];
      std::vector<std::string> file_needs = std::move(spec.needs);
      std::vector<Mark> file_marks = std::move(spec.need_marks);
      spec.needs.clear();
      spec.need_marks.clear();
      for (size_t k = 0; k < file_needs.size(); ++k) {
        const auto* targets = flow.lookup(scope, file_needs[k]);
        if (!targets) continue;  // the file's own DAG check has refused it already
        for (uint32_t n : *targets) {
          spec.needs.push_back(specs[n].id);
          spec.need_marks.push_back(k < file_marks.size() ? file_marks[k] : spec.mark);
        }
      }
    }
  }

  // Expands the tasks of one file into nodes of `scope`; returns the scope's own nodes.
  // `owned`: the file tasks are this call's to take apart (the root file's; a sub-workflow's
  // serve every task that uses it). Moving a plain task's spec saves a copy per task.
  Result<std::vector<uint32_t>> expand_scope(const Workflow& wf, std::vector<TaskSpec>& file_tasks,
                                             bool owned, uint32_t scope, int depth) {
    std::vector<uint32_t> made;
    const std::string prefix = flow.scopes[scope].prefix;
    for (TaskSpec& t : file_tasks) {
      if (auto ok = check_kinds(wf, t); !ok) return std::unexpected(ok.error());
      size_t first = flow.nodes.size();
      if (t.matrix) {
        if (auto ok = add_matrix(wf, t, scope); !ok) return std::unexpected(ok.error());
      } else {
        NodeRole role = !t.uses.empty() ? NodeRole::subflow_collector
                        : t.for_each    ? NodeRole::foreach_collector
                                        : NodeRole::task;
        std::string id = prefix + t.id;
        uint32_t node = owned && role != NodeRole::subflow_collector
                            ? add_node(std::move(t), std::move(id), role, scope)
                            : add_node(t, std::move(id), role, scope);
        if (role == NodeRole::subflow_collector)
          if (auto ok = add_subflow(wf, t, node, depth); !ok) return std::unexpected(ok.error());
      }
      for (size_t i = first; i < flow.nodes.size(); ++i)
        if (flow.nodes[i].scope == scope) made.push_back(static_cast<uint32_t>(i));
    }
    map_needs(scope, made);
    return made;
  }
};

}  // namespace

Result<void> expand_flow(Plan& plan) {
  Workflow& root = *plan.workflow;  // compile() has checked its graph: no cycle
  if (!plan.flow) plan.flow = std::make_shared<FlowPlan>();
  FlowPlan& flow = *plan.flow;
  flow.scopes.clear();
  flow.nodes.clear();
  flow.add_scope(root, "", k_no_node);
  Expander e{flow, {}, {}};
  flow.nodes.reserve(root.tasks.size());
  bool one_to_one = std::none_of(root.tasks.begin(), root.tasks.end(), [](const TaskSpec& t) {
    return t.matrix || !t.uses.empty();
  });
  if (one_to_one) {
    // Every task is one node with the same id and needs: the specs stay where they are
    // (a 100,000-task file would otherwise hold two copies of about 1 KiB each per task).
    flow.scopes[0].names.reserve(root.tasks.size());  // exact: one name per task
    flow.scopes[0].name_index.reserve(root.tasks.size());
    for (TaskSpec& t : root.tasks) {
      if (auto ok = Expander::check_kinds(root, t); !ok) return std::unexpected(ok.error());
      t.need_marks.resize(t.needs.size(), t.mark);  // as map_needs would have it
      e.add_flow_node(t.id, t.for_each ? NodeRole::foreach_collector : NodeRole::task, 0);
    }
    return {};
  }
  std::vector<TaskSpec> file_tasks = std::move(root.tasks);
  e.specs.reserve(file_tasks.size());  // exact unless a matrix or a sub-workflow adds nodes
  auto own = e.expand_scope(root, file_tasks, true, 0, 0);
  if (!own) return std::unexpected(own.error());
  root.tasks = std::move(e.specs);
  return {};
}

}  // namespace wfo
