#include "cli/common.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>

#include "cli/exit_status.hpp"
#include "loader/loader.hpp"
#include "loader/subflows.hpp"
#include "util/diagnostic.hpp"
#include "util/file.hpp"
#include "util/time.hpp"

namespace wfo::cli {

std::string state_path(const GlobalOptions& g) {
  std::string path = g.state;
  if (path.empty()) {
    const char* env = std::getenv("WFO_STATE");
    path = env && *env ? env : ".wfo/state.db";
  }
  return std::filesystem::absolute(path).lexically_normal().string();
}

std::string state_dir(const std::string& db_path) {
  return std::filesystem::path(db_path).parent_path().string();
}

Result<std::unique_ptr<SqliteRunStore>> open_store(const GlobalOptions& g, bool create) {
  return SqliteRunStore::open(state_path(g), create);
}

std::string current_user() {
  uid_t uid = ::geteuid();
  struct passwd pw {};
  struct passwd* result = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &result) == 0 && result) return result->pw_name;
  return "uid:" + std::to_string(uid);
}

namespace {

/// Texts of sub-workflow files by the name their errors carry, so that report() shows the
/// offending line of the right file (issue 5: sub-workflows).
std::map<std::string, std::string>& error_sources() {
  static std::map<std::string, std::string> sources;
  return sources;
}

SubflowSource stored_source(const nlohmann::json& stored) {
  return [&stored](const std::string& key) -> Result<std::string> {
    auto it = stored.find(key);
    if (it == stored.end() || !it->is_string())
      return fail(ErrorKind::state, "the run did not store this file");
    return it->get<std::string>();
  };
}

}  // namespace

Result<LoadedWorkflow> load_text(std::string text, const std::string& file,
                                 const std::string& source_dir,
                                 const nlohmann::json* stored_subflows) {
  // An error in this file keeps its text for report(), which shows the offending line.
  auto failed = [&](Error e) -> Result<LoadedWorkflow> {
    if (e.file == file) error_sources().insert_or_assign(file, std::move(text));
    return std::unexpected(std::move(e));
  };
  auto workflow = load_workflow(text, file, source_dir);
  if (!workflow) return failed(workflow.error());
  std::string error_text;
  auto subflows = load_subflows(
      *workflow, stored_subflows ? stored_source(*stored_subflows) : disk_subflow_source(),
      &error_text);
  if (!subflows) {
    if (!error_text.empty()) error_sources()[subflows.error().file] = error_text;
    return failed(subflows.error());
  }
  LoadedWorkflow loaded;
  for (const auto& [key, wf] : subflows->workflows) {
    loaded.subflow_texts[key] = subflows->texts[key];
    error_sources()[wf.file] = subflows->texts[key];
  }
  auto plan = compile(std::move(*workflow), std::move(subflows->workflows));
  if (!plan) return failed(plan.error());
  loaded.text = std::move(text);
  loaded.plan = std::move(*plan);
  return loaded;
}

Result<std::string> read_workflow_file(const std::string& path, bool* regular) {
  auto text = read_file(path, regular);
  if (!text && text.error().kind != ErrorKind::interrupted) {
    text.error().kind = ErrorKind::usage;
    text.error().hint = "check the path of the workflow file";
  }
  return text;
}

Result<LoadedWorkflow> load_file(const std::string& path) {
  auto text = read_workflow_file(path);
  if (!text) return std::unexpected(text.error());
  std::string dir = std::filesystem::absolute(path).parent_path().lexically_normal().string();
  return load_text(std::move(*text), path, dir);
}

int report(const Error& error, std::string_view source) {
  if (auto it = error_sources().find(error.file); it != error_sources().end()) source = it->second;
  std::string out;
  if (error.file.empty()) {
    out = "wfo: error: " + error.message + "\n";
    if (!error.hint.empty()) out += "  " + error.hint + "\n";
  } else {
    out = format_diagnostic(error, source);
  }
  std::fputs(out.c_str(), stderr);
  return exit_code_for(error.kind);
}

Result<DriverLock> DriverLock::acquire(const GlobalOptions& g, const std::string& run_id) {
  std::string dir = state_dir(state_path(g)) + "/runs";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string path = dir + "/" + run_id + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    int error = errno;
    // A run named ID.lock (an id wfo allowed before 2026-12-07) keeps its files there.
    std::string hint = error == EISDIR ? "run " + run_id + ".lock keeps its files there; choose " +
                                             "another --run-id"
                                       : "wfo keeps each run's lock and files in '" + dir +
                                             "': make it a folder this user can write to";
    return fail(ErrorKind::state, "cannot open lock '" + path + "': " + std::strerror(error),
                std::move(hint));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    // The holder writes "pid N on host H" just after taking the lock: until it has, the file
    // is empty or names its dead predecessor, so read again for a moment (at most 200 ms).
    std::string who;
    for (int tries = 0; tries < 100; ++tries) {
      char holder[256] = {0};
      ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
      who = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "";
      int pid = 0;
      if (std::sscanf(who.c_str(), "pid %d", &pid) == 1 && pid > 0 && ::kill(pid, 0) == 0) break;
      who.clear();
      ::usleep(2000);
    }
    ::close(fd);
    if (who.empty()) who = "another process";
    while (!who.empty() && who.back() == '\n') who.pop_back();
    return fail(
        ErrorKind::state, "run " + run_id + " is being driven by " + who,
        "wait for it to finish, or stop it with 'wfo cancel " + run_id + state_arg(g) + "'");
  }
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::string me = "pid " + std::to_string(::getpid()) + " on host " + host + "\n";
  if (::ftruncate(fd, 0) == 0) {
    ssize_t ignored = ::pwrite(fd, me.data(), me.size(), 0);
    (void)ignored;
  }
  return DriverLock(fd);
}

