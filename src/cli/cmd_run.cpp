// `wfo run FILE [-p k=v]... [-j N] [--run-id ID] [--wait] [--dry-run] [--json]`
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "cli/commands.hpp"
#include "cli/drive.hpp"
#include "cli/exit_status.hpp"
#include "cli/huge_pages.hpp"
#include "cli/secret_input.hpp"
#include "cli/status_tree.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

namespace wfo::cli {
namespace {

struct RunOptions {
  std::string file;
  std::vector<std::string> params;
  std::optional<int> jobs;
  std::string run_id;
  bool wait = false;
  bool dry_run = false;
  bool json = false;
  std::string durability;
  OutputOptions output;
  std::string secret_file;
};

// The plan in the order tasks could start, with their needs (`--dry-run`); with --json as
// {"workflow": name, "tasks": [{"id", "needs": [...], "approval": bool}, ...]}.
void print_plan(const Plan& plan, bool json) {
  const Workflow& wf = *plan.workflow;
  nlohmann::json tasks = nlohmann::json::array();
  size_t n = wf.tasks.size();
  if (!json) std::printf("workflow %s: %zu task%s\n", wf.name.c_str(), n, n == 1 ? "" : "s");
  for (uint32_t i : plan.dag.topological_order()) {
    const TaskSpec& t = wf.tasks[i];
    if (json) {
      tasks.push_back(
          {{"id", t.id}, {"needs", t.needs}, {"approval", static_cast<bool>(t.approval)}});
      continue;
    }
    std::string line = "  " + t.id;
    if (!t.needs.empty()) line += " (needs " + join(t.needs, ", ") + ")";
    if (t.approval) line += " [approval]";
    std::printf("%s\n", line.c_str());
  }
  if (json) print_json({{"workflow", wf.name}, {"tasks", std::move(tasks)}});
}

bool valid_run_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 &&
         id.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
             std::string::npos &&
         id[0] != '.' && id[0] != '-' && !id.ends_with(".lock");
}

int run(const GlobalOptions& g, const RunOptions& o) {
  bool regular = false;
  auto text = read_workflow_file(o.file, &regular);
  if (!text) return report(text.error());
  // The re-executed wfo reads the file again: a pipe (`wfo run /dev/stdin`) would be empty.
  if (regular) reexec_for_large_input(text->size());
  std::string dir = std::filesystem::absolute(o.file).parent_path().lexically_normal().string();
  auto loaded = load_text(*text, o.file, dir);
  if (!loaded) return report(loaded.error(), *text);
  const Workflow& wf = *loaded->plan.workflow;
  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& p : o.params) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return report(Error{ErrorKind::usage, "-p takes NAME=VALUE, got '" + p + "'", {}, 0, 0,
                          "e.g. -p feature=login"});
    std::string name = p.substr(0, eq);
    for (const ParamSpec& spec : wf.params)
      if (spec.secret && spec.name == name)
        return report(Error{ErrorKind::usage,
                            "param '" + name + "' is secret and never comes from the command line",
                            {}, 0, 0,
                            "set WFO_SECRET_" + env_name(name) + " or pass --secret-file"});
    given.emplace_back(std::move(name), p.substr(eq + 1));
  }
  auto secrets = collect_secrets(wf, o.secret_file);
  if (!secrets) return report(secrets.error());
  // The database keeps only a hash of each secret (issue 8), to check a resume's value.
  for (const auto& [name, value] : *secrets) given.emplace_back(name, secret_hash(value));
  auto params = bind_params(wf, given);
  if (!params) return report(params.error(), *text);
  if (o.dry_run) {
    print_plan(loaded->plan, o.json);
    return k_exit_succeeded;
  }
  std::string run_id = o.run_id.empty() ? new_run_id() : o.run_id;
  if (!valid_run_id(run_id))
    return report(
        Error{ErrorKind::usage,
              "invalid run id '" + run_id + "'",
              {},
              0,
              0,
              "use at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-' "
              "nor ending in '.lock' (a run's lock file is named so, as git's refs)"});
  auto store = open_store(g, true);
  if (!store) return report(store.error());
  auto lock = DriverLock::acquire(g, run_id);
  if (!lock) return report(lock.error());
  RunSnapshot snapshot;
  RunRecord& r = snapshot.run;
  r.id = run_id;
  r.workflow = wf.name;
  r.workflow_file = std::filesystem::absolute(o.file).lexically_normal().string();
  r.source_dir = dir;
  r.workflow_text = *text;
  r.subflow_texts = loaded->subflow_texts;  // a resume reads these, not the files
  r.dag = TaskGraph::from_plan(loaded->plan).to_json();  // `wfo status` draws this
  r.workflow_hash = std::to_string(std::hash<std::string>{}(*text));
  r.params = *params;
  r.status = RunStatus::running;
  r.started_at = system_now();
  r.started_by = current_user();
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  r.max_parallel = o.jobs.value_or(wf.max_parallel.value_or(cpus > 0 ? static_cast<int>(cpus) : 1));
  if (wf.timeout) r.deadline = r.started_at + *wf.timeout;
  snapshot.tasks.reserve(wf.tasks.size());
  for (const auto& t : wf.tasks) {
    TaskRecord task;
    task.id = t.id;
    snapshot.tasks.push_back(std::move(task));
  }
  if (auto ok = (*store)->create_run(snapshot); !ok) return report(ok.error());
  if (!o.json) {
    std::printf("%s\n", run_id.c_str());
    std::fflush(stdout);
  }
  DriveRequest request{o.jobs, o.wait, o.json, o.durability, false, o.output, std::move(*secrets)};
  return drive_run(g, **store, *loaded, std::move(snapshot), request);
}

}  // namespace

void register_run(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Start a run of a workflow file; prints its id");
  cmd->add_option("file", o->file, "The workflow file")->required();
  cmd->add_option("-p,--param", o->params, "A param as NAME=VALUE (repeatable)");
  cmd->add_option("-j,--jobs", o->jobs, "Attempts at once (default: max_parallel, else CPUs)")
      ->transform(whole_number(1, k_max_jobs));
  cmd->add_option("--run-id", o->run_id, "Choose the run's id (e.g. a CI pipeline's id)")
      ->check(not_empty("leave --run-id out for a new id"));
  cmd->add_flag("--wait", o->wait, "At a gate, wait for a decision instead of exiting 3");
  cmd->add_flag("--dry-run", o->dry_run, "Print the plan and run nothing");
  cmd->add_option("--secret-file", o->secret_file,
                  "Secret params as NAME=VALUE lines (else $WFO_SECRET_<NAME>)");
  cmd->add_flag("--json", o->json, "Print the run as JSON on stdout at the end");
  add_output_options(*cmd, o->output);
  cmd->add_option("--durability", o->durability, "normal (default) or full: fsync every commit")
      ->check(CLI::IsMember({"normal", "full"}));
  cmd->callback([&g, o, exit_code] { *exit_code = run(g, *o); });
}

}  // namespace wfo::cli
