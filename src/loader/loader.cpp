// load_workflow: text -> checked text -> YNode tree -> Workflow. The steps run in that order so
// that the YAML parser only sees text that cannot hurt it, and the readers only see a tree without
// duplicate keys. The top level is read in file order, except `version`, which is read first:
// a file of another version should hear that before anything about its keys.

#include "loader/loader.hpp"

#include <filesystem>

#include "loader/sections.hpp"
#include "util/strings.hpp"

namespace wfo {

namespace loader {

namespace {

constexpr const char* k_start_hint = "start with 'version: 1' and a 'tasks:' map";

Result<void> check_version(const Reader& r, const YNode& root) {
  const YEntry* version = find_entry(root, "version");
  if (version == nullptr)
    return r.fail(Mark{1, 1}, "missing required key 'version'", "add 'version: 1' at the top");
  const YNode& v = version->value;
  if (!v.is_scalar() || !v.plain || v.value.find_first_not_of("0123456789") != std::string::npos ||
      v.value.empty())
    return r.fail(v.mark, "'version' must be an integer", "write 'version: 1'");
  if (v.value != "1")
    return r.fail(v.mark, "unsupported version " + v.value + " (this wfo reads version 1)");
  return {};
}

Result<ParamSpec> read_param(const Reader& r, const YEntry& e) {
  ParamSpec p;
  p.name = e.key.value;
  p.mark = e.key.mark;
  if (auto ok = r.name(e.key, "param name"); !ok) return std::unexpected(ok.error());
  if (auto ok = r.mapping(e.value, "param " + quote(p.name) + " must be a mapping of settings",
                          "write e.g. " + p.name + ": {default: value}");
      !ok)
    return std::unexpected(ok.error());
  auto ok = read_fields(
      r, e.value, "in param " + quote(p.name),
      {{"default",
        [&](const YEntry& f) { return put(p.default_value, r.text(f.value, "default")); }},
       {"description",
        [&](const YEntry& f) { return put(p.description, r.text(f.value, "description")); }},
       {"enum",
        [&](const YEntry& f) {
          return put(p.enum_values, r.text_list(f.value, "enum", "values"));
        }},
       {"required",
        [&](const YEntry& f) { return put(p.required, r.boolean(f.value, "required")); }},
       {"secret", [&](const YEntry& f) { return put(p.secret, r.boolean(f.value, "secret")); }}});
  if (!ok) return std::unexpected(ok.error());
  return p;
}

/// An `enum:` must list something, and a default must be one of it.
Result<void> check_param_enum(const Reader& r, const YNode& body, const ParamSpec& p) {
  const YEntry* values = find_entry(body, "enum");
  if (values == nullptr) return {};
  if (p.enum_values.empty())
    return r.fail(values->value.mark, "'enum' of param " + quote(p.name) + " lists no values");
  if (!p.default_value) return {};
  for (const auto& v : p.enum_values)
    if (v == *p.default_value) return {};
  return r.fail(find_entry(body, "default")->value.mark,
                "default " + quote(*p.default_value) + " of param " + quote(p.name) +
                    " is not one of its enum values",
                "use one of: " + join(p.enum_values, ", "));
}

Result<std::vector<ParamSpec>> read_params(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v, "'params' must be a mapping of param name to settings",
                          "write e.g. params: {feature: {default: login}}");
      !ok)
    return std::unexpected(ok.error());
  std::vector<ParamSpec> params;
  for (const auto& e : v.entries) {
    auto p = read_param(r, e);
    if (!p) return std::unexpected(p.error());
    if (auto ok = check_param_enum(r, e.value, *p); !ok) return std::unexpected(ok.error());
    params.push_back(std::move(*p));
  }
  return params;
}

Result<AgentSpec> read_agent(const Reader& r, const YEntry& e) {
  AgentSpec a;
  a.name = e.key.value;
  a.mark = e.key.mark;
  if (auto ok = r.name(e.key, "agent name"); !ok) return std::unexpected(ok.error());
  if (auto ok = r.mapping(e.value, "agent " + quote(a.name) + " must be a mapping of its keys",
                          "write e.g. " + a.name + ": {command: ./agent.sh}");
      !ok)
    return std::unexpected(ok.error());
  auto ok = read_fields(
      r, e.value, "in agent " + quote(a.name),
      {{"command", [&](const YEntry& f) { return put(a.command, read_command(r, f.value)); }},
       {"env",
        [&](const YEntry& f) {
          return put(a.env, r.template_map(f.value, "env", NameRule::env_var));
        }},
       {"workdir", [&](const YEntry& f) { return put(a.workdir, r.text(f.value, "workdir")); }},
       {"timeout", [&](const YEntry& f) { return put(a.timeout, r.timeout(f.value, "timeout")); }},
       {"retry", [&](const YEntry& f) { return put(a.retry, read_retry(r, f.value)); }},
       {"max_parallel",
        [&](const YEntry& f) {
          return put(a.max_parallel, r.integer(f.value, "max_parallel", 1, k_max_jobs));
        }},
       {"circuit_breaker", [&](const YEntry& f) {
          return put(a.circuit_breaker, read_circuit_breaker(r, f.value));
        }}});
  if (!ok) return std::unexpected(ok.error());
  if (find_entry(e.value, "command") == nullptr)
    return r.fail(a.mark, "missing required key 'command' in agent " + quote(a.name),
                  "give the agent a command, e.g. command: [\"./agent.sh\"]");
  return a;
}

Result<std::vector<AgentSpec>> read_agents(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v, "'agents' must be a mapping of agent name to agent",
                          "write e.g. agents: {coder: {command: ./coder.sh}}");
      !ok)
    return std::unexpected(ok.error());
  std::vector<AgentSpec> agents;
  for (const auto& e : v.entries) {
    auto a = read_agent(r, e);
    if (!a) return std::unexpected(a.error());
    agents.push_back(std::move(*a));
  }
  return agents;
}

