#pragma once
// Retry arithmetic (spec: Retry and backoff). Pure: the caller passes the random source.

#include <chrono>
#include <string>

#include "engine/ports.hpp"
#include "model/workflow.hpp"

namespace wfo {

/// Returns the delay before the attempt after failed attempt number `failed_attempt` (1-based,
/// counted within the current retry budget): fixed = delay; linear = delay * n; exponential =
/// delay * factor^(n-1); capped at max_delay; then jitter: none; full = uniform in [0, d];
/// equal = d/2 + uniform in [0, d/2]. Result in milliseconds, never negative. Errors: none.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int failed_attempt,
                                        Random& random);

/// How an attempt failed, as far as retry conditions care.
struct FailureFacts {
  std::optional<int> exit_code;  ///< unset when killed or never started
  bool timed_out = false;
  std::string output_tail;  ///< the end of the attempt's log (at most 1 MiB)
};

/// Returns the reason to retry (e.g. `exit code 75`, `output matched 'rate limit'`,
/// `timed out`), or empty when no retry condition of `policy` matches `facts` (spec: any
/// given condition that matches retries; with none given, every failure retries, except a
/// timeout when on_timeout is false). Invalid regexes never match (the loader refuses them).
std::string retry_reason(const RetryPolicy& policy, const FailureFacts& facts);

}  // namespace wfo
