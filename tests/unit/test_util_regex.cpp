// Regex (util/regex.hpp): RE2's syntax, searches, errors, and texts and patterns that made
// std::regex overflow its stack or backtrack for hours.

#include <doctest/doctest.h>

#include <string>

#include "util/regex.hpp"

namespace {

using namespace wfo;

bool search(const std::string& pattern, const std::string& text) {
  auto re = Regex::compile(pattern);
  REQUIRE(re.has_value());
  return re->search(text);
}

}  // namespace

TEST_CASE("Regex: searches, anchors and the classes workflows use") {
  CHECK(search("\\.ya?ml$", "api.yaml"));
  CHECK(search("\\.ya?ml$", "dir/api.yml"));
  CHECK_FALSE(search("\\.ya?ml$", "api.yaml.bak"));
  CHECK(search("^OPS-\\d+$", "OPS-42"));
  CHECK_FALSE(search("^OPS-\\d+$", "OPS-42x"));
  CHECK(search("rate limit|timed out", "error: upstream timed out after 30s"));
  CHECK(search("[0-9]\\.[0-9]", "version 1.2"));  // a search, not a whole match
  CHECK(search("(?i)^error", "ERROR: disk full"));
}

TEST_CASE("Regex: an invalid pattern is an error naming it and the syntax") {
  auto re = Regex::compile("(unclosed");
  REQUIRE_FALSE(re.has_value());
  CHECK(re.error().kind == ErrorKind::usage);
  CHECK(re.error().message == "invalid regular expression '(unclosed': missing ): (unclosed");
  CHECK(re.error().hint ==
        "write it in RE2 syntax (Perl's without backreferences and lookaround): "
        "https://github.com/google/re2/wiki/Syntax");
  CHECK(Regex::compile("[z-a]").error().message ==
        "invalid regular expression '[z-a]': invalid character class range: z-a");
  // Backreferences and lookaround are not RE2.
  CHECK_FALSE(Regex::compile("(a)\\1").has_value());
  CHECK_FALSE(Regex::compile("a(?=b)").has_value());
}

TEST_CASE("Regex: long texts and backtracking patterns end (std::regex crashed or hung)") {
  // 100 KB against a class: std::regex recursed per character and overflowed the stack.
  std::string value(100 * 1024, 'a');
  CHECK(search("^[a-z]+$", value));
  CHECK_FALSE(search("^[a-z]+$", value + "1"));
  // A megabyte, matched at its very end.
  CHECK(search("needle$", std::string(1 << 20, 'a') + "needle"));
  // Exponential for a backtracking engine: 2^40 ways to split the a's.
  CHECK_FALSE(search("^(a+)+$", std::string(40, 'a') + "b"));
  CHECK(search("^(a+)+$", std::string(40, 'a')));
}

TEST_CASE("Regex: text that is not UTF-8 neither crashes nor matches a letter") {
  CHECK_FALSE(search("^[a-z]+$", "\xff\xfe"));
  CHECK(search("bad", "x=\xff\xfe" "bad"));
}
