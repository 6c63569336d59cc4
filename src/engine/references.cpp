// What an expression may read, by where it stands (issue 5, static checks): task names
// resolve in the reader's scope (a sub-workflow reads its own tasks, never its parent's);
// `inputs` exist only in an agent's command, `matrix` only in a matrix task, `item` only in
// a for_each task's per-instance templates. Each refusal names the file, line and column.
#include <algorithm>
#include <set>

#include "engine/flow.hpp"
#include "util/strings.hpp"

namespace wfo {
namespace {

ContextReads& reads_of(FlowPlan& flow, uint32_t reader) {
  Box<ContextReads>& reads = flow.nodes[reader].reads;
  if (!reads) reads = ContextReads{};
  return *reads;
}

std::unexpected<Error> error_at(const Workflow& wf, Mark at, std::string message,
                                std::string hint = {}) {
  return std::unexpected(Error{ErrorKind::invalid_workflow, std::move(message), wf.file, at.line,
                               at.column, std::move(hint)});
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& known) {
  std::string guess = closest_match(name, known);
  return guess.empty() ? "" : " (did you mean '" + guess + "'?)";
}

Result<void> check_task_read(Plan& plan, const Workflow& wf, uint32_t scope,
                             const expr::Reference& ref, std::optional<uint32_t> reader) {
  FlowPlan& flow = *plan.flow;
  const std::string& name = ref.path[1];
  std::vector<uint32_t> targets;
  if (reader && flow.nodes[*reader].name == name) {
    targets = {*reader};
  } else if (const auto* found = flow.lookup(scope, name)) {
    targets = *found;
  } else {
    std::vector<std::string> names;
    for (const auto& entry : flow.scopes[scope].names) names.push_back(entry.first);
    return error_at(wf, ref.mark,
                    "unknown task '" + name + "' in expression" + did_you_mean(name, names));
  }
  for (uint32_t t : targets) {
    if (reader && t != *reader && !plan.dag.is_upstream(t, *reader))
      return error_at(wf, ref.mark,
                      "task '" + flow.nodes[*reader].name + "' reads task '" + name +
                          "', which it does not need",
                      "add '" + name + "' to its needs (directly or through another task)");
  }
  const auto& path = ref.path;
  TaskRead read{name, {}};
  if (path.size() >= 4 && path[2] == "outputs")
    read.outputs.names.push_back(path[3]);
  else if (path.size() < 3 || (path[2] != "status" && path[2] != "exit_code"))
    read.outputs.all = true;  // the task whole, its outputs whole, or a name in another case
  // Merged by compile() at its end (merge_reads).
  (reader ? reads_of(flow, *reader).tasks : flow.scopes[scope].output_reads)
      .push_back(std::move(read));
  return {};
}

Result<void> check_matrix_read(const Plan& plan, const Workflow& wf, const expr::Reference& ref,
                               std::optional<uint32_t> reader) {
  const FlowPlan& flow = *plan.flow;
  if (!reader || flow.nodes[*reader].role != NodeRole::matrix_instance)
    return error_at(wf, ref.mark, "'matrix' is only available in a task with a matrix",
                    "give the task a matrix, or read a param or an output instead");
  if (ref.path.size() < 2) return {};
  // An axis of any instance (an include entry may add a key to some of them only): the
  // reader's own first, so that K reads in each of N instances are O(N x K), not O(N^2 x K).
  const std::string& axis = ref.path[1];
  if (flow.nodes[*reader].matrix.contains(axis)) return {};
  const std::vector<uint32_t>* group =
      flow.lookup(flow.nodes[*reader].scope, flow.nodes[*reader].name);
  for (uint32_t n : *group)
    if (flow.nodes[n].matrix.contains(axis)) return {};
  std::set<std::string> keys;
  for (uint32_t n : *group)
    for (const auto& [key, value] : flow.nodes[n].matrix.items()) keys.insert(key);
  return error_at(
      wf, ref.mark,
      "unknown matrix axis '" + axis + "'" + did_you_mean(axis, {keys.begin(), keys.end()}));
}

Result<void> check_item_read(const Plan& plan, const Workflow& wf, const expr::Reference& ref,
                             std::optional<uint32_t> reader, TemplatePlace place) {
  if (!reader || plan.flow->nodes[*reader].role != NodeRole::foreach_collector)
    return error_at(wf, ref.mark, "'item' is only available in a task with for_each",
                    "fan the task out with for_each: ${{ fromJSON(...) }}");
  if (place == TemplatePlace::once)
    return error_at(wf, ref.mark,
                    "'item' is not available here: a for_each task's 'if', gate message and "
                    "list are evaluated once, before its instances exist");
  return {};
}

void sort_unique(std::vector<std::string>& names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
}

}  // namespace

void merge_task_reads(std::vector<TaskRead>& reads) {
  std::stable_sort(reads.begin(), reads.end(),
                   [](const TaskRead& a, const TaskRead& b) { return a.name < b.name; });
  size_t kept = 0;
  for (size_t k = 0; k < reads.size(); ++k) {
    if (kept > 0 && reads[kept - 1].name == reads[k].name) {
      NameReads& into = reads[kept - 1].outputs;
      into.all = into.all || reads[k].outputs.all;
      for (auto& n : reads[k].outputs.names) into.names.push_back(std::move(n));
      continue;
    }
    if (kept != k) reads[kept] = std::move(reads[k]);
    ++kept;
  }
  reads.resize(kept);
  for (TaskRead& r : reads) sort_unique(r.outputs.names);
}

void merge_reads(ContextReads& reads) {
  merge_task_reads(reads.tasks);
  sort_unique(reads.params.names);
  sort_unique(reads.env.names);
}

Result<void> check_flow_reference(Plan& plan, const Workflow& wf, uint32_t scope,
                                  const expr::Reference& ref, std::optional<uint32_t> reader,
                                  TemplatePlace place) {
  const auto& path = ref.path;
  if (path.empty()) return {};
  if (reader && (path[0] == "params" || path[0] == "env")) {
    ContextReads& reads = reads_of(*plan.flow, *reader);
    NameReads& part = path[0] == "params" ? reads.params : reads.env;
    if (path.size() >= 2)
      part.names.push_back(path[1]);  // made unique by compile() at its end
    else
      part.all = true;
    return {};
  }
  if (path[0] == "tasks" && path.size() >= 2) return check_task_read(plan, wf, scope, ref, reader);
  if (path[0] == "inputs" && place != TemplatePlace::agent_command)
    return error_at(wf, ref.mark, "'inputs' is only available in an agent's command",
                    "pass values to an agent with 'with:'; elsewhere read params or outputs");
  if (path[0] == "matrix") return check_matrix_read(plan, wf, ref, reader);
  if (path[0] == "item") return check_item_read(plan, wf, ref, reader, place);
  return {};
}

}  // namespace wfo
