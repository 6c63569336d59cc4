// Value errors: types, durations, numbers and their ranges, names, needs, agents, what a task
// runs, enumerations, params and commands. Each case compares the whole rendered message.

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

/// A file with one task `a` whose body is `lines` (each indented under it).
std::string task(const std::string& lines) {
  return "version: 1\ntasks:\n  a:\n" + lines;
}

}  // namespace

TEST_CASE("loader checks: wrong types point at the value") {
  check_cases({
      {task("    run: x\n    needs: {b: 1}\n"),
       "flow.yaml:5:12: error: 'needs' must be a string or a list of task ids\n"
       "      needs: {b: 1}\n"
       "             ^\n"},
      {task("    run: x\n    needs: [b, [c]]\n"),
       "flow.yaml:5:16: error: 'needs' must be a string or a list of task ids\n"
       "      needs: [b, [c]]\n"
       "                 ^\n"},
      {task("    run: x\n    retry: {max_attempts: three}\n"),
       "flow.yaml:5:27: error: 'max_attempts' must be an integer\n"
       "      retry: {max_attempts: three}\n"
       "                            ^\n"},
      {task("    run: x\n    retry: {max_attempts: \"3\"}\n"),
       "flow.yaml:5:27: error: 'max_attempts' must be an integer\n"
       "      retry: {max_attempts: \"3\"}\n"
       "                            ^\n"},
      {task("    run: x\n    continue_on_error: yes\n"),
       "flow.yaml:5:24: error: 'continue_on_error' must be true or false\n"
       "      continue_on_error: yes\n"
       "                         ^\n"},
      {task("    run: x\n    fail_fast: \"false\"\n"),
       "flow.yaml:5:16: error: 'fail_fast' must be true or false\n"
       "      fail_fast: \"false\"\n"
       "                 ^\n"},
      {task("    run: [make, all]\n"),
       "flow.yaml:4:10: error: 'run' must be a string\n"
       "      run: [make, all]\n"
       "           ^\n"},
      {task("    run:\n"),
       "flow.yaml:4:5: error: 'run' must be a string\n"
       "      run:\n"
       "      ^\n"},
      {task("    run: \"\"\n"),
       "flow.yaml:4:10: error: 'run' must not be empty\n"
       "      run: \"\"\n"
       "           ^\n"},
      {task("    run: x\n    retry: 3\n"),
       "flow.yaml:5:12: error: 'retry' must be a mapping such as {max_attempts: 3}\n"
       "      retry: 3\n"
       "             ^\n"},
      {task("    run: x\n    env: [A=1]\n"),
       "flow.yaml:5:10: error: 'env' must be a mapping of names to values\n"
       "      env: [A=1]\n"
       "           ^\n"},
      {task("    run: x\n    env: {A: [1]}\n"),
       "flow.yaml:5:14: error: 'A' in 'env' must be a string, number or boolean\n"
       "      env: {A: [1]}\n"
       "               ^\n"},
      {task("    run: x\n    env: {1A: x}\n"),
       "flow.yaml:5:11: error: invalid environment variable name '1A'\n"
       "      env: {1A: x}\n"
       "            ^\n"
       "  use letters, digits and '_', not starting with a digit\n"},
      {task("    agent: x\n    with: {a b: 1}\n"),
       "flow.yaml:5:12: error: invalid input name 'a b': use letters, digits, '_' and '-'\n"
       "      with: {a b: 1}\n"
       "             ^\n"},
      {task("    run: x\n    retry: {factor: fast}\n"),
       "flow.yaml:5:21: error: 'factor' must be a number\n"
       "      retry: {factor: fast}\n"
       "                      ^\n"},
      {task("    run: x\n    retry: {on_exit_codes: 75}\n"),
       "flow.yaml:5:28: error: 'on_exit_codes' must be a list of integers\n"
       "      retry: {on_exit_codes: 75}\n"
       "                             ^\n"},
      {task("    run: x\n    retry: {on_output: [{a: b}]}\n"),
       "flow.yaml:5:25: error: 'on_output' must be a list of regular expressions\n"
       "      retry: {on_output: [{a: b}]}\n"
       "                          ^\n"},
      {task("    approval: {approvers: alice}\n"),
       "flow.yaml:4:27: error: 'approvers' must be a list of user names\n"
       "      approval: {approvers: alice}\n"
       "                            ^\n"},
      {task("    approval: yes\n"),
       "flow.yaml:4:15: error: 'approval' must be a mapping such as {approvers: [alice]}\n"
       "      approval: yes\n"
       "                ^\n"},
      {task("    run: x\n    matrix: [a, b]\n"),
       "flow.yaml:5:13: error: 'matrix' must be a mapping of axis name to values\n"
       "      matrix: [a, b]\n"
       "              ^\n"
       "  write e.g. matrix: {suite: [unit, e2e]}\n"},
      {task("    run: x\n    matrix: {os: linux}\n"),
       "flow.yaml:5:18: error: matrix axis 'os' must be a list of values\n"
       "      matrix: {os: linux}\n"
       "                   ^\n"},
      {task("    run: x\n    matrix: {os: []}\n"),
       "flow.yaml:5:18: error: matrix axis 'os' has no values\n"
       "      matrix: {os: []}\n"
       "                   ^\n"},
      {task("    run: x\n    matrix: {include: {os: bsd}}\n"),
       "flow.yaml:5:23: error: 'include' must be a list of mappings such as {suite: unit}\n"
       "      matrix: {include: {os: bsd}}\n"
       "                        ^\n"},
      {task("    run: x\n    matrix: {os: [a], exclude: [{oss: a}]}\n"),
       "flow.yaml:5:34: error: 'exclude' names unknown matrix axis 'oss' (did you mean 'os'?)\n"
       "      matrix: {os: [a], exclude: [{oss: a}]}\n"
       "                                   ^\n"},
      {task("    run: x\n    repeat: {max: 3}\n"),
       "flow.yaml:5:13: error: missing required key 'until' in repeat\n"
       "      repeat: {max: 3}\n"
       "              ^\n"},
      {task("    run: x\n    outputs: [a]\n"),
       "flow.yaml:5:14: error: 'outputs' must be a mapping of output name to settings\n"
       "      outputs: [a]\n"
       "               ^\n"
       "  write e.g. outputs: {spec_path: {required: true}}\n"},
      {task("    run: x\n    fallback: ./safe.sh\n"),
       "flow.yaml:5:15: error: 'fallback' must be a mapping with 'run' or 'agent'\n"
       "      fallback: ./safe.sh\n"
       "                ^\n"
       "  write e.g. fallback: {run: ./safe.sh}\n"},
      {task("    run: x\n    fallback: {run: a, agent: b}\n"),
       "flow.yaml:5:24: error: 'fallback' has both 'run' and 'agent': give one of them\n"
       "      fallback: {run: a, agent: b}\n"
       "                         ^\n"},
      {"version: 1\ntasks:\n  a: make\n",
       "flow.yaml:3:6: error: task 'a' must be a mapping of its keys\n"
       "    a: make\n"
       "       ^\n"
       "  write e.g. a: {run: make}\n"},
      {"version: 1\nname: [x]\ntasks: {a: {run: x}}\n",
       "flow.yaml:2:7: error: 'name' must be a string\n"
       "  name: [x]\n"
       "        ^\n"},
  });
}

