// The Engine driving matrix groups, for_each fan-outs, repeating tasks and sub-workflows
// through the fakes (issue 5): fan-in waits for every instance, outputs gathered in order,
// fail_fast and max_parallel, instances rebuilt from the record on resume, repeat's runs as
// attempts, and sub-workflow tasks under their parent's id.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/flow.hpp"
#include "error_text.hpp"
#include "fakes.hpp"

namespace {

using namespace wfo;
using namespace wfo::test;
using Names = std::vector<std::string>;
using nlohmann::json;

DriveOutcome drove(const Result<DriveOutcome>& r) {
  REQUIRE_MESSAGE(r.has_value(), wfo::test::error_text(r));
  return *r;
}

TaskSpec matrix_task(std::string id, std::string run, std::vector<std::string> values,
                     std::vector<std::string> needs = {}) {
  TaskSpec t = task(std::move(id), std::move(run), std::move(needs));
  MatrixSpec m;
  m.axes.emplace_back("suite", std::move(values));
  t.matrix = m;
  return t;
}

TaskSpec foreach_task(std::string id, std::string run, std::string list,
                      std::vector<std::string> needs) {
  TaskSpec t = task(std::move(id), std::move(run), std::move(needs));
  t.for_each = tmpl(std::move(list));
  return t;
}

Plan compiled(Workflow wf, SubflowMap subflows = {}) {
  auto plan = compile(std::move(wf), std::move(subflows));
  REQUIRE_MESSAGE(plan.has_value(), wfo::test::error_text(plan));
  return std::move(*plan);
}

std::vector<std::string> statuses(const Harness& h, const Names& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids) out.emplace_back(to_string(h.store.task(id).status));
  return out;
}

}  // namespace

TEST_CASE("matrix: a dependent waits for every instance and reads outputs in matrix order") {
  Harness h(workflow(
      {matrix_task("test", "true", {"unit", "e2e", "lint"}),
       task("report", "echo ${{ tasks.test.outputs.r }} ${{ tasks.test.status }}", {"test"})}));
  h.launcher.script("test[suite=unit]", 1, Script().lasts(300ms).writes_output("r=u\n"));
  h.launcher.script("test[suite=e2e]", 1, Script().lasts(100ms).writes_output("r=e\n"));
  h.launcher.script("test[suite=lint]", 1, Script().lasts(200ms));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  const auto& report = h.launcher.launch_of("report");
  CHECK(report.at == FakeClock::at(300ms));
  CHECK(report.env("WFO_EXPR_1") == R"(["u","e",null])");
  CHECK(report.env("WFO_EXPR_2") == "succeeded");
  CHECK(h.launcher.launch_of("test[suite=e2e]").env("WFO_TASK_ID") == "test[suite=e2e]");
  CHECK(h.store.task("test[suite=unit]").status == TaskStatus::succeeded);
}

TEST_CASE("matrix: each instance reads its own combination") {
  TaskSpec t = matrix_task("test", "echo ${{ matrix.suite }} ${{ toJSON(matrix) }}", {"a", "b"});
  Harness h(workflow({t}));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launch_of("test[suite=a]").env("WFO_EXPR_1") == "a");
  CHECK(h.launcher.launch_of("test[suite=b]").env("WFO_EXPR_1") == "b");
  CHECK(h.launcher.launch_of("test[suite=b]").env("WFO_EXPR_2") == "{\n  \"suite\": \"b\"\n}");
}

TEST_CASE("matrix: max_parallel bounds the instances running at once") {
  TaskSpec t = matrix_task("test", "true", {"a", "b", "c", "d", "e"});
  t.max_parallel = 2;
  Harness h(workflow({t}), 8);
  for (const char* s : {"a", "b", "c", "d", "e"})
    h.launcher.script(std::string("test[suite=") + s + "]", 1, Script().lasts(100ms));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.max_running == 2);
  CHECK(h.clock.elapsed() == 300ms);
  CHECK(h.launcher.launch_of("test[suite=c]").at == FakeClock::at(100ms));
}

