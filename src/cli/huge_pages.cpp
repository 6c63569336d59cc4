// Re-execution with glibc's huge-page tunable (huge_pages.hpp). The environment variable
// k_saved marks the re-executed process and carries the user's GLIBC_TUNABLES to restore:
// "-" when it was unset, "=" followed by its value when it was set.
#include "cli/huge_pages.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace wfo::cli {
namespace {

constexpr const char* k_saved = "WFO_SAVED_GLIBC_TUNABLES";
char** g_argv = nullptr;
bool g_reexecuted = false;

// The kernel's THP mode is `madvise`: only memory marked with madvise(2) gets huge pages,
// which is what the tunable makes malloc do (kernel admin-guide, transhuge.rst).
bool thp_on_request() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(f, modes);
  return modes.find("[madvise]") != std::string::npos;
}

constexpr bool k_glibc_malloc =
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    true;
#else
    false;  // musl has no tunables; ASan and TSan replace malloc
#endif

}  // namespace

void init_huge_pages(char** argv) {
  g_argv = argv;
  const char* saved = std::getenv(k_saved);
  if (!saved) return;
  g_reexecuted = true;
  if (saved[0] == '=')
    setenv("GLIBC_TUNABLES", saved + 1, 1);
  else
    unsetenv("GLIBC_TUNABLES");
  unsetenv(k_saved);
}

void reexec_for_large_input(size_t text_bytes) {
  if (text_bytes < k_huge_pages_min_bytes || g_reexecuted || !g_argv || !k_glibc_malloc) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  bool had = tunables != nullptr;
  std::string before = had ? tunables : "";
  if (before.find("glibc.malloc.hugetlb") != std::string::npos || !thp_on_request()) return;
  std::string with = before.empty() ? "glibc.malloc.hugetlb=1" : before + ":glibc.malloc.hugetlb=1";
  setenv(k_saved, had ? ("=" + before).c_str() : "-", 1);
  setenv("GLIBC_TUNABLES", with.c_str(), 1);
  std::fflush(nullptr);
  execv("/proc/self/exe", g_argv);
  // No /proc, or no exec allowed: go on as we are, with the environment as it was.
  unsetenv(k_saved);
  if (had)
    setenv("GLIBC_TUNABLES", before.c_str(), 1);
  else
    unsetenv("GLIBC_TUNABLES");
}

}  // namespace wfo::cli
