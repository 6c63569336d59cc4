#pragma once
// Secret params (issue 8): their values reach tasks only through the environment
// (`WFO_SECRET_<NAME>`), and every occurrence of a value in what wfo writes (task and hook
// logs, outputs, reasons, the event log, and so status, JSON and JUnit) becomes `***`.

#include <string>
#include <string_view>
#include <vector>

#include "engine/ports.hpp"

namespace wfo {

/// Replaces every occurrence of any secret value by `***`. Values shorter than 4 bytes are
/// refused by the CLI (they would mask ordinary text). Copyable; empty means no secrets.
class Redactor {
 public:
  /// Adds `value` to the values to mask; empty values are ignored.
  void add(std::string value);
  bool empty() const { return m_values.empty(); }
  /// Returns `text` with every secret value replaced by `***`. O(|text| * secrets), by
  /// find() per value rather than per byte.
  std::string redact(std::string_view text) const;
  /// Redacts every string of `t` that wfo records: reasons, outputs, messages, details.
  void redact(Transition& t) const;
  /// Rewrites the file at `path` with every secret masked, streaming (constant memory:
  /// 1 MiB chunks, a match spanning two chunks is found). A missing file is fine.
  /// Errors (ErrorKind::io): the file cannot be read or replaced.
  Result<void> redact_file(const std::string& path) const;

 private:
  std::vector<std::string> m_values;  ///< longest first, so a longer value masks whole
  size_t m_longest = 0;
};

}  // namespace wfo
