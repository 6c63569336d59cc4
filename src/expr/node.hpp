#pragma once
// The syntax tree of one expression, built by parser.cpp and read by evaluate.cpp (internal).
// A tree is immutable once built and shared between copies of an Expression; its height is
// bounded by the parser (k_max_depth), so walking it recursively is safe.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "expr/expr.hpp"

namespace wfo::expr {

/// Nesting depth allowed in an expression: parentheses, operators, property accesses.
inline constexpr int k_max_depth = 64;
/// Longest expression source accepted, in bytes.
inline constexpr size_t k_max_source_bytes = 64 * 1024;

/// The built-in functions (spec: Expressions).
enum class Function {
  contains,
  starts_with,
  ends_with,
  format,
  join,
  to_json,
  from_json,
  success,
  failure,
  always,
  cancelled,
};

/// A function as documented, with its arity; `max_args` < 0 means no maximum.
struct FunctionInfo {
  std::string_view name;
  Function id;
  int min_args;
  int max_args;
};

/// Returns the function called `name` (compared case-insensitively), or nullptr.
const FunctionInfo* find_function(std::string_view name);
/// The documented names of all functions, for did-you-mean hints.
std::vector<std::string> function_names();
/// True for success(), failure(), always() and cancelled().
bool is_status_function(Function f);

enum class NodeKind {
  literal,      ///< `literal`
  context,      ///< `name`: a context name in lower case
  property,     ///< children[0].`name`
  index,        ///< children[0][children[1]]
  logical_not,  ///< !children[0]
  logical_and,  ///< children[0] && children[1] && ...
  logical_or,   ///< children[0] || children[1] || ...
  compare,      ///< children[0] `op` children[1]
  call,         ///< `function`(children...)
};

enum class CompareOp { equal, not_equal, less, less_equal, greater, greater_equal };

struct Node {
  NodeKind kind = NodeKind::literal;
  size_t offset = 0;  ///< byte offset in the source of the token that names the node
  Value literal;
  std::string name;
  CompareOp op = CompareOp::equal;
  Function function = Function::always;
  std::vector<std::unique_ptr<Node>> children;
};

}  // namespace wfo::expr
