#pragma once
// Small string helpers; no dependency on anything in wfo.

#include <string>
#include <string_view>
#include <vector>

namespace wfo {

/// Levenshtein distance between `a` and `b`, for did-you-mean hints. O(|a|*|b|).
size_t edit_distance(std::string_view a, std::string_view b);

/// Returns the candidate closest to `word` within a distance of max(2, |word|/3), or empty.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// Returns the length in bytes (1-4) of the well-formed UTF-8 sequence that starts at `s[i]`,
/// or 0 when there is none there (a stray continuation byte, a sequence cut short, an
/// overlong form, a surrogate, a code point above U+10FFFF: RFC 3629, section 4). A NUL byte
/// is a sequence of length 1. Requires `i < s.size()`.
size_t utf8_length(std::string_view s, size_t i);

/// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
/// above U+10FFFF). JSON text must be UTF-8 (RFC 8259), and nlohmann::json throws on
/// dumping a string that is not.
bool valid_utf8(std::string_view s);

/// `s` as one word for a POSIX shell (sh(1)), for a command line wfo prints for the user to
/// paste: unchanged when it holds only letters, digits and `_-./=:`, else in single quotes
/// with each `'` written as `'\''`.
std::string shell_quote(const std::string& s);

/// Joins `parts` with `sep`.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

/// Returns true when `id` is a valid task id: one or more of [A-Za-z0-9_-] (spec: Tasks).
bool is_valid_task_id(std::string_view id);

/// Upper-cases `name` and replaces every non-alphanumeric by `_` (for WFO_INPUT_<NAME>).
std::string env_name(std::string_view name);

}  // namespace wfo
