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
