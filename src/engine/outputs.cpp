#include "engine/outputs.hpp"

#include "util/regex.hpp"
#include "util/strings.hpp"

namespace wfo {
namespace {

bool valid_key(std::string_view key) { return is_valid_task_id(key); }

}  // namespace

Result<nlohmann::json> parse_outputs(std::string_view text) {
  nlohmann::json out = nlohmann::json::object();
  size_t pos = 0;
  int line_no = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= text.size()) return false;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    ++line_no;
    return true;
  };
  std::string_view line;
  while (next_line(line)) {
    if (line.empty()) continue;
    size_t heredoc = line.find("<<");
    size_t eq = line.find('=');
    if (heredoc != std::string_view::npos && (eq == std::string_view::npos || heredoc < eq)) {
      std::string key(line.substr(0, heredoc));
      std::string_view delim = line.substr(heredoc + 2);
      if (!valid_key(key) || delim.empty())
        return fail(ErrorKind::usage, "malformed output line " + std::to_string(line_no) +
                                          ": expected key=value or key<<DELIMITER");
      int start_line = line_no;
      std::string value;
      bool closed = false, first = true;
      while (next_line(line)) {
        if (line == delim) {
          closed = true;
          break;
        }
        if (!first) value += '\n';
        value += line;
        first = false;
        if (value.size() > k_max_output_value_bytes)
          return fail(ErrorKind::usage, "output '" + key + "' is larger than 1 MiB");
      }
      if (!closed)
        return fail(ErrorKind::usage, "output '" + key + "' at line " +
                                          std::to_string(start_line) + " is never closed by '" +
                                          std::string(delim) + "'");
      if (!valid_utf8(value))
        return fail(ErrorKind::usage, "output '" + key + "' is not UTF-8 text");
      out[key] = value;
      continue;
    }
    if (eq == std::string_view::npos || !valid_key(line.substr(0, eq)))
      return fail(ErrorKind::usage, "malformed output line " + std::to_string(line_no) +
                                        ": expected key=value or key<<DELIMITER");
    std::string_view value = line.substr(eq + 1);
    if (value.size() > k_max_output_value_bytes)
      return fail(ErrorKind::usage,
                  "output '" + std::string(line.substr(0, eq)) + "' is larger than 1 MiB");
    if (!valid_utf8(value))
      return fail(ErrorKind::usage,
                  "output '" + std::string(line.substr(0, eq)) + "' is not UTF-8 text");
    out[std::string(line.substr(0, eq))] = std::string(value);
  }
  return out;
}

Result<void> validate_outputs(const nlohmann::json& outputs, const std::vector<OutputSpec>& specs) {
  for (const auto& spec : specs) {
    if (!outputs.contains(spec.name)) {
      if (spec.required) return fail(ErrorKind::usage, "missing required output '" + spec.name + "'");
      continue;
    }
    if (spec.pattern && !spec.pattern->search(outputs[spec.name].get_ref<const std::string&>()))
      return fail(ErrorKind::usage, "output '" + spec.name + "' does not match pattern '" +
                                        spec.pattern->source() + "'");
  }
  return {};
}

}  // namespace wfo
