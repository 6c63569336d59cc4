// What the store keeps for issue 5: the texts of a run's sub-workflow files, and for_each
// instances made during a run, with their elements, listed after the tasks the run began with.

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/sqlite_run_store.hpp"
#include "temp_dir.hpp"

namespace {

using namespace wfo;
namespace fs = std::filesystem;

using test::TempDir;

TaskRecord task(std::string id, TaskStatus status = TaskStatus::pending) {
  TaskRecord t;
  t.id = std::move(id);
  t.status = status;
  return t;
}

}  // namespace

TEST_CASE("store: sub-workflow texts and for_each instances survive a reload") {
  TempDir dir;
  auto opened = SqliteRunStore::open(dir.path + "/state.db", true);
  REQUIRE(opened.has_value());
  SqliteRunStore& store = **opened;
  RunSnapshot s;
  s.run.id = "r-1";
  s.run.workflow = "flow";
  s.run.workflow_file = "/w/flow.yaml";
  s.run.source_dir = "/w";
  s.run.workflow_text = "version: 1\n";
  s.run.subflow_texts = {{"/w/sub/deploy.yaml", "version: 1\ntasks: {a: {run: 'x'}}\n"}};
  s.run.started_by = "alice";
  s.tasks = {task("list"), task("p"), task("after")};
  REQUIRE(store.create_run(s).has_value());

  Transition t;
  for (int k = 0; k < 2; ++k) {
    TaskRecord instance = task("p[" + std::to_string(k) + "]");
    instance.item = nlohmann::json{{"name", k == 0 ? "a" : "b"}, {"n", k}};
    t.tasks.push_back(instance);
  }
  REQUIRE(store.commit("r-1", t).has_value());
  // A later write of the instance, as the engine makes them, carries no element: kept.
  Transition later;
  later.tasks.push_back(task("p[1]", TaskStatus::succeeded));
  REQUIRE(store.commit("r-1", later).has_value());

  auto loaded = store.load_run("r-1");
  REQUIRE(loaded.has_value());
  CHECK(loaded->run.subflow_texts == s.run.subflow_texts);
  REQUIRE(loaded->tasks.size() == 5);
  std::vector<std::string> ids;
  for (const auto& r : loaded->tasks) ids.push_back(r.id);
  CHECK(ids == std::vector<std::string>{"list", "p", "after", "p[0]", "p[1]"});
  CHECK(!loaded->tasks[0].item);
  CHECK(loaded->tasks[3].item == nlohmann::json{{"name", "a"}, {"n", 0}});
  CHECK(loaded->tasks[4].item == nlohmann::json{{"name", "b"}, {"n", 1}});
  CHECK(loaded->tasks[4].status == TaskStatus::succeeded);

  // Appends go on after the last, in this store, in a second run, and in a store opened
  // later (a resume's) that counts from what is there; a write again keeps its place.
  s.run.id = "r-2";
  s.tasks = {task("x")};
  REQUIRE(store.create_run(s).has_value());
  Transition other;
  other.tasks.push_back(task("q[0]"));
  other.tasks.back().item = nlohmann::json(0);
  REQUIRE(store.commit("r-2", other).has_value());
  Transition again;
  for (const char* id : {"p[2]", "p[0]"}) {
    again.tasks.push_back(task(id));
    again.tasks.back().item = nlohmann::json(2);
  }
  REQUIRE(store.commit("r-1", again).has_value());
  auto reopened = SqliteRunStore::open(dir.path + "/state.db", false);
  REQUIRE(reopened.has_value());
  Transition resumed;
  resumed.tasks.push_back(task("p[3]"));
  resumed.tasks.back().item = nlohmann::json(3);
  REQUIRE((*reopened)->commit("r-1", resumed).has_value());
  auto order = [&](const std::string& run) {
    std::vector<std::string> ids;
    auto snapshot = (*reopened)->load_run(run);
    for (const auto& r : snapshot->tasks) ids.push_back(r.id);
    return ids;
  };
  CHECK(order("r-1") ==
        std::vector<std::string>{"list", "p", "after", "p[0]", "p[1]", "p[2]", "p[3]"});
  CHECK(order("r-2") == std::vector<std::string>{"x", "q[0]"});
}
