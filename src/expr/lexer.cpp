// The lexer of `${{ }}` expressions, after GitHub's (actions/languageservices): a token ends at
// a boundary character ( ( [ ) ] , . ! < > = & | or whitespace ), numbers may start with a sign
// or a dot, and a '.' is a property access only after a name, ']' or ')'. Every token keeps
// its byte offset so that errors point into the workflow file.

#include "expr/lexer.hpp"

#include <algorithm>

#include <cmath>

#include "expr/coerce.hpp"

namespace wfo::expr {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_boundary(char c) {
  return is_space(c) || std::string_view("()[],.!<>=&|").find(c) != std::string_view::npos;
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '_' || c == '-';
}

bool all_name_chars(std::string_view s) {
  for (char c : s)
    if (!is_name_char(c)) return false;
  return !s.empty();
}

bool is_legal_identifier(std::string_view s) {
  return !s.empty() && (is_alpha(s[0]) || s[0] == '_') && all_name_chars(s);
}

std::string cut(std::string_view s) {
  constexpr size_t k_max = 40;
  if (s.size() <= k_max) return std::string(s);
  return std::string(s.substr(0, k_max)) + "...";
}

std::string quote_cut(std::string_view s) {
  return "'" + cut(s) + "'";
}

/// `n` as an int for a Mark, saturated so that adding a column cannot overflow.
int to_int(size_t n) {
  return n > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(n);
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : m_source(source) {}

  std::expected<std::vector<Token>, SyntaxError> run() {
    for (;;) {
      while (m_pos < m_source.size() && is_space(m_source[m_pos])) ++m_pos;
      if (m_pos >= m_source.size()) break;
      if (auto ok = next(); !ok) return std::unexpected(ok.error());
    }
    Token end;
    end.offset = m_source.size();
    m_tokens.push_back(std::move(end));
    return std::move(m_tokens);
  }

 private:
  using Step = std::expected<void, SyntaxError>;

  Step next() {
    const char c = m_source[m_pos];
    if (previous() == TokenKind::dot && !is_boundary(c) && c != '*') return property();
    switch (c) {
      case '(':
        return add(TokenKind::lparen, 1);
      case ')':
        return add(TokenKind::rparen, 1);
      case '[':
        return add(TokenKind::lbracket, 1);
      case ']':
        return add(TokenKind::rbracket, 1);
      case ',':
        return add(TokenKind::comma, 1);
      case '.':
        return after_name() ? add(TokenKind::dot, 1) : number();
      case '!':
        return followed_by('=') ? add(TokenKind::bang_equal, 2) : add(TokenKind::bang, 1);
      case '<':
        return followed_by('=') ? add(TokenKind::less_equal, 2) : add(TokenKind::less, 1);
      case '>':
        return followed_by('=') ? add(TokenKind::greater_equal, 2) : add(TokenKind::greater, 1);
      case '=':
        return doubled(TokenKind::equal_equal, "(use '==' to compare)");
      case '&':
        return doubled(TokenKind::and_and, "(use '&&')");
      case '|':
        return doubled(TokenKind::or_or, "(use '||')");
      case '\'':
        return string();
      case '*':
        return error("unexpected '*' in expression (object filters are not supported)");
      default:
        break;
    }
    if (is_digit(c) || c == '-' || c == '+') return number();
    return identifier();
  }

  TokenKind previous() const { return m_tokens.empty() ? TokenKind::end : m_tokens.back().kind; }

  bool after_name() const {
    const TokenKind p = previous();
    return p == TokenKind::identifier || p == TokenKind::property || p == TokenKind::rbracket ||
           p == TokenKind::rparen;
  }

  bool followed_by(char c) const { return m_pos + 1 < m_source.size() && m_source[m_pos + 1] == c; }

  Step doubled(TokenKind kind, std::string_view hint) {
    if (followed_by(m_source[m_pos])) return add(kind, 2);
    return error("unexpected '" + std::string(1, m_source[m_pos]) + "' in expression " +
                 std::string(hint));
  }

  Step add(TokenKind kind, size_t length, std::string text = {}, double number = 0) {
    Token t;
    t.kind = kind;
    t.offset = m_pos;
    t.lexeme = m_source.substr(m_pos, length);
    t.text = std::move(text);
    t.number = number;
    m_tokens.push_back(std::move(t));
    m_pos += length;
    return {};
  }

  Step error(std::string message) const {
    return std::unexpected(SyntaxError{std::move(message), m_pos});
  }

  /// Whether a '.' ends a word (a name) or not (a number such as 1.5).
  enum class Dot { ends_word, in_word };

  /// The length of the word at m_pos: up to a boundary, or past dots too for a number.
  size_t word_length(Dot dot) const {
    const bool dots = dot == Dot::in_word;
    size_t end = m_pos + 1;
    while (end < m_source.size() && (!is_boundary(m_source[end]) || (dots && m_source[end] == '.')))
      ++end;
    return end - m_pos;
  }

  Step number() {
    const size_t length = word_length(Dot::in_word);
    const std::string_view word = m_source.substr(m_pos, length);
    const double value = parse_number(word);
    if (!std::isnan(value)) return add(TokenKind::number, length, {}, value);
    bool has_digit = false;
    for (char c : word) has_digit = has_digit || is_digit(c);
    return error((has_digit ? "invalid number " : "unexpected ") + quote_cut(word) +
                 " in expression");
  }

  Step identifier() {
    const size_t length = word_length(Dot::ends_word);
    const std::string_view word = m_source.substr(m_pos, length);
    if (!is_legal_identifier(word))
      return error("unexpected " + quote_cut(word) + " in expression");
    if (word == "true") return add(TokenKind::true_kw, length);
    if (word == "false") return add(TokenKind::false_kw, length);
    if (word == "null") return add(TokenKind::null_kw, length);
    if (word == "NaN") return add(TokenKind::number, length, {}, std::nan(""));
    if (word == "Infinity") return add(TokenKind::number, length, {}, HUGE_VAL);
    return add(TokenKind::identifier, length, std::string(word));
  }

  Step property() {
    const size_t length = word_length(Dot::ends_word);
    const std::string_view word = m_source.substr(m_pos, length);
    if (!all_name_chars(word)) return error("unexpected " + quote_cut(word) + " in expression");
    return add(TokenKind::property, length, std::string(word));
  }

  /// A string literal; '' stands for one quote.
  Step string() {
    std::string value;
    size_t i = m_pos + 1;
    for (;;) {
      const size_t quote = m_source.find('\'', i);
      if (quote == std::string_view::npos) return error("unterminated string in expression");
      value.append(m_source.substr(i, quote - i));
      if (quote + 1 < m_source.size() && m_source[quote + 1] == '\'') {
        value += '\'';
        i = quote + 2;
        continue;
      }
      return add(TokenKind::string, quote + 1 - m_pos, std::move(value));
    }
  }

  std::string_view m_source;
  size_t m_pos = 0;
  std::vector<Token> m_tokens;
};

}  // namespace

