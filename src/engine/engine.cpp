// The drive loop, as ninja's Builder: start what can start, then reap. See engine_impl.hpp
// for the invariants. Every Transition commits before the engine acts on what it records.
#include <algorithm>
#include <csignal>
#include <cstring>

#include "engine/backoff.hpp"
#include "engine/engine_impl.hpp"
#include "engine/flow.hpp"
#include "engine/gates.hpp"
#include "engine/outputs.hpp"
#include "util/duration.hpp"

namespace wfo {

namespace {
/// The reason of a cleanup task's attempt that a second `wfo cancel` stopped.
constexpr const char* k_cancelled_again = "cancelled again while the run was being stopped";
}  // namespace

Engine::Engine(Plan& plan, RunStore& store, Launcher& launcher, Clock& clock, Random& random,
               Observer& observer, EngineOptions options)
    : m_impl(std::make_unique<Impl>(plan, store, launcher, clock, random, observer,
                                    std::move(options))) {}
Engine::~Engine() = default;

Result<DriveOutcome> Engine::drive(RunSnapshot snapshot) {
  auto outcome = m_impl->drive(std::move(snapshot));
  m_impl->notify();  // whichever way it ended, failed commits' events excepted
  return outcome;
}

Result<void> Engine::Impl::commit(Transition t) {
  if (t.sync == Sync::normal) t.sync = options.sync;
  if (options.start_flush.count() <= 0) t.deferrable = false;
  redactor.redact(t);
  if (auto ok = store.commit(run.id, t); !ok) return ok;
  committed(t);
  return {};
}

void Engine::Impl::committed(Transition& t) {
  if (t.deferrable) {
    if (!held_since) held_since = clock.steady_now();
    for (auto& e : t.events) held_notes.push_back(std::move(e));
    return;
  }
  held_since.reset();  // written with this one (or, queued, before it)
  ++flushes;
  if (notes.empty()) {
    notes = std::move(held_notes);
  } else {
    for (auto& e : held_notes) notes.push_back(std::move(e));
  }
  held_notes.clear();
  for (auto& e : t.events) notes.push_back(std::move(e));
}

void Engine::Impl::notify() {
  for (const Event& e : notes) observer.on_event(e);
  notes.clear();
}

Result<void> Engine::Impl::commit_end(uint32_t i, Transition t) {
  if (options.sync != Sync::durable) {
    // Held, as an attempt's start is: the next commit writes it first, and a launch that
    // starts on it writes it before the spawn (await_ends).
    if (options.start_flush.count() > 0) {
      t.deferrable = true;
      tasks[i].end_ticket = flushes + 1;
      last_end_ticket = std::max(last_end_ticket, tasks[i].end_ticket);
    }
    return commit(std::move(t));
  }
  // A dependent that this success makes ready would wait for the fsync at once (a chain):
  // then the engine's thread writes it, as commit() does, sparing two thread wake-ups.
  for (uint32_t d : plan.dag.dependents(i))
    if (tasks[d].waiting_needs == 1 && !is_final(tasks[d].status)) return commit(std::move(t));
  t.sync = Sync::durable;
  t.deferrable = false;
  redactor.redact(t);
  auto ticket = store.commit_async(run.id, t);
  if (!ticket) return std::unexpected(ticket.error());
  tasks[i].end_ticket = *ticket;
  last_end_ticket = std::max(last_end_ticket, *ticket);
  committed(t);
  return {};
}

Result<void> Engine::Impl::await_ends(uint32_t i) {
  uint64_t ticket = tasks[i].end_ticket;
  // A kept need's ticket is that of the tasks before it that ran again (count_down).
  for (uint32_t n : plan.dag.needs(i)) ticket = std::max(ticket, tasks[n].end_ticket);
  return await_ticket(ticket);
}

Result<void> Engine::Impl::await_ticket(uint64_t ticket) {
  if (ticket == 0) return {};
  if (options.sync != Sync::durable)
    return ticket > flushes ? commit(Transition{}) : Result<void>{};
  return store.wait_durable(ticket);
}

Event Engine::Impl::event(std::string_view kind, uint32_t task, std::string detail, int attempt) {
  return Event{clock.system_now(), task == UINT32_MAX ? std::string() : id(task), attempt,
               std::string(kind), std::move(detail)};
}

TaskRecord Engine::Impl::task_record(uint32_t i) const {
  const TaskRun& t = tasks[i];
  TaskRecord r;
  r.id = id(i);
  r.status = t.status;
  r.budget_base = t.budget_base;
  r.reason = t.reason;
  r.ended_at = t.ended_at;
  r.next_attempt_at = t.retry_at_system;
  r.finish_seq = t.finish_seq;
  return r;
}

void Engine::Impl::load(const RunSnapshot& snapshot) {
  run = snapshot.run;
  tasks.clear();
  tasks.resize(plan.tasks.size());
  for (size_t k = 0; k < snapshot.tasks.size(); ++k) {
    const TaskRecord& rec = snapshot.tasks[k];
    // The store keeps a run's tasks in the order create_run was given, the plan's; the hash
    // lookup is for the rest (for_each instances restored in another order).
    auto index = k < plan.tasks.size() && id(static_cast<uint32_t>(k)) == rec.id
                     ? std::optional<uint32_t>(static_cast<uint32_t>(k))
                     : plan.find(rec.id);
    if (!index) continue;
    TaskRun& t = tasks[*index];
    t.status = rec.status;
    t.budget_base = rec.budget_base;
    t.reason = rec.reason;
    t.ended_at = rec.ended_at;
    t.finish_seq = rec.finish_seq;
    finish_seq = std::max(finish_seq, rec.finish_seq);
    int last_success = 0;
    const AttemptRecord* last = nullptr;  // of the current budget
    for (const AttemptRecord& a : rec.attempts) {
      t.attempts = std::max(t.attempts, a.number);
      // A compensation cut short (interrupted, or left running by a dead driver) did not
      // compensate: the resume runs it again.
      bool cut = a.status == AttemptStatus::interrupted || a.status == AttemptStatus::running;
      if (a.kind == AttemptKind::compensate && a.number > last_success && !cut) {
        t.compensated = true;
        t.undone = a.status == AttemptStatus::succeeded;
      }
      if (a.number <= t.budget_base) continue;
      last = &a;
      if (a.kind == AttemptKind::fallback) {
        t.fallback_used = true;
        // Cut short by a Ctrl-C or a dead driver: the resume runs the fallback again (an
        // interrupted attempt does not count), not the task's own command.
        // (`running` is what a dead driver left; recover_and_reset makes it interrupted.)
        bool cut = a.status == AttemptStatus::interrupted || a.status == AttemptStatus::running;
        t.next_kind = cut ? AttemptKind::fallback : AttemptKind::main;
        if (a.status == AttemptStatus::succeeded) t.outputs = a.outputs, last_success = a.number;
      }
      if (a.kind != AttemptKind::main) continue;
      if (a.status == AttemptStatus::succeeded) last_success = a.number;
      if (a.status == AttemptStatus::failed || a.status == AttemptStatus::timed_out) ++t.failures;
      if (a.status == AttemptStatus::succeeded) {
        t.outputs = a.outputs;
        t.exit_code = a.exit_code;
      } else if (a.exit_code) {
        t.exit_code = a.exit_code;
      }
    }
    // A fallback that was due but had not started (it waited for its agent's pool, or the
    // driver stopped first): the task's last attempt failed and no retry is left for it.
    // The resume runs the fallback, not the task's own command beyond its budget. The retry
    // policy decides again as finish_attempt_failed did: a `retrying` task reads `pending`
    // once a resume's recovery has written it so, and that resume may have stopped too.
    bool open = t.status == TaskStatus::pending || t.status == TaskStatus::running;
    if (open && last && last->kind == AttemptKind::main && !t.fallback_used &&
        (last->status == AttemptStatus::failed || last->status == AttemptStatus::timed_out) &&
        plan.has_fallback(*index)) {
      const RetryPolicy& policy = *plan.tasks[*index].retry;
      bool retry_left = t.failures < policy.max_attempts &&
                        !retry_reason(policy, FailureFacts{last->exit_code,
                                                           last->status == AttemptStatus::timed_out,
                                                           read_tail(last->log_path, 1 << 20)})
                             .empty();
      if (!retry_left) {
        t.fallback_used = true;
        t.next_kind = AttemptKind::fallback;
        t.next_delay_reason = "fallback after " + last->reason;
      }
    }
  }
  for (const GateRecord& g : snapshot.gates) {
    track_gate(g);
    if (auto index = plan.find(g.task_id); index && g.status == GateStatus::approved)
      for (const auto& d : g.decisions)
        if (d.approve) tasks[*index].gate_inputs.update(d.inputs);
  }
  for (const BreakerRecord& b : snapshot.breakers) breakers[b.agent].record = b;
  std::map<std::string, std::string> own;  // the first of a repeated name, as before
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    own.emplace(std::string(kv.substr(0, eq)), std::string(kv));
  }
  auto lines = std::make_shared<std::vector<std::string>>();
  lines->reserve(own.size());
  for (auto& [name, line] : own) lines->push_back(std::move(line));
  base_env = std::move(lines);
  run_dir = options.state_dir + "/runs/" + run.id;
  std::vector<std::string> secret_values;
  for (const auto& [name, value] : options.secrets) secret_values.push_back(value);
  redactor.add(std::move(secret_values));
}

