// SqliteRunStore against a real database in a temporary folder: round trips of every field,
// upserts, atomic commits seen from a second connection, listing, external changes and gate
// decisions.

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "error_text.hpp"
#include "store/sqlite_run_store.hpp"
#include "temp_dir.hpp"

namespace {

using namespace wfo;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

using test::TempDir;

TaskRecord task(std::string id, TaskStatus status) {
  TaskRecord t;
  t.id = std::move(id);
  t.status = status;
  return t;
}

// The newest run's id, or "(none)"; REQUIREs that the query worked.
std::string latest(SqliteRunStore& store) {
  auto id = store.latest_run_id();
  REQUIRE(id.has_value());
  return id->value_or("(none)");
}

SystemTime at_ms(int64_t ms) {
  return SystemTime{std::chrono::milliseconds{ms}};
}
const SystemTime k_t0 = at_ms(1'795'341'600'123);  // 2026-11-22T10:00:00.123Z

std::unique_ptr<SqliteRunStore> open_store(const std::string& path) {
  auto store = SqliteRunStore::open(path, true);
  REQUIRE_MESSAGE(store.has_value(), wfo::test::error_text(store));
  return std::move(*store);
}

RunSnapshot new_run(const std::string& id, std::vector<std::string> task_ids = {"a", "b"}) {
  RunSnapshot s;
  RunRecord& r = s.run;
  r.id = id;
  r.workflow = "feature-delivery";
  r.workflow_file = "/w/flow.yaml";
  r.source_dir = "/w";
  r.workflow_text = "version: 1\ntasks:\n  a: {run: 'echo \"hi\"'}\n";
  r.workflow_hash = "sha256:abc";
  r.params = {{"feature", "login"}, {"env", "staging"}};
  r.status = RunStatus::running;
  r.started_at = k_t0;
  r.started_by = "alice";
  r.max_parallel = 4;
  r.deadline = k_t0 + 2h;
  for (const auto& t : task_ids) s.tasks.push_back(task(t, TaskStatus::pending));
  return s;
}

AttemptRecord full_attempt() {
  AttemptRecord a;
  a.task_id = "a";
  a.number = 2;
  a.kind = AttemptKind::fallback;
  a.status = AttemptStatus::failed;
  a.handle = "pgid:4242";
  a.pid = 4242;
  a.started_at = k_t0 + 1s;
  a.ended_at = k_t0 + 3s;
  a.exit_code = 75;
  a.signal = 0;
  a.reason = "exit code 75";
  a.log_path = "/s/runs/r-1/a.2.log";
  a.delay_ms = 1000;
  a.delay_reason = "exit code 75";
  a.usage = {12, 34, 5678};
  a.outputs = {{"spec_path", "api.yaml"}, {"multi", "x\ny"}};
  return a;
}

GateRecord full_gate() {
  GateRecord g;
  g.task_id = "b";
  g.when = "after";
  g.status = GateStatus::waiting;
  g.message = "approve 'b'?";
  g.approvers = {"alice", "bob"};
  g.min_approvals = 2;
  g.prevent_self_approval = true;
  g.created_at = k_t0 + 5s;
  g.deadline = k_t0 + 24h;
  g.on_timeout = "approve";
  g.round = 1;
  return g;
}

// A decide function that approves the gate of `task` as `user`, like decide_gate does.
auto approve_as(std::string user, std::string task) {
  return
      [user, task](const RunRecord&, const std::vector<GateRecord>& gates) -> Result<GateUpdate> {
        for (const auto& g : gates) {
          if (g.task_id != task) continue;
          GateUpdate u;
          u.gate = g;
          u.decision = DecisionRecord{user, true, k_t0 + 1min, "lgtm", {{"k", "v"}}};
          u.gate.status = GateStatus::approved;
          u.gate.decided_by = user;
          u.gate.decided_at = k_t0 + 1min;
          u.gate.comment = "lgtm";
          u.event = Event{k_t0 + 1min, task, 0, "gate_approved", "by " + user};
          return u;
        }
        return fail(ErrorKind::usage, "no gate");
      };
}

}  // namespace

