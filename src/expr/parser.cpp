// A recursive-descent parser of `${{ }}` expressions, after GitHub's (actions/languageservices).
// Precedence, loosest first: ||, &&, == !=, < <= > >=, !, then [ ] and . on a context, a call
// or a parenthesised expression. Function names and arities and context names are checked
// here, so a workflow is refused before it runs. Every recursion and every operator applied
// counts against k_max_depth, which bounds the tree's height and so the evaluator's stack.

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "expr/expr.hpp"
#include "expr/functions.hpp"
#include "expr/lexer.hpp"
#include "expr/node.hpp"
#include "util/strings.hpp"

namespace wfo::expr {

namespace {

constexpr std::array<std::string_view, 7> k_contexts{"params", "env", "inputs", "matrix",
                                                     "item",   "run", "tasks"};

using NodePtr = std::unique_ptr<Node>;
using NodeResult = std::expected<NodePtr, SyntaxError>;

/// A reference whose path is still being read, with the byte offset of its context name.
struct PendingReference {
  std::vector<std::string> path;
  size_t offset = 0;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string plural(int n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string arity_message(const FunctionInfo& f, size_t got) {
  std::string takes;
  if (f.max_args < 0) {
    takes = "at least " + plural(f.min_args, "argument");
  } else if (f.min_args == f.max_args) {
    takes = f.min_args == 0 ? "no arguments" : plural(f.min_args, "argument");
  } else {
    takes = std::to_string(f.min_args) + " or " + plural(f.max_args, "argument");
  }
  return "function '" + std::string(f.name) + "' takes " + takes + ", got " + std::to_string(got);
}

NodePtr make_node(NodeKind kind, size_t offset) {
  auto node = std::make_unique<Node>();
  node->kind = kind;
  node->offset = offset;
  return node;
}

/// Raises the parser's depth for as long as it lives.
class DepthGuard {
 public:
  explicit DepthGuard(int& depth) : m_depth(depth) {}
  ~DepthGuard() { m_depth -= m_added; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
  /// Adds a level; false when that exceeds k_max_depth.
  bool add() {
    ++m_depth;
    ++m_added;
    return m_depth <= k_max_depth;
  }

 private:
  int& m_depth;
  int m_added = 0;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : m_tokens(std::move(tokens)) {}

  NodeResult parse() {
    auto root = expression();
    if (root && peek().kind != TokenKind::end) return unexpected_token();
    return root;
  }

  std::vector<PendingReference>& references() { return m_references; }
  bool uses_status() const { return m_uses_status; }

 private:
  const Token& peek() const { return m_tokens[m_pos]; }
  const Token& advance() { return m_tokens[m_pos < m_tokens.size() - 1 ? m_pos++ : m_pos]; }
  bool match(TokenKind kind) {
    if (peek().kind != kind) return false;
    advance();
    return true;
  }

  std::unexpected<SyntaxError> error(std::string message) const {
    return std::unexpected(SyntaxError{std::move(message), peek().offset});
  }
  std::unexpected<SyntaxError> unexpected_token() const {
    if (peek().kind == TokenKind::end) return error("unexpected end of expression");
    return error("unexpected " + describe(peek()) + " in expression");
  }
  std::unexpected<SyntaxError> too_deep() const { return error("expression nested too deeply"); }

  NodeResult expression() {
    DepthGuard guard(m_depth);
    if (!guard.add()) return too_deep();
    return logical(TokenKind::or_or);
  }

  /// `||` over `&&` operands, or `&&` over equality operands; one n-ary node per chain.
  NodeResult logical(TokenKind op) {
    const bool is_or = op == TokenKind::or_or;
    auto first = is_or ? logical(TokenKind::and_and) : binary(Level::equality);
    if (!first || peek().kind != op) return first;
    DepthGuard guard(m_depth);
    if (!guard.add()) return too_deep();
    auto node = make_node(is_or ? NodeKind::logical_or : NodeKind::logical_and, peek().offset);
    node->children.push_back(std::move(*first));
    while (match(op)) {
      auto next = is_or ? logical(TokenKind::and_and) : binary(Level::equality);
      if (!next) return next;
      node->children.push_back(std::move(*next));
    }
    return node;
  }

  /// The two levels of comparison operators, loosest first.
  enum class Level { equality, ordering };

  static std::optional<CompareOp> compare_op(TokenKind kind, Level level) {
    switch (kind) {
      case TokenKind::equal_equal:
        return when(level == Level::equality, CompareOp::equal);
      case TokenKind::bang_equal:
        return when(level == Level::equality, CompareOp::not_equal);
      case TokenKind::less:
        return when(level == Level::ordering, CompareOp::less);
      case TokenKind::less_equal:
        return when(level == Level::ordering, CompareOp::less_equal);
      case TokenKind::greater:
        return when(level == Level::ordering, CompareOp::greater);
      case TokenKind::greater_equal:
        return when(level == Level::ordering, CompareOp::greater_equal);
      default:
        return std::nullopt;
    }
  }
  static std::optional<CompareOp> when(bool applies, CompareOp op) {
    return applies ? std::optional(op) : std::nullopt;
  }

  /// `== !=` over orderings, or `< <= > >=` over unary operands; left-associative.
  NodeResult binary(Level level) {
    const auto operand = [&] {
      return level == Level::equality ? binary(Level::ordering) : unary();
    };
    auto left = operand();
    DepthGuard guard(m_depth);
    while (left) {
      const auto op = compare_op(peek().kind, level);
      if (!op) break;
      if (!guard.add()) return too_deep();
      auto node = make_node(NodeKind::compare, advance().offset);
      node->op = *op;
      auto right = operand();
      if (!right) return right;
      node->children.push_back(std::move(*left));
      node->children.push_back(std::move(*right));
      left = std::move(node);
    }
    return left;
  }

  NodeResult unary() {
    if (peek().kind != TokenKind::bang) return postfix();
    DepthGuard guard(m_depth);
    if (!guard.add()) return too_deep();
    auto node = make_node(NodeKind::logical_not, advance().offset);
    auto operand = unary();
    if (!operand) return operand;
    node->children.push_back(std::move(*operand));
    return node;
  }

  /// A primary and the `.name` and `[index]` after it, when it is a context, a call or a group.
  NodeResult postfix() {
    const TokenKind first = peek().kind;
    const bool is_context =
        first == TokenKind::identifier && m_tokens[m_pos + 1].kind != TokenKind::lparen;
    auto node = primary();
    if (!node || (first != TokenKind::identifier && first != TokenKind::lparen)) return node;
    std::optional<size_t> reference;
    if (is_context) reference = m_references.size() - 1;
    DepthGuard guard(m_depth);
    while (node && (peek().kind == TokenKind::dot || peek().kind == TokenKind::lbracket)) {
      if (!guard.add()) return too_deep();
      node = peek().kind == TokenKind::dot ? property(std::move(*node), reference)
                                           : index(std::move(*node), reference);
    }
    return node;
  }

  NodeResult property(NodePtr base, std::optional<size_t>& reference) {
    advance();  // '.'
    if (peek().kind != TokenKind::property) return unexpected_token();
    const Token& name = advance();
    auto node = make_node(NodeKind::property, name.offset);
    node->name = name.text;
    node->children.push_back(std::move(base));
    if (reference) m_references[*reference].path.push_back(name.text);
    return node;
  }

  NodeResult index(NodePtr base, std::optional<size_t>& reference) {
    const size_t open = advance().offset;  // '['
    auto key = expression();
    if (!key) return key;
    if (!match(TokenKind::rbracket)) return error("expected ']' to close '[' in expression");
    // A literal string keeps the path known; any other index ends it.
    const Node& k = **key;
    if (reference && k.kind == NodeKind::literal && k.literal.is_string()) {
      m_references[*reference].path.push_back(k.literal.get<std::string>());
    } else {
      reference.reset();
    }
    auto node = make_node(NodeKind::index, open);
    node->children.push_back(std::move(base));
    node->children.push_back(std::move(*key));
    return node;
  }

  NodeResult primary() {
    const Token& token = peek();
    switch (token.kind) {
      case TokenKind::number:
        return literal(Value(token.number));
      case TokenKind::string:
        return literal(Value(token.text));
      case TokenKind::true_kw:
        return literal(Value(true));
      case TokenKind::false_kw:
        return literal(Value(false));
      case TokenKind::null_kw:
        return literal(Value(nullptr));
      case TokenKind::lparen:
        return group();
      case TokenKind::identifier:
        return m_tokens[m_pos + 1].kind == TokenKind::lparen ? call() : context();
      default:
        return unexpected_token();
    }
  }

  NodeResult literal(Value value) {
    auto node = make_node(NodeKind::literal, advance().offset);
    node->literal = std::move(value);
    return node;
  }

  NodeResult group() {
    advance();  // '('
    auto inner = expression();
    if (inner && !match(TokenKind::rparen)) return error("expected ')' to close '(' in expression");
    return inner;
  }

  NodeResult context() {
    const Token& name = advance();
    const std::string key = lower(name.text);
    if (std::find(k_contexts.begin(), k_contexts.end(), key) == k_contexts.end())
      return unknown_context(name);
    auto node = make_node(NodeKind::context, name.offset);
    node->name = key;
    m_references.push_back(PendingReference{{key}, name.offset});
    return node;
  }

  std::unexpected<SyntaxError> unknown_context(const Token& name) const {
    std::string message = "unknown context '" + name.text + "'";
    std::string hint;
    if (const FunctionInfo* f = find_function(name.text)) {
      hint = std::string(f->name) + "()";
    } else {
      hint = closest_match(lower(name.text), {k_contexts.begin(), k_contexts.end()});
    }
    if (!hint.empty()) message += " (did you mean '" + hint + "'?)";
    return std::unexpected(SyntaxError{std::move(message), name.offset});
  }

  NodeResult call() {
    const Token& name = advance();
    const FunctionInfo* f = find_function(name.text);
    if (!f) {
      std::string message = "unknown function '" + name.text + "'";
      const std::string hint = closest_match(name.text, function_names());
      if (!hint.empty()) message += " (did you mean '" + hint + "'?)";
      return std::unexpected(SyntaxError{std::move(message), name.offset});
    }
    auto node = make_node(NodeKind::call, name.offset);
    node->function = f->id;
    advance();  // '('
    if (auto args = arguments(*node); !args) return std::unexpected(args.error());
    const auto count = node->children.size();
    const bool too_many = f->max_args >= 0 && count > static_cast<size_t>(f->max_args);
    if (count < static_cast<size_t>(f->min_args) || too_many)
      return std::unexpected(SyntaxError{arity_message(*f, count), name.offset});
    m_uses_status = m_uses_status || is_status_function(f->id);
    return node;
  }

  std::expected<void, SyntaxError> arguments(Node& call) {
    if (match(TokenKind::rparen)) return {};
    for (;;) {
      if (peek().kind == TokenKind::end) return error("expected ')' to close '(' in expression");
      auto arg = expression();
      if (!arg) return std::unexpected(arg.error());
      call.children.push_back(std::move(*arg));
      if (match(TokenKind::rparen)) return {};
      if (peek().kind == TokenKind::end) return error("expected ')' to close '(' in expression");
      if (!match(TokenKind::comma))
        return error("unexpected " + describe(peek()) + " in expression (expected ',' or ')')");
    }
  }

  std::vector<Token> m_tokens;
  size_t m_pos = 0;
  int m_depth = 0;
  std::vector<PendingReference> m_references;
  bool m_uses_status = false;
};

// `folded` and `start`: as mark_at's (Expression::parse).
Error syntax_error(std::string message, std::string_view source, size_t offset, Mark mark,
                   std::span<const FoldedLine> folded = {}, size_t start = 0) {
  const Mark at = mark_at(source, offset, mark, folded, start);
  return Error{ErrorKind::invalid_workflow, std::move(message), "", at.line, at.column, ""};
}

}  // namespace

Result<Expression> Expression::parse(std::string_view source, Mark mark,
                                     std::span<const FoldedLine> folded, size_t start) {
  if (source.size() > k_max_source_bytes)
    return std::unexpected(syntax_error("expression too long", source, 0, mark));
  auto tokens = tokenize(source);
  if (!tokens)
    return std::unexpected(
        syntax_error(tokens.error().message, source, tokens.error().offset, mark, folded, start));
  if (tokens->size() == 1)
    return std::unexpected(syntax_error("empty expression", source, 0, mark));
  Parser parser(std::move(*tokens));
  auto root = parser.parse();
  if (!root)
    return std::unexpected(
        syntax_error(root.error().message, source, root.error().offset, mark, folded, start));
  Expression out;
  out.m_root = std::shared_ptr<const Node>(std::move(*root));
  out.m_uses_status = parser.uses_status();
  out.m_source = std::string(source);
  out.m_mark = mark;
  for (auto& r : parser.references())
    out.m_references.push_back(
        Reference{std::move(r.path), mark_at(source, r.offset, mark, folded, start)});
  return out;
}

const std::vector<Reference>& Expression::references() const {
  return m_references;
}

bool Expression::uses_status_function() const {
  return m_uses_status;
}

const std::string& Expression::source() const {
  return m_source;
}

}  // namespace wfo::expr
