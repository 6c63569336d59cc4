#pragma once
// The Launcher for local processes: each attempt is a process group (handle `pgid:<n>`).

#include <unordered_map>

#include "engine/ports.hpp"
#include "process/process.hpp"

namespace wfo {

/// Runs attempts as local process groups through process::ProcessSet. Requires a live
/// process::SignalGuard. Tokens are the children's pids.
class LocalLauncher final : public Launcher {
 public:
  Result<Started> start(const LaunchRequest& request) override;
  void cancel(uint64_t token, std::chrono::milliseconds grace) override;
  Events wait(SteadyTime deadline) override;
  /// Terminates the groups named by `handles` and any process whose environment holds
  /// `WFO_RUN_ID=<run_id>`, SIGTERM then SIGKILL after 5 s, and waits until they are gone.
  void recover(const std::string& run_id, const std::vector<std::string>& handles) override;

 private:
  process::ProcessSet m_processes;
};

}  // namespace wfo
