// Conversions between values after GitHub Actions' expression rules, which follow JavaScript:
// strings become numbers as Number() reads them, numbers print as Number#toString() does.
// Number parsing validates its input before calling std::from_chars, so no text reaches a
// conversion that could overflow or read out of bounds.

#include "expr/coerce.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace wfo::expr {

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr double k_inf = std::numeric_limits<double>::infinity();

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view trim_ascii(std::string_view s) {
  constexpr std::string_view k_space = " \t\n\v\f\r";
  const size_t first = s.find_first_not_of(k_space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(k_space) - first + 1);
}

size_t count_digits(std::string_view s, size_t from) {
  size_t i = from;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i - from;
}

/// True for digits [. digits] | . digits, then an optional exponent; no sign.
bool is_decimal(std::string_view s) {
  size_t i = count_digits(s, 0);
  size_t digits = i;
  if (i < s.size() && s[i] == '.') {
    const size_t fraction = count_digits(s, i + 1);
    digits += fraction;
    i += 1 + fraction;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t exponent = count_digits(s, i);
    if (exponent == 0) return false;
    i += exponent;
  }
  return i == s.size();
}

/// For a valid decimal that from_chars found out of range: true when it is too large (rather
/// than too small). Compares the position of the first significant digit plus the exponent.
bool decimal_overflows(std::string_view s) {
  long magnitude = 0;
  size_t i = 0;
  while (i < s.size() && s[i] == '0') ++i;
  const size_t integer_digits = count_digits(s, i);
  if (integer_digits > 0) {
    magnitude = static_cast<long>(std::min<size_t>(integer_digits, 1'000'000));
  } else if (i < s.size() && s[i] == '.') {
    size_t zeros = 0;
    while (i + 1 + zeros < s.size() && s[i + 1 + zeros] == '0') ++zeros;
    magnitude = -static_cast<long>(std::min<size_t>(zeros, 1'000'000));
  }
  const size_t e = s.find_first_of("eE");
  long exponent = 0;
  if (e != std::string_view::npos) {
    size_t j = e + 1;
    const bool negative = j < s.size() && s[j] == '-';
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    for (; j < s.size() && exponent < 10'000'000; ++j) exponent = exponent * 10 + (s[j] - '0');
    if (negative) exponent = -exponent;
  }
  return magnitude + exponent > 0;
}

int digit_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

/// Digits of `radix` after a 0x/0o/0b prefix, accumulated in a double as JavaScript does.
double parse_radix(std::string_view digits, int radix) {
  if (digits.empty()) return k_nan;
  double value = 0;
  for (char c : digits) {
    const int d = digit_value(c);
    if (d >= radix) return k_nan;
    value = value * radix + d;
  }
  return value;
}

int radix_of(std::string_view s) {
  if (s.size() < 2 || s[0] != '0') return 0;
  switch (s[1]) {
    case 'x':
    case 'X':
      return 16;
    case 'o':
    case 'O':
      return 8;
    case 'b':
    case 'B':
      return 2;
    default:
      return 0;
  }
}

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

std::strong_ordering compare_ignoring_case(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(upper(a[i]));
    const auto y = static_cast<unsigned char>(upper(b[i]));
    if (x != y) return x <=> y;
  }
  return a.size() <=> b.size();
}

enum class Kind { null, boolean, number, string, array, object };

Kind kind_of(const Value& v) {
  switch (v.type()) {
    case Value::value_t::boolean:
      return Kind::boolean;
    case Value::value_t::number_integer:
    case Value::value_t::number_unsigned:
    case Value::value_t::number_float:
      return Kind::number;
    case Value::value_t::string:
      return Kind::string;
    case Value::value_t::array:
      return Kind::array;
    case Value::value_t::object:
      return Kind::object;
    default:
      return Kind::null;
  }
}

std::partial_ordering compare_same_kind(Kind kind, const Value& a, const Value* a_id,
                                        const Value& b, const Value* b_id) {
  switch (kind) {
    case Kind::null:
      return std::partial_ordering::equivalent;
    case Kind::boolean:
      return a.get<bool>() <=> b.get<bool>();
    case Kind::number:
      return to_number(a) <=> to_number(b);
    case Kind::string:
      return compare_ignoring_case(a.get_ref<const std::string&>(),
                                   b.get_ref<const std::string&>());
    default:
      return a_id != nullptr && a_id == b_id ? std::partial_ordering::equivalent
                                             : std::partial_ordering::unordered;
  }
}