TEST_CASE("open creates the folder 0700 and the file 0600") {
  TempDir dir;
  std::string path = dir.path + "/deep/state/state.db";
  auto store = open_store(path);
  struct stat st {};
  REQUIRE(::stat((dir.path + "/deep/state").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  // SQLite's -wal file inherits the database file's mode.
  REQUIRE(store->create_run(new_run("r-1")).has_value());
  if (::stat((path + "-wal").c_str(), &st) == 0) CHECK((st.st_mode & 07777) == 0600);
  // Opening again reads the same database.
  store.reset();
  auto again = open_store(path);
  CHECK(latest(*again) == "r-1");
}

TEST_CASE("create_run then load_run gives back every field") {
  TempDir dir;
  auto store = open_store(dir.path + "/state.db");
  RunSnapshot s = new_run("r-1", {"zeta", "alpha", "mid"});
  s.tasks[1].status = TaskStatus::succeeded;
  s.tasks[1].budget_base = 3;
  s.tasks[1].reason = "why";
  s.tasks[1].ended_at = k_t0 + 9s;
  s.tasks[1].next_attempt_at = k_t0 + 10s;
  s.tasks[1].finish_seq = 7;
  s.run.dag = R"([["zeta",[]],["alpha",[0]]])";
  REQUIRE(store->create_run(s).has_value());
  auto loaded = store->load_run("r-1");
  REQUIRE(loaded.has_value());
  const RunRecord& r = loaded->run;
  CHECK(r.id == "r-1");
  CHECK(r.workflow == "feature-delivery");
  CHECK(r.workflow_file == "/w/flow.yaml");
  CHECK(r.source_dir == "/w");
  CHECK(r.workflow_text == s.run.workflow_text);
  CHECK(r.workflow_hash == "sha256:abc");
  CHECK(r.params == s.run.params);
  CHECK(r.status == RunStatus::running);
  CHECK(r.started_at == k_t0);
  CHECK(r.ended_at == std::nullopt);
  CHECK(r.started_by == "alice");
  CHECK(r.reason == "");
  CHECK(r.max_parallel == 4);
  CHECK(r.deadline == k_t0 + 2h);
  CHECK_FALSE(r.cancel_requested);
  CHECK(r.dag == s.run.dag);
  // Tasks come back in the order given, not sorted.
  REQUIRE(loaded->tasks.size() == 3);
  CHECK(loaded->tasks[0].id == "zeta");
  CHECK(loaded->tasks[1].id == "alpha");
  CHECK(loaded->tasks[2].id == "mid");
  CHECK(loaded->tasks[0].status == TaskStatus::pending);
  const TaskRecord& t = loaded->tasks[1];
  CHECK(t.status == TaskStatus::succeeded);
  CHECK(t.budget_base == 3);
  CHECK(t.reason == "why");
  CHECK(t.ended_at == k_t0 + 9s);
  CHECK(t.next_attempt_at == k_t0 + 10s);
  CHECK(t.finish_seq == 7);
  CHECK(t.attempts.empty());
  CHECK(loaded->gates.empty());
  // load_run_record gives the run without the text.
  auto record = store->load_run_record("r-1");
  REQUIRE(record.has_value());
  CHECK(record->workflow_text == "");
  CHECK(record->params == s.run.params);
  // load_run without texts (a resume has read them already): the same state, no texts.
  auto lean = store->load_run("r-1", false);
  REQUIRE(lean.has_value());
  CHECK(lean->run.workflow_text == "");
  CHECK(lean->run.subflow_texts == nlohmann::json::object());
  CHECK(lean->run.dag == "");
  CHECK(lean->run.workflow_hash == "sha256:abc");
  REQUIRE(lean->tasks.size() == 3);
  CHECK(lean->tasks[1].id == "alpha");
  CHECK(lean->tasks[1].status == TaskStatus::succeeded);
  CHECK(lean->tasks[1].finish_seq == 7);
}

TEST_CASE("commit writes the run, tasks, attempts, gates and events") {
  TempDir dir;
  auto store = open_store(dir.path + "/state.db");
  REQUIRE(store->create_run(new_run("r-1")).has_value());
  Transition t;
  RunRecord run = new_run("r-1").run;
  run.status = RunStatus::failed;
  run.ended_at = k_t0 + 1h;
  run.reason = "task failed: a";
  run.deadline.reset();
  run.cancel_requested = true;
  t.run = run;
  TaskRecord failed_a = task("a", TaskStatus::failed);
  failed_a.budget_base = 1;
  failed_a.reason = "exit code 75";
  failed_a.ended_at = k_t0 + 3s;
  t.tasks.push_back(failed_a);
  t.attempts.push_back(full_attempt());
  t.gates.push_back(full_gate());
  t.events.push_back(Event{k_t0 + 3s, "a", 2, "attempt_failed", "exit code 75"});
  t.events.push_back(Event{k_t0 + 4s, "", 0, "run_failed", "task failed: a"});
  t.sync = Sync::durable;
  REQUIRE(store->commit("r-1", t).has_value());

  auto loaded = store->load_run("r-1");
  REQUIRE(loaded.has_value());
  CHECK(loaded->run.status == RunStatus::failed);
  CHECK(loaded->run.ended_at == k_t0 + 1h);
  CHECK(loaded->run.reason == "task failed: a");
  CHECK(loaded->run.deadline == std::nullopt);
  CHECK(loaded->run.cancel_requested);
  // Fields a commit does not write stay as created.
  CHECK(loaded->run.workflow == "feature-delivery");
  CHECK(loaded->run.started_by == "alice");
  const TaskRecord& a = loaded->tasks[0];
  CHECK(a.status == TaskStatus::failed);
  CHECK(a.budget_base == 1);
  CHECK(a.reason == "exit code 75");
  REQUIRE(a.attempts.size() == 1);
  const AttemptRecord& got = a.attempts[0];
  const AttemptRecord want = full_attempt();
  CHECK(got.task_id == want.task_id);
  CHECK(got.number == want.number);
  CHECK(got.kind == want.kind);
  CHECK(got.status == want.status);
  CHECK(got.handle == want.handle);
  CHECK(got.pid == want.pid);
  CHECK(got.started_at == want.started_at);
  CHECK(got.ended_at == want.ended_at);
  CHECK(got.exit_code == want.exit_code);
  CHECK(got.signal == want.signal);
  CHECK(got.reason == want.reason);
  CHECK(got.log_path == want.log_path);
  CHECK(got.delay_ms == want.delay_ms);
  CHECK(got.delay_reason == want.delay_reason);
  CHECK(got.usage.cpu_user_ms == 12);
  CHECK(got.usage.cpu_system_ms == 34);
  CHECK(got.usage.max_rss_kb == 5678);
  CHECK(got.outputs == want.outputs);
  CHECK(loaded->tasks[1].status == TaskStatus::pending);
  REQUIRE(loaded->gates.size() == 1);
  const GateRecord& g = loaded->gates[0];
  const GateRecord wg = full_gate();
  CHECK(g.task_id == wg.task_id);
  CHECK(g.when == wg.when);
  CHECK(g.status == wg.status);
  CHECK(g.message == wg.message);
  CHECK(g.approvers == wg.approvers);
  CHECK(g.min_approvals == 2);
  CHECK(g.prevent_self_approval);
  CHECK(g.created_at == wg.created_at);
  CHECK(g.deadline == wg.deadline);
  CHECK(g.on_timeout == "approve");
  CHECK(g.round == 1);
  CHECK(g.decided_by == std::nullopt);
  CHECK(g.decided_at == std::nullopt);
  CHECK(g.decisions.empty());
  auto events = store->events("r-1");
  REQUIRE(events.has_value());
  REQUIRE(events->size() == 2);
  CHECK((*events)[0].at == k_t0 + 3s);
  CHECK((*events)[0].task_id == "a");
  CHECK((*events)[0].attempt == 2);
  CHECK((*events)[0].kind == "attempt_failed");
  CHECK((*events)[0].detail == "exit code 75");
  CHECK((*events)[1].kind == "run_failed");
}

TEST_CASE("commit upserts: a second commit of the same attempt, task and gate updates them") {
  TempDir dir;
  auto store = open_store(dir.path + "/state.db");
  REQUIRE(store->create_run(new_run("r-1")).has_value());
  AttemptRecord a;
  a.task_id = "a";
  a.number = 1;
  a.status = AttemptStatus::running;
  a.handle = "pgid:1";
  a.started_at = k_t0;
  Transition started;
  started.tasks.push_back(task("a", TaskStatus::running));
  started.attempts.push_back(a);
  started.gates.push_back(full_gate());
  REQUIRE(store->commit("r-1", started).has_value());
  a.status = AttemptStatus::succeeded;
  a.ended_at = k_t0 + 2s;
  a.exit_code = 0;
  a.outputs = {{"x", "1"}};
  GateRecord g = full_gate();
  g.status = GateStatus::rejected;
  g.decided_by = "bob";
  g.decided_at = k_t0 + 1min;
  g.comment = "no";
  Transition done;
  TaskRecord succeeded_a = task("a", TaskStatus::succeeded);
  succeeded_a.ended_at = k_t0 + 2s;
  succeeded_a.finish_seq = 1;
  done.tasks.push_back(succeeded_a);
  done.attempts.push_back(a);
  done.gates.push_back(g);
  REQUIRE(store->commit("r-1", done).has_value());
  auto loaded = store->load_run("r-1");
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->tasks.size() == 2);
  CHECK(loaded->tasks[0].id == "a");  // keeps its position
  CHECK(loaded->tasks[0].status == TaskStatus::succeeded);
  CHECK(loaded->tasks[0].finish_seq == 1);
  REQUIRE(loaded->tasks[0].attempts.size() == 1);
  CHECK(loaded->tasks[0].attempts[0].status == AttemptStatus::succeeded);
  CHECK(loaded->tasks[0].attempts[0].exit_code == 0);
  CHECK(loaded->tasks[0].attempts[0].ended_at == k_t0 + 2s);
  CHECK(loaded->tasks[0].attempts[0].outputs == nlohmann::json{{"x", "1"}});
  REQUIRE(loaded->gates.size() == 1);
  CHECK(loaded->gates[0].status == GateStatus::rejected);
  CHECK(loaded->gates[0].decided_by == std::optional<std::string>("bob"));
  CHECK(loaded->gates[0].comment == "no");
  // A second attempt is added beside the first, in number order.
  AttemptRecord a2 = a;
  a2.number = 2;
  Transition second;
  second.attempts.push_back(a2);
  REQUIRE(store->commit("r-1", second).has_value());
  auto again = store->load_run("r-1");
  REQUIRE(again->tasks[0].attempts.size() == 2);
  CHECK(again->tasks[0].attempts[1].number == 2);
}

TEST_CASE("a commit is seen whole by another connection") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  auto writer = open_store(path);
  auto reader = open_store(path);
  REQUIRE(writer->create_run(new_run("r-1")).has_value());
  REQUIRE(reader->load_run("r-1").has_value());
  Transition t;
  t.tasks.push_back(task("a", TaskStatus::succeeded));
  t.tasks.push_back(task("b", TaskStatus::running));
  t.attempts.push_back(full_attempt());
  t.gates.push_back(full_gate());
  t.events.push_back(Event{k_t0, "a", 1, "task_succeeded", ""});
  REQUIRE(writer->commit("r-1", t).has_value());
  auto seen = reader->load_run("r-1");
  REQUIRE(seen.has_value());
  CHECK(seen->tasks[0].status == TaskStatus::succeeded);
  CHECK(seen->tasks[1].status == TaskStatus::running);
  CHECK(seen->tasks[0].attempts.size() == 1);
  CHECK(seen->gates.size() == 1);
  CHECK(reader->events("r-1")->size() == 1);
}

