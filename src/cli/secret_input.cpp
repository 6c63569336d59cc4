#include "cli/secret_input.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "util/file.hpp"
#include "util/strings.hpp"

namespace wfo::cli {

std::string secret_hash(std::string_view value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(value.data(), value.size(), digest, &size, EVP_sha256(), nullptr);
  std::string out = "sha256:";
  char hex[3];
  for (unsigned int i = 0; i < size; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> collect_secrets(
    const Workflow& workflow, const std::string& secret_file) {
  std::unordered_map<std::string, std::string> from_file;  // a name given twice: the last
  if (!secret_file.empty()) {
    auto text = read_file(secret_file);
    if (!text && text.error().kind == ErrorKind::interrupted) return std::unexpected(text.error());
    if (!text) return fail(ErrorKind::usage, text.error().message, "check the --secret-file path");
    size_t pos = 0;
    int line_no = 0;
    while (pos < text->size()) {
      size_t end = text->find('\n', pos);
      if (end == std::string::npos) end = text->size();
      std::string line = text->substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (line.empty() || line[0] == '#') continue;
      size_t eq = line.find('=');
      if (eq == std::string::npos || eq == 0)
        return fail(ErrorKind::usage, secret_file + ":" + std::to_string(line_no) +
                                          ": expected NAME=VALUE (the value is not shown)");
      // A process's environment cannot hold a NUL: the task got the value cut short there.
      if (line.find('\0') != std::string::npos)
        return fail(ErrorKind::usage,
                    secret_file + ":" + std::to_string(line_no) +
                        ": a NUL byte in the line (the value is not shown)",
                    "an environment variable cannot hold one; remove it from the file");
      from_file[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const ParamSpec& p : workflow.params) {
    if (!p.secret) continue;
    std::optional<std::string> value;
    if (auto it = from_file.find(p.name); it != from_file.end()) value = it->second;
    std::string var = "WFO_SECRET_" + env_name(p.name);
    if (!value)
      if (const char* env = std::getenv(var.c_str())) value = env;
    if (!value) {
      if (p.required)
        return fail(ErrorKind::usage, "missing secret param '" + p.name + "'",
                    "set " + var + " or pass --secret-file with a line " + p.name + "=VALUE");
      continue;
    }
    if (value->size() < 4)
      return fail(ErrorKind::usage, "secret param '" + p.name + "' is shorter than 4 bytes",
                  "a short secret would mask ordinary text in logs");
    out.emplace_back(p.name, *value);
  }
  return out;
}

}  // namespace wfo::cli
