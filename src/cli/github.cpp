// Workflow commands are lines on the log; their message must stay on one line, so newlines
// and `%` are percent-encoded as the runner expects (actions/toolkit, command.ts).
#include "cli/github.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/reports.hpp"
#include "util/duration.hpp"

namespace wfo::cli {

bool github_actions() {
  const char* v = std::getenv("GITHUB_ACTIONS");
  return v && std::strcmp(v, "true") == 0;
}

std::string github_escape_data(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%')
      out += "%25";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else
      out += c;
  }
  return out;
}

std::string github_group(std::string_view title, const std::vector<std::string>& lines) {
  std::string out = "::group::" + github_escape_data(title) + "\n";
  for (const auto& line : lines) {
    // A line of the task's own that looks like a workflow command must not end our group.
    if (line.starts_with("::")) out += " ";
    out += line + "\n";
  }
  return out + "::endgroup::\n";
}

std::string github_error(std::string_view title, std::string_view message) {
  // Properties end at `::`, and `,` separates them; a title is ours and has neither.
  return "::error title=" + std::string(title) + "::" + github_escape_data(message) + "\n";
}

namespace {

// A Markdown table cell: `|` would end it and a newline would end the row.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string status_cell(TaskStatus s) {
  switch (s) {
    case TaskStatus::succeeded:
      return "✅ succeeded";
    case TaskStatus::failed:
      return "❌ failed";
    case TaskStatus::skipped:
      return "⏭️ skipped";
    case TaskStatus::waiting_approval:
      return "⏸️ waiting_approval";
    case TaskStatus::cancelled:
      return "⏹️ cancelled";
    default:
      return std::string(to_string(s));
  }
}

}  // namespace

std::string step_summary_markdown(const RunSnapshot& run) {
  std::string out = "### wfo run `" + run.run.id + "` (" + cell(run.run.workflow) +
                    "): " + std::string(to_string(run.run.status)) + "\n\n";
  if (!run.run.reason.empty()) out += cell(run.run.reason) + "\n\n";
  out += "| Task | Status | Duration | Attempts |\n|---|---|---:|---:|\n";
  for (const TaskRecord& t : run.tasks) {
    auto d = task_duration(t);
    int attempts = 0;
    for (const auto& a : t.attempts)
      if (a.kind != AttemptKind::compensate && a.kind != AttemptKind::hook) ++attempts;
    out += "| " + cell(t.id) + " | " + status_cell(t.status) + " | " +
           (d ? format_duration(*d) : std::string("-")) + " | " + std::to_string(attempts) + " |\n";
  }
  return out + "\n";
}

Result<void> append_step_summary(const RunSnapshot& run) {
  const char* path = std::getenv("GITHUB_STEP_SUMMARY");
  if (!path || !*path) return {};
  FILE* f = std::fopen(path, "ae");
  if (!f)
    return fail(ErrorKind::io, std::string("cannot append to GITHUB_STEP_SUMMARY '") + path +
                                   "': " + std::strerror(errno));
  std::string text = step_summary_markdown(run);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok)
    return fail(ErrorKind::io, std::string("cannot write GITHUB_STEP_SUMMARY '") + path + "'");
  return {};
}

}  // namespace wfo::cli
