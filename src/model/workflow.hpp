#pragma once
// The workflow as plain values (spec: ../shared/spec/workflow-format.md). No I/O here: the
// loader fills these from YAML, the engine reads them. Maps of the file keep the file's order
// as vectors of pairs. Every value that came from the file carries its Mark for diagnostics.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/box.hpp"
#include "util/regex.hpp"

namespace wfo {

/// The most attempts at once a run may allow: the upper bound of `max_parallel` (workflow,
/// agent) and of `-j`.
inline constexpr int k_max_jobs = 10000;

/// A place in the workflow file; 1-based line and column, 0 when unknown.
struct Mark {
  int line = 0;
  int column = 0;
  /// For the text of a block scalar (`run: |`): the indentation its lines after the first
  /// start at in the file, so that expr::mark_at finds the column of a later line; else 0.
  int indent = 0;
};

/// Where a line of a folded block scalar (`run: >`) begins in its text: folding joins the
/// file's lines with spaces, so offsets in the text no longer count the file's lines.
struct FoldedLine {
  size_t offset = 0;  ///< in Template::text, bytes
  Mark mark;          ///< the same place in the file
};

/// A string from the file that may hold `${{ expr }}` substitutions (spec: Expressions).
struct Template {
  Template() = default;
  Template(std::string text, Mark mark, SharedVector<FoldedLine> folded_lines = {})
      : text(std::move(text)), mark(mark), folded_lines(std::move(folded_lines)) {}