// Puts a loaded run back into a drivable state, in one commit: attempts a dead driver left
// `running` become `interrupted` (after their processes are gone), unfinished tasks become
// pending, and when the run had failed or was cancelled, its failed tasks get a fresh budget
// and everything they blocked is pending again, as is every succeeded task whose
// compensation succeeded: its work was undone, so going on needs it done again. So are the
// for_each and sub-workflow tasks that hold such a task: they end when their members do, and
// one kept as succeeded left its undone member pending for ever. A succeeded task after an
// undone one is kept (it has no compensation, or its compensation failed: its work stands,
// and running it again could do it twice); wait_past_kept orders what follows it.
Result<void> Engine::Impl::recover_and_reset(const RunSnapshot& snapshot) {
  Transition t;
  std::vector<std::string> handles;
  std::vector<uint32_t> cut;  // the tasks whose attempt the dead driver left running
  for (const TaskRecord& rec : snapshot.tasks)
    for (const AttemptRecord& a : rec.attempts)
      if (a.status == AttemptStatus::running) {
        if (auto k = plan.find(rec.id)) cut.push_back(*k);
        handles.push_back(a.handle);
        AttemptRecord done = a;
        done.status = AttemptStatus::interrupted;
        done.ended_at = clock.system_now();
        done.reason = "its driver stopped";
        t.attempts.push_back(done);
      }
  launcher.recover(run.id, handles);
  bool rerun_failed =
      snapshot.run.status == RunStatus::failed || snapshot.run.status == RunStatus::cancelled;
  std::vector<uint8_t> reset(tasks.size(), 0), redo(tasks.size(), 0);
  if (rerun_failed)
    for (uint32_t i = 0; i < tasks.size(); ++i)
      if (tasks[i].status == TaskStatus::succeeded && tasks[i].undone)
        for (uint32_t n = i; n != k_no_node; n = holder(n)) redo[n] = 1;
  for (uint32_t node : plan.dag.topological_order()) {
    TaskRun& task = tasks[node];
    bool need_reset = false;
    for (uint32_t n : plan.dag.needs(node)) need_reset = need_reset || reset[n];
    bool undone = rerun_failed && task.status == TaskStatus::succeeded && redo[node];
    bool again = task.status == TaskStatus::running || task.status == TaskStatus::retrying ||
                 (rerun_failed &&
                  (task.status == TaskStatus::failed || task.status == TaskStatus::cancelled)) ||
                 (need_reset &&
                  (task.status == TaskStatus::skipped || task.status == TaskStatus::cancelled)) ||
                 undone;
    if ((task.status == TaskStatus::failed && rerun_failed) || undone) {
      // A fresh budget: its retries, and its fallback after them.
      task.budget_base = task.attempts;
      task.failures = 0;
      task.fallback_used = false;
      task.next_kind = AttemptKind::main;
    }
    if (undone) task.compensated = task.undone = false;
    if (!again) continue;
    reset[node] = 1;
    task.status = TaskStatus::pending;
    task.reason.clear();
    task.ended_at.reset();
    t.tasks.push_back(task_record(node));
  }
  // A cancel asked of a driver that then died (kill -9, a crash, maybe in the middle of the
  // cleanup after the cancel) is carried out by this drive: it stops at once (drive()).
  // (A cancel carried out leaves the run cancelled; one asked while it was parked at a
  // gate or being interrupted was not carried out either.)
  cancel_on_resume =
      snapshot.run.cancel_requested && (snapshot.run.status == RunStatus::running ||
                                        snapshot.run.status == RunStatus::waiting_approval ||
                                        snapshot.run.status == RunStatus::interrupted);
  run.status = RunStatus::running;
  run.ended_at.reset();
  run.reason.clear();
  run.cancel_requested = cancel_on_resume ? snapshot.run.cancel_requested : 0;
  t.run = run;
  t.events.push_back(event("run_resumed", UINT32_MAX, "by " + options.user));
  // The cleanup goes on, and a resume after this one's crash must know it did.
  cleanup_resumed = snapshot.cleanup_started;
  if (cleanup_resumed) t.events.push_back(event("cleanup_started", UINT32_MAX, "resumed"));
  // A stop the dead driver had to carry out and had not got to its cleanup (a cancel, or
  // the run's deadline past) stops what was running first, as a live driver does: those
  // tasks are not kept for the cleanup, though their attempt now reads interrupted.
  bool stop_pending =
      cancel_on_resume || (snapshot.run.deadline && *snapshot.run.deadline <= clock.system_now());
  if (stop_pending && !cleanup_resumed) {
    std::sort(cut.begin(), cut.end());
    stopped_before_cleanup = std::move(cut);
  }
  return commit(std::move(t));
}

