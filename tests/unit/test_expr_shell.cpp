// Tests of render_shell, the injection-safe rendering of `run` commands: expressions become
// `${WFO_EXPR_<n>}` and values travel in the environment. A corpus of hostile values goes
// through it, and through a real /bin/sh, which must print each value back unchanged.

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "expr/expr.hpp"

namespace {

using wfo::Template;
using wfo::expr::ParsedTemplate;
using wfo::expr::Value;

ParsedTemplate parse_ok(std::string text) {
  auto parsed = ParsedTemplate::parse(Template{std::move(text), {1, 1}});
  REQUIRE(parsed);
  return *parsed;
}

/// Runs `script` with `/bin/sh -c` (popen), with `env` set, and returns its standard output.
std::string run_shell(const ParsedTemplate::ShellRender& render) {
  for (const auto& [name, value] : render.env) setenv(name.c_str(), value.c_str(), 1);
  std::string out;
  if (FILE* pipe = popen(render.script.c_str(), "r")) {
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    pclose(pipe);
  }
  for (const auto& entry : render.env) unsetenv(entry.first.c_str());
  return out;
}

std::vector<std::string> hostile_values() {
  return {
      "'; rm -rf ~; echo '",
      "$(touch wfo-pwned-by-expr-test)",
      "`echo pwned`",
      "\"; echo pwned; \"",
      "a\nb\n",
      "\necho pwned\n",
      "*",
      "/*",
      "-rf",
      "--help",
      "$HOME",
      "${HOME}",
      "${WFO_EXPR_7}",
      "\\",
      "\\\"",
      "a b\tc",
      "!(x)",
      "&& echo pwned",
      "; echo pwned",
      "| cat /etc/passwd",
      "> wfo-pwned-by-expr-test",
      "$((1+1))",
      "\x1b[31mred",
      "~",
      "'",
      "\"",
      "%s%n",
      "",
      std::string(100 * 1024, 'A') + "$(echo pwned)",
  };
}

}  // namespace

TEST_CASE("render_shell numbers expressions across templates and keeps literal text") {
  const Value context = Value::parse(R"({"params": {"feature": "login", "env": "prod"},
                                         "run": {"id": "r-1"}, "inputs": {"n": [1, 2]}})");
  const ParsedTemplate first = parse_ok("echo ${{ params.feature }} ${{ params.env }} done");
  const ParsedTemplate second = parse_ok("cd '${{ run.id }}' && ls ${{ inputs.n }}");
  int next = 1;
  auto a = first.render_shell(context, {}, &next);
  REQUIRE(a);
  CHECK(a->script == "echo ${WFO_EXPR_1} ${WFO_EXPR_2} done");
  using Env = std::vector<std::pair<std::string, std::string>>;
  CHECK(a->env == Env{{"WFO_EXPR_1", "login"}, {"WFO_EXPR_2", "prod"}});
  CHECK(next == 3);
  auto b = second.render_shell(context, {}, &next);
  REQUIRE(b);
  CHECK(b->script == "cd '${WFO_EXPR_3}' && ls ${WFO_EXPR_4}");
  CHECK(b->env == Env{{"WFO_EXPR_3", "r-1"}, {"WFO_EXPR_4", "[1,2]"}});
  CHECK(next == 5);

  auto literal = parse_ok("echo '$HOME' ${x}").render_shell(context, {}, &next);
  REQUIRE(literal);
  CHECK(literal->script == "echo '$HOME' ${x}");
  CHECK(literal->env.empty());
  CHECK(next == 5);

  auto failed = parse_ok("${{ 1 }} ${{ fromJSON('{') }}").render_shell(context, {}, &next);
  CHECK_FALSE(failed);
  CHECK(next == 5);  // a failed render uses no numbers

  auto unnumbered = first.render_shell(context, {}, nullptr);
  REQUIRE(unnumbered);
  CHECK(unnumbered->script == "echo ${WFO_EXPR_1} ${WFO_EXPR_2} done");
}

TEST_CASE("hostile values never reach the script") {
  const ParsedTemplate t = parse_ok("printf '%s' \"${{ params.v }}\"");
  int index = 1;
  for (const std::string& v : hostile_values()) {
    CAPTURE(v.substr(0, 40));
    const Value context{{"params", {{"v", v}}}};
    auto render = t.render_shell(context, {}, &index);
    REQUIRE(render);
    const std::string name = "WFO_EXPR_" + std::to_string(index - 1);
    CHECK(render->script == "printf '%s' \"${" + name + "}\"");
    if (v.size() > 1) CHECK(render->script.find(v) == std::string::npos);
    REQUIRE(render->env.size() == 1);
    CHECK(render->env[0].first == name);
    CHECK(render->env[0].second == v);
    CHECK(run_shell(*render) == v);
  }
  std::FILE* pwned = std::fopen("wfo-pwned-by-expr-test", "r");
  CHECK(pwned == nullptr);
  if (pwned) std::fclose(pwned);
}

TEST_CASE("hostile values computed by expressions stay data too") {
  const Value context = Value::parse(R"js({"params": {"a": "'; echo pwned; '", "b": "$(id)"}})js");
  const ParsedTemplate t = parse_ok(
      "printf '%s|' \"${{ format('{0}{1}', params.a, params.b) }}\" "
      "\"${{ join(fromJSON('[\"`id`\", \"$(id)\"]'), ';') }}\" "
      "\"${{ toJSON(params) }}\"");
  int index = 1;
  auto render = t.render_shell(context, {}, &index);
  REQUIRE(render);
  CHECK(render->script == "printf '%s|' \"${WFO_EXPR_1}\" \"${WFO_EXPR_2}\" \"${WFO_EXPR_3}\"");
  CHECK(
      run_shell(*render) ==
      "'; echo pwned; '$(id)|`id`;$(id)|{\n  \"a\": \"'; echo pwned; '\",\n  \"b\": \"$(id)\"\n}|");
}
