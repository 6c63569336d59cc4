#pragma once
// Fakes at the engine's ports (STYLE.md: Tests), as ninja's build_test.cc fakes its
// CommandRunner: a clock that moves only when the launcher waits, a launcher whose attempts
// end as each test scripts them, an in-memory store that keeps every commit in order, a
// recording observer; and a small builder of Workflow values, so that engine tests need no
// YAML.

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.hpp"
#include "engine/plan.hpp"
#include "engine/ports.hpp"
#include "process/process.hpp"
#include "temp_dir.hpp"
#include "util/file.hpp"
#include "util/regex.hpp"

namespace wfo::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

/// 2026-11-22T10:00:00.000Z: the fake clock's system time at its start.
inline const SystemTime k_t0 = SystemTime{milliseconds{1'795'341'600'000}};

// ---------------------------------------------------------------------------------------
// Clock and randomness

/// Time stands still until advanced (by the FakeLauncher's wait, or by the test).
class FakeClock : public Clock {
 public:
  SteadyTime steady_now() override { return m_steady; }
  SystemTime system_now() override { return m_system; }

  /// Moves both clocks forward to `t`; never backwards.
  void advance_to(SteadyTime t) {
    if (t <= m_steady) return;
    m_system += std::chrono::duration_cast<milliseconds>(t - m_steady);
    m_steady = t;
  }
  void advance(milliseconds d) { advance_to(m_steady + d); }
  /// Time since the clock was made.
  milliseconds elapsed() const {
    return std::chrono::duration_cast<milliseconds>(m_steady - k_start);
  }
  /// The steady time `d` after the start.
  static SteadyTime at(milliseconds d) { return k_start + d; }

 private:
  static constexpr SteadyTime k_start = SteadyTime{} + std::chrono::hours(1000);
  SteadyTime m_steady = k_start;
  SystemTime m_system = k_t0;
};

/// Returns the given values in turn (cycling), or 0.5 when given none; counts the calls.
class FakeRandom : public Random {
 public:
  FakeRandom() = default;
  explicit FakeRandom(std::vector<double> values) : m_values(std::move(values)) {}
  double uniform() override {
    ++calls;
    if (m_values.empty()) return 0.5;
    return m_values[m_next++ % m_values.size()];
  }
  int calls = 0;

 private:
  std::vector<double> m_values;
  size_t m_next = 0;
};

// ---------------------------------------------------------------------------------------
// Launcher

/// How one attempt behaves. The default: exits 0 at once, writes nothing. Set with the
/// chained setters: `Script().exits(1).lasts(100ms)`.
struct Script {
  int exit_code = 0;
  int signal = 0;                          ///< ends killed by this signal instead of exiting
  milliseconds runs_for{0};                ///< fake time from start to end
  bool never_ends = false;                 ///< runs until cancelled
  bool ignores_term = false;               ///< a cancel ends it only after the grace, by SIGKILL
  std::string output;                      ///< written to $WFO_OUTPUT at start
  std::string log;                         ///< written to the request's log_path at start
  std::optional<std::string> start_error;  ///< start() fails with this message
  std::string log_error;                   ///< reported with the end: the log lost output

  Script& exits(int code) { return exit_code = code, *this; }
  Script& killed(int sig) { return signal = sig, *this; }
  Script& lasts(milliseconds d) { return runs_for = d, *this; }
  Script& hangs() { return never_ends = true, *this; }
  Script& ignores_sigterm() { return ignores_term = true, *this; }
  Script& log_fails(std::string why) { return log_error = std::move(why), *this; }
  Script& writes_output(std::string text) { return output = std::move(text), *this; }
  Script& writes_log(std::string text) { return log = std::move(text), *this; }
  Script& cannot_start(std::string message) { return start_error = std::move(message), *this; }
};

/// Returns the value of `key` in a "KEY=value" environment, or nullopt.
inline std::optional<std::string> env_value(const std::vector<std::string>& env,
                                            const std::string& key) {
  for (const auto& kv : env)
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=')
      return kv.substr(key.size() + 1);
  return std::nullopt;
}

/// The environment a child of `request` gets: base_env with env set over it.
inline std::vector<std::string> whole_env(const LaunchRequest& request) {
  std::vector<std::string> out;
  for (const std::string* line : process::merged_env(request.base_env.get(), request.env))
    out.push_back(*line);
  return out;
}

