// backoff_delay and retry_reason (spec: Retry and backoff).

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine/backoff.hpp"
#include "fakes.hpp"

namespace {

using namespace wfo;
using namespace std::chrono_literals;
using wfo::test::FakeRandom;
using wfo::test::regex;

RetryPolicy policy(Backoff backoff, std::chrono::milliseconds delay, double factor = 2.0) {
  RetryPolicy p;
  p.max_attempts = 10;
  p.backoff = backoff;
  p.delay = delay;
  p.factor = factor;
  return p;
}

// The delays after failed attempts 1..n, in milliseconds.
std::vector<int64_t> delays(const RetryPolicy& p, int n, Random& random) {
  std::vector<int64_t> out;
  for (int i = 1; i <= n; ++i) out.push_back(backoff_delay(p, i, random).count());
  return out;
}

using Ms = std::vector<int64_t>;

FailureFacts exited(int code, std::string tail = {}) {
  return FailureFacts{code, false, std::move(tail)};
}

}  // namespace

TEST_CASE("fixed backoff waits the delay every time") {
  FakeRandom random;
  CHECK(delays(policy(Backoff::fixed, 1s), 4, random) == Ms{1000, 1000, 1000, 1000});
  CHECK(random.calls == 0);
}

TEST_CASE("linear backoff waits delay x n") {
  FakeRandom random;
  CHECK(delays(policy(Backoff::linear, 2s), 4, random) == Ms{2000, 4000, 6000, 8000});
}

TEST_CASE("exponential backoff waits delay x factor^(n-1)") {
  FakeRandom random;
  CHECK(delays(policy(Backoff::exponential, 1s), 6, random) ==
        Ms{1000, 2000, 4000, 8000, 16000, 32000});
  CHECK(delays(policy(Backoff::exponential, 1s, 3.0), 4, random) == Ms{1000, 3000, 9000, 27000});
  CHECK(delays(policy(Backoff::exponential, 500ms, 1.5), 3, random) == Ms{500, 750, 1125});
  CHECK(random.calls == 0);
}

TEST_CASE("max_delay caps every backoff") {
  FakeRandom random;
  RetryPolicy p = policy(Backoff::exponential, 1s);
  p.max_delay = 5s;
  CHECK(delays(p, 6, random) == Ms{1000, 2000, 4000, 5000, 5000, 5000});
  RetryPolicy linear = policy(Backoff::linear, 2s);
  linear.max_delay = 5s;
  CHECK(delays(linear, 4, random) == Ms{2000, 4000, 5000, 5000});
}

TEST_CASE("attempt numbers below 1 count as 1; a zero delay stays zero") {
  FakeRandom random;
  RetryPolicy p = policy(Backoff::exponential, 1s);
  CHECK(backoff_delay(p, 0, random) == 1000ms);
  CHECK(backoff_delay(p, -3, random) == 1000ms);
  CHECK(delays(policy(Backoff::exponential, 0ms), 3, random) == Ms{0, 0, 0});
}

TEST_CASE("a huge exponential backoff is capped, not overflowed") {
  FakeRandom random;
  RetryPolicy p = policy(Backoff::exponential, 1s);
  constexpr int64_t k_hundred_years_ms = int64_t{100} * 365 * 86'400'000;
  CHECK(backoff_delay(p, 200, random).count() == k_hundred_years_ms);
  CHECK(backoff_delay(p, 5000, random).count() == k_hundred_years_ms);  // pow gives inf
}

TEST_CASE("full jitter is uniform in [0, d]") {
  FakeRandom random{{0.0, 0.5, 0.999}};
  RetryPolicy p = policy(Backoff::exponential, 1s);
  p.jitter = Jitter::full;
  // Attempt 3: d = 4000.
  CHECK(backoff_delay(p, 3, random) == 0ms);
  CHECK(backoff_delay(p, 3, random) == 2000ms);
  CHECK(backoff_delay(p, 3, random) == 3996ms);
  CHECK(random.calls == 3);
}

TEST_CASE("equal jitter is d/2 + uniform in [0, d/2]") {
  FakeRandom random{{0.0, 0.5, 0.999}};
  RetryPolicy p = policy(Backoff::exponential, 1s);
  p.jitter = Jitter::equal;
  CHECK(backoff_delay(p, 3, random) == 2000ms);
  CHECK(backoff_delay(p, 3, random) == 3000ms);
  CHECK(backoff_delay(p, 3, random) == 3998ms);
}

