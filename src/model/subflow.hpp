#pragma once
// Sub-workflow files (spec: Tasks, `uses`). The loader reads them (from disk when a run
// starts, from the run's stored texts when it resumes); the engine inlines their tasks. Both
// name a file by the same key, so that a run resumes from exactly the texts it started with.

#include <filesystem>
#include <map>
#include <string>

#include "model/workflow.hpp"

namespace wfo {

/// Loaded sub-workflow files by key (subflow_key). A std::map: addresses stay stable.
using SubflowMap = std::map<std::string, Workflow>;

/// The key of the file that `uses` names in `from`: the path made absolute against the
/// folder of `from` and normalized, e.g. `/work/flows/sub/deploy.yaml`. No I/O.
inline std::string subflow_key(const Workflow& from, const std::string& uses) {
  return (std::filesystem::path(from.source_dir) / uses).lexically_normal().string();
}

/// How the file `uses` is named in messages: beside the name `from` was given as.
inline std::string subflow_display_name(const Workflow& from, const std::string& uses) {
  return (std::filesystem::path(from.file).parent_path() / uses).lexically_normal().string();
}

}  // namespace wfo