TEST_CASE("matrix: fail_fast cancels the instances that have not started") {
  TaskSpec t = matrix_task("test", "true", {"a", "b", "c"});
  t.max_parallel = 1;
  Harness h(workflow({t, task("report", "true", {"test"})}));
  h.launcher.script("test[suite=a]", 1, Script().exits(3));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.launcher.launched_tasks() == Names{"test[suite=a]"});
  CHECK(statuses(h, {"test[suite=a]", "test[suite=b]", "test[suite=c]", "report"}) ==
        Names{"failed", "cancelled", "cancelled", "skipped"});
  CHECK(h.store.task("test[suite=b]").reason == "fail_fast: 'test[suite=a]' failed");
  CHECK(h.store.run.reason == "task failed: test[suite=a]");
}

TEST_CASE("matrix: without fail_fast every instance runs, one at a time after a failure") {
  TaskSpec t = matrix_task("test", "true", {"a", "b", "c"});
  t.fail_fast = false;
  t.max_parallel = 1;  // b and c have not started when a fails
  Harness h(workflow({t}));
  h.launcher.script("test[suite=a]", 1, Script().exits(1).lasts(10ms));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.launcher.launched_tasks() == Names{"test[suite=a]", "test[suite=b]", "test[suite=c]"});
  CHECK(statuses(h, {"test[suite=a]", "test[suite=b]", "test[suite=c]"}) ==
        Names{"failed", "succeeded", "succeeded"});
}

TEST_CASE("matrix: an instance that fails to start passes its max_parallel slot on") {
  // b's command cannot be rendered: it fails without a process, and c still runs.
  TaskSpec t = matrix_task("test", "echo ${{ fromJSON(matrix.suite) }}", {"1", "b", "3"});
  t.fail_fast = false;
  t.max_parallel = 1;
  Harness h(workflow({t}));
  h.launcher.script("test[suite=1]", 1, Script().lasts(10ms));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.launcher.launched_tasks() == Names{"test[suite=1]", "test[suite=3]"});
  CHECK(statuses(h, {"test[suite=1]", "test[suite=b]", "test[suite=3]"}) ==
        Names{"succeeded", "failed", "succeeded"});
}

TEST_CASE("matrix: an instance cancelled by fail_fast while its resolve waited stays cancelled") {
  // q's skip releases both instances of t at once; the first fails on its `if`, and
  // fail_fast cancels the second before its turn. z (always()) then waits for w still.
  std::vector<TaskSpec> tasks{task("q"), task("w"), matrix_task("t", "true", {"bad", "2"}, {"q"}),
                              task("z", "true", {"t", "w"})};
  tasks[0].if_expr = tmpl("${{ false }}");
  tasks[2].if_expr = tmpl("${{ always() && fromJSON(matrix.suite) == 3 }}");
  tasks[3].if_expr = tmpl("${{ always() }}");
  Harness h(workflow(tasks));
  h.launcher.script("w", 1, Script().lasts(2s));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(statuses(h, {"t[suite=bad]", "t[suite=2]", "w", "z"}) ==
        Names{"failed", "cancelled", "succeeded", "succeeded"});
  CHECK(h.launcher.launch_of("z").at == FakeClock::at(2s));
}

TEST_CASE("matrix: fail_fast never stops an instance that is running") {
  TaskSpec t = matrix_task("test", "true", {"a", "b", "c"});
  Harness h(workflow({t}));  // all three start at once
  h.launcher.script("test[suite=a]", 1, Script().exits(1).lasts(10ms));
  h.launcher.script("test[suite=b]", 1, Script().lasts(50ms));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.launcher.launched_tasks().size() == 3);
  CHECK(h.store.task("test[suite=b]").status == TaskStatus::succeeded);
  CHECK(h.launcher.cancels.empty());
}

