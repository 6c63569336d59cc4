// Circuit breakers of agents (spec: Agents): after N consecutive failed attempts of an
// agent, its next attempts fail at once without running until the cooldown has passed;
// then one trial attempt runs (others of that agent wait for it), and its success closes
// the breaker while its failure opens it again. The state is committed with each change,
// so it holds across resume.
#include "engine/engine_impl.hpp"

namespace wfo {

Engine::Impl::BreakerVerdict Engine::Impl::breaker_verdict(uint32_t i, std::string* reason) {
  const AgentSpec* agent = plan.tasks[i].agent;
  if (!agent || !agent->circuit_breaker) return BreakerVerdict::run;
  Breaker& b = breakers[agent->name];
  if (!b.record.open_until) return BreakerVerdict::run;
  if (clock.system_now() < *b.record.open_until) {
    *reason = "circuit open for agent " + agent->name + " until " +
              format_clock(*b.record.open_until);
    return BreakerVerdict::fail_open;
  }
  if (b.trial_running) return BreakerVerdict::defer;
  b.trial_running = true;
  return BreakerVerdict::run;
}

Result<void> Engine::Impl::breaker_record(uint32_t i, bool success) {
  const AgentSpec* agent = plan.tasks[i].agent;
  if (!agent || !agent->circuit_breaker) return {};
  Breaker& b = breakers[agent->name];
  b.record.agent = agent->name;
  bool was_trial = b.trial_running;
  b.trial_running = false;
  Transition t;
  if (success) {
    if (b.record.consecutive_failures == 0 && !b.record.open_until) return {};
    b.record.consecutive_failures = 0;
    b.record.open_until.reset();
    t.events.push_back(event("breaker_closed", i, "agent " + agent->name));
  } else {
    ++b.record.consecutive_failures;
    if (was_trial || b.record.consecutive_failures >= agent->circuit_breaker->failures) {
      b.record.open_until = clock.system_now() + agent->circuit_breaker->cooldown;
      t.events.push_back(event("breaker_opened", i,
                               "agent " + agent->name + " until " +
                                   format_clock(*b.record.open_until)));
    }
  }
  t.breakers.push_back(b.record);
  if (auto ok = commit(std::move(t)); !ok) return ok;
  requeue_agent(agent->name, true);
  return {};
}

// Gives tasks waiting on `agent` (its pool was full, or its breaker's trial ran) a place in
// the ready queue again, oldest first: one when a pool slot freed (so a long queue costs
// O(1) per completion), all when the breaker's trial ended. start_ready checks again.
void Engine::Impl::requeue_agent(const std::string& agent, bool all) {
  auto it = agent_waiting.find(agent);
  if (it == agent_waiting.end() || it->second.empty()) return;
  auto& waiting = it->second;
  size_t n = all ? waiting.size() : 1;
  for (size_t k = 0; k < n; ++k) {
    uint32_t next = waiting.front();
    waiting.pop_front();
    ready.push(next, plan.tasks[next].spec->priority, next);
  }
}

}  // namespace wfo
