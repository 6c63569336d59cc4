// parse_yaml_tree: libyaml's events as YNodes. What the readers rely on: which scalars are
// plain, which values are null, byte columns on non-ASCII lines, anchors and aliases, and
// one document per file.

#include <doctest/doctest.h>

#include <string>

#include "loader/yaml_tree.hpp"

namespace {

using wfo::loader::parse_yaml_tree;
using wfo::loader::YNode;

const YNode& value_of(const YNode& map, const std::string& key) {
  for (const auto& e : map.entries)
    if (e.key.value == key) return e.value;
  FAIL("no key " << key);
  static YNode none;
  return none;
}

}  // namespace

TEST_CASE("yaml tree: null, plain and quoted scalars") {
  auto root = parse_yaml_tree(
      "a: ~\nb: null\nc:\nd: ''\ne: !!str 3\nf: |\n  x\ng: 3\nh: \"3\"\ni: NULL\nj: nulls\n",
      "flow.yaml");
  REQUIRE(root.has_value());
  REQUIRE(root->is_mapping());
  for (const char* key : {"a", "b", "c", "i"}) {
    CAPTURE(key);
    CHECK(value_of(*root, key).is_null());
  }
  const YNode& d = value_of(*root, "d");
  CHECK((d.is_scalar() && !d.plain && d.value.empty()));
  const YNode& e = value_of(*root, "e");
  CHECK((e.is_scalar() && !e.plain && e.value == "3"));  // a tag makes it a string
  const YNode& f = value_of(*root, "f");
  CHECK((f.is_scalar() && !f.plain && f.value == "x\n"));
  const YNode& g = value_of(*root, "g");
  CHECK((g.is_scalar() && g.plain && g.value == "3"));
  const YNode& h = value_of(*root, "h");
  CHECK((h.is_scalar() && !h.plain && h.value == "3"));
  const YNode& j = value_of(*root, "j");
  CHECK((j.is_scalar() && j.plain && j.value == "nulls"));
}

TEST_CASE("yaml tree: marks are 1-based bytes; a left-out value points at its key") {
  // "é" is two bytes: libyaml counts it as one column, the tree as two.
  auto root = parse_yaml_tree("\xc3\xa9t\xc3\xa9: [x, y]\nrun:\n", "flow.yaml");
  REQUIRE(root.has_value());
  const YNode& list = value_of(*root, "\xc3\xa9t\xc3\xa9");
  CHECK(list.mark.line == 1);
  CHECK(list.mark.column == 8);
  REQUIRE(list.items.size() == 2);
  CHECK(list.items[1].mark.column == 12);
  const YNode& run = value_of(*root, "run");
  CHECK(run.is_null());
  CHECK(run.mark.line == 2);
  CHECK(run.mark.column == 1);
  // A byte order mark is not a column.
  auto bom = parse_yaml_tree(
      "\xef\xbb\xbf"
      "a: [\xc3\xa9, b]\n",
      "flow.yaml");
  REQUIRE(bom.has_value());
  CHECK(value_of(*bom, "a").items[1].mark.column == 9);
}

TEST_CASE("yaml tree: aliases copy their anchor's node, per document") {
  auto root = parse_yaml_tree("a: &x {k: [1, 2]}\nb: *x\n", "flow.yaml");
  REQUIRE(root.has_value());
  const YNode& b = value_of(*root, "b");
  REQUIRE(b.is_mapping());
  CHECK(value_of(b, "k").items.size() == 2);
  CHECK(b.mark.line == 2);
  auto undefined = parse_yaml_tree("a: 1\n---\nb: *x\n", "flow.yaml");
  REQUIRE_FALSE(undefined.has_value());
  CHECK(undefined.error().message == "alias '*x' refers to no anchor");
  CHECK(undefined.error().line == 3);
  CHECK(undefined.error().column == 4);
}

TEST_CASE("yaml tree: one document, empty ones after it allowed") {
  CHECK(parse_yaml_tree("", "flow.yaml")->is_null());
  CHECK(parse_yaml_tree("a: 1\n---\n---\n", "flow.yaml")->is_mapping());
  auto two = parse_yaml_tree("a: 1\n---\nb: 2\n", "flow.yaml");
  REQUIRE_FALSE(two.has_value());
  CHECK(two.error().message == "the file holds more than one YAML document");
  CHECK(two.error().line == 3);
  std::string empties = "a: 1\n";
  for (int i = 0; i < 9; ++i) empties += "---\n";
  CHECK_FALSE(parse_yaml_tree(empties, "flow.yaml").has_value());
}

TEST_CASE("yaml tree: a control character is a syntax error at its byte") {
  auto bad = parse_yaml_tree("a: 1\nb: x\x01y\n", "flow.yaml");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "yaml syntax: control characters are not allowed");
  CHECK(bad.error().line == 2);
  CHECK(bad.error().column == 5);
  CHECK(bad.error().hint ==
        "remove the character, or write it as an escape in a double-quoted string");
}

TEST_CASE("yaml tree: duplicate keys found in small and large mappings") {
  // Up to 16 keys are searched in place; from then on through a table. Both must find it.
  for (int size : {2, 15, 16, 17, 40}) {
    std::string text;
    for (int i = 0; i < size; ++i)
      text += "k" + std::to_string(i) + ": " + std::to_string(i) + "\n";
    text += "k1: again\n";
    CAPTURE(size);
    auto dup = parse_yaml_tree(text, "flow.yaml");
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error().message == "duplicate key 'k1' (first defined at line 2)");
    CHECK(dup.error().line == size + 1);
  }
  std::string distinct;
  for (int i = 0; i < 40; ++i) distinct += "k" + std::to_string(i) + ": x\n";
  auto ok = parse_yaml_tree(distinct, "flow.yaml");
  REQUIRE(ok.has_value());
  CHECK(ok->entries.size() == 40);
}
