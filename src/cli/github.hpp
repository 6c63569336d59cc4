#pragma once
// GitHub Actions' conventions (docs.github.com, "Workflow commands for GitHub Actions"):
// `::group::title` ... `::endgroup::` fold a task's output in the log, `::error title=...::msg`
// makes an annotation, and $GITHUB_STEP_SUMMARY collects Markdown shown on the run's page.

#include <string>
#include <string_view>
#include <vector>

#include "engine/ports.hpp"

namespace wfo::cli {

/// True when GITHUB_ACTIONS is `true` (set by the Actions runner).
bool github_actions();

/// Escapes a workflow command's message: `%` `\r` `\n` as %25 %0D %0A.
std::string github_escape_data(std::string_view text);

/// `::group::title`, each of `lines`, `::endgroup::`, each on its own line, ending with a
/// newline. `title` is escaped as a message.
std::string github_group(std::string_view title, const std::vector<std::string>& lines);

/// `::error title=<title>::<message>` and a newline; `message` may hold newlines (escaped).
std::string github_error(std::string_view title, std::string_view message);

/// The Markdown summary of a run: a heading with its id, workflow and status, then a table of
/// its tasks (task, status, duration, attempts) in workflow order.
std::string step_summary_markdown(const RunSnapshot& run);

/// Appends step_summary_markdown(run) to the file named by GITHUB_STEP_SUMMARY when set.
/// Errors (ErrorKind::io): the file cannot be opened or written.
Result<void> append_step_summary(const RunSnapshot& run);

}  // namespace wfo::cli
