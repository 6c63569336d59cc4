// Matrix expansion (GitHub Actions' rules), instance ids, and what compile() makes of matrix,
// for_each and sub-workflow tasks: the plan's nodes, their needs, and the static checks of
// what expressions may read where (issue 5).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/flow.hpp"
#include "engine/flow_state.hpp"
#include "error_text.hpp"
#include "fakes.hpp"

namespace {

using namespace wfo;
using namespace wfo::test;
using Names = std::vector<std::string>;
using Combination = MatrixCombination;

MatrixSpec matrix(std::vector<std::pair<std::string, std::vector<std::string>>> axes,
                  std::vector<Combination> include = {}, std::vector<Combination> exclude = {}) {
  MatrixSpec m;
  m.axes = std::move(axes);
  m.include = std::move(include);
  m.exclude = std::move(exclude);
  return m;
}

Plan compiled(Workflow wf, SubflowMap subflows = {}) {
  auto plan = compile(std::move(wf), std::move(subflows));
  REQUIRE_MESSAGE(plan.has_value(), wfo::test::error_text(plan));
  return std::move(*plan);
}

std::string compile_error(Workflow wf, SubflowMap subflows = {}) {
  auto plan = compile(std::move(wf), std::move(subflows));
  REQUIRE_FALSE(plan.has_value());
  CHECK(plan.error().kind == ErrorKind::invalid_workflow);
  const Error& e = plan.error();
  return e.file + ":" + std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message;
}

Names ids(const Plan& plan) {
  Names out;
  for (const auto& t : plan.workflow->tasks) out.push_back(t.id);
  return out;
}

Names needs_of(const Plan& plan, const std::string& id) {
  Names out;
  for (uint32_t n : plan.dag.needs(*plan.find(id))) out.push_back(plan.workflow->tasks[n].id);
  return out;
}

/// A template at line `line`, column 5 of flow.yaml.
Template at(std::string text, int line) {
  return Template{std::move(text), Mark{line, 5}};
}

}  // namespace

TEST_CASE("expand_matrix: the product of the axes, the first varying slowest") {
  auto combos = expand_matrix(matrix({{"os", {"linux", "mac"}}, {"v", {"1", "2", "3"}}}));
  REQUIRE(combos.size() == 6);
  CHECK(combos[0] == Combination{{"os", "linux"}, {"v", "1"}});
  CHECK(combos[2] == Combination{{"os", "linux"}, {"v", "3"}});
  CHECK(combos[3] == Combination{{"os", "mac"}, {"v", "1"}});
  CHECK(combos[5] == Combination{{"os", "mac"}, {"v", "3"}});
}

TEST_CASE("expand_matrix: exclude removes every combination matching all its keys") {
  auto combos = expand_matrix(matrix({{"os", {"linux", "mac"}}, {"v", {"1", "2"}}}, {},
                                     {{{"os", "mac"}, {"v", "2"}}, {{"v", "1"}}}));
  REQUIRE(combos.size() == 1);
  CHECK(combos[0] == Combination{{"os", "linux"}, {"v", "2"}});
  CHECK(expand_matrix(matrix({{"os", {"linux"}}}, {}, {{{"os", "linux"}}})).empty());
}

TEST_CASE("expand_matrix: GitHub's documented include example") {
  // docs.github.com, "Expanding or adding matrix configurations".
  auto combos = expand_matrix(matrix({{"fruit", {"apple", "pear"}}, {"animal", {"cat", "dog"}}},
                                     {{{"color", "green"}},
                                      {{"color", "pink"}, {"animal", "cat"}},
                                      {{"fruit", "apple"}, {"shape", "circle"}},
                                      {{"fruit", "banana"}},
                                      {{"fruit", "banana"}, {"animal", "cat"}}}));
  REQUIRE(combos.size() == 6);
  CHECK(combos[0] ==
        Combination{{"fruit", "apple"}, {"animal", "cat"}, {"color", "pink"}, {"shape", "circle"}});
  CHECK(
      combos[1] ==
      Combination{{"fruit", "apple"}, {"animal", "dog"}, {"color", "green"}, {"shape", "circle"}});
  CHECK(combos[2] == Combination{{"fruit", "pear"}, {"animal", "cat"}, {"color", "pink"}});
  CHECK(combos[3] == Combination{{"fruit", "pear"}, {"animal", "dog"}, {"color", "green"}});
  CHECK(combos[4] == Combination{{"fruit", "banana"}});
  CHECK(combos[5] == Combination{{"fruit", "banana"}, {"animal", "cat"}});
}

