#pragma once
// Secret params (issue 8): their values reach tasks only through the environment
// (`WFO_SECRET_<NAME>`), and every occurrence of a value in what wfo writes (task and hook
// logs, outputs, reasons, the event log, and so status, JSON and JUnit) becomes `***`.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ports.hpp"
#include "util/mask.hpp"

namespace wfo {

/// Replaces every occurrence of any secret value by `***` (util/mask.hpp does the matching).
/// Values shorter than 4 bytes are refused by the CLI (they would mask ordinary text).
/// Copyable; empty means no secrets.
class Redactor {
 public:
  /// Adds `values` to the values to mask, all at once (each add copies the values once);
  /// empty values are ignored.
  void add(std::vector<std::string> values);
  bool empty() const { return m_masker->empty(); }
  /// The values, for the process layer to mask a task's output as it reaches the log; null
  /// when there are none (nothing to mask).
  std::shared_ptr<const Masker> masker() const { return empty() ? nullptr : m_masker; }
  /// Returns `text` with every secret value replaced by `***`.
  std::string redact(std::string_view text) const { return m_masker->mask(text); }
  /// Redacts every string of `t` that wfo records: reasons, outputs, messages, details.
  void redact(Transition& t) const;
  /// Rewrites the file at `path` with every secret masked, streaming (constant memory:
  /// 1 MiB chunks, a match spanning two chunks is found). A missing file is fine.
  /// Errors (ErrorKind::io): the file cannot be read or replaced.
  Result<void> redact_file(const std::string& path) const;

 private:
  /// Shared by copies and never changed once shared: add() replaces it.
  std::shared_ptr<const Masker> m_masker = std::make_shared<Masker>();
};

}  // namespace wfo
