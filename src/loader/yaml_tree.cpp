// Builds a YNode tree from libyaml's parser events. The event stream lets the loader see what
// a ready-made node tree hides: duplicate keys, self-referencing aliases, nesting depth.
// libyaml (the reference C parser, also under PyYAML and Ruby's Psych) replaced yaml-cpp
// here because its parse is about ten times faster: yaml-cpp's scanner alone took most of
// `wfo validate`'s time on large files (docs/benchmarks.md).
//
// Invariants: every mark is 1-based and counts bytes (libyaml's columns count characters;
// Columns converts them); a builder error is thrown as BuildError from the loop below, never
// through libyaml's C frames, and RAII wrappers free libyaml's parser and events on every
// path, so nothing escapes parse_yaml_tree and nothing leaks.

#include "loader/yaml_tree.hpp"

#include <yaml.h>

#include <unordered_map>
#include <utility>

namespace wfo::loader {

namespace {

/// Copies made for anchors and aliases may not exceed this many nodes ("billion laughs").
constexpr size_t k_max_alias_nodes = 100'000;
/// Empty documents (`---` alone) accepted after the workflow's.
constexpr int k_max_empty_documents = 8;

struct BuildError {
  Error error;
};

/// libyaml's marks (0-based line, column in characters) as the loader's (1-based, bytes).
class Columns {
 public:
  explicit Columns(std::string_view text) : m_text(text) {
    for (char c : text)
      if (static_cast<unsigned char>(c) >= 0x80) {
        m_ascii = false;
        break;
      }
    if (m_ascii) return;
    // libyaml's reader drops a byte order mark before counting columns.
    m_line_starts.push_back(text.starts_with("\xef\xbb\xbf") ? 3 : 0);
    for (size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') m_line_starts.push_back(i + 1);
  }

  Mark at(const yaml_mark_t& m) const {
    int line = static_cast<int>(m.line) + 1;
    if (m_ascii || m.line >= m_line_starts.size())
      return Mark{line, static_cast<int>(m.column) + 1};
    // Walk the line's characters: a UTF-8 lead byte starts each.
    size_t at = m_line_starts[m.line], chars = 0;
    while (at < m_text.size() && m_text[at] != '\n' && chars < m.column) {
      ++at;
      while (at < m_text.size() && (static_cast<unsigned char>(m_text[at]) & 0xc0) == 0x80) ++at;
      ++chars;
    }
    return Mark{line, static_cast<int>(at - m_line_starts[m.line] + (m.column - chars)) + 1};
  }

  /// Where the text of a block scalar whose indicator (`|` or `>`) is at `indicator` (or
  /// its anchor or tag) starts: the next line, at the block's indentation, which Mark::indent keeps
  /// for the lines after: the explicit one (`|2`: the indicator line's own plus 2; YAML 1.2,
  /// 8.1.1.1), else that of its first line that is not blank. `indicator` itself when no
  /// line of the block follows (an empty block).
  Mark block_start(Mark indicator) const {
    if (m_starts.empty()) {
      m_starts.push_back(0);
      for (size_t i = 0; i < m_text.size(); ++i)
        if (m_text[i] == '\n') m_starts.push_back(i + 1);
    }
    if (indicator.line < 1 || static_cast<size_t>(indicator.line) > m_starts.size())
      return indicator;
    size_t header = m_starts[indicator.line - 1];
    size_t own = 0;
    while (header + own < m_text.size() && m_text[header + own] == ' ') ++own;
    // The node starts at its anchor or tag when it has one (`&9 >`): past them to the `|`.
    size_t indicator_at = header + static_cast<size_t>(indicator.column) - 1;
    while (indicator_at < m_text.size() &&
           (m_text[indicator_at] == '&' || m_text[indicator_at] == '!')) {
      while (indicator_at < m_text.size() && m_text[indicator_at] != ' ' &&
             m_text[indicator_at] != '\n')
        ++indicator_at;
      while (indicator_at < m_text.size() && m_text[indicator_at] == ' ') ++indicator_at;
    }
    for (size_t at = indicator_at + 1; at < m_text.size(); ++at) {
      char c = m_text[at];
      if (c >= '1' && c <= '9') {
        int indent = static_cast<int>(own) + (c - '0');
        return Mark{indicator.line + 1, indent + 1, indent};
      }
      if (c != '+' && c != '-') break;
    }
    for (size_t line = static_cast<size_t>(indicator.line); line < m_starts.size(); ++line) {
      size_t at = m_starts[line];
      while (at < m_text.size() && m_text[at] == ' ') ++at;
      if (at >= m_text.size()) break;
      if (m_text[at] == '\n' || m_text[at] == '\r') continue;  // blank: the text's own
      int indent = static_cast<int>(at - m_starts[line]);
      // Not deeper than the line of the indicator: the next node, and the block is empty.
      if (indent <= static_cast<int>(own)) break;
      return Mark{indicator.line + 1, indent + 1, indent};
    }
    return indicator;
  }

  /// `m` moved back onto the text's last line when it lies beyond it (libyaml reports an
  /// unclosed `{` at the end of input on the line after the last).
  Mark clamp(Mark m) const {
    int lines = 1, last_start = 0;
    for (size_t i = 0; i + 1 < m_text.size(); ++i)
      if (m_text[i] == '\n') ++lines, last_start = static_cast<int>(i + 1);
    if (m.line <= lines) return m;
    int end = static_cast<int>(m_text.size()) - (m_text.ends_with('\n') ? 1 : 0);
    return Mark{lines, end - last_start + 1};
  }

  /// The mark of byte `offset` (libyaml's reader errors give only that).
  Mark at_offset(size_t offset) const {
    Mark m{1, 1};
    for (size_t i = 0; i < offset && i < m_text.size(); ++i) {
      if (m_text[i] == '\n') {
        ++m.line;
        m.column = 1;
      } else {
        ++m.column;
      }
    }
    return m;
  }

 private:
  std::string_view m_text;
  bool m_ascii = true;
  std::vector<size_t> m_line_starts;  ///< filled only when the text is not ASCII
  mutable std::vector<size_t> m_starts;  ///< every line's start, once a block scalar asks
};

size_t count_nodes(const YNode& n) {
  size_t count = 1;
  for (const auto& item : n.items) count += count_nodes(item);
  for (const auto& e : n.entries) count += 1 + count_nodes(e.value);
  return count;
}

std::string anchor_of(const yaml_char_t* anchor) {
  return anchor ? std::string(reinterpret_cast<const char*>(anchor)) : std::string();
}

/// A plain scalar YAML reads as null (the core schema's null: empty, ~, null, Null, NULL).
bool is_null_text(std::string_view v) {
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

class TreeBuilder {
 public:
  TreeBuilder(const std::string& file, const Columns& columns) : m_file(file), m_columns(columns) {}

  /// Returns the document's root and makes ready for the next document.
  YNode take_root() {
    m_has_root = false;
    m_anchors.clear();  // anchors belong to their document
    return std::exchange(m_root, YNode{});
  }

  void on_event(const yaml_event_t& e) {
    Mark mark = m_columns.at(e.start_mark);
    switch (e.type) {
      case YAML_ALIAS_EVENT:
        alias(anchor_of(e.data.alias.anchor), mark);
        break;
      case YAML_SCALAR_EVENT: {
        const auto& s = e.data.scalar;
        YNode n;
        n.mark = mark;
        // A folded block joins its lines: the Reader finds where each begins in the text.
        n.folded = s.style == YAML_FOLDED_SCALAR_STYLE;
        if (s.style == YAML_LITERAL_SCALAR_STYLE || n.folded) n.mark = m_columns.block_start(mark);
        n.value.assign(reinterpret_cast<const char*>(s.value), s.length);
        // Plain: unquoted, not a block scalar, no tag; only then is `3` an integer.
        n.plain = s.tag == nullptr && s.style == YAML_PLAIN_SCALAR_STYLE;
        bool empty = n.plain && n.value.empty();
        if (n.plain && is_null_text(n.value))
          n.value.clear();  // kind stays null
        else
          n.kind = YNode::Kind::scalar;
        finish(std::move(n), anchor_of(s.anchor), empty);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
        open(YNode::Kind::sequence, mark, anchor_of(e.data.sequence_start.anchor));
        break;
      case YAML_MAPPING_START_EVENT:
        open(YNode::Kind::mapping, mark, anchor_of(e.data.mapping_start.anchor));
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        close();
        break;
      default:
        break;
    }
  }

 private:
  struct Frame {
    YNode node;
    std::string anchor;
    bool has_key = false;
    YNode key;
    /// Each key's line, built once the mapping has 16 keys; smaller ones (a task's
    /// settings) are searched in place, without a table to allocate per mapping.
    std::unordered_map<std::string, int> key_lines;
  };

  [[noreturn]] void throw_error(Mark at, std::string message, std::string hint = {}) const {
    throw BuildError{Error{ErrorKind::invalid_workflow, std::move(message), m_file, at.line,
                           at.column, std::move(hint)}};
  }

  void alias(const std::string& name, Mark mark) {
    for (const Frame& f : m_stack)
      if (f.anchor == name)
        throw_error(mark, "recursive alias '*" + name + "'",
                    "an alias cannot refer to a node that contains it");
    auto it = m_anchors.find(name);
    if (it == m_anchors.end())
      throw_error(mark, "alias '*" + name + "' refers to no anchor",
                  "define it first with '&" + name +
                      "' on the node to repeat, or quote a value that starts with '*'");
    spend(count_nodes(it->second), mark);
    YNode copy = it->second;
    copy.mark = mark;
    add(std::move(copy));
  }

  void open(YNode::Kind kind, Mark mark, std::string anchor) {
    if (static_cast<int>(m_stack.size()) >= k_max_nesting)
      throw_error(mark, "nesting deeper than 64 levels",
                  "flatten the structure; a workflow needs only a few levels");
    Frame f;
    f.node.kind = kind;
    f.node.mark = mark;
    f.anchor = std::move(anchor);
    m_stack.push_back(std::move(f));
  }

  void close() {
    Frame f = std::move(m_stack.back());
    m_stack.pop_back();
    finish(std::move(f.node), f.anchor);
  }

  void finish(YNode n, const std::string& anchor, bool empty = false) {
    if (!anchor.empty()) keep_anchored(anchor, n);
    add(std::move(n), empty);
  }

  /// Copies of anchored nodes count against the alias budget too: nested anchors copy a
  /// node once per anchor above it.
  void keep_anchored(const std::string& anchor, const YNode& n) {
    spend(count_nodes(n), n.mark);
    m_anchors[anchor] = n;
  }

  void spend(size_t nodes, Mark at) {
    m_copied_nodes += nodes;
    if (m_copied_nodes > k_max_alias_nodes)
      throw_error(at, "aliases expand to more than 100000 nodes", "use fewer or smaller aliases");
  }

  /// `empty`: a value left out (`run:`), which points at its key.
  void add(YNode n, bool empty = false) {
    if (m_stack.empty()) {
      if (!m_has_root) m_root = std::move(n);
      m_has_root = true;
      return;
    }
    Frame& top = m_stack.back();
    if (top.node.kind == YNode::Kind::sequence) {
      top.node.items.push_back(std::move(n));
    } else if (!top.has_key) {
      add_key(top, std::move(n));
    } else {
      if (empty) n.mark = top.key.mark;
      top.node.entries.push_back(YEntry{std::move(top.key), std::move(n)});
      top.has_key = false;
    }
  }

  void add_key(Frame& top, YNode key) {
    if (!key.is_scalar()) throw_error(key.mark, "a mapping key must be a string");
    int first_line = 0;
    if (top.key_lines.empty() && top.node.entries.size() < 16) {
      for (const auto& e : top.node.entries)
        if (e.key.value == key.value) {
          first_line = e.key.mark.line;
          break;
        }
    } else {
      if (top.key_lines.empty())
        for (const auto& e : top.node.entries) top.key_lines.emplace(e.key.value, e.key.mark.line);
      auto [it, inserted] = top.key_lines.emplace(key.value, key.mark.line);
      if (!inserted) first_line = it->second;
    }
    if (first_line != 0)
      throw_error(key.mark,
                  "duplicate key '" + key.value + "' (first defined at line " +
                      std::to_string(first_line) + ")",
                  "remove one of them or merge them");
    top.key = std::move(key);
    top.has_key = true;
  }

  const std::string& m_file;
  const Columns& m_columns;
  std::vector<Frame> m_stack;
  std::unordered_map<std::string, YNode> m_anchors;  ///< finished anchored nodes, by name
  size_t m_copied_nodes = 0;                         ///< nodes copied for anchors and aliases
  YNode m_root;
  bool m_has_root = false;
};

/// libyaml's parser, freed on every path.
class Parser {
 public:
  explicit Parser(std::string_view text) {
    if (!yaml_parser_initialize(&m_parser)) throw std::bad_alloc();
    yaml_parser_set_input_string(&m_parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~Parser() {
    if (m_has_event) yaml_event_delete(&m_event);
    yaml_parser_delete(&m_parser);
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  /// The next event, valid until the next call; false on a syntax error (see error()).
  bool next() {
    if (m_has_event) yaml_event_delete(&m_event);
    m_has_event = yaml_parser_parse(&m_parser, &m_event) != 0;
    return m_has_event;
  }
  const yaml_event_t& event() const { return m_event; }

  /// The syntax error after next() returned false: libyaml's problem and, when it has one,
  /// the construct it was reading and where that starts.
  Error error(const std::string& file, const Columns& columns) const {
    const yaml_parser_t& p = m_parser;
    if (p.error == YAML_MEMORY_ERROR) throw std::bad_alloc();
    std::string problem = p.problem ? p.problem : "cannot parse";
    Mark at = columns.clamp(p.error == YAML_READER_ERROR ? columns.at_offset(p.problem_offset)
                                                         : columns.at(p.problem_mark));
    std::string message = "yaml syntax: " + problem;
    if (p.context) {
      Mark from = columns.clamp(columns.at(p.context_mark));
      message += std::string(" (") + p.context;
      if (from.line != at.line || from.column != at.column)
        message +=
            " at line " + std::to_string(from.line) + ", column " + std::to_string(from.column);
      message += ")";
    }
    std::string hint;
    if (p.error == YAML_READER_ERROR)
      hint = "remove the character, or write it as an escape in a double-quoted string";
    return Error{ErrorKind::invalid_workflow, message, file, at.line, at.column, hint};
  }

 private:
  yaml_parser_t m_parser{};
  yaml_event_t m_event{};
  bool m_has_event = false;
};

Result<YNode> parse_documents(std::string_view text, const std::string& file) {
  Columns columns(text);
  Parser parser(text);
  TreeBuilder builder(file, columns);
  YNode root;
  int documents = 0, empty = 0;
  for (;;) {
    if (!parser.next()) return std::unexpected(parser.error(file, columns));
    const yaml_event_t& e = parser.event();
    if (e.type == YAML_STREAM_END_EVENT) break;
    if (e.type == YAML_DOCUMENT_START_EVENT) ++documents;
    if (e.type != YAML_DOCUMENT_END_EVENT) {
      builder.on_event(e);
      continue;
    }
    if (documents == 1) {
      root = builder.take_root();
      continue;
    }
    // A trailing `---` with nothing after it is an empty document: harmless.
    YNode next = builder.take_root();
    if (!next.is_null() || ++empty > k_max_empty_documents)
      return std::unexpected(Error{ErrorKind::invalid_workflow,
                                   "the file holds more than one YAML document", file,
                                   next.mark.line, next.mark.column, "keep one workflow per file"});
  }
  return root;
}

}  // namespace

Result<YNode> parse_yaml_tree(std::string_view text, const std::string& file) {
  try {
    return parse_documents(text, file);
  } catch (const BuildError& e) {
    return std::unexpected(e.error);
  } catch (const std::exception& e) {
    return std::unexpected(Error{ErrorKind::invalid_workflow,
                                 std::string("cannot read the workflow: ") + e.what(),
                                 file,
                                 0,
                                 0,
                                 {}});
  }
}

}  // namespace wfo::loader
