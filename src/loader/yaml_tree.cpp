// Builds a YNode tree from yaml-cpp's parser events rather than through YAML::Node, because
// the event stream lets the loader see what YAML::Node hides or mishandles: duplicate keys
// (YAML::Node keeps both silently), self-referencing aliases (YAML::Node builds a cyclic graph
// that later overflows the stack), and nesting depth. Invariants: every mark is 1-based; a
// builder error is thrown as BuildError from inside the event handler, which unwinds yaml-cpp
// (it holds its state in RAII members) and is caught in parse_yaml_tree with every other
// exception, so nothing escapes the loader.

#include "loader/yaml_tree.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <map>
#include <sstream>
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

Mark to_mark(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return Mark{m.line + 1, m.column + 1};
}

size_t count_nodes(const YNode& n) {
  size_t count = 1;
  for (const auto& item : n.items) count += count_nodes(item);
  for (const auto& e : n.entries) count += 1 + count_nodes(e.value);
  return count;
}

class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(const std::string& file) : m_file(file) {}

  bool has_root() const { return m_has_root; }
  /// Returns the document's root and makes ready for the next document.
  YNode take_root() {
    m_has_root = false;
    return std::exchange(m_root, YNode{});
  }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnAnchor(const YAML::Mark&, const std::string& name) override { m_pending_anchor = name; }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YNode n;
    n.mark = to_mark(mark);
    finish(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = m_anchors.find(anchor);
    if (it == m_anchors.end()) {
      // yaml-cpp resolves undefined names itself; a known id without a finished node is an
      // alias inside the node its anchor names.
      throw_error(to_mark(mark), "recursive alias '*" + m_anchor_names[anchor] + "'",
                  "an alias cannot refer to a node that contains it");
    }
    spend(count_nodes(it->second), to_mark(mark));
    YNode copy = it->second;
    copy.mark = to_mark(mark);
    finish(std::move(copy), 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YNode n;
    n.kind = YNode::Kind::scalar;
    n.plain = tag == "?";
    n.value = value;
    n.mark = to_mark(mark);
    finish(std::move(n), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(YNode::Kind::sequence, mark, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(YNode::Kind::mapping, mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    YNode node;
    YAML::anchor_t anchor = 0;
    bool has_key = false;
    YNode key;
    std::unordered_map<std::string, int> key_lines;
  };

  [[noreturn]] void throw_error(Mark at, std::string message, std::string hint = {}) const {
    throw BuildError{Error{ErrorKind::invalid_workflow, std::move(message), m_file, at.line,
                           at.column, std::move(hint)}};
  }

  void remember_anchor(YAML::anchor_t anchor) {
    if (anchor == 0) return;
    m_anchor_names[anchor] = m_pending_anchor;
  }

  void open(YNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    remember_anchor(anchor);
    if (static_cast<int>(m_stack.size()) >= k_max_nesting)
      throw_error(to_mark(mark), "nesting deeper than 64 levels",
                  "flatten the structure; a workflow needs only a few levels");
    Frame f;
    f.node.kind = kind;
    f.node.mark = to_mark(mark);
    f.anchor = anchor;
    m_stack.push_back(std::move(f));
  }

  void close() {
    Frame f = std::move(m_stack.back());
    m_stack.pop_back();
    if (f.anchor != 0) keep_anchored(f.anchor, f.node);
    add(std::move(f.node));
  }

  void finish(YNode n, YAML::anchor_t anchor) {
    remember_anchor(anchor);
    if (anchor != 0) keep_anchored(anchor, n);
    add(std::move(n));
  }

  /// Copies of anchored nodes count against the alias budget too: nested anchors copy a
  /// node once per anchor above it.
  void keep_anchored(YAML::anchor_t anchor, const YNode& n) {
    spend(count_nodes(n), n.mark);
    m_anchors[anchor] = n;
  }

  void spend(size_t nodes, Mark at) {
    m_copied_nodes += nodes;
    if (m_copied_nodes > k_max_alias_nodes)
      throw_error(at, "aliases expand to more than 100000 nodes", "use fewer or smaller aliases");
  }

  void add(YNode n) {
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
      // An empty value's mark is where the next token starts, often the next line.
      if (n.is_null() && n.mark.line != top.key.mark.line) n.mark = top.key.mark;
      top.node.entries.push_back(YEntry{std::move(top.key), std::move(n)});
      top.has_key = false;
    }
  }

  void add_key(Frame& top, YNode key) {
    if (!key.is_scalar()) throw_error(key.mark, "a mapping key must be a string");
    auto [it, inserted] = top.key_lines.emplace(key.value, key.mark.line);
    if (!inserted)
      throw_error(key.mark,
                  "duplicate key '" + key.value + "' (first defined at line " +
                      std::to_string(it->second) + ")",
                  "remove one of them or merge them");
    top.key = std::move(key);
    top.has_key = true;
  }

  const std::string& m_file;
  std::vector<Frame> m_stack;
  std::map<YAML::anchor_t, YNode> m_anchors;
  std::map<YAML::anchor_t, std::string> m_anchor_names;
  std::string m_pending_anchor;
  size_t m_copied_nodes = 0;  ///< nodes copied for anchors and aliases
  YNode m_root;
  bool m_has_root = false;
};

Error syntax_error(const YAML::Exception& e, const std::string& file) {
  Mark at = to_mark(e.mark);
  return Error{ErrorKind::invalid_workflow, "yaml syntax: " + e.msg, file, at.line, at.column, {}};
}

Result<YNode> parse_documents(std::string_view text, const std::string& file) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  TreeBuilder builder(file);
  if (!parser.HandleNextDocument(builder)) return YNode{};
  YNode root = builder.take_root();
  TreeBuilder rest(file);
  // A trailing `---` with nothing after it is an empty document: harmless. Many empty
  // documents are not: yaml-cpp can yield them forever on input it cannot read on from.
  for (int empty = 0; parser.HandleNextDocument(rest); ++empty) {
    YNode next = rest.take_root();
    if (!next.is_null() || empty >= k_max_empty_documents)
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
  } catch (const YAML::Exception& e) {
    return std::unexpected(syntax_error(e, file));
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