TEST_CASE("loader checks: durations") {
  const std::string hint = "  write durations like 500ms, 30s, 5m or 1h30m\n";
  check_cases({
      {task("    run: x\n    timeout: 5 minutes\n"),
       "flow.yaml:5:14: error: invalid duration '5 minutes' for 'timeout'\n"
       "      timeout: 5 minutes\n"
       "               ^\n" +
           hint},
      {task("    run: x\n    timeout: 30\n"),
       "flow.yaml:5:14: error: invalid duration '30' for 'timeout'\n"
       "      timeout: 30\n"
       "               ^\n" +
           hint},
      {task("    run: x\n    retry: {delay: -1s}\n"),
       "flow.yaml:5:20: error: invalid duration '-1s' for 'delay'\n"
       "      retry: {delay: -1s}\n"
       "                     ^\n" +
           hint},
      {task("    run: x\n    retry: {max_delay: 200y}\n"),
       "flow.yaml:5:24: error: invalid duration '200y' for 'max_delay'\n"
       "      retry: {max_delay: 200y}\n"
       "                         ^\n" +
           hint},
      {"version: 1\ntimeout: 40000d\ntasks: {a: {run: x}}\n",
       "flow.yaml:2:10: error: invalid duration '40000d' for 'timeout'\n"
       "  timeout: 40000d\n"
       "           ^\n" +
           hint},
      {task("    run: x\n    timeout: {m: 5}\n"),
       "flow.yaml:5:14: error: 'timeout' must be a duration\n"
       "      timeout: {m: 5}\n"
       "               ^\n" +
           hint},
      {task("    run: x\n    timeout: 0\n"),
       "flow.yaml:5:14: error: 'timeout' must be longer than 0\n"
       "      timeout: 0\n"
       "               ^\n"
       "  leave out 'timeout' for no limit\n"},
      {task("    approval: {timeout: 1 day}\n"),
       "flow.yaml:4:25: error: invalid duration '1 day' for 'timeout'\n"
       "      approval: {timeout: 1 day}\n"
       "                          ^\n" +
           hint},
      {"version: 1\nagents:\n  c: {command: x, circuit_breaker: {failures: 2, cooldown: soon}}\n",
       "flow.yaml:3:60: error: invalid duration 'soon' for 'cooldown'\n"
       "    c: {command: x, circuit_breaker: {failures: 2, cooldown: soon}}\n"
       "                                                             ^\n" +
           hint},
      {task("    run: x\n    repeat: {until: x, interval: 5 s}\n"),
       "flow.yaml:5:34: error: invalid duration '5 s' for 'interval'\n"
       "      repeat: {until: x, interval: 5 s}\n"
       "                                   ^\n" +
           hint},
  });
}