TEST_CASE("a commit that fails half way writes nothing, and the store stays usable") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  auto writer = open_store(path);
  auto reader = open_store(path);
  REQUIRE(writer->create_run(new_run("r-1")).has_value());
  // A trigger in the database makes the last write of the transaction fail.
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec(
        "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.kind='boom' "
        "BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
  }
  Transition t;
  RunRecord run = new_run("r-1").run;
  run.status = RunStatus::failed;
  t.run = run;
  t.tasks.push_back(task("a", TaskStatus::failed));
  t.attempts.push_back(full_attempt());
  t.gates.push_back(full_gate());
  t.events.push_back(Event{k_t0, "a", 1, "fine", ""});
  t.events.push_back(Event{k_t0, "a", 1, "boom", ""});
  auto failed = writer->commit("r-1", t);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().kind == ErrorKind::state);
  CHECK(failed.error().message == "state database '" + path + "': constraint failed");
  for (SqliteRunStore* store : {reader.get(), writer.get()}) {
    auto seen = store->load_run("r-1");
    REQUIRE(seen.has_value());
    CHECK(seen->run.status == RunStatus::running);
    CHECK(seen->tasks[0].status == TaskStatus::pending);
    CHECK(seen->tasks[0].attempts.empty());
    CHECK(seen->gates.empty());
    CHECK(store->events("r-1")->empty());
  }
  // The same store commits again afterwards (its statements were not left mid-step).
  t.events.pop_back();
  auto ok = writer->commit("r-1", t);
  REQUIRE_MESSAGE(ok.has_value(), wfo::test::error_text(ok));
  CHECK(reader->load_run("r-1")->run.status == RunStatus::failed);
  CHECK(reader->events("r-1")->size() == 1);
}