Result<DefaultsSpec> read_defaults(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v, "'defaults' must be a mapping such as {timeout: 10m}"); !ok)
    return std::unexpected(ok.error());
  DefaultsSpec d;
  auto ok = read_fields(
      r, v, "in defaults",
      {{"timeout", [&](const YEntry& e) { return put(d.timeout, r.timeout(e.value, "timeout")); }},
       {"retry", [&](const YEntry& e) { return put(d.retry, read_retry(r, e.value)); }}});
  if (!ok) return std::unexpected(ok.error());
  return d;
}

Result<HooksSpec> read_hooks(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v, "'hooks' must be a mapping of event to command",
                          "write e.g. hooks: {on_failure: ./page.sh}");
      !ok)
    return std::unexpected(ok.error());
  HooksSpec h;
  auto hook = [&](std::string_view name, std::optional<Template>& target) {
    return Field{name, [&r, &target, name](const YEntry& e) {
                   return put(target, r.command(e.value, name));
                 }};
  };
  auto ok = read_fields(r, v, "in hooks",
                        {hook("on_success", h.on_success), hook("on_failure", h.on_failure),
                         hook("on_cancel", h.on_cancel), hook("on_waiting", h.on_waiting),
                         hook("on_exit", h.on_exit)});
  if (!ok) return std::unexpected(ok.error());
  return h;
}

// Consumes the tasks' subtrees of `root` (read_tasks).
Result<void> read_top_level(const Reader& r, YNode& root, Workflow& wf, LoadMarks& marks) {
  return read_fields(
      r, root, "at top level",
      {{"version", [](const YEntry&) { return Result<void>{}; }},
       {"name", [&](const YEntry& e) { return put(wf.name, r.word(e.value, "name")); }},
       {"description",
        [&](const YEntry& e) { return put(wf.description, r.text(e.value, "description")); }},
       {"params", [&](const YEntry& e) { return put(wf.params, read_params(r, e.value)); }},
       {"env",
        [&](const YEntry& e) {
          return put(wf.env, r.template_map(e.value, "env", NameRule::env_var));
        }},
       {"timeout", [&](const YEntry& e) { return put(wf.timeout, r.timeout(e.value, "timeout")); }},
       {"max_parallel",
        [&](const YEntry& e) {
          return put(wf.max_parallel, r.integer(e.value, "max_parallel", 1, k_max_jobs));
        }},
       {"defaults", [&](const YEntry& e) { return put(wf.defaults, read_defaults(r, e.value)); }},
       {"agents", [&](const YEntry& e) { return put(wf.agents, read_agents(r, e.value)); }},
       {"tasks",
        [&](const YEntry& e) {
          // read_fields hands out root's entries as const; the tree is ours to consume.
          YEntry& tasks = root.entries[static_cast<size_t>(&e - root.entries.data())];
          return put(wf.tasks, read_tasks(r, tasks.value, marks));
        }},
       {"hooks", [&](const YEntry& e) { return put(wf.hooks, read_hooks(r, e.value)); }},
       {"outputs",
        [&](const YEntry& e) { return put(wf.outputs, read_workflow_outputs(r, e.value)); }},
       {"durability", [&](const YEntry& e) {
          return put_choice(wf.durability.emplace(),
                            r.choice(e.value, "durability", {"normal", "full"}));
        }}});
}

