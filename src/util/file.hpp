#pragma once
// Whole-file reads and small filesystem helpers.

#include <string>

#include "util/error.hpp"

namespace wfo {

/// Reads the whole file at `path`. Errors (ErrorKind::io): `cannot read 'path': <strerror>`.
Result<std::string> read_file(const std::string& path);

/// Writes `data` to `path` atomically (temporary file in the same folder, then rename).
/// Errors (ErrorKind::io) name the path and strerror.
Result<void> write_file_atomic(const std::string& path, const std::string& data);

}  // namespace wfo
