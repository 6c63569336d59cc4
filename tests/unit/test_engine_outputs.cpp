// parse_outputs ($GITHUB_OUTPUT format) and validate_outputs (spec: Outputs and handoffs).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/outputs.hpp"
#include "error_text.hpp"
#include "util/regex.hpp"

namespace {

using namespace wfo;
using nlohmann::json;

json parsed(std::string_view text) {
  auto out = parse_outputs(text);
  REQUIRE_MESSAGE(out.has_value(), wfo::test::error_text(out));
  return *out;
}

std::string error_of(std::string_view text) {
  auto out = parse_outputs(text);
  REQUIRE_FALSE(out.has_value());
  CHECK(out.error().kind == ErrorKind::usage);
  return out.error().message;
}

OutputSpec output(std::string name, bool required, std::optional<std::string> pattern = {}) {
  OutputSpec s;
  s.name = std::move(name);
  s.required = required;
  if (pattern) s.pattern = Regex::compile(*pattern).value();
  return s;
}

std::string validation_error(const json& outputs, const std::vector<OutputSpec>& specs) {
  auto ok = validate_outputs(outputs, specs);
  REQUIRE_FALSE(ok.has_value());
  CHECK(ok.error().kind == ErrorKind::usage);
  return ok.error().message;
}

}  // namespace

TEST_CASE("parse_outputs reads key=value lines") {
  CHECK(parsed("") == json::object());
  CHECK(parsed("a=1\nb=two words\n") == json{{"a", "1"}, {"b", "two words"}});
  CHECK(parsed("a=1") == json{{"a", "1"}});  // no final newline
  CHECK(parsed("empty=\n") == json{{"empty", ""}});
  CHECK(parsed("\n\na=1\n\n") == json{{"a", "1"}});
  CHECK(parsed("spec-path=api.yaml\nx_1=y\n") == json{{"spec-path", "api.yaml"}, {"x_1", "y"}});
}

TEST_CASE("parse_outputs: the value is everything after the first '='") {
  CHECK(parsed("url=https://x/?a=b&c=d\n") == json{{"url", "https://x/?a=b&c=d"}});
  CHECK(parsed("eq===\n") == json{{"eq", "=="}});
  // A '<<' after the '=' is part of the value, not a heredoc.
  CHECK(parsed("cmd=cat <<EOF\n") == json{{"cmd", "cat <<EOF"}});
  CHECK(parsed("sp= lead and trail \n") == json{{"sp", " lead and trail "}});
}

TEST_CASE("parse_outputs reads key<<DELIMITER heredocs") {
  CHECK(parsed("notes<<EOF\nline 1\nline 2\nEOF\nafter=1\n") ==
        json{{"notes", "line 1\nline 2"}, {"after", "1"}});
  CHECK(parsed("e<<END\nEND\n") == json{{"e", ""}});
  CHECK(parsed("b<<X\n\nmiddle\n\nX\n") == json{{"b", "\nmiddle\n"}});
  // Lines that look like outputs inside a heredoc are its value.
  CHECK(parsed("h<<EOF\nk=v\nother<<Y\nEOF") == json{{"h", "k=v\nother<<Y"}});
  // The delimiter must be the whole line.
  CHECK(parsed("h<<EOF\n EOF\nEOF \nEOF\n") == json{{"h", " EOF\nEOF "}});
}

TEST_CASE("parse_outputs: a later key replaces an earlier one") {
  CHECK(parsed("a=1\nb=2\na=3\n") == json{{"a", "3"}, {"b", "2"}});
  CHECK(parsed("a<<E\nx\nE\na=y\n") == json{{"a", "y"}});
}

TEST_CASE("parse_outputs accepts CRLF line ends") {
  CHECK(parsed("a=1\r\nb<<E\r\nl1\r\nl2\r\nE\r\nc=3\r\n") ==
        json{{"a", "1"}, {"b", "l1\nl2"}, {"c", "3"}});
}

TEST_CASE("parse_outputs refuses malformed lines, naming the line") {
  CHECK(error_of("a=1\nnot an output\n") ==
        "malformed output line 2: expected key=value or key<<DELIMITER");
  CHECK(error_of("=x\n") == "malformed output line 1: expected key=value or key<<DELIMITER");
  CHECK(error_of("a b=x\n") == "malformed output line 1: expected key=value or key<<DELIMITER");
  CHECK(error_of("a=1\n\nk<<\n") ==
        "malformed output line 3: expected key=value or key<<DELIMITER");
  CHECK(error_of("<<EOF\nx\nEOF\n") ==
        "malformed output line 1: expected key=value or key<<DELIMITER");
}

TEST_CASE("parse_outputs refuses an unterminated heredoc") {
  CHECK(error_of("a=1\nbody<<EOF\nl1\nl2\n") == "output 'body' at line 2 is never closed by 'EOF'");
  CHECK(error_of("body<<EOF") == "output 'body' at line 1 is never closed by 'EOF'");
}

TEST_CASE("parse_outputs refuses a value over 1 MiB") {
  std::string mib(k_max_output_value_bytes, 'x');
  CHECK(parsed("big=" + mib)["big"].get<std::string>().size() == k_max_output_value_bytes);
  CHECK(error_of("big=" + mib + "x\n") == "output 'big' is larger than 1 MiB");
  // The same in a heredoc, made of many lines.
  std::string lines;
  for (int i = 0; i < 1100; ++i) lines += std::string(999, 'y') + "\n";
  CHECK(error_of("big<<EOF\n" + lines + "EOF\n") == "output 'big' is larger than 1 MiB");
}

TEST_CASE("validate_outputs: required outputs and patterns") {
  std::vector<OutputSpec> specs{output("spec_path", true, "\\.ya?ml$"), output("note", false)};
  CHECK(validate_outputs(json{{"spec_path", "api.yaml"}}, specs).has_value());
  CHECK(validate_outputs(json{{"spec_path", "dir/api.yml"}, {"note", "x"}}, specs).has_value());
  CHECK(validation_error(json::object(), specs) == "missing required output 'spec_path'");
  CHECK(validation_error(json{{"note", "x"}}, specs) == "missing required output 'spec_path'");
  CHECK(validation_error(json{{"spec_path", "api.json"}}, specs) ==
        "output 'spec_path' does not match pattern '\\.ya?ml$'");
  CHECK(validation_error(json{{"spec_path", "api.yaml.bak"}}, specs) ==
        "output 'spec_path' does not match pattern '\\.ya?ml$'");
  // Undeclared outputs are kept and not checked.
  CHECK(validate_outputs(json{{"spec_path", "a.yaml"}, {"extra", "1"}}, specs).has_value());
}

TEST_CASE("validate_outputs: an optional output is checked only when present") {
  std::vector<OutputSpec> specs{output("n", false, "^[0-9]+$")};
  CHECK(validate_outputs(json::object(), specs).has_value());
  CHECK(validate_outputs(json{{"n", "42"}}, specs).has_value());
  CHECK(validation_error(json{{"n", "4x2"}}, specs) ==
        "output 'n' does not match pattern '^[0-9]+$'");
  // The pattern is searched, not matched whole.
  CHECK(validate_outputs(json{{"v", "version 1.2"}}, {output("v", true, "[0-9]\\.[0-9]")}));
}
