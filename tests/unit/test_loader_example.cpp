// Successful loads: the spec's complete example, field by field, and small files.

#include <doctest/doctest.h>

#include <string>

#include "loader/loader.hpp"
#include "util/diagnostic.hpp"

using namespace std::chrono_literals;
using wfo::CommandSpec;
using wfo::Workflow;

namespace {

// The complete example of spec/workflow-format.md, as written there.
const char* const k_example =
    R"YAML(version: 1                      # required; integer; only 1 exists
name: feature-delivery          # default: the file's stem
description: design -> develop -> test -> deploy

params:                         # run inputs; `wfo run f.yaml -p feature=login`
  feature: {default: login, description: "feature to build"}
  env: {default: staging, enum: [staging, prod]}
  ticket: {required: true}      # a run without it is refused (exit 2)

env: {LOG_LEVEL: info}          # for every task
timeout: 2h                     # the whole run; durations: 500ms 30s 5m 1h30m
max_parallel: 4                 # default for -j; the CLI flag wins

defaults:                       # apply to every task unless it says otherwise
  timeout: 10m
  retry: {max_attempts: 3, backoff: exponential, delay: 1s, max_delay: 30s, jitter: full}

agents:                         # named agent types: command templates
  api-designer:
    command: ["./agents/api-designer.sh", "--feature", "${{ inputs.feature }}"]
    max_parallel: 1             # pool size: attempts of this agent at once
    timeout: 5m
    circuit_breaker: {failures: 3, cooldown: 60s}
  backend-developer:
    command: "./agents/backend.sh"     # a string runs through /bin/sh -c
  qa-expert:
    command: ["./agents/qa.sh"]

tasks:                          # a map: task id -> task; ids match [A-Za-z0-9_-]+
  design:
    agent: api-designer
    with: {feature: "${{ params.feature }}"}   # the agent's inputs
    outputs:
      spec_path: {required: true, pattern: '\.ya?ml$'}

  review:                       # a pure gate: no command, only approval
    needs: [design]
    approval:
      message: "Approve the API spec ${{ tasks.design.outputs.spec_path }}?"
      approvers: [alice, bob]
      timeout: 24h
      on_timeout: reject        # reject | approve

  develop:
    needs: [review]
    agent: backend-developer
    with: {spec: "${{ tasks.design.outputs.spec_path }}"}
    fallback: {run: "./agents/backend.sh --conservative"}

  test:
    needs: [develop]
    agent: qa-expert
    matrix: {suite: [unit, integration, e2e]}
    max_parallel: 2
    retry: {max_attempts: 5, backoff: linear, delay: 2s, on_exit_codes: [75], on_output: ['rate limit|timed out']}
    timeout: 15m

  deploy:
    needs: [test]
    if: ${{ params.env == 'prod' || params.env == 'staging' }}
    run: ./deploy.sh "${{ params.env }}"
    approval: {when: before, approvers: [ops-lead], prevent_self_approval: true}
    compensate: ./rollback.sh   # saga: runs if the run later fails
    continue_on_error: false

  notify:
    needs: [deploy]
    if: ${{ always() }}
    run: echo "deploy ended as ${{ tasks.deploy.status }}"

hooks:                          # run-level handlers, each a command
  on_waiting: ./notify-approvers.sh   # a gate is waiting
  on_failure: ./page.sh
  on_exit: ./cleanup.sh
)YAML";

Workflow load_ok(std::string_view text, const std::string& file = "flow.yaml") {
  auto wf = wfo::load_workflow(text, file, "/work/flows");
  if (!wf) FAIL(wfo::format_diagnostic(wf.error(), text));
  return *wf;
}

}  // namespace

