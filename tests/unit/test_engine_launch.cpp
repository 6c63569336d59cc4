// What the Engine asks the Launcher to run: argv, environment (WFO_* variables, expressions
// only through the environment), workdir and files; outputs handed to dependents; agents.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/flow.hpp"
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

ParamSpec param(std::string name) {
  ParamSpec p;
  p.name = std::move(name);
  return p;
}

}  // namespace

TEST_CASE("the launch request: argv, workdir, files and WFO_* variables") {
  std::vector<TaskSpec> tasks{task("build", "make all")};
  tasks[0].retry = retry(2);
  tasks[0].env = {{"LEVEL", tmpl("debug")}, {"WFO_TEST_INHERITED", tmpl("inner")}};
  Workflow wf = workflow(tasks);
  wf.env = {{"LEVEL", tmpl("info")}, {"SHARED", tmpl("yes")}};
  // wfo's own, which the task's env sets over; unset again however the test ends.
  struct Inherited {
    Inherited() { ::setenv("WFO_TEST_INHERITED", "outer", 1); }
    ~Inherited() { ::unsetenv("WFO_TEST_INHERITED"); }
  } inherited;
  Harness h(std::move(wf));
  h.launcher.script("build", 1, Script().exits(1));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  REQUIRE(h.launcher.launches.size() == 2);
  for (int n : {1, 2}) {
    CAPTURE(n);
    const auto& l = h.launcher.launch_of("build", n);
    std::string stem = h.run_dir() + "/build." + std::to_string(n);
    CHECK(l.request.argv == Names{"/bin/sh", "-c", "make all"});
    CHECK(l.request.workdir == "/work/flow");
    CHECK(l.request.log_path == stem + ".log");
    CHECK(l.env("WFO_RUN_ID") == "r-1");
    CHECK(l.env("WFO_TASK_ID") == "build");
    CHECK(l.env("WFO_ATTEMPT") == std::to_string(n));
    CHECK(l.env("WFO_WORKFLOW") == "/work/flow/flow.yaml");
    // One attempt at a time: both use the first output slot's file.
    CHECK(l.env("WFO_OUTPUT") == h.run_dir() + "/output-slot-0");
    // The task's env wins over the workflow's.
    CHECK(l.env("LEVEL") == "debug");
    CHECK(l.env("SHARED") == "yes");
    // wfo's own environment is passed on, and the task's env is set over it.
    if (const char* path = ::getenv("PATH")) CHECK(l.env("PATH") == path);
    CHECK(l.env("WFO_TEST_INHERITED") == "inner");
    // Each variable once, in name order.
    std::vector<std::string> keys;
    for (const auto& kv : whole_env(l.request)) keys.push_back(kv.substr(0, kv.find('=')));
    CHECK(std::is_sorted(keys.begin(), keys.end()));
    CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
  }
  // The idempotency key is the same for every attempt of the task in the run.
  CHECK(h.launcher.launch_of("build", 1).env("WFO_IDEMPOTENCY_KEY") ==
        h.launcher.launch_of("build", 2).env("WFO_IDEMPOTENCY_KEY"));
  CHECK(h.launcher.launch_of("build", 1).env("WFO_IDEMPOTENCY_KEY") != "<unset>");
  // The attempt records the launcher's handle and pid, and its log path.
  auto attempts = h.store.attempts("build");
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[0].handle == "fake:1");
  CHECK(attempts[0].pid == 1001);
  CHECK(attempts[0].log_path == h.run_dir() + "/build.1.log");
}

TEST_CASE("an expression in run reaches the shell only through the environment") {
  Workflow wf =
      workflow({task("a",
                     "./build.sh --feature ${{ params.feature }} --run ${{ run.id }} '${{ "
                     "params.feature }}'")});
  wf.params = {param("feature")};
  Harness h(std::move(wf));
  std::string evil = "x'; rm -rf / #$(reboot)";
  CHECK(drove(h.start({{"feature", evil}})) == DriveOutcome::succeeded);
  const auto& l = h.launcher.launch_of("a");
  REQUIRE(l.request.argv.size() == 3);
  CHECK(l.request.argv[2] ==
        "./build.sh --feature ${WFO_EXPR_1} --run ${WFO_EXPR_2} '${WFO_EXPR_3}'");
  CHECK(l.request.argv[2].find("rm -rf") == std::string::npos);
  CHECK(l.env("WFO_EXPR_1") == evil);
  CHECK(l.env("WFO_EXPR_2") == "r-1");
  CHECK(l.env("WFO_EXPR_3") == evil);
}

