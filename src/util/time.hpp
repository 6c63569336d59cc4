#pragma once
// Wall-clock times as wfo stores and prints them (spec: UTC, RFC 3339 with milliseconds).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace wfo {

using SystemTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

/// Formats `t` as RFC 3339 UTC with milliseconds: `2026-11-22T10:00:00.123Z`. Errors: none.
std::string format_rfc3339(SystemTime t);

/// Parses what format_rfc3339 writes (`YYYY-MM-DDTHH:MM:SS.mmmZ`, UTC, RFC 3339 with
/// milliseconds); nullopt on any other shape or an impossible date or time (`02-30`,
/// hour 24). A leap second (`:60`) reads as the next second's start, as timegm does.
std::optional<SystemTime> parse_rfc3339(std::string_view text);

/// Formats `t` as local `HH:MM:SS` for terminal lines. Errors: none.
std::string format_clock(SystemTime t);

/// Now on the system clock, truncated to milliseconds.
SystemTime system_now();

}  // namespace wfo
