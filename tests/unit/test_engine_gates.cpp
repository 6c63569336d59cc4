// decide_gate (spec: Approval gates): who may decide, and what a decision does.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/gates.hpp"
#include "error_text.hpp"
#include "util/time.hpp"

namespace {

using namespace wfo;
using namespace std::chrono_literals;

const SystemTime k_now = SystemTime{std::chrono::milliseconds{1'795'341'600'123}};

RunRecord run_record(RunStatus status = RunStatus::waiting_approval) {
  RunRecord r;
  r.id = "r-1";
  r.status = status;
  r.started_by = "alice";
  return r;
}

GateRecord gate(std::string task, std::vector<std::string> approvers = {}) {
  GateRecord g;
  g.task_id = std::move(task);
  g.when = "before";
  g.status = GateStatus::waiting;
  g.approvers = std::move(approvers);
  g.created_at = k_now - 1h;
  return g;
}

DecisionRequest request(std::string user, bool approve = true,
                        std::optional<std::string> task = std::nullopt, std::string comment = {}) {
  DecisionRequest r;
  r.user = std::move(user);
  r.approve = approve;
  r.task = std::move(task);
  r.comment = std::move(comment);
  r.at = k_now;
  return r;
}

GateUpdate decided(const RunRecord& run, const std::vector<GateRecord>& gates,
                   const DecisionRequest& req) {
  auto update = decide_gate(run, gates, req);
  REQUIRE_MESSAGE(update.has_value(), wfo::test::error_text(update));
  return *update;
}

Error refused(const RunRecord& run, const std::vector<GateRecord>& gates,
              const DecisionRequest& req) {
  auto update = decide_gate(run, gates, req);
  REQUIRE_FALSE(update.has_value());
  CHECK(update.error().kind == ErrorKind::usage);
  return update.error();
}

}  // namespace

TEST_CASE("one waiting gate is decided without --task") {
  GateUpdate u = decided(run_record(), {gate("deploy")}, request("bob", true, {}, "ship it"));
  CHECK(u.gate.task_id == "deploy");
  CHECK(u.gate.status == GateStatus::approved);
  CHECK(u.gate.decided_by == std::optional<std::string>("bob"));
  CHECK(u.gate.decided_at == k_now);
  CHECK(u.gate.comment == "ship it");
  REQUIRE(u.gate.decisions.size() == 1);
  CHECK(u.gate.decisions[0].user == "bob");
  CHECK(u.gate.decisions[0].approve);
  CHECK(u.decision.user == "bob");
  CHECK(u.decision.approve);
  CHECK(u.decision.at == k_now);
  CHECK(u.decision.comment == "ship it");
  CHECK(u.event.at == k_now);
  CHECK(u.event.task_id == "deploy");
  CHECK(u.event.kind == "gate_approved");
  CHECK(u.event.detail == "by bob: ship it");
}

TEST_CASE("decided gates are skipped when looking for the one waiting gate") {
  GateRecord done = gate("review");
  done.status = GateStatus::approved;
  GateUpdate u = decided(run_record(), {done, gate("deploy")}, request("bob"));
  CHECK(u.gate.task_id == "deploy");
  CHECK(u.event.detail == "by bob");
}

TEST_CASE("several waiting gates need --task; the message lists them") {
  std::vector<GateRecord> gates{gate("review"), gate("deploy")};
  Error e = refused(run_record(), gates, request("bob"));
  CHECK(e.message == "several gates of run r-1 wait: review, deploy");
  CHECK(e.hint == "name one with --task, e.g. 'wfo approve r-1 --task review'");
  Error r = refused(run_record(), gates, request("bob", false));
  CHECK(r.hint == "name one with --task, e.g. 'wfo reject r-1 --task review'");
  GateUpdate u = decided(run_record(), gates, request("bob", true, "deploy"));
  CHECK(u.gate.task_id == "deploy");
  CHECK(u.gate.status == GateStatus::approved);
}

TEST_CASE("an unknown task, or no gate at all") {
  CHECK(refused(run_record(), {gate("deploy")}, request("bob", true, "nope")).message ==
        "task 'nope' of run r-1 has no gate waiting for a decision");
  CHECK(refused(run_record(), {}, request("bob")).message ==
        "no gate of run r-1 waits for a decision");
}

