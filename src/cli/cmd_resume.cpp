// `wfo resume ID [--wait] [-j N] [--json]`: continues an interrupted, failed, parked or
// cancelled run from the workflow text it started with; succeeded tasks are kept.
#include <cstdio>
#include <exception>
#include <optional>
#include <thread>

#include "cli/commands.hpp"
#include "cli/drive.hpp"
#include "cli/exit_status.hpp"
#include "cli/huge_pages.hpp"
#include "cli/reports.hpp"
#include "cli/secret_input.hpp"

namespace wfo::cli {
namespace {

struct ResumeOptions {
  std::string run_id;
  std::optional<int> jobs;
  bool wait = false;
  bool json = false;
  std::string durability;
  OutputOptions output;
  std::string secret_file;
};

int resume(const GlobalOptions& g, const ResumeOptions& o) {
  auto store = open_store(g, false);
  if (!store) return report(store.error());
  // An unknown id is a usage error; check it before the id names a lock file. The texts
  // never change after create_run, so the ones read here are those the run started with.
  auto texts = (*store)->load_run_record(o.run_id, true);
  if (!texts) return report(texts.error());
  reexec_for_large_input(texts->workflow_text.size());
  auto lock = DriverLock::acquire(g, o.run_id);
  if (!lock) return report(lock.error());
  // The two longest steps (at 100,000 tasks, about 1 s and 0.7 s on the benchmark machine)
  // are independent: a second thread reads the run's state while this one compiles the
  // plan, the longer step, on the main heap (the one glibc gives huge pages,
  // huge_pages.hpp). Nothing else is shared before the join: an error's text goes to
  // error_sources(), which only report() reads, after it.
  std::optional<Result<RunSnapshot>> read;
  std::exception_ptr thrown;
  std::thread reader([&] {
    try {
      read.emplace((*store)->load_run(o.run_id, false));
    } catch (...) {
      thrown = std::current_exception();
    }
  });
  std::optional<Result<LoadedWorkflow>> compiled;
  try {
    compiled.emplace(load_text(texts->workflow_text, texts->workflow_file, texts->source_dir,
                               &texts->subflow_texts));
  } catch (...) {
    reader.join();
    throw;
  }
  reader.join();
  if (thrown) std::rethrow_exception(thrown);
  Result<RunSnapshot>& snapshot = *read;
  if (snapshot) {
    snapshot->run.workflow_text = std::move(texts->workflow_text);
    snapshot->run.subflow_texts = std::move(texts->subflow_texts);
    snapshot->run.dag = std::move(texts->dag);
  }
  Result<LoadedWorkflow>& loaded = *compiled;
  if (!snapshot) return report(snapshot.error());
  if (snapshot->run.status == RunStatus::succeeded) {
    std::fprintf(stderr, "wfo: run %s has already succeeded; nothing to resume\n",
                 o.run_id.c_str());
    if (o.json) print_json(run_json(*snapshot, true));
    // A CI job that resumes a run someone else finished still gets its reports.
    if (wants_reports(o.output) && loaded) write_reports(o.output, loaded->plan, *snapshot);
    return k_exit_succeeded;
  }
  if (!loaded) {
    // The spec: a run resumes from the text it started with, so the file on disk may well
    // be fine. The stored copy compiled when the run started; now it is damaged, or an
    // older wfo accepted what this one does not.
    Error e = loaded.error();
    e.hint = "resume loads the copy of the workflow stored with run " + o.run_id +
             ", not the file on disk, and that copy no longer loads; start a new run: wfo run " +
             shell_quote(snapshot->run.workflow_file) +
             (g.state.empty() ? "" : " --state " + shell_quote(state_path(g)));
    return report(e, snapshot->run.workflow_text);
  }
  // Secrets are not stored: the resume needs them again, and they must be the same values.
  auto secrets = collect_secrets(*loaded->plan.workflow, o.secret_file);
  if (!secrets) return report(secrets.error());
  for (const auto& [name, value] : *secrets)
    if (snapshot->run.params.value(name, "") != secret_hash(value))
      return report(Error{
          ErrorKind::usage,
          "secret param '" + name + "' differs from the one run " + o.run_id + " started with",
          {},
          0,
          0,
          "give the same value as the run started with"});
  DriveRequest request{o.jobs, o.wait, o.json, o.durability, true, o.output, std::move(*secrets)};
  return drive_run(g, **store, *loaded, std::move(*snapshot), request);
}

}  // namespace

void register_resume(CLI::App& app, GlobalOptions& g, int* exit_code) {
  auto o = std::make_shared<ResumeOptions>();
  auto* cmd = app.add_subcommand("resume", "Continue an interrupted, failed or approved run");
  cmd->add_option("id", o->run_id, "The run's id")->required();
  cmd->add_option("-j,--jobs", o->jobs, "Attempts at once (default: as the run started)")
      ->transform(whole_number(1, k_max_jobs));
  cmd->add_flag("--wait", o->wait, "At a gate, wait for a decision instead of exiting 3");
  cmd->add_flag("--json", o->json, "Print the run as JSON on stdout at the end");
  add_output_options(*cmd, o->output);
  cmd->add_option("--secret-file", o->secret_file,
                  "Secret params as NAME=VALUE lines (else $WFO_SECRET_<NAME>)");
  cmd->add_option("--durability", o->durability, "normal (default) or full: fsync every commit")
      ->check(CLI::IsMember({"normal", "full"}));
  cmd->callback([&g, o, exit_code] { *exit_code = resume(g, *o); });
}

}  // namespace wfo::cli
