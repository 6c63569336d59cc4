#pragma once
// Typed, located access to a YNode tree: every getter either returns the value or an Error
// pointing at the offending node, worded for the person who wrote the file.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loader/yaml_tree.hpp"
#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo::loader {

/// Returns `s` in single quotes, as messages name things: `'build'`.
inline std::string quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

/// How the keys of a name -> value mapping must look.
enum class NameRule {
  id,       ///< letters, digits, '_' and '-' (task ids, params, inputs)
  env_var,  ///< letters, digits and '_', not starting with a digit
};

/// Builds errors located in one file and reads scalars, lists and maps with type checks.
/// `key` arguments name the value in messages: `'max_attempts' must be an integer`.
class Reader {
 public:
  /// `text`: the file's text, which must outlive the Reader (read for folded blocks only).
  explicit Reader(std::string file, std::string_view text = {})
      : m_file(std::move(file)), m_text(text) {}

  const std::string& file() const { return m_file; }

  /// Returns an invalid_workflow error at `at` (no line when `at` is unknown).
  std::unexpected<Error> fail(Mark at, std::string message, std::string hint = {}) const;

  /// Any scalar, as its text (`3`, `true` and `"x"` alike). Errors: a list, map or null.
  Result<std::string> text(const YNode& v, std::string_view key) const;
  /// As text(), keeping the scalar's mark for `${{ }}` diagnostics.
  Result<Template> templ(const YNode& v, std::string_view key) const;
  /// The template of scalar `v`: its text and mark, and for a folded block (`>`) where each
  /// of its lines begins in the text (Template::folded_lines), found in the file's text.
  Template scalar_template(const YNode& v) const;
  /// As templ(), and refuses an empty string: `'run' must not be empty`.
  Result<Template> command(const YNode& v, std::string_view key) const;
  /// As text(), and refuses an empty string: `'agent' must not be empty`.
  Result<std::string> word(const YNode& v, std::string_view key) const;
  /// A plain `true` or `false` (also `True`, `TRUE`, `False`, `FALSE`).
  Result<bool> boolean(const YNode& v, std::string_view key) const;
  /// A plain decimal integer in [lo, hi]: `'max_attempts' must be between 1 and 100, got -1`.
  Result<long long> integer(const YNode& v, std::string_view key, long long lo, long long hi) const;
  /// A plain decimal number, finite.
  Result<double> number(const YNode& v, std::string_view key) const;
  /// A duration for parse_duration: `invalid duration '5 minutes' for 'timeout'`.
  Result<std::chrono::milliseconds> duration(const YNode& v, std::string_view key) const;
  /// As duration(), and refuses 0: a limit of nothing cannot be met.
  Result<std::chrono::milliseconds> timeout(const YNode& v, std::string_view key) const;
  /// A list of scalars as text: `'<key>' must be a list of <items>` otherwise.
  Result<std::vector<std::string>> text_list(const YNode& v, std::string_view key,
                                             std::string_view items) const;
  /// A regular expression (util/regex.hpp), compiled once here for every attempt that
  /// checks it: `invalid regular expression '(a' for 'pattern': missing ): (a`, with a hint
  /// on the syntax, otherwise.
  Result<Regex> pattern(const YNode& v, std::string_view key) const;
  /// A list of them: `'<key>' must be a list of regular expressions` when not a list.
  Result<std::vector<Regex>> pattern_list(const YNode& v, std::string_view key) const;
  /// Accepts a mapping or null (an empty mapping); otherwise fails with `message`.
  Result<void> mapping(const YNode& v, std::string message, std::string hint = {}) const;
  /// A mapping of names to scalars, as `env:` and `with:` are written.
  Result<TemplateMap> template_map(const YNode& v, std::string_view key, NameRule rule) const;
  /// Checks a name key: `invalid task id 'a b': use letters, digits, '_' and '-'`.
  Result<void> name(const YNode& key, std::string_view what) const;
  /// Returns the index in `choices` of the scalar `v`: `invalid backoff 'expo': use fixed,
  /// linear or exponential` otherwise.
  Result<size_t> choice(const YNode& v, std::string_view key,
                        const std::vector<std::string>& choices) const;

 private:
  std::string m_file;
  std::string_view m_text;
  mutable std::vector<uint32_t> m_line_starts;  ///< of m_text, made at the first folded block
};

/// One allowed key of a mapping and how to read its entry.
struct Field {
  std::string_view name;
  std::function<Result<void>(const YEntry&)> read;
};

/// Reads every entry of `map` (a mapping or null) in file order through `fields`; refuses a
/// key not among them: `unknown key 'retires' in task 'build' (did you mean 'retry'?)`, where
/// `where` is `at top level`, `in task 'build'`, `in retry`...
Result<void> read_fields(const Reader& r, const YNode& map, std::string_view where,
                         const std::vector<Field>& fields);

/// Returns the entry of `map` whose key is `key`, or nullptr.
const YEntry* find_entry(const YNode& map, std::string_view key);

/// Stores a successful `result` in `target`; passes an error on.
template <typename T, typename U>
Result<void> put(T& target, Result<U> result) {
  if (!result) return std::unexpected(std::move(result.error()));
  target = std::move(*result);
  return {};
}

/// Converts an enumeration read by Reader::choice into its enum value, in choice order.
template <typename E>
Result<void> put_choice(E& target, Result<size_t> index) {
  if (!index) return std::unexpected(std::move(index.error()));
  target = static_cast<E>(*index);
  return {};
}

}  // namespace wfo::loader