TEST_CASE("attempts running at once have output files of their own; an ended one's is reused") {
  // a and b run together; c starts when a ends, d when b and c have ended.
  std::vector<TaskSpec> tasks{task("a"), task("b"), task("c", "true", {"a"}),
                              task("d", "true", {"b", "c"})};
  Harness h(workflow(tasks), 2);
  h.launcher.script("a", 1, Script().lasts(10ms).writes_output("from=a\n"));
  h.launcher.script("b", 1, Script().lasts(50ms).writes_output("from=b\n"));
  h.launcher.script("c", 1, Script().lasts(10ms));
  h.launcher.script("d", 1, Script().writes_output("from=d\n"));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  auto slot = [&](const char* task) {
    std::string path = h.launcher.launch_of(task, 1).env("WFO_OUTPUT");
    return path.substr(h.run_dir().size());
  };
  CHECK(slot("a") == "/output-slot-0");
  CHECK(slot("b") == "/output-slot-1");
  CHECK(slot("c") == "/output-slot-0");  // a's, once a ended
  CHECK(slot("d") == "/output-slot-0");  // the lowest free
  auto outputs = [&](const char* task) { return h.store.attempts(task).at(0).outputs; };
  CHECK(outputs("a") == nlohmann::json{{"from", "a"}});
  CHECK(outputs("b") == nlohmann::json{{"from", "b"}});
  // c's file was emptied before it ran: a's output is not read again as c's.
  CHECK(outputs("c") == nlohmann::json::object());
  CHECK(outputs("d") == nlohmann::json{{"from", "d"}});
}

TEST_CASE("outputs of a task reach its dependents") {
  std::vector<TaskSpec> tasks{task("a"), task("b", "echo ${{ tasks.a.outputs.notes }}", {"a"})};
  tasks[1].env = {{"X", tmpl("got ${{ tasks.a.outputs.x }}")}};
  Harness h(workflow(tasks));
  h.launcher.script("a", 1, Script().writes_output("x=hello=world\nnotes<<EOF\nl1\nl2\nEOF\n"));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  auto attempts = h.store.attempts("a");
  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].outputs == nlohmann::json{{"x", "hello=world"}, {"notes", "l1\nl2"}});
  const auto& b = h.launcher.launch_of("b");
  CHECK(b.env("X") == "got hello=world");
  CHECK(b.request.argv[2] == "echo ${WFO_EXPR_1}");
  CHECK(b.env("WFO_EXPR_1") == "l1\nl2");
}

TEST_CASE("declared outputs are checked; a bad output file fails the attempt") {
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"})};
  OutputSpec spec;
  spec.name = "spec_path";
  spec.required = true;
  spec.pattern = regex("\\.ya?ml$");
  tasks[0].outputs = {spec};
  SUBCASE("missing") {
    Harness h(workflow(tasks));
    CHECK(drove(h.start()) == DriveOutcome::failed);
    auto attempts = h.store.attempts("a");
    REQUIRE(attempts.size() == 1);
    CHECK(attempts[0].status == AttemptStatus::failed);
    CHECK(attempts[0].exit_code == 0);
    CHECK(attempts[0].reason == "missing required output 'spec_path'");
    CHECK(h.store.task("b").status == TaskStatus::skipped);
  }
  SUBCASE("pattern mismatch") {
    Harness h(workflow(tasks));
    h.launcher.script("a", 1, Script().writes_output("spec_path=api.json\n"));
    CHECK(drove(h.start()) == DriveOutcome::failed);
    CHECK(h.store.task("a").reason == "output 'spec_path' does not match pattern '\\.ya?ml$'");
  }
  SUBCASE("malformed file") {
    Harness h(workflow(tasks));
    h.launcher.script("a", 1, Script().writes_output("spec_path=a.yaml\nnot an output\n"));
    CHECK(drove(h.start()) == DriveOutcome::failed);
    CHECK(h.store.task("a").reason ==
          "malformed output line 2: expected key=value or key<<DELIMITER");
  }
  SUBCASE("valid") {
    Harness h(workflow(tasks));
    h.launcher.script("a", 1, Script().writes_output("spec_path=api.yaml\n"));
    CHECK(drove(h.start()) == DriveOutcome::succeeded);
  }
}

