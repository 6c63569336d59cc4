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
  /// `state_db`: the absolute path of the run's state database, given to every process as
  /// WFO_STATE by the engine; recover() then stops only processes of this database's run.
  /// Empty: match the run id alone.
  explicit LocalLauncher(std::string state_db = {}) : m_state_db(std::move(state_db)) {}
  Result<Started> start(LaunchRequest request) override;
  void cancel(uint64_t token, std::chrono::milliseconds grace) override;
  Events wait(SteadyTime deadline) override;
  /// Terminates the groups named by `handles` and any process whose environment holds
  /// `WFO_RUN_ID=<run_id>` and `WFO_STATE=<state_db>` (two databases may hold one run id),
  /// SIGTERM then SIGKILL after 5 s, and waits until they are gone.
  void recover(const std::string& run_id, const std::vector<std::string>& handles) override;

 private:
  process::ProcessSet m_processes;
  std::string m_state_db;
};

}  // namespace wfo
