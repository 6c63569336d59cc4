// Tests of to_display_string and truthy, the two conversions the rest of wfo uses.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "expr/expr.hpp"

using wfo::expr::to_display_string;
using wfo::expr::truthy;
using wfo::expr::Value;

TEST_CASE("to_display_string follows GitHub's string conversion") {
  CHECK(to_display_string(Value(nullptr)) == "");
  CHECK(to_display_string(Value(true)) == "true");
  CHECK(to_display_string(Value(false)) == "false");
  CHECK(to_display_string(Value("text")) == "text");
  CHECK(to_display_string(Value("")) == "");
  CHECK(to_display_string(Value(3.0)) == "3");
  CHECK(to_display_string(Value(-3.0)) == "-3");
  CHECK(to_display_string(Value(-0.0)) == "0");
  CHECK(to_display_string(Value(0.1)) == "0.1");
  CHECK(to_display_string(Value(1.5)) == "1.5");
  CHECK(to_display_string(Value(-2.25)) == "-2.25");
  CHECK(to_display_string(Value(1e20)) == "100000000000000000000");
  CHECK(to_display_string(Value(1e21)) == "1e+21");
  CHECK(to_display_string(Value(123456789012345680000.0)) == "123456789012345680000");
  CHECK(to_display_string(Value(0.000001)) == "0.000001");
  CHECK(to_display_string(Value(1.5e-7)) == "1.5e-7");
  CHECK(to_display_string(Value(1.7976931348623157e308)) == "1.7976931348623157e+308");
  CHECK(to_display_string(Value(5e-324)) == "5e-324");
  CHECK(to_display_string(Value(0.30000000000000004)) == "0.30000000000000004");
  CHECK(to_display_string(Value(std::numeric_limits<double>::quiet_NaN())) == "NaN");
  CHECK(to_display_string(Value(std::numeric_limits<double>::infinity())) == "Infinity");
  CHECK(to_display_string(Value(-std::numeric_limits<double>::infinity())) == "-Infinity");
  CHECK(to_display_string(Value(42)) == "42");
  CHECK(to_display_string(Value(std::int64_t{-7})) == "-7");
  CHECK(to_display_string(Value(std::uint64_t{18446744073709551615u})) == "18446744073709551615");
  CHECK(to_display_string(Value::parse(R"([1, 2.0, "a", null, {"k": [true]}])")) ==
        R"([1,2,"a",null,{"k":[true]}])");
  CHECK(to_display_string(Value::parse("{}")) == "{}");
  CHECK(to_display_string(Value::array()) == "[]");
  CHECK(to_display_string(Value(std::string("bad \xff utf-8"))) == "bad \xff utf-8");
  CHECK(to_display_string(Value::array({std::string("\xff")})) == "[\"\xef\xbf\xbd\"]");
}

TEST_CASE("truthy follows GitHub's truthiness") {
  CHECK_FALSE(truthy(Value(nullptr)));
  CHECK_FALSE(truthy(Value(false)));
  CHECK_FALSE(truthy(Value(0)));
  CHECK_FALSE(truthy(Value(0.0)));
  CHECK_FALSE(truthy(Value(-0.0)));
  CHECK_FALSE(truthy(Value(std::numeric_limits<double>::quiet_NaN())));
  CHECK_FALSE(truthy(Value("")));
  CHECK_FALSE(truthy(Value(std::uint64_t{0})));
  CHECK(truthy(Value(true)));
  CHECK(truthy(Value(-1)));
  CHECK(truthy(Value(0.5)));
  CHECK(truthy(Value(std::numeric_limits<double>::infinity())));
  CHECK(truthy(Value("0")));
  CHECK(truthy(Value("false")));
  CHECK(truthy(Value::array()));
  CHECK(truthy(Value::object()));
}
