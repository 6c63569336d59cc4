// Readers for the policy blocks a task or agent may carry: retry, approval, matrix, repeat,
// fallback, circuit breaker and outputs. Each refuses unknown keys, wrong types and numbers
// outside the ranges the spec allows; none looks outside its own block.

#include <algorithm>
#include <string>

#include "loader/sections.hpp"
#include "util/strings.hpp"

namespace wfo::loader {

namespace {

using Combination = std::vector<std::pair<std::string, std::string>>;

std::unexpected<Error> missing_key(const Reader& r, const YNode& map, std::string_view key,
                                   std::string_view where) {
  return r.fail(map.mark, "missing required key " + quote(key) + " in " + std::string(where));
}

Result<void> read_factor(const Reader& r, const YNode& v, double& factor) {
  auto d = r.number(v, "factor");
  if (!d) return std::unexpected(d.error());
  if (*d <= 0 || *d > 100)
    return r.fail(v.mark, "'factor' must be greater than 0 and at most 100, got " + v.value);
  factor = *d;
  return {};
}

Result<void> read_exit_codes(const Reader& r, const YNode& v, std::vector<int>& codes) {
  auto is_integer = [](const YNode& n) {
    return n.is_scalar() && n.plain && !n.value.empty() &&
           n.value.find_first_not_of("+-0123456789") == std::string::npos;
  };
  if (!v.is_sequence()) return r.fail(v.mark, "'on_exit_codes' must be a list of integers");
  for (const auto& item : v.items) {
    if (!is_integer(item)) return r.fail(item.mark, "'on_exit_codes' must be a list of integers");
    auto code = r.integer(item, "on_exit_codes", 0, 255);
    if (!code) return std::unexpected(code.error());
    codes.push_back(static_cast<int>(*code));
  }
  return {};
}

Result<GateInputSpec> read_gate_input(const Reader& r, const YEntry& e) {
  GateInputSpec in;
  in.name = e.key.value;
  in.mark = e.key.mark;
  if (auto ok = r.name(e.key, "input name"); !ok) return std::unexpected(ok.error());
  if (auto ok = r.mapping(
          e.value, "input " + quote(in.name) + " must be a mapping such as " + "{required: true}");
      !ok)
    return std::unexpected(ok.error());
  auto ok = read_fields(
      r, e.value, "in input " + quote(in.name),
      {{"required",
        [&](const YEntry& f) { return put(in.required, r.boolean(f.value, "required")); }},
       {"enum",
        [&](const YEntry& f) {
          return put(in.enum_values, r.text_list(f.value, "enum", "values"));
        }},
       {"pattern", [&](const YEntry& f) { return put(in.pattern, r.pattern(f.value, "pattern")); }},
       {"description",
        [&](const YEntry& f) { return put(in.description, r.text(f.value, "description")); }}});
  if (!ok) return std::unexpected(ok.error());
  return in;
}

Result<void> read_gate_inputs(const Reader& r, const YNode& v, ApprovalSpec& a) {
  if (auto ok = r.mapping(v, "'inputs' must be a mapping of input name to settings"); !ok)
    return ok;
  for (const auto& e : v.entries) {
    auto in = read_gate_input(r, e);
    if (!in) return std::unexpected(in.error());
    a.inputs.push_back(std::move(*in));
  }
  return {};
}

Result<void> check_min_approvals(const Reader& r, const YNode& v, const ApprovalSpec& a) {
  const YEntry* min = find_entry(v, "min_approvals");
  if (min == nullptr || a.approvers.empty() ||
      static_cast<size_t>(a.min_approvals) <= a.approvers.size())
    return {};
  return r.fail(min->value.mark,
                "'min_approvals' is " + std::to_string(a.min_approvals) + " but only " +
                    std::to_string(a.approvers.size()) + " approvers are listed",
                "list more approvers or lower 'min_approvals'");
}

Result<Combination> read_combination(const Reader& r, const YNode& v, std::string_view key) {
  std::string message = quote(key) + " must be a list of mappings such as {suite: unit}";
  if (!v.is_mapping()) return r.fail(v.mark, message);
  Combination out;
  for (const auto& e : v.entries) {
    if (!e.value.is_scalar())
      return r.fail(e.value.mark, quote(e.key.value) + " in " + quote(key) +
                                      " must be a string, number or boolean");
    out.emplace_back(e.key.value, e.value.value);
  }
  return out;
}

Result<std::vector<Combination>> read_combinations(const Reader& r, const YNode& v,
                                                   std::string_view key) {
  if (!v.is_sequence())
    return r.fail(v.mark, quote(key) + " must be a list of mappings such as {suite: unit}");
  std::vector<Combination> out;
  for (const auto& item : v.items) {
    auto c = read_combination(r, item, key);
    if (!c) return std::unexpected(c.error());
    out.push_back(std::move(*c));
  }
  return out;
}

Result<void> read_axis(const Reader& r, const YEntry& e, MatrixSpec& m) {
  if (auto ok = r.name(e.key, "matrix axis"); !ok) return ok;
  std::string message = "matrix axis " + quote(e.key.value) + " must be a list of values";
  if (!e.value.is_sequence()) return r.fail(e.value.mark, message);
  if (e.value.items.empty())
    return r.fail(e.value.mark, "matrix axis " + quote(e.key.value) + " has no values");
  std::vector<std::string> values;
  for (const auto& item : e.value.items) {
    if (!item.is_scalar()) return r.fail(item.mark, message);
    values.push_back(item.value);
  }
  m.axes.emplace_back(e.key.value, std::move(values));
  return {};
}

/// Every key of an `exclude:` entry must name an axis, or it could never match.
Result<void> check_excludes(const Reader& r, const YNode& v, const MatrixSpec& m) {
  const YEntry* exclude = find_entry(v, "exclude");
  if (exclude == nullptr) return {};
  std::vector<std::string> axes;
  for (const auto& axis : m.axes) axes.push_back(axis.first);
  for (const auto& item : exclude->value.items) {
    for (const auto& e : item.entries) {
      if (std::find(axes.begin(), axes.end(), e.key.value) != axes.end()) continue;
      std::string message = "'exclude' names unknown matrix axis " + quote(e.key.value);
      std::string match = closest_match(e.key.value, axes);
      if (!match.empty()) message += " (did you mean '" + match + "'?)";
      return r.fail(e.key.mark, message);
    }
  }
  return {};
}

}  // namespace

Result<RetryPolicy> read_retry(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v, "'retry' must be a mapping such as {max_attempts: 3}"); !ok)
    return std::unexpected(ok.error());
  RetryPolicy p;
  p.mark = v.mark;
  auto ok = read_fields(
      r, v, "in retry",
      {{"max_attempts",
        [&](const YEntry& e) {
          return put(p.max_attempts, r.integer(e.value, "max_attempts", 1, 100));
        }},
       {"backoff",
        [&](const YEntry& e) {
          return put_choice(p.backoff,
                            r.choice(e.value, "backoff", {"fixed", "linear", "exponential"}));
        }},
       {"delay", [&](const YEntry& e) { return put(p.delay, r.duration(e.value, "delay")); }},
       {"factor", [&](const YEntry& e) { return read_factor(r, e.value, p.factor); }},
       {"max_delay",
        [&](const YEntry& e) { return put(p.max_delay, r.duration(e.value, "max_delay")); }},
       {"jitter",
        [&](const YEntry& e) {
          return put_choice(p.jitter, r.choice(e.value, "jitter", {"none", "full", "equal"}));
        }},
       {"on_exit_codes",
        [&](const YEntry& e) { return read_exit_codes(r, e.value, p.on_exit_codes); }},
       {"on_output",
        [&](const YEntry& e) { return put(p.on_output, r.pattern_list(e.value, "on_output")); }},
       {"on_timeout",
        [&](const YEntry& e) { return put(p.on_timeout, r.boolean(e.value, "on_timeout")); }}});
  if (!ok) return std::unexpected(ok.error());
  return p;
}

