// The drive's side of collectors and groups (engine/flow.hpp), called from hooks in the drive
// loop. Invariants, on top of engine_impl.hpp's:
// - A member of a collector (a for_each instance, a sub-workflow's task) is resolved only
//   while its collector runs; until then resolve() holds it, unresolved.
// - A collector runs once its own needs, `if` and gate let it: it then resolves its members,
//   and ends, with one summary attempt holding its outputs, when they all have ended. A
//   collector that ends without running (skipped, gate rejected) skips its members.
// - A failed instance of a matrix or for_each group with fail_fast cancels the instances
//   that have not started; a group runs at most its task's max_parallel attempts at once.
#include <algorithm>
#include <filesystem>
#include <tuple>

#include "engine/engine_impl.hpp"
#include "engine/flow.hpp"
#include "util/file.hpp"

namespace wfo {

bool Engine::Impl::held(uint32_t i) const {
  uint32_t c = plan.flow->holder_of(i);
  return c != k_no_node && tasks[c].status != TaskStatus::running;
}

void Engine::Impl::count_group_attempt(uint32_t i, int change) {
  if (!plan.tasks[i].spec->max_parallel) return;
  uint32_t key = plan.flow->group_key(i);
  if (key == k_no_node) return;
  flow.group_running[key] += change;
  if (change < 0) release_group_waiter(i);
}

void Engine::Impl::release_group_waiter(uint32_t i) {
  const std::optional<int>& limit = plan.tasks[i].spec->max_parallel;
  if (!limit) return;
  uint32_t key = plan.flow->group_key(i);
  if (key == k_no_node || flow.group_running[key] >= *limit) return;
  // The oldest task that waited for a slot goes back to the ready queue (O(1) per attempt,
  // however many wait); start_ready checks the group again.
  auto it = flow.group_waiting.find(key);
  if (it == flow.group_waiting.end() || it->second.empty()) return;
  uint32_t next = it->second.front();
  it->second.pop_front();
  ready.push(next, plan.tasks[next].spec->priority, next);
}

Result<bool> Engine::Impl::start_flow(uint32_t i) {
  if (is_final(tasks[i].status)) return true;  // cancelled by fail_fast while it waited
  NodeRole role = plan.flow->nodes[i].role;
  if (role == NodeRole::foreach_collector || role == NodeRole::subflow_collector) {
    auto ok = role == NodeRole::foreach_collector ? start_foreach(i) : start_subflow(i);
    if (!ok) return std::unexpected(ok.error());
    return true;
  }
  const std::optional<int>& limit = plan.tasks[i].spec->max_parallel;
  if (!limit) return false;
  uint32_t key = plan.flow->group_key(i);
  if (key == k_no_node || flow.group_running[key] < *limit) return false;
  flow.group_waiting[key].push_back(i);  // until an attempt of the group ends
  return true;
}

Result<void> Engine::Impl::settled(uint32_t i) {
  if (stop != StopMode::none) return {};  // finish_stopped() ends what is left
  const CompiledTask& task = plan.tasks[i];
  if (tasks[i].status == TaskStatus::failed && !task.spec->continue_on_error &&
      task.spec->fail_fast) {
    // As GitHub Actions' fail-fast, but only for instances that have not started.
    for (uint32_t s : plan.flow->group_of(i))
      if (s != i && tasks[s].status == TaskStatus::pending && !tasks[s].running)
        if (auto ok = finish_task(s, TaskStatus::cancelled, "fail_fast: '" + id(i) + "' failed");
            !ok)
          return ok;
  }
  NodeRole role = plan.flow->nodes[i].role;
  if (role == NodeRole::foreach_collector || role == NodeRole::subflow_collector) {
    std::vector<uint32_t> members = plan.flow->nodes[i].members;
    std::string why = "'" + id(i) + "' " + std::string(to_string(tasks[i].status));
    for (uint32_t m : members)
      if (!is_final(tasks[m].status))
        if (auto ok = finish_task(m, TaskStatus::skipped, why); !ok) return ok;
  }
  uint32_t c = plan.flow->holder_of(i);
  if (c == k_no_node || tasks[c].status != TaskStatus::running) return {};
  const auto& members = plan.flow->nodes[c].members;
  size_t& ended = flow.members_ended[c];
  while (ended < members.size() && is_final(tasks[members[ended]].status)) ++ended;
  // Checked in full once at the end, in case a member counted has not stayed ended.
  if (ended == members.size() && std::all_of(members.begin(), members.end(),
                                             [&](uint32_t m) { return is_final(tasks[m].status); }))
    return complete_collector(c);
  return {};
}

Result<void> Engine::Impl::open_collector(uint32_t c, std::string detail,
                                          std::vector<uint32_t> made) {
  tasks[c].status = TaskStatus::running;
  tasks[c].reason.clear();
  flow.opened_at[c] = clock.system_now();
  Transition tr;
  tr.tasks.push_back(task_record(c));
  for (uint32_t m : made) {
    TaskRecord r = task_record(m);
    r.item = plan.flow->nodes[m].item;
    tr.tasks.push_back(std::move(r));
  }
  tr.events.push_back(event("task_started", c, std::move(detail)));
  if (auto ok = commit(std::move(tr)); !ok) return ok;
  std::vector<uint32_t> members = plan.flow->nodes[c].members;
  for (uint32_t m : members)
    if (!is_final(tasks[m].status) && tasks[m].waiting_needs == 0)
      if (auto ok = resolve(m); !ok) return ok;
  bool done = std::all_of(members.begin(), members.end(),
                          [&](uint32_t m) { return is_final(tasks[m].status); });
  if (done && tasks[c].status == TaskStatus::running) return complete_collector(c);
  return {};
}

Result<void> Engine::Impl::complete_collector(uint32_t c) {
  const FlowNode& node = plan.flow->nodes[c];
  TaskStatus status = TaskStatus::succeeded;
  std::string reason, summary;
  std::vector<nlohmann::json> per_instance;
  for (uint32_t m : node.members) {
    const TaskRun& t = tasks[m];
    summary += id(m) + " " + std::string(to_string(t.status)) +
               (t.reason.empty() ? "" : ": " + t.reason) + "\n";
    bool broke = (t.status == TaskStatus::failed && !plan.tasks[m].spec->continue_on_error) ||
                 t.status == TaskStatus::cancelled;
    if (broke && status == TaskStatus::succeeded) {
      status = TaskStatus::failed;
      reason = "task '" + id(m) + "' " + std::string(to_string(t.status));
    }
    per_instance.push_back(task_view(m, k_no_node, k_read_all)["outputs"]);
  }
  nlohmann::json outputs = nlohmann::json::object();
  if (status == TaskStatus::succeeded) {
    if (node.role == NodeRole::foreach_collector) {
      outputs = gather_outputs(per_instance, plan.tasks[c].spec->outputs);
    } else if (auto declared = scope_outputs(node.child_scope); declared) {
      outputs = std::move(*declared);
    } else {
      status = TaskStatus::failed;
      reason = "outputs: " + declared.error().message;
    }
  }
  if (status == TaskStatus::succeeded) tasks[c].outputs = outputs;
  if (auto ok = record_summary(c, status == TaskStatus::succeeded, reason, outputs, summary); !ok)
    return ok;
  return finish_task(c, status, reason);
}

// A collector's summary attempt: its members' outcome, its outputs, a log listing members.
Result<void> Engine::Impl::record_summary(uint32_t c, bool succeeded, const std::string& reason,
                                          const nlohmann::json& outputs,
                                          const std::string& summary) {
  TaskRun& t = tasks[c];
  AttemptRecord a;
  a.task_id = id(c);
  a.number = ++t.attempts;
  a.status = succeeded ? AttemptStatus::succeeded : AttemptStatus::failed;
  a.ended_at = clock.system_now();
  auto opened = flow.opened_at.find(c);
  a.started_at = opened != flow.opened_at.end() ? opened->second : *a.ended_at;
  a.reason = reason;
  a.outputs = outputs;
  a.log_path = file_stem(c, a.number) + ".log";
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  (void)write_file_atomic(a.log_path, summary);  // for `wfo logs`; best effort
  Transition tr;
  tr.attempts.push_back(a);
  tr.events.push_back(event("attempt_" + std::string(to_string(a.status)), c, reason, a.number));
  return commit(std::move(tr));
}

uint32_t Engine::Impl::holder(uint32_t n) const {
  const FlowNode& node = plan.flow->nodes[n];
  if (node.collector != k_no_node) return node.collector;
  return plan.flow->scopes[node.scope].collector;
}

void Engine::Impl::restore_instances(const RunSnapshot& snapshot) {
  struct Found {
    uint32_t collector;
    size_t index;
    const nlohmann::json* item;
  };
  std::vector<Found> found;
  for (const TaskRecord& rec : snapshot.tasks) {
    size_t open = rec.id.rfind('[');
    if (!rec.item || plan.find(rec.id) || open == std::string::npos || rec.id.back() != ']')
      continue;
    auto c = plan.find(rec.id.substr(0, open));
    if (!c || plan.flow->nodes[*c].role != NodeRole::foreach_collector) continue;
    size_t index = std::strtoul(rec.id.c_str() + open + 1, nullptr, 10);
    found.push_back(Found{*c, index, &*rec.item});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return std::tie(a.collector, a.index) < std::tie(b.collector, b.index);
  });
  for (const Found& f : found) add_instance(f.collector, f.index, *f.item);
}

