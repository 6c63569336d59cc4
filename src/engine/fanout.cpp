// for_each (issue 5): a fan-out over a list known only at run time. When its collector runs,
// the list is evaluated once and each element becomes an instance `process[<n>]`, appended to
// the plan: a copy of the collector's task (with its needs, its `if` and no gate, which stood
// before the collector), reading its element as `item`. The instances' records carry their
// elements, so a resumed run rebuilds exactly the instances it had (restore_instances) and
// never evaluates the list again.
#include "engine/engine_impl.hpp"
#include "engine/flow.hpp"

namespace wfo {
namespace {

/// The most instances one for_each may make: beyond, a list is more likely a mistake.
constexpr size_t k_max_instances = 10000;

}  // namespace

uint32_t Engine::Impl::add_instance(uint32_t collector, size_t index, const nlohmann::json& item) {
  std::string instance_id = id(collector) + "[" + std::to_string(index) + "]";
  // A plan driven twice (a test harness resuming in-process) has its instances already.
  if (auto existing = plan.find(instance_id)) return *existing;
  FlowPlan& fp = *plan.flow;
  TaskSpec& spec = fp.instance_specs.emplace_back(*plan.tasks[collector].spec);
  spec.id = instance_id;
  spec.for_each.reset();
  spec.approval.reset();
  CompiledTask task = plan.tasks[collector];
  task.spec = &spec;
  task.approval_message.reset();
  plan.tasks.push_back(std::move(task));
  // The collector's node, copied without its members (the instances so far: copying them
  // for each instance made adding N instances O(N^2)) and without its list.
  FlowNode& of = fp.nodes[collector];
  std::vector<uint32_t> members = std::move(of.members);
  Box<CompiledTemplate> list = std::move(of.for_each);
  FlowNode node = of;
  of.members = std::move(members);
  of.for_each = std::move(list);
  node.role = NodeRole::foreach_instance;
  node.item = item;
  node.collector = collector;
  fp.nodes.push_back(std::move(node));
  std::span<const uint32_t> of_collector = plan.dag.needs(collector);
  std::vector<uint32_t> needs(of_collector.begin(), of_collector.end());  // add_node appends
  uint32_t i = plan.dag.add_node(needs, collector);
  plan.index.emplace(instance_id, i);
  fp.nodes[collector].members.push_back(i);
  return i;
}

Result<void> Engine::Impl::start_foreach(uint32_t f) {
  size_t known = plan.flow->nodes[f].members.size();
  if (known > 0)
    return open_collector(f, "again with its " + std::to_string(known) + " instance(s)");
  const CompiledTemplate& list = *plan.flow->nodes[f].for_each;
  auto value = list.parsed.evaluate(context_for(f), flags_for(f));
  if (!value) return finish_task(f, TaskStatus::failed, "for_each: " + value.error().message);
  if (!value->is_array())
    return finish_task(f, TaskStatus::failed,
                       "for_each: " + list.source +
                           " is not a list: " + expr::to_display_string(*value).substr(0, 200) +
                           (value->is_string() ? " (read a JSON text with fromJSON(...))" : ""));
  if (value->size() > k_max_instances)
    return finish_task(f, TaskStatus::failed,
                       "for_each: the list has " + std::to_string(value->size()) +
                           " items; at most " + std::to_string(k_max_instances) + " are allowed");
  std::vector<uint32_t> made;
  for (size_t k = 0; k < value->size(); ++k) made.push_back(add_instance(f, k, (*value)[k]));
  tasks.resize(plan.tasks.size());
  // The detail first: the order in which a call's arguments are evaluated is unspecified,
  // and g++ moved `made` away before it counted it ("0 instance(s)").
  std::string detail = std::to_string(made.size()) + " instance(s)";
  return open_collector(f, std::move(detail), std::move(made));
}

}  // namespace wfo
