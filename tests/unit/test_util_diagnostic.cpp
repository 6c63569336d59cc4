// format_diagnostic compared whole, caret included (STYLE.md: as ninja's
// manifest_parser_test.cc does), and source_line.

#include <doctest/doctest.h>

#include <string>

#include "util/diagnostic.hpp"

namespace {

using wfo::Error;
using wfo::ErrorKind;
using wfo::format_diagnostic;
using wfo::source_line;

const char* const k_flow =
    "version: 1\n"
    "tasks:\n"
    "  build:\n"
    "    retires: 3\n"
    "    run: make\n";

Error at(int line, int column, std::string message, std::string hint = {}) {
  return Error{
      ErrorKind::invalid_workflow, std::move(message), "flow.yaml", line, column, std::move(hint)};
}

}  // namespace

TEST_CASE("format_diagnostic shows the line and a caret under the column") {
  CHECK(format_diagnostic(at(4, 5, "unknown key 'retires' (did you mean 'retry'?)"), k_flow) ==
        "flow.yaml:4:5: error: unknown key 'retires' (did you mean 'retry'?)\n"
        "      retires: 3\n"
        "      ^\n");
  CHECK(format_diagnostic(at(1, 1, "x"), k_flow) ==
        "flow.yaml:1:1: error: x\n"
        "  version: 1\n"
        "  ^\n");
}

TEST_CASE("format_diagnostic adds the hint on its own line") {
  CHECK(format_diagnostic(at(5, 10, "bad command", "quote it"), k_flow) ==
        "flow.yaml:5:10: error: bad command\n"
        "      run: make\n"
        "           ^\n"
        "  quote it\n");
}

TEST_CASE("format_diagnostic without a location") {
  CHECK(format_diagnostic(Error{ErrorKind::usage, "no such run", {}, 0, 0, {}}, k_flow) ==
        "error: no such run\n");
  CHECK(format_diagnostic(Error{ErrorKind::usage, "no such run", {}, 0, 0, "try 'wfo list'"}, "") ==
        "error: no such run\n  try 'wfo list'\n");
  // A file but no line: the file is named, no source is shown.
  CHECK(format_diagnostic(Error{ErrorKind::io, "cannot read", "flow.yaml", 0, 0, {}}, k_flow) ==
        "flow.yaml: error: cannot read\n");
  // A line but no column: the caret goes to the start.
  CHECK(format_diagnostic(at(2, 0, "m"), k_flow) == "flow.yaml:2: error: m\n  tasks:\n  ^\n");
}

TEST_CASE("format_diagnostic without the source line shows no caret") {
  CHECK(format_diagnostic(at(40, 2, "m"), k_flow) == "flow.yaml:40:2: error: m\n");
  CHECK(format_diagnostic(at(4, 5, "m", "h"), "") == "flow.yaml:4:5: error: m\n  h\n");
}

TEST_CASE("format_diagnostic cuts a long line at 72 columns") {
  std::string line(100, 'x');
  for (size_t i = 0; i < line.size(); ++i) line[i] = static_cast<char>('a' + i % 26);
  std::string text = "first\n" + line + "\nlast\n";
  SUBCASE("column inside the first 72: the start of the line") {
    CHECK(format_diagnostic(at(2, 10, "m"), text) == "flow.yaml:2:10: error: m\n  " +
                                                         line.substr(0, 72) + "\n  " +
                                                         std::string(9, ' ') + "^\n");
  }
  SUBCASE("column past 72: a window that keeps the caret in view") {
    // Column 90 is index 89; the window starts 36 before it.
    std::string shown = line.substr(53, 72);
    std::string out = format_diagnostic(at(2, 90, "m"), text);
    CHECK(out == "flow.yaml:2:90: error: m\n  " + shown + "\n  " + std::string(36, ' ') + "^\n");
    // The caret points at the character of column 90.
    CHECK(shown[36] == line[89]);
  }
}

TEST_CASE("format_diagnostic replaces control characters so the caret stays aligned") {
  CHECK(format_diagnostic(at(1, 3, "m"), "\ta\x1b[31mb\r\n") ==
        "flow.yaml:1:3: error: m\n"
        "   a [31mb\n"
        "    ^\n");
}

TEST_CASE("source_line") {
  CHECK(source_line(k_flow, 1) == "version: 1");
  CHECK(source_line(k_flow, 4) == "    retires: 3");
  CHECK(source_line(k_flow, 6) == "");
  CHECK(source_line(k_flow, 7) == "");
  CHECK(source_line(k_flow, 0) == "");
  CHECK(source_line("a\r\nb", 1) == "a");
  CHECK(source_line("a\r\nb", 2) == "b");
}

TEST_CASE("format_diagnostic echoes a UTF-8 line, and hides the bytes of any other") {
  CHECK(format_diagnostic(at(1, 1, "m"), "name: caf\xc3\xa9\n") ==
        "flow.yaml:1:1: error: m\n"
        "  name: caf\xc3\xa9\n"
        "  ^\n");
  // Latin-1, an overlong encoding, a lone continuation byte: every non-ASCII byte is '?'.
  CHECK(format_diagnostic(at(1, 1, "m"), "name: caf\xe9 \xc3\xa9\n") ==
        "flow.yaml:1:1: error: m\n"
        "  name: caf? ??\n"
        "  ^\n");
  CHECK(format_diagnostic(at(1, 1, "m"), "x: \xc0\xaf\n") ==
        "flow.yaml:1:1: error: m\n  x: ??\n  ^\n");
  CHECK(format_diagnostic(at(1, 1, "m"), "x: \x80\n") == "flow.yaml:1:1: error: m\n  x: ?\n  ^\n");
}
