// Table-driven tests of expression values: literals, contexts, property access and indexing,
// operators with GitHub's coercions and short-circuit values, and every function.

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "error_text.hpp"
#include "expr/expr.hpp"

namespace {

using wfo::expr::Expression;
using wfo::expr::StatusFlags;
using wfo::expr::Value;

const Value& fixture() {
  static const Value context = Value::parse(R"({
    "params": {"feature": "login", "env": "prod", "count": "3", "empty": "", "Mixed": "Yes",
               "cfg": "{\"a\": [1, 2, {\"b\": true}], \"n\": 1.5}", "bad": "{oops",
               "spaces": "  42  ", "which": "build"},
    "env": {"HOME": "/home/u", "PATH": "/bin"},
    "inputs": {"n": 5, "f": 1.5, "zero": 0, "t": true, "nothing": null,
               "list": ["a", "B", 3, null, true], "nums": [1, 2, 3], "obj": {"k": "v"},
               "nested": {"a": {"b": {"c": "deep"}}}, "empty_list": [],
               "big": 12345678901234567890},
    "matrix": {"os": "linux", "n": 2},
    "item": "x",
    "run": {"id": "r-1"},
    "tasks": {
      "build": {"status": "succeeded", "exit_code": 0,
                "outputs": {"x": "1", "path": "out/a.yaml", "list": [1, 2]}},
      "test": {"status": "failed", "exit_code": 3, "outputs": {}},
      "1st": {"status": "skipped"},
      "my-task": {"status": "succeeded"}
    }
  })");
  return context;
}

struct Case {
  std::string_view source;
  std::string_view expected;  ///< JSON of the value
};