Result<DriveOutcome> Engine::Impl::drive(RunSnapshot snapshot) {
  restore_instances(snapshot);  // for_each instances made by earlier drives (flow.cpp)
  load(snapshot);
  // Even a run with no recorded attempt may have a process running: a driver killed between
  // spawning an attempt and committing it. So every resume recovers.
  if (options.resume) {
    if (auto ok = recover_and_reset(snapshot); !ok) return std::unexpected(ok.error());
  } else {
    Transition t;
    t.events.push_back(event("run_started", UINT32_MAX, "by " + options.user));
    if (auto ok = commit(std::move(t)); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = prepare_flow(snapshot); !ok) return std::unexpected(ok.error());
  if (run.deadline) {
    auto left = *run.deadline - clock.system_now();
    run_deadline = clock.steady_now() + std::chrono::duration_cast<std::chrono::milliseconds>(left);
  }
  for (uint32_t i = 0; i < tasks.size(); ++i)
    for (uint32_t n : plan.dag.needs(i))
      if (!is_final(tasks[n].status)) ++tasks[i].waiting_needs;
  if (options.resume) wait_past_kept();
  // Nothing starts but cleanup tasks after a cancel not carried out, or the run's timeout
  // (a resume after the driver died in the cleanup reads cancelled() true, as it did).
  if (cancel_on_resume) begin_stop(StopMode::cancel);
  if (cancel_on_resume && run.cancel_requested > 1) halt_cleanup(k_cancelled_again);
  stop_at_deadline();
  if (stop == StopMode::none)
    for (uint32_t i : plan.dag.topological_order())
      if (!is_final(tasks[i].status) && tasks[i].waiting_needs == 0)
        if (auto ok = resolve(i); !ok) return std::unexpected(ok.error());

  for (;;) {
    if (auto ok = check_external(); !ok) return std::unexpected(ok.error());
    check_deadlines();
    if ((stop == StopMode::cancel || stop == StopMode::run_timeout) && !cleanup &&
        !cleanup_halted && running_by_token.empty())
      if (auto ok = begin_cleanup(); !ok) return std::unexpected(ok.error());
    if (stop == StopMode::none || cleanup_running())
      if (auto ok = start_ready(); !ok) return std::unexpected(ok.error());
    if (running_by_token.empty() && stop != StopMode::none) {
      if (!cleanup_running() || (ready.empty() && retry_timers.empty())) return finish_stopped();
    } else if (running_by_token.empty()) {
      bool gate_waiting = std::any_of(tasks.begin(), tasks.end(), [](const TaskRun& t) {
        return t.status == TaskStatus::waiting_approval;
      });
      if (retry_timers.empty() && ready.empty()) {
        if (!(gate_waiting && options.wait_for_gates)) return finish_run();
        if (auto ok = set_parked(true); !ok) return std::unexpected(ok.error());
      }
    } else if (parked_waiting) {
      if (auto ok = set_parked(false); !ok) return std::unexpected(ok.error());
    }
    notify();
    Launcher::Events events = launcher.wait(next_wake());
    // Attempts that ended before the signal was seen are recorded as they ended.
    for (const auto& ended : events.ended)
      if (auto ok = on_ended(ended); !ok) return std::unexpected(ok.error());
    if (events.signal) begin_stop(StopMode::interrupt);
    SteadyTime now = clock.steady_now();
    while (!retry_timers.empty() && retry_timers.begin()->first <= now) {
      uint32_t i = retry_timers.begin()->second;
      retry_timers.erase(retry_timers.begin());
      tasks[i].retry_at.reset();
      if (stop == StopMode::none || cleanup_running())
        ready.push(i, plan.tasks[i].spec->priority, i);
    }
    // A start record no other commit took along is written now, so that `wfo status` and
    // a resume after a crash see a long attempt as running.
    if (held_since && now >= *held_since + options.start_flush)
      if (auto ok = commit(Transition{}); !ok) return std::unexpected(ok.error());
  }
}

SteadyTime Engine::Impl::next_wake() const {
  // Wake at least once a second to notice `wfo cancel` and decisions from other processes.
  SteadyTime wake = clock.steady_now() + std::chrono::seconds(1);
  if (!retry_timers.empty()) wake = std::min(wake, retry_timers.begin()->first);
  // A deadline that has fired stays in the past: waking for it again would spin until the
  // attempts it stopped are reaped (up to the kill grace).
  if (run_deadline && stop == StopMode::none) wake = std::min(wake, *run_deadline);
  if (held_since) wake = std::min(wake, *held_since + options.start_flush);
  for (const auto& [token, i] : running_by_token)
    if (tasks[i].deadline && !tasks[i].timed_out) wake = std::min(wake, *tasks[i].deadline);
  // Gate timeouts are decided only while the run goes on (check_deadlines), so only then
  // are they waited for: a due gate left waiting by a stop would spin the loop.
  if (stop == StopMode::none)
    if (auto deadline = next_gate_deadline())
      wake = std::min(wake, clock.steady_now() + std::max(std::chrono::milliseconds{0},
                                                          *deadline - clock.system_now()));
  return wake;
}

// Called once per drive when every need of task `i` is final: decides skip, gate or start.
Result<void> Engine::Impl::resolve(uint32_t i) {
  to_resolve.push_back(i);
  if (resolving) return {};
  resolving = true;
  Result<void> ok;
  while (ok && !to_resolve.empty()) {
    uint32_t next = to_resolve.front();
    to_resolve.pop_front();
    ok = resolve_now(next);
  }
  to_resolve.clear();  // after an error, nothing more
  resolving = false;
  return ok;
}

Result<void> Engine::Impl::resolve_now(uint32_t i) {
  TaskRun& t = tasks[i];
  const CompiledTask& task = plan.tasks[i];
  if (held(i)) return {};     // its collector has not started yet (flow.cpp)
  if (t.resolved) return {};  // once per drive (engine_impl.hpp)
  t.resolved = true;
  // Ended while it waited in resolve's queue (a group's fail_fast cancelled it, say).
  if (is_final(t.status)) return {};
  if (t.status == TaskStatus::waiting_approval) {
    auto g = gates.find(id(i));
    if (g != gates.end() && g->second.status != GateStatus::waiting) return apply_gate(g->second);
    return {};
  }
  // Why a need reads as it does: its status, or for a need kept by a resume, what a task
  // before it that ran again made of it (need_view).
  auto why = [this](uint32_t n, const NeedView& v) {
    if (v.culprit == k_no_node) return "need '" + id(n) + "' " + std::string(to_string(v.status));
    return "need '" + id(n) + "' was kept, but '" + id(v.culprit) + "' before it " +
           std::string(to_string(tasks[v.culprit].status));
  };
  std::string skipped_need;
  for (uint32_t n : plan.dag.needs(i))
    if (NeedView v = need_view(n); v.status == TaskStatus::skipped)
      skipped_need = v.culprit == k_no_node ? "need '" + id(n) + "' was skipped" : why(n, v);
  expr::StatusFlags flags = flags_for(i);
  bool go = flags.success;
  std::string reason;
  if (!skipped_need.empty() && !task.if_uses_status) {
    go = false;
    reason = skipped_need;
  } else if (task.if_expr) {
    // The loader let through one expression, with blanks around it at most
    // (expr::parse_condition); it is evaluated for truthiness.
    Result<expr::Value> v = expr::Value();
    for (const auto& part : task.if_expr->parsed.parts())
      if (part.expression) v = part.expression->evaluate(context_for(i), flags);
    if (!v) return finish_task(i, TaskStatus::failed, "if: " + v.error().message);
    go = expr::truthy(*v);
    if (!go) reason = "if: " + task.if_expr->source + " was false";
  } else if (!go) {
    for (uint32_t n : plan.dag.needs(i))
      if (NeedView v = need_view(n); v.status != TaskStatus::succeeded) {
        reason = why(n, v);
        break;
      }
  }
  if (!go) return finish_task(i, TaskStatus::skipped, reason);
  const auto& approval = task.spec->approval;
  if (approval && approval->when == GateWhen::before) {
    auto g = gates.find(id(i));
    if (g == gates.end()) {
      auto gate = open_gate(i, "before");
      if (!gate) return finish_task(i, TaskStatus::failed, gate.error().message);
      return {};
    }
    if (g->second.status == GateStatus::waiting) {
      t.status = TaskStatus::waiting_approval;
      return {};
    }
    if (g->second.status == GateStatus::rejected) {
      // A decision is final (spec: Approval gates): a resume that reset the task to pending
      // finds the rejection and fails it again, as the driver that saw the decision did.
      t.status = TaskStatus::waiting_approval;
      return apply_gate(g->second);
    }
    // approved: fall through and run (or succeed at once for a pure gate).
  }
  bool pure_gate = !task.run && !task.agent && task.spec->uses.empty();
  if (pure_gate) return finish_task(i, TaskStatus::succeeded, "approved");
  ready.push(i, task.spec->priority, i);
  return {};
}

Result<void> Engine::Impl::release_dependents(uint32_t i) {
  if (auto ok = settled(i); !ok) return ok;  // collectors and fail_fast (flow.cpp)
  for (uint32_t d : plan.dag.dependents(i))
    if (auto ok = count_down(d, true); !ok) return ok;
  return {};
}

Result<void> Engine::Impl::count_down(uint32_t first, bool resolve_ready) {
  std::vector<uint32_t> settled;  // kept tasks to settle; a kept chain can be 100,000 long
  auto one = [&](uint32_t d) -> Result<void> {
    if (tasks[d].waiting_needs == 0 || --tasks[d].waiting_needs > 0) return {};
    if (is_final(tasks[d].status)) {
      if (kept(d)) settled.push_back(d);
      return {};
    }
    if (resolve_ready && (stop == StopMode::none || (cleanup_running() && cleanup_task(d))))
      return resolve(d);
    return {};
  };
  if (auto ok = one(first); !ok) return ok;
  while (!settled.empty()) {
    uint32_t s = settled.back();
    settled.pop_back();
    // Its end is now that of the latest task before it that ran again, for await_ends.
    for (uint32_t n : plan.dag.needs(s))
      tasks[s].end_ticket = std::max(tasks[s].end_ticket, tasks[n].end_ticket);
    for (uint32_t d : plan.dag.dependents(s))
      if (auto ok = one(d); !ok) return ok;
  }
  return {};
}

void Engine::Impl::wait_past_kept() {
  // Ended tasks after a task not ended, through ended tasks only, are kept; each of them,
  // and each task after one, counts it as a need until it settles.
  std::vector<uint32_t> stack;
  auto keep = [&](uint32_t d) {
    if (!is_final(tasks[d].status) || kept(d)) return;
    if (kept_after_redo.empty()) kept_after_redo.assign(tasks.size(), 0);
    kept_after_redo[d] = 1;
    stack.push_back(d);
  };
  for (uint32_t r = 0; r < tasks.size(); ++r)
    if (!is_final(tasks[r].status))
      for (uint32_t d : plan.dag.dependents(r)) keep(d);
  while (!stack.empty()) {
    uint32_t k = stack.back();
    stack.pop_back();
    for (uint32_t d : plan.dag.dependents(k)) {
      ++tasks[d].waiting_needs;
      keep(d);
    }
  }
}

Engine::Impl::NeedView Engine::Impl::need_view(uint32_t n) const {
  // Kept, and read through: no status function in its `if`.
  auto through = [this](uint32_t k) { return kept(k) && !plan.tasks[k].if_uses_status; };
  if (!through(n)) return {tasks[n].status, k_no_node};
  if (auto known = need_views.find(n); known != need_views.end()) return known->second;
  // Depth first over kept needs, without recursion: a kept chain can be 100,000 long.
  std::vector<std::pair<uint32_t, size_t>> stack{{n, 0}};  // (task, next need to visit)
  while (!stack.empty()) {
    uint32_t k = stack.back().first;
    auto needs = plan.dag.needs(k);
    size_t& next = stack.back().second;
    while (next < needs.size() && (!through(needs[next]) || need_views.count(needs[next]))) ++next;
    if (next < needs.size()) {
      uint32_t m = needs[next];
      stack.emplace_back(m, 0);
      continue;
    }
    NeedView view{tasks[k].status, k_no_node};
    for (uint32_t m : needs) {
      NeedView v = through(m) ? need_views.at(m) : NeedView{tasks[m].status, k_no_node};
      bool ok = v.status == TaskStatus::succeeded ||
                (v.status == TaskStatus::failed && plan.tasks[m].spec->continue_on_error);
      if (!ok) {
        view = {TaskStatus::skipped, v.culprit == k_no_node ? m : v.culprit};
        break;
      }
    }
    need_views.emplace(k, view);
    stack.pop_back();
  }
  return need_views.at(n);
}

Result<void> Engine::Impl::start_ready() {
  while (!ready.empty() && static_cast<int>(running_by_token.size()) < options.max_parallel) {
    uint32_t i = ready.top();
    ready.pop();
    // Collectors start here without a process; a group at its max_parallel waits (flow.cpp).
    auto handled = start_flow(i);
    if (!handled) return std::unexpected(handled.error());
    if (!*handled) {
      const AgentSpec* pool = plan.tasks[i].pool_agent(tasks[i].next_kind == AttemptKind::fallback);
      if (pool && pool->max_parallel && agent_running[pool->name] >= *pool->max_parallel)
        agent_waiting[pool->name].push_back(i);  // requeued when the pool frees a slot
      else if (auto ok = launch(i); !ok)
        return ok;
    }
    release_group_waiter(i);  // when `i` took no slot of its group, the next may
  }
  return {};
}

Result<void> Engine::Impl::finish_task(uint32_t i, TaskStatus status, std::string reason,
                                       std::vector<Event> events) {
  TaskRun& t = tasks[i];
  t.status = status;
  t.reason = std::move(reason);
  t.ended_at = clock.system_now();
  if (status == TaskStatus::succeeded) t.finish_seq = ++finish_seq;
  Transition tr;
  tr.tasks.push_back(task_record(i));
  tr.events = std::move(events);
  std::string kind = "task_" + std::string(to_string(status));
  tr.events.push_back(event(kind, i, t.reason, t.attempts));
  if (auto ok = commit(std::move(tr)); !ok) return ok;
  return release_dependents(i);
}

Result<void> Engine::Impl::on_ended(const Launcher::Ended& ended) {
  auto it = running_by_token.find(ended.token);
  if (it == running_by_token.end()) return {};
  uint32_t i = it->second;
  running_by_token.erase(it);
  TaskRun& t = tasks[i];
  const CompiledTask& task = plan.tasks[i];
  t.running = false;
  // The output slot is freed when this returns, by whichever way: its file is read below,
  // and no attempt starts before then.
  struct ReleaseOutput {
    Impl& impl;
    uint32_t task;
    ~ReleaseOutput() { impl.release_output_file(task); }
  } release_output{*this, i};
  AttemptRecord& a = *t.attempt;
  const bool fallback = a.kind == AttemptKind::fallback;
  if (const AgentSpec* pool = task.pool_agent(fallback); pool && pool->max_parallel) {
    --agent_running[pool->name];
    requeue_agent(pool->name, false);
  }
  count_group_attempt(i, -1);
  a.ended_at = clock.system_now();
  // The log was masked as it was written (the process layer streams it through the
  // redactor's values); $WFO_OUTPUT is the task's own file, masked here.
  std::string raw_outputs = redactor.empty() ? std::string() : read_tail(t.output_path, 64 << 20);
  (void)redactor.redact_file(t.output_path);
  a.exit_code = ended.signal ? std::nullopt : std::optional<int>(ended.exit_code);
  a.signal = ended.signal;
  a.usage = ended.usage;
  t.exit_code = a.exit_code;
  // While stopping, an attempt that still finished cleanly counts as the success it is;
  // one that was stopped (or failed meanwhile) is recorded as interrupted or cancelled.
  bool clean_exit = !t.timed_out && ended.signal == 0 && ended.exit_code == 0;
  if (stop == StopMode::interrupt && !clean_exit) {
    a.status = AttemptStatus::interrupted;
    a.reason = "wfo was interrupted";
    t.status = TaskStatus::pending;
    Transition tr;
    tr.attempts.push_back(a);
    tr.tasks.push_back(task_record(i));
    tr.events.push_back(event("attempt_interrupted", i, a.reason, a.number));
    return commit(std::move(tr));
  }
  // A cleanup task's attempt (begin_cleanup) ends as any attempt does, unless a signal
  // stopped it.
  bool stopped = (stop == StopMode::cancel || stop == StopMode::run_timeout) &&
                 (!cleanup || cleanup_halted) && !clean_exit;
  if (stopped && cleanup) {
    a.status = AttemptStatus::cancelled;
    a.reason = halt_reason;
    Transition tr;
    tr.attempts.push_back(a);
    tr.events.push_back(event("attempt_cancelled", i, a.reason, a.number));
    if (auto ok = commit(std::move(tr)); !ok) return ok;
    return finish_task(i, TaskStatus::cancelled, a.reason);
  }
  if (stopped) {
    a.status = stop == StopMode::cancel ? AttemptStatus::cancelled : AttemptStatus::timed_out;
    a.reason = stop == StopMode::cancel ? "run cancelled" : run.reason;
    Transition tr;
    tr.attempts.push_back(a);
    tr.events.push_back(
        event("attempt_" + std::string(to_string(a.status)), i, a.reason, a.number));
    if (auto ok = commit(std::move(tr)); !ok) return ok;
    return finish_task(i, stop == StopMode::cancel ? TaskStatus::cancelled : TaskStatus::failed,
                       a.reason);
  }
  // Output that could not reach the log fails the attempt, never the engine (issue 8).
  const std::string log_note = ended.log_error.empty() ? "" : "; " + ended.log_error;
  bool failed = t.timed_out || ended.signal || ended.exit_code != 0 || !ended.log_error.empty();
  if (a.kind == AttemptKind::main)
    if (auto ok = breaker_record(i, !failed); !ok) return ok;
  if (t.timed_out)
    return finish_attempt_failed(
        i, AttemptStatus::timed_out,
        "timed out after " + format_duration_spec(*task.place_of(fallback).timeout) + log_note,
        read_tail(a.log_path, 1 << 20));
  if (ended.signal || ended.exit_code != 0)
    return finish_attempt_failed(i, AttemptStatus::failed,
                                 describe_exit(ended.exit_code, ended.signal) + log_note,
                                 read_tail(a.log_path, 1 << 20));
  if (!ended.log_error.empty())
    return finish_attempt_failed(i, AttemptStatus::failed, ended.log_error,
                                 read_tail(a.log_path, 1 << 20));
  // Outputs are parsed from what the task wrote; the file on disk is already masked, and
  // the recorded values are masked at commit.
  auto text = redactor.empty() ? read_output_file(i) : raw_outputs;
  auto outputs = parse_outputs(text);
  if (outputs) {
    if (auto ok = validate_outputs(*outputs, task.spec->outputs.items()); !ok)
      return finish_attempt_failed(i, AttemptStatus::failed, ok.error().message, "");
  } else {
    return finish_attempt_failed(i, AttemptStatus::failed, outputs.error().message, "");
  }
  a.status = AttemptStatus::succeeded;
  a.reason.clear();
  a.outputs = *outputs;
  t.outputs = *outputs;
  if (auto repeated = repeat_after_success(i)) return *repeated;  // repeat.cpp
  const auto& approval = task.spec->approval;
  if (approval && approval->when == GateWhen::after) {
    Transition attempt_done;
    attempt_done.attempts.push_back(a);
    attempt_done.events.push_back(event("attempt_succeeded", i, "", a.number));
    if (auto ok = commit(std::move(attempt_done)); !ok) return ok;
    auto gate = open_gate(i, "after");
    if (!gate) return finish_task(i, TaskStatus::failed, gate.error().message);
    return {};
  }
  std::vector<Event> events{event("attempt_succeeded", i, "", a.number)};
  Transition attempt_done;
  attempt_done.attempts.push_back(a);
  // Attempt and task success go in one commit: the task's success is durable before any
  // dependent is resolved.
  t.status = TaskStatus::succeeded;
  t.reason = a.kind == AttemptKind::fallback ? "fallback succeeded" : "";
  t.ended_at = a.ended_at;
  t.finish_seq = ++finish_seq;
  attempt_done.tasks.push_back(task_record(i));
  attempt_done.events = std::move(events);
  attempt_done.events.push_back(
      event("task_succeeded", i, "in " + format_duration(*a.ended_at - a.started_at), a.number));
  if (auto ok = commit_end(i, std::move(attempt_done)); !ok) return ok;
  return release_dependents(i);
}

Result<void> Engine::Impl::finish_attempt_failed(uint32_t i, AttemptStatus status,
                                                 std::string reason,
                                                 const std::string& output_tail) {
  TaskRun& t = tasks[i];
  const CompiledTask& task = plan.tasks[i];
  AttemptRecord& a = *t.attempt;
  a.status = status;
  a.reason = reason;
  bool main = a.kind == AttemptKind::main;
  if (main) ++t.failures;
  FailureFacts facts{a.exit_code, status == AttemptStatus::timed_out, output_tail};
  std::string why =
      main && t.failures < task.retry->max_attempts ? retry_reason(*task.retry, facts) : "";
  Transition tr;
  tr.attempts.push_back(a);
  tr.events.push_back(event("attempt_" + std::string(to_string(status)), i, reason, a.number));
  if (!why.empty()) {
    auto delay = backoff_delay(*task.retry, t.failures, random);
    t.status = TaskStatus::retrying;
    t.reason = "attempt " + std::to_string(t.failures + 1) + "/" +
               std::to_string(task.retry->max_attempts) + " after " + reason;
    t.next_delay_ms = delay.count();
    t.next_delay_reason = why;
    t.retry_at = clock.steady_now() + delay;
    t.retry_at_system = clock.system_now() + delay;
    tr.tasks.push_back(task_record(i));
    tr.events.push_back(event("task_retrying", i,
                              "in " + format_duration(delay) + " (attempt " +
                                  std::to_string(t.failures + 1) + "/" +
                                  std::to_string(task.retry->max_attempts) + "): " + why,
                              a.number));
    if (auto ok = commit(std::move(tr)); !ok) return ok;
    retry_timers.emplace(*t.retry_at, i);
    return {};
  }
  // Retries are spent: try the fallback once, then let a person decide, then fail.
  if (main && !t.fallback_used && plan.has_fallback(i)) {
    t.fallback_used = true;
    t.next_kind = AttemptKind::fallback;
    t.next_delay_reason = "fallback after " + reason;
    if (auto ok = commit(std::move(tr)); !ok) return ok;
    ready.push(i, task.spec->priority, i);
    return {};
  }
  if (auto ok = commit(std::move(tr)); !ok) return ok;
  if (task.spec->approval && task.spec->approval->when == GateWhen::on_failure) {
    auto gate = open_gate(i, "on_failure");
    if (!gate) return finish_task(i, TaskStatus::failed, gate.error().message);
    return {};
  }
  std::string final_reason = reason;
  if (task.retry->max_attempts > 1)
    final_reason += " (attempt " + std::to_string(t.failures) + "/" +
                    std::to_string(task.retry->max_attempts) + ")";
  return finish_task(i, TaskStatus::failed, final_reason);
}

void Engine::Impl::stop_at_deadline() {
  if (stop != StopMode::none || !run_deadline || clock.steady_now() < *run_deadline) return;
  run.reason = "run timed out after " +
               format_duration_spec(plan.workflow->timeout.value_or(std::chrono::milliseconds{0}));
  begin_stop(StopMode::run_timeout);
}

void Engine::Impl::check_deadlines() {
  SteadyTime now = clock.steady_now();
  if (stop == StopMode::none) (void)expire_gates();
  stop_at_deadline();
  for (const auto& [token, i] : running_by_token) {
    TaskRun& t = tasks[i];
    if (t.deadline && now >= *t.deadline && !t.timed_out) {
      t.timed_out = true;
      launcher.cancel(token, options.kill_grace);
    }
  }
}

void Engine::Impl::begin_stop(StopMode mode) {
  if (stop != StopMode::none) {
    // A signal after a cancel or the run's timeout stops the cleanup.
    if (mode == StopMode::interrupt && stop != StopMode::interrupt)
      halt_cleanup("wfo was interrupted while the run was being stopped");
    return;
  }
  stop = mode;
  stop_what_runs();
}

void Engine::Impl::stop_what_runs() {
  for (const auto& [token, i] : running_by_token) launcher.cancel(token, options.kill_grace);
  retry_timers.clear();
  while (!ready.empty()) ready.pop();
}

void Engine::Impl::halt_cleanup(const char* reason) {
  if (cleanup_halted) return;
  cleanup_halted = true;
  halt_reason = reason;
  if (cleanup) stop_what_runs();  // else the attempts the stop stopped are ending already
}

bool Engine::Impl::cleanup_task(uint32_t i) const {
  const CompiledTask& task = plan.tasks[i];
  const TaskRun& t = tasks[i];
  NodeRole role = plan.flow->nodes[i].role;
  // A task that began before the stop is not kept; one the dead driver's cleanup had kept,
  // failed and waits for a retry, is kept again (cleanup_resumed).
  bool fresh = cleanup_resumed || (t.failures == 0 && !t.fallback_used &&
                                   !std::binary_search(stopped_before_cleanup.begin(),
                                                       stopped_before_cleanup.end(), i));
  return task.if_uses_status && t.status == TaskStatus::pending && !t.running && fresh &&
         holder(i) == k_no_node && (role == NodeRole::task || role == NodeRole::matrix_instance) &&
         !task.spec->approval && !task.spec->repeat;
}

Result<void> Engine::Impl::begin_cleanup() {
  std::vector<uint32_t> kept, cancelled;
  for (uint32_t i = 0; i < tasks.size(); ++i) {
    if (is_final(tasks[i].status)) continue;
    (cleanup_task(i) ? kept : cancelled).push_back(i);
  }
  if (kept.empty()) return {};  // finish_stopped cancels what is left
  cleanup = true;
  // What was queued to start before the stop, or while its attempts ended (the ready queue,
  // an agent's pool, a group's max_parallel, a retry) is dropped: only the kept tasks
  // start, each once, when resolve() queues it.
  while (!ready.empty()) ready.pop();
  retry_timers.clear();
  agent_waiting.clear();
  flow.group_waiting.clear();
  Transition tr;
  std::string reason = stop == StopMode::cancel ? "cancelled" : run.reason;
  for (uint32_t i : cancelled) {
    tasks[i].status = TaskStatus::cancelled;
    tasks[i].reason = reason;
    tasks[i].ended_at = clock.system_now();
    tr.tasks.push_back(task_record(i));
  }
  // With the choice, so that a resume after a crash keeps what this drive kept.
  tr.events.push_back(event("cleanup_started", UINT32_MAX, std::to_string(kept.size()) + " kept"));
  if (auto ok = commit(std::move(tr)); !ok) return ok;
  for (uint32_t i : cancelled)
    for (uint32_t d : plan.dag.dependents(i)) (void)count_down(d, false);  // cannot fail
  // Their `if` is read again, now with cancelled() true and success() false.
  for (uint32_t i : kept) tasks[i].resolved = false;
  for (uint32_t i : kept)
    if (tasks[i].waiting_needs == 0 && tasks[i].status == TaskStatus::pending)
      if (auto ok = resolve(i); !ok) return ok;
  return {};
}

Result<void> Engine::Impl::check_external() {
  // Each ask is a read transaction (a WAL check and fcntl locks: a -j1 chain of `true` made
  // 9.1 fcntl calls a task asking every turn, 7.3 at most every 10 ms), for changes a person
  // makes in seconds.
  SteadyTime now = clock.steady_now();
  if (polled_at && now < *polled_at + options.external_poll) return {};
  polled_at = now;
  auto changes = store.poll_external(run.id);
  if (!changes) return std::unexpected(changes.error());
  if (!*changes) return {};
  // Kept as recorded, so that a later write of the run does not clear it: a cancel that
  // comes while a signal stops the run is carried out by its resume (recover_and_reset).
  int asked = (*changes)->cancel_requested;
  run.cancel_requested = std::max(run.cancel_requested, asked);
  if (asked > 0 && stop == StopMode::none) begin_stop(StopMode::cancel);
  // A second `wfo cancel` stops the tasks that run after the first (GitHub's force cancel).
  if (asked > 1 && (stop == StopMode::cancel || stop == StopMode::run_timeout))
    halt_cleanup(k_cancelled_again);
  for (const GateRecord& g : (*changes)->gates) {
    auto it = gates.find(g.task_id);
    bool was_waiting = it != gates.end() && it->second.status == GateStatus::waiting;
    track_gate(g);
    if (was_waiting && g.status != GateStatus::waiting && stop == StopMode::none)
      if (auto ok = apply_gate(g); !ok) return ok;
  }
  return {};
}

// A gate of task `gate.task_id` was decided: go on accordingly.
Result<void> Engine::Impl::apply_gate(const GateRecord& gate) {
  auto index = plan.find(gate.task_id);
  if (!index) return {};
  uint32_t i = *index;
  TaskRun& t = tasks[i];
  if (t.status != TaskStatus::waiting_approval) return {};
  std::string who = gate.decided_by.value_or("?");
  std::string comment = gate.comment.empty() ? "" : ": " + gate.comment;
  if (gate.status == GateStatus::rejected)
    return finish_task(i, TaskStatus::failed, "gate rejected by " + who + comment);
  for (const auto& d : gate.decisions)
    if (d.approve) t.gate_inputs.update(d.inputs);
  if (gate.when == "after") return finish_task(i, TaskStatus::succeeded, "approved by " + who);
  t.status = TaskStatus::pending;
  if (gate.when == "on_failure") {
    // Approval runs the task once more; if that fails too, the gate opens again.
    t.next_kind = AttemptKind::main;
    ready.push(i, plan.tasks[i].spec->priority, i);
    return {};
  }
  if (!t.resolved || t.waiting_needs > 0) return {};
  const CompiledTask& task = plan.tasks[i];
  bool pure_gate = !task.run && !task.agent && task.spec->uses.empty();
  if (pure_gate) return finish_task(i, TaskStatus::succeeded, "approved by " + who + comment);
  ready.push(i, task.spec->priority, i);
  return {};
}

Result<DriveOutcome> Engine::Impl::finish_run() {
  bool failed = false, waiting = false;
  std::vector<std::string> failed_ids;
  std::string unended;  // the first task neither ended nor at a gate
  // A failure counts unless the task, or a for_each or sub-workflow task that holds it, has
  // continue_on_error (a sub-workflow's tasks come from another file, so the flag on its
  // `uses:` task is not theirs).
  auto tolerated = [&](uint32_t i) {
    for (uint32_t n = i; n != k_no_node; n = holder(n))
      if (plan.tasks[n].spec->continue_on_error) return true;
    return false;
  };
  for (uint32_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].status == TaskStatus::failed && !tolerated(i)) {
      failed = true;
      failed_ids.push_back(id(i));
    }
    if (tasks[i].status == TaskStatus::waiting_approval) waiting = true;
    if (!is_final(tasks[i].status) && tasks[i].status != TaskStatus::waiting_approval &&
        unended.empty())
      unended = id(i);
  }
  // With nothing running and nothing ready, and no gate waiting (whose dependents wait with
  // it), every task has ended. One left pending would be a fault of this scheduler: the run
  // fails rather than report success for work that never ran, and a resume runs that task.
  if (waiting) unended.clear();
  if (!unended.empty()) failed = true;
  run.status = failed    ? RunStatus::failed
               : waiting ? RunStatus::waiting_approval
                         : RunStatus::succeeded;
  if (!unended.empty() && failed_ids.empty()) {
    run.reason = "task '" + unended + "' never ran (a fault of wfo's scheduler; please report it)";
  } else if (failed) {
    run.reason = "task failed: " + failed_ids.front();
    auto note = compensate();
    if (!note) return std::unexpected(note.error());
    if (!note->empty()) run.reason += "; " + *note;
    // Interrupted while compensating: the run is interrupted, and its resume compensates
    // what is left (the failed task stays failed: nothing else runs then).
    if (finale_interrupted) run.status = RunStatus::interrupted;
  } else {
    run.reason.clear();
  }
  if (run.status != RunStatus::waiting_approval) run.ended_at = clock.system_now();
  Transition t;
  t.run = run;
  t.sync = Sync::durable;  // a run's final state is always synced (docs/reliability.md)
  t.events.push_back(event("run_" + std::string(to_string(run.status)), UINT32_MAX, run.reason));
  if (auto ok = commit(std::move(t)); !ok) return std::unexpected(ok.error());
  run_end_hooks();
  if (run.status == RunStatus::interrupted) return DriveOutcome::interrupted;
  return failed    ? DriveOutcome::failed
         : waiting ? DriveOutcome::waiting_approval
                   : DriveOutcome::succeeded;
}

