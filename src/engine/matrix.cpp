// Matrix expansion, as GitHub Actions documents it ("Using a matrix for your jobs"): the
// product of the axes, minus `exclude`, then `include`. An include entry never changes an
// original axis value of a combination: it is added to every combination it agrees with on
// the original axes (its other keys added, overwriting only added values), and becomes a
// combination of its own when it agrees with none.
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "engine/flow.hpp"

namespace wfo {
namespace {

/// Axis name -> its place in a combination that product() made (the axes' order).
using AxisIndex = std::unordered_map<std::string_view, size_t>;

// Each combination built once, its values picked by the digits of its index (the last axis
// varies fastest, GitHub Actions' order): O(combinations x axes). Extending a copy of each
// partial combination axis by axis was O(combinations x axes^2).
std::vector<MatrixCombination> product(const MatrixSpec& m) {
  const size_t count = matrix_product_size(m);
  std::vector<MatrixCombination> out(count);
  std::vector<size_t> digits(m.axes.size());
  for (size_t c = 0; c < count; ++c) {
    size_t rest = c;
    for (size_t a = m.axes.size(); a-- > 0;) {
      digits[a] = rest % m.axes[a].second.size();
      rest /= m.axes[a].second.size();
    }
    MatrixCombination& combo = out[c];
    combo.reserve(m.axes.size());
    for (size_t a = 0; a < m.axes.size(); ++a)
      combo.emplace_back(m.axes[a].first, m.axes[a].second[digits[a]]);
  }
  return out;
}

// Whether combination `c` of product() has every value of `entry`; a key that is no axis
// matches nothing (the combination has only its axes yet).
bool matches(const MatrixCombination& c, const AxisIndex& axes, const MatrixCombination& entry) {
  for (const auto& [k, v] : entry) {
    auto it = axes.find(k);
    if (it == axes.end() || c[it->second].second != v) return false;
  }
  return true;
}

// Adds `entry` to every combination (of the first `original` ones) whose original axis values
// it agrees with; returns whether it was added to any. O(combinations x (entry + keys added
// before)): the keys a combination has beyond its axes are indexed, not searched per key.
bool add_include(const AxisIndex& axes, std::vector<MatrixCombination>& combos, size_t original,
                 const MatrixCombination& entry) {
  bool added = false;
  for (size_t i = 0; i < original; ++i) {
    MatrixCombination& c = combos[i];
    bool agrees = std::all_of(entry.begin(), entry.end(), [&](const auto& kv) {
      auto it = axes.find(kv.first);
      return it == axes.end() || c[it->second].second == kv.second;
    });
    if (!agrees) continue;
    std::unordered_map<std::string, size_t> extra;  // keys beyond the axes -> place in c
    for (size_t k = axes.size(); k < c.size(); ++k) extra.emplace(c[k].first, k);
    for (const auto& [k, v] : entry) {
      if (axes.contains(k)) continue;
      if (auto it = extra.find(k); it != extra.end()) {
        c[it->second].second = v;  // an added value, overwritten
      } else {
        extra.emplace(k, c.size());
        c.emplace_back(k, v);
      }
    }
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
  AxisIndex axes;
  for (size_t a = 0; a < matrix.axes.size(); ++a) axes.emplace(matrix.axes[a].first, a);
  std::erase_if(combos, [&](const MatrixCombination& c) {
    return std::any_of(matrix.exclude.begin(), matrix.exclude.end(),
                       [&](const auto& entry) { return matches(c, axes, entry); });
  });
  const size_t original = combos.size();
  for (const auto& entry : matrix.include)
    if (!add_include(axes, combos, original, entry)) combos.push_back(entry);
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
