// mpagectl - format images, capture and explain block traces, check them.
#include <cstdio>
#include <exception>

#include "mpagefs/cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mpagectl: the mpagefs lab's image, trace and check tool"};
  app.require_subcommand(1);
  mpagefs::register_format_commands(app);
  mpagefs::register_trace_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const mpagefs::CliExit& e) {
    return e.status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpagectl: %s\n", e.what());
    return 1;
  }
  return 0;
}
