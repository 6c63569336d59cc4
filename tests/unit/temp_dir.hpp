#pragma once
// A fresh folder under the system's temporary one, removed with all it holds when the test
// is done: for the unit tests that need real files (the store's, the process layer's).

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace wfo::test {

/// mkdtemp(3) of `<tmp>/<prefix>-XXXXXX`; throws std::runtime_error when it cannot be made.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& prefix = "wfo-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace wfo::test
