// Tests for server/topic_matcher.h: RabbitMQ's topic semantics (words split as
// rabbit_exchange_type_topic:split_topic_key does), binding bookkeeping, and matching cost.

#include "server/topic_matcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace warren::server {
namespace {

using Matcher = TopicMatcher<int>;

// Every destination visited for `routing_key`, duplicates kept, sorted.
std::vector<int> Visits(const Matcher& m, std::string_view routing_key) {
  std::vector<int> out;
  m.Match(routing_key, [&](int d) { out.push_back(d); });
  std::sort(out.begin(), out.end());
  return out;
}

// Whether a matcher holding only `binding_key` routes `routing_key`.
bool Matches(std::string_view binding_key, std::string_view routing_key) {
  Matcher m;
  m.Add(binding_key, 1);
  return Visits(m, routing_key) == std::vector<int>{1};
}

std::vector<std::string> Split(std::string_view key) {
  std::vector<std::string> words;
  TopicWords splitter(key);
  for (std::string_view w; splitter.Next(&w);) words.emplace_back(w);
  return words;
}

// RabbitMQ's reference matcher (ref_match in its topic-exchange property tests), on words.
bool RefMatch(const std::vector<std::string>& pattern, size_t p,
              const std::vector<std::string>& key, size_t k) {
  if (p == pattern.size()) return k == key.size();
  if (pattern[p] == "#") {
    for (size_t skip = k; skip <= key.size(); ++skip) {
      if (RefMatch(pattern, p + 1, key, skip)) return true;
    }
    return false;
  }
  if (k == key.size()) return false;
  if (pattern[p] != "*" && pattern[p] != key[k]) return false;
  return RefMatch(pattern, p + 1, key, k + 1);
}

TEST(TopicWords, SplitsLikeRabbitMq) {
  EXPECT_EQ(Split(""), std::vector<std::string>{});
  EXPECT_EQ(Split("a"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Split("a.b.c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Split("a..b"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split("."), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(Split("a."), (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(Split(".a"), (std::vector<std::string>{"", "a"}));
  EXPECT_EQ(Split(".."), (std::vector<std::string>{"", "", ""}));
}

TEST(TopicMatcher, LiteralKeyMatchesOnlyItself) {
  EXPECT_TRUE(Matches("a.b.c", "a.b.c"));
  EXPECT_FALSE(Matches("a.b.c", "a.b"));
  EXPECT_FALSE(Matches("a.b.c", "a.b.c.d"));
  EXPECT_FALSE(Matches("a.b.c", "a.b.x"));
  EXPECT_FALSE(Matches("a.b", "ab"));
  EXPECT_FALSE(Matches("A", "a"));
}

TEST(TopicMatcher, StarMatchesExactlyOneWord) {
  EXPECT_TRUE(Matches("*", "a"));
  EXPECT_FALSE(Matches("*", "a.b"));
  EXPECT_TRUE(Matches("a.*.c", "a.b.c"));
  EXPECT_FALSE(Matches("a.*.c", "a.c"));
  EXPECT_FALSE(Matches("a.*.c", "a.b.b.c"));
  EXPECT_TRUE(Matches("*.*", "a.b"));
  EXPECT_FALSE(Matches("*.*", "a"));
}

TEST(TopicMatcher, StarDoesNotMatchEmptyRoutingKey) {
  // "" has no words at all, not one empty word.
  EXPECT_FALSE(Matches("*", ""));
}

TEST(TopicMatcher, StarMatchesOneEmptyWord) {
  EXPECT_FALSE(Matches("*", "."));  // "." is two empty words
  EXPECT_TRUE(Matches("*.*", "."));
  EXPECT_TRUE(Matches("a.*.b", "a..b"));
  EXPECT_TRUE(Matches("a.*", "a."));
}

TEST(TopicMatcher, HashMatchesZeroWords) {
  EXPECT_TRUE(Matches("#", ""));
  EXPECT_TRUE(Matches("a.#", "a"));
  EXPECT_TRUE(Matches("#.a", "a"));
  EXPECT_TRUE(Matches("a.#.b", "a.b"));
  EXPECT_TRUE(Matches("#.#", ""));
}

TEST(TopicMatcher, HashMatchesManyWords) {
  EXPECT_TRUE(Matches("#", "a"));
  EXPECT_TRUE(Matches("#", "a.b.c"));
  EXPECT_TRUE(Matches("#", "."));
  EXPECT_TRUE(Matches("a.#", "a.b.c"));
  EXPECT_TRUE(Matches("#.c", "a.b.c"));
  EXPECT_TRUE(Matches("a.#.d", "a.b.c.d"));
  EXPECT_FALSE(Matches("a.#", "b.a"));
  EXPECT_FALSE(Matches("#.c", "c.a"));
  EXPECT_FALSE(Matches("a.#.d", "a.b.c"));
}

TEST(TopicMatcher, StarThenHashNeedsAtLeastOneWord) {
  EXPECT_FALSE(Matches("a.*.#", "a"));
  EXPECT_TRUE(Matches("a.*.#", "a.b"));
  EXPECT_TRUE(Matches("a.*.#", "a.b.c"));
  EXPECT_TRUE(Matches("a.#.*", "a.b"));
  EXPECT_FALSE(Matches("a.#.*", "a"));
  EXPECT_FALSE(Matches("#.*", ""));
  EXPECT_TRUE(Matches("#.*", "x"));
}

TEST(TopicMatcher, EmptyBindingKeyMatchesOnlyEmptyRoutingKey) {
  EXPECT_TRUE(Matches("", ""));
  EXPECT_FALSE(Matches("", "a"));
  EXPECT_FALSE(Matches("", "."));
  EXPECT_FALSE(Matches(".", ""));
}

TEST(TopicMatcher, EmptyWordsAreWords) {
  EXPECT_TRUE(Matches("a..b", "a..b"));
  EXPECT_FALSE(Matches("a..b", "a.b"));
  EXPECT_FALSE(Matches("a.b", "a..b"));
  EXPECT_TRUE(Matches(".", "."));
  EXPECT_FALSE(Matches(".", ".."));
  EXPECT_TRUE(Matches("a.", "a."));
  EXPECT_FALSE(Matches("a.", "a"));
  EXPECT_TRUE(Matches("#.", "a.b."));
  EXPECT_FALSE(Matches("#.", "a.b"));
  EXPECT_TRUE(Matches("#.", "."));
}

TEST(TopicMatcher, WildcardsInRoutingKeyAreOrdinaryWords) {
  EXPECT_FALSE(Matches("a.b", "a.*"));
  EXPECT_FALSE(Matches("a.b", "#"));
  EXPECT_TRUE(Matches("a.*", "a.*"));
  EXPECT_TRUE(Matches("a.*", "a.#"));
  EXPECT_FALSE(Matches("a.*", "a.#.b"));
  // A wildcard only counts as a whole word.
  EXPECT_FALSE(Matches("a*", "ab"));
  EXPECT_TRUE(Matches("a*", "a*"));
  EXPECT_FALSE(Matches("a#", "a.b"));
}

TEST(TopicMatcher, ManyHashesStayFast) {
  Matcher m;
  m.Add("#.#.#.#.#.#.#.#.#.#.x", 1);
  m.Add("#.a.#.a.#.a.#.a.#.a.#.a.#.a.#.a.#.a.#.a.#.y", 2);
  m.Add("*.#.*.#.*.#.*.#.*.#.*.#.*.#.*.#.z", 3);
  std::string no_match;
  for (int i = 0; i < 60; ++i) no_match += "a.";
  no_match += "b";  // 61 words, every pattern fails only at the last word
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(Visits(m, no_match).empty());
  EXPECT_EQ(Visits(m, no_match.substr(0, no_match.size() - 1) + "x"), std::vector<int>{1});
  EXPECT_EQ(Visits(m, no_match.substr(0, no_match.size() - 1) + "y"), std::vector<int>{2});
  EXPECT_EQ(Visits(m, no_match.substr(0, no_match.size() - 1) + "z"), std::vector<int>{3});
  // Backtracking would take far longer than this (exponential in the number of '#').
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(TopicMatcher, MatchesWhatRabbitMqsReferenceMatcherMatches) {
  // Random patterns and keys over a small alphabet so that they often match, checked
  // against the reference matcher; each binding is its own destination.
  std::mt19937 rng(12345);
  const std::vector<std::string> pattern_words = {"a", "b", "", "*", "#"};
  const std::vector<std::string> key_words = {"a", "b", "", "*", "#"};
  auto random_key = [&](const std::vector<std::string>& alphabet, size_t max_words) {
    const size_t n = rng() % (max_words + 1);
    std::string key;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) key += '.';
      key += alphabet[rng() % alphabet.size()];
    }
    return key;
  };
  Matcher m;
  std::vector<std::string> patterns;
  for (int i = 0; i < 300; ++i) {
    std::string p = random_key(pattern_words, 6);
    if (std::find(patterns.begin(), patterns.end(), p) != patterns.end()) continue;
    ASSERT_TRUE(m.Add(p, static_cast<int>(patterns.size())));
    patterns.push_back(p);
  }
  for (int i = 0; i < 2000; ++i) {
    const std::string key = random_key(key_words, 7);
    std::vector<int> expected;
    for (size_t p = 0; p < patterns.size(); ++p) {
      if (RefMatch(Split(patterns[p]), 0, Split(key), 0)) expected.push_back(static_cast<int>(p));
    }
    ASSERT_EQ(Visits(m, key), expected) << "routing key '" << key << "'";
  }
}

TEST(TopicMatcher, DestinationBoundByTwoMatchingPatternsIsVisitedForEach) {
  Matcher m;
  EXPECT_TRUE(m.Add("a.*", 7));
  EXPECT_TRUE(m.Add("#", 7));
  EXPECT_TRUE(m.Add("a.b", 8));
  EXPECT_EQ(Visits(m, "a.b"), (std::vector<int>{7, 7, 8}));
  EXPECT_EQ(Visits(m, "a.c"), (std::vector<int>{7, 7}));
  EXPECT_EQ(Visits(m, "c"), (std::vector<int>{7}));
}

TEST(TopicMatcher, SamePatternForSeveralDestinations) {
  Matcher m;
  for (int d = 0; d < 5; ++d) EXPECT_TRUE(m.Add("x.*", d));
  EXPECT_EQ(Visits(m, "x.y"), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(m.size(), 5u);
}

TEST(TopicMatcher, AddingADuplicateIsANoOp) {
  Matcher m;
  EXPECT_TRUE(m.Add("a.#", 1));
  EXPECT_FALSE(m.Add("a.#", 1));
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(Visits(m, "a.b"), std::vector<int>{1});
  EXPECT_TRUE(m.Add("a.#", 2));
  EXPECT_TRUE(m.Add("a.*", 1));
  EXPECT_EQ(m.size(), 3u);
}

TEST(TopicMatcher, RemoveDeletesOnlyThatBinding) {
  Matcher m;
  m.Add("a.*", 1);
  m.Add("a.*", 2);
  m.Add("a.b", 1);
  EXPECT_TRUE(m.Remove("a.*", 1));
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(Visits(m, "a.b"), (std::vector<int>{1, 2}));
  EXPECT_EQ(Visits(m, "a.c"), std::vector<int>{2});
  EXPECT_FALSE(m.Remove("a.*", 1));
  EXPECT_EQ(m.size(), 2u);
}

TEST(TopicMatcher, RemoveOfAbsentBindingReturnsFalse) {
  Matcher m;
  EXPECT_FALSE(m.Remove("a", 1));
  m.Add("a.b", 1);
  EXPECT_FALSE(m.Remove("a", 1));      // a prefix of a bound key
  EXPECT_FALSE(m.Remove("a.b.c", 1));  // longer than any bound key
  EXPECT_FALSE(m.Remove("a.b", 2));    // other destination
  EXPECT_FALSE(m.Remove("a.*", 1));    // '*' is not the word it could match
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(Visits(m, "a.b"), std::vector<int>{1});
}

TEST(TopicMatcher, RemovingEverythingFreesTheTrie) {
  Matcher m;
  m.Add("a.b.c", 1);
  m.Add("a.*.#", 1);
  m.Add("a.b", 2);
  m.Add("", 3);
  m.Add("#", 3);
  EXPECT_GT(m.node_count(), 1u);
  EXPECT_TRUE(m.Remove("a.b.c", 1));
  EXPECT_EQ(Visits(m, "a.b"), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(m.Remove("a.*.#", 1));
  EXPECT_TRUE(m.Remove("a.b", 2));
  EXPECT_TRUE(m.Remove("", 3));
  EXPECT_TRUE(m.Remove("#", 3));
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.node_count(), 1u);
  EXPECT_TRUE(Visits(m, "a.b").empty());
  // Freed nodes are reused and work as new.
  m.Add("a.b.c", 4);
  EXPECT_EQ(Visits(m, "a.b.c"), std::vector<int>{4});
  EXPECT_EQ(m.node_count(), 4u);
}

TEST(TopicMatcher, RemoveKeepsNodesOtherBindingsNeed) {
  Matcher m;
  m.Add("a.b.c", 1);
  m.Add("a", 2);
  m.Add("a.b.d", 3);
  EXPECT_TRUE(m.Remove("a.b.c", 1));
  EXPECT_EQ(Visits(m, "a"), std::vector<int>{2});
  EXPECT_EQ(Visits(m, "a.b.d"), std::vector<int>{3});
  EXPECT_TRUE(Visits(m, "a.b.c").empty());
  EXPECT_EQ(m.node_count(), 4u);  // root, a, b, d
}

TEST(TopicMatcher, RemoveAllDeletesEveryBindingOfTheDestination) {
  Matcher m;
  m.Add("a", 1);
  m.Add("a.b", 1);
  m.Add("#", 1);
  m.Add("*.b", 1);
  m.Add("a", 2);
  m.Add("*.b", 2);
  m.RemoveAll(1);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(Visits(m, "a"), std::vector<int>{2});
  EXPECT_EQ(Visits(m, "a.b"), std::vector<int>{2});
  EXPECT_TRUE(Visits(m, "c.d.e").empty());
  m.RemoveAll(1);  // nothing left: no-op
  m.RemoveAll(2);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.node_count(), 1u);
}

TEST(TopicMatcher, RemoveKeepsTheOtherDestinationsOfAPattern) {
  // Removal moves the last destination of a node into the freed place; the moved one must
  // still be removable afterwards.
  Matcher m;
  for (int d = 0; d < 10; ++d) m.Add("k", d);
  EXPECT_TRUE(m.Remove("k", 0));
  EXPECT_TRUE(m.Remove("k", 5));
  m.RemoveAll(9);
  EXPECT_EQ(Visits(m, "k"), (std::vector<int>{1, 2, 3, 4, 6, 7, 8}));
  for (int d : {1, 2, 3, 4, 6, 7, 8}) EXPECT_TRUE(m.Remove("k", d)) << d;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.node_count(), 1u);
}

TEST(TopicMatcher, LargeNumbersOfBindings) {
  constexpr int kQueues = 100000;
  Matcher m;
  for (int q = 0; q < kQueues; ++q) {
    ASSERT_TRUE(m.Add("stock." + std::to_string(q) + ".*", q));
    ASSERT_TRUE(m.Add("#", q));
  }
  EXPECT_EQ(m.size(), 2u * kQueues);
  std::vector<int> visits = Visits(m, "stock.4242.nyse");
  EXPECT_EQ(visits.size(), kQueues + 1u);
  EXPECT_EQ(std::count(visits.begin(), visits.end(), 4242), 2);
  // Deleting every queue, in an order other than insertion, leaves nothing behind.
  for (int q = 0; q < kQueues; ++q) m.RemoveAll((q * 7919) % kQueues);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.node_count(), 1u);
  EXPECT_TRUE(Visits(m, "stock.4242.nyse").empty());
}

TEST(TopicMatcher, MatchIsReentrant) {
  Matcher m;
  m.Add("a.#", 1);
  m.Add("a.b", 2);
  std::vector<int> inner;
  std::vector<int> outer;
  m.Match("a.b", [&](int d) {
    outer.push_back(d);
    m.Match("a.c", [&](int e) { inner.push_back(e); });
  });
  std::sort(outer.begin(), outer.end());
  EXPECT_EQ(outer, (std::vector<int>{1, 2}));
  EXPECT_EQ(inner, (std::vector<int>{1, 1}));
}

TEST(TopicMatcher, WorksWithPointerVariantDestinations) {
  struct Queue {};
  struct Exchange {};
  using Destination = std::variant<Queue*, Exchange*>;
  Queue q;
  Exchange x;
  TopicMatcher<Destination> m;
  EXPECT_TRUE(m.Add("a.*", Destination(&q)));
  EXPECT_TRUE(m.Add("a.*", Destination(&x)));
  EXPECT_FALSE(m.Add("a.*", Destination(&q)));
  int queues = 0;
  int exchanges = 0;
  m.Match("a.b", [&](const Destination& d) { ++(d.index() == 0 ? queues : exchanges); });
  EXPECT_EQ(queues, 1);
  EXPECT_EQ(exchanges, 1);
  m.RemoveAll(Destination(&q));
  EXPECT_EQ(m.size(), 1u);
}

}  // namespace
}  // namespace warren::server
