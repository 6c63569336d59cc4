// Tests of ParsedTemplate: splitting at `${{ }}`, rendering, evaluate(), references, status
// functions, parse_condition, and the places of errors in the file.

#include <doctest/doctest.h>

#include <string>

#include "error_text.hpp"
#include "expr/expr.hpp"
#include "util/strings.hpp"

namespace {

using wfo::Mark;
using wfo::Template;
using wfo::expr::ParsedTemplate;
using wfo::expr::Reference;
using wfo::expr::Value;

const Value& fixture() {
  static const Value context = Value::parse(R"({
    "params": {"feature": "login", "env": "prod", "which": "build", "cfg": "{\"a\": 1}"},
    "inputs": {"n": 5, "f": 1.5, "nums": [1, 2, 3]},
    "matrix": {"os": "linux"},
    "run": {"id": "r-1"},
    "tasks": {"build": {"status": "succeeded", "outputs": {"x": "1"}}}
  })");
  return context;
}

ParsedTemplate parse_ok(std::string text, Mark mark = {1, 1}) {
  auto parsed = ParsedTemplate::parse(Template{std::move(text), mark});
  REQUIRE_MESSAGE(parsed, wfo::test::error_text(parsed));
  return *parsed;
}

std::string render(const std::string& text) {
  auto rendered = parse_ok(text).render(fixture(), {});
  REQUIRE_MESSAGE(rendered, wfo::test::error_text(rendered));
  return *rendered;
}

/// "line:column: message" of the error parsing `text` at `mark`.
std::string parse_error(std::string text, Mark mark) {
  auto parsed = ParsedTemplate::parse(Template{std::move(text), mark});
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().kind == wfo::ErrorKind::invalid_workflow);
  return std::to_string(parsed.error().line) + ":" + std::to_string(parsed.error().column) + ": " +
         parsed.error().message;
}

std::string describe(const Reference& r) {
  std::string out;
  for (const auto& p : r.path) out += (out.empty() ? "" : "/") + p;
  return out + "@" + std::to_string(r.mark.line) + ":" + std::to_string(r.mark.column);
}

}  // namespace

TEST_CASE("a template without ${{ is literal") {
  for (const std::string text : {"", "echo hello", "cost: $5 {x} }} ${ {{", "a\nb"}) {
    const ParsedTemplate t = parse_ok(text);
    CHECK(t.is_literal());
    CHECK(t.references().empty());
    CHECK_FALSE(t.uses_status_function());
    CHECK(t.render(fixture(), {}).value() == text);
  }
}

TEST_CASE("a template splits into literal text and expressions") {
  const ParsedTemplate t = parse_ok("Hello ${{ params.feature }}!");
  CHECK_FALSE(t.is_literal());
  REQUIRE(t.parts().size() == 3);
  CHECK(t.parts()[0].literal == "Hello ");
  CHECK_FALSE(t.parts()[0].expression);
  REQUIRE(t.parts()[1].expression);
  CHECK(t.parts()[1].expression->source() == " params.feature ");
  CHECK(t.parts()[2].literal == "!");
}

TEST_CASE("render substitutes display strings") {
  CHECK(render("Hello ${{ params.feature }}!") == "Hello login!");
  CHECK(render("${{ inputs.n }}${{ inputs.f }}") == "51.5");
  CHECK(render("${{'}}'}}") == "}}");
  CHECK(render("a ${{ 'x' }} b ${{ 'it''s }}' }} c") == "a x b it's }} c");
  CHECK(render("${{ inputs.nums }} ${{ params.missing }}|") == "[1,2,3] |");
  CHECK(render("${{ 1 == 1 }} ${{ 3.0 }} ${{ 0.1 }}") == "true 3 0.1");
  CHECK(render("$${{ run.id }}}") == "$r-1}");
  CHECK(render("${{ format('{{{0}}}', run.id) }}") == "{r-1}");
}

TEST_CASE("evaluate keeps the value of a sole expression") {
  CHECK(parse_ok("${{ inputs.nums }}").evaluate(fixture(), {}).value() == Value::parse("[1,2,3]"));
  CHECK(parse_ok("  ${{ fromJSON(params.cfg) }}\n").evaluate(fixture(), {}).value() ==
        Value::parse(R"({"a": 1})"));
  CHECK(parse_ok("${{ 1 == 1 }}").evaluate(fixture(), {}).value() == true);
  CHECK(parse_ok("x ${{ 1 }}").evaluate(fixture(), {}).value() == "x 1");
  CHECK(parse_ok("${{ 1 }}${{ 2 }}").evaluate(fixture(), {}).value() == "12");
  CHECK(parse_ok("plain").evaluate(fixture(), {}).value() == "plain");
}

