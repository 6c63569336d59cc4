// SqliteRunStore's commit paths (store/commit.cpp): deferrable commits held back until the
// next commit, and the group-commit writer of `--durability full` (tickets, order, errors).

#include <doctest/doctest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "error_text.hpp"
#include "store/sqlite_run_store.hpp"
#include "temp_dir.hpp"

namespace {

using namespace wfo;
namespace fs = std::filesystem;

using test::TempDir;

const SystemTime k_t0 = SystemTime{std::chrono::milliseconds{1'795'341'600'123}};

std::unique_ptr<SqliteRunStore> open_store(const std::string& path) {
  auto store = SqliteRunStore::open(path, true);
  REQUIRE_MESSAGE(store.has_value(), wfo::test::error_text(store));
  return std::move(*store);
}

void create(SqliteRunStore& store, const std::string& id, int tasks) {
  RunSnapshot s;
  s.run.id = id;
  s.run.workflow = "w";
  s.run.started_at = k_t0;
  for (int i = 0; i < tasks; ++i) {
    TaskRecord t;
    t.id = "t" + std::to_string(i);
    s.tasks.push_back(t);
  }
  REQUIRE(store.create_run(s).has_value());
}

/// A fresh state database at `path`, open in `store`; each test case creates its run.
struct StoreFixture {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  std::unique_ptr<SqliteRunStore> store = open_store(path);
};

// The start record of task `task`, as the engine writes it when it launches an attempt.
Transition started(const std::string& task, Sync sync) {
  Transition t;
  TaskRecord r;
  r.id = task;
  r.status = TaskStatus::running;
  t.tasks.push_back(r);
  AttemptRecord a;
  a.task_id = task;
  a.number = 1;
  a.started_at = k_t0;
  t.attempts.push_back(a);
  t.events.push_back(Event{k_t0, task, 1, "task_started", "attempt 1"});
  t.sync = sync;
  t.deferrable = true;
  return t;
}

Transition succeeded(const std::string& task, Sync sync) {
  Transition t;
  TaskRecord r;
  r.id = task;
  r.status = TaskStatus::succeeded;
  r.ended_at = k_t0 + std::chrono::milliseconds{1};
  t.tasks.push_back(r);
  t.events.push_back(Event{k_t0, task, 1, "task_succeeded", ""});
  t.sync = sync;
  return t;
}

// What another connection sees: the status of each task and the number of events.
std::string seen(const std::string& path, const std::string& run, int tasks) {
  auto other = open_store(path);
  auto snap = other->load_run(run);
  REQUIRE(snap.has_value());
  std::string out;
  for (int i = 0; i < tasks; ++i) out += std::string(to_string(snap->tasks[i].status)) + " ";
  return out + std::to_string(other->events(run)->size());
}

}  // namespace

TEST_CASE_FIXTURE(StoreFixture,
                  "a task's row is updated in place, or inserted when it is not there") {
  // write_task tries an UPDATE by key first and falls back to the upsert when it changed no
  // row: a task the run was not created with is still written, after the others.
  create(*store, "r", 1);
  REQUIRE(store->commit("r", succeeded("t0", Sync::normal)).has_value());
  REQUIRE(store->commit("r", succeeded("late", Sync::normal)).has_value());
  SQLite::Database db(path);
  SQLite::Statement st(db,
                       "SELECT task_id, position, status FROM tasks WHERE run_id='r' "
                       "ORDER BY task_id");
  std::string rows;
  while (st.executeStep())
    rows += st.getColumn(0).getString() + ":" + st.getColumn(1).getString() + ":" +
            st.getColumn(2).getString() + " ";
  CHECK(rows == "late:0:succeeded t0:0:succeeded ");
}

