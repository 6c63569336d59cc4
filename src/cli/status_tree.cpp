// The tree is built over the run's task records, not the graph's tasks: a run may hold
// instances the plan only learns while driving. Each record finds its needs through the graph
// (by its id, or by its base id before `[`), and the records that fill them (the need's own
// record, else its instances). Every record is printed exactly once.
#include "cli/status_tree.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "util/duration.hpp"
#include "util/strings.hpp"

namespace wfo::cli {
namespace {

struct Node {
  size_t topo = SIZE_MAX;        ///< position of its plan task in topological order
  std::vector<size_t> needs;     ///< record indices
  std::vector<size_t> children;  ///< record indices, in topological order
};

std::optional<uint32_t> graph_index(const TaskGraph& graph, const std::string& id) {
  auto it = graph.index.find(id);
  if (it != graph.index.end()) return it->second;
  size_t bracket = id.find('[');
  if (bracket == std::string::npos) return std::nullopt;
  it = graph.index.find(id.substr(0, bracket));
  return it == graph.index.end() ? std::nullopt : std::optional<uint32_t>(it->second);
}

std::vector<Node> build_nodes(const RunSnapshot& run, const TaskGraph& graph) {
  std::vector<Node> nodes(run.tasks.size());
  std::vector<std::optional<uint32_t>> task_of(run.tasks.size());
  std::vector<std::vector<size_t>> records_of(graph.ids.size());  // graph task -> records
  for (size_t r = 0; r < run.tasks.size(); ++r)
    if ((task_of[r] = graph_index(graph, run.tasks[r].id))) {
      nodes[r].topo = *task_of[r];
      records_of[*task_of[r]].push_back(r);
    }
  for (size_t r = 0; r < run.tasks.size(); ++r) {
    if (!task_of[r]) continue;
    for (uint32_t n : graph.needs[*task_of[r]])
      for (size_t need : records_of[n])
        if (need != r) nodes[r].needs.push_back(need);
  }
  return nodes;
}

std::string task_text(const TaskRecord& t, SystemTime now) {
  std::string line =
      std::string(status_symbol(t.status)) + " " + t.id + " " + std::string(to_string(t.status));
  if (t.status == TaskStatus::retrying && t.next_attempt_at) {
    auto left = std::max(std::chrono::milliseconds{0}, *t.next_attempt_at - now);
    line += ": retrying in " + format_duration(left) + " (" + t.reason + ")";
  } else if (!t.reason.empty()) {
    line += ": " + t.reason;
  }
  return line;
}

std::vector<std::string> details(const GatesByTask& gates, const TaskRecord& t) {
  std::vector<std::string> out;
  for (const auto& a : t.attempts) {
    std::string al = "attempt " + std::to_string(a.number) + " " + std::string(to_string(a.status));
    if (a.kind == AttemptKind::fallback) al += " (fallback)";
    if (a.kind == AttemptKind::compensate) al += " (compensation)";
    if (a.ended_at) al += " in " + format_duration(*a.ended_at - a.started_at);
    if (a.delay_ms > 0)
      al += ", after " + format_duration(std::chrono::milliseconds{a.delay_ms}) + " (" +
            a.delay_reason + ")";
    if (!a.reason.empty()) al += ": " + a.reason;
    out.push_back(al);
  }
  if (auto found = gates.find(t.id); found != gates.end()) {
    const GateRecord& g = *found->second;
    std::string gl = "gate (" + g.when + ") " + std::string(to_string(g.status));
    if (g.decided_by) gl += " by " + *g.decided_by;
    if (!g.comment.empty()) gl += ": " + g.comment;
    if (g.status == GateStatus::waiting) gl += ": " + g.message;
    out.push_back(gl);
  }
  return out;
}

/// The deepest indentation of the status tree, in levels of three columns.
constexpr size_t k_max_depth = 20;

class Printer {
 public:
  Printer(const RunSnapshot& run, std::vector<Node> nodes, SystemTime now)
      : m_run(run), m_gates(gates_by_task(run)), m_nodes(std::move(nodes)), m_now(now) {}

