// Invariant: m_needs, m_dependents and m_order index tasks in the workflow's order, and
// m_order lists every task once with each need before its dependents.
#include "graph/dag.hpp"

#include <algorithm>
#include <unordered_map>

namespace wfo {
namespace {

// Iterative DFS (a recursive one overflows on a 100,000-task chain) that returns the first
// cycle found as node indices, first node repeated at the end; empty when acyclic.
std::vector<uint32_t> find_cycle(const AdjacencyLists& needs) {
  enum : uint8_t { white, grey, black };
  std::vector<uint8_t> color(needs.size(), white);
  std::vector<std::pair<uint32_t, size_t>> stack;
  for (uint32_t start = 0; start < needs.size(); ++start) {
    if (color[start] != white) continue;
    stack.push_back({start, 0});
    color[start] = grey;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next == needs[node].size()) {
        color[node] = black;
        stack.pop_back();
        continue;
      }
      uint32_t need = needs[node][next++];
      if (color[need] == grey) {
        std::vector<uint32_t> cycle;
        auto it = std::find_if(stack.begin(), stack.end(),
                               [&](const auto& e) { return e.first == need; });
        for (; it != stack.end(); ++it) cycle.push_back(it->first);
        cycle.push_back(need);
        // The stack runs dependent -> need; print it as a need chain like ninja does.
        return cycle;
      }
      if (color[need] == white) {
        color[need] = grey;
        stack.push_back({need, 0});
      }
    }
  }
  return {};
}

}  // namespace

Result<Dag> Dag::build(const Workflow& workflow) {
  Dag dag;
  size_t n = workflow.tasks.size();
  std::unordered_map<std::string_view, uint32_t> index;
  index.reserve(n);
  for (uint32_t i = 0; i < n; ++i) index.emplace(workflow.tasks[i].id, i);
  std::vector<uint32_t> needs;                       // of one task, deduplicated
  std::vector<uint32_t> listed_by(n, UINT32_MAX);    // need -> the last task that listed it
  std::vector<std::pair<uint32_t, uint32_t>> edges;  // (need, dependent), dependents ascending
  size_t listed = 0;
  for (const TaskSpec& task : workflow.tasks) listed += task.needs.size();
  dag.m_needs.reserve(n, listed);
  edges.reserve(listed);
  for (uint32_t i = 0; i < n; ++i) {
    const TaskSpec& task = workflow.tasks[i];
    needs.clear();
    for (size_t k = 0; k < task.needs.size(); ++k) {
      auto it = index.find(task.needs[k]);
      if (it == index.end()) {
        Mark m = k < task.need_marks.size() ? task.need_marks[k] : task.mark;
        return std::unexpected(Error{ErrorKind::invalid_workflow,
                                     "task '" + task.id + "' needs unknown task '" +
                                         task.needs[k] + "'",
                                     workflow.file, m.line, m.column, {}});
      }
      if (listed_by[it->second] != i) {  // O(1) a need, however many a task has
        listed_by[it->second] = i;
        needs.push_back(it->second);
        edges.emplace_back(it->second, i);
      }
    }
    dag.m_needs.append(needs);
  }
  dag.m_dependents = AdjacencyLists::from_pairs(n, edges);
  if (auto cycle = find_cycle(dag.m_needs); !cycle.empty()) {
    std::string text = "dependency cycle: ";
    for (size_t i = 0; i < cycle.size(); ++i) {
      if (i) text += " -> ";
      text += workflow.tasks[cycle[i]].id;
    }
    const TaskSpec& first = workflow.tasks[cycle.front()];
    return std::unexpected(Error{ErrorKind::invalid_workflow, text, workflow.file,
                                 first.mark.line, first.mark.column,
                                 "remove one of these needs to break the cycle"});
  }
  // Kahn's algorithm with a min-heap on index keeps ties in workflow order.
  std::vector<uint32_t> indegree(n);
  std::priority_queue<uint32_t, std::vector<uint32_t>, std::greater<>> ready;
  for (uint32_t i = 0; i < n; ++i) {
    indegree[i] = static_cast<uint32_t>(dag.m_needs[i].size());
    if (indegree[i] == 0) ready.push(i);
  }
  dag.m_order.reserve(n);
  while (!ready.empty()) {
    uint32_t node = ready.top();
    ready.pop();
    dag.m_order.push_back(node);
    for (uint32_t d : dag.m_dependents[node])
      if (--indegree[d] == 0) ready.push(d);
  }
  return dag;
}

