#include "util/duration.hpp"

#include <cstdint>

namespace wfo {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds{0};
  if (text.empty()) return std::nullopt;
  // Units in the only order they may appear; ms must be tried before m.
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit k_units[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
  constexpr int64_t k_max_ms = int64_t{100} * 365 * 86'400'000;
  int64_t total = 0;
  int last_unit = -1;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > k_max_ms) return std::nullopt;
      ++i;
    }
    size_t start = i;
    while (i < text.size() && text[i] >= 'a' && text[i] <= 'z') ++i;
    std::string_view unit = text.substr(start, i - start);
    int found = -1;
    for (int u = 0; u < 5; ++u)
      if (k_units[u].name == unit) found = u;
    if (found < 0 || found <= last_unit) return std::nullopt;
    last_unit = found;
    // Check before multiplying: n * unit may overflow int64 (e.g. 200000000000d).
    if (n > (k_max_ms - total) / k_units[found].ms) return std::nullopt;
    total += n * k_units[found].ms;
    if (total > k_max_ms) return std::nullopt;
  }
  return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms < 0) ms = 0;
  char buf[64];
  if (ms < 1000) {
    snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  } else if (ms < 59'950) {  // 59950ms would print as 60.0s
    snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  } else if (ms < 3'600'000) {
    snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
             static_cast<long long>((ms / 1000) % 60));
  } else {
    snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
             static_cast<long long>((ms / 60'000) % 60));
  }
  return buf;
}

std::string format_duration_spec(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms <= 0) return "0";
  std::string out;
  static constexpr std::pair<const char*, int64_t> k_units[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
  for (auto [name, size] : k_units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

}  // namespace wfo
