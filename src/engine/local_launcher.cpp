#include "engine/local_launcher.hpp"

#include <unistd.h>

#include <csignal>

namespace wfo {

Result<Launcher::Started> LocalLauncher::start(LaunchRequest request) {
  process::SpawnRequest spawn;
  spawn.argv = std::move(request.argv);
  spawn.env = std::move(request.env);
  spawn.base_env = std::move(request.base_env);
  spawn.workdir = std::move(request.workdir);
  spawn.log_path = std::move(request.log_path);
  spawn.mask = std::move(request.mask);
  auto pid = m_processes.spawn(spawn);
  if (!pid) return std::unexpected(pid.error());
  return Started{static_cast<uint64_t>(*pid), "pgid:" + std::to_string(*pid), *pid};
}

void LocalLauncher::cancel(uint64_t token, std::chrono::milliseconds grace) {
  m_processes.terminate(static_cast<pid_t>(token), grace);
}

Launcher::Events LocalLauncher::wait(SteadyTime deadline) {
  process::WaitResult r = m_processes.wait(deadline);
  Events out;
  out.signal = r.signal;
  out.ended.reserve(r.exits.size());
  for (const auto& e : r.exits) {
    AttemptUsage usage{
        std::chrono::duration_cast<std::chrono::milliseconds>(e.usage.user).count(),
        std::chrono::duration_cast<std::chrono::milliseconds>(e.usage.system).count(),
        e.usage.max_rss_kb};
    out.ended.push_back(
        Ended{static_cast<uint64_t>(e.pid), e.exit_code, e.signal, usage, e.log_error});
  }
  return out;
}

void LocalLauncher::recover(const std::string& run_id, const std::vector<std::string>& handles) {
  constexpr std::chrono::milliseconds k_grace{5000};
  for (const auto& handle : handles) {
    if (handle.rfind("pgid:", 0) != 0) continue;
    pid_t pgid = static_cast<pid_t>(std::stol(handle.substr(5)));
    if (pgid > 1 && process::group_alive(pgid)) process::terminate_foreign_group(pgid, k_grace);
  }
  // A driver killed between spawning an attempt and recording its handle leaves a process
  // we cannot name by handle; its environment still carries the run id and the database.
  std::vector<std::string> entries{"WFO_RUN_ID=" + run_id};
  if (!m_state_db.empty()) entries.push_back("WFO_STATE=" + m_state_db);
  for (pid_t pid : process::find_processes_with_env(entries)) {
    pid_t pgid = ::getpgid(pid);
    if (pgid > 1 && pgid != ::getpgrp()) process::terminate_foreign_group(pgid, k_grace);
  }
}

}  // namespace wfo