uint32_t AdjacencyLists::append(std::span<const uint32_t> items) {
  m_items.insert(m_items.end(), items.begin(), items.end());
  m_start.push_back(static_cast<uint32_t>(m_items.size()));
  return static_cast<uint32_t>(size() - 1);
}

AdjacencyLists AdjacencyLists::from_pairs(size_t count,
                                          const std::vector<std::pair<uint32_t, uint32_t>>& pairs) {
  // A counting sort: the size of each list, then each item at its list's next free slot.
  AdjacencyLists lists;
  lists.m_start.assign(count + 1, 0);
  for (const auto& [node, item] : pairs) ++lists.m_start[node + 1];
  for (size_t i = 0; i < count; ++i) lists.m_start[i + 1] += lists.m_start[i];
  lists.m_items.resize(pairs.size());
  std::vector<uint32_t> next(lists.m_start.begin(), lists.m_start.end() - 1);
  for (const auto& [node, item] : pairs) lists.m_items[next[node]++] = item;
  return lists;
}

uint32_t Dag::add_node(std::span<const uint32_t> needs, uint32_t before) {
  uint32_t node = m_needs.append(needs);
  m_dependents.append({});
  m_added.emplace_back(before, node);
  return node;
}

// Each added node goes just before its `before`, after the nodes added before that one
// earlier (as inserting each in turn did); `before` may itself be an added node. One pass.
void Dag::place_added() const {
  std::unordered_map<uint32_t, std::vector<uint32_t>> placed_before;
  std::vector<uint32_t> at_end;  // a `before` that is no node: the end, as a failed search
  for (auto [before, node] : m_added) {
    if (before < node)
      placed_before[before].push_back(node);
    else
      at_end.push_back(node);
  }
  m_added.clear();
  std::vector<uint32_t> order;
  order.reserve(size());
  std::vector<std::pair<uint32_t, size_t>> stack;  // a node, and how many placed before it
  auto emit = [&](uint32_t first) {
    stack.emplace_back(first, 0);
    while (!stack.empty()) {
      auto [x, k] = stack.back();
      auto it = placed_before.find(x);
      if (it != placed_before.end() && k < it->second.size()) {
        stack.back().second = k + 1;
        stack.emplace_back(it->second[k], 0);
        continue;
      }
      order.push_back(x);
      stack.pop_back();
    }
  };
  for (uint32_t n : m_order) emit(n);
  for (uint32_t n : at_end) emit(n);
  m_order = std::move(order);
}

bool Dag::is_direct_need(size_t need, size_t node) const {
  std::span<const uint32_t> direct = m_needs[node];
  if (direct.size() <= 16) return std::find(direct.begin(), direct.end(), need) != direct.end();
  if (node != m_direct_node || m_direct_marks.size() != size()) {
    if (m_direct_marks.size() != size() || m_direct_stamp == UINT32_MAX) {
      m_direct_marks.assign(size(), 0);
      m_direct_stamp = 0;
    }
    ++m_direct_stamp;
    m_direct_node = node;
    for (uint32_t n : direct) m_direct_marks[n] = m_direct_stamp;
  }
  return m_direct_marks[need] == m_direct_stamp;
}

bool Dag::is_upstream(size_t ancestor, size_t node) const {
  // A direct need is the usual case (a task reads what it needs): answered without the walk.
  if (is_direct_need(ancestor, node)) return true;
  std::span<const uint32_t> direct = m_needs[node];
  if (m_reaches.size() >= 64 && !m_reaches.count(ancestor)) m_reaches.clear();
  std::vector<uint8_t>& reaches = m_reaches[ancestor];
  if (reaches.size() != size()) reaches.assign(size(), 0);
  if (reaches[node] != 0) return reaches[node] == 1;
  if (m_visited.size() != size() || m_walk == UINT32_MAX) {
    m_visited.assign(size(), 0);
    m_walk = 0;
  }
  ++m_walk;
  std::vector<uint32_t> stack(direct.begin(), direct.end()), seen;
  bool found = false;
  while (!stack.empty() && !found) {
    uint32_t n = stack.back();
    stack.pop_back();
    if (n == ancestor || reaches[n] == 1) found = true;
    if (found || reaches[n] == 2 || m_visited[n] == m_walk) continue;
    m_visited[n] = m_walk;
    seen.push_back(n);
    std::span<const uint32_t> needs = m_needs[n];
    stack.insert(stack.end(), needs.begin(), needs.end());
  }
  reaches[node] = found ? 1 : 2;
  // Every task the walk went through without finding it does not reach it either.
  if (!found)
    for (uint32_t n : seen) reaches[n] = 2;
  return found;
}

}  // namespace wfo