  std::string text;
  Mark mark;  ///< where the string starts in the file
  /// A folded block's lines after its first, in order (read by ParsedTemplate::parse for
  /// the marks of its expressions); empty otherwise.
  SharedVector<FoldedLine> folded_lines;
};

/// Ordered name -> template pairs, as `env:` and `with:` are written. Shared by the copies of
/// a task (its matrix and for_each instances) until one is changed (util/box.hpp).
using TemplateMap = SharedVector<std::pair<std::string, Template>>;

/// How failures are retried (spec: Retry and backoff).
enum class Backoff { fixed, linear, exponential };
/// How a backoff delay is randomised (spec: Retry and backoff).
enum class Jitter { none, full, equal };

/// A retry policy. `max_attempts` counts every attempt, the first included.
struct RetryPolicy {
  int max_attempts = 1;
  Backoff backoff = Backoff::fixed;
  std::chrono::milliseconds delay{0};
  double factor = 2.0;
  std::optional<std::chrono::milliseconds> max_delay;
  Jitter jitter = Jitter::none;
  std::vector<int> on_exit_codes;      ///< retry only on these exit codes
  std::vector<Regex> on_output;        ///< retry only when an output line matches one
  std::optional<bool> on_timeout;      ///< retry a timed-out attempt; unset means true
  Mark mark;
};

/// A command template: `shell` runs through `/bin/sh -c`; `argv` runs without a shell.
struct CommandSpec {
  enum class Form { shell, argv };
  Form form = Form::shell;
  std::vector<Template> parts;  ///< shell: exactly one; argv: one per argument (non-empty)
  Mark mark;
};

/// A run input (spec: params). Values are strings.
struct ParamSpec {
  std::string name;
  std::optional<std::string> default_value;
  std::string description;
  std::vector<std::string> enum_values;  ///< allowed values; empty means any
  bool required = false;
  bool secret = false;
  Mark mark;
};

/// A declared output of a task (spec: Outputs and handoffs).
struct OutputSpec {
  std::string name;
  bool required = false;
  std::optional<Regex> pattern;  ///< searched in the value
  Mark mark;
};

/// An input a person gives with `wfo approve --input k=v`.
struct GateInputSpec {
  std::string name;
  bool required = false;
  std::vector<std::string> enum_values;
  std::optional<Regex> pattern;  ///< searched in the value
  std::string description;
  Mark mark;
};

/// Where a gate stands relative to its task's command (spec: Approval gates).
enum class GateWhen { before, after, on_failure };
/// What a gate's timeout decides.
enum class GateOnTimeout { reject, approve };

/// A human checkpoint on a task (spec: Approval gates).
struct ApprovalSpec {
  GateWhen when = GateWhen::before;
  std::optional<Template> message;
  std::vector<std::string> approvers;  ///< OS user names; empty: anyone
  int min_approvals = 1;
  bool prevent_self_approval = false;
  std::optional<std::chrono::milliseconds> timeout;
  GateOnTimeout on_timeout = GateOnTimeout::reject;
  std::vector<GateInputSpec> inputs;
  Mark mark;
};

/// What runs once after a task's retries are spent (spec: Tasks, `fallback`).
struct FallbackSpec {
  std::optional<Template> run;
  std::string agent;
  TemplateMap with;
  Mark mark;
};

/// A matrix fan-out: axes in file order, values as strings (spec: Tasks, `matrix`).
struct MatrixSpec {
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  std::vector<std::vector<std::pair<std::string, std::string>>> include;
  std::vector<std::vector<std::pair<std::string, std::string>>> exclude;
  Mark mark;
};

/// Re-run a task until an expression holds (spec: Tasks, `repeat`).
struct RepeatSpec {
  Template until;
  int max = 1;
  std::chrono::milliseconds interval{0};
  Mark mark;
};

/// A circuit breaker on an agent (spec: Agents).
struct CircuitBreakerSpec {
  int failures = 0;
  std::chrono::milliseconds cooldown{0};
  Mark mark;
};

/// A node of the DAG as written in the file (spec: Tasks). The large, rarely used blocks
/// are boxed (util/box.hpp), so a task is about 550 bytes instead of 1,072.
struct TaskSpec {
  std::string id;
  std::vector<std::string> needs;
  std::vector<Mark> need_marks;  ///< parallel to `needs`
  Box<Template> if_expr;         ///< boxed: rarely set (util/box.hpp)
  std::optional<Template> run;  ///< a shell command
  std::string agent;            ///< an agent name; empty when none
  std::string uses;             ///< a sub-workflow path; empty when none
  TemplateMap with;
  TemplateMap env;
  std::optional<std::string> workdir;
  std::optional<std::chrono::milliseconds> timeout;
  Box<RetryPolicy> retry;  ///< boxed: rarely set, 112 bytes (util/box.hpp)
  SharedVector<OutputSpec> outputs;  ///< shared by the task's instances (util/box.hpp)
  Box<FallbackSpec> fallback;
  Box<Template> compensate;
  Box<ApprovalSpec> approval;
  Box<MatrixSpec> matrix;
  std::optional<int> max_parallel;
  Box<Template> for_each;
  Box<RepeatSpec> repeat;
  // The marks (12 bytes each) and the small fields last, side by side: each after a string
  // took 16 (448 bytes a task instead of 472: 2.4 MB at 100,000 tasks).
  Mark mark;  ///< the task's key
  Mark agent_mark;
  Mark uses_mark;
  int priority = 0;
  bool continue_on_error = false;
  bool fail_fast = true;
};

/// A named command template with defaults (spec: Agents).
struct AgentSpec {
  std::string name;
  Mark mark;
  CommandSpec command;
  TemplateMap env;
  std::optional<std::string> workdir;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<RetryPolicy> retry;
  std::optional<int> max_parallel;
  std::optional<CircuitBreakerSpec> circuit_breaker;
};

/// Run-level handlers, each a shell command (spec: hooks).
struct HooksSpec {
  std::optional<Template> on_success;
  std::optional<Template> on_failure;
  std::optional<Template> on_cancel;
  std::optional<Template> on_waiting;
  std::optional<Template> on_exit;
};

/// What applies to every task unless it says otherwise (spec: defaults).
struct DefaultsSpec {
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<RetryPolicy> retry;
};

/// How durable each commit is (performance issue; docs/reliability.md).
enum class Durability { normal, full };

/// A whole workflow file.
struct Workflow {
  int version = 1;
  std::string name;  ///< default: the file's stem
  std::string description;
  std::string file;        ///< the path as given, for messages
  std::string source_dir;  ///< absolute folder of the file: the default workdir
  std::vector<ParamSpec> params;
  TemplateMap env;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<int> max_parallel;
  DefaultsSpec defaults;
  std::vector<AgentSpec> agents;
  std::vector<TaskSpec> tasks;  ///< in file order
  /// Declared outputs, name -> value template; they become the outputs of a task that uses
  /// this file as a sub-workflow (spec: Tasks, `uses`).
  TemplateMap outputs;
  HooksSpec hooks;
  std::optional<Durability> durability;

  /// Returns the agent named `name`, or nullptr. O(agents).
  const AgentSpec* find_agent(std::string_view name) const {
    for (const auto& a : agents)
      if (a.name == name) return &a;
    return nullptr;
  }
};

}  // namespace wfo
