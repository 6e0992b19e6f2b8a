// run_cli and parse_arg: how every mpagectl subcommand's outcome becomes its
// exit status (exit_codes.hpp), driven with a small CLI::App of the same
// shape as mpagectl's (required subcommand, --version).
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpagefs/cli.hpp"
#include "mpagefs/exit_codes.hpp"
#include "mpagefs/fsck.hpp"
#include "mpagefs/units.hpp"

using mpagefs::CliExit;
using mpagefs::ExitStatuses;
using mpagefs::UsageError;

namespace {

struct Outcome {
  int status;
  std::string out;
  std::string err;
};

Outcome run(const std::vector<std::string>& args, ExitStatuses statuses = {}) {
  CLI::App app{"test app"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mpagectl 9.8.7");
  int n = 0;
  CLI::App* ok = app.add_subcommand("ok", "succeeds");
  ok->add_option("--n", n, "0..10")->check(CLI::Range(0, 10));
  ok->callback([] {});
  std::string name;
  app.add_subcommand("need", "needs NAME")->add_option("NAME", name)->required();
  app.add_subcommand("differs", "a check that fails")->callback([] {
    throw CliExit{mpagefs::kExitCheckFailed};
  });
  app.add_subcommand("usage", "a usage error found after parsing")->callback([] {
    throw UsageError("--notation needs --file PATH");
  });
  app.add_subcommand("io", "a runtime error")->callback([] {
    throw std::runtime_error("open /nope: No such file or directory");
  });
  app.add_subcommand("invalid", "std::invalid_argument from the library")->callback([] {
    throw std::invalid_argument("no data or indirect blocks of /f in the image");
  });
  std::string size;
  CLI::App* sz = app.add_subcommand("size", "parses SIZE after parsing");
  sz->add_option("SIZE", size);
  sz->callback([&size] { (void)mpagefs::parse_arg([&size] { return mpagefs::parse_size(size); }); });

  std::vector<const char*> argv{"mpagectl"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out;
  std::ostringstream err;
  const int status = mpagefs::run_cli(app, static_cast<int>(argv.size()), argv.data(), statuses, out, err);
  return {status, out.str(), err.str()};
}

TEST(ExitCodes, TheConvention) {
  EXPECT_EQ(mpagefs::kExitOk, 0);
  EXPECT_EQ(mpagefs::kExitCheckFailed, 1);
  EXPECT_EQ(mpagefs::kExitUsage, 2);
  EXPECT_EQ(mpagefs::kExitRuntime, 3);
}

TEST(RunCli, Success) {
  const auto r = run({"ok", "--n", "3"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
}

TEST(RunCli, HelpAndVersionExitZeroOnStdout) {
  auto r = run({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("test app"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
  r = run({"ok", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--n"), std::string::npos) << r.out;
  r = run({"--version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "mpagectl 9.8.7\n");
}

TEST(RunCli, ParseErrorsAreUsageErrors) {
  // CLI11's own codes would be 105 (ExtrasError...), 106 (RequiredError),
  // 105 (ValidationError): all become 2, CLI11's message still printed.
  const std::vector<std::vector<std::string>> cases{
      {}, {"no-such-command"}, {"ok", "--bogus"}, {"need"}, {"ok", "--n", "11"}, {"ok", "--n", "x"}, {"ok", "--n"}};
  for (const auto& args : cases) {
    const auto r = run(args);
    std::string line;
    for (const auto& a : args) line += a + ' ';
    EXPECT_EQ(r.status, mpagefs::kExitUsage) << line;
    EXPECT_NE(r.err.find("Run with --help for more information."), std::string::npos) << line << r.err;
    EXPECT_EQ(r.out, "") << line;
  }
  EXPECT_NE(run({"need"}).err.find("NAME is required"), std::string::npos);
}

TEST(RunCli, CliExitIsTheStatus) {
  EXPECT_EQ(run({"differs"}).status, mpagefs::kExitCheckFailed);
  EXPECT_EQ(run({"differs"}).err, "");
}

TEST(RunCli, UsageErrorExitsTwoWithOneLine) {
  const auto r = run({"usage"});
  EXPECT_EQ(r.status, mpagefs::kExitUsage);
  EXPECT_EQ(r.err, "mpagectl: --notation needs --file PATH\nRun with --help for more information.\n");
}

TEST(RunCli, OtherExceptionsAreRuntimeErrors) {
  auto r = run({"io"});
  EXPECT_EQ(r.status, mpagefs::kExitRuntime);
  EXPECT_EQ(r.err, "mpagectl: open /nope: No such file or directory\n");
  // std::invalid_argument outside parse_arg is about the input, not the
  // command line.
  r = run({"invalid"});
  EXPECT_EQ(r.status, mpagefs::kExitRuntime);
  EXPECT_EQ(r.err, "mpagectl: no data or indirect blocks of /f in the image\n");
}

TEST(RunCli, ParseArgMakesLibraryParseErrorsUsageErrors) {
  EXPECT_EQ(run({"size", "64K"}).status, mpagefs::kExitOk);
  const auto r = run({"size", "12X"});
  EXPECT_EQ(r.status, mpagefs::kExitUsage);
  EXPECT_EQ(r.err.rfind("mpagectl: bad size '12X'", 0), 0U) << r.err;
}

TEST(RunCli, FsckStatuses) {
  const ExitStatuses fsck{mpagefs::kFsckUsage, mpagefs::kFsckOperational};
  EXPECT_EQ(run({"need"}, fsck).status, 16);
  EXPECT_EQ(run({"ok", "--bogus"}, fsck).status, 16);
  EXPECT_EQ(run({"usage"}, fsck).status, 16);
  EXPECT_EQ(run({"io"}, fsck).status, 8);
  EXPECT_EQ(run({"ok"}, fsck).status, 0);
  EXPECT_EQ(run({"--help"}, fsck).status, 0);
  EXPECT_EQ(run({"differs"}, fsck).status, 1);  // CliExit: the subcommand's own status
}

TEST(ParseArg, ReturnsTheValue) {
  EXPECT_EQ(mpagefs::parse_arg([] { return mpagefs::parse_size("4K"); }), 4096U);
}

TEST(ParseArg, InvalidArgumentBecomesUsageError) {
  try {
    (void)mpagefs::parse_arg([] { return mpagefs::parse_size("4Q"); });
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("bad size '4Q'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mpagefs::parse_arg([] { throw UsageError("x"); }), UsageError);
}

TEST(ParseArg, OtherErrorsPassThrough) {
  EXPECT_THROW(mpagefs::parse_arg([] { throw std::runtime_error("io"); }), std::runtime_error);
  try {
    mpagefs::parse_arg([] { throw std::runtime_error("io"); });
  } catch (const UsageError&) {
    FAIL() << "a runtime error became a usage error";
  } catch (const std::runtime_error&) {
  }
}

}  // namespace