TEST_CASE("loader checks: numbers and their ranges") {
  check_cases({
      {task("    run: x\n    retry: {max_attempts: -1}\n"),
       "flow.yaml:5:27: error: 'max_attempts' must be between 1 and 100, got -1\n"
       "      retry: {max_attempts: -1}\n"
       "                            ^\n"},
      {task("    run: x\n    retry: {max_attempts: 101}\n"),
       "flow.yaml:5:27: error: 'max_attempts' must be between 1 and 100, got 101\n"
       "      retry: {max_attempts: 101}\n"
       "                            ^\n"},
      {task("    run: x\n    retry: {max_attempts: 99999999999999999999999}\n"),
       "flow.yaml:5:27: error: 'max_attempts' must be between 1 and 100, got "
       "99999999999999999999999\n"
       "      retry: {max_attempts: 99999999999999999999999}\n"
       "                            ^\n"},
      {task("    run: x\n    max_parallel: 0\n"),
       "flow.yaml:5:19: error: 'max_parallel' must be between 1 and 10000, got 0\n"
       "      max_parallel: 0\n"
       "                    ^\n"},
      {"version: 1\nmax_parallel: 10001\ntasks: {a: {run: x}}\n",
       "flow.yaml:2:15: error: 'max_parallel' must be between 1 and 10000, got 10001\n"
       "  max_parallel: 10001\n"
       "                ^\n"},
      {task("    approval: {min_approvals: 0}\n"),
       "flow.yaml:4:31: error: 'min_approvals' must be between 1 and 100, got 0\n"
       "      approval: {min_approvals: 0}\n"
       "                                ^\n"},
      {task("    approval: {min_approvals: 3, approvers: [a, b]}\n"),
       "flow.yaml:4:31: error: 'min_approvals' is 3 but only 2 approvers are listed\n"
       "      approval: {min_approvals: 3, approvers: [a, b]}\n"
       "                                ^\n"
       "  list more approvers or lower 'min_approvals'\n"},
      {task("    run: x\n    retry: {factor: 0}\n"),
       "flow.yaml:5:21: error: 'factor' must be greater than 0 and at most 100, got 0\n"
       "      retry: {factor: 0}\n"
       "                      ^\n"},
      {task("    run: x\n    retry: {factor: 100.5}\n"),
       "flow.yaml:5:21: error: 'factor' must be greater than 0 and at most 100, got 100.5\n"
       "      retry: {factor: 100.5}\n"
       "                      ^\n"},
      {task("    run: x\n    retry: {factor: .inf}\n"),
       "flow.yaml:5:21: error: 'factor' must be a number\n"
       "      retry: {factor: .inf}\n"
       "                      ^\n"},
      {task("    run: x\n    retry: {on_exit_codes: [1, 256]}\n"),
       "flow.yaml:5:32: error: 'on_exit_codes' must be between 0 and 255, got 256\n"
       "      retry: {on_exit_codes: [1, 256]}\n"
       "                                 ^\n"},
      {"version: 1\nagents:\n  c: {command: x, circuit_breaker: {failures: 0, cooldown: 1m}}\n",
       "flow.yaml:3:47: error: 'failures' must be between 1 and 10000, got 0\n"
       "    c: {command: x, circuit_breaker: {failures: 0, cooldown: 1m}}\n"
       "                                                ^\n"},
      {"version: 1\nagents:\n  c: {command: x, circuit_breaker: {cooldown: 1m}}\n",
       "flow.yaml:3:36: error: missing required key 'failures' in circuit_breaker\n"
       "    c: {command: x, circuit_breaker: {cooldown: 1m}}\n"
       "                                     ^\n"},
      {task("    run: x\n    repeat: {until: x, max: 10001}\n"),
       "flow.yaml:5:29: error: 'max' must be between 1 and 10000, got 10001\n"
       "      repeat: {until: x, max: 10001}\n"
       "                              ^\n"},
      {task("    run: x\n    priority: 2147483648\n"),
       "flow.yaml:5:15: error: 'priority' must be between -2147483648 and 2147483647, got "
       "2147483648\n"
       "      priority: 2147483648\n"
       "                ^\n"},
  });
  CHECK(diagnose(task("    run: x\n    priority: -2147483648\n")) == "(loaded)");
  CHECK(diagnose(task("    run: x\n    retry: {max_attempts: 100, factor: 100}\n")) == "(loaded)");
}