/// Records every request; ends attempts as scripted, in a deterministic order. wait() moves
/// the FakeClock to the next scripted end, or to the deadline when none comes before it, so
/// backoff and timeouts are tested without sleeping.
class FakeLauncher : public Launcher {
 public:
  struct Launch {
    LaunchRequest request;
    std::string task;
    int attempt = 0;
    uint64_t token = 0;  ///< 0 when start failed
    SteadyTime at{};
    size_t commits_before = 0;   ///< the store's commit count when it started
    size_t observed_before = 0;  ///< the events the observer had been shown by then
    std::string env(const std::string& key) const {
      return env_value(whole_env(request), key).value_or("<unset>");
    }
  };
  struct Cancel {
    uint64_t token = 0;
    std::string task;
    SteadyTime at{};
    milliseconds grace{0};
  };
  struct Recover {
    std::string run_id;
    std::vector<std::string> handles;
    size_t launches_before = 0;
  };

  explicit FakeLauncher(FakeClock& clock) : m_clock(clock) {}

  void script(const std::string& task, int attempt, Script s) {
    m_scripts[{task, attempt}] = std::move(s);
  }

  Result<Started> start(LaunchRequest taken) override {
    Launch l;
    l.request = std::move(taken);
    const LaunchRequest& request = l.request;
    l.task = env_value(request.env, "WFO_TASK_ID").value_or("?");
    l.attempt = std::stoi(env_value(request.env, "WFO_ATTEMPT").value_or("0"));
    l.at = m_clock.steady_now();
    l.commits_before = commit_count ? commit_count() : 0;
    l.observed_before = observed_count ? observed_count() : 0;
    Script s;
    if (auto it = m_scripts.find({l.task, l.attempt}); it != m_scripts.end()) s = it->second;
    if (s.start_error) {
      launches.push_back(std::move(l));
      return fail(ErrorKind::io, *s.start_error);
    }
    if (auto out = env_value(request.env, "WFO_OUTPUT"); out && !s.output.empty())
      if (!write_file_atomic(*out, s.output)) throw std::runtime_error("cannot write " + *out);
    if (!s.log.empty())
      if (!write_file_atomic(request.log_path, s.log))
        throw std::runtime_error("cannot write " + request.log_path);
    l.token = ++m_next_token;
    Running r{l.token, l.task, std::nullopt, s.exit_code, s.signal, s.ignores_term, s.log_error};
    if (!s.never_ends) r.ends_at = l.at + s.runs_for;
    m_running.push_back(r);
    max_running = std::max(max_running, m_running.size());
    launches.push_back(std::move(l));
    return Started{m_next_token, "fake:" + std::to_string(m_next_token),
                   static_cast<int64_t>(1000 + m_next_token)};
  }

  void cancel(uint64_t token, milliseconds grace) override {
    SteadyTime now = m_clock.steady_now();
    for (Running& r : m_running) {
      if (r.token != token) continue;
      cancels.push_back(Cancel{token, r.task, now, grace});
      if (r.ends_at && *r.ends_at <= now) return;  // it has ended already, not yet reaped
      r.exit_code = -1;
      r.signal = r.ignores_term ? SIGKILL : SIGTERM;
      r.ends_at = r.ignores_term ? now + grace : now;
      return;
    }
    cancels.push_back(Cancel{token, "<not running>", now, grace});
  }