TEST_CASE("expand_matrix: a matrix of include entries alone") {
  auto combos = expand_matrix(matrix({}, {{{"os", "linux"}, {"cc", "gcc"}}, {{"os", "mac"}}}));
  REQUIRE(combos.size() == 2);
  CHECK(combos[0] == Combination{{"os", "linux"}, {"cc", "gcc"}});
  CHECK(combos[1] == Combination{{"os", "mac"}});
}

TEST_CASE("matrix_instance_id: readable ids, or the index when a value would not be") {
  CHECK(matrix_instance_id("test", {{"suite", "unit"}}, 0) == "test[suite=unit]");
  CHECK(matrix_instance_id("test", {{"os", "linux"}, {"v", "3.12"}}, 4) == "test[os=linux,v=3.12]");
  CHECK(matrix_instance_id("t", {{"img", "ghcr.io/a/b:1@x+y"}}, 0) == "t[img=ghcr.io/a/b:1@x+y]");
  CHECK(matrix_instance_id("t", {{"a", "x"}, {"b", "has space"}}, 2) == "t[2]");
  CHECK(matrix_instance_id("t", {{"a", "$(touch x)"}}, 1) == "t[1]");
  CHECK(matrix_instance_id("t", {{"a", ""}}, 0) == "t[0]");
  CHECK(matrix_instance_id("t", {{"a", std::string(41, 'x')}}, 3) == "t[3]");
  CHECK(matrix_instance_id("t", {{"a", "x]y"}}, 5) == "t[5]");
}

TEST_CASE("compile: a matrix task becomes one node per combination; dependents need them all") {
  TaskSpec test = task("test", "echo ${{ matrix.suite }}", {"build"});
  test.matrix = matrix({{"suite", {"unit", "e2e"}}});
  Plan plan = compiled(workflow({task("build"), test, task("report", "true", {"test"})}));
  CHECK(ids(plan) == Names{"build", "test[suite=unit]", "test[suite=e2e]", "report"});
  CHECK(needs_of(plan, "test[suite=unit]") == Names{"build"});
  CHECK(needs_of(plan, "report") == Names{"test[suite=unit]", "test[suite=e2e]"});
  const FlowPlan& flow = *plan.flow;
  CHECK(flow.nodes[1].role == NodeRole::matrix_instance);
  CHECK(flow.nodes[1].name == "test");
  CHECK(flow.nodes[2].matrix == nlohmann::json{{"suite", "e2e"}});
  CHECK(flow.group_of(1) == std::vector<uint32_t>{1, 2});
  CHECK(flow.group_of(0).empty());
}

TEST_CASE("compile: a task reading a matrix task reads the whole group") {
  TaskSpec test = task("test", "echo hi");
  test.matrix = matrix({{"suite", {"unit", "e2e", "lint"}}});
  Plan plan =
      compiled(workflow({test, task("report", "echo ${{ tasks.test.outputs.r }}", {"test"})}));
  REQUIRE(plan.flow->nodes[*plan.find("report")].reads);
  const auto& read = plan.flow->nodes[*plan.find("report")].reads->tasks;
  REQUIRE(read.size() == 1);
  CHECK(read[0].name == "test");
  CHECK(read[0].outputs.names == Names{"r"});
}

TEST_CASE("compile: a task records the outputs it reads of each task, merged per task") {
  Plan plan = compiled(
      workflow({task("a"), task("b"), task("c"),
                task("r",
                     "echo ${{ tasks.a.outputs.y }} ${{ tasks.a.status }} ${{ tasks.a.outputs.x }} "
                     "${{ tasks.b.exit_code }} ${{ toJSON(tasks.c) }} ${{ tasks.a.outputs.y }}",
                     {"a", "b", "c"})}));
  const auto& read = plan.flow->nodes[*plan.find("r")].reads->tasks;
  REQUIRE(read.size() == 3);
  CHECK(read[0].name == "a");
  CHECK(read[0].outputs.names == Names{"x", "y"});
  CHECK_FALSE(read[0].outputs.all);
  CHECK(read[1].name == "b");  // its exit code alone: none of its outputs
  CHECK(read[1].outputs.names.empty());
  CHECK_FALSE(read[1].outputs.all);
  CHECK(read[2].name == "c");  // read whole
  CHECK(read[2].outputs.all);
}

