#pragma once
// A YAML document as a small tree of plain values with 1-based marks, built from libyaml's
// parser events. The rest of the loader reads this tree and never sees libyaml, its
// error codes or its 0-based marks.

#include <string>
#include <string_view>
#include <vector>

#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo::loader {

struct YEntry;

/// One node of a YAML document. Mapping keys are always scalars (the builder refuses others)
/// and unique (the builder refuses duplicates).
struct YNode {
  enum class Kind : uint8_t { null, scalar, sequence, mapping };
  Kind kind = Kind::null;
  /// For a scalar: true when written plain (no quotes, no block style, no tag), so that
  /// `3` is an integer and `"3"` a string.
  bool plain = true;
  /// For a scalar: true when written as a folded block (`>`); its mark is its first line's.
  bool folded = false;
  /// 1-based; a null value of a mapping entry carries its key's mark. Next to the one-byte
  /// fields, where it fits without padding: a node is 96 bytes, not 104.
  Mark mark;
  std::string value;            ///< a scalar's text, as YAML decodes it
  std::vector<YNode> items;     ///< a sequence's items
  std::vector<YEntry> entries;  ///< a mapping's entries, in file order

  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_null() const { return kind == Kind::null; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_mapping() const { return kind == Kind::mapping; }
};

/// A mapping entry: `key` is a scalar node.
struct YEntry {
  YNode key;
  YNode value;
};

/// The deepest nesting of collections the loader accepts (the readers recurse per level).
inline constexpr int k_max_nesting = 64;

/// Parses `text` (already checked by check_text) into its one document's root; a missing
/// document gives a null root. Errors (ErrorKind::invalid_workflow, located in `file`):
/// `yaml syntax: <libyaml's problem> (<what it was reading> at line L, column C)`,
/// `nesting deeper than 64 levels`, `alias '*a' refers to no anchor`,
/// `duplicate key 'k' (first defined at line N)`, `a mapping key must be a string`,
/// `recursive alias '*a'`, `aliases expand to more than 100000 nodes`,
/// `the file holds more than one YAML document`. Never throws.
Result<YNode> parse_yaml_tree(std::string_view text, const std::string& file);

/// Checks `text` before libyaml sees it, so that input that could crash or stall a parser
/// gets a clean error: a NUL byte or invalid UTF-8 (`file is not UTF-8 text`), and flow or
/// block nesting deeper than k_max_nesting (`nesting deeper than 64 levels`). O(size).
Result<void> check_text(std::string_view text, const std::string& file);

}  // namespace wfo::loader
