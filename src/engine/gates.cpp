#include "engine/gates.hpp"

#include <algorithm>

#include "util/regex.hpp"
#include "util/strings.hpp"

namespace wfo {

Result<GateUpdate> decide_gate(const RunRecord& run, const std::vector<GateRecord>& gates,
                               const DecisionRequest& request) {
  const std::string verb = request.approve ? "approve" : "reject";
  std::vector<const GateRecord*> waiting;
  for (const auto& g : gates)
    if (g.status == GateStatus::waiting) waiting.push_back(&g);
  const GateRecord* gate = nullptr;
  if (request.task) {
    auto it = std::find_if(gates.begin(), gates.end(),
                           [&](const GateRecord& g) { return g.task_id == *request.task; });
    if (it == gates.end())
      return fail(ErrorKind::usage, "task '" + *request.task + "' of run " + run.id +
                                        " has no gate waiting for a decision");
    if (it->status != GateStatus::waiting)
      return fail(ErrorKind::usage, "the gate of task '" + *request.task + "' was already " +
                                        std::string(to_string(it->status)) +
                                        (it->decided_by ? " by " + *it->decided_by : ""));
    gate = &*it;
  } else if (waiting.empty()) {
    // The gate decided last, when its timeout decided it (a decision that comes after the
    // deadline is told why); not when a person decided another gate after it or in the
    // same millisecond (stored times keep milliseconds).
    auto later = [](const GateRecord& a, const GateRecord& b) {  // a decided after b
      if (*a.decided_at != *b.decided_at) return *a.decided_at > *b.decided_at;
      return a.decided_by != "timeout" && b.decided_by == "timeout";
    };
    const GateRecord* timed_out = nullptr;
    for (const auto& g : gates)
      if (g.decided_at && (!timed_out || later(g, *timed_out))) timed_out = &g;
    if (timed_out && timed_out->decided_by != "timeout") timed_out = nullptr;
    std::string why = timed_out ? " (the gate of task '" + timed_out->task_id + "' was " +
                                      std::string(to_string(timed_out->status)) +
                                      " by timeout: " + timed_out->comment + ")"
                                : "";
    bool ended = run.status == RunStatus::succeeded || run.status == RunStatus::failed ||
                 run.status == RunStatus::cancelled;
    if (ended)
      return fail(ErrorKind::usage, "run " + run.id +
                                        (run.status == RunStatus::cancelled
                                             ? " was cancelled"
                                             : " has " + std::string(to_string(run.status))) +
                                        "; nothing waits for a decision" + why);
    return fail(ErrorKind::usage, "no gate of run " + run.id + " waits for a decision" + why);
  } else if (waiting.size() > 1) {
    std::vector<std::string> ids;
    for (auto* g : waiting) ids.push_back(g->task_id);
    return fail(ErrorKind::usage, "several gates of run " + run.id + " wait: " + join(ids, ", "),
                "name one with --task, e.g. 'wfo " + verb + " " + run.id + " --task " + ids[0] + "'");
  } else {
    gate = waiting[0];
  }
  if (!gate->approvers.empty() &&
      std::find(gate->approvers.begin(), gate->approvers.end(), request.user) ==
          gate->approvers.end())
    return fail(ErrorKind::usage,
                "user '" + request.user + "' may not decide the gate of task '" + gate->task_id + "'",
                "its approvers are: " + join(gate->approvers, ", "));
  if (request.approve && gate->prevent_self_approval && request.user == run.started_by)
    return fail(ErrorKind::usage,
                "user '" + request.user + "' started run " + run.id +
                    " and may not approve it (prevent_self_approval)",
                "ask another approver");
  for (const auto& d : gate->decisions)
    if (d.user == request.user)
      return fail(ErrorKind::usage, "user '" + request.user + "' has already decided the gate of task '" +
                                        gate->task_id + "'");
  auto inputs = check_inputs(gate->inputs_spec, request.inputs, request.approve);
  if (!inputs) return std::unexpected(inputs.error());
  GateUpdate update;
  update.gate = *gate;
  update.decision =
      DecisionRecord{request.user, request.approve, request.at, request.comment, *inputs};
  update.gate.decisions.push_back(update.decision);
  int approvals = static_cast<int>(std::count_if(update.gate.decisions.begin(),
                                                 update.gate.decisions.end(),
                                                 [](const DecisionRecord& d) { return d.approve; }));
  if (!request.approve || approvals >= gate->min_approvals) {
    update.gate.status = request.approve ? GateStatus::approved : GateStatus::rejected;
    update.gate.decided_by = request.user;
    update.gate.decided_at = request.at;
    update.gate.comment = request.comment;
  }
  std::string detail = "by " + request.user;
  if (!request.comment.empty()) detail += ": " + request.comment;
  if (update.gate.status == GateStatus::waiting)
    detail += " (" + std::to_string(approvals) + "/" + std::to_string(gate->min_approvals) + ")";
  update.event = Event{request.at, gate->task_id, 0, "gate_" + std::string(request.approve ? "approved" : "rejected"),
                       detail};
  return update;
}

Result<nlohmann::json> check_inputs(const nlohmann::json& spec,
                                    const std::vector<std::pair<std::string, std::string>>& inputs,
                                    bool approve) {
  nlohmann::json out = nlohmann::json::object();
  std::vector<std::string> names;
  for (const auto& [name, s] : spec.items()) names.push_back(name);
  for (const auto& [name, value] : inputs) {
    if (!spec.contains(name)) {
      std::string guess = closest_match(name, names);
      return fail(ErrorKind::usage,
                  "unknown input '" + name + "'" +
                      (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
                  names.empty() ? "this gate takes no inputs" : "its inputs are: " + join(names, ", "));
    }
    if (!valid_utf8(value))
      return fail(ErrorKind::usage, "input '" + name + "' is not UTF-8 text",
                  "give text in the UTF-8 encoding");
    const auto& s = spec[name];
    if (s.contains("enum")) {
      auto allowed = s["enum"].get<std::vector<std::string>>();
      if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
        return fail(ErrorKind::usage, "input '" + name + "' must be one of " + join(allowed, ", "));
    }
    if (s.contains("pattern")) {
      std::string pattern = s["pattern"].get<std::string>();
      auto re = Regex::compile(pattern);  // compiled by the loader too; a bad one never matches
      if (!re || !re->search(value))
        return fail(ErrorKind::usage,
                    "input '" + name + "' does not match pattern '" + pattern + "'");
    }
    out[name] = value;
  }
  if (approve)
    for (const auto& [name, s] : spec.items())
      if (s.value("required", false) && !out.contains(name))
        return fail(ErrorKind::usage, "missing required input '" + name + "'",
                    "give it with --input " + name + "=VALUE");
  return out;
}

// The update deciding waiting gate `g` by its on_timeout at `now`.
static GateUpdate timeout_update(const GateRecord& g, SystemTime now) {
  bool approve = g.on_timeout == "approve";
  GateUpdate update;
  update.gate = g;
  std::string comment = "no decision by " + format_rfc3339(*g.deadline);
  update.decision = DecisionRecord{"timeout", approve, now, comment, nlohmann::json::object()};
  update.gate.decisions.push_back(update.decision);
  update.gate.status = approve ? GateStatus::approved : GateStatus::rejected;
  update.gate.decided_by = "timeout";
  update.gate.decided_at = now;
  update.gate.comment = comment;
  update.event = Event{now, g.task_id, 0, approve ? "gate_approved" : "gate_rejected",
                       "by timeout: " + comment};
  return update;
}

bool gate_due(const GateRecord& g, SystemTime now) {
  return g.status == GateStatus::waiting && g.deadline && *g.deadline <= now;
}

std::vector<GateUpdate> decide_timeouts(const std::vector<GateRecord>& gates, SystemTime now) {
  std::vector<GateUpdate> out;
  for (const auto& g : gates)
    if (gate_due(g, now)) out.push_back(timeout_update(g, now));
  return out;
}

Result<std::vector<GateUpdate>> expire_due_gates(RunStore& store, const std::string& run_id,
                                                 const std::vector<GateRecord>& gates,
                                                 SystemTime now, GateLook look) {
  if (std::none_of(gates.begin(), gates.end(),
                   [&](const GateRecord& g) { return gate_due(g, now); }))
    return std::vector<GateUpdate>{};
  auto updates = store.update_gates(
      run_id,
      [&](const RunRecord& run,
          const std::vector<GateRecord>& all) -> Result<std::vector<GateUpdate>> {
        // A cancelled run was stopped on purpose: a look leaves its gates for the resume
        // that continues it, whose driver decides the timeouts then passed.
        if (look == GateLook::show && run.status == RunStatus::cancelled)
          return std::vector<GateUpdate>{};
        return decide_timeouts(all, now);
      });
  if (!updates && updates.error().kind != ErrorKind::state) return std::vector<GateUpdate>{};
  return updates;
}

}  // namespace wfo
