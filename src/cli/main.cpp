// wfo's entry point: parses the command line (CLI11) and calls one subcommand. Signals are
// blocked here, before any child exists, and only ever unblocked inside ppoll (STYLE.md).
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/huge_pages.hpp"
#include "process/process.hpp"
#include "store/sqlite_run_store.hpp"
#include "util/strings.hpp"

#ifndef WFO_VERSION
#define WFO_VERSION "0.0.0"
#endif

namespace {

/// argv with each `--name=` (an empty value, as `--state="$UNSET"` expands) split into
/// `--name` and "": CLI11 2.1 reads `--name=` as `--name` alone and takes the next word as
/// its value, so `--state= run f.yaml` used a database named `run`. Split, the empty value
/// meets the option's checks. Words after `--` are left alone; argv itself is not changed
/// (a huge-page re-execution passes it on).
std::vector<char*> empty_values_split(int argc, char** argv) {
  static std::deque<std::string> names;  // the split words, alive as long as the result
  static char empty[] = "";
  std::vector<char*> out;
  bool options = true;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") options = false;
    if (options && i > 0 && arg.size() > 3 && arg.starts_with("--") &&
        arg.find('=') == arg.size() - 1) {
      out.push_back(names.emplace_back(arg.substr(0, arg.size() - 1)).data());
      out.push_back(empty);
    } else {
      out.push_back(argv[i]);
    }
  }
  return out;
}

/// Refuses an option written before the command that is not one of wfo's own (--state,
/// --help, --version): CLI11 said "the following arguments were not expected: 4 -j" for
/// `wfo -j 4 run f.yaml`, or "a subcommand is required" for `wfo --bogus`. Names the
/// option, and when the command takes it, shows the line with the options moved after the
/// command's own words (before its `--`, if any). Returns true (after printing) when the
/// line was refused; a line asking for help or the version goes to CLI11 as it is.
bool refused_early_option(CLI::App& app, const std::vector<char*>& args) {
  auto commands = app.get_subcommands([](const CLI::App*) { return true; });
  auto command_named = [&](std::string_view word) -> const CLI::App* {
    for (const auto* sub : commands)
      if (sub->get_name() == word) return sub;
    return nullptr;
  };
  // An option as some command has it (for whether it takes a value), and who has it.
  auto lookup = [&](const std::string& name, std::string* owners) -> const CLI::Option* {
    const CLI::Option* found = nullptr;
    for (const auto* sub : commands)
      if (const CLI::Option* o = sub->get_option_no_throw(name)) {
        if (!found) found = o;
        if (owners) *owners += (owners->empty() ? "wfo " : ", wfo ") + sub->get_name();
      }
    return found;
  };
  std::vector<size_t> moved;  // the words to move: foreign options and their values
  std::string first;          // the first foreign option's name
  const CLI::App* command = nullptr;
  size_t at = args.size();  // the command's word
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--") break;
    if (!a.starts_with("-") || a == "-") {
      if ((command = command_named(a))) at = i;
      break;
    }
    std::string name(a.starts_with("--") ? a.substr(0, a.find('=')) : a.substr(0, 2));
    if (name == "--help" || name == "-h" || name == "--version") return false;
    bool attached = a.size() != name.size();
    if (name == "--state") {
      if (!attached) ++i;  // its value
      continue;
    }
    if (first.empty()) first = name;
    moved.push_back(i);
    const CLI::Option* o = lookup(name, nullptr);
    if (o && o->get_items_expected_max() > 0 && !attached && i + 1 < args.size())
      moved.push_back(++i);
  }
  if (first.empty()) return false;
  std::string owners;
  lookup(first, &owners);
  if (owners.empty()) {
    std::fprintf(stderr,
                 "wfo: error: unknown option '%s' before the command\n"
                 "  only --state, --help and --version go there; run 'wfo --help' for "
                 "usage\n",
                 first.c_str());
    return true;
  }
  if (!command || !command->get_option_no_throw(first)) {
    std::fprintf(stderr,
                 "wfo: error: option '%s' belongs to a command (%s), not before one\n"
                 "  run 'wfo --help' for usage\n",
                 first.c_str(), owners.c_str());
    return true;
  }
  // The line with the moved words after the command's own, before a `--` among them.
  std::string line = "wfo", tail;
  for (size_t k : moved) tail += " " + wfo::shell_quote(args[k]);
  bool placed = false;
  for (size_t k = 1; k < args.size(); ++k) {
    if (std::find(moved.begin(), moved.end(), k) != moved.end()) continue;
    if (k > at && !placed && std::string_view(args[k]) == "--") {
      line += tail;
      placed = true;
    }
    line += " " + wfo::shell_quote(args[k]);
  }
  if (!placed) line += tail;
  std::fprintf(stderr,
               "wfo: error: option '%s' belongs to 'wfo %s': put it after the command\n"
               "  as in: %s\n",
               first.c_str(), command->get_name().c_str(), line.c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace wfo;
  // glibc serves each block of 128 KiB or more (a threshold that then floats up to 32 MiB)
  // with its own mmap, and unmaps it when freed (mallopt(3), M_MMAP_THRESHOLD). The large
  // blocks wfo frees are the buffers of vectors that doubled while a large workflow was read;
  // as fresh mappings, their successors fault in one page at a time. Below 32 MiB they come
  // from the heap, where freed buffers are reused: 24% fewer page faults and about 20% less
  // time for `wfo validate` of 100,000 tasks, the same peak RSS (docs/benchmarks.md).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  cli::init_huge_pages(argv);  // a large run or resume may re-execute wfo (huge_pages.hpp)
  process::SignalGuard signals;
  CLI::App app{"wfo: run workflows of tasks as a DAG, durably, with retries and approval gates",
               "wfo"};
  app.set_version_flag("--version", std::string("wfo ") + WFO_VERSION + " (state schema " +
                                        std::to_string(k_schema_version) + ")");
  app.require_subcommand(1);
  app.fallthrough();
  cli::GlobalOptions g;
  app.add_option("--state", g.state, "State database (default: $WFO_STATE, else .wfo/state.db)")
      ->check(cli::not_empty("leave --state out for $WFO_STATE, else .wfo/state.db"));
  int exit_code = k_exit_succeeded;
  cli::register_run(app, g, &exit_code);
  cli::register_resume(app, g, &exit_code);
  cli::register_approve(app, g, &exit_code);
  cli::register_approvals(app, g, &exit_code);
  cli::register_status(app, g, &exit_code);
  cli::register_list(app, g, &exit_code);
  cli::register_logs(app, g, &exit_code);
  cli::register_cancel(app, g, &exit_code);
  cli::register_validate(app, g, &exit_code);
  cli::register_graph(app, g, &exit_code);
  cli::register_stats(app, g, &exit_code);
  cli::register_complete(app, g, &exit_code);
  // CLI11 reports an unknown subcommand as a missing one; name it, with a did-you-mean.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
      names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::string guess = closest_match(argv[1], names);
      std::fprintf(stderr, "wfo: error: unknown command '%s'%s\n  run 'wfo --help' for usage\n",
                   argv[1], guess.empty() ? "" : (" (did you mean '" + guess + "'?)").c_str());
      return k_exit_usage;
    }
  }
  std::vector<char*> args = empty_values_split(argc, argv);
  if (refused_early_option(app, args)) return k_exit_usage;
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (!what.empty()) what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
    std::fprintf(stderr, "wfo: error: %s\n  run 'wfo --help' for usage\n", what.c_str());
    return k_exit_usage;
  }
  return exit_code;
}
