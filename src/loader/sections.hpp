#pragma once
// The loader's section readers, shared between its .cpp files. Each reads one part of the
// file into its model type and refuses what is wrong there; checks that need the whole file
// (needs, agent names) run in check_references once every section is read.

#include <vector>

#include "loader/reader.hpp"
#include "loader/yaml_tree.hpp"
#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo::loader {

/// Marks the model has no field for, kept while loading for later messages.
struct LoadMarks {
  std::vector<Mark> fallback_agents;  ///< parallel to Workflow::tasks; line 0 without one
};

// policies.cpp
/// `retry: {max_attempts, backoff, delay, factor, max_delay, jitter, on_exit_codes, ...}`.
Result<RetryPolicy> read_retry(const Reader& r, const YNode& v);
/// `approval: {when, message, approvers, min_approvals, ..., inputs}`; null means defaults.
Result<ApprovalSpec> read_approval(const Reader& r, const YNode& v);
/// `matrix: {axis: [values], include: [...], exclude: [...]}`.
Result<MatrixSpec> read_matrix(const Reader& r, const YNode& v);
/// `repeat: {until, max, interval}`; `until` is required.
Result<RepeatSpec> read_repeat(const Reader& r, const YNode& v);
/// `fallback: {run}` or `{agent, with}`; stores the agent value's mark in `agent_mark`.
Result<FallbackSpec> read_fallback(const Reader& r, const YNode& v, Mark& agent_mark);
/// `circuit_breaker: {failures, cooldown}`; both are required.
Result<CircuitBreakerSpec> read_circuit_breaker(const Reader& r, const YNode& v);
/// `outputs: {name: {required, pattern}}`.
Result<std::vector<OutputSpec>> read_outputs(const Reader& r, const YNode& v);

// subflows.cpp
/// The top-level `outputs: {name: value}` (or `{name: {value, description}}`) of a workflow
/// used as a sub-workflow.
Result<TemplateMap> read_workflow_outputs(const Reader& r, const YNode& v);

// tasks.cpp
/// `tasks: {id: task}`, in file order; `marks` gets one entry per task. Consumes `v`: each
/// task's value is emptied once it is read (its key stays), so the tree and the `TaskSpec`s
/// are never both whole in memory, and the freed nodes are reused for the next tasks (at
/// 100,000 tasks: 7 MB less peak RSS and 12% less time, docs/benchmarks.md).
Result<std::vector<TaskSpec>> read_tasks(const Reader& r, YNode& v, LoadMarks& marks);
/// Checks every task's needs and agents against the whole workflow.
Result<void> check_references(const Reader& r, const Workflow& wf, const LoadMarks& marks);

// loader.cpp
/// `command:` as a string (shell form) or a non-empty list (argv form).
Result<CommandSpec> read_command(const Reader& r, const YNode& v);

}  // namespace wfo::loader
