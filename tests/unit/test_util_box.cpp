// Box<T>: std::optional's interface, on the heap, with value semantics; copies share the
// value until one is changed. SharedVector<T>: a vector shared the same way.

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "util/box.hpp"

TEST_CASE("Box: empty, set, copied by value, reset") {
  wfo::Box<std::string> a;
  CHECK_FALSE(a);
  CHECK_FALSE(a.has_value());
  CHECK_THROWS_AS(a.value(), std::bad_optional_access);
  a = std::string("retry");
  REQUIRE(a);
  CHECK(*a == "retry");
  CHECK(a->size() == 5);
  wfo::Box<std::string> b = a;  // a copy: changing it leaves `a` as it was
  b->append("!");
  CHECK(*a == "retry");
  CHECK(b.value() == "retry!");
  wfo::Box<std::string> c = std::move(b);
  CHECK(*c == "retry!");
  c = a;
  CHECK(*c == "retry");
  c = std::nullopt;
  CHECK_FALSE(c);
  c.emplace(3, 'x');
  CHECK(*c == "xxx");
  c.reset();
  CHECK_FALSE(c.has_value());
  wfo::Box<std::string> d = std::nullopt;
  CHECK_FALSE(d);
}

TEST_CASE("Box: a copy shares the value until one of them is changed") {
  wfo::Box<std::string> a = std::string("definition");
  wfo::Box<std::string> b = a;
  const auto& ca = std::as_const(a);
  const auto& cb = std::as_const(b);
  CHECK(&*ca == &*cb);  // one value for both
  CHECK(a.shared());
  b->append("!");  // b takes its own value first
  CHECK(&*ca != &*cb);
  CHECK(*ca == "definition");
  CHECK(*cb == "definition!");
  CHECK_FALSE(a.shared());
  CHECK_FALSE(b.shared());
  {
    wfo::Box<std::string> c = a;
    CHECK(a.shared());
  }
  CHECK_FALSE(a.shared());  // the copy's end gave the count back
  const std::string* before = &*ca;
  a->append("?");  // not shared: changed in place
  CHECK(&*ca == before);
  CHECK(*ca == "definition?");
  a = a;  // NOLINT: assigning a Box to itself keeps its value
  CHECK(*ca == "definition?");
  wfo::Box<std::string> d = a;
  d = std::string("new");  // a new value: `a` keeps the shared one
  CHECK(*ca == "definition?");
  d = a;
  d.emplace("made");
  CHECK(*ca == "definition?");
  CHECK(*std::as_const(d) == "made");
}

TEST_CASE("SharedVector: a vector's interface; copies share the elements until one is changed") {
  wfo::SharedVector<std::pair<std::string, int>> none;
  CHECK(none.empty());
  CHECK(none.size() == 0);
  CHECK(none.begin() == none.end());
  CHECK(none.identity() == nullptr);
  wfo::SharedVector<std::pair<std::string, int>> env{{"A", 1}, {"B", 2}};
  REQUIRE(env.size() == 2);
  CHECK(env[1].first == "B");
  CHECK(env.front().second == 1);
  CHECK(env.back().second == 2);
  auto copy = env;
  CHECK(copy.identity() == env.identity());
  CHECK(copy.shared());
  copy.emplace_back("C", 3);
  CHECK(copy.identity() != env.identity());
  CHECK(env.size() == 2);
  CHECK(copy.size() == 3);
  std::vector<std::string> names;
  for (const auto& [name, value] : copy) names.push_back(name);
  CHECK(names == std::vector<std::string>{"A", "B", "C"});
  copy.edit()[0].second = 10;
  CHECK(env[0].second == 1);
  CHECK(copy[0].second == 10);
  copy.clear();
  CHECK(copy.empty());
  CHECK(env == wfo::SharedVector<std::pair<std::string, int>>{{"A", 1}, {"B", 2}});
  wfo::SharedVector<int> from(std::vector<int>{});
  CHECK(from.identity() == nullptr);  // an empty vector allocates nothing
}
