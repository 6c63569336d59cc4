// libFuzzer target: bytes -> a template (text with `${{ }}` expressions) parsed by
// ParsedTemplate::parse, then rendered, evaluated and shell-rendered against a small context,
// under each status-function outcome; the same bytes as a condition and as one bare
// expression. Nothing may crash, hang, leak or read out of bounds; errors carry a message.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "expr/expr.hpp"

namespace {

const wfo::expr::Value& context() {
  static const wfo::expr::Value k_context = wfo::expr::Value::parse(R"({
    "params": {"name": "x", "n": 3, "pi": 3.25, "neg": -0.0, "on": true, "none": null,
               "list": [1, "2", [3], {"k": "v"}], "obj": {"k": "v", "n": {"m": 1}}},
    "env": {"HOME": "/home/u", "EMPTY": ""},
    "inputs": {"y": "1", "json": "{\"a\": [1, 2]}"},
    "matrix": {"os": "linux", "v": 3},
    "item": {"name": "a", "n": 1},
    "run": {"id": "r-1", "attempt": 1},
    "tasks": {"build": {"status": "succeeded", "outputs": {"path": "/tmp/x", "n": "42"}},
              "test": {"status": "failed", "outputs": {}}}
  })");
  return k_context;
}

void check(const wfo::Error& e) {
  if (e.message.empty()) std::abort();
}

void exercise(const wfo::expr::ParsedTemplate& t) {
  const wfo::expr::StatusFlags flags[] = {
      {true, false, false}, {false, true, false}, {false, true, true}};
  (void)t.references();
  (void)t.uses_status_function();
  for (const auto& f : flags) {
    if (auto s = t.render(context(), f); !s) check(s.error());
    if (auto v = t.evaluate(context(), f)) {
      (void)wfo::expr::to_display_string(*v);
      (void)wfo::expr::truthy(*v);
    } else {
      check(v.error());
    }
    int next = 1;
    if (auto sh = t.render_shell(context(), f, &next); !sh) check(sh.error());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  wfo::Template tmpl{text, wfo::Mark{3, 7}};
  if (auto t = wfo::expr::ParsedTemplate::parse(tmpl))
    exercise(*t);
  else
    check(t.error());
  if (auto c = wfo::expr::parse_condition(tmpl)) {
    if (auto v = c->evaluate(context(), {}); !v) check(v.error());
  } else {
    check(c.error());
  }
  if (auto e = wfo::expr::Expression::parse(text, wfo::Mark{1, 1})) {
    (void)e->references();
    if (auto v = e->evaluate(context(), {false, true, false}); !v) check(v.error());
  } else {
    check(e.error());
  }
  return 0;
}
