#pragma once
// Whole-file reads and small filesystem helpers.

#include <cstddef>
#include <string>

#include "util/error.hpp"

namespace wfo {

/// Most read_file() reads (64 MiB): a workflow of 100,000 tasks is about 5 MB.
inline constexpr size_t k_max_read_bytes = size_t{64} << 20;

/// Reads the whole file at `path` (a regular file or a pipe; a FIFO nobody writes to reads
/// as empty); when `regular` is given, sets it to whether the file is a regular file (not a
/// pipe or a device), from the same fstat. Errors (ErrorKind::io): `cannot read 'path':
/// <strerror>`, `... not a file or a pipe` (a device or a socket), `... larger than 64
/// MiB`. A pipe's data is awaited in ppoll(2) with SIGINT, SIGTERM and SIGHUP unblocked, so
/// that under process::SignalGuard (which blocks them elsewhere) Ctrl-C ends a wait for a
/// writer that never writes: ErrorKind::interrupted, `interrupted while reading 'path'`.
Result<std::string> read_file(const std::string& path, bool* regular = nullptr);

/// Makes `path` an empty regular file that no other name shares, for an attempt's
/// $WFO_OUTPUT (spec: Outputs and handoffs, "a fresh file"). A file already there, a plain
/// file with one link, is emptied in place: no new inode (creating one is most of the cost:
/// on ext4 without a journal it scans recently deleted inodes one by one). Anything else a
/// task may have left at `path` (a symlink, a file with another name too, a FIFO) is
/// unlinked and a new file made: never followed, so never truncated. No temporary file: an
/// empty file has no half-written state to hide. Errors (ErrorKind::io):
/// `cannot write 'path': <strerror>`.
Result<void> reset_empty_file(const std::string& path);

/// Writes `data` to `path` atomically (temporary file in the same folder, then rename).
/// Errors (ErrorKind::io) name the path and strerror.
Result<void> write_file_atomic(const std::string& path, const std::string& data);

}  // namespace wfo
