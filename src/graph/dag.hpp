#pragma once
// The task graph: nodes are task indices in workflow order, edges run from a need to its
// dependents. Built once per load; everything after is O(1) or O(edges) in total.

#include <cstdint>
#include <queue>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo {

/// One list of node indices per node, all in one array (compressed sparse rows): a 4-byte
/// offset per node instead of a 24-byte vector and a heap block of its own, two allocations
/// for a whole graph, and lists next to each other in memory. Nodes are only appended.
class AdjacencyLists {
 public:
  /// The number of nodes.
  size_t size() const { return m_start.size() - 1; }
  /// The list of `node`, which must be below size().
  std::span<const uint32_t> operator[](size_t node) const {
    return {m_items.data() + m_start[node], m_items.data() + m_start[node + 1]};
  }
  /// Adds a node whose list is `items`, which must not point into these lists (appending may
  /// move them); returns the node's index.
  uint32_t append(std::span<const uint32_t> items);
  /// Makes room for `nodes` more nodes with `items` more items in all.
  void reserve(size_t nodes, size_t items) {
    m_start.reserve(m_start.size() + nodes);
    m_items.reserve(m_items.size() + items);
  }
  /// Makes the lists of `count` nodes at once, from (node, item) pairs: each node's list holds
  /// its items in the order of `pairs`. O(count + pairs).
  static AdjacencyLists from_pairs(size_t count,
                                   const std::vector<std::pair<uint32_t, uint32_t>>& pairs);

 private:
  std::vector<uint32_t> m_start{0};  ///< node i's items are m_items[m_start[i], m_start[i + 1])
  std::vector<uint32_t> m_items;
};

/// An immutable DAG over a workflow's tasks.
class Dag {
 public:
  /// Builds the DAG of `workflow.tasks` (needs by id). Errors (ErrorKind::invalid_workflow,
  /// at the first task of the cycle): `dependency cycle: build -> test -> build`, as ninja
  /// prints it; an unknown need (normally caught by the loader) is reported too.
  static Result<Dag> build(const Workflow& workflow);

  size_t size() const { return m_needs.size(); }
  /// Indices of the tasks `node` needs (deduplicated), in the order the task lists them.
  std::span<const uint32_t> needs(size_t node) const { return m_needs[node]; }
  /// Indices of the tasks that need `node`, lowest first.
  std::span<const uint32_t> dependents(size_t node) const { return m_dependents[node]; }
  /// A topological order: needs before dependents, ties in workflow order. O(V+E) at the
  /// build; after add_node, the first call places the nodes added since in one pass, O(V).
  /// Not safe to call from two threads at once.
  const std::vector<uint32_t>& topological_order() const {
    if (!m_added.empty()) place_added();
    return m_order;
  }
  /// True when `ancestor` is reachable from `node` through needs. A walk of `node`'s
  /// ancestors, O(V+E) at worst, which remembers what it learnt about `ancestor` (for up to
  /// 64 ancestors at a time): many tasks reading one task they do not need directly, as
  /// every task of a chain reading its first, cost O(V+E) in all, not per task. A direct
  /// need is found in O(1) when the same node asks again (a join reading its K needs is
  /// O(K), not O(K^2)). Not safe to call from two threads at once.
  bool is_upstream(size_t ancestor, size_t node) const;
  /// True when `node` lists `need` among its needs: a search of a short list, else marks of
  /// the node's needs set once per node asked about (O(1) when the same node asks again).
  /// Not safe to call from two threads at once.
  bool is_direct_need(size_t need, size_t node) const;

  /// Adds a node that needs `needs`, placed in the topological order just before `before`
  /// (the engine adds a for_each task's instances so, once their list is known). The needs do
  /// not list the new node among their dependents: they must have finished already. Returns
  /// the new node's index. `needs` must not point into this Dag. O(needs): its place in the
  /// order is taken when the order is next read (K instances in a DAG of V nodes were
  /// O(K x V), a search and an insert each).
  uint32_t add_node(std::span<const uint32_t> needs, uint32_t before);

 private:
  AdjacencyLists m_needs;
  AdjacencyLists m_dependents;
  mutable std::vector<uint32_t> m_order;
  /// Nodes added and not yet placed in m_order: (before, node), in the order added.
  mutable std::vector<std::pair<uint32_t, uint32_t>> m_added;
  void place_added() const;
  /// is_upstream's memory: per ancestor, per node, 1 if it reaches the ancestor, 2 if not,
  /// 0 if unknown; and its visited marks (the walk's number), kept between calls.
  mutable std::unordered_map<size_t, std::vector<uint8_t>> m_reaches;
  mutable std::vector<uint32_t> m_visited;
  mutable uint32_t m_walk = 0;
  /// The direct needs of the node asked about last, marked with m_direct_stamp.
  mutable size_t m_direct_node = SIZE_MAX;
  mutable std::vector<uint32_t> m_direct_marks;
  mutable uint32_t m_direct_stamp = 0;
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
