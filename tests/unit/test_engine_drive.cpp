// The Engine driven through fakes at its ports: dependency order, parallelism, priority,
// retries with backoff on the fake clock, timeouts, skips and continue_on_error.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "error_text.hpp"
#include "fakes.hpp"

namespace {

using namespace wfo;
using namespace wfo::test;
using Names = std::vector<std::string>;

DriveOutcome drove(const Result<DriveOutcome>& r) {
  REQUIRE_MESSAGE(r.has_value(), wfo::test::error_text(r));
  return *r;
}

// The observer sees exactly the committed events, in commit order.
void check_observer_saw_commits(const Harness& h) {
  REQUIRE(h.observer.events.size() == h.store.events.size());
  for (size_t i = 0; i < h.store.events.size(); ++i) {
    CHECK(h.observer.events[i].kind == h.store.events[i].kind);
    CHECK(h.observer.events[i].task_id == h.store.events[i].task_id);
  }
}

}  // namespace

TEST_CASE("a diamond runs each task once, in dependency order") {
  Harness h(workflow({task("a"), task("b", "true", {"a"}), task("c", "true", {"a"}),
                      task("d", "true", {"b", "c"})}),
            2);
  for (const char* id : {"a", "b", "c", "d"}) h.launcher.script(id, 1, Script().lasts(100ms));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"a", "b", "c", "d"});
  for (const auto& l : h.launcher.launches) CHECK(l.attempt == 1);
  CHECK(h.launcher.launch_of("a").at == FakeClock::at(0ms));
  CHECK(h.launcher.launch_of("b").at == FakeClock::at(100ms));
  CHECK(h.launcher.launch_of("c").at == FakeClock::at(100ms));
  CHECK(h.launcher.launch_of("d").at == FakeClock::at(200ms));
  CHECK(h.launcher.max_running == 2);
  CHECK(h.clock.elapsed() == 300ms);
  // Each need's success is written before its dependent is launched.
  auto written = [&](const char* task) {
    return h.store.written(h.store.commit_with("task_succeeded", task));
  };
  CHECK(written("a") < h.launcher.launch_of("b").commits_before);
  CHECK(written("a") < h.launcher.launch_of("c").commits_before);
  CHECK(written("b") < h.launcher.launch_of("d").commits_before);
  CHECK(written("c") < h.launcher.launch_of("d").commits_before);
  CHECK(h.store.run.status == RunStatus::succeeded);
  CHECK(h.store.run.ended_at == k_t0 + 300ms);
  for (const char* id : {"a", "b", "c", "d"}) {
    CAPTURE(id);
    CHECK(h.store.task(id).status == TaskStatus::succeeded);
    auto attempts = h.store.attempts(id);
    REQUIRE(attempts.size() == 1);
    CHECK(attempts[0].status == AttemptStatus::succeeded);
    CHECK(attempts[0].exit_code == 0);
    CHECK(h.store.event_kinds(id) == Names{"task_started", "attempt_succeeded", "task_succeeded"});
  }
  CHECK(h.store.task("a").finish_seq == 1);
  CHECK(h.store.task("d").finish_seq == 4);
  CHECK(h.store.event_kinds("") == Names{"run_started", "run_succeeded"});
  // The run's final state is committed durably.
  CHECK(h.store.commits.back().sync == Sync::durable);
  check_observer_saw_commits(h);
}

