#pragma once
// Progress for people and CI logs: one timestamped line per event on stderr, no escape
// codes (the live terminal view is not built yet; see README).

#include "engine/ports.hpp"

namespace wfo::cli {

/// Prints `HH:MM:SS task event detail` lines to stderr for the events people follow.
class ProgressPrinter final : public Observer {
 public:
  void on_event(const Event& event) override;
};

}  // namespace wfo::cli
