// edit_distance, closest_match, join, is_valid_task_id, valid_utf8, env_name; read_file and
// write_file_atomic.

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "util/file.hpp"
#include "util/strings.hpp"

namespace {

using namespace wfo;

}  // namespace

TEST_CASE("edit_distance is the Levenshtein distance") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("same", "same") == 0);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("retires", "retries") == 2);
  CHECK(edit_distance("retires", "retry") == 3);
  CHECK(edit_distance("featur", "feature") == 1);
  CHECK(edit_distance("feature", "featur") == 1);
}

TEST_CASE("closest_match suggests within max(2, |word|/3)") {
  std::vector<std::string> keys{"retry", "retries", "timeout", "needs"};
  CHECK(closest_match("retires", keys) == "retries");
  CHECK(closest_match("tmeout", keys) == "timeout");
  CHECK(closest_match("need", keys) == "needs");
  CHECK(closest_match("zzzzzz", keys) == "");
  CHECK(closest_match("x", {}) == "");
  // Short words: up to 2 edits.
  CHECK(closest_match("ab", {"xy"}) == "xy");
  CHECK(closest_match("ab", {"xyz"}) == "");
  // Long words: |word|/3 edits.
  CHECK(closest_match("abcdefghijkl", {"abcdefgWXYZl"}) == "abcdefgWXYZl");  // 4 edits, limit 4
  CHECK(closest_match("abcdefghijkl", {"abcdefVWXYZl"}) == "");              // 5 edits
  // The nearest wins; on a tie, the first candidate.
  CHECK(closest_match("feature", {"featurex", "feature1", "featur"}) == "featurex");
  CHECK(closest_match("abcd", {"abxx", "abcx"}) == "abcx");
}

TEST_CASE("join") {
  CHECK(join({}, ", ") == "");
  CHECK(join({"a"}, ", ") == "a");
  CHECK(join({"a", "b", "c"}, ", ") == "a, b, c");
}

TEST_CASE("is_valid_task_id: one or more of [A-Za-z0-9_-]") {
  for (const char* id : {"build", "a", "A_b-9", "_", "-", "0"}) {
    CAPTURE(id);
    CHECK(is_valid_task_id(id));
  }
  for (const char* id :
       {"", "a b", "a.b", "test[suite=unit]", "a/b", "caf\xc3\xa9", "a\n", "a=b"}) {
    CAPTURE(id);
    CHECK_FALSE(is_valid_task_id(id));
  }
}

TEST_CASE("utf8_length: the sequence at a position, 0 where there is none") {
  CHECK(utf8_length("a", 0) == 1);
  CHECK(utf8_length(std::string_view("\0", 1), 0) == 1);
  CHECK(utf8_length("caf\xc3\xa9", 3) == 2);
  CHECK(utf8_length("\xe2\x82\xac", 0) == 3);
  CHECK(utf8_length("\xf0\x9f\x98\x80", 0) == 4);
  CHECK(utf8_length("\xc3\xa9", 1) == 0);          // a continuation byte alone
  CHECK(utf8_length("\xe2\x82", 0) == 0);          // cut short
  CHECK(utf8_length("\xe0\x80\xaf", 0) == 0);      // overlong '/'
  CHECK(utf8_length("\xed\xbf\xbf", 0) == 0);      // a surrogate, U+DFFF
  CHECK(utf8_length("\xf4\x90\x80\x80", 0) == 0);  // above U+10FFFF
  CHECK(utf8_length("\xf5\x80\x80\x80", 0) == 0);
  CHECK(utf8_length("\xe2\x28\xac", 0) == 0);      // a second byte that is not a continuation
  CHECK(utf8_length("\xf0\x9f\x98\x28", 0) == 0);  // nor a fourth
}

TEST_CASE("valid_utf8: RFC 3629's forms only") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  CHECK_FALSE(valid_utf8("\xff\xfe"));
  CHECK_FALSE(valid_utf8("x=\xff" "bad"));
  CHECK_FALSE(valid_utf8("\xc3"));              // cut short
  CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate, U+D800
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST_CASE("env_name upper-cases and replaces non-alphanumerics") {
  CHECK(env_name("feature") == "FEATURE");
  CHECK(env_name("spec-path") == "SPEC_PATH");
  CHECK(env_name("a.b c") == "A_B_C");
  CHECK(env_name("x1_y") == "X1_Y");
  CHECK(env_name("") == "");
}

TEST_CASE("write_file_atomic, reset_empty_file and read_file") {
  std::string pattern = (std::filesystem::temp_directory_path() / "wfo-util-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  std::string path = pattern + "/f.txt";
  REQUIRE(write_file_atomic(path, std::string("a\0b\n", 4)).has_value());
  CHECK(read_file(path) == std::string("a\0b\n", 4));
  REQUIRE(write_file_atomic(path, "").has_value());
  CHECK(read_file(path) == "");
  // No temporary file is left behind.
  CHECK(std::distance(std::filesystem::directory_iterator(pattern),
                      std::filesystem::directory_iterator()) == 1);
  auto missing = read_file(pattern + "/missing");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().kind == ErrorKind::io);
  CHECK(missing.error().message ==
        "cannot read '" + pattern + "/missing': No such file or directory");
  auto unwritable = write_file_atomic(pattern + "/no/such/dir/f", "x");
  REQUIRE_FALSE(unwritable.has_value());
  CHECK(unwritable.error().message ==
        "cannot write '" + pattern + "/no/such/dir/f': No such file or directory");
  // reset_empty_file empties what is there in place (the same inode), and names the path
  // when it cannot.
  REQUIRE(write_file_atomic(path, "left over").has_value());
  struct stat before {};
  REQUIRE(::stat(path.c_str(), &before) == 0);
  REQUIRE(reset_empty_file(path).has_value());
  CHECK(read_file(path) == "");
  struct stat after {};
  REQUIRE(::stat(path.c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);
  REQUIRE(reset_empty_file(pattern + "/new").has_value());
  CHECK(read_file(pattern + "/new") == "");
  auto no_dir = reset_empty_file(pattern + "/no/such/dir/f");
  REQUIRE_FALSE(no_dir.has_value());
  CHECK(no_dir.error().message ==
        "cannot write '" + pattern + "/no/such/dir/f': No such file or directory");
  // What a task may leave at its $WFO_OUTPUT is replaced, never followed or truncated: a
  // symlink, a hard link to another name, a FIFO.
  std::string target = pattern + "/target";
  REQUIRE(write_file_atomic(target, "keep").has_value());
  std::string link = pattern + "/link";
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  REQUIRE(reset_empty_file(link).has_value());
  CHECK(std::filesystem::is_regular_file(std::filesystem::symlink_status(link)));
  CHECK(read_file(link) == "");
  CHECK(read_file(target) == "keep");
  std::string hard = pattern + "/hard";
  REQUIRE(::link(target.c_str(), hard.c_str()) == 0);
  REQUIRE(reset_empty_file(hard).has_value());
  CHECK(read_file(hard) == "");
  CHECK(read_file(target) == "keep");
  std::string fifo = pattern + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE(reset_empty_file(fifo).has_value());
  CHECK(std::filesystem::is_regular_file(fifo));
  std::string dir = pattern + "/dir";
  std::filesystem::create_directory(dir);
  auto is_dir = reset_empty_file(dir);
  REQUIRE_FALSE(is_dir.has_value());
  CHECK(is_dir.error().message == "cannot write '" + dir + "': Is a directory");
  std::filesystem::remove_all(pattern);
}
