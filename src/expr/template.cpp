// Templates: text with `${{ expr }}` substitutions. An expression ends at the first `}}` that
// is outside a string literal, so `${{ '}}' }}` is one expression. Each expression is parsed
// with the place in the file where its text starts, so its errors point into the file.
// render_shell never puts a value into the script: only `${WFO_EXPR_<n>}` goes there, and the
// value travels in the environment, where the shell does not evaluate it.

#include <algorithm>
#include <climits>
#include <optional>

#include "expr/expr.hpp"
#include "expr/lexer.hpp"

namespace wfo::expr {

namespace {

constexpr std::string_view k_open = "${{";
constexpr std::string_view k_close = "}}";

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

/// The offset of the `}}` that ends the expression starting at `from`, or nothing.
std::optional<size_t> find_close(std::string_view text, size_t from) {
  bool in_string = false;
  for (size_t i = from; i < text.size(); ++i) {
    if (text[i] == '\'') {
      in_string = !in_string;  // '' inside a string toggles twice
    } else if (!in_string && text.substr(i, k_close.size()) == k_close) {
      return i;
    }
  }
  return std::nullopt;
}

// The file's place of byte `offset` of `tmpl`'s text.
Mark template_mark(const Template& tmpl, size_t offset) {
  return mark_at(tmpl.text, offset, tmpl.mark, tmpl.folded_lines.items(), 0);
}

std::unexpected<Error> error_at(std::string message, const Template& tmpl, size_t offset) {
  const Mark at = template_mark(tmpl, offset);
  return std::unexpected(
      Error{ErrorKind::invalid_workflow, std::move(message), "", at.line, at.column, ""});
}

}  // namespace

Result<ParsedTemplate> ParsedTemplate::parse(const Template& tmpl) {
  ParsedTemplate out;
  const std::string_view text = tmpl.text;
  const auto add_literal = [&](std::string_view literal) {
    if (!literal.empty()) out.m_parts.push_back(Part{std::string(literal), std::nullopt});
  };
  // Expressions come in order, so each one's mark is found by reading on from the last
  // (mark_at composes): O(length) for the whole template, not per expression.
  size_t marked = 0;
  Mark marked_at = tmpl.mark;
  size_t pos = 0;
  for (;;) {
    const size_t open = text.find(k_open, pos);
    if (open == std::string_view::npos) break;
    add_literal(text.substr(pos, open - pos));
    const size_t begin = open + k_open.size();
    const auto close = find_close(text, begin);
    if (!close) return error_at("unterminated '${{' (close it with '}}')", tmpl, open);
    const std::string_view source = text.substr(begin, *close - begin);
    if (is_blank(source)) return error_at("empty expression", tmpl, open);
    if (tmpl.folded_lines.empty()) {
      marked_at = mark_at(text.substr(marked), begin - marked, marked_at);
      marked = begin;
    } else {
      marked_at = template_mark(tmpl, begin);
    }
    auto expression = Expression::parse(source, marked_at, tmpl.folded_lines.items(), begin);
    if (!expression) return std::unexpected(std::move(expression.error()));
    out.m_parts.push_back(Part{"", std::move(*expression)});
    pos = *close + k_close.size();
  }
  add_literal(text.substr(pos));
  return out;
}

bool ParsedTemplate::is_literal() const {
  for (const auto& part : m_parts)
    if (part.expression) return false;
  return true;
}

std::vector<Reference> ParsedTemplate::references() const {
  std::vector<Reference> out;
  for (const auto& part : m_parts) {
    if (!part.expression) continue;
    const auto& refs = part.expression->references();
    out.insert(out.end(), refs.begin(), refs.end());
  }
  return out;
}

bool ParsedTemplate::uses_status_function() const {
  for (const auto& part : m_parts)
    if (part.expression && part.expression->uses_status_function()) return true;
  return false;
}

Result<std::string> ParsedTemplate::render(const Value& context, const StatusFlags& flags) const {
  std::string out;
  for (const auto& part : m_parts) {
    if (!part.expression) {
      out += part.literal;
      continue;
    }
    auto value = part.expression->evaluate(context, flags);
    if (!value) return std::unexpected(std::move(value.error()));
    out += to_display_string(*value);
  }
  return out;
}

Result<Value> ParsedTemplate::evaluate(const Value& context, const StatusFlags& flags) const {
  const Expression* sole = nullptr;
  for (const auto& part : m_parts) {
    if (part.expression) {
      if (sole) return render(context, flags);
      sole = &*part.expression;
    } else if (!is_blank(part.literal)) {
      return render(context, flags);
    }
  }
  if (!sole) return render(context, flags);
  return sole->evaluate(context, flags);
}

Result<ParsedTemplate::ShellRender> ParsedTemplate::render_shell(const Value& context,
                                                                 const StatusFlags& flags,
                                                                 int* next_index) const {
  ShellRender out;
  long long index = next_index ? *next_index : 1;  // wide: no overflow at INT_MAX
  for (const auto& part : m_parts) {
    if (!part.expression) {
      out.script += part.literal;
      continue;
    }
    auto value = part.expression->evaluate(context, flags);
    if (!value) return std::unexpected(std::move(value.error()));
    std::string name = "WFO_EXPR_" + std::to_string(index++);
    out.script += "${" + name + "}";
    out.env.emplace_back(std::move(name), to_display_string(*value));
  }
  if (next_index) *next_index = static_cast<int>(std::min<long long>(index, INT_MAX));
  return out;
}

Result<Expression> parse_condition(const Template& tmpl) {
  if (tmpl.text.find(k_open) == std::string::npos)
    return Expression::parse(tmpl.text, tmpl.mark, tmpl.folded_lines.items(), 0);
  auto parsed = ParsedTemplate::parse(tmpl);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const Expression* sole = nullptr;
  bool single = true;
  for (const auto& part : parsed->parts()) {
    if (part.expression) {
      single = single && !sole;
      sole = &*part.expression;
    } else {
      single = single && is_blank(part.literal);
    }
  }
  if (!single || !sole)
    return error_at(
        "a condition must be a single expression (write '${{ a && b }}', not "
        "'${{ a }} && ${{ b }}')",
        tmpl, 0);
  return *sole;
}

}  // namespace wfo::expr
