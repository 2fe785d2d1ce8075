#include "allocator/config.h"

#include "allocator/common.h"

#include <signal.h>
#include <string.h>

#include "allocator/diagnostics.h"

namespace rseqmalloc {

RSEQMALLOC_CONSTINIT Config g_config;

namespace {

constexpr char kPrefix[] = "RSEQMALLOC_";

bool ParseBool(const char* value, bool* out) {
  if (!strcmp(value, "1") || !strcmp(value, "on") || !strcmp(value, "yes") ||
      !strcmp(value, "true")) {
    *out = true;
    return true;
  }
  if (!strcmp(value, "0") || !strcmp(value, "off") || !strcmp(value, "no") ||
      !strcmp(value, "false")) {
    *out = false;
    return true;
  }
  return false;
}

// A byte count with an optional K, M or G suffix (powers of 1024). Rejects overflow.
bool ParseBytes(const char* value, size_t* out) {
  if (*value == '\0') return false;
  size_t n = 0;
  const char* p = value;
  for (; *p >= '0' && *p <= '9'; ++p) {
    size_t digit = static_cast<size_t>(*p - '0');
    if (n > (SIZE_MAX - digit) / 10) return false;
    n = n * 10 + digit;
  }
  unsigned shift = 0;
  switch (*p) {
    case '\0': break;
    case 'k': case 'K': shift = 10; ++p; break;
    case 'm': case 'M': shift = 20; ++p; break;
    case 'g': case 'G': shift = 30; ++p; break;
    default: return false;
  }
  if (*p != '\0' || p == value) return false;
  if (n > (SIZE_MAX >> shift)) return false;
  *out = n << shift;
  return true;
}

// A whole number of milliseconds within [low, high].
bool ParseMillis(const char* value, uint32_t low, uint32_t high, uint32_t* out) {
  size_t n;
  if (!ParseBytes(value, &n) || n < low || n > high) return false;
  for (const char* p = value; *p; ++p) {
    if (*p < '0' || *p > '9') return false;  // no K/M/G suffix for a duration
  }
  *out = static_cast<uint32_t>(n);
  return true;
}

// A whole number within [low, high], no suffix.
bool ParseNumber(const char* value, uint32_t low, uint32_t high, uint32_t* out) {
  return ParseMillis(value, low, high, out);
}

// A signal by number (1..64) or name (USR1, SIGUSR2, HUP, ...).
bool ParseSignal(const char* value, int* out) {
  uint32_t number;
  if (ParseNumber(value, 1, 64, &number)) {
    *out = static_cast<int>(number);
    return true;
  }
  if (!strncmp(value, "SIG", 3)) value += 3;
  static const struct {
    const char* name;
    int number;
  } kSignals[] = {{"HUP", SIGHUP}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"PROF", SIGPROF},
                  {"URG", SIGURG}, {"WINCH", SIGWINCH}};
  for (const auto& signal : kSignals) {
    if (!strcmp(value, signal.name)) {
      *out = signal.number;
      return true;
    }
  }
  return false;
}

bool ParseSlotKey(const char* value, SlotKeyChoice* out) {
  if (!strcmp(value, "auto")) *out = SlotKeyChoice::kAuto;
  else if (!strcmp(value, "mm_cid")) *out = SlotKeyChoice::kMmCid;
  else if (!strcmp(value, "cpu_id")) *out = SlotKeyChoice::kCpuId;
  else return false;
  return true;
}

// name is the part after the prefix, up to '='; returns false for an unknown name.
bool Apply(const char* name, size_t name_len, const char* value, Config* config, bool* valid) {
  auto is = [&](const char* known) {
    return strlen(known) == name_len && !strncmp(name, known, name_len);
  };
  if (is("VERBOSE")) *valid = ParseBool(value, &config->verbose);
  else if (is("RSEQ")) *valid = ParseBool(value, &config->rseq);
  else if (is("SLOT_KEY")) *valid = ParseSlotKey(value, &config->slot_key);
  else if (is("SLICE_EXTENSION")) *valid = ParseBool(value, &config->slice_extension);
  else if (is("CPU_CACHE_BYTES")) *valid = ParseBytes(value, &config->cpu_cache_bytes);
  else if (is("STATS_AT_EXIT")) *valid = ParseBool(value, &config->stats_at_exit);
  else if (is("BACKGROUND")) *valid = ParseBool(value, &config->background);
  else if (is("RELEASE_THREAD")) *valid = ParseBool(value, &config->release_thread);
  else if (is("PROMPT_RELEASE")) *valid = ParseBool(value, &config->prompt_release);
  else if (is("RELEASE_PERIOD_MS"))
    *valid = ParseMillis(value, 10, 3600000, &config->release_period_ms);
  else if (is("PROFILE")) *valid = ParseBool(value, &config->profile);
  else if (is("PROFILE_SAMPLE_BYTES")) {
    size_t bytes = 0;
    *valid = ParseBytes(value, &bytes) && bytes >= 1 && bytes <= (size_t{1} << 40);
    if (*valid) config->profile_sample_bytes = bytes;
  } else if (is("PROFILE_SIGNAL")) *valid = ParseSignal(value, &config->profile_signal);
  else if (is("PROFILE_AT_EXIT")) *valid = ParseBool(value, &config->profile_at_exit);
  else if (is("PROFILE_PREFIX")) {
    *valid = *value != '\0' && strlen(value) < 400;
    if (*valid) config->profile_prefix = value;
  } else if (is("GUARD")) *valid = ParseBool(value, &config->guard);
  else if (is("GUARD_PERCENT")) *valid = ParseNumber(value, 0, 100, &config->guard_percent);
  else if (is("GUARD_MAX")) *valid = ParseNumber(value, 1, 4096, &config->guard_max);
  else return false;
  return true;
}

}  // namespace

void ParseConfig(const char* const* environment, Config* config) {
  if (environment == nullptr) return;
  const size_t prefix_len = sizeof(kPrefix) - 1;
  for (const char* const* entry = environment; *entry != nullptr; ++entry) {
    const char* var = *entry;
    if (strncmp(var, kPrefix, prefix_len) != 0) continue;
    const char* name = var + prefix_len;
    const char* eq = strchr(name, '=');
    if (eq == nullptr) continue;
    bool valid = true;
    if (!Apply(name, static_cast<size_t>(eq - name), eq + 1, config, &valid)) {
      Log("warning: unknown setting %s ignored", var);
    } else if (!valid) {
      Log("warning: bad value in %s ignored (default kept)", var);
    }
  }
}

}  // namespace rseqmalloc
