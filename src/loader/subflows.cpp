// Loading sub-workflow files: a depth-first walk over `uses` keys. A file is loaded once,
// however many tasks use it; a file met again while it is still being walked closes a cycle,
// refused at the `uses` that closes it, with the chain of files as the message. Also the
// reader of a workflow's declared `outputs:` (what a sub-workflow hands back to its parent).

#include "loader/subflows.hpp"

#include <algorithm>
#include <filesystem>

#include "loader/loader.hpp"
#include "loader/sections.hpp"
#include "util/file.hpp"

namespace wfo {

namespace loader {

Result<TemplateMap> read_workflow_outputs(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v, "'outputs' must be a mapping of output name to value",
                          "write e.g. outputs: {url: \"${{ tasks.deploy.outputs.url }}\"}");
      !ok)
    return std::unexpected(ok.error());
  TemplateMap out;
  for (const auto& e : v.entries) {
    if (auto ok = r.name(e.key, "output name"); !ok) return std::unexpected(ok.error());
    if (e.value.is_scalar()) {
      out.emplace_back(e.key.value, r.scalar_template(e.value));
      continue;
    }
    // The long form of GitHub's `on.workflow_call.outputs`: {value: ..., description: ...}.
    Template value;
    std::string description;
    auto ok = read_fields(
        r, e.value, "in output " + quote(e.key.value),
        {{"value", [&](const YEntry& f) { return put(value, r.templ(f.value, "value")); }},
         {"description",
          [&](const YEntry& f) { return put(description, r.text(f.value, "description")); }}});
    if (!ok) return std::unexpected(ok.error());
    if (find_entry(e.value, "value") == nullptr)
      return r.fail(e.value.mark, "output " + quote(e.key.value) + " has no 'value'",
                    "write e.g. " + e.key.value + ": {value: \"${{ tasks.x.outputs.y }}\"}");
    out.emplace_back(e.key.value, std::move(value));
  }
  return out;
}

}  // namespace loader

namespace {

struct Walker {
  const SubflowSource& source;
  std::string* error_text;
  LoadedSubflows out;
  std::vector<std::pair<std::string, std::string>> stack;  ///< key, name: files being walked

  std::unexpected<Error> fail_at(const Workflow& wf, Mark at, std::string message,
                                 std::string hint = {}) {
    // The error is located in `wf`: hand its text out for the caret (none for the root).
    if (error_text) {
      auto it = std::find_if(stack.begin(), stack.end(),
                             [&](const auto& s) { return s.second == wf.file; });
      if (it != stack.end() && it != stack.begin()) *error_text = out.texts[it->first];
    }
    return std::unexpected(Error{ErrorKind::invalid_workflow, std::move(message), wf.file, at.line,
                                 at.column, std::move(hint)});
  }

  std::string cycle_text(const std::string& key, const std::string& name) const {
    auto it =
        std::find_if(stack.begin(), stack.end(), [&](const auto& s) { return s.first == key; });
    std::string text = "sub-workflow cycle: ";
    for (; it != stack.end(); ++it) text += it->second + " -> ";
    return text + name;
  }

  Result<void> visit_use(const Workflow& wf, const TaskSpec& t) {
    if (t.uses.find("${{") != std::string::npos)
      return fail_at(wf, t.uses_mark, "'uses' must be a plain path, not an expression",
                     "name the sub-workflow file, e.g. uses: deploy.yaml");
    std::string key = subflow_key(wf, t.uses);
    std::string name = subflow_display_name(wf, t.uses);
    bool walking =
        std::any_of(stack.begin(), stack.end(), [&](const auto& s) { return s.first == key; });
    if (walking)
      return fail_at(wf, t.uses_mark, cycle_text(key, name),
                     "a workflow may not use itself, directly or through other files");
    if (out.workflows.count(key)) return {};
    auto text = source(key);
    if (!text)
      return fail_at(wf, t.uses_mark,
                     "cannot read sub-workflow '" + t.uses + "': " + text.error().message,
                     "check the path; it is relative to the folder of " + wf.file);
    std::string dir = std::filesystem::path(key).parent_path().string();
    auto loaded = load_workflow(*text, name, dir);
    if (!loaded) {
      if (error_text) *error_text = *text;
      return std::unexpected(loaded.error());
    }
    out.texts[key] = *text;
    auto it = out.workflows.emplace(key, std::move(*loaded)).first;
    stack.emplace_back(key, name);
    if (auto ok = visit(it->second); !ok) return ok;
    stack.pop_back();
    return {};
  }

  Result<void> visit(const Workflow& wf) {
    for (const TaskSpec& t : wf.tasks)
      if (!t.uses.empty())
        if (auto ok = visit_use(wf, t); !ok) return ok;
    return {};
  }
};

}  // namespace

Result<LoadedSubflows> load_subflows(const Workflow& root, const SubflowSource& source,
                                     std::string* error_text) {
  Walker w{source, error_text, {}, {}};
  std::string root_key =
      (std::filesystem::path(root.source_dir) / std::filesystem::path(root.file).filename())
          .lexically_normal()
          .string();
  w.stack.emplace_back(root_key, root.file);
  if (auto ok = w.visit(root); !ok) return std::unexpected(ok.error());
  return std::move(w.out);
}

SubflowSource disk_subflow_source() {
  return [](const std::string& key) { return read_file(key); };
}

}  // namespace wfo
