#pragma once
// JSON text for the state database and for files tasks read.

#include <nlohmann/json.hpp>

#include <string>

namespace wfo {

/// `j` as compact JSON text (RFC 8259). A string that is not UTF-8 (which the entry points
/// refuse: params, gate inputs, task outputs) gets U+FFFD for each bad byte instead of the
/// exception nlohmann::json::dump() throws, which would end wfo mid-run.
inline std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace wfo