TEST_CASE("for_each: fans out over a list produced at run time, gathering outputs in order") {
  Harness h(workflow({task("list"),
                      foreach_task("process", "echo ${{ item.name }}",
                                   "${{ fromJSON(tasks.list.outputs.items) }}", {"list"}),
                      task("sum", "echo ${{ tasks.process.outputs.out }}", {"process"})}));
  h.launcher.script("list", 1,
                    Script().writes_output(R"(items=[{"name":"a"},{"name":"b"},{"name":"c"}])"));
  h.launcher.script("process[0]", 1, Script().lasts(30ms).writes_output("out=A\n"));
  h.launcher.script("process[1]", 1, Script().lasts(10ms).writes_output("out=B\n"));
  h.launcher.script("process[2]", 1, Script().lasts(20ms).writes_output("out=C\n"));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() ==
        Names{"list", "process[0]", "process[1]", "process[2]", "sum"});
  CHECK(h.launcher.launch_of("process[1]").env("WFO_EXPR_1") == "b");
  CHECK(h.launcher.launch_of("sum").env("WFO_EXPR_1") == R"(["A","B","C"])");
  CHECK(h.launcher.launch_of("sum").at == FakeClock::at(30ms));
  CHECK(h.store.task("process[2]").item == json{{"name", "c"}});
  CHECK(h.store.task("process").status == TaskStatus::succeeded);
  auto summary = h.store.attempts("process");
  REQUIRE(summary.size() == 1);
  CHECK(summary[0].outputs == json{{"out", {"A", "B", "C"}}});
  CHECK(h.store.event_kinds("process") ==
        Names{"task_started", "attempt_succeeded", "task_succeeded"});
}

TEST_CASE("for_each: an empty list succeeds at once; a value that is not a list fails") {
  Harness empty(workflow(
      {foreach_task("p", "true", "${{ fromJSON('[]') }}", {}), task("after", "true", {"p"})}));
  CHECK(drove(empty.start()) == DriveOutcome::succeeded);
  CHECK(empty.launcher.launched_tasks() == Names{"after"});

  Harness text(workflow({foreach_task("p", "true", "${{ 'a,b' }}", {})}));
  CHECK(drove(text.start()) == DriveOutcome::failed);
  CHECK(text.store.task("p").reason ==
        "for_each: ${{ 'a,b' }} is not a list: a,b (read a JSON text with fromJSON(...))");
}

TEST_CASE("for_each: fail_fast and max_parallel apply to the instances") {
  TaskSpec p = foreach_task("p", "true", "${{ fromJSON('[1,2,3,4]') }}", {});
  p.max_parallel = 2;
  Harness h(workflow({p}));
  h.launcher.script("p[0]", 1, Script().lasts(10ms).exits(1));
  h.launcher.script("p[1]", 1, Script().lasts(50ms));
  CHECK(drove(h.start()) == DriveOutcome::failed);
  CHECK(h.launcher.max_running == 2);
  CHECK(statuses(h, {"p[0]", "p[1]", "p[2]", "p[3]", "p"}) ==
        Names{"failed", "succeeded", "cancelled", "cancelled", "failed"});
  CHECK(h.store.task("p").reason == "task 'p[0]' failed");
}

TEST_CASE("for_each: a resumed run rebuilds its instances from the record") {
  Workflow wf =
      workflow({task("list"), foreach_task("p", "echo ${{ item }}",
                                           "${{ fromJSON(tasks.list.outputs.l) }}", {"list"})});
  wf.tasks[1].max_parallel = 1;  // p[0] ends before p[1] starts
  Harness h(wf);
  h.launcher.script("list", 1, Script().writes_output("l=[\"x\",\"y\"]\n"));
  h.launcher.script("p[0]", 1, Script().lasts(10ms));
  h.launcher.script("p[1]", 1, Script().hangs());
  h.launcher.interrupt_when_running = "p[1]";
  CHECK(drove(h.start()) == DriveOutcome::interrupted);
  // A fresh plan, as `wfo resume` compiles one; the record says what p[1] holds.
  h.plan = compiled(wf);
  for (auto& t : h.store.tasks)
    if (t.id == "p[1]") t.item = "from the record";
  CHECK(drove(h.resume()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launch_of("p[1]", 2).env("WFO_EXPR_1") == "from the record");
  CHECK(h.launcher.launched_tasks() == Names{"list", "p[0]", "p[1]", "p[1]"});
  CHECK(h.store.task("p").status == TaskStatus::succeeded);
}

TEST_CASE("repeat: runs again until its own latest outputs satisfy until") {
  TaskSpec poll = task("poll", "check");
  poll.repeat = RepeatSpec{tmpl("tasks.poll.outputs.state == 'ready'"), 5, 2s, {}};
  Harness h(workflow({poll, task("next", "echo ${{ tasks.poll.outputs.state }}", {"poll"})}));
  h.launcher.script("poll", 1, Script().writes_output("state=wait\n"));
  h.launcher.script("poll", 2, Script().writes_output("state=wait\n"));
  h.launcher.script("poll", 3, Script().writes_output("state=ready\n"));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launch_of("poll", 2).at == FakeClock::at(2s));
  CHECK(h.launcher.launch_of("poll", 3).at == FakeClock::at(4s));
  CHECK(h.launcher.launch_of("next").env("WFO_EXPR_1") == "ready");
  auto attempts = h.store.attempts("poll");
  REQUIRE(attempts.size() == 3);
  for (const auto& a : attempts) CHECK(a.status == AttemptStatus::succeeded);
  CHECK(attempts[1].delay_ms == 2000);
  CHECK(attempts[2].outputs == json{{"state", "ready"}});
  CHECK(h.store.event_kinds("poll") == Names{"task_started", "attempt_succeeded", "task_repeating",
                                             "task_started", "attempt_succeeded", "task_repeating",
                                             "task_started", "attempt_succeeded",
                                             "task_succeeded"});
}