Result<DriveOutcome> Engine::Impl::finish_stopped() {
  Transition t;
  bool only_gates = std::none_of(tasks.begin(), tasks.end(), [](const TaskRun& x) {
    return x.status == TaskStatus::running || x.status == TaskStatus::retrying;
  });
  if (stop == StopMode::interrupt && parked_waiting && only_gates) {
    // Ctrl-C while `--wait` waits on a gate leaves the run parked, as without --wait.
    run.status = RunStatus::waiting_approval;
    run.reason.clear();
  } else if (stop == StopMode::interrupt) {
    run.status = RunStatus::interrupted;
    run.reason = "interrupted by a signal";
    // Every attempt has ended; what still reads running is a for_each or sub-workflow task
    // waiting for its members. Pending, as its interrupted members are, and as a resume
    // would make it anyway.
    for (uint32_t i = 0; i < tasks.size(); ++i) {
      if (tasks[i].status != TaskStatus::running) continue;
      tasks[i].status = TaskStatus::pending;
      t.tasks.push_back(task_record(i));
    }
  } else {
    run.status = stop == StopMode::cancel ? RunStatus::cancelled : RunStatus::failed;
    if (stop == StopMode::cancel) run.reason = "cancelled";
    for (uint32_t i = 0; i < tasks.size(); ++i) {
      if (is_final(tasks[i].status)) continue;
      tasks[i].status = TaskStatus::cancelled;
      tasks[i].reason = run.reason;
      tasks[i].ended_at = clock.system_now();
      t.tasks.push_back(task_record(i));
    }
    run.ended_at = clock.system_now();
  }
  t.run = run;
  t.sync = Sync::durable;
  t.events.push_back(event("run_" + std::string(to_string(run.status)), UINT32_MAX, run.reason));
  if (auto ok = commit(std::move(t)); !ok) return std::unexpected(ok.error());
  run_end_hooks();
  switch (stop) {
    case StopMode::interrupt:
      return DriveOutcome::interrupted;
    case StopMode::cancel:
      return DriveOutcome::cancelled;
    default:
      return DriveOutcome::failed;
  }
}

