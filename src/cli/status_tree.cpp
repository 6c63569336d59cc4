// The tree is built over the run's task records, not the plan's tasks: a run may hold
// instances the plan only learns while driving. Each record finds its needs through the plan
// (by its id, or by its base id before `[`), and the records that fill them (the need's own
// record, else its instances). Every record is printed exactly once.
#include "cli/status_tree.hpp"

#include <algorithm>
#include <map>

#include "util/duration.hpp"
#include "util/strings.hpp"

namespace wfo::cli {
namespace {

struct Node {
  size_t topo = SIZE_MAX;        ///< position of its plan task in topological order
  std::vector<size_t> needs;     ///< record indices
  std::vector<size_t> children;  ///< record indices, in topological order
};

std::optional<uint32_t> plan_index(const Plan& plan, const std::string& id) {
  if (auto i = plan.find(id)) return i;
  size_t bracket = id.find('[');
  return bracket == std::string::npos ? std::nullopt : plan.find(id.substr(0, bracket));
}

std::vector<Node> build_nodes(const RunSnapshot& run, const Plan& plan) {
  std::vector<size_t> topo_of(plan.tasks.size(), SIZE_MAX);
  const auto& order = plan.dag.topological_order();
  for (size_t k = 0; k < order.size(); ++k) topo_of[order[k]] = k;
  std::vector<Node> nodes(run.tasks.size());
  std::map<uint32_t, std::vector<size_t>> records_of;  // plan task -> records
  for (size_t r = 0; r < run.tasks.size(); ++r)
    if (auto i = plan_index(plan, run.tasks[r].id)) {
      nodes[r].topo = topo_of[*i];
      records_of[*i].push_back(r);
    }
  for (size_t r = 0; r < run.tasks.size(); ++r) {
    auto i = plan_index(plan, run.tasks[r].id);
    if (!i) continue;
    for (uint32_t n : plan.dag.needs(*i))
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

std::vector<std::string> details(const RunSnapshot& run, const TaskRecord& t) {
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
  for (const auto& g : run.gates) {
    if (g.task_id != t.id) continue;
    std::string gl = "gate (" + g.when + ") " + std::string(to_string(g.status));
    if (g.decided_by) gl += " by " + *g.decided_by;
    if (!g.comment.empty()) gl += ": " + g.comment;
    if (g.status == GateStatus::waiting) gl += ": " + g.message;
    out.push_back(gl);
  }
  return out;
}

class Printer {
 public:
  Printer(const RunSnapshot& run, std::vector<Node> nodes, SystemTime now)
      : m_run(run), m_nodes(std::move(nodes)), m_now(now) {}

  // `lead` starts this task's line; `rest` starts the lines below it.
  void print(size_t r, const std::string& lead, const std::string& rest, size_t parent) {
    std::string line = task_text(m_run.tasks[r], m_now);
    std::vector<std::string> others;
    for (size_t n : m_nodes[r].needs)
      if (n != parent) others.push_back(m_run.tasks[n].id);
    if (parent != SIZE_MAX && !others.empty()) line += " (also needs " + join(others, ", ") + ")";
    m_out += lead + line + "\n";
    const auto& children = m_nodes[r].children;
    for (const auto& d : details(m_run, m_run.tasks[r]))
      m_out += rest + (children.empty() ? "      " : "│     ") + d + "\n";
    for (size_t k = 0; k < children.size(); ++k) {
      bool last = k + 1 == children.size();
      print(children[k], rest + (last ? "└─ " : "├─ "), rest + (last ? "   " : "│  "), r);
    }
  }
  const std::string& text() const { return m_out; }

 private:
  const RunSnapshot& m_run;
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

std::string status_tree(const RunSnapshot& run, const Plan& plan, SystemTime now) {
  std::vector<Node> nodes = build_nodes(run, plan);
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
    if (parent[r] == SIZE_MAX) printer.print(r, "  ", "  ", SIZE_MAX);
  return printer.text();
}

}  // namespace wfo::cli