TEST_CASE("create_run refuses a duplicate id; load_run an unknown one") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  auto store = open_store(path);
  REQUIRE(store->create_run(new_run("r-1")).has_value());
  RunSnapshot other = new_run("r-1", {"x"});
  other.run.workflow = "other";
  auto dup = store->create_run(other);
  REQUIRE_FALSE(dup.has_value());
  CHECK(dup.error().kind == ErrorKind::usage);
  CHECK(dup.error().message == "a run with id 'r-1' already exists");
  CHECK(dup.error().hint == "choose another --run-id, or resume it with 'wfo resume r-1'");
  // The first run is untouched.
  auto first = store->load_run("r-1");
  REQUIRE(first.has_value());
  CHECK(first->run.workflow == "feature-delivery");
  CHECK(first->tasks.size() == 2);

  auto unknown = store->load_run("nope");
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().kind == ErrorKind::usage);
  CHECK(unknown.error().message == "no run 'nope' in " + path);
  CHECK(unknown.error().hint == "list runs with 'wfo list'");
  auto unknown_record = store->load_run_record("nope");
  REQUIRE_FALSE(unknown_record.has_value());
  CHECK(unknown_record.error().message == "no run 'nope' in " + path);
}

TEST_CASE("list_runs: newest first, filtered by status, limited; latest_run_id") {
  TempDir dir;
  auto store = open_store(dir.path + "/state.db");
  CHECK(latest(*store) == "(none)");
  CHECK(store->list_runs(std::nullopt, 10)->empty());
  // Ids that sort the other way round from creation: the order is creation order.
  for (const char* id : {"r-c", "r-b", "r-a"}) REQUIRE(store->create_run(new_run(id)).has_value());
  Transition failed;
  RunRecord run = new_run("r-b").run;
  run.status = RunStatus::failed;
  failed.run = run;
  REQUIRE(store->commit("r-b", failed).has_value());
  auto ids = [](const std::vector<RunRecord>& runs) {
    std::vector<std::string> out;
    for (const auto& r : runs) out.push_back(r.id);
    return out;
  };
  auto all = store->list_runs(std::nullopt, 10);
  REQUIRE(all.has_value());
  CHECK(ids(*all) == std::vector<std::string>{"r-a", "r-b", "r-c"});
  CHECK((*all)[0].workflow_text == "");  // lists leave the text out
  CHECK(ids(*store->list_runs(RunStatus::running, 10)) == std::vector<std::string>{"r-a", "r-c"});
  CHECK(ids(*store->list_runs(RunStatus::failed, 10)) == std::vector<std::string>{"r-b"});
  CHECK(store->list_runs(RunStatus::succeeded, 10)->empty());
  CHECK(ids(*store->list_runs(std::nullopt, 2)) == std::vector<std::string>{"r-a", "r-b"});
  CHECK(latest(*store) == "r-a");
}