TEST_CASE("an attempt's start record rides with its end, or is written after start_flush") {
  auto empty = [](const Transition& t) {
    return !t.run && t.tasks.empty() && t.attempts.empty() && t.events.empty();
  };
  Harness h(workflow({task("quick"), task("long", "true", {"quick"})}), 1);
  h.launcher.script("quick", 1, Script().lasts(5ms));
  h.launcher.script("long", 1, Script().lasts(100ms));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  const auto& c = h.store.commits;
  size_t quick_start = h.store.commit_with("task_started", "quick");
  size_t quick_end = h.store.commit_with("task_succeeded", "quick");
  size_t long_start = h.store.commit_with("task_started", "long");
  size_t long_end = h.store.commit_with("task_succeeded", "long");
  CHECK(c[quick_start].deferrable);
  CHECK(c[long_start].deferrable);
  CHECK(c[quick_end].deferrable);  // held too, until something starts on it (next test)
  // 5 ms < start_flush (10 ms): nothing in between; the launch of `long` writes both.
  CHECK(quick_end == quick_start + 1);
  REQUIRE(long_start == quick_end + 2);
  CHECK(empty(c[quick_end + 1]));
  CHECK_FALSE(c[quick_end + 1].deferrable);
  CHECK(h.store.written(quick_end) < h.launcher.launch_of("long").commits_before);
  // 100 ms: one flush of the held start.
  REQUIRE(long_end == long_start + 2);
  CHECK(empty(c[long_start + 1]));
  CHECK_FALSE(c[long_start + 1].deferrable);

  Harness now(workflow({task("a")}), 1);
  now.options.start_flush = 0ms;  // written at once
  now.launcher.script("a", 1, Script().lasts(100ms));
  CHECK(drove(now.start()) == DriveOutcome::succeeded);
  CHECK_FALSE(now.store.commits[now.store.commit_with("task_started", "a")].deferrable);
  CHECK_FALSE(now.store.commits[now.store.commit_with("task_succeeded", "a")].deferrable);
  for (const auto& t : now.store.commits) CHECK_FALSE(empty(t));
}

TEST_CASE("a success is held until a task starts on it, the next commit, or start_flush") {
  auto empty = [](const Transition& t) {
    return !t.run && t.tasks.empty() && t.attempts.empty() && t.events.empty();
  };
  // `quick` has no dependent; `slow` runs beside it, and `last` needs `slow`.
  Harness h(workflow({task("quick"), task("slow"), task("last", "true", {"slow"})}), 2);
  h.launcher.script("quick", 1, Script().lasts(5ms));
  h.launcher.script("slow", 1, Script().lasts(100ms));
  h.launcher.script("last", 1, Script().lasts(5ms));
  // The observer is never shown a held event: a progress line is a change written.
  size_t waits = 0;
  h.launcher.on_wait = [&] {
    CHECK(h.observer.events.size() == h.store.written_events());
    waits += h.store.written_events() < h.store.events.size();
  };
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(waits > 0);  // some wait came while events were held
  const auto& c = h.store.commits;
  // Nothing starts on quick's success: at 10 ms (start_flush after the held starts) an
  // empty commit writes it, with both starts, while `slow` still runs.
  size_t quick_end = h.store.commit_with("task_succeeded", "quick");
  CHECK(c[quick_end].deferrable);
  REQUIRE(h.store.written(quick_end) == quick_end + 1);
  CHECK(empty(c[quick_end + 1]));
  CHECK(h.store.written(h.store.commit_with("task_started", "slow")) == quick_end + 1);
  // `last` starts on slow's success: its launch writes it first.
  size_t slow_end = h.store.commit_with("task_succeeded", "slow");
  CHECK(c[slow_end].deferrable);
  CHECK(h.store.written(slow_end) == slow_end + 1);
  CHECK(h.store.written(slow_end) < h.launcher.launch_of("last").commits_before);
  CHECK(h.launcher.launch_of("last").at == FakeClock::at(100ms));
  // The run's final state, committed durably, writes the last success with it.
  size_t last_end = h.store.commit_with("task_succeeded", "last");
  CHECK(c[last_end].deferrable);
  CHECK(h.store.written(last_end) == c.size() - 1);
  CHECK(c.back().run);
  CHECK(c.back().sync == Sync::durable);
  check_observer_saw_commits(h);
}

