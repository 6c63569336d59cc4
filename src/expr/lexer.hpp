#pragma once
// The tokens of one expression (internal to src/expr). Offsets are bytes into the source.

#include <cstddef>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/workflow.hpp"

namespace wfo::expr {

enum class TokenKind {
  lparen,
  rparen,
  lbracket,
  rbracket,
  comma,
  dot,
  bang,
  bang_equal,
  equal_equal,
  less,
  less_equal,
  greater,
  greater_equal,
  and_and,
  or_or,
  number,
  string,
  identifier,  ///< a context or function name
  property,    ///< a name right after '.'; may start with a digit, as task ids may
  true_kw,
  false_kw,
  null_kw,
  end,
};

struct Token {
  TokenKind kind = TokenKind::end;
  size_t offset = 0;        ///< where the token starts in the source
  std::string_view lexeme;  ///< the token as written; a view into the source
  std::string text;         ///< string: the value without quotes; identifier/property: the name
  double number = 0;        ///< number: the value
};

/// A syntax error: its message and the byte offset of the offending token in the source.
struct SyntaxError {
  std::string message;
  size_t offset = 0;
};

/// Splits `source` into tokens; the last is TokenKind::end at `source.size()`. Errors: an
/// unterminated string, an invalid number, a character that starts no token.
std::expected<std::vector<Token>, SyntaxError> tokenize(std::string_view source);

/// How a token is named in messages: its lexeme, quoted and cut at 40 bytes.
std::string describe(const Token& token);

/// The place of byte `offset` of `text`, which starts in the file at `base`: a newline in the
/// text advances the line and restarts the column at 1. An unknown `base` (line 0) stays unknown.
Mark mark_at(std::string_view text, size_t offset, Mark base);

/// As mark_at, for `text` that starts at byte `start` of a folded block's text whose lines
/// after the first begin at `folded` (Template::folded_lines): from the line `offset` is on.
Mark mark_at(std::string_view text, size_t offset, Mark base, std::span<const FoldedLine> folded,
             size_t start);

}  // namespace wfo::expr