TEST_CASE("compile: each task records the params and env names its templates read") {
  Workflow wf =
      workflow({task("plain", "make"), task("named", "echo ${{ params.b }} ${{ params.a }}"),
                task("whole", "echo ${{ toJSON(params) }} ${{ env.X }}"),
                task("computed", "echo ${{ params[env.X] }}")});
  for (const char* name : {"a", "b"}) {
    ParamSpec p;
    p.name = name;
    wf.params.push_back(p);
  }
  TaskSpec& named = wf.tasks[1];
  named.env.emplace_back("Y", tmpl("${{ env.X }}${{ params.a }}"));
  Plan plan = compiled(std::move(wf));
  auto reads = [&](const char* id) { return plan.flow->nodes[*plan.find(id)].reads.operator->(); };
  CHECK(reads("plain") == nullptr);  // a task that reads nothing keeps no record
  REQUIRE(reads("named"));
  CHECK(reads("named")->params.names == Names{"a", "b"});  // sorted, once each
  CHECK_FALSE(reads("named")->params.all);
  CHECK(reads("named")->env.names == Names{"X"});
  CHECK(reads("named")->tasks.empty());
  REQUIRE(reads("whole"));
  CHECK(reads("whole")->params.all);
  CHECK(reads("whole")->env.names == Names{"X"});
  REQUIRE(reads("computed"));
  CHECK(reads("computed")->params.all);  // a computed key can be any param
  CHECK(reads("computed")->env.names == Names{"X"});
}

TEST_CASE("projected: the members read, or the whole when one is not there as written") {
  nlohmann::json all = {{"a", 1}, {"b", 2}, {"C", 3}};
  NameReads reads{{"a"}, false};
  CHECK(projected(all, &reads) == nlohmann::json{{"a", 1}});
  CHECK(projected(all, nullptr) == nlohmann::json::object());
  reads.names = {"a", "c"};  // `c` is found case-insensitively by the evaluator, in the whole
  CHECK(projected(all, &reads) == all);
  reads = NameReads{{}, true};
  CHECK(projected(all, &reads) == all);
}

TEST_CASE("compile: a sub-workflow's tasks come under the parent's id") {
  Workflow sub = workflow({task("migrate", "echo ${{ params.target }}"),
                           task("check", "echo ${{ tasks.migrate.outputs.v }}", {"migrate"})});
  sub.file = "sub.yaml";
  ParamSpec target;
  target.name = "target";
  target.default_value = "db";
  sub.params.push_back(target);
  TaskSpec deploy = task("deploy", "", {"build"});
  deploy.uses = "sub.yaml";
  SubflowMap subflows;
  subflows.emplace("/work/flow/sub.yaml", sub);
  Plan plan = compiled(workflow({task("build"), deploy, task("after", "true", {"deploy"})}),
                       std::move(subflows));
  CHECK(ids(plan) == Names{"build", "deploy", "deploy/migrate", "deploy/check", "after"});
  CHECK(needs_of(plan, "deploy") == Names{"build"});
  CHECK(needs_of(plan, "deploy/migrate").empty());  // held by its collector, not by an edge
  CHECK(needs_of(plan, "deploy/check") == Names{"deploy/migrate"});
  CHECK(needs_of(plan, "after") == Names{"deploy"});
  const FlowPlan& flow = *plan.flow;
  CHECK(flow.nodes[1].role == NodeRole::subflow_collector);
  CHECK(flow.nodes[1].members == std::vector<uint32_t>{2, 3});
  CHECK(flow.holder_of(3) == 1);
  CHECK(flow.holder_of(4) == k_no_node);
  CHECK(flow.scopes[1].prefix == "deploy/");
}