TEST_CASE("loader: the spec's complete example, top level") {
  Workflow wf = load_ok(k_example, "examples/feature.yaml");
  CHECK(wf.version == 1);
  CHECK(wf.name == "feature-delivery");
  CHECK(wf.description == "design -> develop -> test -> deploy");
  CHECK(wf.file == "examples/feature.yaml");
  CHECK(wf.source_dir == "/work/flows");
  CHECK(wf.timeout == 2h);
  CHECK(wf.max_parallel == 4);
  CHECK_FALSE(wf.durability.has_value());
  REQUIRE(wf.env.size() == 1);
  CHECK(wf.env[0].first == "LOG_LEVEL");
  CHECK(wf.env[0].second.text == "info");
  CHECK(wf.env[0].second.mark.line == 10);
  CHECK(wf.env[0].second.mark.column == 18);

  REQUIRE(wf.params.size() == 3);
  CHECK(wf.params[0].name == "feature");
  CHECK(wf.params[0].default_value == "login");
  CHECK(wf.params[0].description == "feature to build");
  CHECK(wf.params[0].mark.line == 6);
  CHECK(wf.params[0].mark.column == 3);
  CHECK(wf.params[1].enum_values == std::vector<std::string>{"staging", "prod"});
  CHECK(wf.params[2].name == "ticket");
  CHECK(wf.params[2].required);
  CHECK_FALSE(wf.params[2].default_value.has_value());

  CHECK(wf.defaults.timeout == 10min);
  REQUIRE(wf.defaults.retry.has_value());
  CHECK(wf.defaults.retry->max_attempts == 3);
  CHECK(wf.defaults.retry->backoff == wfo::Backoff::exponential);
  CHECK(wf.defaults.retry->delay == 1000ms);
  CHECK(wf.defaults.retry->max_delay == 30000ms);
  CHECK(wf.defaults.retry->jitter == wfo::Jitter::full);
  CHECK(wf.defaults.retry->factor == 2.0);
  CHECK_FALSE(wf.defaults.retry->on_timeout.has_value());

  REQUIRE(wf.hooks.on_waiting.has_value());
  CHECK(wf.hooks.on_waiting->text == "./notify-approvers.sh");
  CHECK(wf.hooks.on_failure->text == "./page.sh");
  CHECK(wf.hooks.on_exit->text == "./cleanup.sh");
  CHECK_FALSE(wf.hooks.on_success.has_value());
  CHECK_FALSE(wf.hooks.on_cancel.has_value());
}

TEST_CASE("loader: the spec's complete example, agents") {
  Workflow wf = load_ok(k_example);
  REQUIRE(wf.agents.size() == 3);
  const wfo::AgentSpec& designer = wf.agents[0];
  CHECK(designer.name == "api-designer");
  CHECK(designer.mark.line == 19);
  CHECK(designer.mark.column == 3);
  CHECK(designer.command.form == CommandSpec::Form::argv);
  REQUIRE(designer.command.parts.size() == 3);
  CHECK(designer.command.parts[0].text == "./agents/api-designer.sh");
  CHECK(designer.command.parts[2].text == "${{ inputs.feature }}");
  CHECK(designer.command.parts[2].mark.line == 20);
  CHECK(designer.command.parts[2].mark.column == 56);
  CHECK(designer.max_parallel == 1);
  CHECK(designer.timeout == 5min);
  REQUIRE(designer.circuit_breaker.has_value());
  CHECK(designer.circuit_breaker->failures == 3);
  CHECK(designer.circuit_breaker->cooldown == 60s);

  const wfo::AgentSpec* backend = wf.find_agent("backend-developer");
  REQUIRE(backend != nullptr);
  CHECK(backend->command.form == CommandSpec::Form::shell);
  REQUIRE(backend->command.parts.size() == 1);
  CHECK(backend->command.parts[0].text == "./agents/backend.sh");
  CHECK_FALSE(backend->max_parallel.has_value());
  CHECK_FALSE(backend->circuit_breaker.has_value());
  CHECK(wf.find_agent("qa-expert")->command.form == CommandSpec::Form::argv);
}

