// Writing the reports a drive was asked for, once the run's final state is committed. Each
// file is replaced atomically, so a CI server or node_exporter never reads half of one.
#include "cli/reports.hpp"

#include "cli/common.hpp"
#include "cli/github.hpp"
#include "util/file.hpp"

namespace wfo::cli {

bool write_reports(const OutputOptions& options, const Plan& plan, const RunSnapshot& run) {
  bool ok = true;
  RunStats stats = compute_stats(run, plan, system_now());
  auto write = [&](const std::string& path, const std::string& text) {
    if (path.empty()) return;
    if (auto written = write_file_atomic(path, text); !written) {
      report(written.error());
      ok = false;
    }
  };
  write(options.junit_path, junit_xml(run, stats));
  write(options.metrics_path, prometheus_text(stats));
  if (github_actions())
    if (auto appended = append_step_summary(run); !appended) {
      report(appended.error());
      ok = false;
    }
  return ok;
}

}  // namespace wfo::cli
