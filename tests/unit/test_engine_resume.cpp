// The Engine across drives of one run: approval gates parking and resuming, recovery after
// a crashed driver, a fresh budget for a failed run, interruption by a signal, cancellation.

#include <doctest/doctest.h>

#include <algorithm>
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

// A `before` gate on `deploy` (approvers: bob) and an independent `lint` of 100 ms.
std::vector<TaskSpec> gated_tasks() {
  std::vector<TaskSpec> tasks{task("deploy", "./deploy.sh"), task("lint", "make lint"),
                              task("notify", "true", {"deploy"})};
  ApprovalSpec approval;
  approval.approvers = {"bob"};
  tasks[0].approval = approval;
  return tasks;
}

// Leaves run r-1 in `h`'s store as a driver that died or stopped left it: the run `left`
// with the cancel asked `cancels` times, the tasks (id, status) in order, then one commit of
// task `attempt.task_id`'s attempt 1 (`attempt`, started an hour before k_t0) and of run-level
// events of the kinds `events`.
void left_by_a_driver(Harness& h, RunStatus left, int cancels,
                      const std::vector<std::pair<std::string, TaskStatus>>& tasks,
                      AttemptRecord attempt, const std::vector<std::string>& events) {
  RunSnapshot s;
  s.run.id = "r-1";
  s.run.status = left;
  s.run.cancel_requested = cancels;
  for (const auto& [id, status] : tasks) {
    s.tasks.emplace_back();
    s.tasks.back().id = id;
    s.tasks.back().status = status;
  }
  REQUIRE(h.store.create_run(s).has_value());
  Transition t;
  for (const auto& kind : events) t.events.push_back(Event{k_t0, "", 0, kind, ""});
  attempt.number = 1;
  attempt.started_at = k_t0 - std::chrono::hours(1);
  t.attempts.push_back(std::move(attempt));
  REQUIRE(h.store.commit("r-1", t).has_value());
}

// An attempt of `task` in state `status`; one that failed exited 1.
AttemptRecord attempt_of(std::string task, AttemptStatus status) {
  AttemptRecord a;
  a.task_id = std::move(task);
  a.status = status;
  if (status == AttemptStatus::failed) a.exit_code = 1, a.reason = "exit code 1";
  if (status == AttemptStatus::running) a.handle = "pgid:4242";
  return a;
}

}  // namespace

TEST_CASE("a before gate parks the run while independent tasks still run") {
  Harness h(workflow(gated_tasks()));
  h.launcher.script("lint", 1, Script().lasts(100ms));
  CHECK(drove(h.start()) == DriveOutcome::waiting_approval);
  CHECK(h.launcher.launched_tasks() == Names{"lint"});
  CHECK(h.store.task("lint").status == TaskStatus::succeeded);
  CHECK(h.store.task("deploy").status == TaskStatus::waiting_approval);
  CHECK(h.store.task("notify").status == TaskStatus::pending);
  const GateRecord* g = h.store.gate("deploy");
  REQUIRE(g != nullptr);
  CHECK(g->status == GateStatus::waiting);
  CHECK(g->when == "before");
  CHECK(g->approvers == Names{"bob"});
  CHECK(g->message == "approve task 'deploy'?");
  CHECK(g->created_at == k_t0);
  CHECK(g->round == 1);
  // The gate and the task's status are committed together, before anything else runs.
  size_t gate_commit = h.store.commit_with("gate_waiting", "deploy");
  CHECK(h.store.commits[gate_commit].gates.size() == 1);
  CHECK(h.store.commits[gate_commit].tasks.size() == 1);
  CHECK(h.store.run.status == RunStatus::waiting_approval);
  CHECK(h.store.run.ended_at == std::nullopt);

  SUBCASE("approved: a resume runs it and what follows") {
    h.store.decide("deploy", "bob", true, "go");
    CHECK(drove(h.resume()) == DriveOutcome::succeeded);
    CHECK(h.launcher.launched_tasks() == Names{"lint", "deploy", "notify"});
    CHECK(h.launcher.launch_of("deploy").env("WFO_ATTEMPT") == "1");
    CHECK(h.store.task("deploy").status == TaskStatus::succeeded);
    CHECK(h.store.run.status == RunStatus::succeeded);
  }
  SUBCASE("rejected: a resume fails it without running it") {
    h.store.decide("deploy", "bob", false, "not today");
    CHECK(drove(h.resume()) == DriveOutcome::failed);
    CHECK(h.launcher.launched_tasks() == Names{"lint"});
    CHECK(h.store.task("deploy").status == TaskStatus::failed);
    CHECK(h.store.task("deploy").reason == "gate rejected by bob: not today");
    CHECK(h.store.task("notify").status == TaskStatus::skipped);
    CHECK(h.store.run.reason == "task failed: deploy");
  }
  SUBCASE("still waiting: a resume parks again without relaunching anything") {
    CHECK(drove(h.resume()) == DriveOutcome::waiting_approval);
    CHECK(h.launcher.launched_tasks() == Names{"lint"});
  }
}

