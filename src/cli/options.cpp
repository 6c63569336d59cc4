// Checks shared by the subcommands' options (cli/commands.hpp).

#include <charconv>
#include <filesystem>
#include <string>

#include "cli/commands.hpp"

namespace wfo::cli {

CLI::Validator whole_number(long long lo, long long hi) {
  std::string range = std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        long long n = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec == std::errc() && end == text.data() + text.size() && n >= lo && n <= hi) {
          // CLI11 converts the text with strtoll(3) in base 0, where 010 is octal 8: hand it
          // the number as decimal, so that 010 means 10.
          text = std::to_string(n);
          return {};
        }
        return "must be a whole number from " + range + ", got '" + text + "'";
      },
      "[" + std::to_string(lo) + "-" + std::to_string(hi) + "]");
}

CLI::Validator not_empty(std::string way_out) {
  return CLI::Validator(
      [way_out](std::string& text) -> std::string {
        return text.empty() ? "must not be empty; " + way_out : std::string();
      },
      "");
}

CLI::Validator report_file() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        namespace fs = std::filesystem;
        if (text.empty()) return "must not be empty; leave the option out for no report";
        std::error_code ec;
        if (fs::is_directory(text, ec))
          return "'" + text + "' is a folder; name a file in it, e.g. '" +
                 (fs::path(text) / "report").string() + "'";
        fs::path folder = fs::path(text).parent_path();
        if (!folder.empty() && !fs::is_directory(folder, ec))
          return "no folder '" + folder.string() + "' to write '" + text + "' in; create it first";
        return {};
      },
      "FILE");
}

}  // namespace wfo::cli
