#include "model/status.hpp"

#include <array>

namespace wfo {
namespace {

template <typename E, size_t N>
std::optional<E> parse(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

constexpr std::array<std::string_view, 6> k_run = {
    "running", "waiting_approval", "succeeded", "failed", "cancelled", "interrupted"};
constexpr std::array<std::string_view, 8> k_task = {
    "pending", "running", "retrying", "waiting_approval",
    "succeeded", "failed", "skipped", "cancelled"};
constexpr std::array<std::string_view, 6> k_attempt = {
    "running", "succeeded", "failed", "timed_out", "interrupted", "cancelled"};
constexpr std::array<std::string_view, 3> k_gate = {"waiting", "approved", "rejected"};

}  // namespace

std::string_view to_string(RunStatus s) { return k_run[static_cast<size_t>(s)]; }
std::string_view to_string(TaskStatus s) { return k_task[static_cast<size_t>(s)]; }
std::string_view to_string(AttemptStatus s) { return k_attempt[static_cast<size_t>(s)]; }
std::string_view to_string(GateStatus s) { return k_gate[static_cast<size_t>(s)]; }
std::optional<RunStatus> parse_run_status(std::string_view s) { return parse<RunStatus>(k_run, s); }
std::optional<TaskStatus> parse_task_status(std::string_view s) {
  return parse<TaskStatus>(k_task, s);
}
std::optional<AttemptStatus> parse_attempt_status(std::string_view s) {
  return parse<AttemptStatus>(k_attempt, s);
}
std::optional<GateStatus> parse_gate_status(std::string_view s) {
  return parse<GateStatus>(k_gate, s);
}

}  // namespace wfo