TEST_CASE("an agent's argv command gets its inputs; its pool bounds its attempts") {
  AgentSpec agent;
  agent.name = "designer";
  agent.command.form = CommandSpec::Form::argv;
  agent.command.parts = {tmpl("./agents/design.sh"), tmpl("--feature"),
                         tmpl("${{ inputs.feature }}")};
  agent.max_parallel = 1;
  std::vector<TaskSpec> tasks;
  for (const char* id : {"d1", "d2", "d3"}) {
    TaskSpec t = task(id, "");
    t.agent = "designer";
    t.with = {{"feature", tmpl("${{ params.feature }}-" + std::string(id))}};
    tasks.push_back(t);
  }
  Workflow wf = workflow(tasks);
  wf.params = {param("feature")};
  wf.agents = {agent};
  Harness h(std::move(wf), 4);
  for (const char* id : {"d1", "d2", "d3"}) h.launcher.script(id, 1, Script().lasts(100ms));
  CHECK(drove(h.start({{"feature", "login"}})) == DriveOutcome::succeeded);
  const auto& d2 = h.launcher.launch_of("d2");
  CHECK(d2.request.argv == Names{"./agents/design.sh", "--feature", "login-d2"});
  CHECK(d2.env("WFO_INPUT_FEATURE") == "login-d2");
  std::string inputs_path = h.run_dir() + "/d2.1.inputs.json";
  CHECK(d2.env("WFO_INPUTS") == inputs_path);
  CHECK(read_file(inputs_path).value_or("<error>") == R"({"feature":"login-d2"})");
  // One at a time, though -j is 4.
  CHECK(h.launcher.max_running == 1);
  CHECK(h.launcher.launched_tasks() == Names{"d1", "d2", "d3"});
  CHECK(h.clock.elapsed() == std::chrono::milliseconds(300));
}

TEST_CASE("a fallback to an agent runs in its workdir, with its timeout, in its pool") {
  AgentSpec main_agent;
  main_agent.name = "main";
  main_agent.command.parts = {tmpl("exit 1")};
  main_agent.workdir = "main";
  main_agent.timeout = std::chrono::milliseconds(30000);
  AgentSpec spare;
  spare.name = "spare";
  spare.command.parts = {tmpl("./spare.sh")};
  spare.workdir = "spare";
  spare.timeout = std::chrono::milliseconds(500);
  spare.max_parallel = 1;
  std::vector<TaskSpec> tasks;
  for (const char* id : {"a", "b"}) {
    TaskSpec t = task(id, "");
    t.agent = "main";
    FallbackSpec fallback;
    fallback.agent = "spare";
    t.fallback = fallback;
    tasks.push_back(t);
  }
  tasks[1].workdir = "own";  // the task's own workdir wins over either agent's
  Workflow wf = workflow(tasks);
  wf.agents = {main_agent, spare};
  Harness h(std::move(wf), 4);
  for (const char* id : {"a", "b"}) {
    h.launcher.script(id, 1, Script().exits(1).lasts(100ms));
    h.launcher.script(id, 2, Script().lasts(100ms));
  }
  SUBCASE("workdir and pool") {
    CHECK(drove(h.start()) == DriveOutcome::succeeded);
    CHECK(h.launcher.launch_of("a", 1).request.workdir == "/work/flow/main");
    CHECK(h.launcher.launch_of("a", 2).request.workdir == "/work/flow/spare");
    CHECK(h.launcher.launch_of("b", 1).request.workdir == "/work/flow/own");
    CHECK(h.launcher.launch_of("b", 2).request.workdir == "/work/flow/own");
    // The main attempts at once (their agent has no pool), then the fallbacks one by one.
    CHECK(h.clock.elapsed() == std::chrono::milliseconds(300));
  }
  SUBCASE("timeout: the fallback agent's") {
    h.launcher.script("a", 2, Script().hangs());
    CHECK(drove(h.start()) == DriveOutcome::failed);
    auto attempts = h.store.attempts("a");
    REQUIRE(attempts.size() == 2);
    CHECK(attempts[1].status == AttemptStatus::timed_out);
    CHECK(attempts[1].reason == "timed out after 500ms");
  }
}