TEST_CASE("the observer is shown a need's success after its dependent starts, before any wait") {
  Harness h(workflow({task("a"), task("b", "true", {"a"}), task("c", "true", {"b"})}), 1);
  for (const char* id : {"a", "b", "c"}) h.launcher.script(id, 1, Script().lasts(10ms));
  // Whenever the engine waits for its processes, the observer has been shown every event
  // written so far, in order, and none that is held.
  size_t waits_checked = 0;
  h.launcher.on_wait = [&] {
    CHECK(h.observer.events.size() == h.store.written_events());
    ++waits_checked;
  };
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(waits_checked >= 3);
  check_observer_saw_commits(h);
  // The success of a need is committed before its dependent starts (the contract), but
  // shown after: the progress line is off the path from a's exit to b's spawn.
  auto shown = [&](const char* kind, const char* task) {
    for (size_t k = 0; k < h.observer.events.size(); ++k)
      if (h.observer.events[k].kind == kind && h.observer.events[k].task_id == task) return k;
    FAIL("not shown: " << kind << " " << task);
    return size_t{0};
  };
  CHECK(h.store.written(h.store.commit_with("task_succeeded", "a")) <
        h.launcher.launch_of("b").commits_before);
  CHECK(h.launcher.launch_of("b").observed_before <= shown("task_succeeded", "a"));
  CHECK(h.launcher.launch_of("c").observed_before <= shown("task_succeeded", "b"));
  CHECK(h.launcher.launch_of("c").observed_before > shown("task_succeeded", "a"));
}

TEST_CASE("max_parallel bounds the attempts running at once") {
  std::vector<TaskSpec> tasks;
  for (const char* id : {"t1", "t2", "t3", "t4", "t5"}) tasks.push_back(task(id));
  for (int n : {1, 2, 3}) {
    CAPTURE(n);
    Harness h(workflow(tasks), n);
    for (const char* id : {"t1", "t2", "t3", "t4", "t5"})
      h.launcher.script(id, 1, Script().lasts(100ms));
    CHECK(drove(h.start()) == DriveOutcome::succeeded);
    CHECK(h.launcher.max_running == static_cast<size_t>(n));
    CHECK(h.launcher.launched_tasks() == Names{"t1", "t2", "t3", "t4", "t5"});
    CHECK(h.clock.elapsed() == std::chrono::milliseconds(100 * ((5 + n - 1) / n)));
  }
}

TEST_CASE("priority orders ready tasks; ties go in workflow order") {
  std::vector<TaskSpec> tasks{task("x"), task("y"), task("z"), task("w")};
  tasks[1].priority = 5;
  tasks[2].priority = 1;
  tasks[3].priority = 5;
  Harness h(workflow(tasks), 1);
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"y", "w", "z", "x"});
  CHECK(h.launcher.max_running == 1);
}