TEST_CASE("with --wait, a decision seen through poll_external goes on in the same drive") {
  Harness h(workflow(gated_tasks()));
  h.options.wait_for_gates = true;
  h.launcher.on_wait = [&] {
    if (h.launcher.waits == 5) h.store.decide("deploy", "bob", true);
  };
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"lint", "deploy", "notify"});
  // deploy started only after the approval was polled, seconds later on the fake clock.
  CHECK(h.launcher.launch_of("deploy").at > FakeClock::at(1000ms));
  CHECK(h.store.event_kinds("deploy") ==
        Names{"gate_waiting", "task_started", "attempt_succeeded", "task_succeeded"});
}

TEST_CASE("a pure gate succeeds when approved") {
  TaskSpec review = task("review", "");
  review.approval = ApprovalSpec{};
  review.approval->message = tmpl("ship ${{ run.id }}?");
  Harness h(workflow({review, task("after", "true", {"review"})}));
  CHECK(drove(h.start()) == DriveOutcome::waiting_approval);
  CHECK(h.store.gate("review")->message == "ship r-1?");
  h.store.decide("review", "carol", true);
  CHECK(drove(h.resume()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"after"});
  CHECK(h.store.task("review").status == TaskStatus::succeeded);
}

TEST_CASE("resume after a crash: the running attempt is recovered and interrupted") {
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"})};
  tasks[0].retry = retry(2);
  Harness h(workflow(tasks));
  // What a driver killed mid-attempt left behind.
  RunSnapshot s;
  s.run.id = "r-1";
  s.run.status = RunStatus::running;
  s.run.started_by = "alice";
  s.tasks = {TaskRecord{}, TaskRecord{}};
  s.tasks[0].id = "a";
  s.tasks[1].id = "b";
  REQUIRE(h.store.create_run(s).has_value());
  Transition crashed;
  TaskRecord running;
  running.id = "a";
  running.status = TaskStatus::running;
  crashed.tasks.push_back(running);
  AttemptRecord a1;
  a1.task_id = "a";
  a1.number = 1;
  a1.status = AttemptStatus::running;
  a1.handle = "pgid:4242";
  a1.started_at = k_t0 - 1h;
  crashed.attempts.push_back(a1);
  REQUIRE(h.store.commit("r-1", crashed).has_value());
  size_t commits_before = h.store.commits.size();
  // Attempt 2 fails, attempt 3 succeeds: the interrupted attempt did not use the budget of 2.
  h.launcher.script("a", 2, Script().exits(1));

  CHECK(drove(h.resume()) == DriveOutcome::succeeded);
  REQUIRE(h.launcher.recovered.size() == 1);
  CHECK(h.launcher.recovered[0].run_id == "r-1");
  CHECK(h.launcher.recovered[0].handles == Names{"pgid:4242"});
  CHECK(h.launcher.recovered[0].launches_before == 0);
  auto attempts = h.store.attempts("a");
  REQUIRE(attempts.size() == 3);
  CHECK(attempts[0].status == AttemptStatus::interrupted);
  CHECK(attempts[0].reason == "its driver stopped");
  CHECK(attempts[0].ended_at == k_t0);
  CHECK(attempts[1].status == AttemptStatus::failed);
  CHECK(attempts[2].status == AttemptStatus::succeeded);
  CHECK(h.launcher.launch_of("a", 2).env("WFO_ATTEMPT") == "2");
  CHECK(h.launcher.launched_tasks() == Names{"a", "a", "b"});
  // The recovery is one commit, the first of the drive.
  const Transition& first = h.store.commits[commits_before];
  REQUIRE(first.events.size() == 1);
  CHECK(first.events[0].kind == "run_resumed");
  CHECK(first.events[0].detail == "by alice");
  REQUIRE(first.attempts.size() == 1);
  CHECK(first.attempts[0].status == AttemptStatus::interrupted);
  REQUIRE(first.tasks.size() == 1);
  CHECK(first.tasks[0].status == TaskStatus::pending);
}

