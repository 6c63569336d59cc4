// A run's figures from the store. The critical path weighs each task by the time its attempts
// ran (`busy`), not by its span: backoff, gate waits and waiting for a free slot are the gap
// between the critical path's length and the wall time, which is what `wfo stats` shows.
#include <algorithm>
#include <cstdio>

#include "cli/common.hpp"
#include "cli/reports.hpp"
#include "util/duration.hpp"
#include "util/strings.hpp"

namespace wfo::cli {
namespace {

bool counts(const AttemptRecord& a) {
  return a.kind != AttemptKind::compensate && a.kind != AttemptKind::hook;
}

TaskStats task_stats(const TaskRecord& t, const GatesByTask& gates, SystemTime now) {
  TaskStats s;
  s.id = t.id;
  s.status = t.status;
  s.duration = task_duration(t);
  for (const auto& a : t.attempts) {
    if (!counts(a)) continue;
    ++s.attempts;
    if (a.status == AttemptStatus::failed || a.status == AttemptStatus::timed_out) ++s.failures;
    s.busy += a.ended_at.value_or(now) - a.started_at;
    s.backoff += Millis{a.delay_ms};
    s.cpu_user_ms += a.usage.cpu_user_ms;
    s.cpu_system_ms += a.usage.cpu_system_ms;
    s.max_rss_kb = std::max(s.max_rss_kb, a.usage.max_rss_kb);
  }
  s.retries = std::max(0, s.attempts - 1);
  if (auto found = gates.find(t.id); found != gates.end())
    s.gate_wait +=
        std::max(Millis{0}, found->second->decided_at.value_or(now) - found->second->created_at);
  return s;
}

// Longest path through the needs by `busy`, as task indices of `stats.tasks`.
void find_critical_path(RunStats& stats, const Plan& plan) {
  std::vector<int> of_plan(plan.tasks.size(), -1);  // plan index -> stats index
  for (size_t k = 0; k < stats.tasks.size(); ++k) {
    // An instance (`test[suite=unit]`) stands for its base task; its slowest instance counts.
    const std::string& id = stats.tasks[k].id;
    auto i = plan.find(id);
    if (!i && id.find('[') != std::string::npos) i = plan.find(id.substr(0, id.find('[')));
    if (i && (of_plan[*i] < 0 || stats.tasks[k].busy > stats.tasks[of_plan[*i]].busy))
      of_plan[*i] = static_cast<int>(k);
  }
  std::vector<Millis> best(plan.tasks.size(), Millis{0});
  std::vector<int> prev(plan.tasks.size(), -1);
  int last = -1;
  for (uint32_t i : plan.dag.topological_order()) {
    if (of_plan[i] < 0) continue;
    for (uint32_t n : plan.dag.needs(i))
      if (of_plan[n] >= 0 && (prev[i] < 0 || best[n] > best[prev[i]]))
        prev[i] = static_cast<int>(n);
    best[i] = stats.tasks[of_plan[i]].busy + (prev[i] >= 0 ? best[prev[i]] : Millis{0});
    // On a tie the later task wins: a dependent that took 0 ms (times are whole ms) still
    // ends the path, which then reaches the DAG's end rather than stopping at its need.
    if (last < 0 || best[i] >= best[last]) last = static_cast<int>(i);
  }
  if (last < 0 || best[last].count() == 0) return;  // nothing ran: no path
  stats.critical_path_length = best[last];
  for (int i = last; i >= 0; i = prev[i]) {
    stats.tasks[of_plan[i]].critical = true;
    stats.critical_path.push_back(stats.tasks[of_plan[i]].id);
  }
  std::reverse(stats.critical_path.begin(), stats.critical_path.end());
}

std::string kib(int64_t kb) {
  char buf[32];
  if (kb >= 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1fG", static_cast<double>(kb) / (1024 * 1024));
  else if (kb >= 1024)
    std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(kb) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%lldK", static_cast<long long>(kb));
  return buf;
}

std::string percent(Millis part, Millis whole) {
  if (whole.count() <= 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%",
                100.0 * static_cast<double>(part.count()) / static_cast<double>(whole.count()));
  return buf;
}

}  // namespace

std::optional<Millis> task_duration(const TaskRecord& t) {
  std::optional<SystemTime> first, last;
  for (const auto& a : t.attempts) {
    if (!counts(a)) continue;
    if (!first || a.started_at < *first) first = a.started_at;
    if (a.ended_at && (!last || *a.ended_at > *last)) last = a.ended_at;
  }
  if (!first || !last) return std::nullopt;
  return std::max(Millis{0}, *last - *first);
}

RunStats compute_stats(const RunSnapshot& run, const Plan& plan, SystemTime now) {
  RunStats stats;
  stats.run_id = run.run.id;
  stats.workflow = run.run.workflow;
  stats.status = run.run.status;
  stats.wall = std::max(Millis{0}, run.run.ended_at.value_or(now) - run.run.started_at);
  GatesByTask gates = gates_by_task(run);
  for (const TaskRecord& t : run.tasks) {
    stats.tasks.push_back(task_stats(t, gates, now));
    stats.backoff_wait += stats.tasks.back().backoff;
    stats.gate_wait += stats.tasks.back().gate_wait;
  }
  find_critical_path(stats, plan);
  return stats;
}

nlohmann::json stats_json(const RunStats& s) {
  nlohmann::json tasks = nlohmann::json::array();
  for (const TaskStats& t : s.tasks)
    tasks.push_back(
        {{"id", t.id},
         {"status", std::string(to_string(t.status))},
         {"attempts", t.attempts},
         {"retries", t.retries},
         {"failures", t.failures},
         {"duration_ms", t.duration ? nlohmann::json(t.duration->count()) : nlohmann::json()},
         {"busy_ms", t.busy.count()},
         {"backoff_ms", t.backoff.count()},
         {"gate_wait_ms", t.gate_wait.count()},
         {"cpu_user_ms", t.cpu_user_ms},
         {"cpu_system_ms", t.cpu_system_ms},
         {"max_rss_kb", t.max_rss_kb},
         {"critical", t.critical}});
  return {{"run_id", s.run_id},
          {"workflow", s.workflow},
          {"status", std::string(to_string(s.status))},
          {"wall_ms", s.wall.count()},
          {"critical_path",
           {{"tasks", s.critical_path}, {"length_ms", s.critical_path_length.count()}}},
          {"backoff_wait_ms", s.backoff_wait.count()},
          {"gate_wait_ms", s.gate_wait.count()},
          {"tasks", tasks}};
}

std::string stats_text(const RunStats& s) {
  size_t width = 4;
  for (const auto& t : s.tasks) width = std::max(width, t.id.size());
  std::string out = "run " + s.run_id + " (" + s.workflow + ") " +
                    std::string(to_string(s.status)) + " in " + format_duration(s.wall) + "\n\n";
  char line[512];
  std::snprintf(line, sizeof line, "  %-*s  %-16s %9s %8s %9s %9s %8s\n", static_cast<int>(width),
                "TASK", "STATUS", "DURATION", "ATTEMPTS", "CPU USER", "CPU SYS", "PEAK RSS");
  out += line;
  for (const auto& t : s.tasks) {
    std::string d = t.duration ? format_duration(*t.duration) : "-";
    std::snprintf(line, sizeof line, "%s %-*s  %-16s %9s %8d %9s %9s %8s\n", t.critical ? "*" : " ",
                  static_cast<int>(width), t.id.c_str(), std::string(to_string(t.status)).c_str(),
                  d.c_str(), t.attempts, format_duration(Millis{t.cpu_user_ms}).c_str(),
                  format_duration(Millis{t.cpu_system_ms}).c_str(), kib(t.max_rss_kb).c_str());
    out += line;
  }
  out += "\ncritical path (*): " + (s.critical_path.empty() ? "-" : join(s.critical_path, " -> ")) +
         "\n  length " + format_duration(s.critical_path_length) + " of " +
         format_duration(s.wall) + " wall time (" + percent(s.critical_path_length, s.wall) + ")\n";
  out += "waiting: " + format_duration(s.backoff_wait) + " on retry backoff, " +
         format_duration(s.gate_wait) + " on approval gates\n";
  return out;
}

}  // namespace wfo::cli
