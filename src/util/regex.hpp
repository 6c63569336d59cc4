#pragma once
// Regular expressions for the workflow's patterns (spec: outputs' and gate inputs' `pattern`,
// retry `on_output`), in RE2's syntax (https://github.com/google/re2/wiki/Syntax): Perl's
// without backreferences and lookaround. RE2 matches in time linear in the
// text, with no recursion per character, so no pattern and no text (values go up to 1 MiB)
// can hang or crash wfo; std::regex did both (a stack overflow on a 100 KB value, hours of
// backtracking for `^(a+)+$`).

#include <memory>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace re2 {
class RE2;
}

namespace wfo {

/// A compiled pattern; copies share it. Thread-safe to search from several threads (RE2).
class Regex {
 public:
  /// Compiles `pattern`. Errors (ErrorKind::usage): "invalid regular expression 'P': WHY",
  /// WHY as RE2 words it ("missing ): (a"), with a hint on the syntax.
  static Result<Regex> compile(std::string_view pattern);
  /// True when the pattern matches anywhere in `text` (a search, not a whole-text match:
  /// anchor with ^ and $). `text` is read as UTF-8; bytes that are not never crash it.
  bool search(std::string_view text) const;
  /// The pattern as written, for messages and reports.
  const std::string& source() const;

 private:
  explicit Regex(std::shared_ptr<const re2::RE2> re) : m_re(std::move(re)) {}
  std::shared_ptr<const re2::RE2> m_re;
};

}  // namespace wfo