TEST_CASE("repeat: max runs without the condition fail the task; failures go to retry") {
  TaskSpec poll = task("poll", "check");
  poll.repeat = RepeatSpec{tmpl("${{ tasks.poll.outputs.ok == 'y' }}"), 2, 1s, {}};
  poll.retry = retry(2, Backoff::fixed, 500ms);
  Harness h(workflow({poll}));
  h.launcher.script("poll", 2, Script().exits(75));  // retried; not a run
  CHECK(drove(h.start()) == DriveOutcome::failed);
  auto attempts = h.store.attempts("poll");
  REQUIRE(attempts.size() == 3);
  CHECK(attempts[1].status == AttemptStatus::failed);
  CHECK(h.store.task("poll").reason ==
        "repeat: until ${{ tasks.poll.outputs.ok == 'y' }} still false after 2 runs");
}

TEST_CASE("sub-workflow: its tasks run under the parent's id with params; outputs hand back") {
  Workflow sub = workflow(
      {task("migrate", "migrate --to ${{ params.target }}"), task("check", "check", {"migrate"})});
  sub.file = "sub.yaml";
  ParamSpec target;
  target.name = "target";
  target.required = true;
  sub.params.push_back(target);
  sub.outputs.emplace_back("result", tmpl("${{ tasks.migrate.outputs.m }}-${{ params.target }}"));
  TaskSpec deploy = task("deploy", "", {"build"});
  deploy.uses = "sub.yaml";
  deploy.with.emplace_back("target", tmpl("v${{ tasks.build.outputs.v }}"));
  SubflowMap subflows;
  subflows.emplace("/work/flow/sub.yaml", sub);
  Workflow wf = workflow({task("build"), deploy,
                          task("after", "echo ${{ tasks.deploy.outputs.result }}", {"deploy"})});
  Harness h(compiled(wf, std::move(subflows)));
  h.launcher.script("build", 1, Script().writes_output("v=42\n"));
  h.launcher.script("deploy/migrate", 1, Script().writes_output("m=ok\n"));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"build", "deploy/migrate", "deploy/check", "after"});
  CHECK(h.launcher.launch_of("deploy/migrate").env("WFO_EXPR_1") == "v42");
  CHECK(h.launcher.launch_of("after").env("WFO_EXPR_1") == "ok-v42");
  auto summary = h.store.attempts("deploy");
  REQUIRE(summary.size() == 1);
  CHECK(summary[0].outputs == json{{"result", "ok-v42"}});
  CHECK(statuses(h, {"deploy", "deploy/migrate", "deploy/check"}) ==
        Names{"succeeded", "succeeded", "succeeded"});
}

TEST_CASE("sub-workflow: a skipped parent skips its tasks; a failed task fails the parent") {
  Workflow sub = workflow({task("a"), task("b", "true", {"a"})});
  sub.file = "sub.yaml";
  SubflowMap subflows;
  subflows.emplace("/work/flow/sub.yaml", sub);
  TaskSpec deploy = task("deploy", "");
  deploy.uses = "sub.yaml";
  deploy.if_expr = tmpl("${{ false }}");
  Workflow skipped = workflow({deploy});
  Harness h(compiled(skipped, subflows));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launches.empty());
  CHECK(statuses(h, {"deploy", "deploy/a", "deploy/b"}) == Names{"skipped", "skipped", "skipped"});
  CHECK(h.store.task("deploy/a").reason == "'deploy' skipped");

  deploy.if_expr.reset();
  Workflow failing = workflow({deploy, task("after", "true", {"deploy"})});
  Harness f(compiled(failing, subflows));
  f.launcher.script("deploy/a", 1, Script().exits(2));
  CHECK(drove(f.start()) == DriveOutcome::failed);
  CHECK(statuses(f, {"deploy", "deploy/a", "deploy/b", "after"}) ==
        Names{"failed", "failed", "skipped", "skipped"});
  CHECK(f.store.task("deploy").reason == "task 'deploy/a' failed");
}