/// A copy of `v` whose integral doubles are integers, so that JSON shows 3 and not 3.0.
Value with_integers(const Value& v, int depth) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9e18)
      return Value(static_cast<std::int64_t>(d));
    return v;
  }
  if (depth > 512 || !(v.is_array() || v.is_object())) return v;
  Value out = v.is_array() ? Value::array() : Value::object();
  if (v.is_array()) {
    for (const auto& e : v) out.push_back(with_integers(e, depth + 1));
  } else {
    for (const auto& [key, e] : v.items()) out[key] = with_integers(e, depth + 1);
  }
  return out;
}

}  // namespace

bool is_primitive(const Value& v) {
  return !(v.is_array() || v.is_object());
}

double to_number(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
      return 0;
    case Value::value_t::boolean:
      return v.get<bool>() ? 1 : 0;
    case Value::value_t::number_integer:
    case Value::value_t::number_unsigned:
    case Value::value_t::number_float:
      return v.get<double>();
    case Value::value_t::string:
      return parse_number(v.get_ref<const std::string&>());
    default:
      return k_nan;
  }
}

double parse_number(std::string_view text) {
  text = trim_ascii(text);
  if (text.empty()) return 0;
  if (const int radix = radix_of(text)) return parse_radix(text.substr(2), radix);
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  double value = 0;
  if (text == "Infinity") {
    value = k_inf;
  } else if (!is_decimal(text)) {
    return k_nan;
  } else {
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec == std::errc::result_out_of_range) {
      value = decimal_overflows(text) ? k_inf : 0.0;
    } else if (ec != std::errc() || ptr != end) {
      return k_nan;
    }
  }
  return negative ? -value : value;
}

std::string format_number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view s(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
  std::string out;
  if (!s.empty() && s[0] == '-') {
    out = "-";
    s.remove_prefix(1);
  }
  const size_t e = s.find('e');
  if (e == std::string_view::npos || e == 0) return out + std::string(s);
  std::string digits(1, s[0]);
  if (e > 2) digits += s.substr(2, e - 2);
  const int exponent = std::atoi(std::string(s.substr(e + 1)).c_str());
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // the decimal point sits after n digits
  if (k <= n && n <= 21) return out + digits + std::string(n - k, '0');
  if (0 < n && n <= 21) return out + digits.substr(0, n) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return out + "0." + std::string(-n, '0') + digits;
  out += digits.substr(0, 1);
  if (k > 1) out += "." + digits.substr(1);
  return out + (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
}

std::string upper_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

std::partial_ordering loose_compare(const Value& a, const Value* a_id, const Value& b,
                                    const Value* b_id) {
  const Kind ka = kind_of(a);
  const Kind kb = kind_of(b);
  if (ka == kb) return compare_same_kind(ka, a, a_id, b, b_id);
  if (!is_primitive(a) || !is_primitive(b)) return std::partial_ordering::unordered;
  return to_number(a) <=> to_number(b);
}

std::string json_text(const Value& v, int indent) {
  return with_integers(v, 0).dump(indent, ' ', false, Value::error_handler_t::replace);
}

const Value* find_member(const Value& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  if (const auto it = object.find(key); it != object.end()) return &*it;
  for (const auto& [name, member] : object.items())
    if (compare_ignoring_case(name, key) == 0) return &member;
  return nullptr;
}

std::string to_display_string(const Value& v) {
  switch (v.type()) {
    case Value::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Value::value_t::number_integer:
      return std::to_string(v.get<std::int64_t>());
    case Value::value_t::number_unsigned:
      return std::to_string(v.get<std::uint64_t>());
    case Value::value_t::number_float:
      return format_number(v.get<double>());
    case Value::value_t::string:
      return v.get<std::string>();
    case Value::value_t::array:
    case Value::value_t::object:
      return json_text(v, -1);
    default:
      return "";
  }
}

bool truthy(const Value& v) {
  switch (v.type()) {
    case Value::value_t::boolean:
      return v.get<bool>();
    case Value::value_t::number_integer:
      return v.get<std::int64_t>() != 0;
    case Value::value_t::number_unsigned:
      return v.get<std::uint64_t>() != 0;
    case Value::value_t::number_float: {
      const double d = v.get<double>();
      return !(d == 0 || std::isnan(d));
    }
    case Value::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    case Value::value_t::null:
      return false;
    default:
      return true;
  }
}

}  // namespace wfo::expr
