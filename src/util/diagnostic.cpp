#include "util/diagnostic.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace wfo {

std::string_view source_line(std::string_view text, int line) {
  if (line < 1) return {};
  size_t pos = 0;
  for (int i = 1; i < line; ++i) {
    pos = text.find('\n', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  if (pos > text.size()) return {};
  size_t end = text.find('\n', pos);
  std::string_view out = text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos);
  if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
  return out;
}

namespace {

// Only printable text goes to the terminal as it is: control bytes (tabs, escape codes)
// become a space so the caret stays under the column, and on a line that is not UTF-8
// every non-ASCII byte becomes '?'.
std::string printable(std::string_view s) {
  std::string out(s);
  bool utf8 = valid_utf8(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
    else if (u >= 0x80 && !utf8) c = '?';
  }
  return out;
}

}  // namespace

std::string format_diagnostic(const Error& error, std::string_view source) {
  std::string out;
  if (!error.file.empty()) {
    out += error.file;
    if (error.line > 0) {
      out += ':' + std::to_string(error.line);
      if (error.column > 0) out += ':' + std::to_string(error.column);
    }
    out += ": ";
  }
  out += "error: " + error.message + "\n";
  std::string_view line = source_line(source, error.line);
  if (error.line > 0 && !line.empty()) {
    constexpr size_t k_max_width = 72;
    size_t col = error.column > 0 ? static_cast<size_t>(error.column - 1) : 0;
    size_t start = 0;
    // Keep the column in view on a long line: shift the window so the caret lands inside it.
    if (col >= k_max_width) start = col - k_max_width / 2;
    std::string_view shown = line.substr(std::min(start, line.size()), k_max_width);
    out += "  " + printable(shown) + "\n";
    out += "  " + std::string(col - start, ' ') + "^\n";
  }
  if (!error.hint.empty()) out += "  " + error.hint + "\n";
  return out;
}

}  // namespace wfo
