// Compiled by g++ in the real-program suite (under each allocator); its object file and its
// output are compared. Heavy on templates so that the compiler allocates a lot.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

template <int N>
struct Fib {
  static constexpr long value = Fib<N - 1>::value + Fib<N - 2>::value;
};
template <>
struct Fib<1> {
  static constexpr long value = 1;
};
template <>
struct Fib<0> {
  static constexpr long value = 0;
};

using Value = std::variant<long, double, std::string>;

std::string Show(const Value& v) {
  return std::visit(
      [](const auto& x) {
        std::ostringstream s;
        s << x;
        return s.str();
      },
      v);
}

int main() {
  std::map<std::string, std::vector<int>> index;
  std::unordered_map<int, std::set<std::string>> reverse;
  for (int i = 0; i < 5000; ++i) {
    std::string word = "w" + std::to_string((i * 7919) % 977);
    index[word].push_back(i);
    reverse[i % 31].insert(word);
  }
  long total = 0;
  for (const auto& [word, positions] : index) {
    total += std::accumulate(positions.begin(), positions.end(), 0L) % 1000003;
  }
  std::regex pattern("w([0-9]+)7");
  int matches = 0;
  for (const auto& entry : index) matches += std::regex_match(entry.first, pattern);
  std::vector<Value> values = {Fib<40>::value, 3.25, std::string("text"), total};
  std::vector<std::function<long(long)>> steps = {[](long x) { return x * 3; },
                                                  [](long x) { return x - 7; }};
  long folded = 1;
  for (int i = 0; i < 20; ++i) folded = steps[i % 2](folded) % 1000000007;
  std::printf("%zu words, %zu buckets, total %ld, %d matches, folded %ld\n", index.size(),
              reverse.size(), total, matches, folded);
  for (const Value& v : values) std::printf("%s\n", Show(v).c_str());
  return 0;
}
