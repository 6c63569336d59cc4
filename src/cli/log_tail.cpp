// Log files are read with pread at a remembered offset, never kept open: the writer may not
// have created the file yet, and a follower must not hold descriptors across a long run.
#include "cli/log_tail.hpp"

#include "engine/engine.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>

namespace wfo::cli {
namespace {

constexpr size_t k_max_line = 64 * 1024;
constexpr size_t k_max_shown_line = 1024;  ///< of a line last_lines() returns, in bytes

// Reads up to `max` bytes of `path` from `offset`; empty on any error.
std::string read_range(const std::string& path, uint64_t offset, size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[65536];
  while (out.size() < max) {
    size_t want = std::min(sizeof buf, max - out.size());
    ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(offset + out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

std::string attempt_log_path(const std::string& state_dir, const std::string& run_id,
                             const std::string& task_id, int number) {
  return attempt_file_stem(state_dir + "/runs/" + run_id, task_id, number) + ".log";
}

std::string printable(std::string_view text, bool keep_escapes) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = utf8_length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    bool control = c < 0x20 || c == 0x7F;
    if (!control || c == '\t' || c == '\n' || (c == 0x1B && keep_escapes))
      out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

std::vector<std::string> last_lines(const std::string& path, size_t n) {
  constexpr uint64_t k_window = 64 * 1024;
  uint64_t size = file_size(path);
  uint64_t start = size > k_window ? size - k_window : 0;
  std::string text = read_range(path, start, static_cast<size_t>(size - start));
  if (start > 0) {
    // Drop the cut first line, unless it is all there is: the end of a line longer than
    // the window is still the output's last line.
    size_t nl = text.find('\n');
    if (nl != std::string::npos && nl + 1 < text.size()) text.erase(0, nl + 1);
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  std::vector<std::string> lines;
  if (text.empty()) return lines;
  size_t end = text.size();
  while (lines.size() < n) {
    size_t nl = text.rfind('\n', end == 0 ? 0 : end - 1);
    size_t begin = nl == std::string::npos ? 0 : nl + 1;
    std::string_view line = std::string_view(text).substr(begin, end - begin);
    if (line.size() > k_max_shown_line)  // a report shows the line's start, not 64 KiB
      lines.push_back(printable(line.substr(0, k_max_shown_line)) + "\u2026 (" +
                      std::to_string(line.size() - k_max_shown_line) + " more bytes)");
    else
      lines.push_back(printable(line));
    if (nl == std::string::npos) break;
    end = nl;
  }
  return {lines.rbegin(), lines.rend()};
}

std::string LogFollower::read_new() {
  uint64_t size = file_size(m_path);
  if (size < m_offset) m_offset = 0;  // truncated or replaced: start again
  if (size == m_offset) return {};
  std::string data = read_range(m_path, m_offset, static_cast<size_t>(size - m_offset));
  m_offset += data.size();
  return data;
}

std::vector<std::string> LogFollower::read_lines(bool flush) {
  m_partial += read_new();
  std::vector<std::string> lines;
  size_t begin = 0;
  for (size_t nl; (nl = m_partial.find('\n', begin)) != std::string::npos; begin = nl + 1)
    lines.push_back(m_partial.substr(begin, std::min(nl - begin, k_max_line)));
  m_partial.erase(0, begin);
  if (m_partial.size() > k_max_line || (flush && !m_partial.empty())) {
    lines.push_back(m_partial.substr(0, k_max_line));
    m_partial.clear();
  }
  return lines;
}

size_t LogFollower::copy_to_stdout() {
  std::string data = read_new();
  if (!data.empty()) {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
  }
  return data.size();
}

}  // namespace wfo::cli
