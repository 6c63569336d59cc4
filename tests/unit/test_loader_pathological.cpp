// Input that crashes or stalls yaml-cpp 0.7 when fed to it directly must give a clean error:
// deep nesting, cyclic and undefined aliases, binary bytes, huge lines. A hang shows as the
// test's ctest timeout; how fast such input is refused is the benchmark's to measure.

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "loader/loader.hpp"
#include "util/diagnostic.hpp"

namespace {

const std::string k_nesting_hint = "  flatten the structure; a workflow needs only a few levels\n";

/// Loads `text` and returns the rendered error or "(loaded)". How fast pathological input is
/// refused is measured by the benchmark, not asserted here (no timing in the test suite).
std::string diagnose(const std::string& text) {
  auto wf = wfo::load_workflow(text, "flow.yaml", "/work");
  if (wf) return "(loaded)";
  CHECK(wf.error().kind == wfo::ErrorKind::invalid_workflow);
  return wfo::format_diagnostic(wf.error(), text);
}

std::string random_bytes(unsigned seed, size_t size) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(byte(gen));
  return out;
}

}  // namespace

TEST_CASE("loader pathological: 20,000 nested '[' stop at level 65") {
  std::string text(20000, '[');
  CHECK(diagnose(text) == "flow.yaml:1:65: error: nesting deeper than 64 levels\n  " +
                              std::string(72, '[') + "\n  " + std::string(64, ' ') + "^\n" +
                              k_nesting_hint);
  CHECK(diagnose("version: 1\nx: " + std::string(20000, '{')) ==
        "flow.yaml:2:67: error: nesting deeper than 64 levels\n"
        "  x: " +
            std::string(69, '{') + "\n  " + std::string(66, ' ') + "^\n" + k_nesting_hint);
}

TEST_CASE("loader pathological: deep block nesting") {
  std::string text = "version: 1\n";
  for (int i = 0; i < 100; ++i) text += std::string(i, ' ') + "a:\n";
  CHECK(diagnose(text) == "flow.yaml:66:65: error: nesting deeper than 64 levels\n  " +
                              std::string(64, ' ') + "a:\n  " + std::string(64, ' ') + "^\n" +
                              k_nesting_hint);
  std::string dashes = "version: 1\nx:\n";
  for (int i = 0; i < 2000; ++i) dashes += "- ";
  dashes += "a\n";
  std::string got = diagnose(dashes);
  CHECK(got.find("flow.yaml:3:") == 0);
  CHECK(got.find("error: nesting deeper than 64 levels\n") != std::string::npos);
}

TEST_CASE("loader pathological: brackets in scripts, strings and comments are not nesting") {
  std::string deep(100, '[');
  CHECK(diagnose("version: 1\ntasks:\n  a:\n    run: |\n      " + deep + "\n") == "(loaded)");
  CHECK(diagnose("version: 1\ntasks:\n  a:\n    run: '" + deep + "'\n") == "(loaded)");
  CHECK(diagnose("version: 1\ntasks:\n  a:\n    run: echo " + deep + "\n") == "(loaded)");
  CHECK(diagnose("version: 1\n# " + deep + "\ntasks: {a: {run: \"" + deep + "\"}}\n") ==
        "(loaded)");
}

TEST_CASE("loader pathological: known yaml-cpp crashers") {
  // wfo reads YAML with libyaml now; these crashed or hung yaml-cpp 0.7 and stay here.
  CHECK(diagnose("[:") ==
        "flow.yaml:1:2: error: yaml syntax: did not find expected node content (while parsing "
        "a flow node)\n"
        "  [:\n"
        "   ^\n");
  CHECK(diagnose("a: *x") ==
        "flow.yaml:1:4: error: alias '*x' refers to no anchor\n"
        "  a: *x\n"
        "     ^\n"
        "  define it first with '&x' on the node to repeat, or quote a value that starts with "
        "'*'\n");
  CHECK(diagnose("&a [*a]") ==
        "flow.yaml:1:5: error: recursive alias '*a'\n"
        "  &a [*a]\n"
        "      ^\n"
        "  an alias cannot refer to a node that contains it\n");
  CHECK(diagnose("version: 1\nx: &loop\n  y: *loop\n") ==
        "flow.yaml:3:6: error: recursive alias '*loop'\n"
        "    y: *loop\n"
        "       ^\n"
        "  an alias cannot refer to a node that contains it\n");
  // yaml-cpp 0.7 yields empty documents forever at a top-level ','.
  CHECK(diagnose(",version: 1\n") ==
        "flow.yaml:1:1: error: yaml syntax: a value cannot start with ','\n"
        "  ,version: 1\n"
        "  ^\n"
        "  put a value that starts with ',' in quotes\n");
  CHECK(diagnose("- x\n, a\n") ==
        "flow.yaml:2:1: error: yaml syntax: a value cannot start with ','\n"
        "  , a\n"
        "  ^\n"
        "  put a value that starts with ',' in quotes\n");
  CHECK(diagnose("version: 1\ntasks: {a: {run: x}}\n---\n---\n") == "(loaded)");
  CHECK(diagnose("{{{{") ==
        "flow.yaml:1:5: error: yaml syntax: did not find expected node content (while parsing "
        "a flow node)\n"
        "  {{{{\n"
        "      ^\n");
}

