#pragma once
// The live terminal view of a drive, in the manner of ninja's and docker buildx's status:
// finished tasks scroll up as one line each, and below them a region is redrawn in place
// (at most 10 times a second) with a header and one line per task in flight:
//
//     ✓ build 3.2s
//     [1/4] 2 running, 1 retrying, 1 waiting for approval, 0:42
//       ● test 0:03
//       ↻ flaky retry in 0:04 (attempt 2/3): exit code 1
//       ⏸ review waiting for approval: ship it?

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "cli/progress.hpp"

namespace wfo::cli {

/// Returns the live view, drawing on stderr (which must be a terminal). It runs a thread that
/// redraws between events (elapsed times, countdowns) until finish().
std::unique_ptr<Progress> make_terminal_view(const ProgressContext& context);

/// Reads back a duration as util's format_duration writes it (`850ms`, `3.2s`, `1m05s`,
/// `2h03m`); nullopt on anything else.
std::optional<std::chrono::milliseconds> parse_display_duration(std::string_view text);

/// `M:SS`, or `H:MM:SS` from an hour on: elapsed times in the view.
std::string format_elapsed(std::chrono::milliseconds d);

}  // namespace wfo::cli