  Events wait(SteadyTime deadline) override {
    if (++waits > 100'000) throw std::runtime_error("the engine waits forever");
    if (on_wait) on_wait();
    if (interrupt_when_running &&
        std::any_of(m_running.begin(), m_running.end(),
                    [&](const Running& r) { return r.task == *interrupt_when_running; })) {
      interrupt_when_running.reset();
      return Events{{}, SIGINT};
    }
    if (!any_due()) {
      std::optional<SteadyTime> next;
      for (const Running& r : m_running)
        if (r.ends_at && (!next || *r.ends_at < *next)) next = r.ends_at;
      m_clock.advance_to(next && *next <= deadline ? *next : deadline);
    }
    Events events;
    std::stable_sort(m_running.begin(), m_running.end(), [](const Running& a, const Running& b) {
      return a.ends_at.value_or(SteadyTime::max()) < b.ends_at.value_or(SteadyTime::max());
    });
    SteadyTime now = m_clock.steady_now();
    while (!m_running.empty() && m_running.front().ends_at && *m_running.front().ends_at <= now) {
      const Running& r = m_running.front();
      events.ended.push_back(
          Ended{r.token, r.signal ? -1 : r.exit_code, r.signal, {}, r.log_error});
      m_running.erase(m_running.begin());
    }
    return events;
  }

  void recover(const std::string& run_id, const std::vector<std::string>& handles) override {
    recovered.push_back(Recover{run_id, handles, launches.size()});
  }

  /// The task ids in launch order.
  std::vector<std::string> launched_tasks() const {
    std::vector<std::string> out;
    for (const auto& l : launches) out.push_back(l.task);
    return out;
  }
  /// The launch of `task`'s attempt `attempt`; throws when there is none.
  const Launch& launch_of(const std::string& task, int attempt = 1) const {
    for (const auto& l : launches)
      if (l.task == task && l.attempt == attempt) return l;
    throw std::runtime_error("no launch of " + task + " attempt " + std::to_string(attempt));
  }
  size_t running() const { return m_running.size(); }

  std::vector<Launch> launches;
  std::vector<Cancel> cancels;
  std::vector<Recover> recovered;
  size_t max_running = 0;  ///< the most attempts started and not yet reaped at once
  int waits = 0;
  std::function<void()> on_wait;                      ///< called first in every wait()
  std::optional<std::string> interrupt_when_running;  ///< SIGINT once while this task runs
  std::function<size_t()> commit_count;
  std::function<size_t()> observed_count;

 private:
  struct Running {
    uint64_t token;
    std::string task;
    std::optional<SteadyTime> ends_at;
    int exit_code;
    int signal;
    bool ignores_term;
    std::string log_error;
  };
  bool any_due() const {
    SteadyTime now = m_clock.steady_now();
    return std::any_of(m_running.begin(), m_running.end(),
                       [&](const Running& r) { return r.ends_at && *r.ends_at <= now; });
  }

  FakeClock& m_clock;
  std::map<std::pair<std::string, int>, Script> m_scripts;
  std::vector<Running> m_running;
  uint64_t m_next_token = 0;
};

// ---------------------------------------------------------------------------------------
// Store

/// An in-memory RunStore that keeps every committed Transition in order.
class FakeStore : public RunStore {
 public:
  Result<void> create_run(const RunSnapshot& snapshot) override {
    if (m_created) return fail(ErrorKind::usage, "a run exists");
    m_created = true;
    run = snapshot.run;
    tasks = snapshot.tasks;
    for (auto& t : tasks) t.attempts.clear();
    gates = snapshot.gates;
    return {};
  }

  Result<RunSnapshot> load_run(const std::string& run_id) override {
    if (!m_created || run_id != run.id) return fail(ErrorKind::usage, "no run '" + run_id + "'");
    RunSnapshot s;
    s.run = run;
    s.tasks = tasks;
    for (auto& t : s.tasks)
      for (const auto& [key, a] : m_attempts)
        if (key.first == t.id) t.attempts.push_back(a);
    s.gates = gates;
    // As SqliteRunStore: the newest of the run's start, resume and cleanup events.
    bool open = run.status == RunStatus::running || run.status == RunStatus::waiting_approval ||
                run.status == RunStatus::interrupted;
    if (open && (run.cancel_requested > 0 || run.deadline))
      for (auto e = events.rbegin(); e != events.rend(); ++e)
        if (e->kind == "run_started" || e->kind == "run_resumed" || e->kind == "cleanup_started") {
          s.cleanup_started = e->kind == "cleanup_started";
          break;
        }
    return s;
  }

  Result<void> commit(const std::string& run_id, const Transition& t) override {
    if (auto ok = record(run_id, t); !ok) return ok;
    durable = m_ticket;  // a synchronous commit writes what is queued first
    return {};
  }

  /// Appends `t` to the commits and applies it.
  Result<void> record(const std::string& run_id, const Transition& t) {
    if (run_id != run.id) return fail(ErrorKind::internal, "commit to another run");
    if (fail_commit_number && commits.size() + 1 == *fail_commit_number)
      return fail(ErrorKind::state, "state database 'fake': disk I/O error");
    commits.push_back(t);
    if (t.run) {
      run.status = t.run->status;
      run.ended_at = t.run->ended_at;
      run.reason = t.run->reason;
      run.deadline = t.run->deadline;
      // As the store's UPDATE: a second cancel asked since the driver looked stays.
      int asked = t.run->cancel_requested;
      run.cancel_requested = asked == 0 ? 0 : std::max(run.cancel_requested, asked);
    }
    for (const TaskRecord& rec : t.tasks) {
      auto it = std::find_if(tasks.begin(), tasks.end(), [&](auto& x) { return x.id == rec.id; });
      TaskRecord copy = rec;
      copy.attempts.clear();
      if (it == tasks.end()) {
        tasks.push_back(copy);
      } else {
        if (!copy.item) copy.item = it->item;  // written once, as SqliteRunStore does
        *it = copy;
      }
    }
    for (const AttemptRecord& a : t.attempts) m_attempts[{a.task_id, a.number}] = a;
    for (const GateRecord& g : t.gates) {
      auto it =
          std::find_if(gates.begin(), gates.end(), [&](auto& x) { return x.task_id == g.task_id; });
      GateRecord copy = g;
      copy.decisions.clear();
      if (it == gates.end()) {
        gates.push_back(copy);
      } else {
        if (it->round == g.round) copy.decisions = it->decisions;
        *it = copy;
      }
    }
    for (const Event& e : t.events) events.push_back(e);
    return {};
  }

