// Box<T>: std::optional's interface, on the heap, with value semantics.

#include <doctest/doctest.h>

#include <string>

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
  wfo::Box<std::string> b = a;  // a copy, not a shared value
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