TEST_CASE("sub-workflow: an interrupted run resumes inside the sub-workflow") {
  Workflow sub = workflow({task("a"), task("b", "true", {"a"})});
  sub.file = "sub.yaml";
  SubflowMap subflows;
  subflows.emplace("/work/flow/sub.yaml", sub);
  TaskSpec deploy = task("deploy", "");
  deploy.uses = "sub.yaml";
  Workflow wf = workflow({deploy});
  Harness h(compiled(wf, subflows));
  h.launcher.script("deploy/b", 1, Script().hangs());
  h.launcher.interrupt_when_running = "deploy/b";
  CHECK(drove(h.start()) == DriveOutcome::interrupted);
  // The sub-workflow task waits for its members again: pending, as deploy/b is.
  CHECK(statuses(h, {"deploy", "deploy/a", "deploy/b"}) ==
        Names{"pending", "succeeded", "pending"});
  h.plan = compiled(wf, subflows);
  CHECK(drove(h.resume()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"deploy/a", "deploy/b", "deploy/b"});
  CHECK(statuses(h, {"deploy", "deploy/a", "deploy/b"}) ==
        Names{"succeeded", "succeeded", "succeeded"});
}

TEST_CASE("sub-workflow: nested files, a for_each inside, params passed down two levels") {
  Workflow inner = workflow({foreach_task("each", "echo ${{ item }} ${{ params.who }}",
                                          "${{ fromJSON(params.list) }}", {})});
  inner.file = "inner.yaml";
  inner.source_dir = "/work/flow/sub";
  for (const char* name : {"who", "list"}) {
    ParamSpec p;
    p.name = name;
    p.required = true;
    inner.params.push_back(p);
  }
  inner.outputs.emplace_back("all", tmpl("${{ join(tasks.each.outputs.n, ',') }}"));
  Workflow middle = workflow({task("mid")});
  middle.file = "sub/middle.yaml";
  middle.source_dir = "/work/flow/sub";
  TaskSpec use_inner = task("go", "", {"mid"});
  use_inner.uses = "inner.yaml";
  use_inner.with = {{"who", tmpl("${{ params.who }}!")}, {"list", tmpl("[1,2]")}};
  middle.tasks.push_back(use_inner);
  ParamSpec who;
  who.name = "who";
  middle.params.push_back(who);
  middle.outputs.emplace_back("all", tmpl("${{ tasks.go.outputs.all }}"));
  TaskSpec top = task("top", "");
  top.uses = "sub/middle.yaml";
  top.with = {{"who", tmpl("ann")}};
  SubflowMap subflows;
  subflows.emplace("/work/flow/sub/middle.yaml", middle);
  subflows.emplace("/work/flow/sub/inner.yaml", inner);
  Workflow wf = workflow({top, task("end", "echo ${{ tasks.top.outputs.all }}", {"top"})});
  Harness h(compiled(wf, subflows));
  h.launcher.script("top/go/each[0]", 1, Script().writes_output("n=a\n"));
  h.launcher.script("top/go/each[1]", 1, Script().writes_output("n=b\n"));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  CHECK(h.launcher.launched_tasks() == Names{"top/mid", "top/go/each[0]", "top/go/each[1]", "end"});
  CHECK(h.launcher.launch_of("top/go/each[1]").env("WFO_EXPR_1") == "2");
  CHECK(h.launcher.launch_of("top/go/each[1]").env("WFO_EXPR_2") == "ann!");
  CHECK(h.launcher.launch_of("end").env("WFO_EXPR_1") == "a,b");
  CHECK(statuses(h, {"top", "top/go", "top/go/each"}) ==
        Names{"succeeded", "succeeded", "succeeded"});
}