TEST_CASE("a failing task is retried with exponential backoff, then fails; dependents skip") {
  std::vector<TaskSpec> tasks{task("flaky"), task("after", "true", {"flaky"}), task("other"),
                              task("cleanup", "true", {"flaky"})};
  tasks[0].retry = retry(3, Backoff::exponential, 1s);
  tasks[3].if_expr = tmpl("${{ failure() }}");
  Harness h(workflow(tasks));
  for (int n : {1, 2, 3}) h.launcher.script("flaky", n, Script().exits(1));
  h.launcher.script("other", 1, Script().lasts(100ms));

  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.launcher.launched_tasks() == Names{"flaky", "other", "flaky", "flaky", "cleanup"});
  CHECK(h.launcher.launch_of("flaky", 1).at == FakeClock::at(0ms));
  CHECK(h.launcher.launch_of("flaky", 2).at == FakeClock::at(1000ms));
  CHECK(h.launcher.launch_of("flaky", 3).at == FakeClock::at(3000ms));
  auto attempts = h.store.attempts("flaky");
  REQUIRE(attempts.size() == 3);
  std::vector<int64_t> delays;
  for (const auto& a : attempts) {
    CHECK(a.status == AttemptStatus::failed);
    CHECK(a.exit_code == 1);
    CHECK(a.reason == "exit code 1");
    delays.push_back(a.delay_ms);
  }
  CHECK(delays == std::vector<int64_t>{0, 1000, 2000});
  CHECK(attempts[0].delay_reason == "");
  CHECK(attempts[1].delay_reason == "exit code 1");
  CHECK(attempts[2].delay_reason == "exit code 1");
  CHECK(attempts[1].started_at == k_t0 + 1000ms);
  CHECK(attempts[2].started_at == k_t0 + 3000ms);
  // While waiting, the task is `retrying` with the time of its next attempt.
  const Transition& retrying = h.store.commits[h.store.commit_with("task_retrying", "flaky")];
  REQUIRE(retrying.tasks.size() == 1);
  CHECK(retrying.tasks[0].status == TaskStatus::retrying);
  CHECK(retrying.tasks[0].next_attempt_at == k_t0 + 1000ms);
  std::vector<std::string> retry_details;
  for (const Event& e : h.store.events)
    if (e.kind == "task_retrying") retry_details.push_back(e.detail);
  CHECK(retry_details ==
        Names{"in 1.0s (attempt 2/3): exit code 1", "in 2.0s (attempt 3/3): exit code 1"});

  CHECK(h.store.task("flaky").status == TaskStatus::failed);
  CHECK(h.store.task("flaky").reason == "exit code 1 (attempt 3/3)");
  CHECK(h.store.task("after").status == TaskStatus::skipped);
  CHECK(h.store.task("after").reason == "need 'flaky' failed");
  CHECK(h.store.attempts("after").empty());
  CHECK(h.store.task("other").status == TaskStatus::succeeded);
  CHECK(h.store.task("cleanup").status == TaskStatus::succeeded);  // if: failure()
  CHECK(h.store.run.status == RunStatus::failed);
  CHECK(h.store.run.reason == "task failed: flaky");
  CHECK(h.random.calls == 0);  // no jitter asked for
  check_observer_saw_commits(h);
}

TEST_CASE("jitter draws from the Random port") {
  std::vector<TaskSpec> tasks{task("flaky")};
  tasks[0].retry = retry(2, Backoff::fixed, 4s);
  tasks[0].retry->jitter = Jitter::full;
  Harness h(workflow(tasks));
  h.random = FakeRandom({0.25});
  h.launcher.script("flaky", 1, Script().exits(1));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.random.calls == 1);
  CHECK(h.store.attempts("flaky")[1].delay_ms == 1000);
  CHECK(h.launcher.launch_of("flaky", 2).at == FakeClock::at(1000ms));
}

TEST_CASE("on_exit_codes decides whether a failure is retried") {
  std::vector<TaskSpec> tasks{task("a")};
  tasks[0].retry = retry(3);
  tasks[0].retry->on_exit_codes = {75};
  SUBCASE("no match: fails at once") {
    Harness h(workflow(tasks));
    h.launcher.script("a", 1, Script().exits(1));
    CHECK(drove(h.start()) == DriveOutcome::failed);
    CHECK(h.launcher.launches.size() == 1);
    CHECK(h.store.task("a").reason == "exit code 1 (attempt 1/3)");
    CHECK(h.store.event_kinds("a") == Names{"task_started", "attempt_failed", "task_failed"});
  }
  SUBCASE("a match: retried, then succeeds") {
    Harness h(workflow(tasks));
    h.launcher.script("a", 1, Script().exits(75));
    CHECK(drove(h.start()) == DriveOutcome::succeeded);
    CHECK(h.launcher.launches.size() == 2);
    auto attempts = h.store.attempts("a");
    REQUIRE(attempts.size() == 2);
    CHECK(attempts[1].delay_ms == 1000);
    CHECK(attempts[1].delay_reason == "exit code 75");
    CHECK(attempts[1].status == AttemptStatus::succeeded);
  }
}

TEST_CASE("on_output retries when the attempt's log matches") {
  std::vector<TaskSpec> tasks{task("a")};
  tasks[0].retry = retry(2);
  tasks[0].retry->on_output = {regex("rate limit|timed out")};
  Harness h(workflow(tasks));
  h.launcher.script("a", 1, Script().exits(1).writes_log("calling api\nHTTP 429: rate limit\n"));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.store.attempts("a")[1].delay_reason == "output matched 'rate limit|timed out'");
}

