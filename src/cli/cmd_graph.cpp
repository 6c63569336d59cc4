// `wfo graph FILE [--format dot|mermaid]`: the task graph. Every DOT id is quoted, so ids
// such as `build-app` stay valid DOT.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
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

int graph(const std::string& file, const std::string& format) {
  auto text = read_workflow_file(file);
  if (!text) return report(text.error());
  std::string dir = std::filesystem::absolute(file).parent_path().lexically_normal().string();
  auto loaded = load_text(*text, file, dir);
  if (!loaded) return report(loaded.error(), *text);
  const Plan& plan = loaded->plan;
  const auto& tasks = plan.workflow->tasks;
  std::string out;
  if (format == "dot") {
    out = "digraph " + dot_quote(plan.workflow->name) + " {\n  rankdir=LR;\n";
    for (const auto& t : tasks) {
      out += "  " + dot_quote(t.id);
      if (t.approval) out += " [shape=diamond]";
      out += ";\n";
    }
    for (uint32_t i = 0; i < tasks.size(); ++i)
      for (uint32_t n : plan.dag.needs(i))
        out += "  " + dot_quote(tasks[n].id) + " -> " + dot_quote(tasks[i].id) + ";\n";
    out += "}\n";
  } else {
    out = "flowchart LR\n";
    for (uint32_t i = 0; i < tasks.size(); ++i) {
      std::string label = tasks[i].id;
      for (char& c : label)
        if (c == '"') c = '\'';
      out += "  " + mermaid_id(i) + (tasks[i].approval ? "{\"" + label + "\"}" : "[\"" + label + "\"]") + "\n";
    }
    for (uint32_t i = 0; i < tasks.size(); ++i)
      for (uint32_t n : plan.dag.needs(i)) out += "  " + mermaid_id(n) + " --> " + mermaid_id(i) + "\n";
  }
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