TEST_CASE("poll_external reports only other connections' changes") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  auto driver = open_store(path);
  auto other = open_store(path);
  REQUIRE(driver->create_run(new_run("r-1")).has_value());
  Transition t;
  t.gates.push_back(full_gate());
  REQUIRE(driver->commit("r-1", t).has_value());
  // The first poll has nothing to compare with: it reports the current state.
  auto first = driver->poll_external("r-1");
  REQUIRE(first.has_value());
  REQUIRE(first->has_value());
  CHECK_FALSE((*first)->cancel_requested);
  CHECK((*first)->gates.size() == 1);
  auto nothing = driver->poll_external("r-1");
  REQUIRE(nothing.has_value());
  CHECK_FALSE(nothing->has_value());
  // The driver's own commits are not external changes.
  Transition own;
  own.events.push_back(Event{k_t0, "", 0, "x", ""});
  REQUIRE(driver->commit("r-1", own).has_value());
  CHECK_FALSE(driver->poll_external("r-1")->has_value());
  SUBCASE("a decision by another process") {
    REQUIRE(other->update_gate("r-1", approve_as("bob", "b")).has_value());
    auto changed = driver->poll_external("r-1");
    REQUIRE(changed.has_value());
    REQUIRE(changed->has_value());
    CHECK_FALSE((*changed)->cancel_requested);
    REQUIRE((*changed)->gates.size() == 1);
    const GateRecord& g = (*changed)->gates[0];
    CHECK(g.status == GateStatus::approved);
    CHECK(g.decided_by == std::optional<std::string>("bob"));
    REQUIRE(g.decisions.size() == 1);
    CHECK(g.decisions[0].user == "bob");
    CHECK(driver->poll_external("r-1")->has_value() == false);
  }
  SUBCASE("a cancel request by another process") {
    REQUIRE(other->request_cancel("r-1").has_value());
    auto changed = driver->poll_external("r-1");
    REQUIRE(changed.has_value());
    REQUIRE(changed->has_value());
    CHECK((*changed)->cancel_requested);
  }
}

