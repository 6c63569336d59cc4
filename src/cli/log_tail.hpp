#pragma once
// Reading attempt logs while and after they are written: the process layer drains a task's
// stdout and stderr into a file under the state folder (created at the first byte), so
// following a task means polling that file, as `tail -f` does.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wfo::cli {

/// The log file of attempt `number` of `task_id` in run `run_id` under `state_dir`
/// (`<state_dir>/runs/<run>/<task>.<n>.log`). This mirrors the engine's naming (file_stem in
/// engine/attempt.cpp): characters of a task id other than [A-Za-z0-9_-] become '_'.
std::string attempt_log_path(const std::string& state_dir, const std::string& run_id,
                             const std::string& task_id, int number);

/// Returns `text` safe to print on a terminal or put in XML: invalid UTF-8 becomes U+FFFD,
/// control characters other than tab and newline are dropped, and, unless `keep_escapes`, ESC too.
std::string printable(std::string_view text, bool keep_escapes = false);

/// The last `n` lines of the file at `path` (read from its last 64 KiB), without newlines,
/// passed through printable(); a line over 1 KiB is cut there and ends with "… (N more
/// bytes)", N counted within the 64 KiB read. Empty when the file is missing or empty.
/// Errors: none.
std::vector<std::string> last_lines(const std::string& path, size_t n);

/// Follows one file as it grows: each call returns the complete lines appended since the
/// previous call. A missing file reads as empty until it appears.
class LogFollower {
 public:
  explicit LogFollower(std::string path) : m_path(std::move(path)) {}

  /// The new complete lines, without newlines; with `flush`, also a last line that has no
  /// newline yet (call it so once the writer has ended). Lines longer than 64 KiB are cut.
  std::vector<std::string> read_lines(bool flush);
  /// Copies the new bytes as they are to stdout; returns how many. Errors: none (0).
  size_t copy_to_stdout();
  const std::string& path() const { return m_path; }

 private:
  std::string read_new();

  std::string m_path;
  uint64_t m_offset = 0;
  std::string m_partial;
};

}  // namespace wfo::cli