TEST_CASE("loader checks: names of tasks, params, outputs, agents and inputs") {
  const std::string rule = ": use letters, digits, '_' and '-'\n";
  check_cases({
      {"version: 1\ntasks:\n  build app:\n    run: x\n",
       "flow.yaml:3:3: error: invalid task id 'build app'" + rule +
           "    build app:\n"
           "    ^\n"},
      {"version: 1\ntasks:\n  \"test[1]\": {run: x}\n",
       "flow.yaml:3:3: error: invalid task id 'test[1]'" + rule +
           "    \"test[1]\": {run: x}\n"
           "    ^\n"},
      {"version: 1\nparams:\n  my.param: {}\n",
       "flow.yaml:3:3: error: invalid param name 'my.param'" + rule +
           "    my.param: {}\n"
           "    ^\n"},
      {task("    run: x\n    outputs: {\"spec path\": {}}\n"),
       "flow.yaml:5:15: error: invalid output name 'spec path'" + rule +
           "      outputs: {\"spec path\": {}}\n"
           "                ^\n"},
      {"version: 1\nagents:\n  code/r: {command: x}\n",
       "flow.yaml:3:3: error: invalid agent name 'code/r'" + rule +
           "    code/r: {command: x}\n"
           "    ^\n"},
      {task("    approval: {inputs: {\"why?\": {}}}\n"),
       "flow.yaml:4:25: error: invalid input name 'why?'" + rule +
           "      approval: {inputs: {\"why?\": {}}}\n"
           "                          ^\n"},
      {task("    run: x\n    matrix: {\"o s\": [a]}\n"),
       "flow.yaml:5:14: error: invalid matrix axis 'o s'" + rule +
           "      matrix: {\"o s\": [a]}\n"
           "               ^\n"},
  });
}

