// The live view keeps a model of the run fed by events (the engine's thread) and draws it from
// a ticker thread too, since elapsed times and countdowns change without events. One mutex
// guards the model and the terminal. The region below the scrolled lines is `m_drawn` lines
// high, each ended by a newline, so the cursor rests at its bottom-left: a redraw moves up
// `m_drawn` lines, clears to the end of the screen, prints what scrolls, then the region.
// Region lines are cut to the terminal's width, so none wraps and the count stays true.
#include "cli/terminal_view.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "cli/log_tail.hpp"
#include "util/duration.hpp"

namespace wfo::cli {
namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

constexpr const char* k_reset = "\x1b[0m";
constexpr const char* k_bold = "\x1b[1m";
constexpr const char* k_dim = "\x1b[2m";
constexpr const char* k_red = "\x1b[31m";
constexpr const char* k_green = "\x1b[32m";
constexpr const char* k_yellow = "\x1b[33m";
constexpr const char* k_cyan = "\x1b[36m";
constexpr Millis k_min_redraw{100};  // at most 10 redraws a second

struct TaskState {
  TaskStatus status = TaskStatus::pending;
  std::optional<SystemTime> first_started;
  SystemTime started{};
  std::optional<SystemTime> retry_at;
  std::string note;  ///< retry reason or gate message
  int failed_attempt = 0;
};

// Number of characters (code points) of UTF-8 `s`: every symbol used here is one column wide.
size_t columns(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string cut(const std::string& s, size_t width) {
  if (columns(s) <= width) return s;
  size_t n = 0, i = 0;
  for (; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++n > width - 1) break;
  return s.substr(0, i) + "…";
}

class TerminalView final : public Progress {
 public:
  explicit TerminalView(const ProgressContext& c)
      : m_state_dir(c.state_dir),
        m_run_id(c.run->run.id),
        m_verbose(c.verbosity == Verbosity::verbose),
        m_start(system_now()) {
    for (const TaskRecord& t : c.run->tasks) {
      m_order.push_back(t.id);
      // On resume only succeeded tasks stay done; the engine resets the others.
      if (t.status == TaskStatus::succeeded) m_tasks[t.id].status = TaskStatus::succeeded;
    }
    m_thread = std::thread([this] { tick_loop(); });
  }
  ~TerminalView() override { finish(); }

  void on_event(const Event& e) override {
    std::lock_guard lock(m_mutex);
    if (m_verbose && e.kind.starts_with("attempt_")) drain(e.task_id, true);
    apply(e);
    m_dirty = true;
    if (Clock::now() - m_last_draw >= k_min_redraw) draw(true);
  }

  void finish() override {
    {
      std::lock_guard lock(m_mutex);
      if (m_stop) return;
      m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
    std::lock_guard lock(m_mutex);
    for (auto& [task, f] : m_following) drain(task, true);
    draw(false);
  }

 private:
  TaskState& task(const std::string& id) {
    if (!m_tasks.count(id) && std::find(m_order.begin(), m_order.end(), id) == m_order.end())
      m_order.push_back(id);  // e.g. an instance the plan adds while running
    return m_tasks[id];
  }

  void apply(const Event& e) {
    if (e.task_id.empty()) return;
    TaskState& t = task(e.task_id);
    if (e.kind == "task_started") {
      t.status = TaskStatus::running;
      t.started = e.at;
      if (!t.first_started) t.first_started = e.at;
      t.retry_at.reset();
      if (m_verbose)
        m_following.insert_or_assign(
            e.task_id, LogFollower(attempt_log_path(m_state_dir, m_run_id, e.task_id, e.attempt)));
    } else if (e.kind == "attempt_failed" || e.kind == "attempt_timed_out") {
      t.failed_attempt = e.attempt;
    } else if (e.kind == "attempt_interrupted") {
      t.status = TaskStatus::pending;
    } else if (e.kind == "task_retrying") {
      retrying(e, t);
    } else if (e.kind == "gate_waiting") {
      t.status = TaskStatus::waiting_approval;
      t.note = e.detail;
    } else if (e.kind.starts_with("task_")) {
      auto status = parse_task_status(e.kind.substr(5));
      if (status && is_final(*status)) finished(e, t, *status);
    }
    if (e.kind.starts_with("attempt_")) m_following.erase(e.task_id);
  }

  void retrying(const Event& e, TaskState& t) {
    t.status = TaskStatus::retrying;
    // detail: `in 2.0s (attempt 2/3): exit code 1`
    std::string_view d = e.detail;
    size_t space = d.find(' ', 3);
    auto delay =
        d.starts_with("in ") ? parse_display_duration(d.substr(3, space - 3)) : std::nullopt;
    t.retry_at = delay ? std::optional<SystemTime>(e.at + *delay) : std::nullopt;
    t.note = space == std::string_view::npos ? std::string() : std::string(d.substr(space + 1));
    m_scroll.push_back(std::string(k_yellow) + "↻" + k_reset + " " + e.task_id + " retrying " +
                       e.detail);
  }

  void finished(const Event& e, TaskState& t, TaskStatus status) {
    t.status = status;
    std::string symbol = status == TaskStatus::succeeded ? std::string(k_green) + "✓"
                         : status == TaskStatus::failed  ? std::string(k_red) + "✗"
                                                         : std::string(k_dim) + "-";
    std::string line = symbol + k_reset + " " + e.task_id;
    if (t.first_started)
      line += std::string(" ") + k_dim + format_duration(e.at - *t.first_started) + k_reset;
    if (status != TaskStatus::succeeded && !e.detail.empty())
      line += " " + std::string(to_string(status)) + ": " + e.detail;
    m_scroll.push_back(line);
    if (status != TaskStatus::failed || t.failed_attempt == 0) return;
    std::string path = attempt_log_path(m_state_dir, m_run_id, e.task_id, t.failed_attempt);
    if (!m_verbose)
      for (const auto& l : last_lines(path, 20))
        m_scroll.push_back(std::string(k_dim) + "  │ " + k_reset + l);
    m_scroll.push_back(std::string(k_dim) + "  log: " + path + k_reset);
  }

  std::string header(SystemTime now) const {
    int done = 0, running = 0, retrying = 0, waiting = 0;
    for (const auto& id : m_order) {
      auto it = m_tasks.find(id);
      TaskStatus s = it == m_tasks.end() ? TaskStatus::pending : it->second.status;
      done += is_final(s);
      running += s == TaskStatus::running;
      retrying += s == TaskStatus::retrying;
      waiting += s == TaskStatus::waiting_approval;
    }
    std::string h = "[" + std::to_string(done) + "/" + std::to_string(m_order.size()) + "] " +
                    std::to_string(running) + " running";
    if (retrying) h += ", " + std::to_string(retrying) + " retrying";
    if (waiting) h += ", " + std::to_string(waiting) + " waiting for approval";
    return h + ", " + format_elapsed(now - m_start);
  }

  // The line of a task in flight, without colour, and its coloured symbol.
  std::pair<std::string, std::string> region_line(const std::string& id, const TaskState& t,
                                                  SystemTime now) const {
    switch (t.status) {
      case TaskStatus::running:
        return {id + " " + format_elapsed(now - t.started), std::string(k_cyan) + "●"};
      case TaskStatus::retrying: {
        std::string when =
            t.retry_at ? "retry in " + format_elapsed(std::max(Millis{0}, *t.retry_at - now))
                       : "retrying";
        return {id + " " + when + (t.note.empty() ? "" : " " + t.note),
                std::string(k_yellow) + "↻"};
      }
      case TaskStatus::waiting_approval:
        return {id + " waiting for approval: " + t.note, std::string(k_yellow) + "⏸"};
      default:
        return {};
    }
  }

  std::vector<std::string> region(SystemTime now, size_t width, size_t height) const {
    std::vector<std::string> lines{std::string(k_bold) + cut(header(now), width) + k_reset};
    std::vector<std::string> flight;
    for (const auto& id : m_order) {
      auto it = m_tasks.find(id);
      if (it == m_tasks.end()) continue;
      auto [text, symbol] = region_line(id, it->second, now);
      if (!text.empty()) flight.push_back("  " + symbol + k_reset + " " + cut(text, width - 5));
    }
    size_t room = height > 2 ? height - 2 : 1;
    if (flight.size() > room) {
      size_t more = flight.size() - (room - 1);
      flight.resize(room - 1);
      flight.push_back("  … and " + std::to_string(more) + " more");
    }
    lines.insert(lines.end(), flight.begin(), flight.end());
    return lines;
  }

  // Redraws; with `live` false, leaves only the scrolled lines (the end of the drive).
  void draw(bool live) {
    struct winsize ws {};
    size_t width = 80, height = 24;
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 && ws.ws_row > 3)
      width = ws.ws_col - 1, height = ws.ws_row;
    std::string out;
    if (m_drawn > 0) out += "\r\x1b[" + std::to_string(m_drawn) + "A";
    out += "\x1b[J";
    for (const auto& l : m_scroll) out += l + "\n";
    m_scroll.clear();
    m_drawn = 0;
    if (live)
      for (const auto& l : region(system_now(), width, height)) out += l + "\n", ++m_drawn;
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fflush(stderr);
    m_last_draw = Clock::now();
    m_drawn_second = (system_now() - m_start).count() / 1000;
    m_dirty = false;
  }

  void drain(const std::string& task, bool flush) {
    auto it = m_following.find(task);
    if (it == m_following.end()) return;
    for (const auto& l : it->second.read_lines(flush)) {
      m_scroll.push_back(std::string(k_dim) + "[" + task + "]" + k_reset + " " +
                         printable(l, true));
      m_dirty = true;
    }
  }

  void tick_loop() {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
      for (auto& [task, f] : m_following) drain(task, false);
      bool second_changed = (system_now() - m_start).count() / 1000 != m_drawn_second;
      if ((m_dirty || second_changed) && Clock::now() - m_last_draw >= k_min_redraw) draw(true);
      m_wake.wait_for(lock, k_min_redraw);
    }
  }

  std::string m_state_dir;
  std::string m_run_id;
  bool m_verbose;
  SystemTime m_start;
  std::vector<std::string> m_order;  ///< task ids, workflow order first
  std::map<std::string, TaskState> m_tasks;
  std::map<std::string, LogFollower> m_following;
  std::vector<std::string> m_scroll;  ///< lines to print above the region at the next draw
  size_t m_drawn = 0;                 ///< lines of the region on screen
  int64_t m_drawn_second = -1;
  bool m_dirty = true;
  bool m_stop = false;
  Clock::time_point m_last_draw{};
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::thread m_thread;
};

}  // namespace

std::unique_ptr<Progress> make_terminal_view(const ProgressContext& context) {
  return std::make_unique<TerminalView>(context);
}

std::optional<Millis> parse_display_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start || text.substr(start, i - start) == ".") return std::nullopt;
    double value = std::stod(std::string(text.substr(start, i - start)));
    std::string_view unit = text.substr(i, text.substr(i, 2) == "ms" ? 2 : 1);
    if (unit == "ms")
      total += value;
    else if (unit == "s")
      total += value * 1000;
    else if (unit == "m")
      total += value * 60'000;
    else if (unit == "h")
      total += value * 3'600'000;
    else
      return std::nullopt;
    i += unit.size();
  }
  return Millis{static_cast<int64_t>(total)};
}

std::string format_elapsed(Millis d) {
  int64_t s = std::max<int64_t>(0, d.count() / 1000);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  return buf;
}

}  // namespace wfo::cli
