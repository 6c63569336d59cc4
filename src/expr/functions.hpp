#pragma once
// Calls of the built-in functions (internal). The table of names and arities is in node.hpp.

#include <expected>
#include <string>
#include <vector>

#include "expr/coerce.hpp"
#include "expr/node.hpp"

namespace wfo::expr {

/// A function's result, or the reason it failed (e.g. "fromJSON: invalid JSON: ...").
using CallResult = std::expected<Val, std::string>;

/// Calls `f` with `args`, whose count the parser has checked against the function's arity.
CallResult call_function(Function f, const std::vector<Val>& args, const StatusFlags& flags);

}  // namespace wfo::expr