DriverLock::~DriverLock() {
  if (m_fd >= 0) ::close(m_fd);
}

std::string state_arg(const GlobalOptions& g) {
  return g.state.empty() ? "" : " --state " + shell_quote(state_path(g));
}

std::string new_run_id() {
  SystemTime now = system_now();
  std::string t = format_rfc3339(now);  // 2026-11-22T10:00:00.123Z
  std::string compact = t.substr(0, 4) + t.substr(5, 2) + t.substr(8, 2) + "-" + t.substr(11, 2) +
                        t.substr(14, 2) + t.substr(17, 2);
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", rd() & 0xffff);
  return "r-" + compact + "-" + suffix;
}

namespace {

nlohmann::json time_or_null(const std::optional<SystemTime>& t) {
  return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json();
}

nlohmann::json attempt_json(const AttemptRecord& a) {
  // Built key by key: an initializer list of pairs would build and copy a two-element array
  // per key (a third of `wfo status --json`'s instructions at 10,000 tasks).
  nlohmann::json j = nlohmann::json::object();
  j["number"] = a.number;
  j["status"] = to_string(a.status);
  j["exit_code"] = a.exit_code ? nlohmann::json(*a.exit_code) : nlohmann::json();
  j["signal"] = a.signal ? nlohmann::json(a.signal) : nlohmann::json();
  j["started_at"] = format_rfc3339(a.started_at);
  j["ended_at"] = time_or_null(a.ended_at);
  j["duration_ms"] =
      a.ended_at ? nlohmann::json((*a.ended_at - a.started_at).count()) : nlohmann::json();
  j["delay_ms"] = a.delay_ms;
  j["delay_reason"] = a.delay_reason;
  j["reason"] = a.reason;
  j["log"] = a.log_path;
  j["pid"] = a.pid;
  j["cpu_user_ms"] = a.usage.cpu_user_ms;
  j["cpu_system_ms"] = a.usage.cpu_system_ms;
  j["max_rss_kb"] = a.usage.max_rss_kb;
  j["outputs"] = a.outputs;
  if (a.kind != AttemptKind::main)
    j["kind"] = a.kind == AttemptKind::fallback ? "fallback" : "compensate";
  return j;
}

nlohmann::json gate_json(const GateRecord& g) {
  nlohmann::json approvals = nlohmann::json::array();
  for (const auto& d : g.decisions)
    approvals.push_back({{"user", d.user},
                         {"decision", d.approve ? "approve" : "reject"},
                         {"at", format_rfc3339(d.at)},
                         {"comment", d.comment},
                         {"inputs", d.inputs}});
  return {{"when", g.when},
          {"status", std::string(to_string(g.status))},
          {"message", g.message},
          {"approvers", g.approvers},
          {"min_approvals", g.min_approvals},
          {"deadline", time_or_null(g.deadline)},
          {"decided_by", g.decided_by ? nlohmann::json(*g.decided_by) : nlohmann::json()},
          {"decided_at", time_or_null(g.decided_at)},
          {"comment", g.comment.empty() ? nlohmann::json() : nlohmann::json(g.comment)},
          {"approvals", approvals}};
}

}  // namespace

nlohmann::json run_summary_json(const RunRecord& run) {
  return {{"id", run.id},
          {"workflow", run.workflow},
          {"workflow_file", run.workflow_file},
          {"status", std::string(to_string(run.status))},
          {"started_at", format_rfc3339(run.started_at)},
          {"ended_at", time_or_null(run.ended_at)},
          {"started_by", run.started_by},
          {"reason", run.reason.empty() ? nlohmann::json() : nlohmann::json(run.reason)},
          {"params", run.params}};
}

GatesByTask gates_by_task(const RunSnapshot& snapshot) {
  GatesByTask out;
  out.reserve(snapshot.gates.size());
  for (const auto& g : snapshot.gates) out.emplace(g.task_id, &g);
  return out;
}

nlohmann::json run_json(const RunSnapshot& s, bool with_tasks) {
  nlohmann::json j = run_summary_json(s.run);
  if (!with_tasks) return j;
  nlohmann::json tasks = nlohmann::json::array();
  GatesByTask gates = gates_by_task(s);
  for (const TaskRecord& t : s.tasks) {
    nlohmann::json task = nlohmann::json::object();
    task["id"] = t.id;
    task["status"] = to_string(t.status);
    const nlohmann::json* outputs = nullptr;
    nlohmann::json attempts = nlohmann::json::array();
    attempts.get_ref<nlohmann::json::array_t&>().reserve(t.attempts.size());
    for (const auto& a : t.attempts) {
      attempts.push_back(attempt_json(a));
      if (a.status == AttemptStatus::succeeded && a.kind != AttemptKind::compensate)
        outputs = &a.outputs;
    }
    task["outputs"] = outputs ? *outputs : nlohmann::json::object();
    task["reason"] = t.reason.empty() ? nlohmann::json() : nlohmann::json(t.reason);
    task["next_attempt_at"] = time_or_null(t.next_attempt_at);
    task["attempts"] = std::move(attempts);
    if (auto found = gates.find(t.id); found != gates.end()) {
      const GateRecord& g = *found->second;
      task["gate"] = gate_json(g);
      // Inputs given with approving decisions are the gate's outputs (issue 4).
      if (g.status == GateStatus::approved)
        for (const auto& d : g.decisions)
          if (d.approve) task["outputs"].update(d.inputs);
    }
    tasks.push_back(std::move(task));
  }
  j["tasks"] = std::move(tasks);
  return j;
}

void print_json(const nlohmann::json& j) {
  std::string s = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  s += '\n';
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

}  // namespace wfo::cli
