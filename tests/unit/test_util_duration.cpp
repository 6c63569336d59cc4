// parse_duration, format_duration_spec and format_duration (spec: durations `500ms 30s 5m
// 1h30m`).

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

#include "util/duration.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using wfo::format_duration;
using wfo::format_duration_spec;
using wfo::parse_duration;

constexpr int64_t k_hundred_years_ms = int64_t{100} * 365 * 86'400'000;

}  // namespace

TEST_CASE("parse_duration reads each unit and their combinations") {
  CHECK(parse_duration("500ms") == milliseconds{500});
  CHECK(parse_duration("30s") == milliseconds{30'000});
  CHECK(parse_duration("5m") == milliseconds{300'000});
  CHECK(parse_duration("2h") == milliseconds{7'200'000});
  CHECK(parse_duration("1h30m") == milliseconds{5'400'000});
  CHECK(parse_duration("1d") == milliseconds{86'400'000});
  CHECK(parse_duration("1s500ms") == milliseconds{1'500});
  CHECK(parse_duration("1d2h3m4s5ms") == milliseconds{93'784'005});
  CHECK(parse_duration("0") == milliseconds{0});
  CHECK(parse_duration("0s") == milliseconds{0});
}

TEST_CASE("parse_duration tells m from ms") {
  CHECK(parse_duration("5m") == milliseconds{300'000});
  CHECK(parse_duration("5ms") == milliseconds{5});
  CHECK(parse_duration("5m5ms") == milliseconds{300'005});
}

TEST_CASE("parse_duration refuses anything else") {
  for (const char* text : {"5 minutes", "-1s", "1m1h", "", "10", "1ms1s", "1s1s", "s", "1x", "1S",
                           " 1s", "1s ", "1.5s", "+1s", "1h 30m", "0x10s"}) {
    CAPTURE(text);
    CHECK(parse_duration(text) == std::nullopt);
  }
}

TEST_CASE("parse_duration accepts up to 100 years and refuses overflow") {
  CHECK(parse_duration("36500d") == milliseconds{k_hundred_years_ms});
  CHECK(parse_duration("36501d") == std::nullopt);
  CHECK(parse_duration("36500d1ms") == std::nullopt);
  CHECK(parse_duration("3153600000001ms") == std::nullopt);
  CHECK(parse_duration("99999999999999999999999s") == std::nullopt);
  // Values that fit in the digit check but overflow int64 once multiplied by the unit.
  CHECK(parse_duration("200000000000d") == std::nullopt);
  CHECK(parse_duration("3000000000000d") == std::nullopt);
  CHECK(parse_duration("3000000000000h") == std::nullopt);
}

TEST_CASE("format_duration_spec writes what parse_duration reads back exactly") {
  CHECK(format_duration_spec(0ms) == "0");
  CHECK(format_duration_spec(-5ms) == "0");
  CHECK(format_duration_spec(500ms) == "500ms");
  CHECK(format_duration_spec(30s) == "30s");
  CHECK(format_duration_spec(5min) == "5m");
  CHECK(format_duration_spec(90min) == "1h30m");
  CHECK(format_duration_spec(24h) == "1d");
  CHECK(format_duration_spec(1500ms) == "1s500ms");
  CHECK(format_duration_spec(milliseconds{93'784'005}) == "1d2h3m4s5ms");
  for (int64_t ms :
       {int64_t{0}, int64_t{1}, int64_t{999}, int64_t{1000}, int64_t{61'001}, int64_t{3'600'000},
        int64_t{5'400'000}, int64_t{86'400'001}, int64_t{93'784'005}, k_hundred_years_ms}) {
    CAPTURE(ms);
    auto text = format_duration_spec(milliseconds{ms});
    CHECK(parse_duration(text) == milliseconds{ms});
  }
}

TEST_CASE("format_duration is compact for people") {
  CHECK(format_duration(0ms) == "0ms");
  CHECK(format_duration(850ms) == "850ms");
  CHECK(format_duration(3200ms) == "3.2s");
  CHECK(format_duration(65s) == "1m05s");
  CHECK(format_duration(123min) == "2h03m");
  CHECK(format_duration(-3ms) == "0ms");
}
