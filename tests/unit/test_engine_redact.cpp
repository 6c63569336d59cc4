// Redactor: every occurrence of a secret becomes `***`, the longest value first where two
// start at one place, in strings and in files streamed in 1 MiB chunks (a value cut by a
// chunk boundary is still found). Compared with a byte-by-byte reference on random text.

#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "engine/secrets.hpp"

namespace {

// The obvious definition: at each byte, the longest value that starts there, else the byte.
std::string reference(std::vector<std::string> values, const std::string& text) {
  std::sort(values.begin(), values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  std::string out;
  for (size_t i = 0; i < text.size();) {
    bool hit = false;
    for (const auto& v : values) {
      if (text.compare(i, v.size(), v) == 0) {
        out += "***";
        i += v.size();
        hit = true;
        break;
      }
    }
    if (!hit) out += text[i++];
  }
  return out;
}

wfo::Redactor redactor_of(const std::vector<std::string>& values) {
  // In two adds, so that a later add's values join the earlier ones.
  wfo::Redactor r;
  auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  r.add({values.begin(), mid});
  r.add({mid, values.end()});
  return r;
}

}  // namespace

TEST_CASE("redact: every occurrence, longest value first") {
  auto r = redactor_of({"hush", "hush-4242", "4242x"});
  CHECK(r.redact("a hush-4242 b hush c 4242x d") == "a *** b *** c *** d");
  CHECK(r.redact("hushhush-4242hush") == "*********");
  CHECK(r.redact("hushhush-4242hush") ==
        reference({"hush", "hush-4242", "4242x"}, "hushhush-4242hush"));
  CHECK(r.redact("") == "");
  CHECK(r.redact("nothing here") == "nothing here");
  CHECK(redactor_of({}).redact("hush") == "hush");
}

TEST_CASE("redact: random text agrees with the byte-by-byte reference") {
  std::mt19937 gen(11);
  const std::string alphabet = "ab-4";
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> values;
    int count = 1 + static_cast<int>(gen() % 3);
    for (int k = 0; k < count; ++k) {
      std::string v;
      size_t len = 1 + gen() % 4;
      for (size_t j = 0; j < len; ++j) v += alphabet[gen() % alphabet.size()];
      values.push_back(v);
    }
    std::string text;
    size_t len = gen() % 200;
    for (size_t j = 0; j < len; ++j) text += alphabet[gen() % alphabet.size()];
    CAPTURE(text);
    CHECK(redactor_of(values).redact(text) == reference(values, text));
  }
}

TEST_CASE("redact_file: values across 1 MiB chunk boundaries, and a large file") {
  std::string pattern = (std::filesystem::temp_directory_path() / "wfo-redact-XXXXXX").string();
  std::string dir = ::mkdtemp(pattern.data());
  std::string path = dir + "/log";
  const std::string secret = "s3cr3t-Value";
  std::string text;
  const size_t chunk = 1 << 20;
  for (size_t boundary = chunk; boundary <= 5 * chunk; boundary += chunk) {
    size_t start = boundary - 1 - (boundary / chunk) % secret.size();  // straddles it
    text.append(start - text.size(), 'x');
    text += secret;
  }
  text.append(64 << 10, 'y');
  text += secret + "\n";
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  auto r = redactor_of({secret, "s3cr"});
  REQUIRE(r.redact_file(path).has_value());
  std::ifstream in(path, std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(back == reference({secret, "s3cr"}, text));
  CHECK(back.find("s3cr") == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("MaskStream: any chunking of random text masks as the whole text does") {
  std::mt19937 gen(23);
  const std::string alphabet = "ab-4";
  for (int round = 0; round < 500; ++round) {
    auto masker = std::make_shared<wfo::Masker>();
    std::vector<std::string> values;
    int count = 1 + static_cast<int>(gen() % 3);
    for (int k = 0; k < count; ++k) {
      std::string v;
      size_t len = 1 + gen() % 5;
      for (size_t j = 0; j < len; ++j) v += alphabet[gen() % alphabet.size()];
      values.push_back(v);
    }
    masker->add(values);
    std::string text;
    size_t len = gen() % 200;
    for (size_t j = 0; j < len; ++j) text += alphabet[gen() % alphabet.size()];
    wfo::MaskStream stream(masker);
    std::string out;
    for (size_t i = 0; i < text.size();) {
      size_t n = std::min(text.size() - i, static_cast<size_t>(gen() % 7));
      stream.feed(std::string_view(text).substr(i, n), out);
      i += n;
    }
    stream.finish(out);
    CAPTURE(text);
    CHECK(out == reference(values, text));
  }
}

TEST_CASE("MaskStream: holds back only what a value starts with") {
  auto masker = std::make_shared<wfo::Masker>();
  masker->add({"s3cr3t-Value"});
  wfo::MaskStream stream(masker);
  std::string out;
  stream.feed("password? ", out);
  CHECK(out == "password? ");  // a prompt shows at once
  stream.feed("x s3cr", out);
  CHECK(out == "password? x ");  // may be the secret: held
  stream.feed("3t-Value and s3", out);
  CHECK(out == "password? x *** and ");
  stream.feed("x", out);
  CHECK(out == "password? x *** and s3x");
  stream.feed(" s3c", out);
  stream.finish(out);
  CHECK(out == "password? x *** and s3x s3c");  // the end of the stream: nothing held

  CHECK(stream.masks());
  std::string plain;
  wfo::MaskStream none(nullptr);
  CHECK_FALSE(none.masks());
  CHECK_FALSE(wfo::MaskStream(std::make_shared<wfo::Masker>()).masks());
  none.feed("s3cr3t-Value", plain);
  none.finish(plain);
  CHECK(plain == "s3cr3t-Value");
}
