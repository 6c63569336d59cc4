// Plain progress: one timestamped line per event on stderr, never an escape sequence, so a CI
// log or a pipe reads it as it is. With -v a thread tails the running attempts' log files
// (the process layer writes task output straight to them) and prints each new line as
// `[task] line`; the engine's thread prints events. One mutex orders both, and an attempt's
// log is drained before the line that says it ended.
#include "cli/progress.hpp"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "cli/commands.hpp"
#include "cli/github.hpp"
#include "cli/log_tail.hpp"
#include "cli/terminal_view.hpp"

namespace wfo::cli {
namespace {

constexpr size_t k_failure_tail = 20;
constexpr size_t k_group_tail = 100;

void write_err(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

class PlainProgress final : public Progress {
 public:
  PlainProgress(const ProgressContext& c, bool github)
      : m_state_dir(c.state_dir),
        m_run_id(c.run->run.id),
        m_verbosity(c.verbosity),
        m_github(github) {
    if (m_verbosity == Verbosity::verbose) m_thread = std::thread([this] { follow_loop(); });
  }
  ~PlainProgress() override { finish(); }

  void on_event(const Event& e) override {
    std::lock_guard lock(m_mutex);
    if (m_verbosity == Verbosity::verbose && e.kind.starts_with("attempt_")) {
      drain(e.task_id, true);
      m_following.erase(e.task_id);
    }
    if (e.kind == "attempt_failed" || e.kind == "attempt_timed_out")
      m_failed_attempt[e.task_id] = e.attempt;
    std::string line = event_line(e);
    if (e.kind == "task_failed") return task_failed(e, line);
    if (m_github && e.kind == "task_succeeded")
      return write_err(github_group(line, output_tail(e.task_id, e.attempt, k_group_tail)));
    if (m_verbosity != Verbosity::quiet && !line.empty()) write_err(line + "\n");
    if (m_verbosity == Verbosity::verbose && e.kind == "task_started")
      m_following.insert_or_assign(
          e.task_id, LogFollower(attempt_log_path(m_state_dir, m_run_id, e.task_id, e.attempt)));
  }

  void finish() override {
    {
      std::lock_guard lock(m_mutex);
      if (m_stop) return;
      m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
    std::lock_guard lock(m_mutex);
    for (auto& [task, follower] : m_following) drain(task, true);
    m_following.clear();
  }

 private:
  std::vector<std::string> output_tail(const std::string& task, int attempt, size_t n) const {
    std::vector<std::string> lines =
        last_lines(attempt_log_path(m_state_dir, m_run_id, task, attempt), n);
    if (lines.empty()) lines.push_back("(no output)");
    return lines;
  }

  // The failed line, then where to look: the log's tail (unless -v showed it already).
  void task_failed(const Event& e, const std::string& line) {
    auto failed = m_failed_attempt.find(e.task_id);
    std::string path = failed == m_failed_attempt.end()
                           ? std::string()
                           : attempt_log_path(m_state_dir, m_run_id, e.task_id, failed->second);
    std::vector<std::string> tail =
        path.empty() ? std::vector<std::string>{} : last_lines(path, k_failure_tail);
    if (m_github) {
      std::vector<std::string> group = tail;
      if (!path.empty()) group.push_back("log: " + path);
      std::string message = e.task_id + " failed: " + e.detail;
      for (const auto& l : tail) message += "\n" + l;
      return write_err(github_group(line, group) + github_error("wfo: task failed", message));
    }
    std::string out = line + "\n";
    if (path.empty()) return write_err(out);
    if (m_verbosity == Verbosity::verbose || tail.empty())
      out += "  log: " + path + (tail.empty() ? " (empty)" : "") + "\n";
    else
      out += "  last " + std::to_string(k_failure_tail) + " lines of " + path + ":\n";
    if (m_verbosity != Verbosity::verbose)
      for (const auto& l : tail) out += "  | " + l + "\n";
    write_err(out);
  }

  // Prints the new lines of `task`'s log; the mutex is held.
  void drain(const std::string& task, bool flush) {
    auto it = m_following.find(task);
    if (it == m_following.end()) return;
    std::string out;
    for (const auto& l : it->second.read_lines(flush))
      out += "[" + task + "] " + printable(l, true) + "\n";
    if (!out.empty()) write_err(out);
  }

  void follow_loop() {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
      for (auto& [task, follower] : m_following) drain(task, false);
      m_wake.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

  std::string m_state_dir;
  std::string m_run_id;
  Verbosity m_verbosity;
  bool m_github;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stop = false;
  std::map<std::string, LogFollower> m_following;  ///< task -> its running attempt's log
  std::map<std::string, int> m_failed_attempt;     ///< task -> its last failed attempt
  std::thread m_thread;
};

bool use_terminal_view(Verbosity v) {
  const char* term = std::getenv("TERM");
  const char* no_color = std::getenv("NO_COLOR");
  return v != Verbosity::quiet && ::isatty(STDOUT_FILENO) && ::isatty(STDERR_FILENO) && term &&
         *term && std::strcmp(term, "dumb") != 0 && !no_color && !github_actions();
}

}  // namespace

void add_output_options(CLI::App& cmd, OutputOptions& o) {
  // Exclusive by hand: CLI11's excludes() would print "Excludes: ..." in --help.
  cmd.add_flag_callback(
      "-v,--verbose", [&o] { o.verbosity = Verbosity::verbose; },
      "Stream every attempt's output live, each line prefixed [task]");
  cmd.add_flag_callback(
      "-q,--quiet",
      [&o] {
        if (o.verbosity == Verbosity::verbose) throw CLI::ExcludesError("--quiet", "--verbose");
        o.verbosity = Verbosity::quiet;
      },
      "Print only errors and the final result");
  cmd.add_option("--junit", o.junit_path, "Write a JUnit XML report to FILE at the end")
      ->check(report_file())
      ->type_name("FILE");
  cmd.add_option("--metrics", o.metrics_path,
                 "Write Prometheus metrics (text exposition) to FILE at the end")
      ->check(report_file())
      ->type_name("FILE");
}

std::unique_ptr<Progress> make_progress(const ProgressContext& context) {
  if (use_terminal_view(context.verbosity)) return make_terminal_view(context);
  return std::make_unique<PlainProgress>(context, github_actions());
}

std::string event_line(const Event& e) {
  std::string what;
  const std::string& d = e.detail;
  auto attempt = [&e] { return "attempt " + std::to_string(e.attempt); };
  if (e.kind == "task_started")
    what = "started (" + d + ")";
  else if (e.kind == "task_succeeded")
    what = d.empty() ? "succeeded" : d.starts_with("in ") ? "succeeded " + d : "succeeded: " + d;
  else if (e.kind == "task_failed")
    what = "failed: " + d;
  else if (e.kind == "task_skipped")
    what = "skipped: " + d;
  else if (e.kind == "task_retrying")
    what = "retrying " + d;
  else if (e.kind == "task_cancelled")
    what = "cancelled";
  else if (e.kind == "attempt_failed")
    what = attempt() + " failed: " + d;
  else if (e.kind == "attempt_timed_out")
    what = attempt() + " timed out: " + d;
  else if (e.kind == "attempt_interrupted")
    what = attempt() + " interrupted";
  else if (e.kind == "gate_waiting")
    what = "waiting for approval: " + d;
  else if (e.kind == "gate_approved" || e.kind == "gate_rejected")
    what = e.kind.substr(5) + ": " + d;
  else if (e.kind.starts_with("compensation_") || e.kind.starts_with("breaker_"))
    what = d.empty() ? e.kind : e.kind + ": " + d;
  else
    return {};
  return format_clock(e.at) + " " + e.task_id + " " + what;
}

}  // namespace wfo::cli
