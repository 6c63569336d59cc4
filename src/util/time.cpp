#include "util/time.hpp"

#include <cstdio>
#include <ctime>

namespace wfo {

// Civil-date arithmetic (std::chrono's year_month_day) and digits at fixed places: `wfo
// status --json` writes four of these per attempt, where gmtime_r and snprintf cost about
// 1,900 instructions each. Years outside 0-9999 take the general path.
std::string format_rfc3339(SystemTime t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  int year = static_cast<int>(ymd.year());
  int64_t in_day = (t - day).count();  // ms, 0 to 86,399,999
  int hour = static_cast<int>(in_day / 3'600'000), minute = static_cast<int>(in_day / 60'000 % 60);
  int second = static_cast<int>(in_day / 1000 % 60), frac = static_cast<int>(in_day % 1000);
  int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  int mday = static_cast<int>(static_cast<unsigned>(ymd.day()));
  if (year < 0 || year > 9999) {
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month, mday, hour,
             minute, second, frac);
    return buf;
  }
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](size_t at, int value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10)
      out[at + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, month, 2);
  put(8, mday, 2);
  put(11, hour, 2);
  put(14, minute, 2);
  put(17, second, 2);
  put(20, frac, 3);
  return out;
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
  // A run prints many lines a second: localtime_r (the zone's rules, under glibc's lock) and
  // the snprintf run once per second seen, not once per line.
  thread_local time_t last = -1;
  thread_local char buf[16] = "";
  auto secs =
      static_cast<time_t>(std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count());
  if (secs != last || buf[0] == '\0') {
    struct tm tm {};
    localtime_r(&secs, &tm);
    snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    last = secs;
  }
  return buf;
}

SystemTime system_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace wfo
