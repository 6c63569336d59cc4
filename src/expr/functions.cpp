// The built-in functions of expressions, after GitHub Actions' (actions/languageservices):
// string functions convert primitives with to_display_string and compare ignoring ASCII case;
// arrays and objects given where a primitive is expected make them return false or "".
// Arity is checked by the parser, so each function may index its arguments freely.

#include "expr/functions.hpp"

#include <array>
#include <charconv>
#include <optional>

#include "expr/coerce.hpp"

namespace wfo::expr {

namespace {

constexpr std::array<FunctionInfo, 11> k_functions{{
    {"contains", Function::contains, 2, 2},
    {"startsWith", Function::starts_with, 2, 2},
    {"endsWith", Function::ends_with, 2, 2},
    {"format", Function::format, 1, -1},
    {"join", Function::join, 1, 2},
    {"toJSON", Function::to_json, 1, 1},
    {"fromJSON", Function::from_json, 1, 1},
    {"success", Function::success, 0, 0},
    {"failure", Function::failure, 0, 0},
    {"always", Function::always, 0, 0},
    {"cancelled", Function::cancelled, 0, 0},
}};

/// Deepest nesting of arrays and objects fromJSON accepts; nlohmann's dump() recurses.
constexpr int k_max_json_depth = 256;

Val boolean(bool b) {
  return Val::own(Value(b));
}
Val text(std::string s) {
  return Val::own(Value(std::move(s)));
}

/// The two arguments as upper-cased strings, or nothing when either is an array or object.
std::optional<std::pair<std::string, std::string>> both_strings(const Val& a, const Val& b) {
  if (!is_primitive(a.get()) || !is_primitive(b.get())) return std::nullopt;
  return std::pair{upper_ascii(to_display_string(a.get())),
                   upper_ascii(to_display_string(b.get()))};
}

Val contains(const Val& search, const Val& item) {
  const Value& s = search.get();
  if (is_primitive(s)) {
    const auto strings = both_strings(search, item);
    return boolean(strings && strings->first.find(strings->second) != std::string::npos);
  }
  if (!s.is_array()) return boolean(false);
  // An element of a borrowed array is borrowed too: its address is its identity.
  const bool borrowed = search.identity() != nullptr;
  for (const Value& element : s) {
    if (loose_compare(element, borrowed ? &element : nullptr, item.get(), item.identity()) == 0)
      return boolean(true);
  }
  return boolean(false);
}

Val starts_with(const Val& a, const Val& b) {
  const auto s = both_strings(a, b);
  return boolean(s && s->first.starts_with(s->second));
}

Val ends_with(const Val& a, const Val& b) {
  const auto s = both_strings(a, b);
  return boolean(s && s->first.ends_with(s->second));
}

std::string cut(std::string_view s) {
  return s.size() <= 60 ? std::string(s) : std::string(s.substr(0, 60)) + "...";
}

CallResult format(const std::vector<Val>& args) {
  const std::string fmt = to_display_string(args[0].get());
  const auto invalid = [&] {
    return std::unexpected("format: invalid format string '" + cut(fmt) +
                           "' (write '{{' and '}}' for literal braces)");
  };
  std::string out;
  for (size_t i = 0; i < fmt.size();) {
    const char c = fmt[i];
    const bool doubled = i + 1 < fmt.size() && fmt[i + 1] == c;
    if ((c == '{' || c == '}') && doubled) {
      out += c;
      i += 2;
    } else if (c == '}') {
      return invalid();
    } else if (c == '{') {
      size_t end = i + 1;
      while (end < fmt.size() && fmt[end] >= '0' && fmt[end] <= '9') ++end;
      if (end == i + 1 || end >= fmt.size() || fmt[end] != '}') return invalid();
      size_t index = 0;
      const auto [ptr, ec] = std::from_chars(fmt.data() + i + 1, fmt.data() + end, index);
      if (ec != std::errc() || index >= args.size() - 1)
        return std::unexpected("format: '" + cut(fmt.substr(i, end + 1 - i)) +
                               "' refers to a value " + "that was not given (" +
                               std::to_string(args.size() - 1) + " given, counted from {0})");
      out += to_display_string(args[index + 1].get());
      i = end + 1;
    } else {
      out += c;
      ++i;
    }
  }
  return text(std::move(out));
}

Val join(const std::vector<Val>& args) {
  const Value& items = args[0].get();
  if (is_primitive(items)) return text(to_display_string(items));
  if (!items.is_array()) return text("");
  std::string separator = ",";
  if (args.size() > 1 && is_primitive(args[1].get())) separator = to_display_string(args[1].get());
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += to_display_string(items[i]);
  }
  return text(std::move(out));
}

/// True when `json` nests arrays and objects deeper than `limit` (strings are skipped).
bool nested_deeper_than(std::string_view json, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

CallResult from_json(const Val& arg) {
  const std::string json = to_display_string(arg.get());
  if (nested_deeper_than(json, k_max_json_depth))
    return std::unexpected("fromJSON: invalid JSON: nested deeper than " +
                           std::to_string(k_max_json_depth) + " levels");
  try {
    return Val::own(Value::parse(json));
  } catch (const Value::exception& e) {
    // what() is e.g. "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    std::string_view reason = e.what();
    if (const size_t tag = reason.find("] "); tag != std::string_view::npos)
      reason.remove_prefix(tag + 2);
    return std::unexpected("fromJSON: invalid JSON: " + std::string(reason));
  }
}

}  // namespace

const FunctionInfo* find_function(std::string_view name) {
  const std::string wanted = upper_ascii(name);
  for (const auto& f : k_functions)
    if (upper_ascii(f.name) == wanted) return &f;
  return nullptr;
}

std::vector<std::string> function_names() {
  std::vector<std::string> names;
  for (const auto& f : k_functions) names.emplace_back(f.name);
  return names;
}

bool is_status_function(Function f) {
  return f == Function::success || f == Function::failure || f == Function::always ||
         f == Function::cancelled;
}

CallResult call_function(Function f, const std::vector<Val>& args, const StatusFlags& flags) {
  switch (f) {
    case Function::contains:
      return contains(args[0], args[1]);
    case Function::starts_with:
      return starts_with(args[0], args[1]);
    case Function::ends_with:
      return ends_with(args[0], args[1]);
    case Function::format:
      return format(args);
    case Function::join:
      return join(args);
    case Function::to_json:
      return text(json_text(args[0].get(), 2));
    case Function::from_json:
      return from_json(args[0]);
    case Function::success:
      return boolean(flags.success);
    case Function::failure:
      return boolean(flags.failure);
    case Function::always:
      return boolean(true);
    case Function::cancelled:
      return boolean(flags.cancelled);
  }
  return boolean(false);
}

}  // namespace wfo::expr
