// cli_run.cpp - run_cli: parse, run the subcommand, map the outcome to one
// exit status (exit_codes.hpp).  A library of its own (mpagectl_cli) so the
// unit tests can drive it with a small CLI::App.
#include <exception>

#include "mpagefs/cli.hpp"

namespace mpagefs {

int run_cli(CLI::App& app, int argc, const char* const* argv, ExitStatuses statuses, std::ostream& out,
            std::ostream& err) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints --help/--version (status 0) on `out`, or its message and
    // "Run with --help" on `err`; its own codes (105, 106 ...) become ours.
    return app.exit(e, out, err) == 0 ? kExitOk : statuses.usage;
  } catch (const CliExit& e) {
    return e.status;
  } catch (const UsageError& e) {
    err << "mpagectl: " << e.what() << "\nRun with --help for more information.\n";
    return statuses.usage;
  } catch (const std::exception& e) {
    err << "mpagectl: " << e.what() << '\n';
    return statuses.runtime;
  }
  return kExitOk;
}

}  // namespace mpagefs
