// SqliteRunStore::open on what is not a usable database: missing, newer schema, garbage,
// truncated. Each gives an ErrorKind::state error, never a crash.

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "store/schema.hpp"
#include "store/sqlite_run_store.hpp"
#include "temp_dir.hpp"

namespace {

using namespace wfo;
namespace fs = std::filesystem;

using test::TempDir;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

RunSnapshot run_with_tasks(const std::string& id, int tasks) {
  RunSnapshot s;
  s.run.id = id;
  s.run.workflow = "w";
  s.run.workflow_text = std::string(3000, 'x');
  s.run.started_by = "alice";
  for (int i = 0; i < tasks; ++i) {
    TaskRecord t;
    t.id = "task-" + std::to_string(i);
    s.tasks.push_back(t);
  }
  return s;
}

}  // namespace

TEST_CASE("open without create refuses a missing database") {
  TempDir dir;
  std::string path = dir.path + "/none/state.db";
  auto store = SqliteRunStore::open(path, false);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().kind == ErrorKind::state);
  CHECK(store.error().message == "no state database at '" + path + "'");
  CHECK(store.error().hint == "start a run first, or point --state / WFO_STATE at one");
  CHECK_FALSE(fs::exists(dir.path + "/none"));
}

TEST_CASE("a schema version newer than this wfo's is refused") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  {
    auto store = SqliteRunStore::open(path, true);
    REQUIRE(store.has_value());
    REQUIRE((*store)->create_run(run_with_tasks("r-1", 1)).has_value());
  }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version=99");
  }
  auto store = SqliteRunStore::open(path, false);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().kind == ErrorKind::state);
  CHECK(store.error().message ==
        "state database '" + path + "' has schema version 99; this wfo reads version 4");
  CHECK(store.error().hint == "upgrade wfo, or point --state at another database");
  // Refusing it changed nothing.
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("PRAGMA user_version").getInt() == 99);
  CHECK(db.execAndGet("SELECT COUNT(*) FROM runs").getInt() == 1);
}

TEST_CASE("a new database gets this wfo's schema version") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  REQUIRE(SqliteRunStore::open(path, true).has_value());
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("PRAGMA user_version").getInt() == k_schema_version);
  CHECK(db.execAndGet("PRAGMA page_size").getInt() == 2048);  // issue 7: smaller WAL frames
}

