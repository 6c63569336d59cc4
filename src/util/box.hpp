#pragma once
// Box<T>: an optional T kept on the heap, for rarely present, large blocks of a struct held
// many times over (a workflow's tasks: a 10,000-task run holds 10,000 of them). An empty
// Box is one pointer (8 bytes) where std::optional<T> would be sizeof(T) + 8.
//
// Copies share the T until one of them is changed (copy on write): a matrix or for_each
// instance is a copy of its task, and each instance holding its own copy of the task's
// definition made memory instances x definition (256 instances of a matrix with 16,000
// `exclude` entries: 683 MB). SharedVector<T> is a vector shared the same way.

#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

namespace wfo {

/// Holds zero or one T on the heap, with std::optional's interface for what wfo uses
/// (bool test, *, ->, has_value, value, emplace, reset, assignment from T or nullopt) and
/// value semantics: a copy shares the T (a reference count, 8 bytes beside it), and the
/// non-const accessors give a Box its own T first when it is shared. So a reference taken
/// from a Box must not be kept across a copy of that Box. Errors: value() of an empty Box
/// throws std::bad_optional_access, as std::optional does. Thread safety: as a
/// std::shared_ptr's count (copies in different threads may be changed at once).
template <typename T>
class Box {
 public:
  Box() = default;
  Box(std::nullopt_t) {}                                // NOLINT: implicit, as std::optional
  Box(T value) : m_held(new Held(std::move(value))) {}  // NOLINT: as above
  Box(const Box& other) : m_held(other.m_held) {
    if (m_held) m_held->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Box(Box&& other) noexcept : m_held(std::exchange(other.m_held, nullptr)) {}
  Box& operator=(const Box& other) {
    Held* held = other.m_held;  // counted first: `other` may share this Box's T
    if (held) held->refs.fetch_add(1, std::memory_order_relaxed);
    release();
    m_held = held;
    return *this;
  }
  Box& operator=(Box&& other) noexcept {
    if (this != &other) {
      release();
      m_held = std::exchange(other.m_held, nullptr);
    }
    return *this;
  }
  Box& operator=(std::nullopt_t) {
    release();
    return *this;
  }
  Box& operator=(T value) {
    Held* held = new Held(std::move(value));
    release();
    m_held = held;
    return *this;
  }
  ~Box() { release(); }

  explicit operator bool() const { return m_held != nullptr; }
  bool has_value() const { return m_held != nullptr; }
  T& operator*() { return own(); }
  const T& operator*() const { return m_held->value; }
  T* operator->() { return m_held ? &own() : nullptr; }
  const T* operator->() const { return m_held ? &m_held->value : nullptr; }
  T& value() {
    if (!m_held) throw std::bad_optional_access();
    return own();
  }
  const T& value() const {
    if (!m_held) throw std::bad_optional_access();
    return m_held->value;
  }
  template <typename... Args>
  T& emplace(Args&&... args) {
    Held* held = new Held(std::forward<Args>(args)...);
    release();
    m_held = held;
    return held->value;
  }
  void reset() { release(); }
  /// True when another Box shares this one's T now.
  bool shared() const { return m_held && m_held->refs.load(std::memory_order_relaxed) > 1; }

 private:
  struct Held {
    template <typename... Args>
    explicit Held(Args&&... args) : value(std::forward<Args>(args)...) {}
    std::atomic<size_t> refs{1};
    T value;
  };

  void release() {
    if (m_held && m_held->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete m_held;
    m_held = nullptr;
  }
  // The T, this Box's own: copied first when another Box shares it. The acquire pairs with
  // the other owners' release of their count, so their reads are done before a write here.
  T& own() {
    if (m_held->refs.load(std::memory_order_acquire) != 1) {
      Held* copy = new Held(std::as_const(m_held->value));
      release();
      m_held = copy;
    }
    return m_held->value;
  }

  Held* m_held = nullptr;
};

/// A std::vector<T> whose copies share their elements until one of them is changed (a Box
/// of the vector; see above). Reading is std::vector's const interface; changing goes through
/// emplace_back, push_back, reserve, clear or edit(). One pointer (8 bytes) where a vector is
/// 24; an empty one allocates nothing.
template <typename T>
class SharedVector {
 public:
  using value_type = T;
  using size_type = size_t;
  using const_iterator = typename std::vector<T>::const_iterator;
  using iterator = const_iterator;

  SharedVector() = default;
  SharedVector(std::initializer_list<T> items) {  // NOLINT: implicit, as std::vector
    if (items.size() > 0) m_items = std::vector<T>(items);
  }
  SharedVector(std::vector<T> items) {  // NOLINT: implicit
    if (!items.empty()) m_items = std::move(items);
  }

  /// The elements; an empty vector when there are none.
  const std::vector<T>& items() const { return m_items ? *m_items : none(); }
  const_iterator begin() const { return items().begin(); }
  const_iterator end() const { return items().end(); }
  size_t size() const { return m_items ? m_items->size() : 0; }
  bool empty() const { return size() == 0; }
  const T& operator[](size_t k) const { return items()[k]; }
  const T& front() const { return items().front(); }
  const T& back() const { return items().back(); }
  /// Where the elements are kept, the same for copies that share them; nullptr when empty.
  /// Valid until this vector or a copy is changed.
  const void* identity() const { return m_items ? &*std::as_const(m_items) : nullptr; }
  /// True when another copy shares the elements now.
  bool shared() const { return m_items.shared(); }

  /// The elements, this vector's own (copied first when shared), to change in place.
  std::vector<T>& edit() {
    if (!m_items) m_items.emplace();
    return *m_items;
  }
  template <typename... Args>
  T& emplace_back(Args&&... args) {
    return edit().emplace_back(std::forward<Args>(args)...);
  }
  void push_back(T item) { edit().push_back(std::move(item)); }
  void reserve(size_t n) { edit().reserve(n); }
  void clear() { m_items.reset(); }

  friend bool operator==(const SharedVector& a, const SharedVector& b) {
    return a.items() == b.items();
  }

 private:
  static const std::vector<T>& none() {
    static const std::vector<T> no_items;
    return no_items;
  }
  Box<std::vector<T>> m_items;
};

}  // namespace wfo