TEST_CASE("update_gate writes the decision, the gate and the event in one transaction") {
  TempDir dir;
  std::string path = dir.path + "/state.db";
  auto store = open_store(path);
  REQUIRE(store->create_run(new_run("r-1")).has_value());
  Transition t;
  t.gates.push_back(full_gate());
  REQUIRE(store->commit("r-1", t).has_value());

  SUBCASE("a decision is recorded") {
    bool called = false;
    auto decide = [&](const RunRecord& run, const std::vector<GateRecord>& gates) {
      called = true;
      CHECK(run.id == "r-1");
      CHECK(run.started_by == "alice");
      REQUIRE(gates.size() == 1);
      CHECK(gates[0].status == GateStatus::waiting);
      return approve_as("bob", "b")(run, gates);
    };
    auto update = store->update_gate("r-1", decide);
    REQUIRE(update.has_value());
    CHECK(called);
    auto loaded = store->load_run("r-1");
    REQUIRE(loaded->gates.size() == 1);
    const GateRecord& g = loaded->gates[0];
    CHECK(g.status == GateStatus::approved);
    CHECK(g.decided_by == std::optional<std::string>("bob"));
    CHECK(g.decided_at == k_t0 + 1min);
    CHECK(g.comment == "lgtm");
    REQUIRE(g.decisions.size() == 1);
    CHECK(g.decisions[0].user == "bob");
    CHECK(g.decisions[0].approve);
    CHECK(g.decisions[0].at == k_t0 + 1min);
    CHECK(g.decisions[0].comment == "lgtm");
    CHECK(g.decisions[0].inputs == nlohmann::json{{"k", "v"}});
    auto events = store->events("r-1");
    REQUIRE(events->size() == 1);
    CHECK((*events)[0].kind == "gate_approved");
    CHECK((*events)[0].detail == "by bob");
  }
  SUBCASE("decide's error is returned unchanged and nothing is written") {
    auto refuse = [](const RunRecord&, const std::vector<GateRecord>&) -> Result<GateUpdate> {
      return fail(ErrorKind::usage, "user 'eve' may not decide", "ask alice");
    };
    auto update = store->update_gate("r-1", refuse);
    REQUIRE_FALSE(update.has_value());
    CHECK(update.error().kind == ErrorKind::usage);
    CHECK(update.error().message == "user 'eve' may not decide");
    CHECK(update.error().hint == "ask alice");
    auto loaded = store->load_run("r-1");
    CHECK(loaded->gates[0].status == GateStatus::waiting);
    CHECK(loaded->gates[0].decisions.empty());
    CHECK(store->events("r-1")->empty());
    // And the store still works.
    CHECK(store->update_gate("r-1", approve_as("bob", "b")).has_value());
  }
  SUBCASE("update_gates writes several updates in the one transaction, in order") {
    GateRecord other = full_gate();
    other.task_id = "c";
    Transition more;
    more.gates.push_back(other);
    REQUIRE(store->commit("r-1", more).has_value());
    auto both = [](const RunRecord& run,
                   const std::vector<GateRecord>& gates) -> Result<std::vector<GateUpdate>> {
      REQUIRE(gates.size() == 2);
      std::vector<GateUpdate> out;
      for (std::string task : {"c", "b"}) {
        auto u = approve_as("bob", task)(run, gates);
        REQUIRE(u.has_value());
        out.push_back(*u);
      }
      return out;
    };
    auto updates = store->update_gates("r-1", both);
    REQUIRE(updates.has_value());
    CHECK(updates->size() == 2);
    auto loaded = store->load_run("r-1");
    REQUIRE(loaded->gates.size() == 2);
    for (const auto& g : loaded->gates) {
      CHECK(g.status == GateStatus::approved);
      REQUIRE(g.decisions.size() == 1);  // each its own decision, matched by task
      CHECK(g.decisions[0].user == "bob");
    }
    auto events = store->events("r-1");
    REQUIRE(events->size() == 2);
    CHECK((*events)[0].task_id == "c");
    CHECK((*events)[1].task_id == "b");
  }
  SUBCASE("an unknown run") {
    bool called = false;
    auto update = store->update_gate(
        "nope", [&](const RunRecord&, const std::vector<GateRecord>&) -> Result<GateUpdate> {
          called = true;
          return fail(ErrorKind::usage, "x");
        });
    REQUIRE_FALSE(update.has_value());
    CHECK_FALSE(called);
    CHECK(update.error().message == "no run 'nope' in " + path);
  }
  SUBCASE("decisions belong to the gate's round") {
    REQUIRE(store->update_gate("r-1", approve_as("bob", "b")).has_value());
    GateRecord reopened = full_gate();
    reopened.round = 2;
    Transition again;
    again.gates.push_back(reopened);
    REQUIRE(store->commit("r-1", again).has_value());
    auto loaded = store->load_run("r-1");
    CHECK(loaded->gates[0].round == 2);
    CHECK(loaded->gates[0].status == GateStatus::waiting);
    CHECK(loaded->gates[0].decisions.empty());
  }
}

