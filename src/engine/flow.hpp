#pragma once
// How the plan's nodes came from the workflow files (issue 5). A file's task becomes:
// - one node (a plain task);
// - one node per matrix combination, `test[suite=unit]`, in matrix order (GitHub Actions'
//   expansion: the product of the axes, minus `exclude`, then `include`);
// - a for_each collector `process`, whose instances `process[0]`, `process[1]`... are added
//   to the plan at run time, once the list is known;
// - a sub-workflow collector `deploy` (a task with `uses`), followed by the nodes of the used
//   file under its id: `deploy/migrate`.
// A scope is one use of one file: the root, or the sub-workflow of one collector. Expressions
// name tasks, params and env in their scope. The members of a collector (its instances, or its
// scope's nodes) are held until it runs; it ends when they all have.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/plan.hpp"
#include "model/subflow.hpp"

namespace wfo {

/// No node: a collector of none, a scope without a collector.
inline constexpr uint32_t k_no_node = UINT32_MAX;

/// What a node of the plan is.
enum class NodeRole {
  task,
  matrix_instance,
  foreach_collector,
  foreach_instance,
  subflow_collector
};

/// Names a node's templates read of one part of the expression context (`params`, `env`),
/// found at compile. `all` when the part is read whole (`toJSON(params)`) or by a computed
/// key (`params[matrix.p]`).
struct NameReads {
  std::vector<std::string> names;  ///< `params.<name>`: sorted and unique once compiled
  bool all = false;
};

/// Every name of a part read.
inline const NameReads k_read_all{{}, true};

/// One task read by name (`tasks.<name>...`), and which of its outputs: by name for
/// `tasks.x.outputs.<key>`, none for its `status` or `exit_code` alone, else all.
struct TaskRead {
  std::string name;  ///< the task's id in its file, in the reader's scope
  NameReads outputs;
};

/// Sorts `reads` by name and makes each name one entry, with the outputs of all its reads
/// (sorted and unique), as compile() leaves them.
void merge_task_reads(std::vector<TaskRead>& reads);

/// What a node's templates read of the expression context, recorded at compile
/// (check_reference), so that its context holds only that: a context with every param, env
/// name and output of the tasks it read, built for each of N tasks, was O(N x size) (issue 7).
struct ContextReads {
  std::vector<TaskRead> tasks;  ///< merged (merge_reads) once compiled
  NameReads params;
  NameReads env;
};

/// Merges what compile() recorded for one node: its task reads as merge_task_reads, its
/// params and env names sorted and each once (one sort, not a search per read: a task reading
/// K names was O(K^2)).
void merge_reads(ContextReads& reads);

/// How one node came from its file.
struct FlowNode {
  NodeRole role = NodeRole::task;
  uint32_t scope = 0;
  std::string name;       ///< the task's id in its file: `test` for `deploy/test[suite=unit]`
  nlohmann::json matrix;  ///< matrix instances: {axis: value}; null otherwise
  nlohmann::json item;    ///< for_each instances: their element; null otherwise
  uint32_t collector = k_no_node;    ///< for_each instances: their for_each collector
  uint32_t child_scope = k_no_node;  ///< sub-workflow collectors: the scope they run
  std::vector<uint32_t> members;     ///< collectors: instances in list order, or scope nodes
  Box<ContextReads> reads;           ///< what its templates read; none when nothing
  Box<CompiledTemplate> for_each;    ///< for_each collectors: the list (boxed: rare)
  Box<CompiledTemplate> until;       ///< `repeat.until`, as a condition
};

/// One use of one file.
struct FlowScope {
  const Workflow* workflow = nullptr;
  std::string prefix;              ///< "" for the root, else "<collector id>/"
  uint32_t collector = k_no_node;  ///< the sub-workflow collector that runs it
  /// File task id -> its nodes (matrix instances in matrix order), in file order.
  std::vector<std::pair<std::string, std::vector<uint32_t>>> names;
  std::unordered_map<std::string, size_t> name_index;  ///< file task id -> index in `names`
  /// The file's params by name (views into `workflow`), so that each `params.x` a template
  /// reads is found in O(1).
  std::unordered_map<std::string_view, const ParamSpec*> params;
  CompiledTemplateMap outputs;                         ///< the file's declared `outputs:`
  std::vector<TaskRead> output_reads;  ///< tasks the outputs (or the root's hooks) read
};

/// The flow part of a Plan. Nodes are parallel to Plan::tasks.
struct FlowPlan {
  std::vector<FlowScope> scopes;  ///< [0] is the root file
  std::vector<FlowNode> nodes;
  SubflowMap subflows;                  ///< the used files (owned; addresses are stable)
  std::deque<TaskSpec> instance_specs;  ///< specs of for_each instances (stable addresses)