Result<void> Engine::Impl::prepare_flow(const RunSnapshot& snapshot) {
  for (const TaskRecord& rec : snapshot.tasks) {
    auto i = plan.find(rec.id);
    if (!i || !plan.flow->nodes[*i].until) continue;
    int runs = 0;
    for (const AttemptRecord& a : rec.attempts)
      if (a.number > tasks[*i].budget_base && a.kind == AttemptKind::main &&
          a.status == AttemptStatus::succeeded)
        ++runs;
    flow.repetitions[*i] = runs;
  }
  // A collector that will run again runs its skipped or cancelled members again. Collectors
  // come before their members, so an inner collector made pending here is seen after.
  Transition tr;
  for (uint32_t c = 0; c < tasks.size(); ++c) {
    NodeRole role = plan.flow->nodes[c].role;
    if ((role != NodeRole::foreach_collector && role != NodeRole::subflow_collector) ||
        tasks[c].status != TaskStatus::pending)
      continue;
    for (uint32_t m : plan.flow->nodes[c].members) {
      TaskRun& t = tasks[m];
      if (t.status != TaskStatus::skipped && t.status != TaskStatus::cancelled) continue;
      t.status = TaskStatus::pending;
      t.reason.clear();
      t.ended_at.reset();
      tr.tasks.push_back(task_record(m));
    }
  }
  if (tr.tasks.empty()) return {};
  return commit(std::move(tr));
}

}  // namespace wfo