TEST_CASE("request_cancel marks the run and records an event") {
  TempDir dir;
  auto store = open_store(dir.path + "/state.db");
  REQUIRE(store->create_run(new_run("r-1")).has_value());
  REQUIRE(store->create_run(new_run("r-2")).has_value());
  REQUIRE(store->request_cancel("r-1").has_value());
  CHECK(store->load_run_record("r-1")->cancel_requested);
  CHECK_FALSE(store->load_run_record("r-2")->cancel_requested);
  auto events = store->events("r-1");
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].kind == "cancel_requested");
  CHECK(store->events("r-2")->empty());

  SUBCASE("counted up to 2; a driver's write keeps a later request and a resume clears it") {
    REQUIRE(store->request_cancel("r-1").has_value());
    REQUIRE(store->request_cancel("r-1").has_value());
    CHECK(store->load_run_record("r-1")->cancel_requested == 2);
    Transition t;  // the driver saw the first request only
    t.run = *store->load_run_record("r-1");
    t.run->cancel_requested = 1;
    REQUIRE(store->commit("r-1", t).has_value());
    CHECK(store->load_run_record("r-1")->cancel_requested == 2);
    t.run->cancel_requested = 0;
    REQUIRE(store->commit("r-1", t).has_value());
    CHECK(store->load_run_record("r-1")->cancel_requested == 0);
  }
}

