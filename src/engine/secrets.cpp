#include "engine/secrets.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wfo {

void Redactor::add(std::vector<std::string> values) {
  auto next = std::make_shared<Masker>(*m_masker);
  next->add(std::move(values));
  m_masker = std::move(next);
}

void Redactor::redact(Transition& t) const {
  if (empty()) return;
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
  if (empty()) return {};
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
  MaskStream stream(m_masker);
  std::vector<char> buf(1 << 20);
  std::string done;
  Result<void> ok;
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = fail(ErrorKind::io, "cannot read '" + path + "': " + std::strerror(errno));
      break;
    }
    done.clear();
    if (n == 0) {
      stream.finish(done);
      ok = write_all(out, done, tmp);
      break;
    }
    stream.feed(std::string_view(buf.data(), static_cast<size_t>(n)), done);
    ok = write_all(out, done, tmp);
    if (!ok) break;
  }
  ::close(in);
  if (::close(out) != 0 && ok) ok = fail(ErrorKind::io, "cannot write '" + tmp + "'");
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0)
    ok = fail(ErrorKind::io, "cannot replace '" + path + "': " + std::strerror(errno));
  if (!ok) ::unlink(tmp.c_str());
  return ok;
}

}  // namespace wfo
