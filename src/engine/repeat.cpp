// repeat: {until, max, interval} (issue 5): a task runs again until its condition holds.
// After each successful run of its own command the condition is evaluated, reading the task's
// latest outputs as tasks.<id>.outputs; while it is false the task stays running and its next
// run starts after the interval, as a new attempt (attempts number on across runs and
// retries). Failed attempts go through the retry policy as usual; only successful runs count
// against `max`. When `max` runs have not made it true, the task fails.
#include "engine/engine_impl.hpp"
#include "engine/flow.hpp"
#include "util/duration.hpp"

namespace wfo {

std::optional<Result<void>> Engine::Impl::repeat_after_success(uint32_t i) {
  const FlowNode& node = plan.flow->nodes[i];
  TaskRun& t = tasks[i];
  if (!node.until || t.attempt->kind != AttemptKind::main) return std::nullopt;
  const RepeatSpec& spec = *plan.tasks[i].spec->repeat;
  int runs = ++flow.repetitions[i];
  auto value = node.until->parsed.evaluate(context_for(i), flags_for(i));
  std::string why;
  if (!value)
    why = "repeat: until: " + value.error().message;
  else if (expr::truthy(*value))
    return std::nullopt;  // the caller records the success
  else if (runs >= spec.max)
    why = "repeat: until " + node.until->source + " still false after " + std::to_string(runs) +
          (runs == 1 ? " run" : " runs");
  Transition tr;
  tr.attempts.push_back(*t.attempt);
  tr.events.push_back(event("attempt_succeeded", i, "", t.attempt->number));
  if (!why.empty()) {
    if (auto ok = commit(std::move(tr)); !ok) return ok;
    return finish_task(i, TaskStatus::failed, why);
  }
  std::string next = std::to_string(runs + 1) + "/" + std::to_string(spec.max);
  t.reason = "repeat " + next + ": until was false";
  if (stop == StopMode::none) {
    t.next_delay_ms = spec.interval.count();
    t.next_delay_reason = "repeat: until " + node.until->source + " was false";
    t.retry_at = clock.steady_now() + spec.interval;
    t.retry_at_system = clock.system_now() + spec.interval;
  }
  tr.tasks.push_back(task_record(i));
  tr.events.push_back(event("task_repeating", i,
                            "run " + next + " in " + format_duration(spec.interval) + ": until " +
                                node.until->source + " was false",
                            t.attempt->number));
  if (auto ok = commit(std::move(tr)); !ok) return ok;
  if (t.retry_at) retry_timers.emplace(*t.retry_at, i);
  return Result<void>{};
}

}  // namespace wfo
