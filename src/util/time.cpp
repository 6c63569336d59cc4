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
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::optional<SystemTime> parse_rfc3339(std::string_view text) {
  if (text.size() != 24 || text[23] != 'Z') return std::nullopt;
  struct tm tm {};
  int ms = 0;
  std::string s(text);
  if (sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t secs = timegm(&tm);
  return SystemTime{std::chrono::milliseconds{int64_t{secs} * 1000 + ms}};
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
