// Dag::build (needs, dependents, topological order, cycles as ninja prints them) and
// ReadyQueue's order.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "error_text.hpp"
#include "graph/dag.hpp"
#include "util/diagnostic.hpp"

namespace {

using namespace wfo;
using Ids = std::vector<uint32_t>;

Ids ids_of(std::span<const uint32_t> list) {
  return Ids(list.begin(), list.end());
}

TaskSpec task(std::string id, std::vector<std::string> needs = {}, Mark mark = {}) {
  TaskSpec t;
  t.id = std::move(id);
  t.mark = mark;
  t.needs = std::move(needs);
  return t;
}

Workflow workflow(std::vector<TaskSpec> tasks) {
  Workflow wf;
  wf.name = "flow";
  wf.file = "flow.yaml";
  wf.tasks = std::move(tasks);
  return wf;
}

Dag build_ok(const Workflow& wf) {
  auto dag = Dag::build(wf);
  REQUIRE_MESSAGE(dag.has_value(), wfo::test::error_text(dag));
  return std::move(*dag);
}

Error build_error(const Workflow& wf) {
  auto dag = Dag::build(wf);
  REQUIRE_FALSE(dag.has_value());
  return dag.error();
}

// The ids of `nodes`, for readable comparisons.
std::vector<std::string> ids(const Workflow& wf, const Ids& nodes) {
  std::vector<std::string> out;
  for (uint32_t n : nodes) out.push_back(wf.tasks[n].id);
  return out;
}

using Names = std::vector<std::string>;

// A task "root" and n tasks m0..m{n-1} that need it; `middles` gets their ids.
std::vector<TaskSpec> root_and_middles(int n, Names& middles) {
  std::vector<TaskSpec> tasks{task("root")};
  for (int i = 0; i < n; ++i) {
    middles.push_back("m" + std::to_string(i));
    tasks.push_back(task(middles.back(), {"root"}));
  }
  return tasks;
}

}  // namespace

TEST_CASE("a diamond: needs, dependents and order") {
  Workflow wf = workflow({task("a"), task("b", {"a"}), task("c", {"a"}), task("d", {"b", "c"})});
  Dag dag = build_ok(wf);
  CHECK(dag.size() == 4);
  CHECK(ids_of(dag.needs(0)) == Ids{});
  CHECK(ids_of(dag.needs(1)) == Ids{0});
  CHECK(ids_of(dag.needs(2)) == Ids{0});
  CHECK(ids_of(dag.needs(3)) == Ids{1, 2});
  CHECK(ids_of(dag.dependents(0)) == Ids{1, 2});
  CHECK(ids_of(dag.dependents(1)) == Ids{3});
  CHECK(ids_of(dag.dependents(2)) == Ids{3});
  CHECK(ids_of(dag.dependents(3)) == Ids{});
  CHECK(ids(wf, dag.topological_order()) == Names{"a", "b", "c", "d"});
}

TEST_CASE("a need listed twice is one need, however long the list") {
  // Dag::build takes needs as given (the loader drops repeats too): a join of 40 tasks,
  // each listed twice, and one repeated at the end, is 40 needs and 40 edges.
  std::vector<TaskSpec> tasks;
  std::vector<std::string> all;
  for (int k = 0; k < 40; ++k) {
    tasks.push_back(task("t" + std::to_string(k)));
    all.push_back("t" + std::to_string(k));
  }
  std::vector<std::string> twice = all;
  twice.insert(twice.end(), all.begin(), all.end());
  twice.push_back("t0");
  tasks.push_back(task("join", twice));
  Dag dag = build_ok(workflow(tasks));
  Ids expected;
  for (uint32_t k = 0; k < 40; ++k) expected.push_back(k);
  CHECK(ids_of(dag.needs(40)) == expected);
  for (uint32_t k = 0; k < 40; ++k) CHECK(ids_of(dag.dependents(k)) == Ids{40});
}

TEST_CASE("a chain written backwards is ordered by its needs") {
  Workflow wf = workflow({task("deploy", {"test"}), task("test", {"build"}), task("build")});
  Dag dag = build_ok(wf);
  CHECK(ids(wf, dag.topological_order()) == Names{"build", "test", "deploy"});
  CHECK(dag.is_upstream(2, 0));
  CHECK(dag.is_upstream(1, 0));
  CHECK(dag.is_upstream(2, 1));
  CHECK_FALSE(dag.is_upstream(0, 2));
  CHECK_FALSE(dag.is_upstream(0, 0));
}