TEST_CASE("a matrix's instances share their compiled maps; an agent's tasks its command") {
  AgentSpec agent;
  agent.name = "bot";
  agent.command.form = CommandSpec::Form::argv;
  agent.command.parts = {tmpl("run-bot"), tmpl("${{ inputs.n }}")};
  agent.env = {{"LEVEL", tmpl("agent")}, {"ROLE", tmpl("bot")}};
  TaskSpec m = task("m", "");
  m.agent = "bot";
  m.matrix = MatrixSpec{{{"n", {"1", "2", "3"}}}, {}, {}, Mark{}};
  m.env = {{"LEVEL", tmpl("m${{ matrix.n }}-${{ params.p }}")}};
  m.with = {{"n", tmpl("${{ matrix.n }}")}};
  std::vector<TaskSpec> tasks{task("a", ""), m, task("b", "")};
  tasks[0].agent = "bot";
  tasks[0].with = {{"n", tmpl("a")}};
  tasks[2].agent = "bot";
  tasks[2].with = {{"n", tmpl("b")}};
  Workflow wf = workflow(tasks);
  wf.params = {param("p")};
  wf.agents = {agent};
  Harness h(std::move(wf));
  const Plan& plan = h.plan;
  uint32_t m1 = *plan.find("m[n=1]"), m3 = *plan.find("m[n=3]");
  uint32_t a = *plan.find("a"), b = *plan.find("b");
  // One definition and one compiled env and `with` for the three instances.
  CHECK(plan.tasks[m1].spec->env.identity() == plan.tasks[m3].spec->env.identity());
  REQUIRE(plan.tasks[m1].env.identity() != nullptr);
  CHECK(plan.tasks[m3].env.identity() == plan.tasks[m1].env.identity());
  CHECK(plan.tasks[m3].with.identity() == plan.tasks[m1].with.identity());
  // One compiled command for the agent's five tasks; one env for the two that set none.
  for (uint32_t i : {m1, m3, b})
    CHECK(plan.tasks[i].command.identity() == plan.tasks[a].command.identity());
  CHECK(plan.tasks[b].env.identity() == plan.tasks[a].env.identity());
  CHECK(plan.tasks[a].env.identity() != plan.tasks[m1].env.identity());
  CHECK(plan.tasks[b].with.identity() != plan.tasks[a].with.identity());
  // Each instance still records what it reads.
  REQUIRE(plan.flow->nodes[m3].reads);
  CHECK(plan.flow->nodes[m3].reads->params.names == Names{"p"});
  CHECK(drove(h.start({{"p", "x"}})) == DriveOutcome::succeeded);
  const auto& second = h.launcher.launch_of("m[n=2]");
  CHECK(second.request.argv == Names{"run-bot", "2"});
  CHECK(second.env("LEVEL") == "m2-x");  // the task's name over the agent's
  CHECK(second.env("ROLE") == "bot");
  CHECK(h.launcher.launch_of("m[n=3]").env("LEVEL") == "m3-x");
  const auto& first = h.launcher.launch_of("a");
  CHECK(first.request.argv == Names{"run-bot", "a"});
  CHECK(first.env("LEVEL") == "agent");
  CHECK(h.launcher.launch_of("b").request.argv == Names{"run-bot", "b"});
}

TEST_CASE("env in layers: the file's (parsed once, shared), the agent's, the task's") {
  AgentSpec agent;
  agent.name = "bot";
  agent.command.parts = {tmpl("run-bot")};
  agent.env = {{"LEVEL", tmpl("agent")}, {"BOT", tmpl("yes")}};
  std::vector<TaskSpec> tasks{task("a", "true"), task("b", "true"), task("c", "")};
  tasks[1].env = {{"LEVEL", tmpl("task-${{ params.p }}")}};
  tasks[2].agent = "bot";
  Workflow wf = workflow(tasks);
  wf.params = {param("p")};
  wf.agents = {agent};
  wf.env = {{"LEVEL", tmpl("file")}, {"FROM", tmpl("${{ params.p }}")}};
  Harness h(std::move(wf));
  // One parse of the file's env for all three tasks.
  REQUIRE(h.plan.tasks[0].file_env.identity() != nullptr);
  CHECK(h.plan.tasks[1].file_env.identity() == h.plan.tasks[0].file_env.identity());
  CHECK(h.plan.tasks[2].file_env.identity() == h.plan.tasks[0].file_env.identity());
  CHECK(drove(h.start({{"p", "x"}})) == DriveOutcome::succeeded);
  const auto& a = h.launcher.launch_of("a");
  CHECK(a.env("LEVEL") == "file");
  CHECK(a.env("FROM") == "x");
  CHECK(a.env("BOT") == "<unset>");
  const auto& b = h.launcher.launch_of("b");
  CHECK(b.env("LEVEL") == "task-x");
  CHECK(b.env("FROM") == "x");
  const auto& c = h.launcher.launch_of("c");
  CHECK(c.env("LEVEL") == "agent");
  CHECK(c.env("BOT") == "yes");
  CHECK(c.env("FROM") == "x");
}