  Result<std::optional<ExternalChanges>> poll_external(const std::string&) override {
    ++polls;
    if (!m_external) return std::optional<ExternalChanges>{};
    m_external = false;
    return std::optional<ExternalChanges>{ExternalChanges{run.cancel_requested, gates}};
  }

  // What another process (`wfo approve`, `wfo cancel`) would do.
  void decide(const std::string& task, const std::string& user, bool approve,
              const std::string& comment = {}) {
    GateRecord& g = *gate(task);
    g.status = approve ? GateStatus::approved : GateStatus::rejected;
    g.decided_by = user;
    g.decided_at = k_t0;
    g.comment = comment;
    DecisionRecord d;
    d.user = user;
    d.approve = approve;
    d.at = k_t0;
    d.comment = comment;
    g.decisions.push_back(d);
    m_external = true;
  }
  void request_cancel() {
    run.cancel_requested = std::min(run.cancel_requested + 1, 2);
    m_external = true;
  }

  const TaskRecord& task(const std::string& id) const {
    for (const auto& t : tasks)
      if (t.id == id) return t;
    throw std::runtime_error("no task " + id);
  }
  std::vector<AttemptRecord> attempts(const std::string& id) const {
    std::vector<AttemptRecord> out;
    for (const auto& [key, a] : m_attempts)
      if (key.first == id) out.push_back(a);
    return out;
  }
  GateRecord* gate(const std::string& task) {
    for (auto& g : gates)
      if (g.task_id == task) return &g;
    return nullptr;
  }
  /// The index of the first commit holding an event `kind` of `task`; throws when none.
  size_t commit_with(const std::string& kind, const std::string& task) const {
    for (size_t i = 0; i < commits.size(); ++i)
      for (const Event& e : commits[i].events)
        if (e.kind == kind && e.task_id == task) return i;
    throw std::runtime_error("no commit of " + kind + " for " + task);
  }
  /// The index of the commit that writes commit `k` to the database: `k` itself, or for a
  /// deferrable one the next commit that is not (SqliteRunStore holds deferrable commits
  /// until then and writes them first); commits.size() when none has followed.
  size_t written(size_t k) const {
    while (k < commits.size() && commits[k].deferrable) ++k;
    return k;
  }
  /// How many events the written commits hold: those up to the last commit that is not
  /// deferrable, which wrote the deferrable ones before it.
  size_t written_events() const {
    size_t n = 0, pending = 0;
    for (const Transition& t : commits) {
      pending += t.events.size();
      if (!t.deferrable) n += std::exchange(pending, 0);
    }
    return n;
  }
  /// The kinds of the events of `task` ("" for run-level ones), in commit order.
  std::vector<std::string> event_kinds(const std::string& task) const {
    std::vector<std::string> out;
    for (const Event& e : events)
      if (e.task_id == task) out.push_back(e.kind);
    return out;
  }

  RunRecord run;
  std::vector<TaskRecord> tasks;  ///< without attempts
  std::vector<GateRecord> gates;
  std::vector<Event> events;
  std::vector<Transition> commits;
  std::optional<size_t> fail_commit_number;  ///< this commit (1-based) fails
  int polls = 0;

  /// Group commit as `--durability full` has it: with `async_tickets`, commit_async()
  /// records the commit as commit() does and hands out a ticket that becomes durable when
  /// wait_durable() asks for it or a synchronous commit() follows. Each wait is recorded
  /// with the launches made so far.
  bool async_tickets = false;
  uint64_t durable = 0;
  std::vector<std::pair<uint64_t, size_t>> waits;  ///< (ticket, launches before the wait)
  std::function<size_t()> launch_count;

  Result<uint64_t> commit_async(const std::string& run_id, const Transition& t) override {
    if (!async_tickets) return RunStore::commit_async(run_id, t);
    if (auto ok = record(run_id, t); !ok) return std::unexpected(ok.error());
    return ++m_ticket;
  }
  Result<uint64_t> durable_ticket() override { return async_tickets ? durable : UINT64_MAX; }
  Result<void> wait_durable(uint64_t ticket) override {
    waits.emplace_back(ticket, launch_count ? launch_count() : 0);
    durable = std::max(durable, ticket);
    return {};
  }