TEST_CASE("only the listed approvers may decide") {
  std::vector<GateRecord> gates{gate("deploy", {"alice", "bob"})};
  for (bool approve : {true, false}) {
    Error e = refused(run_record(), gates, request("eve", approve));
    CHECK(e.message == "user 'eve' may not decide the gate of task 'deploy'");
    CHECK(e.hint == "its approvers are: alice, bob");
  }
  CHECK(decided(run_record(), gates, request("bob")).gate.status == GateStatus::approved);
  // An empty list lets anyone decide.
  CHECK(decided(run_record(), {gate("deploy")}, request("eve")).gate.status ==
        GateStatus::approved);
}

TEST_CASE("prevent_self_approval stops the run's starter from approving, not from rejecting") {
  GateRecord g = gate("deploy");
  g.prevent_self_approval = true;
  Error e = refused(run_record(), {g}, request("alice"));
  CHECK(e.message == "user 'alice' started run r-1 and may not approve it (prevent_self_approval)");
  CHECK(e.hint == "ask another approver");
  CHECK(decided(run_record(), {g}, request("alice", false)).gate.status == GateStatus::rejected);
  CHECK(decided(run_record(), {g}, request("bob")).gate.status == GateStatus::approved);
  // Without the flag the starter may approve.
  CHECK(decided(run_record(), {gate("deploy")}, request("alice")).gate.status ==
        GateStatus::approved);
}

TEST_CASE("min_approvals 2: the second distinct approval approves") {
  GateRecord g = gate("deploy", {"bob", "carol", "dave"});
  g.min_approvals = 2;
  GateUpdate first = decided(run_record(), {g}, request("bob", true, {}, "ok"));
  CHECK(first.gate.status == GateStatus::waiting);
  CHECK(first.gate.decided_by == std::nullopt);
  CHECK(first.gate.decided_at == std::nullopt);
  CHECK(first.gate.decisions.size() == 1);
  CHECK(first.event.kind == "gate_approved");
  CHECK(first.event.detail == "by bob: ok (1/2)");

  SUBCASE("the same user cannot approve twice") {
    Error e = refused(run_record(), {first.gate}, request("bob"));
    CHECK(e.message == "user 'bob' has already decided the gate of task 'deploy'");
  }
  SUBCASE("a second user approves it") {
    GateUpdate second = decided(run_record(), {first.gate}, request("carol"));
    CHECK(second.gate.status == GateStatus::approved);
    CHECK(second.gate.decided_by == std::optional<std::string>("carol"));
    CHECK(second.gate.decisions.size() == 2);
    CHECK(second.event.detail == "by carol");
  }
  SUBCASE("one rejection rejects it at once") {
    GateUpdate second = decided(run_record(), {first.gate}, request("carol", false, {}, "no"));
    CHECK(second.gate.status == GateStatus::rejected);
    CHECK(second.gate.decided_by == std::optional<std::string>("carol"));
    CHECK(second.gate.comment == "no");
    CHECK(second.event.kind == "gate_rejected");
    CHECK(second.event.detail == "by carol: no");
  }
}

TEST_CASE("a rejection rejects at once, whatever min_approvals says") {
  GateRecord g = gate("deploy");
  g.min_approvals = 3;
  GateUpdate u = decided(run_record(), {g}, request("bob", false, "deploy", "too risky"));
  CHECK(u.gate.status == GateStatus::rejected);
  CHECK_FALSE(u.decision.approve);
  CHECK(u.event.kind == "gate_rejected");
  CHECK(u.event.detail == "by bob: too risky");
}

TEST_CASE("a decided gate cannot be decided again") {
  GateRecord g = gate("deploy");
  g.status = GateStatus::approved;
  g.decided_by = "bob";
  CHECK(refused(run_record(), {g}, request("carol", false, "deploy")).message ==
        "the gate of task 'deploy' was already approved by bob");
  CHECK(refused(run_record(), {g}, request("carol")).message ==
        "no gate of run r-1 waits for a decision");
  g.status = GateStatus::rejected;
  g.decided_by.reset();
  CHECK(refused(run_record(), {g}, request("carol", true, "deploy")).message ==
        "the gate of task 'deploy' was already rejected");
}

