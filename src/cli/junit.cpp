// JUnit XML as Jenkins' xUnit plugin checks it (junit-10.xsd): testsuite needs name, tests,
// failures and errors; testcase needs name; `time` has at most 3 decimals. Text from task
// logs goes through printable(), since XML 1.0 forbids most control characters.
#include <unistd.h>
#include <cstdio>

#include "cli/log_tail.hpp"
#include "cli/reports.hpp"
#include "util/strings.hpp"

namespace wfo::cli {
namespace {

std::string xml(std::string_view text) {
  std::string out;
  for (char c : printable(text)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string seconds(Millis d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// The last attempt that failed or timed out, or nullptr.
const AttemptRecord* failed_attempt(const TaskRecord& t) {
  const AttemptRecord* found = nullptr;
  for (const auto& a : t.attempts)
    if (a.kind != AttemptKind::compensate &&
        (a.status == AttemptStatus::failed || a.status == AttemptStatus::timed_out))
      found = &a;
  return found;
}

std::string testcase(const TaskRecord& t, const TaskStats& s, const std::string& classname) {
  std::string out = "    <testcase name=\"" + xml(t.id) + "\" classname=\"" + xml(classname) +
                    "\" time=\"" + seconds(s.duration.value_or(Millis{0})) + "\"";
  if (t.status == TaskStatus::skipped || t.status == TaskStatus::cancelled ||
      t.status == TaskStatus::pending || t.status == TaskStatus::waiting_approval) {
    std::string why = t.reason.empty() ? std::string(to_string(t.status)) : t.reason;
    return out + ">\n      <skipped message=\"" + xml(why) + "\"/>\n    </testcase>\n";
  }
  if (t.status != TaskStatus::failed) return out + "/>\n";
  const AttemptRecord* a = failed_attempt(t);
  std::string body = t.reason + "\n";
  if (a) {
    body +=
        "attempt " + std::to_string(a->number) + ": " + a->reason + "\nlog: " + a->log_path + "\n";
    for (const auto& line : last_lines(a->log_path, 20)) body += line + "\n";
  }
  std::string type = a && a->status == AttemptStatus::timed_out ? "timeout"
                     : a && a->exit_code                        ? "exit_code"
                                                                : "failure";
  return out + ">\n      <failure message=\"" + xml(t.reason) + "\" type=\"" + type + "\">" +
         xml(body) + "</failure>\n    </testcase>\n";
}

}  // namespace

std::string junit_xml(const RunSnapshot& run, const RunStats& stats) {
  int failures = 0, skipped = 0;
  for (const TaskRecord& t : run.tasks) {
    if (t.status == TaskStatus::failed)
      ++failures;
    else if (t.status != TaskStatus::succeeded && t.status != TaskStatus::running &&
             t.status != TaskStatus::retrying)
      ++skipped;
  }
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::string counts = "tests=\"" + std::to_string(run.tasks.size()) + "\" failures=\"" +
                       std::to_string(failures) + "\" errors=\"0\"";
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"wfo\" " +
                    counts + " time=\"" + seconds(stats.wall) + "\">\n";
  out += "  <testsuite name=\"" + xml(run.run.workflow) + "\" " + counts + " skipped=\"" +
         std::to_string(skipped) + "\" time=\"" + seconds(stats.wall) + "\" timestamp=\"" +
         format_rfc3339(run.run.started_at) + "\" hostname=\"" + xml(host) + "\" id=\"" +
         xml(run.run.id) + "\">\n";
  out += "    <properties>\n      <property name=\"wfo.run_id\" value=\"" + xml(run.run.id) +
         "\"/>\n      <property name=\"wfo.workflow\" value=\"" + xml(run.run.workflow_file) +
         "\"/>\n      <property name=\"wfo.status\" value=\"" +
         std::string(to_string(run.run.status)) + "\"/>\n    </properties>\n";
  for (size_t i = 0; i < run.tasks.size() && i < stats.tasks.size(); ++i)
    out += testcase(run.tasks[i], stats.tasks[i], run.run.workflow);
  return out + "  </testsuite>\n</testsuites>\n";
}

}  // namespace wfo::cli
