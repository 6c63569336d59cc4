#pragma once
// `${{ expr }}` expressions (spec: Expressions): a lexer, parser and evaluator of our own,
// pure and without I/O. Types, truthiness and comparisons follow GitHub Actions' documented
// rules; differences are listed in man/wfo-workflow.5.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo::expr {

/// A value: null, bool, number (double), string, array or object.
using Value = nlohmann::json;

/// A statically known property path read by an expression, e.g. {"tasks","design","outputs",
/// "spec_path"} for `tasks.design.outputs.spec_path` or `tasks['design'].outputs.spec_path`.
/// The path stops at the first dynamic index. `mark` is the place of its first token.
struct Reference {
  std::vector<std::string> path;
  Mark mark;
};

/// The results of the status functions for the task being evaluated (spec: `if`).
struct StatusFlags {
  bool success = true;     ///< every need succeeded
  bool failure = false;    ///< some need failed
  bool cancelled = false;  ///< the run is being cancelled
};

struct Node;

/// One parsed expression (the text between `${{` and `}}`). Cheap to copy (shared AST).
class Expression {
 public:
  /// Parses `source`, which starts in the file at `mark` (for error positions). Errors
  /// (ErrorKind::invalid_workflow, with line/column of the offending token): syntax,
  /// unknown function, wrong argument count, unknown context name. `folded` and `start`: for
  /// a source at byte `start` of a folded block's text, where its lines begin
  /// (Template::folded_lines), so that the marks are on the file's lines.
  static Result<Expression> parse(std::string_view source, Mark mark,
                                  std::span<const FoldedLine> folded = {}, size_t start = 0);

  /// Evaluates against `context`, a JSON object with the keys `params`, `env`, `inputs`,
  /// `matrix`, `item`, `run` and `tasks` (each may be absent: reading it gives null, as a
  /// missing property does). Errors (ErrorKind::invalid_workflow, message naming the
  /// expression and the reason): e.g. `fromJSON` of invalid JSON.
  Result<Value> evaluate(const Value& context, const StatusFlags& flags) const;

  /// The property paths this expression reads, in source order.
  const std::vector<Reference>& references() const;
  /// True when the expression calls success(), failure(), always() or cancelled().
  bool uses_status_function() const;
  /// The source text as given to parse().
  const std::string& source() const;

 private:
  std::shared_ptr<const Node> m_root;
  std::vector<Reference> m_references;
  bool m_uses_status = false;
  std::string m_source;
  Mark m_mark;  ///< where the source starts in the file, for evaluation errors
};

/// A string with embedded expressions, split into literal text and expressions.
class ParsedTemplate {
 public:
  struct Part {
    std::string literal;  ///< used when `expression` is empty
    Box<Expression> expression;  ///< boxed: most parts are literal text (util/box.hpp)
  };

  /// Splits `tmpl.text` at each `${{ ... }}` and parses each expression. Errors: an
  /// unterminated `${{`, or any Expression::parse error, with the line/column in the file.
  static Result<ParsedTemplate> parse(const Template& tmpl);

  const std::vector<Part>& parts() const { return m_parts; }
  /// True when there is no expression: rendering returns the text as it is.
  bool is_literal() const;
  /// All references of all expressions.
  std::vector<Reference> references() const;
  bool uses_status_function() const;

  /// Renders to a string: each expression's value as to_display_string gives it.
  Result<std::string> render(const Value& context, const StatusFlags& flags) const;

  /// The template's value: when it is one expression with at most whitespace around it, that
  /// expression's value as it is (e.g. the array of `for_each: ${{ fromJSON(...) }}`);
  /// otherwise the string render() gives. Errors: as Expression::evaluate.
  Result<Value> evaluate(const Value& context, const StatusFlags& flags) const;

  /// The injection-safe rendering for a shell command (spec: Expressions, "never shell
  /// evaluation"): each expression becomes `${WFO_EXPR_<n>}`, numbering from `*next_index`
  /// (which is advanced), and its value goes into `env` as `WFO_EXPR_<n>=value`.
  struct ShellRender {
    std::string script;
    std::vector<std::pair<std::string, std::string>> env;
  };
  Result<ShellRender> render_shell(const Value& context, const StatusFlags& flags,
                                   int* next_index) const;

 private:
  std::vector<Part> m_parts;
};

/// Parses a condition (spec: `if`; also `repeat.until`): either one `${{ expr }}` with at most
/// whitespace around it, or, as GitHub allows, a bare expression without `${{`. Errors: those
/// of ParsedTemplate::parse, and text mixed with `${{ }}` (which GitHub would evaluate as an
/// always-true string): `a condition must be a single expression (...)` at the text's start.
Result<Expression> parse_condition(const Template& tmpl);

/// GitHub Actions' string conversion: null -> "", true/false, integers without a decimal
/// point, other numbers shortest round-trip, arrays and objects as compact JSON.
std::string to_display_string(const Value& v);

/// GitHub Actions' truthiness: false, 0, -0, NaN, "", null are false; everything else true.
bool truthy(const Value& v);

}  // namespace wfo::expr
