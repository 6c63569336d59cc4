#include "engine/backoff.hpp"

#include <algorithm>
#include <cmath>

#include "util/regex.hpp"

namespace wfo {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int failed_attempt,
                                        Random& random) {
  double base = static_cast<double>(policy.delay.count());
  double n = std::max(1, failed_attempt);
  double d = base;
  switch (policy.backoff) {
    case Backoff::fixed:
      break;
    case Backoff::linear:
      d = base * n;
      break;
    case Backoff::exponential:
      d = base * std::pow(policy.factor, n - 1);
      break;
  }
  // Cap before jitter, as AWS's "full jitter" does: the random part never exceeds the cap.
  constexpr double k_ceiling = 100.0 * 365 * 86'400'000;
  if (policy.max_delay) d = std::min(d, static_cast<double>(policy.max_delay->count()));
  if (!std::isfinite(d) || d > k_ceiling) d = k_ceiling;
  switch (policy.jitter) {
    case Jitter::none:
      break;
    case Jitter::full:
      d = random.uniform() * d;
      break;
    case Jitter::equal:
      d = d / 2 + random.uniform() * (d / 2);
      break;
  }
  return std::chrono::milliseconds{static_cast<int64_t>(std::llround(std::max(0.0, d)))};
}

std::string retry_reason(const RetryPolicy& policy, const FailureFacts& facts) {
  bool has_codes = !policy.on_exit_codes.empty();
  bool has_output = !policy.on_output.empty();
  bool retry_timeouts = policy.on_timeout.value_or(true);
  if (facts.timed_out) return retry_timeouts ? "timed out" : "";
  if (!has_codes && !has_output) {
    return facts.exit_code ? "exit code " + std::to_string(*facts.exit_code) : "failed";
  }
  if (facts.exit_code && std::find(policy.on_exit_codes.begin(), policy.on_exit_codes.end(),
                                   *facts.exit_code) != policy.on_exit_codes.end())
    return "exit code " + std::to_string(*facts.exit_code);
  for (const Regex& re : policy.on_output) {
    // Line by line, so that ^ and $ match at each line's ends.
    std::string_view tail = facts.output_tail;
    while (!tail.empty()) {
      size_t end = tail.find('\n');
      if (re.search(tail.substr(0, end))) return "output matched '" + re.source() + "'";
      if (end == std::string_view::npos) break;
      tail.remove_prefix(end + 1);
    }
  }
  return "";
}

}  // namespace wfo