TEST_CASE_FIXTURE(StoreFixture,
                  "a deferrable commit waits for the next commit, and goes in its transaction") {
  create(*store, "r", 2);
  REQUIRE(store->commit("r", started("t0", Sync::normal)).has_value());
  CHECK(seen(path, "r", 2) == "pending pending 0");
  REQUIRE(store->commit("r", started("t1", Sync::normal)).has_value());
  REQUIRE(store->commit("r", succeeded("t0", Sync::normal)).has_value());
  CHECK(seen(path, "r", 2) == "succeeded running 3");
  SUBCASE("an empty commit writes what is held") {
    REQUIRE(store->commit("r", started("t0", Sync::normal)).has_value());
    REQUIRE(store->commit("r", Transition{}).has_value());
    CHECK(seen(path, "r", 2) == "running running 4");
  }
  SUBCASE("closing the store writes what is held") {
    REQUIRE(store->commit("r", started("t0", Sync::normal)).has_value());
    store.reset();
    CHECK(seen(path, "r", 2) == "running running 4");
  }
}

TEST_CASE_FIXTURE(
    StoreFixture,
    "group commit: tickets in order, durable after wait, a notice on the descriptor") {
  create(*store, "r", 3);
  REQUIRE(store->commit("r", started("t0", Sync::durable)).has_value());  // starts the writer
  auto a = store->commit_async("r", succeeded("t0", Sync::durable));
  REQUIRE(a.has_value());
  REQUIRE(store->commit("r", started("t1", Sync::durable)).has_value());
  auto b = store->commit_async("r", succeeded("t1", Sync::durable));
  REQUIRE(b.has_value());
  CHECK(*a < *b);
  REQUIRE(store->wait_durable(*b).has_value());
  CHECK(*store->durable_ticket() >= *b);
  pollfd p{store->durable_fd(), POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 1);
  CHECK(seen(path, "r", 3) == "succeeded succeeded pending 4");
  // A blocking commit returns once written; so does one that is not durable itself.
  REQUIRE(store->commit("r", succeeded("t2", Sync::normal)).has_value());
  CHECK(seen(path, "r", 3) == "succeeded succeeded succeeded 5");
  // Reads wait for what is queued.
  REQUIRE(store->commit("r", started("t2", Sync::durable)).has_value());
  CHECK(store->events("r")->size() == 6);
}