Result<ApprovalSpec> read_approval(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v, "'approval' must be a mapping such as {approvers: [alice]}"); !ok)
    return std::unexpected(ok.error());
  ApprovalSpec a;
  a.mark = v.mark;
  auto ok = read_fields(
      r, v, "in approval",
      {{"when",
        [&](const YEntry& e) {
          return put_choice(a.when, r.choice(e.value, "when", {"before", "after", "on_failure"}));
        }},
       {"message", [&](const YEntry& e) { return put(a.message, r.templ(e.value, "message")); }},
       {"approvers",
        [&](const YEntry& e) {
          return put(a.approvers, r.text_list(e.value, "approvers", "user names"));
        }},
       {"min_approvals",
        [&](const YEntry& e) {
          return put(a.min_approvals, r.integer(e.value, "min_approvals", 1, 100));
        }},
       {"prevent_self_approval",
        [&](const YEntry& e) {
          return put(a.prevent_self_approval, r.boolean(e.value, "prevent_self_approval"));
        }},
       {"timeout", [&](const YEntry& e) { return put(a.timeout, r.timeout(e.value, "timeout")); }},
       {"on_timeout",
        [&](const YEntry& e) {
          return put_choice(a.on_timeout, r.choice(e.value, "on_timeout", {"reject", "approve"}));
        }},
       {"inputs", [&](const YEntry& e) { return read_gate_inputs(r, e.value, a); }}});
  if (!ok) return std::unexpected(ok.error());
  if (auto checked = check_min_approvals(r, v, a); !checked)
    return std::unexpected(checked.error());
  return a;
}

