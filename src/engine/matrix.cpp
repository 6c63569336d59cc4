// Matrix expansion, as GitHub Actions documents it ("Using a matrix for your jobs"): the
// product of the axes, minus `exclude`, then `include`. An include entry never changes an
// original axis value of a combination: it is added to every combination it agrees with on
// the original axes (its other keys added, overwriting only added values), and becomes a
// combination of its own when it agrees with none.
#include <algorithm>
#include <cstdint>

#include "engine/flow.hpp"

namespace wfo {
namespace {

const std::string* value_of(const MatrixCombination& c, const std::string& key) {
  for (const auto& [k, v] : c)
    if (k == key) return &v;
  return nullptr;
}

void set_value(MatrixCombination& c, const std::string& key, const std::string& value) {
  for (auto& [k, v] : c)
    if (k == key) {
      v = value;
      return;
    }
  c.emplace_back(key, value);
}

std::vector<MatrixCombination> product(const MatrixSpec& m) {
  std::vector<MatrixCombination> out;
  if (m.axes.empty()) return out;
  out.emplace_back();
  for (const auto& [axis, values] : m.axes) {
    std::vector<MatrixCombination> next;
    next.reserve(out.size() * values.size());
    for (const auto& partial : out)
      for (const auto& v : values) {
        MatrixCombination c = partial;
        c.emplace_back(axis, v);
        next.push_back(std::move(c));
      }
    out = std::move(next);
  }
  return out;
}

bool matches(const MatrixCombination& c, const MatrixCombination& entry) {
  for (const auto& [k, v] : entry) {
    const std::string* have = value_of(c, k);
    if (!have || *have != v) return false;
  }
  return true;
}

bool is_axis(const MatrixSpec& m, const std::string& key) {
  return std::any_of(m.axes.begin(), m.axes.end(), [&](const auto& a) { return a.first == key; });
}

// Adds `entry` to every combination (of the first `original` ones) whose original axis values
// it agrees with; returns whether it was added to any.
bool add_include(const MatrixSpec& m, std::vector<MatrixCombination>& combos, size_t original,
                 const MatrixCombination& entry) {
  bool added = false;
  for (size_t i = 0; i < original; ++i) {
    MatrixCombination& c = combos[i];
    bool agrees = std::all_of(entry.begin(), entry.end(), [&](const auto& kv) {
      if (!is_axis(m, kv.first)) return true;
      const std::string* have = value_of(c, kv.first);
      return have && *have == kv.second;
    });
    if (!agrees) continue;
    for (const auto& [k, v] : entry)
      if (!is_axis(m, k)) set_value(c, k, v);
    added = true;
  }
  return added;
}

bool plain_value(const std::string& v) {
  constexpr size_t k_max_value_bytes = 40;
  if (v.empty() || v.size() > k_max_value_bytes) return false;
  return std::all_of(v.begin(), v.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || std::string_view("_.:/@+-").find(ch) != std::string_view::npos;
  });
}

}  // namespace

size_t matrix_product_size(const MatrixSpec& matrix) {
  if (matrix.axes.empty()) return 0;
  size_t n = 1;
  for (const auto& [axis, values] : matrix.axes) {
    if (values.empty()) return 0;
    if (n > SIZE_MAX / values.size()) return SIZE_MAX;
    n *= values.size();
  }
  return n;
}

std::vector<MatrixCombination> expand_matrix(const MatrixSpec& matrix) {
  std::vector<MatrixCombination> combos = product(matrix);
  std::erase_if(combos, [&](const MatrixCombination& c) {
    return std::any_of(matrix.exclude.begin(), matrix.exclude.end(),
                       [&](const auto& entry) { return matches(c, entry); });
  });
  const size_t original = combos.size();
  for (const auto& entry : matrix.include)
    if (!add_include(matrix, combos, original, entry)) combos.push_back(entry);
  return combos;
}

std::string matrix_instance_id(const std::string& id, const MatrixCombination& combination,
                               size_t index) {
  bool plain =
      !combination.empty() && std::all_of(combination.begin(), combination.end(),
                                          [](const auto& kv) { return plain_value(kv.second); });
  if (!plain) return id + "[" + std::to_string(index) + "]";
  std::string out = id + "[";
  for (size_t i = 0; i < combination.size(); ++i)
    out += (i ? "," : "") + combination[i].first + "=" + combination[i].second;
  return out + "]";
}

}  // namespace wfo