TEST_CASE("loader checks: needs and agents name what exists") {
  check_cases({
      {"version: 1\ntasks:\n  test: {run: x}\n  deploy:\n    run: y\n    needs: [tset]\n",
       "flow.yaml:6:13: error: task 'deploy' needs unknown task 'tset' (did you mean 'test'?)\n"
       "      needs: [tset]\n"
       "              ^\n"},
      // Never the task itself as the suggestion: it cannot need itself.
      {"version: 1\ntasks:\n  test:\n    run: x\n    needs: tset\n  deploy: {run: y}\n",
       "flow.yaml:5:12: error: task 'test' needs unknown task 'tset'\n"
       "      needs: tset\n"
       "             ^\n"
       "  tasks in this file: test, deploy\n"},
      {"version: 1\ntasks:\n  test: {run: x}\n  deploy:\n    run: y\n    needs: zzz\n",
       "flow.yaml:6:12: error: task 'deploy' needs unknown task 'zzz'\n"
       "      needs: zzz\n"
       "             ^\n"
       "  tasks in this file: test, deploy\n"},
      {task("    run: y\n    needs: a\n"),
       "flow.yaml:5:12: error: task 'a' needs itself\n"
       "      needs: a\n"
       "             ^\n"
       "  remove 'a' from its needs\n"},
      {"version: 1\nagents:\n  coders: {command: x}\ntasks:\n  x:\n    agent: coder\n",
       "flow.yaml:6:12: error: task 'x' uses unknown agent 'coder' (did you mean 'coders'?)\n"
       "      agent: coder\n"
       "             ^\n"},
      {"version: 1\ntasks:\n  x:\n    agent: coder\n",
       "flow.yaml:4:12: error: task 'x' uses unknown agent 'coder'\n"
       "      agent: coder\n"
       "             ^\n"
       "  define it under 'agents:'\n"},
      {"version: 1\nagents:\n  coders: {command: x}\ntasks:\n  x:\n    run: a\n"
       "    fallback: {agent: coder}\n",
       "flow.yaml:7:23: error: fallback of task 'x' uses unknown agent 'coder' (did you mean "
       "'coders'?)\n"
       "      fallback: {agent: coder}\n"
       "                        ^\n"},
  });
  // Needs may name tasks written later in the file; agents may be defined after the tasks.
  CHECK(diagnose("version: 1\ntasks:\n  a: {needs: b, agent: c}\n  b: {run: x}\nagents:\n"
                 "  c: {command: x}\n") == "(loaded)");
}

TEST_CASE("loader checks: a task runs exactly one of run, agent or uses") {
  const std::string one = ": a task runs exactly one of run, agent or uses\n";
  check_cases({
      {task("    run: a\n    agent: b\n"),
       "flow.yaml:5:5: error: task 'a' has both 'run' and 'agent'" + one +
           "      agent: b\n"
           "      ^\n"},
      {task("    uses: sub.yaml\n    run: a\n"),
       "flow.yaml:5:5: error: task 'a' has both 'run' and 'uses'" + one +
           "      run: a\n"
           "      ^\n"},
      {task("    agent: b\n    uses: sub.yaml\n"),
       "flow.yaml:5:5: error: task 'a' has both 'agent' and 'uses'" + one +
           "      uses: sub.yaml\n"
           "      ^\n"},
      {task("    env: {A: 1}\n"),
       "flow.yaml:3:3: error: task 'a' has nothing to run: give it run, agent, uses or approval\n"
       "    a:\n"
       "    ^\n"},
      {"version: 1\ntasks:\n  a:\n",
       "flow.yaml:3:3: error: task 'a' has nothing to run: give it run, agent, uses or approval\n"
       "    a:\n"
       "    ^\n"},
  });
  CHECK(diagnose(task("    approval: {}\n")) == "(loaded)");
}

