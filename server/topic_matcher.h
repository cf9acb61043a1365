// TopicMatcher: the binding index of a topic exchange, a trie over the words of binding keys.
//
// Words are what RabbitMQ's rabbit_exchange_type_topic:split_topic_key makes of a key: ""
// has no words at all, and otherwise n dots make n+1 words, any of them possibly empty
// ("a..b" is "a", "", "b"; "." is "", ""; "a." is "a", ""). In a binding key "*" matches
// exactly one word (an empty one too) and "#" zero or more words; in a routing key they are
// ordinary words. So "#" matches every routing key including "", "a.#" matches "a", "#.a"
// matches "a", "a.*.#" matches "a.b" but not "a", "*" does not match "" but does match ".x"'s
// first word, and the binding key "" matches only the routing key "".
//
// Matching runs the trie as a set of live nodes advanced one routing-key word at a time,
// each node entered at most once per word. Its cost is bounded by words x live nodes however
// many '#' a pattern has (no backtracking), and bindings whose words diverge from the key
// cost nothing. The sets live in scratch vectors reused across calls, so routing does not
// allocate once they have grown to the largest set seen.

#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace warren::server {

// Splits a topic key into its words as RabbitMQ does (see the file comment).
class TopicWords {
 public:
  explicit TopicWords(std::string_view key) : rest_(key), done_(key.empty()) {}

  // Stores the next word in *word and returns true; false once every word was returned.
  bool Next(std::string_view* word) {
    if (done_) return false;
    const size_t dot = rest_.find('.');
    if (dot == std::string_view::npos) {
      *word = rest_;
      done_ = true;
    } else {
      *word = rest_.substr(0, dot);
      rest_.remove_prefix(dot + 1);
    }
    return true;
  }

 private:
  std::string_view rest_;
  bool done_;
};

// T: a small copyable destination handle (e.g. Queue*), equality-comparable and hashable
// with Hash. Not thread-safe, not even Match (which is const but uses scratch space): the
// broker loop that owns the exchange is its only user.
template <class T, class Hash = std::hash<T>>
class TopicMatcher {
 public:
  TopicMatcher() : nodes_(1), mark_(1, 0) {}
  // Nodes point into edges_, which a copy would not preserve; moving keeps them valid.
  TopicMatcher(const TopicMatcher&) = delete;
  TopicMatcher& operator=(const TopicMatcher&) = delete;
  TopicMatcher(TopicMatcher&&) = default;
  TopicMatcher& operator=(TopicMatcher&&) = default;

  // Adds a binding with pattern `binding_key` for `destination`. Returns false, changing
  // nothing, if that (binding_key, destination) is bound already.
  bool Add(std::string_view binding_key, const T& destination) {
    uint32_t node = kRoot;
    TopicWords words(binding_key);
    for (std::string_view word; words.Next(&word);) node = ChildOrNew(node, word);
    std::vector<Slot>& slots = slots_[destination];
    if (FindSlot(slots, node) != slots.end()) return false;
    std::vector<T>& destinations = nodes_[node].destinations;
    slots.push_back(Slot{node, static_cast<uint32_t>(destinations.size())});
    destinations.push_back(destination);
    ++size_;
    return true;
  }

  // Removes the binding (binding_key, destination); returns false if it was not there.
  bool Remove(std::string_view binding_key, const T& destination) {
    const auto it = slots_.find(destination);
    if (it == slots_.end()) return false;
    const uint32_t node = Find(binding_key);
    if (node == kNone) return false;
    std::vector<Slot>& slots = it->second;
    const auto slot = FindSlot(slots, node);
    if (slot == slots.end()) return false;
    const uint32_t index = slot->index;
    *slot = slots.back();
    slots.pop_back();
    if (slots.empty()) slots_.erase(it);
    RemoveAt(node, index);
    Prune(node);
    return true;
  }

  // Removes every binding of `destination` (it is being deleted).
  void RemoveAll(const T& destination) {
    const auto it = slots_.find(destination);
    if (it == slots_.end()) return;
    // Prune after each removal: a later slot's node still holds `destination`, so no prune
    // can free it before its turn.
    for (const Slot& slot : it->second) {
      RemoveAt(slot.node, slot.index);
      Prune(slot.node);
    }
    slots_.erase(it);
  }