TEST_CASE("loader: the spec's complete example, tasks") {
  Workflow wf = load_ok(k_example);
  REQUIRE(wf.tasks.size() == 6);
  std::vector<std::string> ids;
  for (const auto& t : wf.tasks) ids.push_back(t.id);
  CHECK(ids == std::vector<std::string>{"design", "review", "develop", "test", "deploy", "notify"});

  const wfo::TaskSpec& design = wf.tasks[0];
  CHECK(design.mark.line == 30);
  CHECK(design.mark.column == 3);
  CHECK(design.needs.empty());
  CHECK(design.agent == "api-designer");
  CHECK(design.agent_mark.line == 31);
  CHECK(design.agent_mark.column == 12);
  REQUIRE(design.with.size() == 1);
  CHECK(design.with[0].first == "feature");
  CHECK(design.with[0].second.text == "${{ params.feature }}");
  REQUIRE(design.outputs.size() == 1);
  CHECK(design.outputs[0].name == "spec_path");
  CHECK(design.outputs[0].required);
  REQUIRE(design.outputs[0].pattern);
  CHECK(design.outputs[0].pattern->source() == "\\.ya?ml$");
  CHECK(design.fail_fast);
  CHECK(design.priority == 0);

  const wfo::TaskSpec& review = wf.tasks[1];
  CHECK(review.needs == std::vector<std::string>{"design"});
  REQUIRE(review.need_marks.size() == 1);
  CHECK(review.need_marks[0].line == 37);
  CHECK(review.need_marks[0].column == 13);
  CHECK_FALSE(review.run.has_value());
  CHECK(review.agent.empty());
  REQUIRE(review.approval.has_value());
  CHECK(review.approval->when == wfo::GateWhen::before);
  CHECK(review.approval->message->text ==
        "Approve the API spec ${{ tasks.design.outputs.spec_path }}?");
  CHECK(review.approval->approvers == std::vector<std::string>{"alice", "bob"});
  CHECK(review.approval->min_approvals == 1);
  CHECK(review.approval->timeout == 24h);
  CHECK(review.approval->on_timeout == wfo::GateOnTimeout::reject);
  CHECK_FALSE(review.approval->prevent_self_approval);

  const wfo::TaskSpec& develop = wf.tasks[2];
  REQUIRE(develop.fallback.has_value());
  CHECK(develop.fallback->run->text == "./agents/backend.sh --conservative");
  CHECK(develop.fallback->agent.empty());
}

TEST_CASE("loader: the spec's complete example, test, deploy and notify") {
  Workflow wf = load_ok(k_example);
  const wfo::TaskSpec& test = wf.tasks[3];
  REQUIRE(test.matrix.has_value());
  REQUIRE(test.matrix->axes.size() == 1);
  CHECK(test.matrix->axes[0].first == "suite");
  CHECK(test.matrix->axes[0].second == std::vector<std::string>{"unit", "integration", "e2e"});
  CHECK(test.max_parallel == 2);
  REQUIRE(test.retry.has_value());
  CHECK(test.retry->max_attempts == 5);
  CHECK(test.retry->backoff == wfo::Backoff::linear);
  CHECK(test.retry->delay == 2000ms);
  CHECK(test.retry->on_exit_codes == std::vector<int>{75});
  REQUIRE(test.retry->on_output.size() == 1);
  CHECK(test.retry->on_output[0].source() == "rate limit|timed out");
  CHECK(test.retry->jitter == wfo::Jitter::none);
  CHECK_FALSE(test.retry->max_delay.has_value());
  CHECK(test.timeout == 15min);

  const wfo::TaskSpec& deploy = wf.tasks[4];
  CHECK(deploy.if_expr->text == "${{ params.env == 'prod' || params.env == 'staging' }}");
  CHECK(deploy.if_expr->mark.line == 60);
  CHECK(deploy.if_expr->mark.column == 9);
  CHECK(deploy.run->text == "./deploy.sh \"${{ params.env }}\"");
  CHECK(deploy.approval->approvers == std::vector<std::string>{"ops-lead"});
  CHECK(deploy.approval->prevent_self_approval);
  CHECK(deploy.compensate->text == "./rollback.sh");
  CHECK_FALSE(deploy.continue_on_error);

  const wfo::TaskSpec& notify = wf.tasks[5];
  CHECK(notify.needs == std::vector<std::string>{"deploy"});
  CHECK(notify.if_expr->text == "${{ always() }}");
  CHECK(notify.run->text == "echo \"deploy ended as ${{ tasks.deploy.status }}\"");
}