TEST_CASE("resume of a failed run gives its failed tasks a fresh budget") {
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"}), task("ok")};
  tasks[0].retry = retry(2);
  Harness h(workflow(tasks));
  for (int n : {1, 2, 3}) h.launcher.script("a", n, Script().exits(1));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.store.task("a").reason == "exit code 1 (attempt 2/2)");
  CHECK(h.store.task("b").status == TaskStatus::skipped);

  CHECK(drove(h.resume()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"a", "ok", "a", "a", "a", "b"});
  CHECK(h.store.task("a").budget_base == 2);
  CHECK(h.store.task("a").status == TaskStatus::succeeded);
  auto attempts = h.store.attempts("a");
  REQUIRE(attempts.size() == 4);
  CHECK(attempts[2].delay_ms == 0);  // the resume starts at once
  CHECK(attempts[3].delay_ms == 1000);
  CHECK(attempts[3].status == AttemptStatus::succeeded);
  CHECK(h.store.task("b").status == TaskStatus::succeeded);
  CHECK(h.store.run.status == RunStatus::succeeded);
  CHECK(h.store.run.reason == "");
  CHECK(h.store.run.ended_at.has_value());
  // Succeeded tasks are kept, not run again.
  CHECK(h.store.attempts("ok").size() == 1);
}

TEST_CASE("on resume, a task after a kept need waits for what runs again before that need") {
  // n (always()) ran after a failed and is kept; d, which needs n, runs again: it waits for
  // a, and reads a's end as a need's.
  std::vector<TaskSpec> tasks{task("a"), task("n", "true", {"a"}), task("d", "true", {"n"})};
  tasks[1].if_expr = tmpl("${{ always() }}");
  Harness h(workflow(tasks));
  h.launcher.script("a", 1, Script().exits(1));
  h.launcher.script("d", 1, Script().exits(1));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.store.task("n").status == TaskStatus::succeeded);

  SUBCASE("a succeeds this time: d starts after it") {
    h.launcher.script("a", 2, Script().lasts(5s));
    CHECK(drove(h.resume()) == DriveOutcome::succeeded);
    CHECK(h.launcher.launched_tasks() == Names{"a", "n", "d", "a", "d"});
    CHECK(h.launcher.launches[4].at >= h.launcher.launches[3].at + 5s);
    CHECK(h.store.attempts("n").size() == 1);  // kept
  }
  SUBCASE("a fails again: d still runs after it, as n's always() let it in the first run") {
    h.launcher.script("a", 2, Script().exits(1).lasts(5s));
    CHECK(drove(h.resume()) == DriveOutcome::failed);
    CHECK(h.launcher.launched_tasks() == Names{"a", "n", "d", "a", "d"});
    CHECK(h.launcher.launches[4].at >= h.launcher.launches[3].at + 5s);
    CHECK(h.store.task("d").status == TaskStatus::succeeded);
  }
}

TEST_CASE("on resume, a task after kept tasks waits for every task that runs again before them") {
  // a1 and a2 failed; n (always()) ran after them and m after n: both kept. d needs m and
  // runs again: it waits for a1 and a2, through two kept tasks, and e for d.
  std::vector<TaskSpec> tasks{task("a1"),
                              task("a2"),
                              task("n", "true", {"a1", "a2"}),
                              task("m", "true", {"n"}),
                              task("d", "true", {"m"}),
                              task("e", "true", {"d"})};
  tasks[2].if_expr = tmpl("${{ always() }}");
  Harness h(workflow(tasks));
  h.launcher.script("a1", 1, Script().exits(1));
  h.launcher.script("a2", 1, Script().exits(1));
  h.launcher.script("d", 1, Script().exits(1));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.store.task("m").status == TaskStatus::succeeded);
  h.launcher.script("a1", 2, Script().lasts(8s));
  h.launcher.script("a2", 2, Script().lasts(5s));
  CHECK(drove(h.resume()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"a1", "a2", "n", "m", "d", "a1", "a2", "d", "e"});
  CHECK(h.launcher.launch_of("d", 2).at >= h.launcher.launch_of("a1", 2).at + 8s);
  CHECK(h.store.attempts("n").size() == 1);  // kept
  CHECK(h.store.attempts("m").size() == 1);
  CHECK(h.store.task("e").status == TaskStatus::succeeded);
}