TEST_CASE("an attempt that cannot start fails and follows the retry policy") {
  std::vector<TaskSpec> tasks{task("a")};
  tasks[0].retry = retry(2);
  Harness h(workflow(tasks));
  h.launcher.script("a", 1, Script().cannot_start("cannot run '/bin/sh': No such file"));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  auto attempts = h.store.attempts("a");
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[0].status == AttemptStatus::failed);
  CHECK(attempts[0].reason == "cannot run '/bin/sh': No such file");
  CHECK(attempts[0].ended_at == attempts[0].started_at);
  CHECK(attempts[1].status == AttemptStatus::succeeded);
}

TEST_CASE("output lost on the way to the log fails the attempt, and the policy retries it") {
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"})};
  tasks[0].retry = retry(2);
  Harness h(workflow(tasks));
  std::string why = "cannot write log file '/s/a.1.log': No space left on device";
  h.launcher.script("a", 1, Script().log_fails(why));
  h.launcher.script("b", 1, Script().exits(3).log_fails(why));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  auto a = h.store.attempts("a");
  REQUIRE(a.size() == 2);
  CHECK(a[0].status == AttemptStatus::failed);
  CHECK(a[0].exit_code == 0);  // the command itself succeeded
  CHECK(a[0].reason == why);
  CHECK(a[1].status == AttemptStatus::succeeded);
  auto b = h.store.attempts("b");
  REQUIRE(b.size() == 1);
  CHECK(b[0].reason == "exit code 3; " + why);
}

TEST_CASE("a timeout cancels the attempt at its deadline") {
  std::vector<TaskSpec> tasks{task("slow"), task("next", "true", {"slow"})};
  tasks[0].timeout = 5s;
  SUBCASE("no retry: the task fails as timed out") {
    Harness h(workflow(tasks));
    h.launcher.script("slow", 1, Script().hangs());
    CHECK(drove(h.start()) == DriveOutcome::failed);
    REQUIRE(h.launcher.cancels.size() == 1);
    CHECK(h.launcher.cancels[0].task == "slow");
    CHECK(h.launcher.cancels[0].at == FakeClock::at(5000ms));
    CHECK(h.launcher.cancels[0].grace == h.options.kill_grace);
    auto attempts = h.store.attempts("slow");
    REQUIRE(attempts.size() == 1);
    CHECK(attempts[0].status == AttemptStatus::timed_out);
    CHECK(attempts[0].reason == "timed out after 5s");
    CHECK(attempts[0].signal == SIGTERM);
    CHECK(attempts[0].exit_code == std::nullopt);
    CHECK(attempts[0].ended_at == k_t0 + 5s);
    CHECK(h.store.task("slow").status == TaskStatus::failed);
    CHECK(h.store.task("slow").reason == "timed out after 5s");
    CHECK(h.store.task("next").status == TaskStatus::skipped);
  }
  SUBCASE("an attempt that ignores SIGTERM is reaped after the grace") {
    Harness h(workflow(tasks));
    h.options.kill_grace = 2s;
    h.launcher.script("slow", 1, Script().hangs().ignores_sigterm());
    CHECK(drove(h.start()) == DriveOutcome::failed);
    auto attempts = h.store.attempts("slow");
    CHECK(attempts[0].status == AttemptStatus::timed_out);
    CHECK(attempts[0].signal == SIGKILL);
    CHECK(attempts[0].ended_at == k_t0 + 7s);
  }
  SUBCASE("with retries: a timed-out attempt is retried unless on_timeout is false") {
    tasks[0].retry = retry(2);
    Harness h(workflow(tasks));
    h.launcher.script("slow", 1, Script().hangs());
    CHECK(drove(h.start()) == DriveOutcome::succeeded);
    auto attempts = h.store.attempts("slow");
    REQUIRE(attempts.size() == 2);
    CHECK(attempts[1].delay_reason == "timed out");
    CHECK(h.launcher.launch_of("slow", 2).at == FakeClock::at(6000ms));

    tasks[0].retry->on_timeout = false;
    Harness no(workflow(tasks));
    no.launcher.script("slow", 1, Script().hangs());
    CHECK(drove(no.start()) == DriveOutcome::failed);
    CHECK(no.launcher.launches.size() == 1);
    CHECK(no.store.task("slow").reason == "timed out after 5s (attempt 1/2)");
  }
}