TEST_CASE("loader: a minimal file takes its name from the file's stem") {
  Workflow wf = load_ok("version: 1\ntasks:\n  build:\n    run: make\n", "ci/nightly.build.yaml");
  CHECK(wf.name == "nightly.build");
  CHECK(wf.description.empty());
  CHECK_FALSE(wf.timeout.has_value());
  REQUIRE(wf.tasks.size() == 1);
  CHECK(wf.tasks[0].run->text == "make");
  CHECK(wf.tasks[0].run->mark.line == 4);
  CHECK(wf.tasks[0].run->mark.column == 10);
  CHECK(wf.agents.empty());
  CHECK(wf.params.empty());
}

TEST_CASE("loader: every other task, agent and retry key") {
  Workflow wf = load_ok(R"(version: 1
durability: full
agents:
  coder: {command: [./coder.sh, -v], env: {MODEL: 4, FAST: true}, workdir: agents,
          retry: {max_attempts: 2, on_timeout: false}}
tasks:
  a:
    run: |
      if [[ -f x ]]; then echo {; fi
    env: {DEBUG: 1, NAME: ~, Q: "it's"}
    workdir: sub
    priority: -5
    fail_fast: false
    continue_on_error: true
    retry: {max_attempts: 4, backoff: exponential, factor: 1.5, delay: 500ms, max_delay: 1h30m,
            jitter: equal, on_timeout: true}
    repeat: {until: "${{ tasks.a.outputs.done == 'yes' }}", max: 10, interval: 5s}
    for_each: ${{ fromJSON(params.items) }}
  b:
    needs: a
    agent: coder
    with: {n: 3, flag: false, text: hello}
    fallback: {agent: coder, with: {mode: safe}}
    matrix:
      os: [linux, mac]
      n: [1, 2.5, true]
      include: [{os: bsd, n: 7}]
      exclude: [{os: mac, n: 1}]
    approval:
      when: on_failure
      min_approvals: 2
      approvers: [alice, bob]
      on_timeout: approve
      inputs:
        reason: {required: true, enum: [ok, retry], pattern: '^[a-z]+$', description: why}
        note:
  c:
    needs: [a, b, a]
    uses: sub/flow.yaml
    with: {target: prod}
  gate:
    approval:
)");
  CHECK(wf.durability == wfo::Durability::full);
  const wfo::AgentSpec& coder = wf.agents[0];
  CHECK(coder.command.parts.size() == 2);
  CHECK(coder.env.size() == 2);
  CHECK(coder.env[0].second.text == "4");
  CHECK(coder.env[1].second.text == "true");
  CHECK(coder.workdir == "agents");
  CHECK(coder.retry->max_attempts == 2);
  CHECK(coder.retry->on_timeout == false);

  const wfo::TaskSpec& a = wf.tasks[0];
  CHECK(a.run->text == "if [[ -f x ]]; then echo {; fi\n");
  REQUIRE(a.env.size() == 3);
  CHECK(a.env[0].second.text == "1");
  CHECK(a.env[1].second.text == "");
  CHECK(a.env[2].second.text == "it's");
  CHECK(a.workdir == "sub");
  CHECK(a.priority == -5);
  CHECK_FALSE(a.fail_fast);
  CHECK(a.continue_on_error);
  CHECK(a.retry->factor == 1.5);
  CHECK(a.retry->delay == 500ms);
  CHECK(a.retry->max_delay == 5400000ms);
  CHECK(a.retry->jitter == wfo::Jitter::equal);
  CHECK(a.retry->on_timeout == true);
  CHECK(a.retry->mark.line == 15);
  REQUIRE(a.repeat.has_value());
  CHECK(a.repeat->until.text == "${{ tasks.a.outputs.done == 'yes' }}");
  CHECK(a.repeat->max == 10);
  CHECK(a.repeat->interval == 5s);
  CHECK(a.for_each->text == "${{ fromJSON(params.items) }}");

  const wfo::TaskSpec& b = wf.tasks[1];
  CHECK(b.needs == std::vector<std::string>{"a"});
  CHECK(b.need_marks[0].line == 20);
  CHECK(b.with.size() == 3);
  CHECK(b.with[0].second.text == "3");
  CHECK(b.with[1].second.text == "false");
  CHECK(b.fallback->agent == "coder");
  CHECK(b.fallback->with[0].second.text == "safe");
  CHECK_FALSE(b.fallback->run.has_value());
  REQUIRE(b.matrix->axes.size() == 2);
  CHECK(b.matrix->axes[1].second == std::vector<std::string>{"1", "2.5", "true"});
  REQUIRE(b.matrix->include.size() == 1);
  CHECK(b.matrix->include[0] ==
        std::vector<std::pair<std::string, std::string>>{{"os", "bsd"}, {"n", "7"}});
  CHECK(b.matrix->exclude[0][1].second == "1");
  CHECK(b.approval->when == wfo::GateWhen::on_failure);
  CHECK(b.approval->min_approvals == 2);
  CHECK(b.approval->on_timeout == wfo::GateOnTimeout::approve);
  REQUIRE(b.approval->inputs.size() == 2);
  CHECK(b.approval->inputs[0].name == "reason");
  CHECK(b.approval->inputs[0].required);
  CHECK(b.approval->inputs[0].enum_values == std::vector<std::string>{"ok", "retry"});
  REQUIRE(b.approval->inputs[0].pattern);
  CHECK(b.approval->inputs[0].pattern->source() == "^[a-z]+$");
  CHECK(b.approval->inputs[0].description == "why");
  CHECK(b.approval->inputs[1].name == "note");
  CHECK_FALSE(b.approval->inputs[1].required);

  const wfo::TaskSpec& c = wf.tasks[2];
  CHECK(c.needs == std::vector<std::string>{"a", "b"});
  CHECK(c.need_marks.size() == 2);
  CHECK(c.uses == "sub/flow.yaml");
  CHECK(c.uses_mark.line == 39);
  CHECK(c.with[0].second.text == "prod");

  const wfo::TaskSpec& gate = wf.tasks[3];
  REQUIRE(gate.approval.has_value());
  CHECK(gate.approval->when == wfo::GateWhen::before);
  CHECK(gate.approval->approvers.empty());
}

TEST_CASE("loader: params, quoted scalars, anchors and comments") {
  Workflow wf = load_ok(R"(# a leading comment
---
version: 1
params:
  env: {default: prod, enum: [staging, prod], required: true, secret: true}
  count: {default: 3}
  bare:
tasks:
  x: &common
    run: 'echo "[not a list" # not a comment'
    timeout: 1m
  y: *common
)");
  REQUIRE(wf.params.size() == 3);
  CHECK(wf.params[0].required);
  CHECK(wf.params[0].secret);
  CHECK(wf.params[0].default_value == "prod");
  CHECK(wf.params[1].default_value == "3");
  CHECK(wf.params[2].name == "bare");
  CHECK_FALSE(wf.params[2].default_value.has_value());
  REQUIRE(wf.tasks.size() == 2);
  CHECK(wf.tasks[0].run->text == "echo \"[not a list\" # not a comment");
  CHECK(wf.tasks[1].run->text == wf.tasks[0].run->text);
  CHECK(wf.tasks[1].timeout == 1min);
  CHECK(wf.tasks[1].mark.line == 12);
}

TEST_CASE("loader: a need listed twice is kept once, in first-listed order, however long") {
  // 30 needs, then each again, then the first: past 16 needs the loader hashes instead of
  // searching, and must keep the same rule.
  std::string text = "version: 1\ntasks:\n";
  std::string list;
  std::vector<std::string> expected;
  for (int k = 0; k < 30; ++k) {
    std::string id = "t" + std::to_string(k);
    text += "  " + id + ": {run: x}\n";
    list += id + ", ";
    expected.push_back(id);
  }
  text += "  join:\n    run: x\n    needs: [" + list + list + "t0]\n";
  Workflow wf = load_ok(text);
  REQUIRE(wf.tasks.size() == 31);
  CHECK(wf.tasks[30].needs == expected);
  CHECK(wf.tasks[30].need_marks.size() == expected.size());
  // The first listing of t29 (after t0-t9 at 4 columns each and t10-t28 at 5), not its repeat.
  CHECK(wf.tasks[30].need_marks[29].column == 13 + 10 * 4 + 19 * 5);
}
