// Dead-lettering: x-death bookkeeping and the rewritten message (see dead_letter.h).

#include "server/dead_letter.h"

#include <algorithm>

#include "server/message_edit.h"

namespace warren::server {

namespace {

const std::string* StringField(const amqp::FieldTable& table, std::string_view name) {
  const amqp::FieldValue* value = table.Find(name);
  return value == nullptr ? nullptr : std::get_if<std::string>(value);
}

amqp::FieldTable NewDeathEntry(const Death& death) {
  amqp::FieldArray keys;
  for (const std::string& key : death.routing_keys) keys.emplace_back(key);
  amqp::FieldTable entry{
      {"count", int64_t{1}},        {"reason", std::string(DeathReasonName(death.reason))},
      {"queue", death.queue},       {"time", amqp::Timestamp{death.time}},
      {"exchange", death.exchange}, {"routing-keys", std::move(keys)},
  };
  if (death.original_expiration) entry.Set("original-expiration", *death.original_expiration);
  return entry;
}

void SortByName(amqp::FieldTable* table) {
  std::stable_sort(
      table->entries.begin(), table->entries.end(),
      [](const amqp::FieldEntry& a, const amqp::FieldEntry& b) { return a.name < b.name; });
}

// The CC keys of message headers (an array of longstr; other values are ignored).
void AppendCcKeys(const amqp::FieldTable& headers, std::vector<std::string>* keys) {
  const amqp::FieldValue* cc = headers.Find("CC");
  const auto* array = cc == nullptr ? nullptr : std::get_if<amqp::FieldArray>(cc);
  if (array == nullptr) return;
  for (const amqp::FieldValue& v : *array) {
    if (const auto* s = std::get_if<std::string>(&v)) keys->push_back(*s);
  }
}

}  // namespace

std::string_view DeathReasonName(DeathReason reason) {
  switch (reason) {
    case DeathReason::kRejected:
      return "rejected";
    case DeathReason::kExpired:
      return "expired";
    case DeathReason::kMaxLen:
      return "maxlen";
    case DeathReason::kDeliveryLimit:
      return "delivery_limit";
  }
  return "rejected";
}

void RecordDeath(amqp::FieldTable* headers, const Death& death) {
  const amqp::FieldValue* existing = headers->Find("x-death");
  const auto* deaths = existing == nullptr ? nullptr : std::get_if<amqp::FieldArray>(existing);
  if (deaths == nullptr) {
    // The first death also gets top-level headers of its own.
    headers->Set("x-first-death-reason", std::string(DeathReasonName(death.reason)));
    headers->Set("x-first-death-queue", death.queue);
    headers->Set("x-first-death-exchange", death.exchange);
    headers->Set("x-death", amqp::FieldArray{NewDeathEntry(death)});
    SortByName(headers);
    return;
  }
  const std::string_view reason = DeathReasonName(death.reason);
  amqp::FieldArray updated;
  updated.reserve(deaths->size() + 1);
  std::optional<amqp::FieldTable> same;
  for (const amqp::FieldValue& v : *deaths) {
    const auto* entry = std::get_if<amqp::FieldTable>(&v);
    if (!same && entry != nullptr) {
      const std::string* queue = StringField(*entry, "queue");
      const std::string* why = StringField(*entry, "reason");
      if (queue != nullptr && *queue == death.queue && why != nullptr && *why == reason) {
        same = *entry;
        continue;
      }
    }
    updated.push_back(v);
  }
  amqp::FieldTable front;
  if (same) {
    // Only the count changes: the entry keeps the time and keys of its first death.
    front = std::move(*same);
    const amqp::FieldValue* count = front.Find("count");
    const int64_t n = count != nullptr ? amqp::IntegerValue(*count).value_or(0) : 0;
    front.Set("count", n + 1);
  } else {
    front = NewDeathEntry(death);
  }
  SortByName(&front);
  updated.insert(updated.begin(), std::move(front));
  headers->Set("x-death", std::move(updated));
  SortByName(headers);
}

DeadLettered MakeDeadLetter(const Message& message, DeathReason reason, std::string_view queue,
                            std::string_view dead_letter_exchange,
                            const std::optional<std::string>& dead_letter_routing_key,
                            uint64_t now) {
  amqp::BasicProperties properties = DecodeProperties(message);
  amqp::FieldTable headers =
      properties.headers ? std::move(*properties.headers) : amqp::FieldTable();
  Death death;
  death.reason = reason;
  death.queue = std::string(queue);
  death.exchange = std::string(message.exchange());
  death.routing_keys.emplace_back(message.routing_key());
  AppendCcKeys(headers, &death.routing_keys);
  if (properties.expiration) death.original_expiration = std::string(*properties.expiration);
  death.time = now;

  DeadLettered out;
  if (dead_letter_routing_key) {
    out.routing_keys.push_back(*dead_letter_routing_key);
  } else {
    out.routing_keys = death.routing_keys;
  }
  RecordDeath(&headers, death);
  if (dead_letter_routing_key) {
    std::erase_if(headers.entries, [](const amqp::FieldEntry& e) { return e.name == "CC"; });
  }
  properties.headers = std::move(headers);
  properties.expiration.reset();
  out.message = WithProperties(message, dead_letter_exchange, out.routing_keys.front(), properties);
  return out;
}

bool IsDeathCycle(const amqp::FieldTable& headers, DeathReason reason, std::string_view target) {
  if (reason == DeathReason::kRejected) return false;
  const amqp::FieldValue* value = headers.Find("x-death");
  const auto* deaths = value == nullptr ? nullptr : std::get_if<amqp::FieldArray>(value);
  if (deaths == nullptr) return false;
  // Walk from the newest death back to the last one in `target`: a cycle, unless some death
  // on the way (that one included) was a rejection.
  for (const amqp::FieldValue& v : *deaths) {
    const auto* entry = std::get_if<amqp::FieldTable>(&v);
    if (entry == nullptr) continue;
    const std::string* why = StringField(*entry, "reason");
    if (why != nullptr && *why == "rejected") return false;
    const std::string* queue = StringField(*entry, "queue");
    if (queue != nullptr && *queue == target) return true;
  }
  return false;
}

}  // namespace warren::server