TEST_CASE("loader checks: enumerations") {
  check_cases({
      {task("    run: x\n    retry: {backoff: expo}\n"),
       "flow.yaml:5:22: error: invalid backoff 'expo': use fixed, linear or exponential\n"
       "      retry: {backoff: expo}\n"
       "                       ^\n"},
      {task("    run: x\n    retry: {jitter: half}\n"),
       "flow.yaml:5:21: error: invalid jitter 'half': use none, full or equal\n"
       "      retry: {jitter: half}\n"
       "                      ^\n"},
      {task("    approval: {when: later}\n"),
       "flow.yaml:4:22: error: invalid when 'later': use before, after or on_failure\n"
       "      approval: {when: later}\n"
       "                       ^\n"},
      {task("    approval: {on_timeout: skip}\n"),
       "flow.yaml:4:28: error: invalid on_timeout 'skip': use reject or approve\n"
       "      approval: {on_timeout: skip}\n"
       "                             ^\n"},
      {"version: 1\ndurability: fast\ntasks: {a: {run: x}}\n",
       "flow.yaml:2:13: error: invalid durability 'fast': use normal or full\n"
       "  durability: fast\n"
       "              ^\n"},
      {task("    run: x\n    retry: {backoff: [fixed]}\n"),
       "flow.yaml:5:22: error: 'backoff' must be one of fixed, linear or exponential\n"
       "      retry: {backoff: [fixed]}\n"
       "                       ^\n"},
  });
}

TEST_CASE("loader checks: params and commands") {
  check_cases({
      {"version: 1\nparams:\n  env: {default: dev, enum: [staging, prod]}\ntasks: {a: {run: x}}\n",
       "flow.yaml:3:18: error: default 'dev' of param 'env' is not one of its enum values\n"
       "    env: {default: dev, enum: [staging, prod]}\n"
       "                   ^\n"
       "  use one of: staging, prod\n"},
      {"version: 1\nparams:\n  env: {enum: []}\ntasks: {a: {run: x}}\n",
       "flow.yaml:3:15: error: 'enum' of param 'env' lists no values\n"
       "    env: {enum: []}\n"
       "                ^\n"},
      {"version: 1\nparams:\n  env: staging\ntasks: {a: {run: x}}\n",
       "flow.yaml:3:8: error: param 'env' must be a mapping of settings\n"
       "    env: staging\n"
       "         ^\n"
       "  write e.g. env: {default: value}\n"},
      {"version: 1\nagents:\n  a: {command: []}\ntasks:\n  x: {agent: a}\n",
       "flow.yaml:3:16: error: 'command' must not be an empty list\n"
       "    a: {command: []}\n"
       "                 ^\n"
       "  give the program and its arguments, e.g. [\"./agent.sh\", \"--flag\"]\n"},
      {"version: 1\nagents:\n  a: {command: {x: 1}}\n",
       "flow.yaml:3:16: error: 'command' must be a string or a list of arguments\n"
       "    a: {command: {x: 1}}\n"
       "                 ^\n"},
      {"version: 1\nagents:\n  a: {command: \"\"}\n",
       "flow.yaml:3:16: error: 'command' must not be empty\n"
       "    a: {command: \"\"}\n"
       "                 ^\n"},
      {"version: 1\nagents:\n  a: {timeout: 1m}\n",
       "flow.yaml:3:3: error: missing required key 'command' in agent 'a'\n"
       "    a: {timeout: 1m}\n"
       "    ^\n"
       "  give the agent a command, e.g. command: [\"./agent.sh\"]\n"},
  });
  // `required: true` with a default is fine: the default wins.
  CHECK(diagnose("version: 1\nparams:\n  env: {default: dev, required: true}\n"
                 "tasks: {a: {run: x}}\n") == "(loaded)");
}