TEST_CASE(
    "on resume, a kept need without a status function reads skipped when what ran again failed") {
  // b (the default success()) is kept after a, which runs again; c needs b. A fresh run
  // with a failed would have skipped b, and so c.
  // n (always()) needs b too, and reads its status as c's `if` did.
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"}), task("c", "true", {"b"}),
                              task("n", "echo ${{ tasks.b.status }}", {"b"})};
  tasks[0].compensate = tmpl("undo");  // the run's failure undoes a: the resume redoes it
  tasks[3].if_expr = tmpl("${{ always() }}");
  Harness h(workflow(tasks));
  h.launcher.script("c", 1, Script().exits(1));
  h.launcher.script("n", 1, Script().exits(1));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.launcher.launch_of("n", 1).env("WFO_EXPR_1") == "succeeded");
  h.launcher.script("a", 3, Script().exits(1));
  CHECK(drove(h.resume()) == DriveOutcome::failed);
  CHECK(h.launcher.launched_tasks() == Names{"a", "b", "c", "n", "a", "a", "n"});
  CHECK(h.launcher.launch_of("n", 2).env("WFO_EXPR_1") == "skipped");
  CHECK(h.store.task("b").status == TaskStatus::succeeded);  // kept
  CHECK(h.store.task("c").status == TaskStatus::skipped);
  CHECK(h.store.task("c").reason == "need 'b' was kept, but 'a' before it failed");
}

TEST_CASE("an interrupt cancels running attempts and records them interrupted") {
  std::vector<TaskSpec> tasks{task("a"), task("b"), task("c", "true", {"a"})};
  Harness h(workflow(tasks));
  h.launcher.script("a", 1, Script().hangs());
  h.launcher.script("b", 1, Script().hangs());
  h.launcher.interrupt_when_running = "a";
  CHECK(drove(h.start()) == DriveOutcome::interrupted);
  REQUIRE(h.launcher.cancels.size() == 2);
  for (const auto& c : h.launcher.cancels) CHECK(c.grace == h.options.kill_grace);
  CHECK(h.launcher.running() == 0);
  CHECK(h.launcher.launched_tasks() == Names{"a", "b"});
  for (const char* id : {"a", "b"}) {
    CAPTURE(id);
    auto attempts = h.store.attempts(id);
    REQUIRE(attempts.size() == 1);
    CHECK(attempts[0].status == AttemptStatus::interrupted);
    CHECK(attempts[0].reason == "wfo was interrupted");
    CHECK(h.store.task(id).status == TaskStatus::pending);
  }
  CHECK(h.store.task("c").status == TaskStatus::pending);
  CHECK(h.store.run.status == RunStatus::interrupted);
  CHECK(h.store.run.reason == "interrupted by a signal");

  SUBCASE("a resume runs them again; interrupted attempts do not count") {
    CHECK(drove(h.resume()) == DriveOutcome::succeeded);
    CHECK(h.launcher.launched_tasks() == Names{"a", "b", "a", "b", "c"});
    CHECK(h.launcher.launch_of("a", 2).env("WFO_ATTEMPT") == "2");
    CHECK(h.store.task("a").status == TaskStatus::succeeded);
    CHECK(h.store.run.status == RunStatus::succeeded);
  }
}

TEST_CASE("wfo cancel, seen through poll_external, cancels the run") {
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"})};
  Harness h(workflow(tasks));
  h.launcher.script("a", 1, Script().hangs());
  h.launcher.on_wait = [&] {
    if (h.launcher.waits == 3) h.store.request_cancel();
  };
  CHECK(drove(h.start()) == DriveOutcome::cancelled);
  REQUIRE(h.launcher.cancels.size() == 1);
  CHECK(h.launcher.cancels[0].task == "a");
  CHECK(h.launcher.launched_tasks() == Names{"a"});
  auto attempts = h.store.attempts("a");
  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].status == AttemptStatus::cancelled);
  CHECK(attempts[0].reason == "run cancelled");
  CHECK(h.store.task("a").status == TaskStatus::cancelled);
  CHECK(h.store.task("b").status == TaskStatus::cancelled);
  CHECK(h.store.run.status == RunStatus::cancelled);
  CHECK(h.store.run.reason == "cancelled");
  CHECK(h.store.run.ended_at.has_value());
}

