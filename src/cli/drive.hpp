#pragma once
// Driving a run, shared by `wfo run` and `wfo resume`.

#include <optional>
#include <string>

#include "cli/common.hpp"
#include "cli/progress.hpp"

namespace wfo::cli {

/// How `wfo run` / `wfo resume` were asked to drive.
struct DriveRequest {
  std::optional<int> jobs;   ///< -j
  bool wait = false;         ///< --wait
  bool json = false;         ///< --json
  std::string durability;    ///< --durability: "", normal, full
  bool resume = false;          ///< the run was loaded from the store
  OutputOptions output;         ///< -v, -q, --junit, --metrics
  std::vector<std::pair<std::string, std::string>> secrets;  ///< secret params, name -> value
};

/// Drives `snapshot` of `loaded` with the lock held, prints the outcome (and the approve
/// commands when parked), and returns the exit code (spec: Exit codes). The engine adds the
/// instances of for_each tasks to `loaded.plan`.
int drive_run(const GlobalOptions& g, SqliteRunStore& store, LoadedWorkflow& loaded,
              RunSnapshot snapshot, const DriveRequest& request);

}  // namespace wfo::cli