TEST_CASE("compile: a sub-workflow that was not loaded, or a cycle inside one, is refused") {
  TaskSpec deploy = task("deploy", "");
  deploy.uses = "sub.yaml";
  deploy.uses_mark = Mark{3, 11};
  CHECK(compile_error(workflow({deploy})) ==
        "flow.yaml:3:11: sub-workflow 'sub.yaml' was not loaded");
  Workflow sub = workflow({task("a", "true", {"b"}), task("b", "true", {"a"})});
  sub.file = "sub.yaml";
  SubflowMap subflows;
  subflows.emplace("/work/flow/sub.yaml", sub);
  CHECK(compile_error(workflow({deploy}), std::move(subflows)) ==
        "sub.yaml:0:0: dependency cycle: a -> b -> a");
}

TEST_CASE("compile: what expressions may read where") {
  struct Case {
    TaskSpec task;
    std::string expected;
  };
  TaskSpec plain = task("plain", "echo ${{ matrix.os }}");
  plain.run->mark = Mark{4, 10};
  TaskSpec axis = task("t", "echo ${{ matrix.suit }}");
  axis.matrix = matrix({{"suite", {"unit"}}});
  axis.run->mark = Mark{5, 10};
  TaskSpec item = task("t", "echo ${{ item }}");
  item.run->mark = Mark{6, 10};
  TaskSpec item_in_if = task("t", "echo ${{ item }}");
  item_in_if.for_each = at("${{ fromJSON('[1]') }}", 7);
  item_in_if.if_expr = at("${{ item == 1 }}", 8);
  TaskSpec item_in_list = task("t", "true");
  item_in_list.for_each = at("${{ item }}", 9);
  TaskSpec inputs = task("t", "echo ${{ inputs.x }}");
  inputs.run->mark = Mark{10, 10};
  std::vector<Case> cases = {
      {plain, "flow.yaml:4:19: 'matrix' is only available in a task with a matrix"},
      {axis, "flow.yaml:5:19: unknown matrix axis 'suit' (did you mean 'suite'?)"},
      {item, "flow.yaml:6:19: 'item' is only available in a task with for_each"},
      {item_in_if,
       "flow.yaml:8:9: 'item' is not available here: a for_each task's 'if', gate message and "
       "list are evaluated once, before its instances exist"},
      {item_in_list,
       "flow.yaml:9:9: 'item' is not available here: a for_each task's 'if', gate message and "
       "list are evaluated once, before its instances exist"},
      {inputs, "flow.yaml:10:19: 'inputs' is only available in an agent's command"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.expected);
    CHECK(compile_error(workflow({c.task})) == c.expected);
  }
}

TEST_CASE("compile: a matrix instance reads itself by its name; a sub-workflow its own tasks") {
  TaskSpec poll = task("poll", "true");
  poll.matrix = matrix({{"n", {"1", "2"}}});
  poll.repeat = RepeatSpec{tmpl("tasks.poll.outputs.done == 'yes'"), 3, milliseconds{0}, {}};
  Plan plan = compiled(workflow({poll}));
  for (uint32_t i : {0u, 1u}) {  // each instance reads its own name: itself (tasks_view)
    REQUIRE(plan.flow->nodes[i].reads);
    REQUIRE(plan.flow->nodes[i].reads->tasks.size() == 1);
    CHECK(plan.flow->nodes[i].reads->tasks[0].name == "poll");
  }

  Workflow sub = workflow({task("inner", "echo ${{ tasks.outer.outputs.x }}")});
  sub.file = "sub.yaml";
  sub.tasks[0].run->mark = Mark{3, 10};
  TaskSpec deploy = task("deploy", "", {"outer"});
  deploy.uses = "sub.yaml";
  SubflowMap subflows;
  subflows.emplace("/work/flow/sub.yaml", sub);
  CHECK(compile_error(workflow({task("outer"), deploy}), std::move(subflows)) ==
        "sub.yaml:3:19: unknown task 'outer' in expression");
}

