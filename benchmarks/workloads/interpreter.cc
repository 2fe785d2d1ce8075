// A single-threaded, interpreter-style program: the kind of allocation pattern a scripting
// language runtime produces. It builds documents of reference-counted dynamic values (numbers,
// strings, lists, dictionaries keyed by strings), serializes them to text, parses the text back,
// serializes again and compares, and counts words in a hash map. Every step allocates many small,
// short-lived strings and nodes; a few documents stay alive as "globals" across rounds.
#include <cctype>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "benchmarks/workloads/check_log.h"
#include "benchmarks/workloads/rng.h"
#include "benchmarks/workloads/workload_options.h"
#include "benchmarks/workloads/workload_result.h"

namespace rseqmalloc {
namespace bench {
namespace {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { kNumber, kString, kList, kDict } kind;
  int64_t number = 0;
  std::string text;
  std::vector<ValuePtr> items;
  std::map<std::string, ValuePtr> fields;
  explicit Value(Kind k) : kind(k) {}
};

std::vector<std::string> MakeVocabulary(Rng& rng) {
  std::vector<std::string> words;
  for (int i = 0; i < 600; ++i) {
    std::string word;
    size_t length = 2 + rng.Below(10);
    for (size_t c = 0; c < length; ++c) word += static_cast<char>('a' + rng.Below(26));
    words.push_back(std::move(word));
  }
  return words;
}

ValuePtr MakeValue(Rng& rng, const std::vector<std::string>& words, int depth) {
  uint64_t pick = rng.Below(depth >= 3 ? 2 : 4);
  if (pick == 0) {
    auto value = std::make_shared<Value>(Value::Kind::kNumber);
    value->number = static_cast<int64_t>(rng.Below(2000000)) - 1000000;
    return value;
  }
  if (pick == 1) {
    auto value = std::make_shared<Value>(Value::Kind::kString);
    size_t count = 1 + rng.Below(6);
    for (size_t i = 0; i < count; ++i) {
      if (i > 0) value->text += ' ';
      value->text += words[rng.Below(words.size())];
    }
    return value;
  }
  if (pick == 2) {
    auto value = std::make_shared<Value>(Value::Kind::kList);
    size_t count = rng.Below(6);
    for (size_t i = 0; i < count; ++i) value->items.push_back(MakeValue(rng, words, depth + 1));
    return value;
  }
  auto value = std::make_shared<Value>(Value::Kind::kDict);
  size_t count = rng.Below(5);
  for (size_t i = 0; i < count; ++i) {
    value->fields[words[rng.Below(words.size())] + "_" + std::to_string(i)] =
        MakeValue(rng, words, depth + 1);
  }
  return value;
}

void Serialize(const Value& value, std::string& out) {
  switch (value.kind) {
    case Value::Kind::kNumber: out += std::to_string(value.number); break;
    case Value::Kind::kString: out += '"'; out += value.text; out += '"'; break;
    case Value::Kind::kList:
      out += '[';
      for (size_t i = 0; i < value.items.size(); ++i) {
        if (i > 0) out += ',';
        Serialize(*value.items[i], out);
      }
      out += ']';
      break;
    case Value::Kind::kDict: {
      out += '{';
      bool first = true;
      for (const auto& field : value.fields) {
        if (!first) out += ',';
        first = false;
        out += '"'; out += field.first; out += "\":";
        Serialize(*field.second, out);
      }
      out += '}';
      break;
    }
  }
}

// Recursive-descent parser for exactly what Serialize writes; returns null on malformed input.
class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}
  ValuePtr ParseDocument() {
    ValuePtr value = ParseValue();
    return pos_ == text_.size() ? value : nullptr;
  }

 private:
  bool Eat(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) { ++pos_; return true; }
    return false;
  }
  bool ParseString(std::string& out) {
    if (!Eat('"')) return false;
    size_t end = text_.find('"', pos_);
    if (end == std::string::npos) return false;
    out.assign(text_, pos_, end - pos_);
    pos_ = end + 1;
    return true;
  }
  ValuePtr ParseValue() {
    if (pos_ >= text_.size()) return nullptr;
    char c = text_[pos_];
    if (c == '"') {
      auto value = std::make_shared<Value>(Value::Kind::kString);
      return ParseString(value->text) ? value : nullptr;
    }
    if (Eat('[')) {
      auto value = std::make_shared<Value>(Value::Kind::kList);
      if (Eat(']')) return value;
      do {
        ValuePtr item = ParseValue();
        if (!item) return nullptr;
        value->items.push_back(std::move(item));
      } while (Eat(','));
      return Eat(']') ? value : nullptr;
    }
    if (Eat('{')) {
      auto value = std::make_shared<Value>(Value::Kind::kDict);
      if (Eat('}')) return value;
      do {
        std::string key;
        if (!ParseString(key) || !Eat(':')) return nullptr;
        ValuePtr field = ParseValue();
        if (!field) return nullptr;
        value->fields.emplace(std::move(key), std::move(field));
      } while (Eat(','));
      return Eat('}') ? value : nullptr;
    }
    size_t start = pos_;
    if (c == '-') ++pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ == start) return nullptr;
    auto value = std::make_shared<Value>(Value::Kind::kNumber);
    value->number = std::stoll(text_.substr(start, pos_ - start));
    return value;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

// Counts words (runs of letters) in a hash map; returns how many words there were in total.
uint64_t CountWords(const std::string& text, std::unordered_map<std::string, uint64_t>& counts) {
  uint64_t total = 0;
  std::string word;
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      word += c;
    } else if (!word.empty()) {
      ++counts[word];
      ++total;
      word.clear();
    }
  }
  if (!word.empty()) { ++counts[word]; ++total; }
  return total;
}

struct Global {
  ValuePtr document;
  std::string text;
};

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "interpreter",
      "Single-threaded interpreter-style work (--threads is accepted and ignored).");
  const uint64_t rounds = ScaledCount(options, 120);
  constexpr int kTopLevelFields = 1500;
  CheckLog log;
  Rng rng(42);
  std::vector<std::string> words = MakeVocabulary(rng);
  std::deque<Global> globals;
  uint64_t values_built = 0;

  for (uint64_t round = 0; round < rounds; ++round) {
    auto document = std::make_shared<Value>(Value::Kind::kDict);
    for (int i = 0; i < kTopLevelFields; ++i) {
      document->fields["field_" + std::to_string(rng.Below(100000))] = MakeValue(rng, words, 0);
    }
    std::string first;
    Serialize(*document, first);
    Parser parser(first);
    ValuePtr parsed = parser.ParseDocument();
    if (!parsed) {
      log.Fail("interpreter: serialized document did not parse", first.size());
      continue;
    }
    std::string second;
    Serialize(*parsed, second);
    if (second != first) log.Fail("interpreter: parse/serialize round trip differs", first.size());

    std::unordered_map<std::string, uint64_t> counts;
    uint64_t total = CountWords(first, counts);
    uint64_t summed = 0;
    for (const auto& entry : counts) summed += entry.second;
    if (summed != total) log.Fail("interpreter: word counts do not add up", counts.size());
    values_built += total;

    // Keep one document in four alive for a while, like module-level state.
    if (round % 4 == 0) {
      globals.push_back(Global{parsed, std::move(first)});
      if (globals.size() > 6) globals.pop_front();
    }
  }
  for (const Global& global : globals) {
    std::string again;
    Serialize(*global.document, again);
    if (again != global.text) log.Fail("interpreter: long-lived document changed", again.size());
  }
  options.threads = 1;
  return FinishWorkload("interpreter", options, values_built, log);
}