TEST_CASE("errors inside a template point into the file") {
  CHECK(parse_error("echo ${{ foo( }}", {5, 10}) == "5:19: unknown function 'foo'");
  CHECK(parse_error("echo ${{ contains( }}", {5, 10}) ==
        "5:29: expected ')' to close '(' in expression");
  CHECK(parse_error("echo ${{ params.x == ) }}", {5, 10}) == "5:31: unexpected ')' in expression");
  CHECK(parse_error("run ${{ params.x", {2, 3}) == "2:7: unterminated '${{' (close it with '}}')");
  CHECK(parse_error("a ${{ 'b }}", {1, 1}) == "1:3: unterminated '${{' (close it with '}}')");
  CHECK(parse_error("x${{ }}", {4, 2}) == "4:3: empty expression");
  CHECK(parse_error("x${{}}", {4, 2}) == "4:3: empty expression");
  CHECK(parse_error("line1\nline2 ${{ bad }}", {10, 5}) == "11:11: unknown context 'bad'");
  CHECK(parse_error("x ${{ params.a ==\n  nope }}", {1, 1}) == "2:3: unknown context 'nope'");
  CHECK(parse_error("${{ 1 }}\n\n  ${{ parms }}", {3, 7}) ==
        "5:7: unknown context 'parms' (did you mean 'params'?)");
  CHECK(parse_error("ok ${{ 1 }} then ${{ 2 }} ${{", {1, 1}) ==
        "1:27: unterminated '${{' (close it with '}}')");
}

TEST_CASE("references are the statically known paths, in source order, with marks") {
  const ParsedTemplate t = parse_ok(
      "${{ tasks.build.outputs.x }} ${{ tasks['design'].status }}\n"
      "${{ params.feature }} ${{ matrix }} ${{ tasks[params.which].status }}\n"
      "${{ fromJSON(params.cfg).a }} ${{ inputs.nums[0] }} ${{ (run).id }} ${{ 'params.x' }}",
      {3, 5});
  std::vector<std::string> got;
  for (const auto& r : t.references()) got.push_back(describe(r));
  const std::vector<std::string> expected{
      "tasks/build/outputs/x@3:9",
      "tasks/design/status@3:38",
      "params/feature@4:5",
      "matrix@4:27",
      "tasks@4:41",
      "params/which@4:47",
      "params/cfg@5:14",
      "inputs/nums@5:35",
      "run@5:58",
  };
  CHECK(wfo::join(got, " ") == wfo::join(expected, " "));
}

TEST_CASE("an expression's references") {
  auto e = wfo::expr::Expression::parse("TASKS.build.outputs['x'] == inputs.a.b['c'][0].d", {2, 4});
  REQUIRE(e);
  REQUIRE(e->references().size() == 2);
  CHECK(describe(e->references()[0]) == "tasks/build/outputs/x@2:4");
  CHECK(describe(e->references()[1]) == "inputs/a/b/c@2:32");
}

TEST_CASE("uses_status_function sees calls, not text") {
  CHECK(parse_ok("${{ always() }}").uses_status_function());
  CHECK(parse_ok("x ${{ 1 }} ${{ SUCCESS() && true }}").uses_status_function());
  CHECK(parse_ok("${{ !cancelled() }}").uses_status_function());
  CHECK(parse_ok("${{ failure() }}").uses_status_function());
  CHECK_FALSE(parse_ok("${{ 'success()' }} always()").uses_status_function());
  CHECK_FALSE(parse_ok("${{ params.x }}").uses_status_function());
}

TEST_CASE("parse_condition takes one ${{ }} or a bare expression") {
  using wfo::expr::parse_condition;
  auto wrapped = parse_condition(Template{"${{ params.env == 'prod' }}", {1, 1}});
  REQUIRE(wrapped);
  CHECK(wrapped->evaluate(fixture(), {}).value() == true);
  auto spaced = parse_condition(Template{" ${{ always() }}\n", {1, 1}});
  REQUIRE(spaced);
  CHECK(spaced->uses_status_function());
  auto bare = parse_condition(Template{"success() && params.env == 'PROD'", {1, 1}});
  REQUIRE(bare);
  CHECK(bare->evaluate(fixture(), {}).value() == true);
  auto mixed = parse_condition(Template{"${{ true }} && ${{ false }}", {6, 9}});
  REQUIRE_FALSE(mixed);
  CHECK(mixed.error().line == 6);
  CHECK(mixed.error().column == 9);
  CHECK(mixed.error().message.starts_with("a condition must be a single expression"));
  auto bad = parse_condition(Template{"params.x ==", {2, 5}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().column == 16);
  CHECK_FALSE(parse_condition(Template{"", {1, 1}}));
}

TEST_CASE("a folded block's expressions are marked on the file's lines") {
  // The file:            line 4 `run: >`, then at indentation 6:
  //   echo ${{ params.x }}   (line 5)
  //   ${{ env.y }} ${{       (line 6)
  //   tasks.c }}             (line 7: the expression began on line 6)
  std::string text = "echo ${{ params.x }} ${{ env.y }} ${{ tasks.c }}";
  Template folded{text, Mark{5, 7, 6}, {{21, Mark{6, 7, 0}}, {38, Mark{7, 7, 0}}}};
  auto parsed = ParsedTemplate::parse(folded);
  REQUIRE_MESSAGE(parsed, wfo::test::error_text(parsed));
  std::vector<std::string> refs;
  for (const auto& r : parsed->references()) refs.push_back(describe(r));
  CHECK(refs == std::vector<std::string>{"params/x@5:16", "env/y@6:11", "tasks/c@7:7"});
  folded.text = "echo ${{ params.x }} ${{ nope( }}";
  folded.folded_lines = {{21, Mark{6, 7, 0}}};
  auto bad = ParsedTemplate::parse(folded);
  REQUIRE_FALSE(bad);
  CHECK(std::to_string(bad.error().line) + ":" + std::to_string(bad.error().column) == "6:11");
}
