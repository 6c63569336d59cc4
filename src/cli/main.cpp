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
/// option, and for a command's own option shows the line with it moved after the command.
/// Returns true (after printing) when the line was refused.
bool refused_early_option(CLI::App& app, const std::vector<char*>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--" || !a.starts_with("-") || a == "-") break;
    std::string name(a.starts_with("--") ? a.substr(0, a.find('=')) : a.substr(0, 2));
    if (name == "--state" || name == "--help" || name == "-h" || name == "--version") {
      if (name == "--state" && a.find('=') == std::string_view::npos) ++i;  // its value
      continue;
    }
    const CLI::App* command = nullptr;
    size_t at = i + 1;
    for (; at < args.size() && command == nullptr; ++at)
      for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        if (sub->get_name() == args[at]) command = sub;
    const CLI::Option* own = command ? command->get_option_no_throw(name) : nullptr;
    if (own == nullptr) {
      std::fprintf(stderr,
                   "wfo: error: unknown option '%s' before the command\n"
                   "  only --state, --help and --version go there; run 'wfo --help' for "
                   "usage\n",
                   name.c_str());
      return true;
    }
    // The line with the option (and its value, when it takes one and it is a word of its
    // own) moved to the end.
    bool with_value =
        own->get_items_expected_max() > 0 && a.size() == name.size() && i + 1 < at - 1;
    std::string line = "wfo";
    for (size_t k = 1; k < args.size(); ++k)
      if (k != i && !(with_value && k == i + 1)) line += " " + wfo::shell_quote(args[k]);
    line += " " + wfo::shell_quote(args[i]);
    if (with_value) line += " " + wfo::shell_quote(args[i + 1]);
    std::fprintf(stderr,
                 "wfo: error: option '%s' belongs to 'wfo %s': put it after the command\n"
                 "  as in: %s\n",
                 name.c_str(), command->get_name().c_str(), line.c_str());
    return true;
  }
  return false;
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