TEST_CASE("an ended run has nothing to decide") {
  GateRecord g = gate("deploy");
  g.status = GateStatus::rejected;
  CHECK(refused(run_record(RunStatus::failed), {g}, request("bob")).message ==
        "run r-1 has failed; nothing waits for a decision");
  CHECK(refused(run_record(RunStatus::succeeded), {}, request("bob")).message ==
        "run r-1 has succeeded; nothing waits for a decision");
  CHECK(refused(run_record(RunStatus::cancelled), {g}, request("bob")).message ==
        "run r-1 was cancelled; nothing waits for a decision");
}

TEST_CASE("nothing waits: a gate its timeout decided last is named, not one before a person's") {
  GateRecord g = gate("deploy");
  g.deadline = k_now - 2s;
  g.on_timeout = "reject";
  // As `wfo approve` applies the passed timeouts at the request's time, first.
  GateRecord just = decide_timeouts({g}, k_now).at(0).gate;
  CHECK(refused(run_record(RunStatus::cancelled), {just}, request("bob")).message ==
        "run r-1 was cancelled; nothing waits for a decision (the gate of task 'deploy' was "
        "rejected by timeout: no decision by " +
            format_rfc3339(k_now - 2s) + ")");
  CHECK(refused(run_record(), {just}, request("bob")).message ==
        "no gate of run r-1 waits for a decision (the gate of task 'deploy' was rejected by "
        "timeout: no decision by " +
            format_rfc3339(k_now - 2s) + ")");
  // Applied an hour ago by another command (`wfo status`): still the reason.
  g.deadline = k_now - 2h;
  GateRecord earlier = decide_timeouts({g}, k_now - 1h).at(0).gate;
  CHECK(refused(run_record(), {earlier}, request("bob")).message ==
        "no gate of run r-1 waits for a decision (the gate of task 'deploy' was rejected by "
        "timeout: no decision by " +
            format_rfc3339(k_now - 2h) + ")");
  // A person decided the next gate after it, even in the same second: not the reason.
  GateRecord next = gate("ship");
  next.status = GateStatus::rejected;
  next.decided_by = "carol";
  next.decided_at = k_now;
  for (const auto& gates : {std::vector<GateRecord>{just, next}, {next, just}})
    CHECK(refused(run_record(), gates, request("bob")).message ==
          "no gate of run r-1 waits for a decision");
  CHECK(refused(run_record(), {next, earlier}, request("bob")).message ==
        "no gate of run r-1 waits for a decision");
}

TEST_CASE("decide_timeouts decides every waiting gate at or past its deadline, in order") {
  GateRecord late = gate("late");  // due: approved by its on_timeout
  late.deadline = k_now - 1s;
  late.on_timeout = "approve";
  GateRecord now = gate("now");  // due at its deadline exactly; rejected by default
  now.deadline = k_now;
  now.on_timeout = "reject";
  GateRecord early = gate("early");  // not due yet
  early.deadline = k_now + 1ms;
  GateRecord none = gate("none");  // no deadline: never due
  GateRecord decided = gate("decided");
  decided.deadline = k_now - 1h;
  decided.status = GateStatus::approved;
  auto updates = decide_timeouts({late, early, now, none, decided}, k_now);
  REQUIRE(updates.size() == 2);
  CHECK(updates[0].gate.task_id == "late");
  CHECK(updates[0].gate.status == GateStatus::approved);
  CHECK(updates[0].gate.decided_by == std::optional<std::string>("timeout"));
  CHECK(updates[0].gate.decided_at == std::optional<SystemTime>(k_now));
  CHECK(updates[0].decision.user == "timeout");
  CHECK(updates[0].decision.approve);
  CHECK(updates[0].event.kind == "gate_approved");
  CHECK(updates[0].event.detail == "by timeout: no decision by " + format_rfc3339(k_now - 1s));
  REQUIRE(updates[0].gate.decisions.size() == 1);
  CHECK(updates[1].gate.task_id == "now");
  CHECK(updates[1].gate.status == GateStatus::rejected);
  CHECK_FALSE(updates[1].decision.approve);
  CHECK(updates[1].event.kind == "gate_rejected");
  CHECK(decide_timeouts({early, none, decided}, k_now).empty());
}
