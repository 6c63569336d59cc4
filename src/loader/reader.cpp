// Typed getters over the YNode tree. Each error points at the value that is wrong (or, for a
// value left empty, at its key: the tree builder moves such marks there) and says what would
// be right. Types follow YAML's core schema strictly: `"3"` is a string, not an integer.

#include "loader/reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

#include "util/duration.hpp"
#include "util/regex.hpp"
#include "util/strings.hpp"

namespace wfo::loader {

namespace {

constexpr const char* k_duration_hint = "write durations like 500ms, 30s, 5m or 1h30m";

/// Joins `words` as `a, b or c`.
std::string one_of(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

bool is_decimal_integer(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool is_env_var_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

/// Words other tools use for a key, and the key wfo uses for them; a mapping offers the
/// first of its keys that is listed.
struct KeyAlias {
  std::string_view word;
  std::vector<std::string_view> keys;
};

const std::vector<KeyAlias>& key_aliases() {
  static const std::vector<KeyAlias> k_aliases = {
      {"retries", {"retry", "max_attempts"}},
      {"attempts", {"max_attempts"}},
      {"depends_on", {"needs"}},
      {"dependencies", {"needs"}},
      {"requires", {"needs"}},
      {"command", {"run"}},
      {"script", {"run"}},
      {"cwd", {"workdir"}},
      {"working_directory", {"workdir"}},
      {"environment", {"env"}},
      {"condition", {"if"}},
      {"parameters", {"params"}},
      {"concurrency", {"max_parallel"}},
      {"parallelism", {"max_parallel"}},
      {"strategy", {"matrix"}},
  };
  return k_aliases;
}

/// Returns the allowed key that `word` most likely means, or empty: a close spelling first,
/// else a close spelling of another tool's word for one of `names`.
std::string suggest_key(std::string_view word, const std::vector<std::string>& names) {
  std::string match = closest_match(word, names);
  if (!match.empty()) return match;
  std::vector<std::string> words;
  for (const auto& alias : key_aliases()) words.emplace_back(alias.word);
  std::string alias = closest_match(word, words);
  for (const auto& a : key_aliases()) {
    if (a.word != alias) continue;
    for (std::string_view key : a.keys)
      if (std::find(names.begin(), names.end(), key) != names.end()) return std::string(key);
  }
  return {};
}

}  // namespace

std::unexpected<Error> Reader::fail(Mark at, std::string message, std::string hint) const {
  return std::unexpected(Error{ErrorKind::invalid_workflow, std::move(message), m_file, at.line,
                               at.column, std::move(hint)});
}

Result<std::string> Reader::text(const YNode& v, std::string_view key) const {
  if (!v.is_scalar()) return fail(v.mark, quote(key) + " must be a string");
  return v.value;
}

Result<Template> Reader::templ(const YNode& v, std::string_view key) const {
  if (!v.is_scalar()) return fail(v.mark, quote(key) + " must be a string");
  return scalar_template(v);
}

Template Reader::scalar_template(const YNode& v) const {
  Template t{v.value, v.mark};
  if (!v.folded || m_text.empty() || v.mark.line < 1) return t;
  if (m_line_starts.empty()) {
    m_line_starts.push_back(0);
    for (size_t i = 0; i < m_text.size(); ++i)
      if (m_text[i] == '\n') m_line_starts.push_back(static_cast<uint32_t>(i + 1));
  }
  // Each line of the block (indented at least as its first; blank ones are line breaks
  // only) is in the text as written, after the one before: the first such place is it.
  const auto indent = static_cast<size_t>(v.mark.indent);
  std::vector<FoldedLine> lines;
  size_t pos = 0;
  for (size_t line = static_cast<size_t>(v.mark.line); line <= m_line_starts.size(); ++line) {
    size_t begin = m_line_starts[line - 1];
    size_t end = m_text.find('\n', begin);
    std::string_view row =
        m_text.substr(begin, (end == std::string_view::npos ? m_text.size() : end) - begin);
    if (row.ends_with('\r')) row.remove_suffix(1);
    size_t spaces = row.find_first_not_of(' ');
    if (spaces == std::string_view::npos) continue;  // blank
    if (spaces < indent) break;                      // the block has ended
    std::string_view content = row.substr(indent);
    size_t at = v.value.find(content, pos);
    if (at == std::string::npos) break;
    if (line > static_cast<size_t>(v.mark.line))
      lines.push_back(FoldedLine{at, Mark{static_cast<int>(line), static_cast<int>(indent) + 1,
                                          static_cast<int>(indent)}});
    pos = at + content.size();
  }
  t.folded_lines = std::move(lines);
  return t;
}

Result<Template> Reader::command(const YNode& v, std::string_view key) const {
  auto t = templ(v, key);
  if (t && t->text.empty()) return fail(v.mark, quote(key) + " must not be empty");
  return t;
}

Result<std::string> Reader::word(const YNode& v, std::string_view key) const {
  auto t = text(v, key);
  if (t && t->empty()) return fail(v.mark, quote(key) + " must not be empty");
  return t;
}

Result<bool> Reader::boolean(const YNode& v, std::string_view key) const {
  if (v.is_scalar() && v.plain) {
    if (v.value == "true" || v.value == "True" || v.value == "TRUE") return true;
    if (v.value == "false" || v.value == "False" || v.value == "FALSE") return false;
  }
  return fail(v.mark, quote(key) + " must be true or false");
}

Result<long long> Reader::integer(const YNode& v, std::string_view key, long long lo,
                                  long long hi) const {
  if (!v.is_scalar() || !v.plain || !is_decimal_integer(v.value))
    return fail(v.mark, quote(key) + " must be an integer");
  std::string_view s = v.value;
  if (s[0] == '+') s.remove_prefix(1);
  long long n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size() || n < lo || n > hi)
    return fail(v.mark, quote(key) + " must be between " + std::to_string(lo) + " and " +
                            std::to_string(hi) + ", got " + v.value);
  return n;
}

Result<double> Reader::number(const YNode& v, std::string_view key) const {
  if (v.is_scalar() && v.plain && !v.value.empty()) {
    std::string_view s = v.value;
    if (s[0] == '+') s.remove_prefix(1);
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    bool digits = s.find_first_of("0123456789") != std::string_view::npos;
    if (ec == std::errc{} && end == s.data() + s.size() && digits && std::isfinite(d)) return d;
  }
  return fail(v.mark, quote(key) + " must be a number");
}

Result<std::chrono::milliseconds> Reader::duration(const YNode& v, std::string_view key) const {
  if (!v.is_scalar()) return fail(v.mark, quote(key) + " must be a duration", k_duration_hint);
  auto d = parse_duration(v.value);
  if (!d)
    return fail(v.mark, "invalid duration " + quote(v.value) + " for " + quote(key),
                k_duration_hint);
  return *d;
}

Result<std::chrono::milliseconds> Reader::timeout(const YNode& v, std::string_view key) const {
  auto d = duration(v, key);
  if (d && d->count() == 0)
    return fail(v.mark, quote(key) + " must be longer than 0",
                "leave out " + quote(key) + " for no limit");
  return d;
}

Result<std::vector<std::string>> Reader::text_list(const YNode& v, std::string_view key,
                                                   std::string_view items) const {
  std::string message = quote(key) + " must be a list of " + std::string(items);
  if (!v.is_sequence()) return fail(v.mark, message);
  std::vector<std::string> out;
  for (const auto& item : v.items) {
    if (!item.is_scalar()) return fail(item.mark, message);
    out.push_back(item.value);
  }
  return out;
}

Result<Regex> Reader::pattern(const YNode& v, std::string_view key) const {
  auto t = text(v, key);
  if (!t) return std::unexpected(t.error());
  auto re = Regex::compile(*t);
  if (!re) {
    // "invalid regular expression 'P': WHY" -> "invalid regular expression 'P' for 'KEY': WHY"
    std::string head = "invalid regular expression " + quote(*t);
    std::string why = re.error().message.substr(std::min(head.size(), re.error().message.size()));
    return fail(v.mark, head + " for " + quote(key) + why, std::move(re.error().hint));
  }
  return re;
}

Result<std::vector<Regex>> Reader::pattern_list(const YNode& v, std::string_view key) const {
  if (auto list = text_list(v, key, "regular expressions"); !list)
    return std::unexpected(list.error());
  std::vector<Regex> out;
  out.reserve(v.items.size());
  for (const auto& item : v.items) {
    auto re = pattern(item, key);
    if (!re) return std::unexpected(re.error());
    out.push_back(std::move(*re));
  }
  return out;
}

Result<void> Reader::mapping(const YNode& v, std::string message, std::string hint) const {
  if (v.is_mapping() || v.is_null()) return {};
  return fail(v.mark, std::move(message), std::move(hint));
}

Result<TemplateMap> Reader::template_map(const YNode& v, std::string_view key,
                                         NameRule rule) const {
  if (auto r = mapping(v, quote(key) + " must be a mapping of names to values"); !r)
    return std::unexpected(r.error());
  TemplateMap out;
  for (const auto& e : v.entries) {
    if (rule == NameRule::id) {
      if (auto r = name(e.key, "input name"); !r) return std::unexpected(r.error());
    } else if (!is_env_var_name(e.key.value)) {
      return fail(e.key.mark, "invalid environment variable name " + quote(e.key.value),
                  "use letters, digits and '_', not starting with a digit");
    }
    if (e.value.is_null()) {
      out.emplace_back(e.key.value, Template{"", e.value.mark});
    } else if (e.value.is_scalar()) {
      out.emplace_back(e.key.value, scalar_template(e.value));
    } else {
      return fail(e.value.mark, quote(e.key.value) + " in " + quote(key) +
                                    " must be a string, number or boolean");
    }
  }
  return out;
}

Result<void> Reader::name(const YNode& key, std::string_view what) const {
  if (is_valid_task_id(key.value)) return {};
  return fail(key.mark, "invalid " + std::string(what) + " " + quote(key.value) +
                            ": use letters, digits, '_' and '-'");
}

Result<size_t> Reader::choice(const YNode& v, std::string_view key,
                              const std::vector<std::string>& choices) const {
  if (v.is_scalar()) {
    for (size_t i = 0; i < choices.size(); ++i)
      if (v.value == choices[i]) return i;
    return fail(v.mark,
                "invalid " + std::string(key) + " " + quote(v.value) + ": use " + one_of(choices));
  }
  return fail(v.mark, quote(key) + " must be one of " + one_of(choices));
}

Result<void> read_fields(const Reader& r, const YNode& map, std::string_view where,
                         const std::vector<Field>& fields) {
  for (const auto& entry : map.entries) {
    const Field* field = nullptr;
    for (const auto& f : fields)
      if (f.name == entry.key.value) field = &f;
    if (field != nullptr) {
      if (auto result = field->read(entry); !result) return result;
      continue;
    }
    std::vector<std::string> names;
    for (const auto& f : fields) names.emplace_back(f.name);
    std::string message = "unknown key " + quote(entry.key.value) + " " + std::string(where);
    std::string match = suggest_key(entry.key.value, names);
    if (!match.empty()) return r.fail(entry.key.mark, message + " (did you mean '" + match + "'?)");
    return r.fail(entry.key.mark, message, "allowed keys here: " + join(names, ", "));
  }
  return {};
}

const YEntry* find_entry(const YNode& map, std::string_view key) {
  for (const auto& e : map.entries)
    if (e.key.value == key) return &e;
  return nullptr;
}

}  // namespace wfo::loader