// clang-format off
const Case k_cases[] = {
  // literals
  {"'hello'", R"("hello")"},
  {"'it''s'", R"("it's")"},
  {"''", R"("")"},
  {"'}}'", R"("}}")"},
  {"42", "42"},
  {"-9.5", "-9.5"},
  {"0x1F", "31"},
  {"1e3", "1000"},
  {"2.5E-1", "0.25"},
  {".5", "0.5"},
  {"+7", "7"},
  {"true", "true"},
  {"false", "false"},
  {"null", "null"},
  {"0xff == 255", "true"},
  {"Infinity > 1e308", "true"},
  {"-Infinity < -1e308", "true"},
  {"1e999 == Infinity", "true"},
  {"NaN == NaN", "false"},
  // contexts, properties, indexes
  {"params.feature", R"("login")"},
  {"params['feature']", R"("login")"},
  {"params.FEATURE", R"("login")"},
  {"PARAMS.feature", R"("login")"},
  {"params.mixed", R"("Yes")"},
  {"params.missing", "null"},
  {"params.missing.deeper['x'][0]", "null"},
  {"inputs.nested.a.b.c", R"("deep")"},
  {"inputs.nested['a']['b'].c", R"("deep")"},
  {"inputs . nested . a['b'] . c", R"("deep")"},
  {"inputs.list[0]", R"("a")"},
  {"inputs.list[1.7]", R"("B")"},
  {"inputs.list['2']", "3"},
  {"inputs.list[5]", "null"},
  {"inputs.list[-1]", "null"},
  {"inputs.list[NaN]", "null"},
  {"inputs.nums[null]", "1"},
  {"inputs.nums[true]", "2"},
  {"inputs.obj[0]", "null"},
  {"inputs.obj[inputs.nums]", "null"},
  {"inputs.nothing.x", "null"},
  {"inputs.nothing[0]", "null"},
  {"params.feature[0]", "null"},
  {"params.feature.length", "null"},
  {"tasks.build.outputs.x", R"("1")"},
  {"tasks['build'].status", R"("succeeded")"},
  {"tasks[params.which].exit_code", "0"},
  {"tasks.1st.status", R"("skipped")"},
  {"tasks.my-task.status", R"("succeeded")"},
  {"inputs.nums", "[1, 2, 3]"},
  {"inputs.obj", R"({"k": "v"})"},
  {"item", R"("x")"},
  {"run.id", R"("r-1")"},
  {"matrix.n", "2"},
  {"env.HOME", R"("/home/u")"},
  {"(inputs.nested).a.b.c", R"("deep")"},
  {"fromJSON(params.cfg).a[2].b", "true"},
  // !, && and || with their operand values and short-circuits
  {"!true", "false"},
  {"!0", "true"},
  {"!''", "true"},
  {"!'a'", "false"},
  {"!!null", "false"},
  {"!inputs.empty_list", "false"},
  {"true && 'yes'", R"("yes")"},
  {"'' && 'yes'", R"("")"},
  {"null || 'default'", R"("default")"},
  {"params.feature || 'default'", R"("login")"},
  {"params.empty || params.missing", "null"},
  {"0 || false", "false"},
  {"0 && false", "0"},
  {"1 || fromJSON('{bad')", "1"},
  {"false && fromJSON('{bad')", "false"},
  {"true || false && false", "true"},
  {"(true || false) && false", "false"},
  {"!false && false", "false"},
  {"1 < 2 == true", "true"},
  {"'a' == 'A' && 2 > 1", "true"},
  {"params.env == 'prod' || params.env == 'staging'", "true"},
  {"inputs.n > 3 && inputs.n < 10", "true"},
  {"1 == 1 == 1", "true"},
  {"2 == 2 == 2", "false"},
  // coercions
  {"null == 0", "true"},
  {"null == ''", "true"},
  {"null == false", "true"},
  {"null == null", "true"},
  {"null < 1", "true"},
  {"null >= null", "true"},
  {"true == 1", "true"},
  {"false == 0", "true"},
  {"true == 'true'", "false"},
  {"true == '1'", "true"},
  {"inputs.t == 1", "true"},
  {"false < true", "true"},
  {"true > false", "true"},
  {"'' == 0", "true"},
  {"params.spaces == 42", "true"},
  {"'0x10' == 16", "true"},
  {"'0b101' == 5", "true"},
  {"'0o17' == 15", "true"},
  {"'-0x10' == -16", "false"},
  {"'1.' == 1", "true"},
  {"'.' == 0", "false"},
  {"'1_000' == 1000", "false"},
  {"'1e999' > 1e308", "true"},
  {"'1e-999' == 0", "true"},
  {"'-Infinity' < 0", "true"},
  {"'abc' == 0", "false"},
  {"'abc' != 0", "true"},
  {"'abc' < 1", "false"},
  {"'abc' >= 1", "false"},
  {"'ABC' == 'abc'", "true"},
  {"'abc' != 'ABC'", "false"},
  {"'a' < 'B'", "true"},
  {"'b' > 'A'", "true"},
  {"'abc' <= 'ABC'", "true"},
  {"'10' < '9'", "true"},
  {"'10' < 9", "false"},
  {"3 == '3'", "true"},
  {"params.count == 3", "true"},
  {"params.count > 2.5", "true"},
  {"1.0 == 1", "true"},
  {"0.1 == .1", "true"},
  {"inputs.big > 1e19", "true"},
  {"NaN != NaN", "true"},
  {"NaN < 1", "false"},
  {"NaN >= NaN", "false"},
  {"inputs.list == inputs.list", "true"},
  {"inputs.obj == inputs.obj", "true"},
  {"inputs.obj != fromJSON('{\"k\": \"v\"}')", "true"},
  {"fromJSON('[1]') == fromJSON('[1]')", "false"},
  {"inputs.list == 0", "false"},
  {"inputs.nums == null", "false"},
  {"inputs.nums >= inputs.nums", "true"},
  {"inputs.nums < inputs.nums", "false"},
  // contains, startsWith, endsWith
  {"contains('Hello World', 'WORLD')", "true"},
  {"contains('abc', 'd')", "false"},
  {"contains('abc', '')", "true"},
  {"contains(inputs.list, 'b')", "true"},
  {"contains(inputs.list, 3)", "true"},
  {"contains(inputs.list, '3')", "true"},
  {"contains(inputs.list, null)", "true"},
  {"contains(inputs.nums, 4)", "false"},
  {"contains(inputs.empty_list, null)", "false"},
  {"contains(123, 2)", "true"},
  {"contains(true, 'RU')", "true"},
  {"contains(inputs.obj, 'k')", "false"},
  {"contains('abc', inputs.list)", "false"},
  {"contains(fromJSON('[[1]]'), fromJSON('[1]'))", "false"},
  {"contains(tasks.build.outputs.list, 2)", "true"},
  {"CONTAINS('ab', 'B')", "true"},
  {"startsWith('Hello', 'he')", "true"},
  {"startsWith('Hello', 'lo')", "false"},
  {"endsWith('Hello', 'LO')", "true"},
  {"endsWith(tasks.build.outputs.path, '.YAML')", "true"},
  {"startsWith(inputs.list, 'a')", "false"},
  {"endsWith('a', inputs.obj)", "false"},
  {"startswith(12345, 12)", "true"},
  // format, join, toJSON, fromJSON
  {"format('{0} {1}', 'a', 'b')", R"("a b")"},
  {"format('{1}{0}{1}', 'x', 'y')", R"("yxy")"},
  {"format('{{0}} {0}', 'v')", R"("{0} v")"},
  {"format('}}{{', 1)", R"("}{")"},
  {"format('n={0} b={1} z={2} i={3}', 1.5, true, null, 3)", R"("n=1.5 b=true z= i=3")"},
  {"format('plain')", R"("plain")"},
  {"format('{0}', inputs.nums)", R"("[1,2,3]")"},
  {"format('{00}', 'zero')", R"("zero")"},
  {"join(inputs.nums)", R"("1,2,3")"},
  {"join(inputs.nums, ' | ')", R"("1 | 2 | 3")"},
  {"join(inputs.list, '')", R"("aB3true")"},
  {"join(inputs.nums, inputs.obj)", R"("1,2,3")"},
  {"join('abc', '-')", R"("abc")"},
  {"join(inputs.obj)", R"("")"},
  {"join(inputs.empty_list)", R"("")"},
  {"toJSON(inputs.obj)", R"("{\n  \"k\": \"v\"\n}")"},
  {"toJSON(inputs.nums)", R"("[\n  1,\n  2,\n  3\n]")"},
  {"toJSON('a')", R"("\"a\"")"},
  {"toJSON(3)", R"("3")"},
  {"toJSON(0.5)", R"("0.5")"},
  {"toJSON(null)", R"("null")"},
  {"toJSON(fromJSON('{\"a\":1.0}'))", R"("{\n  \"a\": 1\n}")"},
  {"toJSON(fromJSON('[]'))", R"("[]")"},
  {"fromJSON('[1, \"two\", null]')", R"([1, "two", null])"},
  {"fromJSON('true')", "true"},
  {"fromJSON(' {\"a\":{\"b\":2}} ').a.b", "2"},
  {"fromJSON(params.count)", "3"},
  {"fromJSON(toJSON(inputs.obj)).k", R"("v")"},
};
// clang-format on

}  // namespace

