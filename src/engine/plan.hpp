#pragma once
// A Plan is a loaded Workflow made ready to drive: the DAG built, every template parsed once,
// the retry policy and timeout of each task resolved (task, then agent, then defaults).
// compile() is also where the checks that need more than the file's structure happen.

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "expr/expr.hpp"
#include "graph/dag.hpp"
#include "model/subflow.hpp"
#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo {

/// A template parsed once at load time (issue: "expressions parsed once at load").
struct CompiledTemplate {
  std::string source;  ///< the text as written, for messages
  expr::ParsedTemplate parsed;
};

/// Ordered name -> template pairs, compiled. Shared by the tasks whose templates are the same
/// (the instances of a matrix, the tasks of one agent) until one is changed (util/box.hpp).
using CompiledTemplateMap = SharedVector<std::pair<std::string, CompiledTemplate>>;

/// Where a task's attempts run and for how long: `workdir` absolute (one string shared by every
/// task of a folder), `timeout` in ms (none or 0: no limit).
struct AttemptPlace {
  std::shared_ptr<const std::string> workdir;
  std::optional<std::chrono::milliseconds> timeout;
};

/// The policy of a task that sets none: one attempt.
inline const RetryPolicy k_no_retry{};

/// One task of the plan, with everything resolved.
struct CompiledTask {
  const TaskSpec* spec = nullptr;
  const AgentSpec* agent = nullptr;  ///< when the task runs an agent
  std::optional<CompiledTemplate> run;       ///< `run:` (shell)
  SharedVector<CompiledTemplate> command;    ///< the agent's command parts
  CommandSpec::Form command_form = CommandSpec::Form::shell;
  Box<CompiledTemplate> if_expr;  ///< boxed, as the other rarely set templates (util/box.hpp)
  /// The file's `env:`, parsed once and shared by the tasks of its scope (a copy a task was
  /// O(tasks x names) in time and memory: 183 MB for 10 names at 100,000 tasks). Empty when
  /// the file sets none. `env`'s names win over it.
  CompiledTemplateMap file_env;
  CompiledTemplateMap env;   ///< the agent's env, then the task's (over file_env)
  CompiledTemplateMap with;  ///< agent inputs
  Box<CompiledTemplate> approval_message;
  Box<CompiledTemplate> fallback_run;             ///< `fallback: {run: ...}`
  const AgentSpec* fallback_agent = nullptr;      ///< `fallback: {agent: ...}`
  SharedVector<CompiledTemplate> fallback_command;  ///< the fallback agent's command parts
  CompiledTemplateMap fallback_with;
  /// The fallback agent's env, then the task's (over file_env), for a fallback attempt.
  CompiledTemplateMap fallback_env;
  /// Where a fallback to an agent runs and for how long: the task's own `workdir` and
  /// `timeout`, else the fallback agent's, else the file's folder and `defaults` (as `place`
  /// for the task's own agent). Set with fallback_agent.
  Box<AttemptPlace> fallback_place;
  Box<CompiledTemplate> compensate;  ///< saga step run when the run fails
  /// Resolved: the task's policy, else its agent's, else the workflow default's, else
  /// k_no_retry (max_attempts 1). Points into the Workflow or AgentSpec that owns it, which
  /// the Plan keeps (a pointer, not a copy: 112 bytes a task at 100,000 tasks).
  const RetryPolicy* retry = &k_no_retry;
  /// Resolved: the task's workdir and timeout, else its agent's, else the file's folder and
  /// `defaults`. The workdir string is shared by every task of a folder (a copy each was 88
  /// bytes a task).
  AttemptPlace place;
  bool if_uses_status = false;

  /// The agent whose pool (`max_parallel`) an attempt takes a place in: for a `fallback`
  /// attempt (`fallback` true) to an agent, that agent; else the task's agent, or nullptr.
  const AgentSpec* pool_agent(bool fallback) const {
    return fallback && fallback_agent ? fallback_agent : agent;
  }
  /// Where an attempt runs and for how long: fallback_place for a fallback to an agent, else
  /// place.
  const AttemptPlace& place_of(bool fallback) const {
    return fallback && fallback_place ? *fallback_place : place;
  }
};

struct FlowPlan;

/// A workflow ready to drive. Owns the Workflow; CompiledTask points into it. Its tasks are
/// the nodes of the run: matrix instances and sub-workflow tasks included (engine/flow.hpp);
/// the engine appends the instances of for_each tasks as their lists become known (a deque:
/// references to earlier tasks stay valid).
struct Plan {
  std::unique_ptr<Workflow> workflow;
  Dag dag;
  std::deque<CompiledTask> tasks;  ///< workflow->tasks, then for_each instances
  std::unordered_map<std::string, uint32_t> index;  ///< task id -> index
  /// How each task came from its file: matrix, for_each, sub-workflow (engine/flow.hpp).
  std::shared_ptr<FlowPlan> flow;
  std::optional<CompiledTemplate> hook_on_success, hook_on_failure, hook_on_cancel,
      hook_on_waiting, hook_on_exit;

  /// True when task `i` has a fallback to try once its retries are spent.
  bool has_fallback(uint32_t i) const {
    return tasks[i].fallback_run || tasks[i].fallback_agent;
  }

  /// Returns the index of task `id`, or nullopt.
  std::optional<uint32_t> find(std::string_view id) const {
    auto it = index.find(std::string(id));
    if (it == index.end()) return std::nullopt;
    return it->second;
  }
};

/// Builds the Plan of `workflow`, inlining the sub-workflows in `subflows` (every file a
/// `uses` names, directly or not; loader/subflows.hpp). Errors (ErrorKind::invalid_workflow,
/// at file:line:col): dependency cycles; expressions that do not parse; references to unknown params
/// (`unknown param 'featur' (did you mean 'feature'?)`), to unknown tasks, or to tasks that
/// are not upstream of the reader (`tasks.x` read by a task that does not need x); `inputs`,
/// `matrix` or `item` read where they do not exist (check_flow_reference).
Result<Plan> compile(Workflow workflow, SubflowMap subflows = {});

/// Checks `given` (name -> value from `-p k=v`) against the workflow's params and returns the
/// full set, defaults filled in. Errors (ErrorKind::usage): an unknown param (did-you-mean),
/// a missing required one (`missing required param 'ticket': pass -p ticket=VALUE`), a value
/// outside its enum.
Result<nlohmann::json> bind_params(const Workflow& workflow,
                                   const std::vector<std::pair<std::string, std::string>>& given);

}  // namespace wfo