 private:
  uint64_t m_ticket = 0;
  bool m_created = false;
  bool m_external = false;
  std::map<std::pair<std::string, int>, AttemptRecord> m_attempts;
};

/// Keeps every event it is shown.
class RecordingObserver : public Observer {
 public:
  void on_event(const Event& event) override { events.push_back(event); }
  std::vector<Event> events;
};

// ---------------------------------------------------------------------------------------
// Workflows without YAML

inline Template tmpl(std::string text) {
  return Template{std::move(text), Mark{}};
}

/// `pattern` compiled (util/regex.hpp); a test's pattern that does not compile is its bug.
inline Regex regex(std::string_view pattern) {
  auto re = Regex::compile(pattern);
  if (!re) throw std::invalid_argument(re.error().message);
  return *re;
}

/// A task that runs `run` (none when empty) after `needs`.
inline TaskSpec task(std::string id, std::string run = "true",
                     std::vector<std::string> needs = {}) {
  TaskSpec t;
  t.id = std::move(id);
  if (!run.empty()) t.run = tmpl(std::move(run));
  t.needs = std::move(needs);
  return t;
}

inline RetryPolicy retry(int max_attempts, Backoff backoff = Backoff::fixed,
                         milliseconds delay = 1s) {
  RetryPolicy p;
  p.max_attempts = max_attempts;
  p.backoff = backoff;
  p.delay = delay;
  return p;
}

inline Workflow workflow(std::vector<TaskSpec> tasks) {
  Workflow wf;
  wf.name = "flow";
  wf.file = "flow.yaml";
  wf.source_dir = "/work/flow";
  wf.tasks = std::move(tasks);
  return wf;
}

/// One run of one workflow, driven through the fakes. Run id `r-1`, started by alice.
struct Harness {
  TempDir dir;
  FakeClock clock;
  FakeRandom random;
  FakeStore store;
  FakeLauncher launcher{clock};
  RecordingObserver observer;
  Plan plan;
  EngineOptions options;

  explicit Harness(Workflow wf, int max_parallel = 4) {
    auto compiled = compile(std::move(wf));
    if (!compiled) throw std::runtime_error("compile: " + compiled.error().message);
    plan = std::move(*compiled);
    set_up(max_parallel);
  }

  /// Drives a plan compiled by the test (e.g. with sub-workflows).
  explicit Harness(Plan compiled, int max_parallel = 4) : plan(std::move(compiled)) {
    set_up(max_parallel);
  }

  void set_up(int max_parallel) {
    options.state_dir = dir.path;
    options.max_parallel = max_parallel;
    options.workflow_file = "/work/flow/flow.yaml";
    options.user = "alice";
    launcher.commit_count = [this] { return store.commits.size(); };
    launcher.observed_count = [this] { return observer.events.size(); };
  }

  /// Creates the run in the store and drives it.
  Result<DriveOutcome> start(nlohmann::json params = nlohmann::json::object()) {
    RunSnapshot s;
    s.run.id = "r-1";
    s.run.workflow = plan.workflow->name;
    s.run.workflow_file = options.workflow_file;
    s.run.source_dir = plan.workflow->source_dir;
    s.run.params = std::move(params);
    s.run.started_at = clock.system_now();
    s.run.started_by = "alice";
    s.run.max_parallel = options.max_parallel;
    if (plan.workflow->timeout) s.run.deadline = s.run.started_at + *plan.workflow->timeout;
    for (const auto& t : plan.workflow->tasks) {
      TaskRecord r;
      r.id = t.id;
      s.tasks.push_back(r);
    }
    if (auto ok = store.create_run(s); !ok) return std::unexpected(ok.error());
    Engine engine(plan, store, launcher, clock, random, observer, options);
    return engine.drive(s);
  }

  /// Drives the run again from what the store holds, as `wfo resume` does.
  Result<DriveOutcome> resume() {
    auto snapshot = store.load_run("r-1");
    if (!snapshot) return std::unexpected(snapshot.error());
    EngineOptions resumed = options;
    resumed.resume = true;  // recover what a dead driver left first
    Engine engine(plan, store, launcher, clock, random, observer, resumed);
    return engine.drive(std::move(*snapshot));
  }

  /// The run's folder under the state dir.
  std::string run_dir() const { return dir.path + "/runs/r-1"; }
};

}  // namespace wfo::test
