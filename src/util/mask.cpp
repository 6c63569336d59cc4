#include "util/mask.hpp"

#include <algorithm>

namespace wfo {

void Masker::add(std::vector<std::string> values) {
  for (auto& value : values) {
    if (value.empty()) continue;
    m_longest = std::max(m_longest, value.size());
    m_values.push_back(std::move(value));
  }
  std::stable_sort(m_values.begin(), m_values.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

// Each value's next occurrence is found with find() (memchr-fast) and kept until scanning
// passes it, so the text is scanned once per value, never byte by byte: a task's 1 GiB log is
// masked at disk speed instead of stalling the engine for minutes.
size_t Masker::mask_until(std::string_view text, size_t limit, std::string& out) const {
  std::vector<size_t> next(m_values.size(), 0);
  std::vector<bool> known(m_values.size(), false);
  size_t i = 0;
  while (i < limit) {
    size_t best = std::string_view::npos;
    size_t which = 0;
    for (size_t k = 0; k < m_values.size(); ++k) {
      if (!known[k] || (next[k] != std::string_view::npos && next[k] < i)) {
        next[k] = text.find(m_values[k], i);
        known[k] = true;
      }
      if (next[k] < best) {
        best = next[k];
        which = k;
      }
    }
    if (best == std::string_view::npos || best >= limit) {
      out.append(text.substr(i, limit - i));
      return limit;
    }
    out.append(text.substr(i, best - i));
    out += "***";
    i = best + m_values[which].size();
  }
  return i;
}

size_t Masker::unfinished_tail(std::string_view text) const {
  if (m_longest == 0) return 0;
  for (size_t k = std::min(text.size(), m_longest - 1); k > 0; --k) {
    std::string_view tail = text.substr(text.size() - k);
    for (const std::string& value : m_values)
      if (value.size() > k && std::string_view(value).starts_with(tail)) return k;
  }
  return 0;
}

std::string Masker::mask(std::string_view text) const {
  if (m_values.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  mask_until(text, text.size(), out);
  return out;
}

void MaskStream::feed(std::string_view chunk, std::string& out) {
  if (!masks()) {
    out.append(chunk);
    return;
  }
  m_carry.append(chunk);
  // Hold back only the longest tail that some value starts with: a value cut by the end of
  // this chunk is masked whole later, and ordinary text (a prompt without a newline) is
  // written at once. A match found before the tail may run into it, and is consumed whole.
  size_t keep = m_masker->unfinished_tail(m_carry);
  size_t stop = m_masker->mask_until(m_carry, m_carry.size() - keep, out);
  m_carry.erase(0, stop);
}

void MaskStream::finish(std::string& out) {
  if (m_carry.empty()) return;
  if (m_masker) m_masker->mask_until(m_carry, m_carry.size(), out);
  m_carry.clear();
}

}  // namespace wfo