  // Calls visit(destination) for every binding whose pattern matches `routing_key`. A
  // destination bound with several matching patterns is visited once per pattern (the
  // caller de-duplicates). `visit` must not add or remove bindings of this matcher.
  template <class Visitor>
  void Match(std::string_view routing_key, Visitor&& visit) const {
    // A visitor that matches on this same matcher again (an exchange routing to itself)
    // gets fresh sets rather than overwriting the ones being visited.
    std::vector<uint32_t> own_live;
    std::vector<uint32_t> own_next;
    const bool nested = matching_;
    std::vector<uint32_t>& live = nested ? own_live : live_;
    std::vector<uint32_t>& next = nested ? own_next : next_;
    matching_ = true;
    struct Restore {
      bool& flag;
      bool value;
      ~Restore() { flag = value; }
    } restore{matching_, nested};

    live.clear();
    Enter(kRoot, NextGeneration(), &live);
    TopicWords words(routing_key);
    for (std::string_view word; words.Next(&word);) {
      const uint32_t generation = NextGeneration();
      const size_t word_hash = std::hash<std::string_view>()(word);
      next.clear();
      for (const uint32_t id : live) {
        const Node& node = nodes_[id];
        if (node.word_children != 0) {
          const auto edge = edges_.find(EdgeRef{id, word, word_hash});
          if (edge != edges_.end()) Enter(edge->second, generation, &next);
        }
        Enter(node.star, generation, &next);
        if (node.edge == Edge::kHash) Enter(id, generation, &next);  // '#' takes this word too
      }
      live.swap(next);
      if (live.empty()) return;
    }
    for (const uint32_t id : live) {
      for (const T& destination : nodes_[id].destinations) visit(destination);
    }
  }

  // The number of bindings.
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Trie nodes in use, the root included (1 when empty): removals free what they empty.
  size_t node_count() const { return nodes_.size() - free_.size(); }

 private:
  static constexpr uint32_t kRoot = 0;
  static constexpr uint32_t kNone = UINT32_MAX;

  // How a node is reached from its parent.
  enum class Edge : uint8_t { kRoot, kWord, kStar, kHash };

  struct Node {
    uint32_t parent = kNone;
    uint32_t star = kNone;       // child by '*'
    uint32_t hash = kNone;       // child by '#'
    uint32_t word_children = 0;  // children by a word, held in edges_
    Edge edge = Edge::kRoot;
    const std::string* word = nullptr;  // kWord: the word, owned by this node's key in edges_
    std::vector<T> destinations;        // the bindings whose key ends at this node
  };

  // Where a destination's binding is: nodes_[node].destinations[index].
  struct Slot {
    uint32_t node;
    uint32_t index;
  };

