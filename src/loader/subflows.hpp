#pragma once
// Sub-workflow files (spec: Tasks, `uses`): every file a workflow uses, directly or through
// other files, loaded once each, with a cycle of files refused at load time. Texts come
// through a SubflowSource: the disk when a run starts, the run's stored texts when it
// resumes, so that editing a sub-workflow file never changes a run in flight.

#include <functional>
#include <map>
#include <string>

#include "model/subflow.hpp"
#include "util/error.hpp"

namespace wfo {

/// Returns the text of the sub-workflow file with key `key` (model/subflow.hpp). Errors: the
/// file cannot be read (the message says why; the caller adds where it was named).
using SubflowSource = std::function<Result<std::string>(const std::string& key)>;

/// Sub-workflow files with the texts they were loaded from, as a run stores them.
struct LoadedSubflows {
  SubflowMap workflows;
  std::map<std::string, std::string> texts;  ///< key -> text
};

/// Loads every file `root` uses, directly or not, reading texts through `source`. A file's
/// `name` and `source_dir` follow from the file that names it (subflow_display_name,
/// subflow_key). Errors (ErrorKind::invalid_workflow): at a `uses` value, a file `source`
/// cannot give (`cannot read sub-workflow 'sub.yaml': ...`), an expression in the path, a
/// cycle of files (`sub-workflow cycle: a.yaml -> b.yaml -> a.yaml`); any load_workflow error
/// of a used file, located in that file. When the error is located in a used file and
/// `error_text` is given, it receives that file's text (for the caret under the line).
Result<LoadedSubflows> load_subflows(const Workflow& root, const SubflowSource& source,
                                     std::string* error_text = nullptr);

/// A SubflowSource that reads the file at the key's path.
SubflowSource disk_subflow_source();

}  // namespace wfo
