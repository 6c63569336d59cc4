#pragma once
// Where secret params come from (issue 8): `--secret-file PATH` (lines NAME=VALUE), else the
// environment variable WFO_SECRET_<NAME>; never the command line or the workflow file. The
// state database keeps only a SHA-256 hash of each value, to check a resume gets the same.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/workflow.hpp"
#include "util/error.hpp"

namespace wfo::cli {

/// The values of `workflow`'s secret params, name -> value, from `secret_file` (may be
/// empty) and the environment. Errors (ErrorKind::usage): the file cannot be read or has a
/// line that is not NAME=VALUE; a required secret is missing (`missing secret param
/// 'token': set WFO_SECRET_TOKEN or pass --secret-file`); a value shorter than 4 bytes (it
/// would mask ordinary text).
Result<std::vector<std::pair<std::string, std::string>>> collect_secrets(
    const Workflow& workflow, const std::string& secret_file);

/// Returns `sha256:<64 hex digits>` of `value` (OpenSSL's EVP digest).
std::string secret_hash(std::string_view value);

}  // namespace wfo::cli