Result<MatrixSpec> read_matrix(const Reader& r, const YNode& v) {
  if (!v.is_mapping())
    return r.fail(v.mark, "'matrix' must be a mapping of axis name to values",
                  "write e.g. matrix: {suite: [unit, e2e]}");
  MatrixSpec m;
  m.mark = v.mark;
  for (const auto& e : v.entries) {
    Result<void> ok;
    if (e.key.value == "include") {
      ok = put(m.include, read_combinations(r, e.value, "include"));
    } else if (e.key.value == "exclude") {
      ok = put(m.exclude, read_combinations(r, e.value, "exclude"));
    } else {
      ok = read_axis(r, e, m);
    }
    if (!ok) return std::unexpected(ok.error());
  }
  if (m.axes.empty() && m.include.empty())
    return r.fail(v.mark, "'matrix' needs at least one axis",
                  "write e.g. matrix: {suite: [unit, e2e]}");
  if (auto ok = check_excludes(r, v, m); !ok) return std::unexpected(ok.error());
  return m;
}

Result<RepeatSpec> read_repeat(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v, "'repeat' must be a mapping such as {until: ..., max: 5}"); !ok)
    return std::unexpected(ok.error());
  RepeatSpec rep;
  rep.mark = v.mark;
  auto ok = read_fields(
      r, v, "in repeat",
      {{"until", [&](const YEntry& e) { return put(rep.until, r.command(e.value, "until")); }},
       {"max", [&](const YEntry& e) { return put(rep.max, r.integer(e.value, "max", 1, 10000)); }},
       {"interval",
        [&](const YEntry& e) { return put(rep.interval, r.duration(e.value, "interval")); }}});
  if (!ok) return std::unexpected(ok.error());
  if (find_entry(v, "until") == nullptr) return missing_key(r, v, "until", "repeat");
  return rep;
}

Result<FallbackSpec> read_fallback(const Reader& r, const YNode& v, Mark& agent_mark) {
  std::string shape = "'fallback' must be a mapping with 'run' or 'agent'";
  if (!v.is_mapping()) return r.fail(v.mark, shape, "write e.g. fallback: {run: ./safe.sh}");
  FallbackSpec f;
  f.mark = v.mark;
  auto ok =
      read_fields(r, v, "in fallback",
                  {{"run", [&](const YEntry& e) { return put(f.run, r.command(e.value, "run")); }},
                   {"agent",
                    [&](const YEntry& e) {
                      agent_mark = e.value.mark;
                      return put(f.agent, r.word(e.value, "agent"));
                    }},
                   {"with", [&](const YEntry& e) {
                      return put(f.with, r.template_map(e.value, "with", NameRule::id));
                    }}});
  if (!ok) return std::unexpected(ok.error());
  const YEntry* run = find_entry(v, "run");
  const YEntry* agent = find_entry(v, "agent");
  if (run != nullptr && agent != nullptr) {
    const YEntry* later =
        run->key.mark.line > agent->key.mark.line || (run->key.mark.line == agent->key.mark.line &&
                                                      run->key.mark.column > agent->key.mark.column)
            ? run
            : agent;
    return r.fail(later->key.mark, "'fallback' has both 'run' and 'agent': give one of them");
  }
  if (run == nullptr && agent == nullptr)
    return r.fail(v.mark, shape, "write e.g. fallback: {run: ./safe.sh}");
  return f;
}

Result<CircuitBreakerSpec> read_circuit_breaker(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v,
                          "'circuit_breaker' must be a mapping such as "
                          "{failures: 3, cooldown: 60s}");
      !ok)
    return std::unexpected(ok.error());
  CircuitBreakerSpec cb;
  cb.mark = v.mark;
  auto ok = read_fields(r, v, "in circuit_breaker",
                        {{"failures",
                          [&](const YEntry& e) {
                            return put(cb.failures, r.integer(e.value, "failures", 1, 10000));
                          }},
                         {"cooldown", [&](const YEntry& e) {
                            return put(cb.cooldown, r.duration(e.value, "cooldown"));
                          }}});
  if (!ok) return std::unexpected(ok.error());
  for (std::string_view key : {"failures", "cooldown"})
    if (find_entry(v, key) == nullptr) return missing_key(r, v, key, "circuit_breaker");
  return cb;
}

Result<std::vector<OutputSpec>> read_outputs(const Reader& r, const YNode& v) {
  if (auto ok = r.mapping(v, "'outputs' must be a mapping of output name to settings",
                          "write e.g. outputs: {spec_path: {required: true}}");
      !ok)
    return std::unexpected(ok.error());
  std::vector<OutputSpec> out;
  for (const auto& e : v.entries) {
    OutputSpec o;
    o.name = e.key.value;
    o.mark = e.key.mark;
    if (auto ok = r.name(e.key, "output name"); !ok) return std::unexpected(ok.error());
    if (auto ok = r.mapping(
            e.value, "output " + quote(o.name) + " must be a mapping such as {required: true}");
        !ok)
      return std::unexpected(ok.error());
    auto ok = read_fields(
        r, e.value, "in output " + quote(o.name),
        {{"required",
          [&](const YEntry& f) { return put(o.required, r.boolean(f.value, "required")); }},
         {"pattern",
          [&](const YEntry& f) { return put(o.pattern, r.pattern(f.value, "pattern")); }}});
    if (!ok) return std::unexpected(ok.error());
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace wfo::loader