TEST_CASE("a wide graph: one root, many middles, one sink") {
  std::vector<std::string> middles;
  std::vector<TaskSpec> tasks = root_and_middles(1000, middles);
  tasks.push_back(task("sink", middles));
  Workflow wf = workflow(std::move(tasks));
  Dag dag = build_ok(wf);
  CHECK(dag.dependents(0).size() == 1000);
  CHECK(dag.needs(1001).size() == 1000);
  const Ids& order = dag.topological_order();
  REQUIRE(order.size() == 1002);
  CHECK(order.front() == 0);
  CHECK(order.back() == 1001);
  for (uint32_t i = 0; i < order.size(); ++i) CHECK(order[i] == i);
  CHECK(dag.is_upstream(0, 1001));
  CHECK(dag.is_upstream(500, 1001));
  CHECK_FALSE(dag.is_upstream(500, 501));
}

TEST_CASE("is_upstream: what one walk learns stays right for the next questions") {
  // Two chains joined at j: a0 <- a1 <- a2 <- j and b0 <- b1 <- j; c stands alone.
  Workflow wf = workflow({task("a0"), task("a1", {"a0"}), task("a2", {"a1"}), task("b0"),
                          task("b1", {"b0"}), task("j", {"a2", "b1"}), task("c")});
  Dag dag = build_ok(wf);
  for (int round = 0; round < 2; ++round) {  // the second round answers from memory
    CAPTURE(round);
    CHECK_FALSE(dag.is_upstream(0, 4));  // b1 does not reach a0
    CHECK(dag.is_upstream(0, 2));
    CHECK(dag.is_upstream(0, 5));  // j reaches a0 through a2 and a1
    CHECK(dag.is_upstream(3, 5));
    CHECK_FALSE(dag.is_upstream(0, 3));
    CHECK_FALSE(dag.is_upstream(5, 0));
    CHECK_FALSE(dag.is_upstream(0, 6));
    CHECK_FALSE(dag.is_upstream(1, 4));
    CHECK(dag.is_upstream(1, 5));
  }
}

TEST_CASE("is_direct_need: short and long lists, asked in turn and after a node is added") {
  // j needs m0..m39 (a long list: marked once per node asked about); k needs m0 and j.
  std::vector<std::string> middles;
  std::vector<TaskSpec> tasks = root_and_middles(40, middles);
  tasks.push_back(task("j", middles));
  tasks.push_back(task("k", {"m0", "j"}));
  Workflow wf = workflow(std::move(tasks));
  Dag dag = build_ok(wf);
  const uint32_t j = 41, k = 42;
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    for (uint32_t m = 1; m <= 40; ++m) CHECK(dag.is_direct_need(m, j));
    CHECK_FALSE(dag.is_direct_need(0, j));  // root is upstream, not a direct need
    CHECK(dag.is_upstream(0, j));
    CHECK(dag.is_direct_need(1, k));
    CHECK_FALSE(dag.is_direct_need(2, k));
    CHECK(dag.is_upstream(2, k));  // through j
    CHECK_FALSE(dag.is_direct_need(j, j));
    CHECK_FALSE(dag.is_direct_need(40, 1));
  }
  // A node added later with a long list: its own marks, and j's are right again after it.
  Ids needs;
  for (uint32_t m = 21; m <= 40; ++m) needs.push_back(m);
  uint32_t added = dag.add_node(needs, k);
  CHECK(dag.is_direct_need(21, added));
  CHECK_FALSE(dag.is_direct_need(20, added));
  CHECK(dag.is_direct_need(20, j));
  CHECK_FALSE(dag.is_direct_need(added, j));
  CHECK(dag.is_direct_need(40, added));
}

TEST_CASE("ties in the topological order go in workflow order") {
  SUBCASE("no needs at all") {
    Workflow wf = workflow({task("c"), task("a"), task("b")});
    CHECK(ids(wf, build_ok(wf).topological_order()) == Names{"c", "a", "b"});
  }
  SUBCASE("the smallest ready index first at each step") {
    Workflow wf = workflow({task("d", {"b"}), task("a"), task("b"), task("c", {"a"})});
    // Ready at start: a(1), b(2). a releases c(3); b releases d(0), which comes first then.
    CHECK(ids(wf, build_ok(wf).topological_order()) == Names{"a", "b", "d", "c"});
  }
}

