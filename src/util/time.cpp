#include "util/time.hpp"

#include <cstdio>
#include <ctime>

namespace wfo {

std::string format_rfc3339(SystemTime t) {
  auto ms = t.time_since_epoch().count();
  time_t secs = static_cast<time_t>(ms / 1000);
  int frac = static_cast<int>(ms % 1000);
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

// Digits and separators at fixed places, then civil-date arithmetic (std::chrono's
// year_month_day): a store reads one of these per timestamp column, 40,000 for a
// 10,000-task run, where sscanf and timegm cost about 3,700 instructions each.
std::optional<SystemTime> parse_rfc3339(std::string_view text) {
  if (text.size() != 24) return std::nullopt;
  static constexpr std::string_view k_shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  for (size_t i = 0; i < k_shape.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (k_shape[i] == 'd' ? !digit : text[i] != k_shape[i]) return std::nullopt;
  }
  auto number = [&](size_t at, size_t len) {
    int n = 0;
    for (size_t i = at; i < at + len; ++i) n = n * 10 + (text[i] - '0');
    return n;
  };
  using namespace std::chrono;
  year_month_day date{year{number(0, 4)}, month{static_cast<unsigned>(number(5, 2))},
                      day{static_cast<unsigned>(number(8, 2))}};
  int hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  return SystemTime{duration_cast<milliseconds>(sys_days{date}.time_since_epoch()) + hours{hour} +
                    minutes{minute} + seconds{second} + milliseconds{number(20, 3)}};
}

std::string format_clock(SystemTime t) {
  time_t secs = static_cast<time_t>(t.time_since_epoch().count() / 1000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  char buf[16];
  snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

SystemTime system_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace wfo
