#pragma once
// Durations as the workflow format writes them (spec: `500ms 30s 5m 1h30m`).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace wfo {

/// Parses a duration such as `500ms`, `30s`, `5m`, `1h30m`, `2h`, `1d`, or a bare `0`.
/// Units: ms, s, m, h, d; parts in descending order, each unit at most once.
/// Returns nullopt on anything else (`5 minutes`, `-1s`, empty, overflow past 100 years).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Formats `d` compactly for people: `850ms`, `3.2s`, `1m05s`, `2h03m`. Errors: none.
std::string format_duration(std::chrono::milliseconds d);

/// Formats a duration as the workflow format writes it (`1h30m`, `500ms`); parse_duration
/// reads it back exactly. Errors: none.
std::string format_duration_spec(std::chrono::milliseconds d);

}  // namespace wfo