TEST_CASE("repeated needs count once") {
  Workflow wf = workflow({task("a"), task("b", {"a", "a"})});
  Dag dag = build_ok(wf);
  CHECK(ids_of(dag.needs(1)) == Ids{0});
  CHECK(ids_of(dag.dependents(0)) == Ids{1});
}

TEST_CASE("a node added after the build: its needs, its place in the order, no dependents") {
  Workflow wf = workflow({task("a"), task("b"), task("c", {"a", "b"}), task("d", {"c"})});
  Dag dag = build_ok(wf);
  Ids needs{1, 0};
  CHECK(dag.add_node(needs, 3) == 4);
  CHECK(dag.size() == 5);
  CHECK(ids_of(dag.needs(4)) == Ids{1, 0});
  CHECK(ids_of(dag.dependents(4)) == Ids{});
  CHECK(dag.topological_order() == Ids{0, 1, 2, 4, 3});
  // The lists built before are untouched by the append.
  CHECK(ids_of(dag.needs(2)) == Ids{0, 1});
  CHECK(ids_of(dag.needs(3)) == Ids{2});
  CHECK(ids_of(dag.dependents(0)) == Ids{2});
  CHECK(ids_of(dag.dependents(1)) == Ids{2});
  CHECK(dag.is_upstream(1, 4));
  CHECK_FALSE(dag.is_upstream(2, 4));
}

TEST_CASE("nodes added in turn keep the order inserting each in turn gave") {
  // Placed when the order is read: as each had been inserted just before its `before`,
  // after those inserted there earlier, also before a node itself added.
  Workflow wf = workflow({task("a"), task("b"), task("c", {"a", "b"}), task("d", {"c"})});
  Ids none;
  SUBCASE("read once at the end") {
    Dag dag = build_ok(wf);
    CHECK(dag.add_node(none, 2) == 4);
    CHECK(dag.add_node(none, 2) == 5);
    CHECK(dag.add_node(none, 4) == 6);
    CHECK(dag.add_node(none, 3) == 7);
    CHECK(dag.topological_order() == Ids{0, 1, 6, 4, 5, 2, 7, 3});
  }
  SUBCASE("read between the adds") {
    Dag dag = build_ok(wf);
    dag.add_node(none, 2);
    dag.add_node(none, 2);
    CHECK(dag.topological_order() == Ids{0, 1, 4, 5, 2, 3});
    dag.add_node(none, 4);
    dag.add_node(none, 3);
    CHECK(dag.topological_order() == Ids{0, 1, 6, 4, 5, 2, 7, 3});
    CHECK(dag.topological_order() == Ids{0, 1, 6, 4, 5, 2, 7, 3});  // placed once
  }
}

TEST_CASE("adjacency lists from pairs keep each node's items in the pairs' order") {
  AdjacencyLists lists = AdjacencyLists::from_pairs(4, {{2, 7}, {0, 5}, {2, 1}, {0, 9}, {2, 3}});
  REQUIRE(lists.size() == 4);
  CHECK(ids_of(lists[0]) == Ids{5, 9});
  CHECK(ids_of(lists[1]) == Ids{});
  CHECK(ids_of(lists[2]) == Ids{7, 1, 3});
  CHECK(ids_of(lists[3]) == Ids{});
  CHECK(lists.append(Ids{4, 4}) == 4);
  CHECK(ids_of(lists[4]) == Ids{4, 4});
  CHECK(ids_of(lists[2]) == Ids{7, 1, 3});
}

TEST_CASE("an empty workflow builds an empty DAG") {
  Dag dag = build_ok(workflow({}));
  CHECK(dag.size() == 0);
  CHECK(dag.topological_order().empty());
}

TEST_CASE("a two-task cycle reads like ninja's, at the first task of the cycle") {
  const char* text =
      "version: 1\n"
      "tasks:\n"
      "  a:\n"
      "    needs: [b]\n"
      "  b:\n"
      "    needs: [a]\n";
  Workflow wf = workflow({task("a", {"b"}, {3, 3}), task("b", {"a"}, {5, 3})});
  Error e = build_error(wf);
  CHECK(e.kind == ErrorKind::invalid_workflow);
  CHECK(e.message == "dependency cycle: a -> b -> a");
  CHECK(e.file == "flow.yaml");
  CHECK(e.line == 3);
  CHECK(e.column == 3);
  CHECK(format_diagnostic(e, text) ==
        "flow.yaml:3:3: error: dependency cycle: a -> b -> a\n"
        "    a:\n"
        "    ^\n"
        "  remove one of these needs to break the cycle\n");
}

