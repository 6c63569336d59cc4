// format_rfc3339 / parse_rfc3339 (spec: times are UTC, RFC 3339 with milliseconds).

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include "util/time.hpp"

namespace {

using std::chrono::milliseconds;
using wfo::format_clock;
using wfo::format_rfc3339;
using wfo::parse_rfc3339;
using wfo::SystemTime;

SystemTime at_ms(int64_t ms) {
  return SystemTime{milliseconds{ms}};
}

// The C library's answer, for comparison.
std::string reference(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  int frac = static_cast<int>(ms % 1000);
  if (frac < 0) frac += 1000, --secs;
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

}  // namespace

TEST_CASE("format_rfc3339 writes UTC with milliseconds") {
  CHECK(format_rfc3339(at_ms(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(at_ms(1'795'341'600'123)) == "2026-11-22T10:00:00.123Z");
  CHECK(format_rfc3339(at_ms(1'795'341'600'005)) == "2026-11-22T10:00:00.005Z");
  CHECK(format_rfc3339(at_ms(-500)) == "1969-12-31T23:59:59.500Z");
  CHECK(format_rfc3339(at_ms(253'402'300'799'999)) == "9999-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(at_ms(253'402'300'800'000)) == "10000-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(at_ms(-62'167'219'200'001)) == "-001-12-31T23:59:59.999Z");
}

TEST_CASE("parse_rfc3339 reads what format_rfc3339 writes") {
  CHECK(parse_rfc3339("2026-11-22T10:00:00.123Z") == at_ms(1'795'341'600'123));
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{999}, int64_t{-1}, int64_t{-500},
                     int64_t{951'782'400'000} /* 2000-02-29 */, int64_t{1'795'341'600'123},
                     int64_t{4'102'444'799'999} /* 2099-12-31T23:59:59.999Z */}) {
    CAPTURE(ms);
    CHECK(parse_rfc3339(format_rfc3339(at_ms(ms))) == at_ms(ms));
  }
  SystemTime now = wfo::system_now();
  CHECK(parse_rfc3339(format_rfc3339(now)) == now);
  // Every day and time of 1900-2200, sampled: the civil-date arithmetic against gmtime_r.
  uint64_t x = 88172645463325252ull;  // xorshift64
  for (int i = 0; i < 20'000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int64_t ms = static_cast<int64_t>(x % 9'467'280'000'000ull) - 2'208'988'800'000;
    CAPTURE(ms);
    REQUIRE(format_rfc3339(at_ms(ms)) == reference(ms));
    REQUIRE(parse_rfc3339(format_rfc3339(at_ms(ms))) == at_ms(ms));
  }
  CHECK(parse_rfc3339("2016-12-31T23:59:60.000Z") == parse_rfc3339("2017-01-01T00:00:00.000Z"));
}

TEST_CASE("parse_rfc3339 refuses other shapes") {
  for (const char* text :
       {"", "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123", "2026-11-22 10:00:00.123Z",
        "2026-11-22T10:00:00.123+01:00", "2026-11-22T10:00:00.1234Z", "not a time at all.....Z",
        "2026/11/22T10:00:00.123Z", "2026-02-30T10:00:00.123Z", "2026-13-01T10:00:00.123Z",
        "2026-11-22T24:00:00.123Z", "2026-11-22T10:60:00.123Z", "2026-11-22T10:00:00.12aZ",
        "+026-11-22T10:00:00.123Z", "2026-11-22T 1:00:00.123Z"}) {
    CAPTURE(text);
    CHECK(parse_rfc3339(text) == std::nullopt);
  }
}

TEST_CASE("format_clock is the local HH:MM:SS of each time, within a second and across") {
  // It keeps the text of the last second seen; every call must still match localtime_r.
  auto local = [](int64_t ms) {
    time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm {};
    localtime_r(&secs, &tm);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    return std::string(buf);
  };
  for (int64_t ms : {int64_t{1'795'341'600'000}, int64_t{1'795'341'600'999},
                     int64_t{1'795'341'601'000}, int64_t{1'795'341'600'500}, int64_t{-1},
                     int64_t{0}, int64_t{1'795'345'199'999}, int64_t{1'795'345'200'000}})
    CHECK(format_clock(at_ms(ms)) == local(ms));
}