TEST_CASE("compile: a matrix of more than 256 combinations is refused before it is made") {
  std::vector<std::string> ten = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  TaskSpec big = task("t", "true");
  big.matrix = matrix({{"a", ten}, {"b", ten}, {"c", {"x", "y", "z"}}});
  big.matrix->mark = Mark{3, 13};
  CHECK(matrix_product_size(*big.matrix) == 300);
  CHECK(compile_error(workflow({big})) ==
        "flow.yaml:3:13: the matrix of task 't' makes 300 combinations; at most 256 are allowed");
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  for (int i = 0; i < 40; ++i) axes.emplace_back("a" + std::to_string(i), ten);
  big.matrix = matrix(axes);
  CHECK(matrix_product_size(*big.matrix) == SIZE_MAX);
  CHECK(compile_error(workflow({big})) ==
        "flow.yaml:0:0: the matrix of task 't' makes too many combinations; at most 256 are "
        "allowed");
  TaskSpec fits = task("t", "true");  // 300 before exclusions, 200 after: as GitHub counts
  fits.matrix = matrix({{"a", ten}, {"b", ten}, {"c", {"x", "y", "z"}}}, {}, {{{"c", "y"}}});
  CHECK(compiled(workflow({fits})).tasks.size() == 200);
  // Include entries are counted as themselves (they said "makes 1 combinations").
  TaskSpec includes = task("t", "true");
  std::vector<Combination> entries;
  for (int i = 0; i < 257; ++i) entries.push_back({{"x", "x0"}, {"k" + std::to_string(i), "v"}});
  includes.matrix = matrix({{"x", {"x0"}}}, entries);
  includes.matrix->mark = Mark{3, 13};
  CHECK(compile_error(workflow({includes})) ==
        "flow.yaml:3:13: the matrix of task 't' has 257 include entries; at most 256 are allowed");
  entries.pop_back();
  includes.matrix = matrix({{"x", {"x0"}}}, entries);
  Plan merged = compiled(workflow({includes}));  // all 256 added to the one combination
  REQUIRE(merged.tasks.size() == 1);
  CHECK(merged.flow->nodes[0].matrix.size() == 257);
  CHECK(merged.flow->nodes[0].matrix["k255"] == "v");
}

TEST_CASE("expand_matrix: many axes and many include keys, each value in its place") {
  // Each axis extended a copy of every partial combination (O(axes^2)), and each include key
  // was looked for along the combination (O(keys^2)): 16,000 axes took 8 s to validate.
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  for (int i = 0; i < 3000; ++i) axes.emplace_back("a" + std::to_string(i), Names{"v"});
  axes.emplace_back("last", Names{"p", "q"});
  Combination entry{{"last", "q"}};
  for (int i = 0; i < 3000; ++i) entry.emplace_back("k" + std::to_string(i), std::to_string(i));
  entry.emplace_back("k7", "again");  // a later key of the same name overwrites the earlier
  auto combos = expand_matrix(matrix(axes, {entry}, {{{"a5", "v"}, {"last", "p"}}}));
  REQUIRE(combos.size() == 1);  // p excluded; q kept, the entry added to it
  const Combination& c = combos[0];
  REQUIRE(c.size() == 3001 + 3000);
  CHECK(c[0] == std::pair<std::string, std::string>{"a0", "v"});
  CHECK(c[3000] == std::pair<std::string, std::string>{"last", "q"});
  CHECK(c[3001] == std::pair<std::string, std::string>{"k0", "0"});
  CHECK(c[3008] == std::pair<std::string, std::string>{"k7", "again"});
  CHECK(c.back() == std::pair<std::string, std::string>{"k2999", "2999"});
}

TEST_CASE("compile: fan-out keys that do not go together are refused") {
  TaskSpec both = task("t", "true");
  both.matrix = matrix({{"a", {"1"}}});
  both.for_each = at("${{ fromJSON('[1]') }}", 3);
  CHECK(compile_error(workflow({both})) ==
        "flow.yaml:3:5: task 't' has both 'for_each' and 'matrix'");
  TaskSpec uses = task("t", "");
  uses.uses = "sub.yaml";
  uses.uses_mark = Mark{4, 11};
  uses.matrix = matrix({{"a", {"1"}}});
  CHECK(compile_error(workflow({uses})) ==
        "flow.yaml:4:11: task 't' has 'uses' with 'matrix': a sub-workflow task runs once");
  TaskSpec empty = task("t", "true");
  empty.matrix = matrix({{"a", {"1"}}}, {}, {{{"a", "1"}}});
  empty.matrix->mark = Mark{5, 13};
  CHECK(compile_error(workflow({empty})) ==
        "flow.yaml:5:13: the matrix of task 't' has no combination");
}
