#pragma once
// Box<T>: an optional T kept on the heap, for rarely present, large blocks of a struct held
// many times over (a workflow's tasks: a 10,000-task run holds 10,000 of them). An empty
// Box is one pointer (8 bytes) where std::optional<T> would be sizeof(T) + 8.

#include <memory>
#include <optional>
#include <utility>

namespace wfo {

/// Holds zero or one T on the heap, with std::optional's interface for what wfo uses
/// (bool test, *, ->, has_value, value, emplace, reset, assignment from T or nullopt) and
/// value semantics (copies copy the T). Errors: value() of an empty Box throws
/// std::bad_optional_access, as std::optional does.
template <typename T>
class Box {
 public:
  Box() = default;
  Box(std::nullopt_t) {}  // NOLINT: implicit, as std::optional
  Box(T value) : m_value(std::make_unique<T>(std::move(value))) {}  // NOLINT: as above
  Box(const Box& other) : m_value(other.m_value ? std::make_unique<T>(*other.m_value) : nullptr) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& other) {
    if (this != &other) m_value = other.m_value ? std::make_unique<T>(*other.m_value) : nullptr;
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  Box& operator=(std::nullopt_t) {
    m_value.reset();
    return *this;
  }
  Box& operator=(T value) {
    m_value = std::make_unique<T>(std::move(value));
    return *this;
  }

  explicit operator bool() const { return m_value != nullptr; }
  bool has_value() const { return m_value != nullptr; }
  T& operator*() { return *m_value; }
  const T& operator*() const { return *m_value; }
  T* operator->() { return m_value.get(); }
  const T* operator->() const { return m_value.get(); }
  T& value() {
    if (!m_value) throw std::bad_optional_access();
    return *m_value;
  }
  const T& value() const {
    if (!m_value) throw std::bad_optional_access();
    return *m_value;
  }
  template <typename... Args>
  T& emplace(Args&&... args) {
    m_value = std::make_unique<T>(std::forward<Args>(args)...);
    return *m_value;
  }
  void reset() { m_value.reset(); }

 private:
  std::unique_ptr<T> m_value;
};

}  // namespace wfo