TEST_CASE_FIXTURE(StoreFixture,
                  "group commit: a start record waits for the next batch, or an empty commit") {
  create(*store, "r", 2);
  REQUIRE(store->commit("r", started("t0", Sync::durable)).has_value());  // starts the writer
  // Nothing wakes the writer for it: however long it waits, the start is not written.
  ::usleep(50'000);
  CHECK(seen(path, "r", 2) == "pending pending 0");
  SUBCASE("with the attempt's end: both in one transaction") {
    REQUIRE(store->commit("r", succeeded("t0", Sync::durable)).has_value());
    CHECK(seen(path, "r", 2) == "succeeded pending 2");
  }
  SUBCASE("an empty commit wakes the writer without waiting; a wait for its ticket too") {
    Transition empty;
    empty.sync = Sync::durable;
    REQUIRE(store->commit("r", empty).has_value());
    for (int i = 0; i < 500 && seen(path, "r", 2) != "running pending 1"; ++i) ::usleep(10'000);
    CHECK(seen(path, "r", 2) == "running pending 1");
    auto ticket = store->commit_async("r", started("t1", Sync::durable));
    REQUIRE(ticket.has_value());
    REQUIRE(store->wait_durable(*ticket).has_value());
    CHECK(seen(path, "r", 2) == "running running 2");
  }
}

TEST_CASE_FIXTURE(StoreFixture, "group commit: a failed batch fails it and every later commit") {
  create(*store, "r", 2);
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec(
        "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.kind='boom' "
        "BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
  }
  Transition bad = succeeded("t0", Sync::durable);
  bad.events.push_back(Event{k_t0, "t0", 1, "boom", ""});
  auto ticket = store->commit_async("r", bad);
  REQUIRE(ticket.has_value());
  auto waited = store->wait_durable(*ticket);
  REQUIRE_FALSE(waited.has_value());
  CHECK(waited.error().message == "state database '" + path + "': constraint failed");
  CHECK_FALSE(store->durable_ticket().has_value());
  CHECK_FALSE(store->commit("r", succeeded("t1", Sync::durable)).has_value());
  CHECK(seen(path, "r", 2) == "pending pending 0");
}

TEST_CASE_FIXTURE(
    StoreFixture,
    "a batch writes a row once: the last record of it, with what only the first said") {
  create(*store, "r", 1);
  // t0's start is held and goes in one transaction with its end; the end's records carry the
  // attempt's start time, kind and delay, which only an insert sets.
  Transition start = started("t0", Sync::normal);
  start.attempts[0].kind = AttemptKind::fallback;
  start.attempts[0].delay_ms = 250;
  start.attempts[0].delay_reason = "backoff";
  REQUIRE(store->commit("r", start).has_value());
  Transition end = succeeded("t0", Sync::normal);
  AttemptRecord done = start.attempts[0];
  done.status = AttemptStatus::succeeded;
  done.ended_at = k_t0 + std::chrono::milliseconds{7};
  done.exit_code = 0;
  end.attempts.push_back(done);
  // Two for_each instances start, held, and the first ends in the same batch: each is
  // appended at the position its first insert takes, so they keep their order.
  auto instance = [](const std::string& id, TaskStatus status) {
    Transition t;
    TaskRecord r;
    r.id = id;
    r.status = status;
    r.item = nlohmann::json(id);
    t.tasks.push_back(r);
    t.deferrable = status == TaskStatus::running;
    return t;
  };
  REQUIRE(store->commit("r", instance("each[1]", TaskStatus::running)).has_value());
  REQUIRE(store->commit("r", instance("each[0]", TaskStatus::running)).has_value());
  Transition both = end;
  both.tasks.push_back(instance("each[1]", TaskStatus::succeeded).tasks[0]);
  REQUIRE(store->commit("r", both).has_value());
  auto other = open_store(path);
  auto snap = other->load_run("r");
  REQUIRE(snap.has_value());
  REQUIRE(snap->tasks.size() == 3);
  CHECK(snap->tasks[0].status == TaskStatus::succeeded);
  REQUIRE(snap->tasks[0].attempts.size() == 1);
  const AttemptRecord& a = snap->tasks[0].attempts[0];
  CHECK(a.status == AttemptStatus::succeeded);
  CHECK(a.kind == AttemptKind::fallback);
  CHECK(a.started_at == k_t0);
  CHECK(a.ended_at == k_t0 + std::chrono::milliseconds{7});
  CHECK(a.delay_ms == 250);
  CHECK(a.delay_reason == "backoff");
  CHECK(snap->tasks[1].id == "each[1]");
  CHECK(snap->tasks[1].status == TaskStatus::succeeded);
  CHECK(snap->tasks[2].id == "each[0]");
  CHECK(snap->tasks[2].status == TaskStatus::running);
  // Every event is kept, in order.
  auto events = other->events("r");
  REQUIRE(events.has_value());
  REQUIRE(events->size() == 2);
  CHECK((*events)[0].kind == "task_started");
  CHECK((*events)[1].kind == "task_succeeded");
}

TEST_CASE_FIXTURE(StoreFixture, "checkpoints run on the store's own thread while it is open") {
  // checkpoint_in_background: the committing connection no longer checkpoints; a thread
  // copies the WAL into the database once it has grown by `pages`. Only a checkpoint
  // writes the database file itself in WAL mode, so its size tells.
  create(*store, "r", 1);
  REQUIRE(store->checkpoint_in_background(20).has_value());
  auto db_size = [&] { return fs::file_size(path); };
  const auto before = db_size();
  for (int k = 0; k < 60; ++k) {
    REQUIRE(store->commit("r", started("t0", Sync::normal)).has_value());
    REQUIRE(store->commit("r", succeeded("t0", Sync::normal)).has_value());
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (db_size() <= before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(db_size() > before);
  // What was written stays readable, and closing the store ends the thread.
  CHECK(seen(path, "r", 1) == "succeeded 120");
  store.reset();
  CHECK(seen(path, "r", 1) == "succeeded 120");
}
