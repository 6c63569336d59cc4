#pragma once
// Progress of `wfo run` / `wfo resume` on stderr, for people and CI logs. make_progress picks
// one of three shapes from the environment (issue 6): the live terminal view (terminal_view.hpp)
// on a terminal; plain timestamped lines elsewhere; and those lines with GitHub Actions' log
// groups and annotations when GITHUB_ACTIONS=true.

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "engine/ports.hpp"

namespace wfo::cli {

/// How much `wfo run` / `wfo resume` print while driving.
enum class Verbosity { quiet, normal, verbose };

/// The output flags of `wfo run` and `wfo resume`.
struct OutputOptions {
  Verbosity verbosity = Verbosity::normal;  ///< -q / -v
  std::string junit_path;                   ///< --junit FILE; empty: none
  std::string metrics_path;                 ///< --metrics FILE; empty: none
};

/// Adds -v/--verbose, -q/--quiet (exclusive), --junit FILE and --metrics FILE to `cmd`,
/// storing into `o`, which must outlive the parse.
void add_output_options(CLI::App& cmd, OutputOptions& o);

/// An Observer that may keep drawing between events; finish() stops it.
class Progress : public Observer {
 public:
  /// Ends the output: stops any thread, flushes what is pending, and leaves the terminal
  /// clean for the final message. Call it once, after Engine::drive returns.
  virtual void finish() {}
};

/// Where a drive's progress should look for things.
struct ProgressContext {
  std::string state_dir;   ///< folder of the state database (logs live under it)
  const RunSnapshot* run;  ///< the run as the drive starts: id and every task's status
  Verbosity verbosity = Verbosity::normal;
};

/// Returns the progress for this process's environment: the terminal view when stdout and
/// stderr are terminals, TERM is not `dumb`, NO_COLOR is unset and not quiet; otherwise plain
/// lines, with GitHub Actions' workflow commands when GITHUB_ACTIONS is `true`.
std::unique_ptr<Progress> make_progress(const ProgressContext& context);

/// Returns `HH:MM:SS task what` for the events people follow, or empty for the others
/// (run-level events, for instance: the caller prints the outcome).
std::string event_line(const Event& e);

}  // namespace wfo::cli