TEST_CASE("expressions evaluate to GitHub's values") {
  int count = 0;
  for (const Case& c : k_cases) {
    CAPTURE(c.source);
    auto parsed = Expression::parse(c.source, {1, 1});
    REQUIRE_MESSAGE(parsed, wfo::test::error_text(parsed));
    auto value = parsed->evaluate(fixture(), StatusFlags{});
    REQUIRE_MESSAGE(value, wfo::test::error_text(value));
    // nlohmann's == compares numbers by value: the literal 42 (a double) equals the JSON 42.
    CHECK_MESSAGE(*value == Value::parse(c.expected), value->dump());
    ++count;
  }
  CHECK(count >= 120);
}

TEST_CASE("a missing context, or a context that is no object, reads as null") {
  for (const char* context : {"{}", "[]", "\"text\"", "null"}) {
    CAPTURE(context);
    auto parsed = Expression::parse("params.feature || tasks.build.outputs.x || 'none'", {1, 1});
    REQUIRE(parsed);
    auto value = parsed->evaluate(Value::parse(context), StatusFlags{});
    REQUIRE(value);
    CHECK(*value == "none");
  }
}

TEST_CASE("status functions read the flags") {
  struct StatusCase {
    std::string_view source;
    StatusFlags flags;
    bool expected;
  };
  const StatusFlags ok{true, false, false};
  const StatusFlags failed{false, true, false};
  const StatusFlags cancelled{false, false, true};
  const StatusCase cases[] = {
      {"success()", ok, true},
      {"failure()", ok, false},
      {"always()", ok, true},
      {"cancelled()", ok, false},
      {"success()", failed, false},
      {"failure()", failed, true},
      {"always()", failed, true},
      {"cancelled()", cancelled, true},
      {"!cancelled()", cancelled, false},
      {"always()", cancelled, true},
      {"Success() || Failure()", cancelled, false},
      {"failure() && tasks.test.status == 'failed'", failed, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.source);
    auto parsed = Expression::parse(c.source, {1, 1});
    REQUIRE(parsed);
    CHECK(parsed->uses_status_function());
    auto value = parsed->evaluate(fixture(), c.flags);
    REQUIRE(value);
    CHECK(*value == c.expected);
  }
}

TEST_CASE("an expression is cheap to copy and evaluates the same") {
  auto parsed = Expression::parse("format('{0}-{1}', params.feature, matrix.os)", {1, 1});
  REQUIRE(parsed);
  const Expression copy = *parsed;
  CHECK(copy.source() == "format('{0}-{1}', params.feature, matrix.os)");
  CHECK(copy.evaluate(fixture(), {}).value() == "login-linux");
  CHECK(parsed->evaluate(fixture(), {}).value() == "login-linux");
  CHECK_FALSE(copy.uses_status_function());
}

TEST_CASE("evaluating an expression that was never parsed is an internal error") {
  const Expression empty;
  auto value = empty.evaluate(fixture(), {});
  REQUIRE_FALSE(value);
  CHECK(value.error().kind == wfo::ErrorKind::internal);
}
