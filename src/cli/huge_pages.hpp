#pragma once
// Transparent huge pages for the heap of a large run: wfo re-executes itself once with
// glibc's malloc tunable `glibc.malloc.hugetlb=1` (glibc 2.35 and later; tunables are read
// only when a process starts). On a VM, where each page fault is costly, loading a
// 100,000-task workflow faults about 34,000 4 KiB pages; with huge pages about 1,000
// (docs/design.md, "Huge pages for large runs").

#include <cstddef>

namespace wfo::cli {

/// Smallest workflow text (bytes, sub-workflows not counted) worth a re-execution: 1 MiB,
/// about 20,000 tasks of the benchmark's lattice. Smaller runs load in well under 100 ms.
inline constexpr size_t k_huge_pages_min_bytes = 1 << 20;

/// Call first in main() with its argv (kept for the re-execution). In a re-executed wfo it
/// puts GLIBC_TUNABLES back as the user had it, so that tasks get the user's environment.
void init_huge_pages(char** argv);

/// When `text_bytes` >= k_huge_pages_min_bytes, replaces this process by a fresh wfo with the
/// same arguments and huge pages on, and does not return. Returns without doing anything
/// when: the text is smaller; this process is already the re-executed one; GLIBC_TUNABLES
/// already names `glibc.malloc.hugetlb` (the user's choice: `glibc.malloc.hugetlb=0` turns
/// this off); the kernel's THP mode is not `madvise` (with `always` malloc has them already,
/// with `never` they cannot be had); wfo is built with a sanitizer or without glibc; or
/// execv(2) of /proc/self/exe fails. Call it before anything that must not happen twice:
/// nothing may have been written, locked or printed, and what was read must be there to
/// read again (a regular file or the state database, not a pipe). Signals stay blocked
/// across the exec, so a Ctrl-C in between is pending in the new process, not lost.
void reexec_for_large_input(size_t text_bytes);

}  // namespace wfo::cli
