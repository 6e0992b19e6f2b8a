// run_cli and parse_arg: how every mpagectl subcommand's outcome becomes its
// exit status (exit_codes.hpp), driven with a small CLI::App of the same
// shape as mpagectl's (required subcommand, --version).
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "exit_codes.hpp"
#include "mpagefs/fsck/fsck.hpp"
#include "mpagefs/trace/check.hpp"

using mpagefs::CliExit;
using mpagefs::ExitStatuses;
using mpagefs::UsageError;

namespace {

struct Outcome {
  int status;
  std::string out;
  std::string err;
};

struct Sizes {
  uint64_t bytes = 0;
  uint32_t kib = 0;
};

Outcome run(const std::vector<std::string>& args, ExitStatuses statuses = {}, Sizes* sizes = nullptr) {
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
  std::string order;
  CLI::App* eo = app.add_subcommand("order", "parses ORDER after parsing");
  eo->add_option("ORDER", order);
  eo->callback([&order] { (void)mpagefs::parse_arg([&order] { return mpagefs::check::parse_expect_order(order); }); });
  Sizes local;
  Sizes& sz = sizes != nullptr ? *sizes : local;
  CLI::App* sizes_cmd = app.add_subcommand("sizes", "size options as mpagectl's");
  sizes_cmd->add_option("--bytes", sz.bytes)->transform(mpagefs::size_bytes());
  sizes_cmd->add_option("--kib", sz.kib)->transform(mpagefs::size_kib());

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
  EXPECT_EQ(run({"order", "data:0-11,IND"}).status, mpagefs::kExitOk);
  const auto r = run({"order", "data,bogus"});
  EXPECT_EQ(r.status, mpagefs::kExitUsage);
  EXPECT_EQ(r.err.rfind("mpagectl: unknown block kind 'bogus'", 0), 0U) << r.err;
}

// size_bytes: a plain number is bytes; K, M, G, T (and KB, KiB, k ...)
// are powers of 1024.
TEST(SizeOptions, Bytes) {
  const std::vector<std::pair<std::string, uint64_t>> good{
      {"4096", 4096}, {"64K", 64U << 10}, {"16M", 16U << 20}, {"16MiB", 16U << 20},
      {"2g", 2ULL << 30}, {"1GB", 1ULL << 30}, {"1T", 1ULL << 40}};
  for (const auto& [text, value] : good) {
    Sizes s;
    EXPECT_EQ(run({"sizes", "--bytes", text}, {}, &s).status, mpagefs::kExitOk) << text;
    EXPECT_EQ(s.bytes, value) << text;
  }
  for (const char* bad : {"", "12Q", "K2", "-1", "1.5M", "99999999999999999999", "99999999999T"}) {
    const auto r = run({"sizes", "--bytes", bad});
    EXPECT_EQ(r.status, mpagefs::kExitUsage) << bad;
    EXPECT_NE(r.err.find("Run with --help"), std::string::npos) << bad << r.err;
  }
}

// size_kib: a plain number is KiB (blktrace's -b, ftrace's buffer_size_kb).
TEST(SizeOptions, Kib) {
  const std::vector<std::pair<std::string, uint32_t>> good{
      {"512", 512}, {"512K", 512}, {"4M", 4096}, {"4MiB", 4096}, {"1g", 1U << 20}};
  for (const auto& [text, value] : good) {
    Sizes s;
    EXPECT_EQ(run({"sizes", "--kib", text}, {}, &s).status, mpagefs::kExitOk) << text;
    EXPECT_EQ(s.kib, value) << text;
  }
  for (const char* bad : {"512B", "12Q", "-4", "8T"})  // bytes are no unit here; 8T overflows uint32 KiB
    EXPECT_EQ(run({"sizes", "--kib", bad}).status, mpagefs::kExitUsage) << bad;
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
  EXPECT_EQ(mpagefs::parse_arg([] { return 4096; }), 4096);
}

TEST(ParseArg, InvalidArgumentBecomesUsageError) {
  try {
    (void)mpagefs::parse_arg([] { return mpagefs::check::parse_expect_order("bogus"); });
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown block kind 'bogus'"), std::string::npos) << e.what();
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