TEST_CASE("if: false skips the task; a skipped need skips its dependents unless always()") {
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"}), task("c", "true", {"a"}),
                              task("d", "true", {"b"}), task("e", "true", {"a"})};
  tasks[0].if_expr = tmpl("${{ false }}");
  tasks[2].if_expr = tmpl("${{ always() }}");
  tasks[4].if_expr = tmpl("${{ success() }}");
  Harness h(workflow(tasks));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"c"});
  CHECK(h.store.task("a").status == TaskStatus::skipped);
  CHECK(h.store.task("a").reason == "if: ${{ false }} was false");
  CHECK(h.store.task("b").status == TaskStatus::skipped);
  CHECK(h.store.task("b").reason == "need 'a' was skipped");
  CHECK(h.store.task("c").status == TaskStatus::succeeded);
  CHECK(h.store.task("d").status == TaskStatus::skipped);
  CHECK(h.store.task("d").reason == "need 'b' was skipped");
  CHECK(h.store.task("e").status == TaskStatus::skipped);
  CHECK(h.store.run.status == RunStatus::succeeded);
}

TEST_CASE("an if without ${{ }} is an expression too") {
  std::vector<TaskSpec> tasks{task("a"), task("b")};
  tasks[0].if_expr = tmpl("false");
  tasks[1].if_expr = tmpl("run.id == 'r-1'");
  Harness h(workflow(tasks));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"b"});
  CHECK(h.store.task("a").status == TaskStatus::skipped);
}

TEST_CASE("continue_on_error: the failure neither fails the run nor stops dependents") {
  std::vector<TaskSpec> tasks{task("a"), task("b", "echo ${{ tasks.a.status }}", {"a"})};
  tasks[0].continue_on_error = true;
  Harness h(workflow(tasks));
  h.launcher.script("a", 1, Script().exits(3));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.store.task("a").status == TaskStatus::failed);
  CHECK(h.store.task("a").reason == "exit code 3");
  CHECK(h.store.task("b").status == TaskStatus::succeeded);
  // Dependents read it as succeeded (GitHub Actions).
  CHECK(h.launcher.launch_of("b").env("WFO_EXPR_1") == "succeeded");
  CHECK(h.store.run.status == RunStatus::succeeded);
}

TEST_CASE("full durability: a success is queued; only its dependents wait for its sync") {
  // -j1: a, then c, then b (needs a and c). a's success makes nothing ready, so it is
  // queued without a wait, and c, which does not need it, starts before it is durable.
  // c's success makes b ready: it is written at once (synchronously), with a's before it.
  Harness h(workflow({task("a"), task("b", "true", {"a", "c"}), task("c")}), 1);
  h.options.sync = Sync::durable;
  h.store.async_tickets = true;
  h.store.launch_count = [&] { return h.launcher.launches.size(); };
  std::vector<uint64_t> durable_at_launch;
  h.launcher.commit_count = [&] {
    durable_at_launch.push_back(h.store.durable);
    return h.store.commits.size();
  };
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"a", "c", "b"});
  CHECK(durable_at_launch == std::vector<uint64_t>{0, 0, 1});
  // b asked for a's success (ticket 1) before it started, after a's and c's launches.
  REQUIRE(h.store.waits.size() == 1);
  CHECK(h.store.waits[0] == std::pair<uint64_t, size_t>{1, 2});
  CHECK(h.store.commits.back().sync == Sync::durable);
  CHECK(h.store.event_kinds("a") == Names{"task_started", "attempt_succeeded", "task_succeeded"});
}

