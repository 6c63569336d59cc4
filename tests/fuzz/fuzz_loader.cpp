// libFuzzer target: bytes -> load_workflow() -> a Workflow or an Error; on success the files
// it `uses` are loaded from memory (every key gets one fixed sub-workflow, except names
// holding "loop", which use themselves: a cycle to refuse), then compile() builds the Plan
// (DAG, parsed templates, references, sub-workflows inlined) and bind_params() fills
// defaults. Whatever the bytes, nothing may crash, hang, leak or read out of bounds, and an
// Error must carry a message that format_diagnostic() can render against the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/plan.hpp"
#include "loader/loader.hpp"
#include "loader/subflows.hpp"
#include "util/diagnostic.hpp"

namespace {

constexpr const char* k_sub = R"(version: 1
params:
  target: {default: db}
  mode: {default: fast, enum: [fast, safe]}
outputs:
  url: https://${{ params.target }}/v${{ tasks.migrate.outputs.schema }}
  mode: {value: "${{ params.mode }}", description: how it ran}
tasks:
  migrate: {run: 'echo "schema=7" >> "$WFO_OUTPUT"'}
  check: {needs: migrate, run: 'echo ${{ params.mode }}'}
  gate: {needs: check, approval: {message: 'ok ${{ params.target }}?'}}
)";

constexpr const char* k_loop = R"(version: 1
tasks:
  again: {uses: ./loop.yaml}
)";

wfo::Result<std::string> sub_source(const std::string& key) {
  if (key.find("missing") != std::string::npos)
    return wfo::fail(wfo::ErrorKind::io, "no such file");
  return std::string(key.find("loop") != std::string::npos ? k_loop : k_sub);
}

void check(const wfo::Error& e, std::string_view text) {
  if (e.message.empty()) std::abort();
  if (wfo::format_diagnostic(e, text).empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto workflow = wfo::load_workflow(text, "fuzz.yaml", "/fuzz");
  if (!workflow) {
    check(workflow.error(), text);
    return 0;
  }
  auto params = wfo::bind_params(*workflow, {});
  if (!params) check(params.error(), text);
  std::string sub_text;
  auto subs = wfo::load_subflows(*workflow, sub_source, &sub_text);
  if (!subs) {
    check(subs.error(), sub_text.empty() ? text : std::string_view(sub_text));
    subs = wfo::LoadedSubflows{};
  }
  auto plan = wfo::compile(std::move(*workflow), std::move(subs->workflows));
  if (!plan) check(plan.error(), text);
  return 0;
}