TEST_CASE("loader pathological: aliases that expand exponentially") {
  std::string text = "version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  std::string got = diagnose(text);
  CHECK(got.find("error: aliases expand to more than 100000 nodes\n") != std::string::npos);
  CHECK(got.find("  use fewer or smaller aliases\n") != std::string::npos);
}

TEST_CASE("loader pathological: binary and non-UTF-8 input") {
  std::string got = diagnose(random_bytes(42, 4096));
  CHECK(got.find("flow.yaml:") == 0);
  CHECK(got.find("error: file is not UTF-8 text\n") != std::string::npos);
  CHECK(diagnose(std::string("version: 1\nna\0me: x\n", 20)) ==
        "flow.yaml:2:3: error: file is not UTF-8 text\n"
        "  na me: x\n"
        "    ^\n"
        "  found a NUL byte; is this a binary file?\n");
  CHECK(diagnose("version: 1\nname: caf\xe9\n") ==
        "flow.yaml:2:10: error: file is not UTF-8 text\n"
        "  name: caf?\n"
        "           ^\n"
        "  found a byte sequence that is not UTF-8; save the file as UTF-8\n");
  CHECK(diagnose(std::string("\xff\xfev\0e\0r\0", 8)) ==
        "flow.yaml:1:1: error: file is not UTF-8 text\n"
        "  ??v e r \n"
        "  ^\n"
        "  found a byte sequence that is not UTF-8; save the file as UTF-8\n");
  // The scan reads 8 bytes at a time where it can: a bad byte is found, at its byte column,
  // wherever it falls in or after such a word, after ASCII or after UTF-8 text.
  for (int k = 0; k <= 20; ++k) {
    CAPTURE(k);
    std::string run(static_cast<size_t>(k), 'x');
    CHECK(diagnose("version: 1\na: " + run + "\xff\n")
              .find("flow.yaml:2:" + std::to_string(4 + k) + ": error: file is not UTF-8") == 0);
    CHECK(diagnose("version: 1\na: " + run + std::string(1, '\0') + "\n")
              .find("flow.yaml:2:" + std::to_string(4 + k) + ": error: file is not UTF-8") == 0);
    CHECK(diagnose("d: caf\xc3\xa9" + run + "\x80\n")
              .find("flow.yaml:1:" + std::to_string(9 + k) + ": error: file is not UTF-8") == 0);
  }
  // Overlong forms and surrogates are not UTF-8 either; real UTF-8 and a BOM are fine.
  CHECK(diagnose("a: \xc0\xaf\n").find("flow.yaml:1:4: error: file is not UTF-8") == 0);
  CHECK(diagnose("a: \xed\xa0\x80\n").find("flow.yaml:1:4: error: file is not UTF-8") == 0);
  CHECK(diagnose("\xef\xbb\xbfversion: 1\ndescription: caf\xc3\xa9 \xf0\x9f\x9a\x80\n"
                 "tasks: {a: {run: x}}\n") == "(loaded)");
  for (unsigned seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    CHECK(diagnose(random_bytes(seed, 1000)) != "(loaded)");
  }
}

TEST_CASE("loader pathological: a 1 MB line") {
  std::string huge(1 << 20, 'x');
  CHECK(diagnose(huge).find("flow.yaml:1:1: error: the top level must be a mapping\n") == 0);
  std::string got = diagnose("version: 1\ntasks: {a: {run: x}}\nzz: " + huge + "\n");
  CHECK(got.find("flow.yaml:3:1: error: unknown key 'zz' at top level\n") == 0);
  got = diagnose("version: 1\nx: [" + std::string(1 << 19, ',') + "\n");
  CHECK(got.find("error: yaml syntax: ") != std::string::npos);
  CHECK(diagnose("version: 1\ndescription: " + huge + "\ntasks: {a: {run: x}}\n") == "(loaded)");
}

TEST_CASE("loader pathological: mutated workflows never crash the loader") {
  const std::string base =
      "version: 1\nparams:\n  p: {default: a, enum: [a, b]}\nagents:\n"
      "  c: {command: [x, \"${{ inputs.y }}\"], circuit_breaker: {failures: 1, cooldown: 1s}}\n"
      "tasks:\n  a:\n    agent: c\n    with: {y: 1}\n    retry: {max_attempts: 2, delay: 1s}\n"
      "  b:\n    needs: [a]\n    run: 'echo hi'\n    matrix: {os: [l, m], exclude: [{os: l}]}\n"
      "    approval: {when: after, inputs: {r: {required: true}}}\n"
      "    fallback: {agent: c, with: {k: v}}\n";
  const std::string alphabet = "{}[]:,-&*!|>'\"# \n\tab1\\";
  std::mt19937 gen(7);
  for (int round = 0; round < 300; ++round) {
    std::string text = base;
    int edits = 1 + static_cast<int>(gen() % 4);
    for (int k = 0; k < edits; ++k) {
      size_t pos = gen() % text.size();
      char c = alphabet[gen() % alphabet.size()];
      if (gen() % 2) {
        text[pos] = c;
      } else {
        text.insert(pos, 1, c);
      }
    }
    CAPTURE(text);
    auto wf = wfo::load_workflow(text, "flow.yaml", "/work");
    if (!wf) CHECK(!wf.error().message.empty());
  }
}
