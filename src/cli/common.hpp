#pragma once
// What the subcommands share: where the state lives, who the user is, loading a workflow
// with diagnostics, the driver lock, and the JSON shapes of the spec.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "engine/plan.hpp"
#include "engine/ports.hpp"
#include "store/sqlite_run_store.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"  // shell_quote, used with the printed commands

namespace wfo::cli {

/// Options every subcommand takes.
struct GlobalOptions {
  std::string state;  ///< --state; empty: $WFO_STATE, else .wfo/state.db
  bool json = false;  ///< --json where the subcommand has it
};

/// Resolves the state database path (spec: `--state PATH`, else `$WFO_STATE`, else
/// `.wfo/state.db` under the current directory), made absolute.
std::string state_path(const GlobalOptions& g);
/// The folder that holds the database, logs and locks.
std::string state_dir(const std::string& db_path);

/// Opens the store; prints nothing. Errors: see SqliteRunStore::open.
Result<std::unique_ptr<SqliteRunStore>> open_store(const GlobalOptions& g, bool create);

/// " --state PATH" (PATH absolute, shell_quote'd) when --state was given, else "": appended to
/// the wfo commands wfo prints, so that one pasted reaches the same database ($WFO_STATE and
/// the default need nothing).
std::string state_arg(const GlobalOptions& g);

/// The OS user of this process (getpwuid(geteuid())); never an environment variable
/// (spec: Approval gates). Falls back to `uid:<n>` when the uid has no name.
std::string current_user();

/// A loaded and compiled workflow with the text it came from.
struct LoadedWorkflow {
  std::string text;
  Plan plan;
  /// The texts of the sub-workflow files it uses, by key (model/subflow.hpp), to store with a
  /// run (RunRecord::subflow_texts).
  nlohmann::json subflow_texts = nlohmann::json::object();
};

/// Loads `text` as workflow `file` and compiles it, with the sub-workflow files it uses: read
/// from `stored_subflows` (a run's RunRecord::subflow_texts) when given, else from disk.
/// Errors carry file:line:col; report() shows the offending line, of this file or of a
/// sub-workflow file, without being handed the text.
Result<LoadedWorkflow> load_text(std::string text, const std::string& file,
                                 const std::string& source_dir,
                                 const nlohmann::json* stored_subflows = nullptr);
/// Reads the workflow file at `path` (util/file.hpp's read_file; `regular` as there). Errors:
/// read_file's, as ErrorKind::usage with the hint "check the path of the workflow file",
/// except an interrupted read (Ctrl-C while a pipe has no writer), which stays
/// ErrorKind::interrupted.
Result<std::string> read_workflow_file(const std::string& path, bool* regular = nullptr);
/// Reads and loads the workflow file at `path`.
Result<LoadedWorkflow> load_file(const std::string& path);

/// Prints `error` to stderr as `wfo: error: ...` or, with a place, as a diagnostic with the
/// source line and a caret (`source` is the file's text when known). Returns the exit code.
int report(const Error& error, std::string_view source = {});

/// An exclusive lock on one run, held by its driver (flock(2) on state_dir/runs/<id>.lock,
/// released by the kernel when the process dies, so a dead driver never blocks a resume).
class DriverLock {
 public:
  /// Takes the lock of run `run_id` in the state folder of `g` without waiting. Errors
  /// (ErrorKind::state): held by a live process: `run r-x is being driven by pid 123 on
  /// host h` with a hint.
  static Result<DriverLock> acquire(const GlobalOptions& g, const std::string& run_id);
  DriverLock(DriverLock&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
  DriverLock& operator=(DriverLock&&) = delete;
  ~DriverLock();

 private:
  explicit DriverLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

/// A new run id: `r-YYYYMMDD-HHMMSS-xxxx` (UTC time and 4 random hex digits).
std::string new_run_id();

/// A snapshot's gates by task id, built in O(gates) so that finding a task's gate is O(1)
/// (a task has at most one gate: the gates table's key). Points into the snapshot, which
/// must outlive it.
using GatesByTask = std::unordered_map<std::string_view, const GateRecord*>;
GatesByTask gates_by_task(const RunSnapshot& snapshot);

/// The run as the spec's JSON (Machine-readable output); `with_tasks` adds `tasks`.
nlohmann::json run_json(const RunSnapshot& snapshot, bool with_tasks);
/// A run record alone (for `wfo list --json`).
nlohmann::json run_summary_json(const RunRecord& run);

/// Prints JSON to stdout (indented) followed by a newline.
void print_json(const nlohmann::json& j);

}  // namespace wfo::cli
