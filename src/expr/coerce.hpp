#pragma once
// Conversions and comparisons between values, after GitHub Actions' rules (internal).

#include <compare>
#include <string>
#include <string_view>

#include "expr/expr.hpp"

namespace wfo::expr {

/// A value during evaluation: borrowed (from the context or the syntax tree) or owned. The
/// address of a borrowed array or object is its identity: GitHub compares arrays and objects
/// by reference, so two reads of the same context value are equal and two copies are not.
class Val {
 public:
  static Val borrow(const Value& v) {
    Val out;
    out.m_ref = &v;
    return out;
  }
  static Val own(Value v) {
    Val out;
    out.m_own = std::move(v);
    return out;
  }
  const Value& get() const { return m_ref ? *m_ref : m_own; }
  /// The identity of a borrowed value; nullptr for an owned one (it equals nothing else).
  const Value* identity() const { return m_ref; }
  /// A member `child` of this value: borrowed when this is, else a copy.
  Val child(const Value& member) const { return m_ref ? borrow(member) : own(member); }

 private:
  const Value* m_ref = nullptr;
  Value m_own;
};

/// True for null, booleans, numbers and strings.
bool is_primitive(const Value& v);

/// GitHub's number conversion: null 0, false 0, true 1, a string as JavaScript's Number()
/// reads it (empty 0, non-numeric NaN), arrays and objects NaN.
double to_number(const Value& v);

/// JavaScript's Number(text): surrounding ASCII whitespace ignored; empty is 0; decimal with
/// optional sign and exponent; 0x, 0o, 0b prefixes; [+-]Infinity; anything else NaN.
double parse_number(std::string_view text);

/// JavaScript's Number.prototype.toString(): shortest round-trip digits; integral values
/// below 1e21 without a decimal point or exponent; NaN, Infinity, -Infinity.
std::string format_number(double d);

/// `s` with ASCII letters upper-cased.
std::string upper_ascii(std::string_view s);

/// Loose comparison: values of different primitive kinds are compared as numbers, strings
/// case-insensitively, arrays and objects are equivalent only when both have the same non-null
/// identity; anything else (NaN, mixed array/object and primitive) is unordered.
std::partial_ordering loose_compare(const Value& a, const Value* a_id, const Value& b,
                                    const Value* b_id);
inline bool loose_equal(const Val& a, const Val& b) {
  return loose_compare(a.get(), a.identity(), b.get(), b.identity()) == 0;
}

/// JSON text of `v`, indented by `indent` spaces (-1: compact); integral doubles are written
/// without a decimal point, invalid UTF-8 is replaced by U+FFFD.
std::string json_text(const Value& v, int indent);

/// The member `key` of object `object`: an exact match, else the first case-insensitive one
/// (GitHub's contexts are case-insensitive). nullptr when absent or `object` is no object.
const Value* find_member(const Value& object, std::string_view key);

}  // namespace wfo::expr
