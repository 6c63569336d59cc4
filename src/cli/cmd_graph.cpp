// `wfo graph FILE [--format dot|mermaid]`: the task graph. Every DOT id is quoted, so ids
// such as `build-app` stay valid DOT.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "engine/flow.hpp"
#include "util/file.hpp"

namespace wfo::cli {
namespace {

std::string dot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string mermaid_id(uint32_t i) { return "t" + std::to_string(i); }

/// The nodes of `scope` in file order, each sub-workflow task followed by a group (a DOT
/// cluster, a Mermaid subgraph) of its file's tasks, nested as the files are; a for_each
/// task is one node (its instances are known only when it runs). `by_scope`: each scope's
/// nodes in file order (a scan of every node per scope was O(scopes x nodes)). Appends to
/// `out`.
void draw_scope(const Plan& plan, const std::vector<std::vector<uint32_t>>& by_scope,
                uint32_t scope, bool dot, const std::string& indent, std::string& out) {
  const FlowPlan& fp = *plan.flow;
  for (uint32_t i : by_scope[scope]) {
    const FlowNode& node = fp.nodes[i];
    const TaskSpec& t = *plan.tasks[i].spec;
    if (dot) {
      out += indent + dot_quote(t.id);
      if (t.approval)
        out += " [shape=diamond]";
      else if (node.role == NodeRole::foreach_collector)
        out += " [shape=box3d]";
      out += ";\n";
    } else {
      std::string label = t.id;
      if (node.role == NodeRole::foreach_collector) label += " (for_each)";
      for (char& c : label)
        if (c == '"') c = '\'';
      out += indent + mermaid_id(i) + (t.approval ? "{\"" + label + "\"}" : "[\"" + label + "\"]") +
             "\n";
    }
    if (node.role != NodeRole::subflow_collector || node.child_scope == k_no_node) continue;
    std::string label = t.id + ": " + t.uses;
    if (dot) {
      out += indent + "subgraph " + dot_quote("cluster_" + t.id) + " {\n";
      out += indent + "  label=" + dot_quote(label) + ";\n  " + indent + "style=dashed;\n";
    } else {
      for (char& c : label)
        if (c == '"') c = '\'';
      out += indent + "subgraph s" + std::to_string(i) + " [\"" + label + "\"]\n";
    }
    draw_scope(plan, by_scope, node.child_scope, dot, indent + "  ", out);
    out += indent + (dot ? "}\n" : "end\n");
  }
}

int graph(const std::string& file, const std::string& format) {
  auto text = read_workflow_file(file);
  if (!text) return report(text.error());
  std::string dir = std::filesystem::absolute(file).parent_path().lexically_normal().string();
  auto loaded = load_text(*text, file, dir);
  if (!loaded) return report(loaded.error(), *text);
  const Plan& plan = loaded->plan;
  const FlowPlan& fp = *plan.flow;
  bool dot = format == "dot";
  std::string out =
      dot ? "digraph " + dot_quote(plan.workflow->name) + " {\n  rankdir=LR;\n" : "flowchart LR\n";
  std::vector<std::vector<uint32_t>> by_scope(fp.scopes.size());
  for (uint32_t i = 0; i < plan.tasks.size(); ++i) by_scope[fp.nodes[i].scope].push_back(i);
  draw_scope(plan, by_scope, 0, dot, "  ", out);
  auto edge = [&](uint32_t from, uint32_t to, bool starts) {
    if (dot)
      out += "  " + dot_quote(plan.tasks[from].spec->id) + " -> " +
             dot_quote(plan.tasks[to].spec->id) + (starts ? " [style=dashed]" : "") + ";\n";
    else
      out += "  " + mermaid_id(from) + (starts ? " -.-> " : " --> ") + mermaid_id(to) + "\n";
  };
  for (uint32_t i = 0; i < plan.tasks.size(); ++i) {
    for (uint32_t n : plan.dag.needs(i)) edge(n, i, false);
    // A sub-workflow task starts its file's tasks that need none there: a dashed edge.
    uint32_t scope = fp.nodes[i].scope;
    if (scope != 0 && plan.dag.needs(i).empty()) edge(fp.scopes[scope].collector, i, true);
  }
  if (dot) out += "}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return k_exit_succeeded;
}

}  // namespace

void register_graph(CLI::App& app, GlobalOptions&, int* exit_code) {
  auto file = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("dot");
  auto* cmd = app.add_subcommand("graph", "Print the task graph");
  cmd->add_option("file", *file, "The workflow file")->required();
  cmd->add_option("--format", *format, "dot (default) or mermaid")
      ->check(CLI::IsMember({"dot", "mermaid"}));
  cmd->callback([file, format, exit_code] { *exit_code = graph(*file, *format); });
}

}  // namespace wfo::cli