TEST_CASE("jitter applies after the cap") {
  FakeRandom random{{0.5, 0.999}};
  RetryPolicy p = policy(Backoff::exponential, 1s);
  p.max_delay = 5s;
  p.jitter = Jitter::full;
  CHECK(backoff_delay(p, 10, random) == 2500ms);
  CHECK(backoff_delay(p, 10, random) == 4995ms);
}

TEST_CASE("retry_reason without conditions: every failure retries") {
  RetryPolicy p = policy(Backoff::fixed, 1s);
  CHECK(retry_reason(p, exited(1)) == "exit code 1");
  CHECK(retry_reason(p, exited(75, "anything")) == "exit code 75");
  CHECK(retry_reason(p, FailureFacts{std::nullopt, false, ""}) == "failed");
  CHECK(retry_reason(p, FailureFacts{std::nullopt, true, ""}) == "timed out");
}

TEST_CASE("retry_reason with on_exit_codes") {
  RetryPolicy p = policy(Backoff::fixed, 1s);
  p.on_exit_codes = {75, 111};
  CHECK(retry_reason(p, exited(75)) == "exit code 75");
  CHECK(retry_reason(p, exited(111)) == "exit code 111");
  CHECK(retry_reason(p, exited(1)) == "");
  CHECK(retry_reason(p, exited(0)) == "");
  CHECK(retry_reason(p, FailureFacts{std::nullopt, false, ""}) == "");  // killed
}

TEST_CASE("retry_reason with on_output matches any line of the tail") {
  RetryPolicy p = policy(Backoff::fixed, 1s);
  p.on_output = {regex("rate limit|timed out")};
  std::string tail = "starting\nfetching https://api\nerror: upstream timed out after 30s\nbye\n";
  CHECK(retry_reason(p, exited(1, tail)) == "output matched 'rate limit|timed out'");
  CHECK(retry_reason(p, exited(1, "HTTP 429: rate limit exceeded")) ==
        "output matched 'rate limit|timed out'");
  CHECK(retry_reason(p, exited(1, "starting\nsegfault\n")) == "");
  CHECK(retry_reason(p, exited(1, "")) == "");
  // Anchors work per line.
  RetryPolicy anchored = policy(Backoff::fixed, 1s);
  anchored.on_output = {regex("^E[0-9]+$")};
  CHECK(retry_reason(anchored, exited(2, "ok\nE42\nmore\n")) == "output matched '^E[0-9]+$'");
  CHECK(retry_reason(anchored, exited(2, "ok E42\n")) == "");
}

TEST_CASE("retry_reason: a megabyte line neither crashes nor hangs") {
  RetryPolicy p = policy(Backoff::fixed, 1s);
  p.on_output = {regex("needle")};
  CHECK(retry_reason(p, exited(1, std::string(1 << 20, 'a'))) == "");
  // The whole line is searched (std::regex needed it cut at 4 KiB).
  CHECK(retry_reason(p, exited(1, std::string(1 << 20, 'a') + "needle\n")) ==
        "output matched 'needle'");
}

TEST_CASE("retry_reason: a pattern that backtracks exponentially ends") {
  RetryPolicy p = policy(Backoff::fixed, 1s);
  p.on_output = {regex("^(a+)+$")};
  CHECK(retry_reason(p, exited(1, std::string(40, 'a') + "b\n")) == "");
  CHECK(retry_reason(p, exited(1, "x\n" + std::string(40, 'a') + "\n")) ==
        "output matched '^(a+)+$'");
}

TEST_CASE("retry_reason and timeouts") {
  RetryPolicy p = policy(Backoff::fixed, 1s);
  FailureFacts timed_out{std::nullopt, true, "rate limit"};
  CHECK(retry_reason(p, timed_out) == "timed out");
  p.on_timeout = false;
  CHECK(retry_reason(p, timed_out) == "");
  // on_timeout false does not stop other failures from retrying.
  CHECK(retry_reason(p, exited(1)) == "exit code 1");
  p.on_timeout = true;
  p.on_exit_codes = {75};
  CHECK(retry_reason(p, timed_out) == "timed out");
}

TEST_CASE("retry_reason with several conditions: any match retries") {
  RetryPolicy p = policy(Backoff::fixed, 1s);
  p.on_exit_codes = {75};
  p.on_output = {regex("rate limit"), regex("timed out")};
  CHECK(retry_reason(p, exited(75, "")) == "exit code 75");
  CHECK(retry_reason(p, exited(1, "rate limit exceeded")) == "output matched 'rate limit'");
  CHECK(retry_reason(p, exited(1, "connect timed out")) == "output matched 'timed out'");
  CHECK(retry_reason(p, exited(1, "disk full")) == "");
}
