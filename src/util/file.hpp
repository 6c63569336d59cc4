#pragma once
// Whole-file reads and small filesystem helpers.

#include <string>

#include "util/error.hpp"

namespace wfo {

/// Reads the whole file at `path`; when `regular` is given, sets it to whether the file is a
/// regular file (not a pipe or a device), from the same fstat. Errors (ErrorKind::io):
/// `cannot read 'path': <strerror>`.
Result<std::string> read_file(const std::string& path, bool* regular = nullptr);

/// Creates `path` empty, or empties it: one open(O_CREAT|O_TRUNC), no temporary file (each
/// created inode costs, and an empty file has no half-written state to hide).
/// Errors (ErrorKind::io): `cannot write 'path': <strerror>`.
Result<void> create_empty_file(const std::string& path);

/// Writes `data` to `path` atomically (temporary file in the same folder, then rename).
/// Errors (ErrorKind::io) name the path and strerror.
Result<void> write_file_atomic(const std::string& path, const std::string& data);

}  // namespace wfo
