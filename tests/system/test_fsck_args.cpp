// fsck.mpagefs's command line: the flags fsck(8) passes, e2fsck's meanings.
#include <gtest/gtest.h>

#include "fsck_args.hpp"

using mpagefs::parse_fsck_command_line;

namespace {

TEST(FsckArgs, DefaultIsACheckOnly) {
  const auto c = parse_fsck_command_line({"/dev/vdb"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->image, "/dev/vdb");
  EXPECT_FALSE(c->repair);
  EXPECT_FALSE(c->quiet);
  EXPECT_FALSE(c->json);
}

TEST(FsckArgs, RepairFlags) {
  EXPECT_TRUE(parse_fsck_command_line({"-y", "img"})->repair);
  EXPECT_FALSE(parse_fsck_command_line({"-y", "img"})->quiet);
  for (const char* flag : {"-p", "-a", "-fp", "-pf"}) {
    const auto c = parse_fsck_command_line({flag, "img"});
    ASSERT_TRUE(c) << flag;
    EXPECT_TRUE(c->repair) << flag;
    EXPECT_TRUE(c->quiet) << flag;
  }
  const auto n = parse_fsck_command_line({"-fn", "img"});
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->repair);
}

TEST(FsckArgs, ProgressAndJson) {
  auto c = parse_fsck_command_line({"-C0", "-y", "img", "--json"});
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->json);
  EXPECT_TRUE(c->repair);
  c = parse_fsck_command_line({"-C", "3", "img"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->image, "img");  // "3" is the descriptor, not the device
}

TEST(FsckArgs, UsageErrors) {
  EXPECT_FALSE(parse_fsck_command_line({}));
  EXPECT_FALSE(parse_fsck_command_line({"-y"}));
  EXPECT_FALSE(parse_fsck_command_line({"a", "b"}));
  EXPECT_FALSE(parse_fsck_command_line({"-x", "img"}));
  EXPECT_FALSE(parse_fsck_command_line({"-ny", "img"}));
  EXPECT_FALSE(parse_fsck_command_line({"img", "-C"}));
}

}  // namespace