  // edges_ maps (parent, word) to the child; lookups use an EdgeRef, whose word's hash is
  // computed once per routing-key word rather than once per live node.
  struct EdgeKey {
    uint32_t parent;
    std::string word;
  };
  struct EdgeRef {
    uint32_t parent;
    std::string_view word;
    size_t word_hash;
  };
  static size_t Mix(uint32_t parent, size_t word_hash) {
    return word_hash ^ (static_cast<size_t>(parent) * static_cast<size_t>(0x9E3779B97F4A7C15ull));
  }
  struct EdgeHash {
    using is_transparent = void;
    size_t operator()(const EdgeKey& k) const {
      return Mix(k.parent, std::hash<std::string_view>()(k.word));
    }
    size_t operator()(const EdgeRef& r) const { return Mix(r.parent, r.word_hash); }
  };
  struct EdgeEqual {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return a.parent == b.parent && std::string_view(a.word) == std::string_view(b.word);
    }
  };

  static EdgeRef Ref(uint32_t parent, std::string_view word) {
    return EdgeRef{parent, word, std::hash<std::string_view>()(word)};
  }

  // The child of `parent` by `word` (which may be "*" or "#"), created if missing.
  uint32_t ChildOrNew(uint32_t parent, std::string_view word) {
    if (word == "*" || word == "#") {
      const bool star = word == "*";
      uint32_t child = star ? nodes_[parent].star : nodes_[parent].hash;
      if (child == kNone) {
        child = NewNode(parent, star ? Edge::kStar : Edge::kHash);
        (star ? nodes_[parent].star : nodes_[parent].hash) = child;
      }
      return child;
    }
    const auto it = edges_.find(Ref(parent, word));
    if (it != edges_.end()) return it->second;
    const uint32_t child = NewNode(parent, Edge::kWord);
    const auto added = edges_.emplace(EdgeKey{parent, std::string(word)}, child).first;
    nodes_[child].word = &added->first.word;
    ++nodes_[parent].word_children;
    return child;
  }

  // The node at which `binding_key` ends, or kNone if no binding key has all its words.
  uint32_t Find(std::string_view binding_key) const {
    uint32_t node = kRoot;
    TopicWords words(binding_key);
    for (std::string_view word; node != kNone && words.Next(&word);) {
      if (word == "*") {
        node = nodes_[node].star;
      } else if (word == "#") {
        node = nodes_[node].hash;
      } else {
        const auto it = edges_.find(Ref(node, word));
        node = it == edges_.end() ? kNone : it->second;
      }
    }
    return node;
  }

  uint32_t NewNode(uint32_t parent, Edge edge) {
    uint32_t id;
    if (free_.empty()) {
      id = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
      mark_.push_back(0);
    } else {
      id = free_.back();
      free_.pop_back();
    }
    nodes_[id].parent = parent;
    nodes_[id].edge = edge;
    return id;
  }

  static typename std::vector<Slot>::iterator FindSlot(std::vector<Slot>& slots, uint32_t node) {
    auto it = slots.begin();
    while (it != slots.end() && it->node != node) ++it;
    return it;
  }

  // Removes nodes_[node].destinations[index] by moving the last one into its place, and
  // points the moved destination's slot at its new index.
  void RemoveAt(uint32_t node, uint32_t index) {
    std::vector<T>& destinations = nodes_[node].destinations;
    const uint32_t last = static_cast<uint32_t>(destinations.size() - 1);
    if (index != last) {
      destinations[index] = std::move(destinations[last]);
      std::vector<Slot>& moved = slots_.find(destinations[index])->second;
      FindSlot(moved, node)->index = index;
    }
    destinations.pop_back();
    --size_;
  }

  // Frees `id` and then its ancestors for as long as they hold nothing.
  void Prune(uint32_t id) {
    while (id != kRoot) {
      Node& node = nodes_[id];
      if (!node.destinations.empty() || node.word_children != 0 || node.star != kNone ||
          node.hash != kNone) {
        return;
      }
      const uint32_t parent_id = node.parent;
      Node& parent = nodes_[parent_id];
      switch (node.edge) {
        case Edge::kStar:
          parent.star = kNone;
          break;
        case Edge::kHash:
          parent.hash = kNone;
          break;
        case Edge::kWord:
          edges_.erase(edges_.find(Ref(parent_id, *node.word)));
          --parent.word_children;
          break;
        case Edge::kRoot:
          return;  // unreachable: only kRoot has this edge
      }
      node = Node{};
      free_.push_back(id);
      id = parent_id;
    }
  }

  // Adds `id` to *set unless it is in it for this `generation`, and with it its chain of
  // '#' children, since a '#' may match no word at all.
  void Enter(uint32_t id, uint32_t generation, std::vector<uint32_t>* set) const {
    for (; id != kNone && mark_[id] != generation; id = nodes_[id].hash) {
      mark_[id] = generation;
      set->push_back(id);
    }
  }

  uint32_t NextGeneration() const {
    if (++generation_ == 0) {  // wrapped: old marks could collide with new generations
      std::fill(mark_.begin(), mark_.end(), 0);
      generation_ = 1;
    }
    return generation_;
  }

  std::vector<Node> nodes_;  // nodes_[kRoot] is the root; free nodes are listed in free_
  std::vector<uint32_t> free_;
  std::unordered_map<EdgeKey, uint32_t, EdgeHash, EdgeEqual> edges_;
  std::unordered_map<T, std::vector<Slot>, Hash> slots_;  // every binding, by destination
  size_t size_ = 0;

  // Match's scratch space. mark_[id] is the generation in which node id last entered a set.
  mutable std::vector<uint32_t> mark_;
  mutable uint32_t generation_ = 0;
  mutable std::vector<uint32_t> live_;
  mutable std::vector<uint32_t> next_;
  mutable bool matching_ = false;
};

}  // namespace warren::server
