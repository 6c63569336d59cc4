#include "cli/progress.hpp"

#include <cstdio>

namespace wfo::cli {

void ProgressPrinter::on_event(const Event& e) {
  std::string what;
  if (e.kind == "task_started") what = "started (" + e.detail + ")";
  else if (e.kind == "task_succeeded") what = "succeeded " + e.detail;
  else if (e.kind == "task_failed") what = "failed: " + e.detail;
  else if (e.kind == "task_skipped") what = "skipped: " + e.detail;
  else if (e.kind == "task_retrying") what = "retrying " + e.detail;
  else if (e.kind == "attempt_failed" || e.kind == "attempt_timed_out")
    what = "attempt " + std::to_string(e.attempt) + " " + e.kind.substr(8) + ": " + e.detail;
  else if (e.kind == "gate_waiting") what = "waiting for approval: " + e.detail;
  else if (e.kind == "task_cancelled") what = "cancelled";
  else if (e.kind == "attempt_interrupted") what = "attempt " + std::to_string(e.attempt) + " interrupted";
  else return;
  std::string line = format_clock(e.at) + " " + e.task_id + " " + what + "\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace wfo::cli
