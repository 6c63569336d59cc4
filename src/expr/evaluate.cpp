// The evaluator: walks the syntax tree (whose height the parser bounds) and borrows from the
// context wherever it can, so that reading `tasks` copies nothing and a borrowed array or
// object keeps the identity GitHub's reference comparison needs. `&&` and `||` stop at the
// first operand that decides them and return that operand, as GitHub does.

#include <cmath>

#include "expr/coerce.hpp"
#include "expr/functions.hpp"
#include "expr/lexer.hpp"
#include "expr/node.hpp"

namespace wfo::expr {

namespace {

const Value k_null;

/// Why evaluation failed, and the byte offset of the node that failed.
struct Failure {
  std::string reason;
  size_t offset = 0;
};

using Eval = std::expected<Val, Failure>;

bool holds(CompareOp op, std::partial_ordering order) {
  switch (op) {
    case CompareOp::equal:
      return order == 0;
    case CompareOp::not_equal:
      return order != 0;
    case CompareOp::less:
      return order < 0;
    case CompareOp::less_equal:
      return order <= 0;
    case CompareOp::greater:
      return order > 0;
    case CompareOp::greater_equal:
      return order >= 0;
  }
  return false;
}

/// `base[key]`: an array takes a non-negative number (floored); an object takes a primitive
/// as its string. Anything else, or a miss, is null.
Val index_value(const Val& base, const Value& key) {
  const Value& b = base.get();
  if (b.is_array()) {
    const double d = to_number(key);
    if (!(d >= 0 && d < static_cast<double>(b.size()))) return Val::borrow(k_null);
    return base.child(b[static_cast<size_t>(std::floor(d))]);
  }
  if (!b.is_object() || !is_primitive(key)) return Val::borrow(k_null);
  const Value* member = find_member(b, to_display_string(key));
  return member ? base.child(*member) : Val::borrow(k_null);
}

class Evaluator {
 public:
  Evaluator(const Value& context, const StatusFlags& flags) : m_context(context), m_flags(flags) {}

  Eval eval(const Node& node) const {
    switch (node.kind) {
      case NodeKind::literal:
        return Val::borrow(node.literal);
      case NodeKind::context:
        return member(Val::borrow(m_context), node.name);
      case NodeKind::property: {
        auto base = eval(*node.children[0]);
        if (!base) return base;
        return member(*base, node.name);
      }
      case NodeKind::index:
        return index(node);
      case NodeKind::logical_not: {
        auto operand = eval(*node.children[0]);
        if (!operand) return operand;
        return Val::own(Value(!truthy(operand->get())));
      }
      case NodeKind::logical_and:
      case NodeKind::logical_or:
        return logical(node);
      case NodeKind::compare:
        return compare(node);
      case NodeKind::call:
        return call(node);
    }
    return Val::borrow(k_null);
  }

 private:
  static Val member(const Val& base, const std::string& name) {
    const Value* found = find_member(base.get(), name);
    return found ? base.child(*found) : Val::borrow(k_null);
  }

  Eval index(const Node& node) const {
    auto base = eval(*node.children[0]);
    if (!base) return base;
    auto key = eval(*node.children[1]);
    if (!key) return key;
    return index_value(*base, key->get());
  }

  Eval logical(const Node& node) const {
    const bool is_and = node.kind == NodeKind::logical_and;
    Eval result = Val::borrow(k_null);
    for (const auto& child : node.children) {
      result = eval(*child);
      if (!result || truthy(result->get()) != is_and) break;
    }
    return result;
  }

  Eval compare(const Node& node) const {
    auto left = eval(*node.children[0]);
    if (!left) return left;
    auto right = eval(*node.children[1]);
    if (!right) return right;
    const auto order =
        loose_compare(left->get(), left->identity(), right->get(), right->identity());
    return Val::own(Value(holds(node.op, order)));
  }

  Eval call(const Node& node) const {
    std::vector<Val> args;
    args.reserve(node.children.size());
    for (const auto& child : node.children) {
      auto arg = eval(*child);
      if (!arg) return arg;
      args.push_back(std::move(*arg));
    }
    auto result = call_function(node.function, args, m_flags);
    if (!result) return std::unexpected(Failure{std::move(result.error()), node.offset});
    return std::move(*result);
  }

  const Value& m_context;
  const StatusFlags& m_flags;
};

/// The source for a message: trimmed, on one line, cut at 80 bytes.
std::string quoted_source(std::string_view source) {
  const size_t first = source.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "''";
  source = source.substr(first, source.find_last_not_of(" \t\r\n") - first + 1);
  std::string out(source.substr(0, 80));
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return "'" + out + (source.size() > 80 ? "...'" : "'");
}

}  // namespace

Result<Value> Expression::evaluate(const Value& context, const StatusFlags& flags) const {
  if (!m_root) return fail(ErrorKind::internal, "evaluating an expression that was not parsed");
  auto result = Evaluator(context, flags).eval(*m_root);
  if (!result) {
    const Mark at = mark_at(m_source, result.error().offset, m_mark);
    return std::unexpected(
        Error{ErrorKind::invalid_workflow,
              "cannot evaluate " + quoted_source(m_source) + ": " + result.error().reason, "",
              at.line, at.column, ""});
  }
  return result->get();
}

}  // namespace wfo::expr