TEST_CASE("a second wfo cancel stops the tasks that run after the first") {
  // c (always()) starts after the cancel stopped a; the second cancel stops c, and d
  // (always(), after c) never starts.
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"}), task("c", "true", {"a"}),
                              task("d", "true", {"c"})};
  tasks[2].if_expr = tmpl("${{ always() }}");
  tasks[3].if_expr = tmpl("${{ always() }}");
  Harness h(workflow(tasks));
  h.launcher.script("a", 1, Script().hangs());
  h.launcher.script("c", 1, Script().hangs());
  h.launcher.on_wait = [&] {
    if (h.launcher.waits == 3) h.store.request_cancel();
    if (h.launcher.running() == 1 && h.launcher.launched_tasks().size() == 2 &&
        h.store.run.cancel_requested == 1)
      h.store.request_cancel();
  };
  CHECK(drove(h.start()) == DriveOutcome::cancelled);
  CHECK(h.launcher.launched_tasks() == Names{"a", "c"});
  auto attempts = h.store.attempts("c");
  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].status == AttemptStatus::cancelled);
  CHECK(attempts[0].reason == "cancelled again while the run was being stopped");
  CHECK(h.store.task("c").status == TaskStatus::cancelled);
  CHECK(h.store.task("d").status == TaskStatus::cancelled);
  CHECK(h.store.task("b").status == TaskStatus::cancelled);
  CHECK(h.store.run.status == RunStatus::cancelled);
  CHECK(h.store.run.cancel_requested == 2);

  SUBCASE("asked twice before the driver looks: nothing runs after the cancel") {
    Harness h2(workflow(tasks));
    h2.launcher.script("a", 1, Script().hangs());
    h2.launcher.on_wait = [&] {
      if (h2.launcher.waits == 3) {
        h2.store.request_cancel();
        h2.store.request_cancel();
      }
    };
    CHECK(drove(h2.start()) == DriveOutcome::cancelled);
    CHECK(h2.launcher.launched_tasks() == Names{"a"});
    CHECK(h2.store.task("c").status == TaskStatus::cancelled);
  }
}

TEST_CASE("a cancel its driver did not carry out is carried out by the resume") {
  // c (always()) runs after the cancel; b, the default, does not. For a run left running
  // (its driver died), parked at a gate, or interrupted; a cancelled run resumes as usual.
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"}), task("c", "true", {"a"})};
  tasks[2].if_expr = tmpl("${{ always() }}");
  // A run left in state `left` with the cancel asked `asked` times, no task ended.
  auto left_as = [](Harness& h, RunStatus left, int asked) {
    RunSnapshot s;
    s.run.id = "r-1";
    s.run.status = left;
    s.run.cancel_requested = asked;
    for (const char* id : {"a", "b", "c"}) {
      s.tasks.emplace_back();
      s.tasks.back().id = id;
    }
    return h.store.create_run(s).has_value();
  };
  for (RunStatus left : {RunStatus::running, RunStatus::waiting_approval, RunStatus::interrupted,
                         RunStatus::cancelled}) {
    CAPTURE(to_string(left));
    Harness h(workflow(tasks));
    REQUIRE(left_as(h, left, 1));
    bool carried_out = left != RunStatus::cancelled;
    CHECK(drove(h.resume()) == (carried_out ? DriveOutcome::cancelled : DriveOutcome::succeeded));
    CHECK(h.launcher.launched_tasks() == (carried_out ? Names{"c"} : Names{"a", "b", "c"}));
    CHECK(h.store.task("b").status ==
          (carried_out ? TaskStatus::cancelled : TaskStatus::succeeded));
  }
  // Asked twice: the resume runs nothing after the cancel either.
  Harness h(workflow(tasks));
  REQUIRE(left_as(h, RunStatus::running, 2));
  CHECK(drove(h.resume()) == DriveOutcome::cancelled);
  CHECK(h.launcher.launched_tasks().empty());
  CHECK(h.store.task("c").status == TaskStatus::cancelled);
}

