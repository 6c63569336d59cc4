#pragma once
// Private to the store: what sqlite_run_store.cpp and commit.cpp share.

#include <string>

#include "util/error.hpp"

namespace wfo::store {

/// The error every SQLite failure becomes: `state database 'PATH': WHAT`, exit code 5.
inline Error state_error(const std::string& path, const std::string& what) {
  return Error{ErrorKind::state,
               "state database '" + path + "': " + what,
               {},
               0,
               0,
               "check the file, or point --state / WFO_STATE at another database"};
}

}  // namespace wfo::store