  /// Prints root `root` and the tasks under it, depth first. A child is indented one level
  /// more than its parent, up to k_max_depth levels: below that a chain goes on at the same
  /// indentation, so that the text grows with the tasks, not with their square, and no
  /// recursion is as deep as the DAG.
  void print(size_t root) {
    struct Frame {
      size_t r;
      std::string lead;  ///< starts this task's line
      std::string rest;  ///< starts the lines below it
      size_t parent;
      size_t depth;
    };
    std::vector<Frame> stack{{root, "  ", "  ", SIZE_MAX, 0}};
    while (!stack.empty()) {
      Frame f = std::move(stack.back());
      stack.pop_back();
      std::string line = task_text(m_run.tasks[f.r], m_now);
      std::vector<std::string> others;
      for (size_t n : m_nodes[f.r].needs)
        if (n != f.parent) others.push_back(m_run.tasks[n].id);
      if (f.parent != SIZE_MAX && !others.empty())
        line += " (also needs " + join(others, ", ") + ")";
      m_out += f.lead + line + "\n";
      const auto& children = m_nodes[f.r].children;
      for (const auto& d : details(m_gates, m_run.tasks[f.r]))
        m_out += f.rest + (children.empty() ? "      " : "│     ") + d + "\n";
      bool deeper = f.depth < k_max_depth;
      for (size_t k = children.size(); k-- > 0;) {
        bool last = k + 1 == children.size();
        stack.push_back(Frame{children[k], f.rest + (last ? "└─ " : "├─ "),
                              deeper ? f.rest + (last ? "   " : "│  ") : f.rest, f.r, f.depth + 1});
      }
    }
  }
  const std::string& text() const { return m_out; }

 private:
  const RunSnapshot& m_run;
  GatesByTask m_gates;
  std::vector<Node> m_nodes;
  SystemTime m_now;
  std::string m_out;
};

}  // namespace

std::string_view status_symbol(TaskStatus s) {
  switch (s) {
    case TaskStatus::succeeded:
      return "✓";
    case TaskStatus::failed:
      return "✗";
    case TaskStatus::running:
      return "●";
    case TaskStatus::retrying:
      return "↻";
    case TaskStatus::waiting_approval:
      return "⏸";
    case TaskStatus::pending:
      return "○";
    case TaskStatus::skipped:
      return "⊘";
    case TaskStatus::cancelled:
      return "■";
  }
  return "?";
}

TaskGraph TaskGraph::from_plan(const Plan& plan) {
  TaskGraph g;
  const auto& order = plan.dag.topological_order();
  std::vector<uint32_t> position(plan.tasks.size(), 0);
  for (size_t k = 0; k < order.size(); ++k) position[order[k]] = static_cast<uint32_t>(k);
  g.ids.reserve(order.size());
  g.needs.reserve(order.size());
  for (uint32_t i : order) {
    g.index.emplace(plan.tasks[i].spec->id, static_cast<uint32_t>(g.ids.size()));
    g.ids.push_back(plan.tasks[i].spec->id);
    std::vector<uint32_t>& needs = g.needs.emplace_back();
    for (uint32_t n : plan.dag.needs(i)) needs.push_back(position[n]);
  }
  return g;
}

std::optional<TaskGraph> TaskGraph::from_json(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  TaskGraph g;
  g.ids.reserve(j.size());
  g.needs.reserve(j.size());
  for (const auto& entry : j) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_array())
      return std::nullopt;
    uint32_t here = static_cast<uint32_t>(g.ids.size());
    std::vector<uint32_t>& needs = g.needs.emplace_back();
    for (const auto& n : entry[1]) {
      if (!n.is_number_unsigned() || n.get<uint64_t>() >= here) return std::nullopt;
      needs.push_back(static_cast<uint32_t>(n.get<uint64_t>()));
    }
    g.ids.push_back(entry[0].get<std::string>());
    if (!g.index.emplace(g.ids.back(), here).second) return std::nullopt;
  }
  return g;
}

std::string TaskGraph::to_json() const {
  nlohmann::json j = nlohmann::json::array();
  for (size_t k = 0; k < ids.size(); ++k) j.push_back(nlohmann::json::array({ids[k], needs[k]}));
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string status_tree(const RunSnapshot& run, const TaskGraph& graph, SystemTime now) {
  std::vector<Node> nodes = build_nodes(run, graph);
  std::vector<size_t> by_topo(run.tasks.size());
  for (size_t r = 0; r < by_topo.size(); ++r) by_topo[r] = r;
  std::stable_sort(by_topo.begin(), by_topo.end(),
                   [&](size_t a, size_t b) { return nodes[a].topo < nodes[b].topo; });
  std::vector<size_t> parent(run.tasks.size(), SIZE_MAX);
  for (size_t r : by_topo) {
    for (size_t n : nodes[r].needs)
      if (parent[r] == SIZE_MAX || nodes[n].topo > nodes[parent[r]].topo) parent[r] = n;
    if (parent[r] != SIZE_MAX) nodes[parent[r]].children.push_back(r);
  }
  Printer printer(run, nodes, now);
  for (size_t r : by_topo)
    if (parent[r] == SIZE_MAX) printer.print(r);
  return printer.text();
}

}  // namespace wfo::cli
