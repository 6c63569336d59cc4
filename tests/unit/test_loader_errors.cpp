// Structural errors: YAML syntax, empty files, the top level, duplicate keys, unknown keys,
// `version` and `tasks`. Each case compares the whole rendered message, caret included
// (STYLE.md: as ninja's manifest_parser_test.cc does).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "loader/loader.hpp"
#include "util/diagnostic.hpp"

namespace {

struct Case {
  std::string text;
  std::string expected;
};

std::string diagnose(std::string_view text) {
  auto wf = wfo::load_workflow(text, "flow.yaml", "/work");
  if (wf) return "(loaded)";
  CHECK(wf.error().kind == wfo::ErrorKind::invalid_workflow);
  return wfo::format_diagnostic(wf.error(), text);
}

void check_cases(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(diagnose(c.text) == c.expected);
  }
}

}  // namespace

TEST_CASE("loader errors: yaml syntax, at libyaml's mark, with what it was reading") {
  check_cases({
      {"version: 1\n  bad: indent\n",
       "flow.yaml:2:6: error: yaml syntax: mapping values are not allowed in this context\n"
       "    bad: indent\n"
       "       ^\n"},
      {"version: 1\ntasks:\n  a:\n    run: x\n   b: y\n",
       "flow.yaml:5:4: error: yaml syntax: did not find expected key (while parsing a block "
       "mapping at line 3, column 3)\n"
       "     b: y\n"
       "     ^\n"},
      {"version: 1\nx: [a, b\ny: 2\n",
       "flow.yaml:3:2: error: yaml syntax: did not find expected ',' or ']' (while parsing a "
       "flow sequence at line 2, column 4)\n"
       "  y: 2\n"
       "   ^\n"},
      {"version: 1\na: \"\\q\"\n",
       "flow.yaml:2:5: error: yaml syntax: found unknown escape character (while parsing a "
       "quoted scalar at line 2, column 4)\n"
       "  a: \"\\q\"\n"
       "      ^\n"},
      {"version: 1\ntasks:\n  a: {run: x\n",
       // At the end of the last line, not on the line after it.
       "flow.yaml:3:13: error: yaml syntax: did not find expected ',' or '}' (while parsing a "
       "flow mapping at line 3, column 6)\n"
       "    a: {run: x\n"
       "              ^\n"},
      {"a: *x\n",
       "flow.yaml:1:4: error: alias '*x' refers to no anchor\n"
       "  a: *x\n"
       "     ^\n"
       "  define it first with '&x' on the node to repeat, or quote a value that starts with "
       "'*'\n"},
  });
}

TEST_CASE("loader errors: empty files and the top level") {
  const std::string empty =
      "flow.yaml: error: empty workflow\n"
      "  start with 'version: 1' and a 'tasks:' map\n";
  check_cases({
      {"", empty},
      {"\n\n   \n", empty},
      {"# only a comment\n\n  # another\n", empty},
      {"---\n", empty},
      {"~\n", empty},
      {"- a\n- b\n",
       "flow.yaml:1:1: error: the top level must be a mapping\n"
       "  - a\n"
       "  ^\n"
       "  start with 'version: 1' and a 'tasks:' map\n"},
      {"# comment\njust a scalar\n",
       "flow.yaml:2:1: error: the top level must be a mapping\n"
       "  just a scalar\n"
       "  ^\n"
       "  start with 'version: 1' and a 'tasks:' map\n"},
      {"version: 1\ntasks: {a: {run: x}}\n---\nversion: 1\n",
       "flow.yaml:4:1: error: the file holds more than one YAML document\n"
       "  version: 1\n"
       "  ^\n"
       "  keep one workflow per file\n"},
  });
  CHECK(diagnose("version: 1\ntasks: {a: {run: x}}\n---\n") == "(loaded)");
}

TEST_CASE("loader errors: duplicate keys at any level") {
  check_cases({
      {"version: 1\ntasks:\n  build:\n    run: make\n  build:\n    run: x\n",
       "flow.yaml:5:3: error: duplicate key 'build' (first defined at line 3)\n"
       "    build:\n"
       "    ^\n"
       "  remove one of them or merge them\n"},
      {"version: 1\nversion: 1\n",
       "flow.yaml:2:1: error: duplicate key 'version' (first defined at line 1)\n"
       "  version: 1\n"
       "  ^\n"
       "  remove one of them or merge them\n"},
      {"version: 1\ntasks:\n  a:\n    run: x\n    retry: {max_attempts: 2, delay: 1s, "
       "max_attempts: 3}\n",
       "flow.yaml:5:41: error: duplicate key 'max_attempts' (first defined at line 5)\n"
       "      retry: {max_attempts: 2, delay: 1s, max_attempts: 3}\n"
       "                                          ^\n"
       "  remove one of them or merge them\n"},
      {"version: 1\nx:\n  - {a: 1, a: 2}\n",
       "flow.yaml:3:12: error: duplicate key 'a' (first defined at line 3)\n"
       "    - {a: 1, a: 2}\n"
       "             ^\n"
       "  remove one of them or merge them\n"},
      {"version: 1\n? [a]\n: 1\n",
       "flow.yaml:2:3: error: a mapping key must be a string\n"
       "  ? [a]\n"
       "    ^\n"},
  });
}