TEST_CASE("a failed commit stops the drive with the store's error") {
  Harness h(workflow({task("a"), task("b", "true", {"a"})}));
  // Commits: 1 run_started, 2 a started and 3 a succeeded (both held), 4 the write of both
  // before b's launch (fails).
  h.store.fail_commit_number = 4;
  auto r = h.start();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::state);
  CHECK(r.error().message == "state database 'fake': disk I/O error");
  // Nothing acted on the change that was not durable.
  CHECK(h.launcher.launched_tasks() == Names{"a"});
  CHECK(h.store.commits.size() == 3);
  // Nor was it shown: only run_started was written.
  CHECK(h.store.written_events() == 1);
  CHECK(h.observer.events.size() == 1);
}

TEST_CASE("the run's timeout stops every attempt and fails the run") {
  std::vector<TaskSpec> tasks{task("a"), task("b"), task("c", "true", {"a"})};
  Workflow wf = workflow(tasks);
  wf.timeout = 10s;
  for (bool ignores_term : {false, true}) {
    CAPTURE(ignores_term);
    Harness h(wf);
    h.options.kill_grace = 2s;
    Script hangs = Script().hangs();
    if (ignores_term) hangs.ignores_sigterm();
    h.launcher.script("a", 1, hangs);
    h.launcher.script("b", 1, Script().lasts(3s));
    CHECK(drove(h.start()) == DriveOutcome::failed);
    REQUIRE(h.launcher.cancels.size() == 1);
    CHECK(h.launcher.cancels[0].task == "a");
    CHECK(h.launcher.cancels[0].at == FakeClock::at(10s));
    auto attempts = h.store.attempts("a");
    REQUIRE(attempts.size() == 1);
    CHECK(attempts[0].status == AttemptStatus::timed_out);
    CHECK(attempts[0].reason == "run timed out after 10s");
    CHECK(attempts[0].ended_at == k_t0 + (ignores_term ? 12s : 10s));
    CHECK(h.store.task("a").status == TaskStatus::failed);
    CHECK(h.store.task("b").status == TaskStatus::succeeded);
    CHECK(h.store.task("c").status == TaskStatus::cancelled);
    CHECK(h.launcher.launched_tasks() == Names{"a", "b"});
    CHECK(h.store.run.status == RunStatus::failed);
    CHECK(h.store.run.reason == "run timed out after 10s");
  }
}

TEST_CASE("after the run's timeout, tasks whose if holds run once the stopped attempts end") {
  // d: always(), needs the stopped a; e: always(), needs d; f: the default success(), needs
  // b; g: !cancelled().
  std::vector<TaskSpec> tasks{task("a"),
                              task("b"),
                              task("d", "true", {"a"}),
                              task("e", "true", {"d"}),
                              task("f", "true", {"b"}),
                              task("g", "true", {"a"})};
  tasks[2].if_expr = tmpl("${{ always() }}");
  tasks[3].if_expr = tmpl("${{ always() }}");
  tasks[5].if_expr = tmpl("${{ !cancelled() }}");
  Workflow wf = workflow(tasks);
  wf.timeout = 10s;
  Harness h(wf);
  h.options.kill_grace = 2s;
  h.launcher.script("a", 1, Script().hangs().ignores_sigterm());
  h.launcher.script("b", 1, Script().lasts(20s));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.launcher.launched_tasks() == Names{"a", "b", "d", "e"});
  // Only after SIGKILL reaped a (10 s + the 2 s grace) and the stopped b.
  REQUIRE(h.launcher.launches.size() == 4);
  CHECK(h.launcher.launches[2].at == FakeClock::at(12s));
  CHECK(h.store.task("d").status == TaskStatus::succeeded);
  CHECK(h.store.task("e").status == TaskStatus::succeeded);
  CHECK(h.store.task("f").status == TaskStatus::cancelled);
  CHECK(h.store.task("g").status == TaskStatus::skipped);
  CHECK(h.store.task("b").status == TaskStatus::failed);
  CHECK(h.store.run.status == RunStatus::failed);
  CHECK(h.store.run.reason == "run timed out after 10s");
}