  /// Adds a scope running `workflow` (which must outlive the plan) and returns its index.
  uint32_t add_scope(const Workflow& workflow, std::string prefix, uint32_t collector);
  /// The nodes named `name` in `scope`, or nullptr when the file has no such task.
  const std::vector<uint32_t>* lookup(uint32_t scope, std::string_view name) const;
  /// The nodes that share node `i`'s max_parallel and fail_fast: the instances of its matrix
  /// or for_each; empty for other nodes.
  std::vector<uint32_t> group_of(uint32_t i) const;
  /// One node that stands for node `i`'s group (its for_each collector, or the first
  /// instance of its matrix), or k_no_node for a node in no group. O(1).
  uint32_t group_key(uint32_t i) const;
  /// The collector whose members include node `i`, or k_no_node.
  uint32_t holder_of(uint32_t i) const;
};

/// Where a template stands, which decides what it may read (issue 5).
enum class TemplatePlace {
  task,           ///< a task's command, env, with, outputs...
  agent_command,  ///< an agent's command: the only place that reads `inputs`
  once,           ///< a task's `if`, gate message and `for_each`: evaluated once, before the
                  ///< instances of a for_each exist (no `item`)
  outside,        ///< hooks and a file's declared outputs: no task of their own
};

/// Checks the `tasks`, `inputs`, `matrix` and `item` parts of `ref`, read in `scope` (whose
/// file is `wf`) by node `reader` (nullopt outside a task) from a template at `place`. A
/// task reads itself by its own name (a matrix instance: itself, not its siblings), else the
/// tasks of its scope that are upstream of it. Adds the task's name, with the outputs read
/// of it, to the reader's (or the scope's) reads; a `params` or `env` name (checked by the
/// caller) to the reader's reads. Errors (ErrorKind::invalid_workflow, at the
/// reference): an unknown task (did-you-mean), a task not upstream, `inputs` outside an
/// agent's command, `matrix` outside a matrix task or an unknown axis, `item` outside a
/// for_each task or in its `if`, gate message or list.
Result<void> check_flow_reference(Plan& plan, const Workflow& wf, uint32_t scope,
                                  const expr::Reference& ref, std::optional<uint32_t> reader,
                                  TemplatePlace place);

/// One matrix combination: axis (or included key) -> value, in first-seen key order.
using MatrixCombination = std::vector<std::pair<std::string, std::string>>;

/// The most instances one matrix may make, as GitHub Actions allows per matrix (256).
inline constexpr size_t k_max_matrix_instances = 256;

/// The number of combinations of the axes alone (before exclude and include), saturating at
/// SIZE_MAX: checked against k_max_matrix_instances before anything is expanded.
size_t matrix_product_size(const MatrixSpec& matrix);

/// Expands `matrix` as GitHub Actions does: the product of the axes (the first axis varies
/// slowest), minus every combination that matches an `exclude` entry on all its keys; then each
/// `include` entry is added to every combination whose original axis values it does not
/// change (its other keys are added, and may overwrite added ones), or, when it fits none,
/// appended as a combination of its own. The caller bounds matrix_product_size (the product
/// is made whole). O(product x (axes + exclude and include keys)). Pure; errors: none.
std::vector<MatrixCombination> expand_matrix(const MatrixSpec& matrix);

/// The id of instance `index` of task `id` with `combination`: `test[os=linux,suite=unit]`;
/// `test[<index>]` when a value is empty, longer than 40 bytes or holds other than letters,
/// digits and `_.:/@+-` (an id must stay one readable word). The rule is part of what a run
/// stores: a resume finds an instance's record by this id, so it must not change.
std::string matrix_instance_id(const std::string& id, const MatrixCombination& combination,
                               size_t index);

/// Rewrites `plan.workflow->tasks` from the root file's tasks into the plan's nodes (matrix
/// instances, collectors and the nodes of sub-workflows, with needs by node id) and fills
/// `plan.flow`, whose `subflows` must hold every file a `uses` names. The root file's own
/// graph must be checked for cycles first (compile() does, to report them in the file's
/// terms). Errors
/// (ErrorKind::invalid_workflow, at file:line:col): a dependency cycle in a used file; a used
/// file missing from `subflows`; for_each combined with matrix or uses; matrix with uses.
Result<void> expand_flow(Plan& plan);

}  // namespace wfo
