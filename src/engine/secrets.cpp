#include "engine/secrets.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wfo {

void Redactor::add(std::string value) {
  if (value.empty()) return;
  m_longest = std::max(m_longest, value.size());
  m_values.push_back(std::move(value));
  std::sort(m_values.begin(), m_values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

namespace {

// Masks matches that start before `limit` (a match may run past it); returns where scanning
// stopped, at or after `limit`. With limit = text.size() it redacts the whole text. At each
// match the earliest start wins, and among values starting there the longest (`values` is
// sorted longest first). Each value's next occurrence is found with find() (memchr-fast) and
// kept until scanning passes it, so the text is scanned once per value, never byte by byte:
// a task's 1 GiB log is masked at disk speed instead of stalling the engine for minutes.
size_t redact_until(const std::vector<std::string>& values, std::string_view text, size_t limit,
                    std::string& out) {
  std::vector<size_t> next(values.size(), 0);
  std::vector<bool> known(values.size(), false);
  size_t i = 0;
  while (i < limit) {
    size_t best = std::string_view::npos;
    size_t which = 0;
    for (size_t k = 0; k < values.size(); ++k) {
      if (!known[k] || (next[k] != std::string_view::npos && next[k] < i)) {
        next[k] = text.find(values[k], i);
        known[k] = true;
      }
      if (next[k] < best) {
        best = next[k];
        which = k;
      }
    }
    if (best == std::string_view::npos || best >= limit) {
      out.append(text.substr(i, limit - i));
      return limit;
    }
    out.append(text.substr(i, best - i));
    out += "***";
    i = best + values[which].size();
  }
  return i;
}

}  // namespace

std::string Redactor::redact(std::string_view text) const {
  if (m_values.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  redact_until(m_values, text, text.size(), out);
  return out;
}

void Redactor::redact(Transition& t) const {
  if (m_values.empty()) return;
  auto fix = [&](std::string& s) { s = redact(s); };
  auto fix_json = [&](nlohmann::json& j) {
    for (auto& [k, v] : j.items())
      if (v.is_string()) v = redact(v.get<std::string>());
  };
  if (t.run) fix(t.run->reason);
  for (auto& task : t.tasks) fix(task.reason);
  for (auto& a : t.attempts) {
    fix(a.reason);
    fix(a.delay_reason);
    fix_json(a.outputs);
  }
  for (auto& g : t.gates) {
    fix(g.message);
    fix(g.comment);
  }
  for (auto& e : t.events) fix(e.detail);
}

namespace {

Result<void> write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrorKind::io, "cannot write '" + path + "': " + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

Result<void> Redactor::redact_file(const std::string& path) const {
  if (m_values.empty()) return {};
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    if (errno == ENOENT) return {};
    return fail(ErrorKind::io, "cannot read '" + path + "': " + std::strerror(errno));
  }
  std::string tmp = path + ".redact";
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    ::close(in);
    return fail(ErrorKind::io, "cannot write '" + tmp + "': " + std::strerror(errno));
  }
  // Keep the last (longest - 1) bytes of each chunk for the next, so a value cut by the chunk
  // boundary is still found whole.
  std::string carry;
  std::vector<char> buf(1 << 20);
  Result<void> ok;
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = fail(ErrorKind::io, "cannot read '" + path + "': " + std::strerror(errno));
      break;
    }
    if (n == 0) {
      ok = write_all(out, redact(carry), tmp);
      break;
    }
    carry.append(buf.data(), static_cast<size_t>(n));
    // Scan the positions no value can straddle unseen; a match found there may run into the
    // kept tail, which is consumed with it.
    size_t keep = std::min(carry.size(), m_longest - 1);
    std::string done;
    done.reserve(carry.size());
    size_t stop = redact_until(m_values, carry, carry.size() - keep, done);
    ok = write_all(out, done, tmp);
    if (!ok) break;
    carry.erase(0, stop);
  }
  ::close(in);
  if (::close(out) != 0 && ok) ok = fail(ErrorKind::io, "cannot write '" + tmp + "'");
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0)
    ok = fail(ErrorKind::io, "cannot replace '" + path + "': " + std::strerror(errno));
  if (!ok) ::unlink(tmp.c_str());
  return ok;
}

}  // namespace wfo
