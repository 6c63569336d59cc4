#include "util/regex.hpp"

#include <re2/re2.h>

#include <string>

namespace wfo {

Result<Regex> Regex::compile(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);  // RE2 would print the error to stderr itself
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok())
    return fail(ErrorKind::usage,
                "invalid regular expression '" + std::string(pattern) + "': " + re->error(),
                "write it in RE2 syntax (Perl's without backreferences and lookaround): "
                "https://github.com/google/re2/wiki/Syntax");
  return Regex(std::move(re));
}

const std::string& Regex::source() const {
  return m_re->pattern();
}

bool Regex::search(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *m_re);
}

}  // namespace wfo
