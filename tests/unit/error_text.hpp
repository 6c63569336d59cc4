#pragma once
// The message for a REQUIRE_MESSAGE on a Result: doctest evaluates a message even when its
// check passes (`-s` prints every assertion with it), so `r.error()` must not be read there
// unless `r` holds an error (reading it from a value is undefined: it crashed the engine
// tests under `-s`, and doctest's signal handler then waited on its own lock for ever).

#include <string>

namespace wfo::test {

/// `r.error().message` when `r` (a std::expected whose error has a `message`) holds an
/// error, else "".
template <class R>
std::string error_text(const R& r) {
  return r.has_value() ? std::string() : r.error().message;
}

}  // namespace wfo::test