TEST_CASE("loader errors: unknown keys, with did-you-mean, at the key") {
  check_cases({
      {"version: 1\ntasks:\n  build:\n    run: make\n    retires: 3\n",
       "flow.yaml:5:5: error: unknown key 'retires' in task 'build' (did you mean 'retry'?)\n"
       "      retires: 3\n"
       "      ^\n"},
      {"version: 1\ncolour: red\ntasks:\n  a: {run: x}\n",
       "flow.yaml:2:1: error: unknown key 'colour' at top level\n"
       "  colour: red\n"
       "  ^\n"
       "  allowed keys here: version, name, description, params, env, timeout, max_parallel, "
       "defaults, agents, tasks, hooks, outputs, durability\n"},
      {"version: 1\ntasks:\n  a:\n    run: x\n    retry: {max_atempts: 3}\n",
       "flow.yaml:5:13: error: unknown key 'max_atempts' in retry (did you mean 'max_attempts'?)\n"
       "      retry: {max_atempts: 3}\n"
       "              ^\n"},
      {"verison: 1\n",
       "flow.yaml:1:1: error: unknown key 'verison' at top level (did you mean 'version'?)\n"
       "  verison: 1\n"
       "  ^\n"},
      {"version: 1\ntasks:\n  a:\n    depends_on: [b]\n",
       "flow.yaml:4:5: error: unknown key 'depends_on' in task 'a' (did you mean 'needs'?)\n"
       "      depends_on: [b]\n"
       "      ^\n"},
      {"version: 1\nagents:\n  coder:\n    comand: [x]\n",
       "flow.yaml:4:5: error: unknown key 'comand' in agent 'coder' (did you mean 'command'?)\n"
       "      comand: [x]\n"
       "      ^\n"},
      {"version: 1\ntasks:\n  a:\n    approval: {approver: [bob]}\n",
       "flow.yaml:4:16: error: unknown key 'approver' in approval (did you mean 'approvers'?)\n"
       "      approval: {approver: [bob]}\n"
       "                 ^\n"},
      {"version: 1\nparams:\n  p: {defualt: 1}\n",
       "flow.yaml:3:7: error: unknown key 'defualt' in param 'p' (did you mean 'default'?)\n"
       "    p: {defualt: 1}\n"
       "        ^\n"},
      {"version: 1\nhooks: {on_succes: ./x.sh}\n",
       "flow.yaml:2:9: error: unknown key 'on_succes' in hooks (did you mean 'on_success'?)\n"
       "  hooks: {on_succes: ./x.sh}\n"
       "          ^\n"},
      {"version: 1\ndefaults: {retry: {}, timout: 1m}\n",
       "flow.yaml:2:23: error: unknown key 'timout' in defaults (did you mean 'timeout'?)\n"
       "  defaults: {retry: {}, timout: 1m}\n"
       "                        ^\n"},
      {"version: 1\ntasks:\n  a:\n    run: x\n    outputs: {o: {require: true}}\n",
       "flow.yaml:5:19: error: unknown key 'require' in output 'o' (did you mean 'required'?)\n"
       "      outputs: {o: {require: true}}\n"
       "                    ^\n"},
      {"version: 1\ntasks:\n  a:\n    run: x\n    repeat: {until: x, maximum: 3}\n",
       "flow.yaml:5:24: error: unknown key 'maximum' in repeat\n"
       "      repeat: {until: x, maximum: 3}\n"
       "                         ^\n"
       "  allowed keys here: until, max, interval\n"},
  });
}

TEST_CASE("loader errors: version") {
  check_cases({
      {"tasks:\n  a:\n    run: x\n",
       "flow.yaml:1:1: error: missing required key 'version'\n"
       "  tasks:\n"
       "  ^\n"
       "  add 'version: 1' at the top\n"},
      {"version: 2\ntasks:\n  a: {run: x}\n",
       "flow.yaml:1:10: error: unsupported version 2 (this wfo reads version 1)\n"
       "  version: 2\n"
       "           ^\n"},
      {"name: x\nversion: 3\nfuture_key: {}\n",
       "flow.yaml:2:10: error: unsupported version 3 (this wfo reads version 1)\n"
       "  version: 3\n"
       "           ^\n"},
      {"version: \"1\"\n",
       "flow.yaml:1:10: error: 'version' must be an integer\n"
       "  version: \"1\"\n"
       "           ^\n"
       "  write 'version: 1'\n"},
      {"version: [1]\n",
       "flow.yaml:1:10: error: 'version' must be an integer\n"
       "  version: [1]\n"
       "           ^\n"
       "  write 'version: 1'\n"},
  });
}

TEST_CASE("loader errors: a workflow without tasks") {
  check_cases({
      {"version: 1\n",
       "flow.yaml: error: the workflow has no tasks\n"
       "  add a 'tasks:' map with at least one task, e.g. tasks: {build: {run: make}}\n"},
      {"version: 1\ntasks:\n",
       "flow.yaml:2:1: error: the workflow has no tasks\n"
       "  tasks:\n"
       "  ^\n"
       "  add a 'tasks:' map with at least one task, e.g. tasks: {build: {run: make}}\n"},
      {"version: 1\ntasks: {}\n",
       "flow.yaml:2:1: error: the workflow has no tasks\n"
       "  tasks: {}\n"
       "  ^\n"
       "  add a 'tasks:' map with at least one task, e.g. tasks: {build: {run: make}}\n"},
      {"version: 1\ntasks: [build]\n",
       "flow.yaml:2:8: error: 'tasks' must be a mapping of task id to task\n"
       "  tasks: [build]\n"
       "         ^\n"
       "  write e.g. tasks: {build: {run: make}}\n"},
  });
}
