#pragma once
// Renders an Error for a person, in the ninja/ccache style of STYLE.md:
//
//     flow.yaml:12:5: error: unknown key 'retires' (did you mean 'retry'?)
//       retires: 3
//       ^

#include <string>
#include <string_view>

#include "util/error.hpp"

namespace wfo {

/// Returns the message for `error`: `file:line:col: error: message`, then, when `source`
/// (the file's whole text) holds that line, the line cut at 72 columns and a caret under the
/// column, then `hint` on its own line when present. Without a location: `error: message`.
/// Ends with a newline. Errors: none.
std::string format_diagnostic(const Error& error, std::string_view source);

/// Returns the 1-based `line` of `text` without its newline; empty when out of range.
std::string_view source_line(std::string_view text, int line);

}  // namespace wfo
