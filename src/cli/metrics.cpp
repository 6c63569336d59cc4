// The Prometheus text exposition format 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats): one `# HELP` and one `# TYPE` per metric,
// then all of that metric's samples together, no series twice. Names follow Prometheus' conventions
// as promtool lints them: base units (seconds, bytes) in the name, `_total` on counters and only
// there.
#include <cstdio>

#include "cli/reports.hpp"

namespace wfo::cli {
namespace {

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string seconds(Millis d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

/// Builds one metric family at a time.
class Exposition {
 public:
  explicit Exposition(const RunStats& s)
      : m_run_labels("workflow=\"" + label_value(s.workflow) + "\",run_id=\"" +
                     label_value(s.run_id) + "\"") {}

  void family(const char* name, const char* type, const char* help) {
    m_name = name;
    m_out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const std::string& extra_labels, const std::string& value) {
    m_out += m_name + "{" + m_run_labels + extra_labels + "} " + value + "\n";
  }
  static std::string task(const TaskStats& t) { return ",task=\"" + label_value(t.id) + "\""; }
  const std::string& text() const { return m_out; }

 private:
  std::string m_run_labels;
  std::string m_name;
  std::string m_out;
};

void run_families(Exposition& x, const RunStats& s) {
  x.family("wfo_run_duration_seconds", "gauge",
           "Wall time of the run, from its start to its end or now.");
  x.sample("", seconds(s.wall));
  x.family("wfo_run_status", "gauge", "1 for the run's current status.");
  x.sample(",status=\"" + std::string(to_string(s.status)) + "\"", "1");
  x.family("wfo_run_critical_path_seconds", "gauge",
           "Length of the critical path through the task graph, by the time attempts ran.");
  x.sample("", seconds(s.critical_path_length));
  x.family("wfo_run_backoff_wait_seconds", "gauge",
           "Time tasks of the run waited on retry backoff.");
  x.sample("", seconds(s.backoff_wait));
  x.family("wfo_run_gate_wait_seconds", "gauge", "Time gates of the run waited for a decision.");
  x.sample("", seconds(s.gate_wait));
}

void task_families(Exposition& x, const RunStats& s) {
  x.family("wfo_task_duration_seconds", "gauge",
           "From a task's first attempt's start to its last attempt's end.");
  for (const auto& t : s.tasks)
    if (t.duration) x.sample(Exposition::task(t), seconds(*t.duration));
  x.family("wfo_task_attempts_total", "counter", "Attempts of a task, the first included.");
  for (const auto& t : s.tasks) x.sample(Exposition::task(t), std::to_string(t.attempts));
  x.family("wfo_task_retries_total", "counter", "Attempts of a task after its first.");
  for (const auto& t : s.tasks) x.sample(Exposition::task(t), std::to_string(t.retries));
  x.family("wfo_task_failures_total", "counter", "Attempts of a task that failed or timed out.");
  for (const auto& t : s.tasks) x.sample(Exposition::task(t), std::to_string(t.failures));
  x.family("wfo_task_succeeded", "gauge", "1 when the task succeeded, else 0.");
  for (const auto& t : s.tasks)
    x.sample(Exposition::task(t), t.status == TaskStatus::succeeded ? "1" : "0");
  x.family("wfo_task_cpu_seconds_total", "counter", "CPU time of a task's attempts, by mode.");
  for (const auto& t : s.tasks) {
    x.sample(Exposition::task(t) + ",mode=\"user\"", seconds(Millis{t.cpu_user_ms}));
    x.sample(Exposition::task(t) + ",mode=\"system\"", seconds(Millis{t.cpu_system_ms}));
  }
  x.family("wfo_task_max_rss_bytes", "gauge", "Peak resident set size of a task's attempts.");
  for (const auto& t : s.tasks) x.sample(Exposition::task(t), std::to_string(t.max_rss_kb * 1024));
  x.family("wfo_task_backoff_wait_seconds", "gauge", "Time a task waited on retry backoff.");
  for (const auto& t : s.tasks) x.sample(Exposition::task(t), seconds(t.backoff));
  x.family("wfo_task_gate_wait_seconds", "gauge", "Time a task's gate waited for a decision.");
  for (const auto& t : s.tasks)
    if (t.gate_wait.count() > 0) x.sample(Exposition::task(t), seconds(t.gate_wait));
}

}  // namespace

std::string prometheus_text(const RunStats& stats) {
  Exposition x(stats);
  run_families(x, stats);
  task_families(x, stats);
  return x.text();
}

}  // namespace wfo::cli