TEST_CASE("a version 1 database is migrated in place, its runs kept") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(schema::k_v1);
    db.exec("PRAGMA user_version=1");
    db.exec(
        "INSERT INTO runs(id, seq, workflow, workflow_file, source_dir, workflow_text, "
        "workflow_hash, params, status, started_at, started_by, max_parallel) VALUES("
        "'old', 1, 'w', '/w/flow.yaml', '/w', 'version: 1', 'h', '{}', 'succeeded', "
        "'2026-11-01T10:00:00.000Z', 'alice', 2)");
    db.exec(
        "INSERT INTO tasks(run_id, task_id, position, status) VALUES('old', 'a', 0, "
        "'succeeded')");
    // Version 1 numbered events across all runs.
    db.exec(
        "INSERT INTO events(id, run_id, at, task_id, attempt, kind) VALUES"
        "(7, 'old', '2026-11-01T10:00:01.000Z', 'a', 1, 'attempt_started'),"
        "(8, 'other', '2026-11-01T10:00:01.500Z', '', 0, 'run_started'),"
        "(9, 'old', '2026-11-01T10:00:02.000Z', 'a', 1, 'task_succeeded')");
  }
  auto store = SqliteRunStore::open(path, false);
  REQUIRE(store.has_value());
  auto old = (*store)->load_run("old");
  REQUIRE(old.has_value());
  CHECK(old->run.status == RunStatus::succeeded);
  CHECK(old->run.dag == "");                      // status falls back to the workflow text
  CHECK(old->run.workflow_text == "version: 1");  // moved to run_texts by version 4
  REQUIRE(old->tasks.size() == 1);
  CHECK(old->tasks[0].status == TaskStatus::succeeded);
  // New runs store their graph next to it.
  RunSnapshot next = run_with_tasks("new", 1);
  next.run.dag = R"([["task-0",[]]])";
  REQUIRE((*store)->create_run(next).has_value());
  CHECK((*store)->load_run("new")->run.dag == next.run.dag);
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("PRAGMA user_version").getInt() == 4);
  // A database made with SQLite's default pages keeps them (only an empty file can change).
  CHECK(db.execAndGet("PRAGMA page_size").getInt() == 4096);
  // Version 4: the texts are in run_texts, for the old run and the new one; runs keeps none.
  CHECK(db.execAndGet("SELECT workflow_text FROM run_texts WHERE run_id='old'").getString() ==
        "version: 1");
  CHECK(db.execAndGet("SELECT dag FROM run_texts WHERE run_id='new'").getString() == next.run.dag);
  CHECK(db.execAndGet("SELECT count(*) FROM runs WHERE workflow_text<>'' OR dag<>'' OR "
                      "subflow_texts<>'{}'")
            .getInt() == 0);
  // Version 3: the old events kept, in order, and a new one after them; no index.
  Transition t;
  t.events.push_back(Event{SystemTime{}, "", 0, "run_resumed", ""});
  REQUIRE((*store)->commit("old", t).has_value());
  auto events = (*store)->events("old");
  REQUIRE(events.has_value());
  std::vector<std::string> kinds;
  for (const Event& e : *events) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<std::string>{"attempt_started", "task_succeeded", "run_resumed"});
  CHECK(db.execAndGet("SELECT count(*) FROM events").getInt() == 4);
  CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE type='index' AND "
                      "tbl_name='events'")
            .getInt() == 0);
}

TEST_CASE("a file that is not a database is a state error") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage += static_cast<char>((i * 7919) % 251);
  write_bytes(path, garbage);
  auto store = SqliteRunStore::open(path, true);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().kind == ErrorKind::state);
  CHECK(store.error().message == "state database '" + path + "': file is not a database");
  CHECK(store.error().hint == "check the file, or point --state / WFO_STATE at another database");
  // The garbage is left as it was.
  std::ifstream in(path, std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(back == garbage);
}

TEST_CASE("a text file is not a database either") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  write_bytes(path, "version: 1\ntasks: {}\n");
  auto store = SqliteRunStore::open(path, false);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().kind == ErrorKind::state);
  CHECK(store.error().message == "state database '" + path + "': file is not a database");
}

TEST_CASE("a truncated database gives state errors, not a crash") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  {
    auto store = SqliteRunStore::open(path, true);
    REQUIRE(store.has_value());
    for (int r = 0; r < 20; ++r)
      REQUIRE((*store)->create_run(run_with_tasks("r-" + std::to_string(r), 50)).has_value());
  }
  // The last connection closed: the WAL is checkpointed into the main file.
  auto size = fs::file_size(path);
  REQUIRE(size > 4 * 4096);
  for (uintmax_t keep : {size / 2, uintmax_t{4096 * 3}, uintmax_t{100}}) {
    CAPTURE(keep);
    fs::resize_file(path, keep);
    auto store = SqliteRunStore::open(path, false);
    if (!store) {
      CHECK(store.error().kind == ErrorKind::state);
      CHECK(store.error().message.starts_with("state database '" + path + "': "));
      continue;
    }
    // Opening may succeed while the first pages are intact; reading what is gone fails.
    bool any_error = false;
    for (int r = 0; r < 20; ++r) {
      auto run = (*store)->load_run("r-" + std::to_string(r));
      if (!run && run.error().kind == ErrorKind::state) any_error = true;
    }
    auto list = (*store)->list_runs(std::nullopt, 100);
    if (!list) {
      CHECK(list.error().kind == ErrorKind::state);
      any_error = true;
    } else if (list->size() < 20) {
      any_error = true;
    }
    CHECK(any_error);
  }
}
