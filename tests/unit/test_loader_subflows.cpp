// load_subflows (issue 5: sub-workflows): every used file once, through the given source,
// paths resolved from the file that names them, a cycle of files refused at the `uses` that
// closes it, errors inside a used file located in it.

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "error_text.hpp"
#include "loader/loader.hpp"
#include "loader/subflows.hpp"

namespace {

using namespace wfo;

/// Files by absolute path; counts the reads.
struct Files {
  std::map<std::string, std::string> texts;
  std::vector<std::string> reads;

  SubflowSource source() {
    return [this](const std::string& key) -> Result<std::string> {
      reads.push_back(key);
      auto it = texts.find(key);
      if (it == texts.end()) return fail(ErrorKind::io, "No such file or directory");
      return it->second;
    };
  }
};

Workflow root(const std::string& text) {
  auto wf = load_workflow(text, "flows/main.yaml", "/w/flows");
  REQUIRE_MESSAGE(wf.has_value(), wfo::test::error_text(wf));
  return std::move(*wf);
}

std::string error_of(const Workflow& wf, Files& files, std::string* text = nullptr) {
  auto loaded = load_subflows(wf, files.source(), text);
  REQUIRE_FALSE(loaded.has_value());
  const Error& e = loaded.error();
  CHECK(e.kind == ErrorKind::invalid_workflow);
  return e.file + ":" + std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message;
}

const std::string k_leaf = "version: 1\ntasks:\n  a: {run: x}\n";

}  // namespace

TEST_CASE("load_subflows: each used file once, named and placed from the file that uses it") {
  Files files;
  files.texts["/w/flows/sub/deploy.yaml"] =
      "version: 1\ntasks:\n  migrate: {uses: ../common/leaf.yaml}\n  again: {uses: "
      "../common/leaf.yaml}\n";
  files.texts["/w/flows/common/leaf.yaml"] = k_leaf;
  Workflow wf = root(
      "version: 1\ntasks:\n  one: {uses: sub/deploy.yaml}\n  two: {uses: ./sub/deploy.yaml}\n");
  auto loaded = load_subflows(wf, files.source());
  REQUIRE_MESSAGE(loaded.has_value(), wfo::test::error_text(loaded));
  CHECK(files.reads ==
        std::vector<std::string>{"/w/flows/sub/deploy.yaml", "/w/flows/common/leaf.yaml"});
  REQUIRE(loaded->workflows.size() == 2);
  const Workflow& deploy = loaded->workflows.at("/w/flows/sub/deploy.yaml");
  CHECK(deploy.file == "flows/sub/deploy.yaml");
  CHECK(deploy.source_dir == "/w/flows/sub");
  CHECK(deploy.name == "deploy");
  CHECK(loaded->workflows.at("/w/flows/common/leaf.yaml").file == "flows/common/leaf.yaml");
  CHECK(loaded->texts.at("/w/flows/common/leaf.yaml") == k_leaf);
}

TEST_CASE("load_subflows: a workflow without uses reads nothing") {
  Files files;
  auto loaded = load_subflows(root(k_leaf), files.source());
  REQUIRE(loaded.has_value());
  CHECK(loaded->workflows.empty());
  CHECK(files.reads.empty());
}

TEST_CASE("load_subflows: a cycle of files is refused where it closes") {
  Files files;
  files.texts["/w/flows/a.yaml"] = "version: 1\ntasks:\n  x:\n    uses: b.yaml\n";
  files.texts["/w/flows/b.yaml"] = "version: 1\ntasks:\n  y: {run: z}\n  w:\n    uses: a.yaml\n";
  std::string text;
  Workflow wf = root("version: 1\ntasks:\n  start:\n    uses: a.yaml\n");
  CHECK(error_of(wf, files, &text) ==
        "flows/b.yaml:5:11: sub-workflow cycle: flows/a.yaml -> flows/b.yaml -> flows/a.yaml");
  CHECK(text == files.texts["/w/flows/b.yaml"]);  // for the caret under the line

  Files self;
  Workflow itself = root("version: 1\ntasks:\n  me:\n    uses: main.yaml\n");
  CHECK(error_of(itself, self) ==
        "flows/main.yaml:4:11: sub-workflow cycle: flows/main.yaml -> flows/main.yaml");
}

TEST_CASE("load_subflows: unreadable files, expressions in paths, errors inside used files") {
  Files files;
  CHECK(error_of(root("version: 1\ntasks:\n  d:\n    uses: gone.yaml\n"), files) ==
        "flows/main.yaml:4:11: cannot read sub-workflow 'gone.yaml': No such file or directory");
  CHECK(error_of(root("version: 1\ntasks:\n  d:\n    uses: ${{ params.f }}.yaml\n"), files) ==
        "flows/main.yaml:4:11: 'uses' must be a plain path, not an expression");
  files.texts["/w/flows/bad.yaml"] = "version: 1\ntasks:\n  a:\n    runn: x\n";
  std::string text = "unchanged";
  CHECK(error_of(root("version: 1\ntasks:\n  d:\n    uses: bad.yaml\n"), files, &text) ==
        "flows/bad.yaml:4:5: unknown key 'runn' in task 'a' (did you mean 'run'?)");
  CHECK(text == files.texts["/w/flows/bad.yaml"]);
}

TEST_CASE("loader: a workflow's declared outputs, short and long form") {
  Workflow wf = root(
      "version: 1\noutputs:\n  url: \"${{ tasks.a.outputs.u }}\"\n  mode:\n    value: fast\n"
      "    description: how\ntasks:\n  a: {run: x}\n");
  REQUIRE(wf.outputs.size() == 2);
  CHECK(wf.outputs[0].first == "url");
  CHECK(wf.outputs[0].second.text == "${{ tasks.a.outputs.u }}");
  CHECK(wf.outputs[0].second.mark.line == 3);
  CHECK(wf.outputs[1].first == "mode");
  CHECK(wf.outputs[1].second.text == "fast");
  auto bad = load_workflow("version: 1\noutputs:\n  m: {description: x}\ntasks:\n  a: {run: x}\n",
                           "f.yaml", "/w");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "output 'm' has no 'value'");
  CHECK(bad.error().line == 3);
}
