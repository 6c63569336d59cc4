#pragma once
// The task graph: nodes are task indices in workflow order, edges run from a need to its
// dependents. Built once per load; everything after is O(1) or O(edges) in total.

#include <cstdint>
#include <queue>
#include <string>
#include <vector>

#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo {

/// An immutable DAG over a workflow's tasks.
class Dag {
 public:
  /// Builds the DAG of `workflow.tasks` (needs by id). Errors (ErrorKind::invalid_workflow,
  /// at the first task of the cycle): `dependency cycle: build -> test -> build`, as ninja
  /// prints it; an unknown need (normally caught by the loader) is reported too.
  static Result<Dag> build(const Workflow& workflow);

  size_t size() const { return m_needs.size(); }
  /// Indices of the tasks `node` needs (deduplicated).
  const std::vector<uint32_t>& needs(size_t node) const { return m_needs[node]; }
  /// Indices of the tasks that need `node`.
  const std::vector<uint32_t>& dependents(size_t node) const { return m_dependents[node]; }
  /// A topological order: needs before dependents, ties in workflow order. O(V+E).
  const std::vector<uint32_t>& topological_order() const { return m_order; }
  /// True when `ancestor` is reachable from `node` through needs. O(V+E) per call.
  bool is_upstream(size_t ancestor, size_t node) const;

  /// Adds a node that needs `needs`, placed in the topological order just before `before`
  /// (the engine adds a for_each task's instances so, once their list is known). The needs do
  /// not list the new node among their dependents: they must have finished already. Returns
  /// the new node's index. O(V).
  uint32_t add_node(std::vector<uint32_t> needs, uint32_t before);

 private:
  std::vector<std::vector<uint32_t>> m_needs;
  std::vector<std::vector<uint32_t>> m_dependents;
  std::vector<uint32_t> m_order;
};

/// Tasks ready to start, highest priority first, then lowest sequence (workflow or
/// topological order) first (spec: `priority`). push and pop are O(log n).
class ReadyQueue {
 public:
  void push(uint32_t node, int priority, uint32_t sequence) {
    m_heap.push(Entry{priority, sequence, node});
  }
  bool empty() const { return m_heap.empty(); }
  size_t size() const { return m_heap.size(); }
  uint32_t top() const { return m_heap.top().node; }
  void pop() { m_heap.pop(); }

 private:
  struct Entry {
    int priority;
    uint32_t sequence;
    uint32_t node;
    bool operator<(const Entry& o) const {
      if (priority != o.priority) return priority < o.priority;
      return sequence > o.sequence;
    }
  };
  std::priority_queue<Entry> m_heap;
};

}  // namespace wfo
