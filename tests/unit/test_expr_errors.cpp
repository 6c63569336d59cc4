// Table-driven tests of expression errors: each message whole, with the line and column in the
// file, for syntax errors (at parse time) and evaluation errors (format, fromJSON).

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "expr/expr.hpp"

namespace {

using wfo::Mark;
using wfo::expr::Expression;
using wfo::expr::Value;

/// "line:column: message" of the error parsing, then evaluating, `source` at `mark`; or "ok".
std::string error_of(std::string_view source, Mark mark = {1, 1}) {
  static const Value context = Value::parse(R"({"params": {"bad": "{oops", "x": "1"}})");
  auto parsed = Expression::parse(source, mark);
  wfo::Error error;
  if (parsed) {
    auto value = parsed->evaluate(context, {});
    if (value) return "ok";
    error = value.error();
  } else {
    error = parsed.error();
  }
  CHECK(error.kind == wfo::ErrorKind::invalid_workflow);
  CHECK(error.file.empty());
  return std::to_string(error.line) + ":" + std::to_string(error.column) + ": " + error.message;
}

struct Case {
  std::string_view source;
  std::string_view expected;
};

// clang-format off
const Case k_cases[] = {
  {"params.x ==", "1:12: unexpected end of expression"},
  {"1 <", "1:4: unexpected end of expression"},
  {"!", "1:2: unexpected end of expression"},
  {"'a' == 'b' &&", "1:14: unexpected end of expression"},
  {"params.", "1:8: unexpected end of expression"},
  {"params.(", "1:8: unexpected '(' in expression"},
  {"1 == 1)", "1:7: unexpected ')' in expression"},
  {")", "1:1: unexpected ')' in expression"},
  {"1 ==== 2", "1:5: unexpected '==' in expression"},
  {"params.x params.y", "1:10: unexpected 'params' in expression"},
  {"'a'[0]", "1:4: unexpected '[' in expression"},
  {"true.x", "1:5: unexpected '.x' in expression"},
  {"(1 == 1", "1:8: expected ')' to close '(' in expression"},
  {"(1 == 1 2", "1:9: expected ')' to close '(' in expression"},
  {"params['x'", "1:11: expected ']' to close '[' in expression"},
  {"params['x' 'y']", "1:12: expected ']' to close '[' in expression"},
  {"'abc", "1:1: unterminated string in expression"},
  {"params.x == 'it''s", "1:13: unterminated string in expression"},
  {"params.x = 1", "1:10: unexpected '=' in expression (use '==' to compare)"},
  {"true & false", "1:6: unexpected '&' in expression (use '&&')"},
  {"true | false", "1:6: unexpected '|' in expression (use '||')"},
  {"1 + 2", "1:3: unexpected '+' in expression"},
  {"1 - 2", "1:3: unexpected '-' in expression"},
  {"12abc", "1:1: invalid number '12abc' in expression"},
  {"1.2.3", "1:1: invalid number '1.2.3' in expression"},
  {"0x", "1:1: invalid number '0x' in expression"},
  {"params.*", "1:8: unexpected '*' in expression (object filters are not supported)"},
  {"$x", "1:1: unexpected '$x' in expression"},
  {"params.a$b", "1:8: unexpected 'a$b' in expression"},
  {"params.x == \"a\"", "1:13: unexpected '\"a\"' in expression"},
  {"'x' 'y'", "1:5: unexpected string 'y' in expression"},
  {"", "1:1: empty expression"},
  {"  \n\t ", "1:1: empty expression"},
  {"parms.feature", "1:1: unknown context 'parms' (did you mean 'params'?)"},
  {"1 == Params.x && inptus.y", "1:18: unknown context 'inptus' (did you mean 'inputs'?)"},
  {"github.ref", "1:1: unknown context 'github'"},
  {"success", "1:1: unknown context 'success' (did you mean 'success()'?)"},
  {"contains", "1:1: unknown context 'contains' (did you mean 'contains()'?)"},
  {"lenght(params.x)", "1:1: unknown function 'lenght'"},
  {"contain('a', 'b')", "1:1: unknown function 'contain' (did you mean 'contains'?)"},
  {"contains('a')", "1:1: function 'contains' takes 2 arguments, got 1"},
  {"x == 1 || contains('a', 'b', 'c')", "1:1: unknown context 'x'"},
  {"1 == 1 || startsWith('a', 'b', 'c')", "1:11: function 'startsWith' takes 2 arguments, got 3"},
  {"format()", "1:1: function 'format' takes at least 1 argument, got 0"},
  {"join()", "1:1: function 'join' takes 1 or 2 arguments, got 0"},
  {"join(1, 2, 3)", "1:1: function 'join' takes 1 or 2 arguments, got 3"},
  {"toJSON()", "1:1: function 'toJSON' takes 1 argument, got 0"},
  {"fromjson(1, 2)", "1:1: function 'fromJSON' takes 1 argument, got 2"},
  {"always(1)", "1:1: function 'always' takes no arguments, got 1"},
  {"contains('a' 'b')", "1:14: unexpected string 'b' in expression (expected ',' or ')')"},
  {"contains('a',", "1:14: expected ')' to close '(' in expression"},
  {"contains('a', )", "1:15: unexpected ')' in expression"},
  {"contains(", "1:10: expected ')' to close '(' in expression"},
  // evaluation errors name the expression, and point at the call that failed
  {"fromJSON(params.bad)",
   "1:1: cannot evaluate 'fromJSON(params.bad)': fromJSON: invalid JSON: parse error at line 1, "
   "column 2: syntax error while parsing object key - invalid literal; last read: '{o'; "
   "expected string literal"},
  {"true && fromJSON('')",
   "1:9: cannot evaluate 'true && fromJSON('')': fromJSON: invalid JSON: parse error at line 1, "
   "column 1: syntax error while parsing value - unexpected end of input; expected '[', '{', or "
   "a literal"},
  {"fromJSON('1e999')",
   "1:1: cannot evaluate 'fromJSON('1e999')': fromJSON: invalid JSON: number overflow parsing "
   "'1e999'"},
  {"format('{0} {1}', 'a')",
   "1:1: cannot evaluate 'format('{0} {1}', 'a')': format: '{1}' refers to a value that was not "
   "given (1 given, counted from {0})"},
  {"format('{99999999999999999999}', 'a')",
   "1:1: cannot evaluate 'format('{99999999999999999999}', 'a')': format: "
   "'{99999999999999999999}' refers to a value that was not given (1 given, counted from {0})"},
  {"format('{18446744073709551615}', 'a')",
   "1:1: cannot evaluate 'format('{18446744073709551615}', 'a')': format: "
   "'{18446744073709551615}' refers to a value that was not given (1 given, counted from {0})"},
  {"format('{x}', 1)",
   "1:1: cannot evaluate 'format('{x}', 1)': format: invalid format string '{x}' (write '{{' "
   "and '}}' for literal braces)"},
  {"format('a } b', 1)",
   "1:1: cannot evaluate 'format('a } b', 1)': format: invalid format string 'a } b' (write "
   "'{{' and '}}' for literal braces)"},
  {"format('{0', 1)",
   "1:1: cannot evaluate 'format('{0', 1)': format: invalid format string '{0' (write '{{' and "
   "'}}' for literal braces)"},
  {"format('{}', 1)",
   "1:1: cannot evaluate 'format('{}', 1)': format: invalid format string '{}' (write '{{' and "
   "'}}' for literal braces)"},
};
// clang-format on

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("expression errors give the whole message and the place") {
  for (const Case& c : k_cases) {
    CAPTURE(c.source);
    CHECK(error_of(c.source) == c.expected);
  }
}

TEST_CASE("error places are in the file: the source starts at the mark") {
  CHECK(error_of("  params.x == )", {5, 10}) == "5:24: unexpected ')' in expression");
  CHECK(error_of("true && fromJSON(params.bad)", {7, 3}).starts_with("7:11: cannot evaluate"));
  CHECK(error_of("", {0, 0}) == "0:0: empty expression");  // an unknown place stays unknown
  CHECK(error_of("bad.x", {0, 0}) == "0:0: unknown context 'bad'");
}

TEST_CASE("a multi-line source (a YAML block scalar) advances the line") {
  CHECK(error_of("params.x ==\n  'a' &&\n  bad.y", {3, 10}) == "5:3: unknown context 'bad'");
  CHECK(error_of("params.x == 'a' &&\r\nnope", {2, 7}) == "3:1: unknown context 'nope'");
  CHECK(error_of("\n\n   'abc\ndef", {1, 1}) == "3:4: unterminated string in expression");
  CHECK(error_of("'multi\nline' == 1 &&\n  foo(1)", {4, 9}) == "6:3: unknown function 'foo'");
  CHECK(error_of("format('{0}\n{1}',\n  'a')", {1, 5}).starts_with("1:5: cannot evaluate"));
}

TEST_CASE("nesting is bounded, so hostile input cannot exhaust the stack") {
  const std::string ok = repeat("(", 60) + "1" + repeat(")", 60);
  CHECK(error_of(ok) == "ok");
  CHECK(error_of(repeat("(", 100) + "1" + repeat(")", 100)) ==
        "1:65: expression nested too deeply");
  CHECK(error_of(repeat("(", 60000)) == "1:65: expression nested too deeply");
  CHECK(error_of(repeat("!", 100) + "true").ends_with(": expression nested too deeply"));
  CHECK(error_of(repeat("1 == ", 100) + "1").ends_with(": expression nested too deeply"));
  CHECK(error_of(repeat("1 < ", 100) + "1").ends_with(": expression nested too deeply"));
  CHECK(error_of("params" + repeat(".a", 100)).ends_with(": expression nested too deeply"));
  CHECK(error_of("params" + repeat("['a']", 100)).ends_with(": expression nested too deeply"));
  CHECK(error_of(repeat("format(", 100) + "1" + repeat(")", 100))
            .ends_with(": expression nested too deeply"));
  CHECK(error_of(repeat("params[", 100) + "1" + repeat("]", 100))
            .ends_with(": expression nested too deeply"));
  // A long flat chain is one node with many operands, not a deep tree.
  CHECK(error_of(repeat("false || ", 5000) + "true") == "ok");
  CHECK(error_of(repeat("true && ", 5000) + "true") == "ok");
  CHECK(error_of("params" + repeat(".a", 50)) == "ok");
}

TEST_CASE("the source length is bounded") {
  const std::string long_string = "'" + std::string(64 * 1024 - 2, 'x') + "'";
  CHECK(error_of(long_string) == "ok");
  CHECK(error_of(long_string + " ") == "1:1: expression too long");
  CHECK(error_of(std::string(1 << 20, ' '), {2, 4}) == "2:4: expression too long");
}

TEST_CASE("a fromJSON of deeply nested JSON is refused, not recursed into") {
  const std::string deep = "fromJSON('" + repeat("[", 10000) + repeat("]", 10000) + "')";
  CHECK(error_of(deep).ends_with("fromJSON: invalid JSON: nested deeper than 256 levels"));
  const std::string fine = "fromJSON('" + repeat("[", 200) + repeat("]", 200) + "')";
  CHECK(error_of(fine) == "ok");
  // Brackets inside JSON strings do not count.
  CHECK(error_of("fromJSON('\"" + repeat("[", 1000) + "\"')") == "ok");
}
