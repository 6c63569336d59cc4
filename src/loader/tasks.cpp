// Reads the `tasks:` section, then checks what needs the whole file: every need names another
// task of the file, every agent (a task's or its fallback's) is defined under `agents:`.
// Cycles longer than one task are the graph's business (graph/dag), not the loader's.

#include <algorithm>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

#include "loader/sections.hpp"
#include "util/strings.hpp"

namespace wfo::loader {

namespace {

/// Where the keys choosing what a task runs were written; line 0 when absent.
struct KindKeys {
  Mark run, agent, uses;
};

bool before(Mark a, Mark b) {
  return a.line < b.line || (a.line == b.line && a.column < b.column);
}

Result<void> read_needs(const Reader& r, const YNode& v, TaskSpec& t) {
  const char* message = "'needs' must be a string or a list of task ids";
  if (!v.is_scalar() && !v.is_sequence()) return r.fail(v.mark, message);
  // One string, or a list of them: the scalar itself stands for a list of one.
  std::span<const YNode> items = v.is_scalar() ? std::span(&v, 1) : std::span(v.items);
  t.needs.reserve(t.needs.size() + items.size());
  t.need_marks.reserve(t.need_marks.size() + items.size());
  // A need listed twice means the same thing as once; keep the first. A short list is
  // searched, a long one hashed: a join of 10,000 tasks made 50 million comparisons.
  constexpr size_t k_search_up_to = 16;
  std::unordered_set<std::string_view> seen;
  for (const YNode& item : items) {
    if (!item.is_scalar()) return r.fail(item.mark, message);
    if (t.needs.size() < k_search_up_to) {
      if (std::find(t.needs.begin(), t.needs.end(), item.value) != t.needs.end()) continue;
    } else {
      if (seen.empty()) seen.insert(t.needs.begin(), t.needs.end());
      if (!seen.insert(item.value).second) continue;
    }
    t.needs.push_back(item.value);
    t.need_marks.push_back(item.mark);
  }
  return {};
}

/// What the field readers fill: the task being read, and what they note about it. One table
/// of fields serves every task through this slot (a table per task, 21 std::functions, was a
/// fifth of validating a 10,000-task file).
struct TaskSlot {
  TaskSpec* task = nullptr;
  KindKeys kind;
  Mark fallback;  ///< where `fallback: {agent: ...}` names its agent
};

/// The keys that say what a task runs and where.
std::vector<Field> command_fields(const Reader& r, TaskSlot& s) {
  auto& t = s.task;
  auto& kind = s.kind;
  auto& fallback = s.fallback;
  return {
      {"needs", [&](const YEntry& e) { return read_needs(r, e.value, *t); }},
      {"if", [&](const YEntry& e) { return put(t->if_expr, r.command(e.value, "if")); }},
      {"run",
       [&](const YEntry& e) {
         kind.run = e.key.mark;
         return put(t->run, r.command(e.value, "run"));
       }},
      {"agent",
       [&](const YEntry& e) {
         kind.agent = e.key.mark;
         t->agent_mark = e.value.mark;
         return put(t->agent, r.word(e.value, "agent"));
       }},
      {"uses",
       [&](const YEntry& e) {
         kind.uses = e.key.mark;
         t->uses_mark = e.value.mark;
         return put(t->uses, r.word(e.value, "uses"));
       }},
      {"with",
       [&](const YEntry& e) {
         return put(t->with, r.template_map(e.value, "with", NameRule::id));
       }},
      {"env",
       [&](const YEntry& e) {
         return put(t->env, r.template_map(e.value, "env", NameRule::env_var));
       }},
      {"workdir", [&](const YEntry& e) { return put(t->workdir, r.text(e.value, "workdir")); }},
      {"outputs", [&](const YEntry& e) { return put(t->outputs, read_outputs(r, e.value)); }},
      {"fallback",
       [&](const YEntry& e) { return put(t->fallback, read_fallback(r, e.value, fallback)); }},
      {"compensate",
       [&](const YEntry& e) { return put(t->compensate, r.command(e.value, "compensate")); }},
      {"approval", [&](const YEntry& e) { return put(t->approval, read_approval(r, e.value)); }},
  };
}

/// The keys that say how and how often a task runs.
std::vector<Field> policy_fields(const Reader& r, TaskSlot& s) {
  auto& t = s.task;
  return {
      {"timeout", [&](const YEntry& e) { return put(t->timeout, r.timeout(e.value, "timeout")); }},
      {"retry", [&](const YEntry& e) { return put(t->retry, read_retry(r, e.value)); }},
      {"continue_on_error",
       [&](const YEntry& e) {
         return put(t->continue_on_error, r.boolean(e.value, "continue_on_error"));
       }},
      {"matrix", [&](const YEntry& e) { return put(t->matrix, read_matrix(r, e.value)); }},
      {"max_parallel",
       [&](const YEntry& e) {
         return put(t->max_parallel, r.integer(e.value, "max_parallel", 1, 10000));
       }},
      {"fail_fast",
       [&](const YEntry& e) { return put(t->fail_fast, r.boolean(e.value, "fail_fast")); }},
      {"for_each",
       [&](const YEntry& e) { return put(t->for_each, r.command(e.value, "for_each")); }},
      {"repeat", [&](const YEntry& e) { return put(t->repeat, read_repeat(r, e.value)); }},
      {"priority",
       [&](const YEntry& e) {
         return put(t->priority, r.integer(e.value, "priority", std::numeric_limits<int>::min(),
                                           std::numeric_limits<int>::max()));
       }},
  };
}

/// A task runs exactly one of run, agent or uses, or is a pure approval gate.
Result<void> check_kind(const Reader& r, const TaskSpec& t, const KindKeys& kind) {
  std::vector<std::pair<const char*, Mark>> given;
  if (kind.run.line > 0) given.emplace_back("run", kind.run);
  if (kind.agent.line > 0) given.emplace_back("agent", kind.agent);
  if (kind.uses.line > 0) given.emplace_back("uses", kind.uses);
  if (given.size() >= 2) {
    Mark at = before(given[0].second, given[1].second) ? given[1].second : given[0].second;
    return r.fail(at, "task " + quote(t.id) + " has both '" + given[0].first + "' and '" +
                          given[1].first + "': a task runs exactly one of run, agent or uses");
  }
  if (given.empty() && !t.approval)
    return r.fail(t.mark, "task " + quote(t.id) +
                              " has nothing to run: give it run, agent, uses or approval");
  return {};
}

/// Longest task id (bytes), so that `<id>.<attempt>.inputs.json` fits a file name.
constexpr size_t k_max_task_id = 200;

/// Reads one task through `fields`, the table built over `slot`.
Result<TaskSpec> read_task(const Reader& r, const YEntry& entry, TaskSlot& slot,
                           const std::vector<Field>& fields) {
  TaskSpec t;
  t.id = entry.key.value;
  t.mark = entry.key.mark;
  if (auto ok = r.name(entry.key, "task id"); !ok) return std::unexpected(ok.error());
  // Its attempts' files are named after it (`<id>.<n>.log`), and a file name holds at most
  // 255 bytes (NAME_MAX): a longer id failed every attempt with "File name too long".
  if (t.id.size() > k_max_task_id)
    return r.fail(t.mark,
                  "task id " + quote(t.id.substr(0, 20)) + "... is " + std::to_string(t.id.size()) +
                      " characters long; the limit is " + std::to_string(k_max_task_id),
                  "shorten it: its attempts' log files are named after it");
  if (!entry.value.is_mapping() && !entry.value.is_null())  // the message only when needed
    return std::unexpected(r.mapping(entry.value,
                                     "task " + quote(t.id) + " must be a mapping of its keys",
                                     "write e.g. " + t.id + ": {run: make}")
                               .error());
  slot = TaskSlot{&t, {}, {}};
  if (auto ok = read_fields(r, entry.value, "in task " + quote(t.id), fields); !ok)
    return std::unexpected(ok.error());
  slot.task = nullptr;
  if (auto ok = check_kind(r, t, slot.kind); !ok) return std::unexpected(ok.error());
  return t;
}

std::string listing(std::string_view what, const std::vector<std::string>& names) {
  if (names.empty()) return {};
  constexpr size_t k_max_names = 10;
  std::vector<std::string> shown(names.begin(),
                                 names.begin() + std::min(names.size(), k_max_names));
  if (names.size() > k_max_names) shown.push_back("...");
  return std::string(what) + " in this file: " + join(shown, ", ");
}

/// Refuses `name` when it is not among `known`: `<message> (did you mean 'x'?)`.
Result<void> check_known(const Reader& r, Mark at, const std::string& name,
                         const std::vector<std::string>& known, std::string message,
                         std::string hint) {
  if (std::find(known.begin(), known.end(), name) != known.end()) return {};
  std::string match = closest_match(name, known);
  if (!match.empty()) return r.fail(at, message + " (did you mean '" + match + "'?)");
  return r.fail(at, std::move(message), std::move(hint));
}

/// `known` holds the same names as `ids`, for a membership test in O(1) per need (a
/// 100,000-task file has as many needs); `ids` keeps their order for the error's listing.
Result<void> check_needs(const Reader& r, const TaskSpec& t, const std::vector<std::string>& ids,
                         const std::unordered_set<std::string_view>& known) {
  for (size_t i = 0; i < t.needs.size(); ++i) {
    const std::string& need = t.needs[i];
    if (need != t.id && known.count(need)) continue;
    if (need == t.id)
      return r.fail(t.need_marks[i], "task " + quote(t.id) + " needs itself",
                    "remove " + quote(need) + " from its needs");
    std::string message = "task " + quote(t.id) + " needs unknown task " + quote(need);
    // The task itself is no suggestion (`test` needing `tset`): it cannot need itself.
    std::vector<std::string> others;
    for (const auto& id : ids)
      if (id != t.id) others.push_back(id);
    if (auto ok = check_known(r, t.need_marks[i], need, others, message, listing("tasks", ids));
        !ok)
      return ok;
  }
  return {};
}

}  // namespace

Result<std::vector<TaskSpec>> read_tasks(const Reader& r, YNode& v, LoadMarks& marks) {
  if (auto ok = r.mapping(v, "'tasks' must be a mapping of task id to task",
                          "write e.g. tasks: {build: {run: make}}");
      !ok)
    return std::unexpected(ok.error());
  std::vector<TaskSpec> tasks;
  tasks.reserve(v.entries.size());  // a TaskSpec is about 1 KiB: no copies while growing
  TaskSlot slot;
  std::vector<Field> fields = command_fields(r, slot);
  std::vector<Field> policies = policy_fields(r, slot);
  fields.insert(fields.end(), policies.begin(), policies.end());
  for (auto& entry : v.entries) {
    auto t = read_task(r, entry, slot, fields);
    if (!t) return std::unexpected(t.error());
    tasks.push_back(std::move(*t));
    marks.fallback_agents.push_back(slot.fallback);
    entry.value = YNode{};  // read: nothing looks at it again
  }
  return tasks;
}

Result<void> check_references(const Reader& r, const Workflow& wf, const LoadMarks& marks) {
  std::vector<std::string> ids, agents;
  for (const auto& t : wf.tasks) ids.push_back(t.id);
  std::unordered_set<std::string_view> known(ids.begin(), ids.end());
  for (const auto& a : wf.agents) agents.push_back(a.name);
  std::string agent_hint = agents.empty() ? "define it under 'agents:'" : listing("agents", agents);
  for (size_t i = 0; i < wf.tasks.size(); ++i) {
    const TaskSpec& t = wf.tasks[i];
    if (auto ok = check_needs(r, t, ids, known); !ok) return ok;
    std::string who = "task " + quote(t.id);
    if (!t.agent.empty())
      if (auto ok = check_known(r, t.agent_mark, t.agent, agents,
                                who + " uses unknown agent " + quote(t.agent), agent_hint);
          !ok)
        return ok;
    if (t.fallback && !t.fallback->agent.empty())
      if (auto ok = check_known(
              r, marks.fallback_agents[i], t.fallback->agent, agents,
              "fallback of " + who + " uses unknown agent " + quote(t.fallback->agent), agent_hint);
          !ok)
        return ok;
  }
  return {};
}

}  // namespace wfo::loader
