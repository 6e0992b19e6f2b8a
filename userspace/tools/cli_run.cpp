// cli_run.cpp - run_cli: parse, run the subcommand, map the outcome to one
// exit status (exit_codes.hpp).  A library of its own (mpagectl_cli) so the
// unit tests can drive it with a small CLI::App.
#include <charconv>
#include <cstdint>
#include <exception>
#include <map>
#include <string>

#include "cli.hpp"

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

namespace {

// CLI11's unit transform, after a check of its own: CLI11 2.1's integer
// conversion (strtoull) takes "-1" and saturates on overflow, so the number
// must be digits (then the unit) and fit 64 bits.
CLI::Validator digits_then(CLI::Validator units) {
  const std::string desc = units.get_description();
  return CLI::Validator(
      [units = std::move(units)](std::string& in) {
        const size_t start = in.find_first_not_of(' ');
        const size_t end = in.find_first_not_of("0123456789", start == std::string::npos ? in.size() : start);
        uint64_t v = 0;
        const char* first = in.data() + (start == std::string::npos ? in.size() : start);
        const char* last = in.data() + (end == std::string::npos ? in.size() : end);
        if (first == last || std::from_chars(first, last, v).ec != std::errc{})
          return std::string("'" + in + "' is not a size (a number with an optional K, M, G or T)");
        return units(in);
      },
      desc);
}

}  // namespace

CLI::Validator size_bytes() { return digits_then(CLI::AsSizeValue(false)); }

CLI::Validator size_kib() {
  std::map<std::string, uint64_t> units;
  uint64_t factor = 1;
  for (const char* p : {"k", "m", "g", "t"}) {
    units[p] = factor;
    units[std::string(p) + "b"] = factor;
    units[std::string(p) + "i"] = factor;
    units[std::string(p) + "ib"] = factor;
    factor *= 1024;
  }
  return digits_then(
      CLI::AsNumberWithUnit(units, CLI::AsNumberWithUnit::DEFAULT, "K|M|G").description("KiB [K, M, G]"));
}

}  // namespace mpagefs