TEST_CASE("a resume goes on with the cleanup its dead driver began") {
  // The cancel stopped a; c (always(), 2 attempts) failed once and waited for its retry when
  // the driver died. Where that driver had begun the cleanup (its `cleanup_started` event is
  // newer than the run's start), c was kept and is retried; where not, c failed before the
  // stop and is cancelled, as a running driver would have done.
  std::vector<TaskSpec> tasks{task("a"), task("c", "true", {"a"})};
  tasks[1].if_expr = tmpl("${{ always() }}");
  tasks[1].retry = retry(2);
  for (bool begun : {false, true}) {
    CAPTURE(begun);
    Harness h(workflow(tasks));
    left_by_a_driver(h, RunStatus::running, 1,
                     {{"a", TaskStatus::cancelled}, {"c", TaskStatus::retrying}},
                     attempt_of("c", AttemptStatus::failed),
                     begun ? Names{"run_started", "cleanup_started"} : Names{"run_started"});
    CHECK(drove(h.resume()) == DriveOutcome::cancelled);
    CHECK(h.launcher.launched_tasks() == (begun ? Names{"c"} : Names{}));
    CHECK(h.store.task("c").status == (begun ? TaskStatus::succeeded : TaskStatus::cancelled));
    // The resume records that the cleanup goes on, for a resume after its own crash.
    CHECK(h.store.event_kinds("").back() == "run_cancelled");
    auto kinds = h.store.event_kinds("");
    CHECK(std::count(kinds.begin(), kinds.end(), "cleanup_started") == (begun ? 3 : 0));
  }
}

TEST_CASE("a task running when its driver died in a stop is kept only if the cleanup ran it") {
  // c (always()) was running when the driver died with a cancel to carry out. Before the
  // cleanup began, the stop was stopping c: a live driver cancels it, and so does the
  // resume. In the cleanup, c was a kept task: it runs again.
  std::vector<TaskSpec> tasks{task("c")};
  tasks[0].if_expr = tmpl("${{ always() }}");
  for (bool begun : {false, true}) {
    CAPTURE(begun);
    Harness h(workflow(tasks));
    left_by_a_driver(h, RunStatus::running, 1, {{"c", TaskStatus::running}},
                     attempt_of("c", AttemptStatus::running),
                     begun ? Names{"run_started", "cleanup_started"} : Names{"run_started"});
    CHECK(drove(h.resume()) == DriveOutcome::cancelled);
    CHECK(h.launcher.launched_tasks() == (begun ? Names{"c"} : Names{}));
    CHECK(h.store.task("c").status == (begun ? TaskStatus::succeeded : TaskStatus::cancelled));
    CHECK(h.store.attempts("c")[0].status == AttemptStatus::interrupted);
  }
}

TEST_CASE("a resume runs the fallback that was due, not the task's own command again") {
  // a's only attempt failed and its fallback had not started when the driver stopped
  // (`running` as a dead driver leaves it, `pending` as an interrupt does). A task that was
  // `retrying` runs its own command again, and so does one with a retry left that reads
  // `pending` (a resume's recovery wrote it so, and that resume stopped too).
  std::vector<TaskSpec> tasks{task("a", "own")};
  FallbackSpec fallback;
  fallback.run = tmpl("spare");
  tasks[0].fallback = fallback;
  for (int max_attempts : {1, 2})
    for (TaskStatus left : {TaskStatus::running, TaskStatus::pending, TaskStatus::retrying}) {
      CAPTURE(to_string(left));
      CAPTURE(max_attempts);
      tasks[0].retry = retry(max_attempts);
      Harness h(workflow(tasks));
      left_by_a_driver(h, RunStatus::interrupted, 0, {{"a", left}},
                       attempt_of("a", AttemptStatus::failed), {});
      CHECK(drove(h.resume()) == DriveOutcome::succeeded);
      auto attempts = h.store.attempts("a");
      REQUIRE(attempts.size() == 2);
      bool due = left != TaskStatus::retrying && max_attempts == 1;
      CHECK(attempts[1].kind == (due ? AttemptKind::fallback : AttemptKind::main));
      CHECK(h.launcher.launch_of("a", 2).request.argv.back() == (due ? "spare" : "own"));
      if (due) CHECK(attempts[1].delay_reason == "fallback after exit code 1");
    }
}

