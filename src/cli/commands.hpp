#pragma once
// One registration function per subcommand (one file each, STYLE.md). Each adds its
// subcommand to `app` with a callback that stores the exit code in `*exit_code`.

#include <CLI/CLI.hpp>

#include "cli/common.hpp"

namespace wfo::cli {

void register_run(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_resume(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_approve(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_approvals(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_status(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_list(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_logs(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_cancel(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_validate(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_graph(CLI::App& app, GlobalOptions& g, int* exit_code);
void register_stats(CLI::App& app, GlobalOptions& g, int* exit_code);
/// A check of an integer option, on its text before CLI11 converts it (so that a number too
/// large for an int is answered the same way): a plain decimal from `lo` to `hi` (leading
/// zeros allowed, and decimal: 010 is 10), else "--jobs: must be a whole number from 1 to
/// 10000, got '0'".
CLI::Validator whole_number(long long lo, long long hi);
/// A check that refuses an empty value, "--state: must not be empty; WAY_OUT", so that
/// `--state "$UNSET"` does not quietly mean the default.
CLI::Validator not_empty(std::string way_out);
/// A check of a file a report is written to at the end of a run (`--junit`, `--metrics`), so
/// that a path it cannot be written to is refused before the run, not after it: not empty,
/// not a folder, and in a folder that exists. "--junit: no folder 'out' to write
/// 'out/r.xml' in; create it first".
CLI::Validator report_file();

/// The hidden `wfo __complete` that feeds the shell completions.
void register_complete(CLI::App& app, GlobalOptions& g, int* exit_code);

}  // namespace wfo::cli
