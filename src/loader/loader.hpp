#pragma once
// YAML -> model: the only code that includes the YAML parser, libyaml (STYLE.md). Checks
// everything that is local to the file's structure; the engine's check() adds the DAG and
// expression checks.

#include <string>
#include <string_view>

#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo {

/// Parses `text`, the contents of the workflow file `file` (a path used for messages and for
/// the default name), into a Workflow; `source_dir` becomes Workflow::source_dir.
/// Errors (ErrorKind::invalid_workflow, with file, line and column, and a hint where one helps):
/// YAML syntax, nesting deeper than 64 levels, an empty file or a top level that is not a
/// mapping, unknown keys (did-you-mean), wrong types, duplicate keys, bad durations, a missing
/// or unsupported `version`, negative or absurd numbers, task ids outside [A-Za-z0-9_-],
/// unknown needs, a task that needs itself, unknown agents, a task with two of run/agent/uses
/// or none (without approval). Never throws.
Result<Workflow> load_workflow(std::string_view text, const std::string& file,
                               const std::string& source_dir);

}  // namespace wfo
