#pragma once
// Task outputs written to $WFO_OUTPUT (spec: Outputs and handoffs; GitHub's $GITHUB_OUTPUT
// format: `key=value` lines, and `key<<DELIM`, lines, `DELIM` for multi-line values).

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo {

/// Largest accepted value, in bytes (issue: a value over 1 MiB fails the attempt).
inline constexpr size_t k_max_output_value_bytes = 1 << 20;

/// Parses the contents of an output file into a JSON object of strings; a later key
/// replaces an earlier one. Errors (message is the attempt's failure reason): a line that
/// is neither form (`malformed output line 3: expected key=value or key<<DELIMITER`), an
/// unterminated delimiter, a value over 1 MiB, an invalid key.
Result<nlohmann::json> parse_outputs(std::string_view text);

/// Checks `outputs` against the declared `specs`. Errors: `missing required output 'x'`,
/// `output 'x' does not match pattern '...'`.
Result<void> validate_outputs(const nlohmann::json& outputs, const std::vector<OutputSpec>& specs);

}  // namespace wfo