TEST_CASE("an after gate holds a finished task's result until decided") {
  std::vector<TaskSpec> tasks{task("design"), task("build", "true", {"design"})};
  ApprovalSpec approval;
  approval.when = GateWhen::after;
  tasks[0].approval = approval;
  Harness h(workflow(tasks));
  h.launcher.script("design", 1, Script().writes_output("spec=api.yaml\n"));
  CHECK(drove(h.start()) == DriveOutcome::waiting_approval);
  CHECK(h.launcher.launched_tasks() == Names{"design"});
  CHECK(h.store.attempts("design")[0].status == AttemptStatus::succeeded);
  CHECK(h.store.task("design").status == TaskStatus::waiting_approval);
  CHECK(h.store.gate("design")->when == "after");
  CHECK(h.store.task("build").status == TaskStatus::pending);

  SUBCASE("approved: the task succeeds and its dependents run, without running it again") {
    h.store.decide("design", "bob", true);
    CHECK(drove(h.resume()) == DriveOutcome::succeeded);
    CHECK(h.launcher.launched_tasks() == Names{"design", "build"});
    CHECK(h.store.task("design").status == TaskStatus::succeeded);
    CHECK(h.store.task("design").reason == "approved by bob");
  }
  SUBCASE("rejected: the task fails") {
    h.store.decide("design", "bob", false);
    CHECK(drove(h.resume()) == DriveOutcome::failed);
    CHECK(h.store.task("design").status == TaskStatus::failed);
    CHECK(h.store.task("build").status == TaskStatus::skipped);
  }
}

TEST_CASE(
    "while attempts end in quick succession, other processes' changes are polled at "
    "most every external_poll, and a cancel still lands") {
  // A chain of 20 tasks of 1 ms each: 20 turns of the loop in 20 ms of the fake clock.
  std::vector<TaskSpec> tasks{task("t0")};
  for (int k = 1; k < 20; ++k)
    tasks.push_back(task("t" + std::to_string(k), "true", {"t" + std::to_string(k - 1)}));
  auto each_1ms = [](Harness& h) {
    for (int k = 0; k < 20; ++k) h.launcher.script("t" + std::to_string(k), 1, Script().lasts(1ms));
  };
  SUBCASE("every 10 ms: three polls (0, 10 and 20 ms), not one per turn") {
    Harness h(workflow(tasks));
    h.options.external_poll = 10ms;
    each_1ms(h);
    CHECK(drove(h.start()) == DriveOutcome::succeeded);
    CHECK(h.store.polls == 3);
  }
  SUBCASE("0 polls on every turn") {
    Harness h(workflow(tasks));
    h.options.external_poll = 0ms;
    each_1ms(h);
    CHECK(drove(h.start()) == DriveOutcome::succeeded);
    CHECK(h.store.polls == 21);
  }
  SUBCASE("by default, one poll at the start and none in the next 20 ms") {
    Harness h(workflow(tasks));
    each_1ms(h);
    CHECK(drove(h.start()) == DriveOutcome::succeeded);
    CHECK(h.store.polls == 1);
  }
  SUBCASE("a cancel made at 5 ms is seen at the 10 ms poll: the chain stops there") {
    Harness h(workflow(tasks));
    h.options.external_poll = 10ms;
    each_1ms(h);
    h.launcher.on_wait = [&] {
      if (h.launcher.waits == 5) h.store.request_cancel();
    };
    CHECK(drove(h.start()) == DriveOutcome::cancelled);
    CHECK(h.launcher.launches.size() == 10);
    CHECK(h.store.task("t10").status == TaskStatus::cancelled);
  }
  SUBCASE("a drive asks on its first turn, whatever external_poll says") {
    Harness h(workflow(gated_tasks()));
    h.options.external_poll = std::chrono::hours(1);
    CHECK(drove(h.start()) == DriveOutcome::waiting_approval);
    CHECK(h.store.polls == 1);
    CHECK(drove(h.resume()) == DriveOutcome::waiting_approval);
    CHECK(h.store.polls == 2);
  }
}