TEST_CASE("a three-task cycle") {
  Workflow wf = workflow({task("a", {"c"}), task("b", {"a"}), task("c", {"b"})});
  CHECK(build_error(wf).message == "dependency cycle: a -> c -> b -> a");
}

TEST_CASE("a cycle below an acyclic part names only the cycle") {
  Workflow wf = workflow({task("top", {"x"}), task("x", {"y"}), task("y", {"x"}), task("free")});
  Error e = build_error(wf);
  CHECK(e.message == "dependency cycle: x -> y -> x");
}

TEST_CASE("a task that needs itself") {
  Workflow wf = workflow({task("ok"), task("self", {"ok", "self"}, {7, 3})});
  Error e = build_error(wf);
  CHECK(e.message == "dependency cycle: self -> self");
  CHECK(e.line == 7);
}

TEST_CASE("an unknown need is reported at the need") {
  TaskSpec b = task("b", {"a", "nope"}, {4, 3});
  b.need_marks = {{5, 13}, {5, 16}};
  Error e = build_error(workflow({task("a"), b}));
  CHECK(e.kind == ErrorKind::invalid_workflow);
  CHECK(e.message == "task 'b' needs unknown task 'nope'");
  CHECK(e.line == 5);
  CHECK(e.column == 16);
  // Without need marks, at the task.
  Error e2 = build_error(workflow({task("b", {"nope"}, {4, 3})}));
  CHECK(e2.line == 4);
  CHECK(e2.column == 3);
}

TEST_CASE("a 100,000-task chain builds without overflowing the stack") {
  constexpr uint32_t n = 100'000;
  SUBCASE("each task needs the one before") {
    std::vector<TaskSpec> tasks;
    tasks.reserve(n);
    for (uint32_t i = 0; i < n; ++i)
      tasks.push_back(
          task("t" + std::to_string(i), i ? std::vector<std::string>{"t" + std::to_string(i - 1)}
                                          : std::vector<std::string>{}));
    Workflow wf = workflow(std::move(tasks));
    Dag dag = build_ok(wf);
    const Ids& order = dag.topological_order();
    REQUIRE(order.size() == n);
    for (uint32_t i = 0; i < n; i += 9973) CHECK(order[i] == i);
    CHECK(order.back() == n - 1);
    CHECK(dag.is_upstream(0, n - 1));
    CHECK_FALSE(dag.is_upstream(n - 1, 0));
  }
  SUBCASE("each task needs the one after: the search goes 100,000 deep") {
    std::vector<TaskSpec> tasks;
    tasks.reserve(n);
    for (uint32_t i = 0; i < n; ++i)
      tasks.push_back(task("t" + std::to_string(i),
                           i + 1 < n ? std::vector<std::string>{"t" + std::to_string(i + 1)}
                                     : std::vector<std::string>{}));
    Workflow wf = workflow(std::move(tasks));
    Dag dag = build_ok(wf);
    CHECK(dag.topological_order().front() == n - 1);
    CHECK(dag.topological_order().back() == 0);
  }
  SUBCASE("closed into one long cycle") {
    std::vector<TaskSpec> tasks;
    tasks.reserve(n);
    for (uint32_t i = 0; i < n; ++i)
      tasks.push_back(task("t" + std::to_string(i), {"t" + std::to_string((i + 1) % n)}));
    Error e = build_error(workflow(std::move(tasks)));
    CHECK(e.message.starts_with("dependency cycle: t0 -> t1 -> t2 -> "));
    CHECK(e.message.ends_with(" -> t99999 -> t0"));
  }
}

TEST_CASE("ReadyQueue: highest priority first, then lowest sequence") {
  ReadyQueue q;
  CHECK(q.empty());
  q.push(5, 0, 5);
  q.push(2, 0, 2);
  q.push(9, 10, 9);
  q.push(1, -1, 1);
  q.push(7, 10, 3);
  q.push(3, 0, 3);
  CHECK(q.size() == 6);
  Ids popped;
  while (!q.empty()) {
    popped.push_back(q.top());
    q.pop();
  }
  CHECK(popped == Ids{7, 9, 2, 3, 5, 1});
}