TEST_CASE("load_run tells a cleanup begun since the run's last start or resume") {
  TempDir dir;
  auto store = open_store(dir.path + "/state.db");
  RunSnapshot r1 = new_run("r-1");
  r1.run.deadline.reset();  // a deadline is a stop that may be pending, as a cancel
  REQUIRE(store->create_run(r1).has_value());
  REQUIRE(store->create_run(new_run("r-2")).has_value());
  auto events = [&](const std::string& run, std::vector<std::string> kinds) {
    Transition t;
    for (auto& k : kinds) t.events.push_back(Event{k_t0, "", 0, k, ""});
    REQUIRE(store->commit(run, t).has_value());
  };
  auto begun = [&] { return store->load_run("r-1")->cleanup_started; };
  events("r-1", {"run_started", "cleanup_started"});
  CHECK_FALSE(begun());  // no stop pending: not asked
  REQUIRE(store->request_cancel("r-1").has_value());
  CHECK(begun());
  events("r-2", {"run_resumed"});  // another run's events do not count
  CHECK(begun());
  events("r-1", {"run_resumed"});
  CHECK_FALSE(begun());
  events("r-1", {"run_resumed", "cleanup_started", "task_started"});
  CHECK(begun());
  Transition ended;  // an ended run has no cleanup to go on with
  ended.run = *store->load_run_record("r-1");
  ended.run->status = RunStatus::cancelled;
  REQUIRE(store->commit("r-1", ended).has_value());
  CHECK_FALSE(begun());
  CHECK_FALSE(store->load_run("r-2")->cleanup_started);
}

TEST_CASE("waiting_gates lists every waiting gate with its run") {
  TempDir dir;
  auto store = open_store(dir.path + "/state.db");
  REQUIRE(store->create_run(new_run("r-1")).has_value());
  REQUIRE(store->create_run(new_run("r-2")).has_value());
  GateRecord decided = full_gate();
  decided.task_id = "a";
  decided.status = GateStatus::approved;
  Transition t1;
  t1.gates = {full_gate(), decided};
  REQUIRE(store->commit("r-1", t1).has_value());
  auto gates = store->waiting_gates();
  REQUIRE(gates.has_value());
  REQUIRE(gates->size() == 1);
  CHECK((*gates)[0].first.id == "r-1");
  CHECK((*gates)[0].second.task_id == "b");
}