std::expected<std::vector<Token>, SyntaxError> tokenize(std::string_view source) {
  return Lexer(source).run();
}

std::string describe(const Token& token) {
  if (token.kind == TokenKind::end) return "end of expression";
  if (token.kind == TokenKind::string) return "string " + cut(token.lexeme);
  return quote_cut(token.lexeme);
}

Mark mark_at(std::string_view text, size_t offset, Mark base) {
  if (base.line <= 0) return base;
  if (offset > text.size()) offset = text.size();
  const std::string_view before = text.substr(0, offset);
  const size_t last_newline = before.rfind('\n');
  if (last_newline == std::string_view::npos)
    return Mark{base.line, base.column + to_int(offset), base.indent};
  size_t lines = 0;
  for (char c : before) lines += c == '\n' ? 1 : 0;
  return Mark{base.line + to_int(lines), base.indent + to_int(offset - last_newline), base.indent};
}

Mark mark_at(std::string_view text, size_t offset, Mark base, std::span<const FoldedLine> folded,
             size_t start) {
  if (offset > text.size()) offset = text.size();
  const size_t at = start + offset;
  // The last line that begins at or before `at`, within the text.
  auto after = std::upper_bound(folded.begin(), folded.end(), at,
                                [](size_t o, const FoldedLine& l) { return o < l.offset; });
  if (after == folded.begin() || std::prev(after)->offset < start)
    return mark_at(text, offset, base);
  const FoldedLine& line = *std::prev(after);
  return mark_at(text.substr(line.offset - start), at - line.offset, line.mark);
}

}  // namespace wfo::expr