void Engine::Impl::track_gate(const GateRecord& g) {
  // Every gate waiting with a deadline has its entry: pushed when it comes to wait with it
  // (not again when an unchanged gate is read anew, as poll_external does).
  GateRecord& known = gates[g.task_id];
  bool had =
      !known.task_id.empty() && known.status == GateStatus::waiting && known.deadline == g.deadline;
  if (g.status == GateStatus::waiting && g.deadline && !had)
    gate_deadlines.emplace(*g.deadline, g.task_id);
  known = g;
}

std::optional<SystemTime> Engine::Impl::next_gate_deadline() const {
  while (!gate_deadlines.empty()) {
    const auto& [at, task] = gate_deadlines.top();
    auto it = gates.find(task);
    if (it != gates.end() && it->second.status == GateStatus::waiting && it->second.deadline &&
        *it->second.deadline == at)
      return at;
    gate_deadlines.pop();  // decided, or waiting again with another deadline (pushed anew)
  }
  return std::nullopt;
}

// Decides every waiting gate whose deadline has passed, by its on_timeout, through the
// store's gate transaction (a person's decision racing the timeout wins or loses whole).
// One transaction for all the gates due, whatever their number.
Result<void> Engine::Impl::expire_gates() {
  SystemTime now = clock.system_now();
  auto due = next_gate_deadline();
  if (!due || *due > now) return {};
  // Its own transaction: what is held is written first, so the order of changes holds.
  if (held_since)
    if (auto ok = commit(Transition{}); !ok) return ok;
  auto updates = store.update_gates(
      run.id,
      [&](const RunRecord&, const std::vector<GateRecord>& g) -> Result<std::vector<GateUpdate>> {
        return decide_timeouts(g, now);
      });
  if (!updates) return {};  // as before: a gate decided meanwhile comes by poll_external
  for (auto& update : *updates) {
    track_gate(update.gate);
    notes.push_back(update.event);  // after what was committed before it
    if (auto ok = apply_gate(update.gate); !ok) return ok;
  }
  return {};
}

// With --wait, the run is recorded waiting_approval while only gates hold it, and running
// again once a decision lets work go on; on_waiting runs when it parks.
Result<void> Engine::Impl::set_parked(bool parked) {
  if (parked == parked_waiting) return {};
  parked_waiting = parked;
  run.status = parked ? RunStatus::waiting_approval : RunStatus::running;
  Transition t;
  t.run = run;
  t.events.push_back(event(parked ? "run_waiting_approval" : "run_running", UINT32_MAX,
                           parked ? "waiting for a decision (--wait)" : "a gate was decided"));
  if (auto ok = commit(std::move(t)); !ok) return ok;
  if (parked) run_hook(plan.hook_on_waiting, "on_waiting", waiting_gate_env());
  return {};
}

std::string describe_exit(int exit_code, int signal) {
  if (signal) {
    const char* name = sigabbrev_np(signal);
    return "killed by signal " + std::to_string(signal) +
           (name ? " (SIG" + std::string(name) + ")" : "");
  }
  return "exit code " + std::to_string(exit_code);
}

}  // namespace wfo
