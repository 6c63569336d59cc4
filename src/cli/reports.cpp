// Writing the reports a drive was asked for, once the run's final state is committed. Each
// file is replaced atomically, so a CI server or node_exporter never reads half of one.
#include "cli/reports.hpp"

#include "cli/common.hpp"
#include "cli/github.hpp"
#include "util/file.hpp"

namespace wfo::cli {

bool wants_reports(const OutputOptions& options) {
  return !options.junit_path.empty() || !options.metrics_path.empty() || github_actions();
}

bool write_reports(const OutputOptions& options, const Plan& plan, const RunSnapshot& run) {
  bool ok = true;
  auto write = [&](const std::string& path, const std::string& text) {
    if (auto written = write_file_atomic(path, text); !written) {
      report(written.error());
      ok = false;
    }
  };
  // Only the reports asked for are built: for 10,000 tasks the metrics text alone is 10 MB.
  if (!options.junit_path.empty() || !options.metrics_path.empty()) {
    RunStats stats = compute_stats(run, plan, system_now());
    if (!options.junit_path.empty()) write(options.junit_path, junit_xml(run, stats));
    if (!options.metrics_path.empty()) write(options.metrics_path, prometheus_text(stats));
  }
  if (github_actions())
    if (auto appended = append_step_summary(run); !appended) {
      report(appended.error());
      ok = false;
    }
  return ok;
}

}  // namespace wfo::cli
