// Runs a child with and without the preloaded shim and checks what the shim counted.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace {

std::string g_shim, g_child;

long RunChild(const std::string& preload) {
  std::string cmd = (preload.empty() ? "env -u LD_PRELOAD " : "env LD_PRELOAD=" + preload + " ") +
                    g_child;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -2;
  long calls = -3;
  if (std::fscanf(pipe, "%ld", &calls) != 1) calls = -4;
  pclose(pipe);
  return calls;
}

TEST(Preload, ShimSeesEveryMalloc) {
  char* shim = realpath(g_shim.c_str(), nullptr);
  ASSERT_NE(shim, nullptr);
  EXPECT_GE(RunChild(shim), 1000);
  free(shim);
}

TEST(Preload, NoShimNoCounter) { EXPECT_EQ(RunChild(""), -1); }

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SHIM CHILD\n", argv[0]);
    return 2;
  }
  g_shim = argv[1];
  g_child = argv[2];
  return RUN_ALL_TESTS();
}
