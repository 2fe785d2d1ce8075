#include "allocator/config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

// Parses env into a fresh Config and returns what was written to stderr meanwhile.
std::string Parse(std::initializer_list<const char*> env, Config* config) {
  std::vector<const char*> entries(env);
  entries.push_back(nullptr);
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  const int saved = dup(STDERR_FILENO);
  dup2(pipe_fds[1], STDERR_FILENO);
  ParseConfig(entries.data(), config);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(pipe_fds[1]);
  char buf[4096];
  const ssize_t n = read(pipe_fds[0], buf, sizeof(buf));
  close(pipe_fds[0]);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

TEST(Config, DefaultsWithoutEnvironment) {
  Config config;
  EXPECT_EQ(Parse({"PATH=/bin", "HOME=/root"}, &config), "");
  EXPECT_TRUE(config.rseq);
  EXPECT_TRUE(config.background);
  EXPECT_FALSE(config.release_thread);
  EXPECT_EQ(config.slot_key, SlotKeyChoice::kAuto);
  EXPECT_EQ(config.release_period_ms, 1000u);
}

TEST(Config, EverySettingIsRead) {
  Config config;
  EXPECT_EQ(Parse({"RSEQMALLOC_VERBOSE=1", "RSEQMALLOC_RSEQ=off", "RSEQMALLOC_SLOT_KEY=cpu_id",
                   "RSEQMALLOC_SLICE_EXTENSION=no", "RSEQMALLOC_CPU_CACHE_BYTES=256K",
                   "RSEQMALLOC_STATS_AT_EXIT=yes", "RSEQMALLOC_BACKGROUND=0",
                   "RSEQMALLOC_RELEASE_PERIOD_MS=250", "RSEQMALLOC_RELEASE_THREAD=on",
                   "RSEQMALLOC_PROMPT_RELEASE=yes"},
                  &config),
            "");
  EXPECT_TRUE(config.verbose);
  EXPECT_FALSE(config.rseq);
  EXPECT_EQ(config.slot_key, SlotKeyChoice::kCpuId);
  EXPECT_FALSE(config.slice_extension);
  EXPECT_EQ(config.cpu_cache_bytes, size_t{256} << 10);
  EXPECT_TRUE(config.stats_at_exit);
  EXPECT_FALSE(config.background);
  EXPECT_EQ(config.release_period_ms, 250u);
  EXPECT_TRUE(config.release_thread);
  EXPECT_TRUE(config.prompt_release);
}

TEST(Config, UnknownNamesAndBadValuesWarnAndKeepDefaults) {
  Config config;
  const std::string warnings =
      Parse({"RSEQMALLOC_NO_SUCH=1", "RSEQMALLOC_SLOT_KEY=sideways",
             "RSEQMALLOC_CPU_CACHE_BYTES=99999999999999999999999", "RSEQMALLOC_CPU_CACHE_BYTES=12Q",
             "RSEQMALLOC_RELEASE_PERIOD_MS=1", "RSEQMALLOC_RELEASE_PERIOD_MS=5K",
             "RSEQMALLOC_VERBOSE=", "RSEQMALLOC_RSEQ"},
            &config);
  EXPECT_NE(warnings.find("rseqmalloc: warning: unknown setting RSEQMALLOC_NO_SUCH=1"),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find("bad value in RSEQMALLOC_SLOT_KEY=sideways"), std::string::npos);
  EXPECT_NE(warnings.find("bad value in RSEQMALLOC_CPU_CACHE_BYTES=12Q"), std::string::npos);
  EXPECT_NE(warnings.find("bad value in RSEQMALLOC_RELEASE_PERIOD_MS=1"), std::string::npos);
  EXPECT_NE(warnings.find("bad value in RSEQMALLOC_RELEASE_PERIOD_MS=5K"), std::string::npos);
  EXPECT_NE(warnings.find("bad value in RSEQMALLOC_VERBOSE="), std::string::npos);
  EXPECT_EQ(config.slot_key, SlotKeyChoice::kAuto);
  EXPECT_EQ(config.cpu_cache_bytes, Config().cpu_cache_bytes);
  EXPECT_EQ(config.release_period_ms, Config().release_period_ms);
  EXPECT_FALSE(config.verbose);
}

TEST(Config, ProfileAndGuardSettings) {
  Config config;
  EXPECT_EQ(Parse({"RSEQMALLOC_PROFILE=1", "RSEQMALLOC_PROFILE_SAMPLE_BYTES=512K",
                   "RSEQMALLOC_PROFILE_SIGNAL=SIGUSR2", "RSEQMALLOC_PROFILE_AT_EXIT=yes",
                   "RSEQMALLOC_PROFILE_PREFIX=/var/tmp/service", "RSEQMALLOC_GUARD=on",
                   "RSEQMALLOC_GUARD_PERCENT=100", "RSEQMALLOC_GUARD_MAX=16"},
                  &config),
            "");
  EXPECT_TRUE(config.profile);
  EXPECT_EQ(config.profile_sample_bytes, size_t{512} << 10);
  EXPECT_EQ(config.profile_signal, SIGUSR2);
  EXPECT_TRUE(config.profile_at_exit);
  EXPECT_STREQ(config.profile_prefix, "/var/tmp/service");
  EXPECT_TRUE(config.guard);
  EXPECT_EQ(config.guard_percent, 100u);
  EXPECT_EQ(config.guard_max, 16u);
  Config numeric;
  Parse({"RSEQMALLOC_PROFILE_SIGNAL=10"}, &numeric);
  EXPECT_EQ(numeric.profile_signal, 10);
}

TEST(Config, BadProfileAndGuardValuesWarnAndKeepDefaults) {
  Config config;
  const std::string warnings =
      Parse({"RSEQMALLOC_PROFILE=maybe", "RSEQMALLOC_PROFILE_SAMPLE_BYTES=0",
             "RSEQMALLOC_PROFILE_SIGNAL=SIGNOPE", "RSEQMALLOC_PROFILE_SIGNAL=65",
             "RSEQMALLOC_PROFILE_PREFIX=", "RSEQMALLOC_GUARD_PERCENT=101",
             "RSEQMALLOC_GUARD_MAX=0", "RSEQMALLOC_GUARD_MAX=1K"},
            &config);
  for (const char* bad :
       {"RSEQMALLOC_PROFILE=maybe", "RSEQMALLOC_PROFILE_SAMPLE_BYTES=0",
        "RSEQMALLOC_PROFILE_SIGNAL=SIGNOPE", "RSEQMALLOC_PROFILE_SIGNAL=65",
        "RSEQMALLOC_PROFILE_PREFIX=", "RSEQMALLOC_GUARD_PERCENT=101", "RSEQMALLOC_GUARD_MAX=0",
        "RSEQMALLOC_GUARD_MAX=1K"}) {
    EXPECT_NE(warnings.find(std::string("bad value in ") + bad), std::string::npos) << bad;
  }
  const Config defaults;
  EXPECT_FALSE(config.profile);
  EXPECT_EQ(config.profile_sample_bytes, defaults.profile_sample_bytes);
  EXPECT_EQ(config.profile_signal, 0);
  EXPECT_STREQ(config.profile_prefix, defaults.profile_prefix);
  EXPECT_EQ(config.guard_percent, defaults.guard_percent);
  EXPECT_EQ(config.guard_max, defaults.guard_max);
}

}  // namespace
}  // namespace rseqmalloc
