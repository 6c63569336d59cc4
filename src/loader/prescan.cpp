// Checks a workflow's raw text before the YAML parser (libyaml) reads it, in one pass over the
// bytes with no recursion: bytes that are not UTF-8 text, and nesting deeper than the loader
// accepts, get wfo's own clear error before any parser sees them. (Written for yaml-cpp 0.7,
// which recursed once per level and misbehaved on such input; libyaml replaced it.)
//
// The nesting estimate never exceeds the true depth of collections in valid YAML: a flow `[`
// or `{` counts only where a value starts (or inside another flow collection), and a block
// level counts only where a line opens a collection (`- `, `? `, or `key:`) at a column deeper
// than the enclosing one. Quoted scalars, comments and block scalars (`|`, `>`) are skipped,
// so `run: if [[ -f x ]]` and bracket-heavy scripts count nothing. A block value starting with
// `,` is refused here too, with a hint (yaml-cpp 0.7 looped on it). The tree builder checks
// the exact depth again from parser events; this scan only has to stop deep input early.
// Lines and columns are 1-based and count bytes, as the tree builder's marks do.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "loader/yaml_tree.hpp"
#include "util/strings.hpp"

namespace wfo::loader {

namespace {

Error text_error(const std::string& file, int line, int column, std::string message,
                 std::string hint) {
  return Error{
      ErrorKind::invalid_workflow, std::move(message), file, line, column, std::move(hint)};
}

/// True when the 8 bytes at `p` are all ASCII and none is NUL (the common case, checked a
/// word at a time: high bits clear, and no byte that borrows when 1 is subtracted).
bool plain_ascii8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  constexpr uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
  return ((w | (w - ones)) & highs) == 0;
}

Result<void> check_utf8(std::string_view text, const std::string& file) {
  size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size() && plain_ascii8(text.data() + i)) {
      i += 8;
      continue;
    }
    size_t n = text[i] == '\0' ? 0 : utf8_length(text, i);
    if (n == 0) break;
    i += n;
  }
  if (i >= text.size()) return {};
  // The place, in bytes as every mark counts them: found only on the way out.
  int line = 1, column = 1;
  for (size_t k = 0; k < i; ++k) {
    if (text[k] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  std::string hint = text[i] == '\0' ? "found a NUL byte; is this a binary file?"
                                     : "found a byte sequence that is not UTF-8; save the "
                                       "file as UTF-8";
  return std::unexpected(text_error(file, line, column, "file is not UTF-8 text", std::move(hint)));
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

/// Scans one line at a time, carrying quote, flow and block-scalar state across lines.
class NestingScanner {
 public:
  NestingScanner(std::string_view text, const std::string& file) : m_text(text), m_file(file) {}

  Result<void> run() {
    size_t begin = 0;
    while (begin <= m_text.size() && !m_error) {
      size_t end = m_text.find('\n', begin);
      if (end == std::string_view::npos) end = m_text.size();
      m_line = m_text.substr(begin, end - begin);
      scan_line();
      ++m_line_number;
      begin = end + 1;
    }
    if (m_error) return std::unexpected(*m_error);
    return {};
  }

 private:
  void scan_line() {
    size_t indent = 0;
    while (indent < m_line.size() && m_line[indent] == ' ') ++indent;
    size_t rest = indent;
    while (rest < m_line.size() && is_blank(m_line[rest])) ++rest;
    bool blank = rest == m_line.size();
    if (m_quote != 0 || m_flow > 0) return scan_from(m_quote != 0 ? 0 : indent);
    if (m_block_scalar) {
      if (blank || static_cast<int>(indent) > m_block_indent) return;
      m_block_scalar = false;
    }
    if (blank || m_line[rest] == '#') return;
    while (!m_levels.empty() && m_levels.back() > static_cast<int>(indent)) m_levels.pop_back();
    m_value_start = true;
    m_entry_col = static_cast<int>(indent);
    if (indent == 0 && is_document_marker()) {
      m_levels.clear();
      return scan_from(3);
    }
    scan_from(indent);
  }

  bool is_document_marker() const {
    std::string_view s = m_line.substr(0, 3);
    return (s == "---" || s == "...") && (m_line.size() == 3 || is_blank(m_line[3]));
  }

  bool ends_token(size_t i) const { return i + 1 >= m_line.size() || is_blank(m_line[i + 1]); }

  void scan_from(size_t i) {
    while (i < m_line.size() && !m_error && !m_block_scalar) {
      if (m_quote != 0) {
        i = skip_quoted(i);
        continue;
      }
      char c = m_line[i];
      if (c == '#' && (i == 0 || is_blank(m_line[i - 1]))) return;
      i = m_flow > 0 ? scan_flow(i) : scan_block(i);
    }
  }

  /// Skips the inside of a quoted scalar from `i`; returns the index past it (or the end of
  /// the line, keeping the quote open).
  size_t skip_quoted(size_t i) {
    while (i < m_line.size()) {
      char c = m_line[i];
      if (m_quote == '"' && c == '\\') {
        i += 2;
        continue;
      }
      if (c == m_quote) {
        if (m_quote == '\'' && i + 1 < m_line.size() && m_line[i + 1] == '\'') {
          i += 2;
          continue;
        }
        m_quote = 0;
        return i + 1;
      }
      ++i;
    }
    return i;
  }

  size_t scan_block(size_t i) {
    char c = m_line[i];
    int col = static_cast<int>(i);
    if (is_blank(c)) return i + 1;
    if (c == ':' && ends_token(i)) {
      open_block_level(m_entry_col);
      m_value_start = true;
      return i + 1;
    }
    if (!m_value_start) return i + 1;
    if ((c == '-' || c == '?') && ends_token(i)) {
      open_block_level(col);
      m_entry_col = col;
      return i + 1;
    }
    if (c == '&' || c == '!') {
      while (i < m_line.size() && !is_blank(m_line[i])) ++i;
      return i;
    }
    if (c == ',') {
      // YAML forbids it; the hint says what to do (yaml-cpp 0.7 even yielded empty
      // documents forever here).
      m_error = text_error(m_file, m_line_number, col + 1,
                           "yaml syntax: a value cannot start "
                           "with ','",
                           "put a value that starts with ',' in quotes");
      return m_line.size();
    }
    m_value_start = false;
    if (c == '[' || c == '{') return open_flow(i);
    if (c == '|' || c == '>') {
      m_block_scalar = true;
      m_block_indent = m_entry_col;
      return m_line.size();
    }
    m_entry_col = col;
    if (c == '"' || c == '\'') m_quote = c;
    return i + 1;
  }

  size_t scan_flow(size_t i) {
    char c = m_line[i];
    if (c == '[' || c == '{') return open_flow(i);
    if (c == ']' || c == '}') {
      --m_flow;
      m_flow_value_start = false;
    } else if (c == ',' || c == ':') {
      m_flow_value_start = true;
    } else if ((c == '"' || c == '\'') && m_flow_value_start) {
      m_quote = c;
      m_flow_value_start = false;
    } else if (!is_blank(c)) {
      m_flow_value_start = false;
    }
    return i + 1;
  }

  size_t open_flow(size_t i) {
    ++m_flow;
    m_flow_value_start = true;
    check_depth(static_cast<int>(i));
    return i + 1;
  }

  void open_block_level(int col) {
    if (!m_levels.empty() && m_levels.back() >= col) return;
    m_levels.push_back(col);
    check_depth(col);
  }

  void check_depth(int col) {
    if (static_cast<int>(m_levels.size()) + m_flow <= k_max_nesting || m_error) return;
    m_error = text_error(m_file, m_line_number, col + 1, "nesting deeper than 64 levels",
                         "flatten the structure; a workflow needs only a few levels");
  }

  std::string_view m_text;
  const std::string& m_file;
  std::string_view m_line;
  int m_line_number = 1;
  char m_quote = 0;                 ///< the open quote of a scalar spanning lines, or 0
  int m_flow = 0;                   ///< depth of open `[` and `{`
  bool m_flow_value_start = false;  ///< in flow: a scalar may start here
  bool m_value_start = false;       ///< in block: a node may start here
  int m_entry_col = 0;              ///< column of the key or `-` owning the coming value
  bool m_block_scalar = false;      ///< inside a `|` or `>` scalar
  int m_block_indent = 0;           ///< its lines are indented more than this
  std::vector<int> m_levels;        ///< columns of open block collections
  std::optional<Error> m_error;
};

}  // namespace

Result<void> check_text(std::string_view text, const std::string& file) {
  if (auto r = check_utf8(text, file); !r) return r;
  return NestingScanner(text, file).run();
}

}  // namespace wfo::loader
