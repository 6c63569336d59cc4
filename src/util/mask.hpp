#pragma once
// Masking secret values in text (issue 8): every occurrence becomes `***`, in whole strings
// and in streams (a task's output as it is written to its log, a file being rewritten).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wfo {

/// A set of values to mask. Values shorter than 4 bytes are refused by the CLI (they would
/// mask ordinary text); this class takes any non-empty value.
class Masker {
 public:
  /// Adds every value of `values` to the values to mask (empty ones ignored), with one
  /// sort: O(n log n) for n values (the secrets of a run are added at once).
  void add(std::vector<std::string> values);
  bool empty() const { return m_values.empty(); }
  /// Length in bytes of the longest value (0 when empty).
  size_t longest() const { return m_longest; }
  /// Returns `text` with every value replaced by `***`. At each position the earliest match
  /// wins, and among matches starting there the longest. O(|text| * values), by find() per
  /// value rather than per byte.
  std::string mask(std::string_view text) const;
  /// Appends to `out` the masked form of `text` up to `limit` (a match starting before
  /// `limit` is masked whole, even when it runs past it); returns the offset in `text` where
  /// it stopped, at or after `limit`. mask_until(t, t.size(), out) masks all of `t`.
  size_t mask_until(std::string_view text, size_t limit, std::string& out) const;
  /// Length of the longest end of `text` that is the start of some value (shorter than the
  /// value): what a stream must hold back until it knows more. 0 when none.
  size_t unfinished_tail(std::string_view text) const;

 private:
  std::vector<std::string> m_values;  ///< longest first, so a longer value masks whole
  size_t m_longest = 0;
};

/// Masks a stream given in chunks of any size: a value cut by a chunk boundary is still
/// masked whole. Holds back only a tail that a value starts with (at most longest() - 1
/// bytes) until the next chunk or finish(); everything else is passed on at once.
/// Memory: one chunk plus that tail. With a null or empty masker it passes text through.
class MaskStream {
 public:
  explicit MaskStream(std::shared_ptr<const Masker> masker) : m_masker(std::move(masker)) {}
  /// False when there is nothing to mask (a null or empty masker): feed() would copy the
  /// text unchanged, so a caller may write the chunk itself.
  bool masks() const { return m_masker && !m_masker->empty(); }
  /// Appends to `out` the masked text that no later chunk can change.
  void feed(std::string_view chunk, std::string& out);
  /// Appends to `out` whatever was held back, masked: the end of the stream.
  void finish(std::string& out);

 private:
  std::shared_ptr<const Masker> m_masker;
  std::string m_carry;  ///< bytes a value may still straddle
};

}  // namespace wfo
