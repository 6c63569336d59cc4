// libFuzzer target: bytes -> load_workflow() -> a Workflow or an Error; on success, compile()
// builds the Plan (DAG, parsed templates, references) and bind_params() fills defaults.
// Whatever the bytes, nothing may crash, hang, leak or read out of bounds, and an Error must
// carry a message that format_diagnostic() can render against the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/plan.hpp"
#include "loader/loader.hpp"
#include "util/diagnostic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto workflow = wfo::load_workflow(text, "fuzz.yaml", "/fuzz");
  if (!workflow) {
    if (workflow.error().message.empty()) std::abort();
    std::string shown = wfo::format_diagnostic(workflow.error(), text);
    if (shown.empty()) std::abort();
    return 0;
  }
  auto params = wfo::bind_params(*workflow, {});
  if (!params && params.error().message.empty()) std::abort();
  auto plan = wfo::compile(std::move(*workflow));
  if (!plan) {
    if (plan.error().message.empty()) std::abort();
    (void)wfo::format_diagnostic(plan.error(), text);
  }
  return 0;
}