TEST_CASE("the file's env is checked for each task as the task's own templates are") {
  // `a` may read itself and `b` needs it; `c` does not: the shared env is refused for `c`.
  std::vector<TaskSpec> tasks{task("a", "true"), task("b", "true"), task("c", "true")};
  tasks[1].needs = {"a"};
  Workflow wf = workflow(tasks);
  wf.env = {{"OUT", tmpl("${{ tasks.a.outputs.x }}")}};
  Workflow without_c = wf;
  without_c.tasks.pop_back();
  auto plan = compile(std::move(without_c), {});
  REQUIRE_MESSAGE(plan.has_value(), wfo::test::error_text(plan));
  REQUIRE(plan->flow->nodes[1].reads);
  REQUIRE(plan->flow->nodes[1].reads->tasks.size() == 1);
  CHECK(plan->flow->nodes[1].reads->tasks[0].name == "a");
  auto refused = compile(std::move(wf), {});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message == "task 'c' reads task 'a', which it does not need");
}

TEST_CASE("errors in the layers of env: the first in layering order is the one told") {
  SUBCASE("at load: the file's names in turn, each parsed and checked") {
    std::vector<TaskSpec> tasks{task("a", "true")};
    Workflow wf = workflow(tasks);
    wf.env = {{"A", tmpl("${{ params.nope }}")}, {"B", tmpl("${{ 1 + }}")}};
    auto plan = compile(std::move(wf), {});
    REQUIRE_FALSE(plan.has_value());
    CHECK(plan.error().message == "unknown param 'nope'");
  }
  SUBCASE("at launch: the file's name before the task's own") {
    std::vector<TaskSpec> tasks{task("two", "echo two")};
    tasks[0].env = {{"T", tmpl("${{ fromJSON('y') }}")}};
    Workflow wf = workflow(tasks);
    wf.env = {{"BAD", tmpl("${{ fromJSON('x') }}")}};
    Harness h(std::move(wf));
    CHECK(drove(h.start()) == DriveOutcome::failed);
    const std::string reason = h.store.task("two").reason;
    CHECK(reason.starts_with("cannot evaluate 'fromJSON('x')'"));
  }
}

TEST_CASE("a slot's file is emptied for the next attempt unless it was read back empty") {
  // The engine skips the reset only for a slot whose file it read back as empty, a file of
  // its own (attempt.cpp, read_output_file). A failed attempt's file is not read: the retry
  // must not see what it wrote. A success that wrote outputs leaves them for the next one
  // to be emptied too.
  std::vector<TaskSpec> tasks{task("a"), task("b", "true", {"a"}), task("c", "true", {"b"}),
                              task("d", "true", {"c"})};
  tasks[1].retry = retry(2);
  Harness h(workflow(tasks));
  h.launcher.script("b", 1, Script().exits(1).writes_output("left=by-b1\n"));
  h.launcher.script("c", 1, Script().writes_output("from=c\n"));
  CHECK(drove(h.start()) == DriveOutcome::succeeded);
  for (const char* t : {"a", "b", "c", "d"})
    CHECK(h.launcher.launch_of(t, 1).env("WFO_OUTPUT") == h.run_dir() + "/output-slot-0");
  auto outputs = [&](const char* task, size_t n) { return h.store.attempts(task).at(n).outputs; };
  CHECK(outputs("a", 0) == nlohmann::json::object());
  CHECK(outputs("b", 1) == nlohmann::json::object());  // not b's first attempt's
  CHECK(outputs("c", 0) == nlohmann::json{{"from", "c"}});
  CHECK(outputs("d", 0) == nlohmann::json::object());  // not c's
}

TEST_CASE("an agent's env and command, parsed once, are checked for each task as its own") {
  // `b` needs `a`; `c` does not: the agent's env and command, shared, are refused for `c`.
  for (bool in_command : {false, true}) {
    CAPTURE(in_command);
    AgentSpec agent;
    agent.name = "bot";
    agent.command.parts = {tmpl(in_command ? "run ${{ tasks.a.outputs.x }}" : "run")};
    if (!in_command) agent.env = {{"OUT", tmpl("${{ tasks.a.outputs.x }}")}};
    std::vector<TaskSpec> tasks{task("a", "true"), task("b", ""), task("c", "")};
    tasks[1].needs = {"a"};
    tasks[1].agent = tasks[2].agent = "bot";
    Workflow wf = workflow(tasks);
    wf.agents = {agent};
    Workflow without_c = wf;
    without_c.tasks.pop_back();
    auto plan = compile(std::move(without_c), {});
    REQUIRE_MESSAGE(plan.has_value(), wfo::test::error_text(plan));
    auto refused = compile(std::move(wf), {});
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message == "task 'c' reads task 'a', which it does not need");
  }
}