Result<YNode> read_root(const Reader& r, std::string_view text) {
  if (auto ok = check_text(text, r.file()); !ok) return std::unexpected(ok.error());
  auto root = parse_yaml_tree(text, r.file());
  if (!root) return root;
  if (root->is_null()) return r.fail(Mark{}, "empty workflow", k_start_hint);
  if (!root->is_mapping())
    return r.fail(root->mark, "the top level must be a mapping", k_start_hint);
  return root;
}

Result<Workflow> load(std::string_view text, const std::string& file,
                      const std::string& source_dir) {
  Reader r(file, text);
  auto root = read_root(r, text);
  if (!root) return std::unexpected(root.error());
  Workflow wf;
  wf.file = file;
  wf.source_dir = source_dir;
  wf.name = std::filesystem::path(file).stem().string();
  const YEntry* version = find_entry(*root, "version");
  if (version != nullptr)
    if (auto ok = check_version(r, *root); !ok) return std::unexpected(ok.error());
  LoadMarks marks;
  if (auto ok = read_top_level(r, *root, wf, marks); !ok) return std::unexpected(ok.error());
  if (version == nullptr) return std::unexpected(check_version(r, *root).error());
  if (wf.tasks.empty()) {
    const YEntry* tasks = find_entry(*root, "tasks");
    return r.fail(tasks != nullptr ? tasks->key.mark : Mark{}, "the workflow has no tasks",
                  "add a 'tasks:' map with at least one task, e.g. tasks: {build: {run: make}}");
  }
  if (auto ok = check_references(r, wf, marks); !ok) return std::unexpected(ok.error());
  return wf;
}

}  // namespace

Result<CommandSpec> read_command(const Reader& r, const YNode& v) {
  CommandSpec c;
  c.mark = v.mark;
  if (v.is_scalar()) {
    c.form = CommandSpec::Form::shell;
    auto part = r.command(v, "command");
    if (!part) return std::unexpected(part.error());
    c.parts.push_back(std::move(*part));
    return c;
  }
  const char* message = "'command' must be a string or a list of arguments";
  if (!v.is_sequence()) return r.fail(v.mark, message);
  if (v.items.empty())
    return r.fail(v.mark, "'command' must not be an empty list",
                  "give the program and its arguments, e.g. [\"./agent.sh\", \"--flag\"]");
  c.form = CommandSpec::Form::argv;
  for (const auto& item : v.items) {
    if (!item.is_scalar()) return r.fail(item.mark, message);
    c.parts.push_back(r.scalar_template(item));
  }
  if (c.parts[0].text.empty()) return r.fail(v.items[0].mark, "the program in 'command' is empty");
  return c;
}

}  // namespace loader

Result<Workflow> load_workflow(std::string_view text, const std::string& file,
                               const std::string& source_dir) {
  try {
    return loader::load(text, file, source_dir);
  } catch (const std::exception& e) {
    // The readers do not throw by design; this keeps a bug or bad_alloc from escaping.
    return std::unexpected(Error{ErrorKind::invalid_workflow,
                                 std::string("cannot read the workflow: ") + e.what(),
                                 file,
                                 0,
                                 0,
                                 {}});
  }
}

}  // namespace wfo
