"""Exchange class and routing: declare/delete, predeclared exchanges, exchange-to-exchange
bindings, and how direct, fanout, topic and headers exchanges route."""

import pika
import pytest

from helpers import channel_error, connection_error, exists_exchange, get_all, settle


@pytest.mark.parametrize("kind", ["direct", "fanout", "topic", "headers"])
def test_declare_each_type(broker, ch, kind):
    e = broker.exchange_name()
    ch.exchange_declare(e, kind)
    ch.exchange_declare(e, kind, passive=True)
    ch.exchange_declare(e, kind)  # an equivalent redeclare is fine
    ch.exchange_delete(e)
    assert not exists_exchange(broker.connection, e)


def test_passive_declare_of_missing_exchange_is_404(broker, ch):
    e = broker.exchange_name()
    with channel_error(404, "NOT_FOUND - no exchange '%s' in vhost '/'" % e):
        ch.exchange_declare(e, "direct", passive=True)


def test_redeclare_with_other_type_is_406(broker, ch):
    e = broker.exchange_name()
    ch.exchange_declare(e, "direct")
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'type' for exchange '%s' in vhost '/': "
        "received 'fanout' but current is 'direct'" % e,
    ):
        ch.exchange_declare(e, "fanout")


def test_redeclare_with_other_durability_is_406(broker, ch):
    e = broker.exchange_name()
    ch.exchange_declare(e, "direct", durable=False)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange '%s' in vhost '/': "
        "received 'true' but current is 'false'" % e,
    ):
        ch.exchange_declare(e, "direct", durable=True)


def test_unknown_exchange_type_is_connection_error(broker):
    # RabbitMQ treats an unknown type as a connection error 503 COMMAND_INVALID. Its text is
    # "COMMAND_INVALID - unknown exchange type 'no-such-type'", or "... invalid exchange type
    # 'foo'" for names that happen to be existing Erlang atoms; only the prefix is checked.
    conn = broker.connect()
    ch = conn.channel()
    with connection_error(503, text_prefix="COMMAND_INVALID - "):
        ch.exchange_declare(broker.exchange_name(), "no-such-type")


def test_delete_exchange(broker, ch):
    e = broker.exchange_name()
    ch.exchange_declare(e, "topic")
    ch.exchange_delete(e)
    assert not exists_exchange(broker.connection, e)
    # RabbitMQ: deleting an exchange that does not exist succeeds.
    ch.exchange_delete(e)


def test_delete_if_unused_on_bound_exchange_is_406(broker, ch):
    e = broker.exchange_name()
    q = broker.queue_name()
    ch.exchange_declare(e, "direct")
    ch.queue_declare(q)
    ch.queue_bind(q, e, "k")
    with channel_error(406, "PRECONDITION_FAILED - exchange '%s' in vhost '/' in use" % e):
        ch.exchange_delete(e, if_unused=True)
    assert exists_exchange(broker.connection, e)


def test_delete_if_unused_on_unbound_exchange(broker, ch):
    e = broker.exchange_name()
    ch.exchange_declare(e, "direct")
    ch.exchange_delete(e, if_unused=True)
    assert not exists_exchange(broker.connection, e)


def test_delete_exchange_removes_its_bindings(broker, ch):
    e = broker.exchange_name()
    q = broker.queue_name()
    ch.exchange_declare(e, "fanout")
    ch.queue_declare(q)
    ch.queue_bind(q, e)
    ch.exchange_delete(e)
    ch.exchange_declare(e, "fanout")  # same name, fresh exchange: no bindings
    ch.basic_publish(e, "", b"lost")
    assert get_all(ch, q) == []


def test_exchange_to_exchange_binding_routes_and_unbind_stops(broker, ch):
    src = broker.exchange_name("src")
    dst = broker.exchange_name("dst")
    q = broker.queue_name()
    ch.exchange_declare(src, "direct")
    ch.exchange_declare(dst, "fanout")
    ch.queue_declare(q)
    ch.queue_bind(q, dst)
    ch.exchange_bind(dst, src, routing_key="k")
    ch.basic_publish(src, "k", b"routed")
    ch.basic_publish(src, "other", b"not routed")
    assert get_all(ch, q) == [b"routed"]
    ch.exchange_unbind(dst, src, routing_key="k")
    ch.basic_publish(src, "k", b"after unbind")
    assert get_all(ch, q) == []


def test_exchange_to_exchange_chain_and_cycle(broker, ch):
    # a -> b -> c and c -> a: a message is delivered once to a queue on c, the cycle does not
    # loop or duplicate it.
    a, b, c = (broker.exchange_name(t) for t in "abc")
    q = broker.queue_name()
    for e in (a, b, c):
        ch.exchange_declare(e, "fanout")
    ch.exchange_bind(b, a)
    ch.exchange_bind(c, b)
    ch.exchange_bind(a, c)
    ch.queue_declare(q)
    ch.queue_bind(q, c)
    ch.basic_publish(a, "", b"once")
    assert get_all(ch, q) == [b"once"]


def test_exchange_bind_to_missing_source_is_404(broker, ch):
    dst = broker.exchange_name()
    missing = broker.exchange_name("missing")
    ch.exchange_declare(dst, "fanout")
    with channel_error(404, "NOT_FOUND - no exchange '%s' in vhost '/'" % missing):
        ch.exchange_bind(dst, missing)


@pytest.mark.parametrize(
    "name,kind",
    [
        ("amq.direct", "direct"),
        ("amq.fanout", "fanout"),
        ("amq.topic", "topic"),
        ("amq.headers", "headers"),
        ("amq.match", "headers"),
    ],
)
def test_predeclared_exchanges_exist(ch, name, kind):
    ch.exchange_declare(name, kind, passive=True)
    ch.exchange_declare(name, kind, durable=True)  # equivalent redeclare is allowed


def test_declaring_amq_prefix_is_403(broker, ch):
    name = "amq.conf-" + broker.exchange_name()
    reserved = "ACCESS_REFUSED - exchange name '%s' contains reserved prefix 'amq.*'" % name
    with channel_error(403, reserved):
        ch.exchange_declare(name, "direct")


def test_deleting_predeclared_exchange_is_403(ch):
    refused = "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"
    with channel_error(403, refused):
        ch.exchange_delete("amq.direct")


def test_default_exchange_routes_by_queue_name(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"direct to queue")
    ch.basic_publish("", q + "-nope", b"nowhere")
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert body == b"direct to queue"
    assert (method.exchange, method.routing_key) == ("", q)
    assert ch.basic_get(q)[0] is None


def test_binding_to_default_exchange_is_403(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    with channel_error(403, "ACCESS_REFUSED - operation not permitted on the default exchange"):
        ch.queue_bind(q, "", "other-key")


def test_publish_to_internal_exchange_is_403(broker, ch):
    e = broker.exchange_name()
    ch.exchange_declare(e, "fanout", internal=True)
    ch.basic_publish(e, "", b"x")
    refused = "ACCESS_REFUSED - cannot publish to internal exchange '%s' in vhost '/'" % e
    with channel_error(403, refused):
        # the error arrives asynchronously; the next synchronous call sees the channel closed
        ch.queue_declare("", exclusive=True)


def test_internal_exchange_routes_from_exchange_binding(broker, ch):
    src = broker.exchange_name("src")
    internal = broker.exchange_name("internal")
    q = broker.queue_name()
    ch.exchange_declare(src, "fanout")
    ch.exchange_declare(internal, "fanout", internal=True)
    ch.exchange_bind(internal, src)
    ch.queue_declare(q)
    ch.queue_bind(q, internal)
    ch.basic_publish(src, "", b"via internal")
    assert get_all(ch, q) == [b"via internal"]


def test_auto_delete_exchange_goes_with_its_last_binding(broker, ch):
    e = broker.exchange_name()
    q = broker.queue_name()
    ch.exchange_declare(e, "direct", auto_delete=True)
    assert exists_exchange(broker.connection, e)  # never bound: stays
    ch.queue_declare(q)
    ch.queue_bind(q, e, "a")
    ch.queue_bind(q, e, "b")
    ch.queue_unbind(q, e, "a")
    assert exists_exchange(broker.connection, e)
    ch.queue_unbind(q, e, "b")
    assert not exists_exchange(broker.connection, e)


def test_direct_routes_on_exact_key_and_multiple_bindings(broker, ch):
    e = broker.exchange_name()
    q1, q2 = broker.queue_name("1"), broker.queue_name("2")
    ch.exchange_declare(e, "direct")
    ch.queue_declare(q1)
    ch.queue_declare(q2)
    ch.queue_bind(q1, e, "red")
    ch.queue_bind(q1, e, "green")
    ch.queue_bind(q2, e, "green")
    for key in ("red", "green", "blue", "Red", "red.x"):
        ch.basic_publish(e, key, key.encode())
    assert get_all(ch, q1) == [b"red", b"green"]
    assert get_all(ch, q2) == [b"green"]


def test_duplicate_binding_delivers_once(broker, ch):
    e = broker.exchange_name()
    q = broker.queue_name()
    ch.exchange_declare(e, "topic")
    ch.queue_declare(q)
    ch.queue_bind(q, e, "a.*")
    ch.queue_bind(q, e, "a.*")
    ch.queue_bind(q, e, "#")  # two matching bindings, still one copy per queue
    ch.basic_publish(e, "a.b", b"one copy")
    assert get_all(ch, q) == [b"one copy"]


def test_fanout_ignores_routing_key(broker, ch):
    e = broker.exchange_name()
    q1, q2 = broker.queue_name("1"), broker.queue_name("2")
    ch.exchange_declare(e, "fanout")
    for q, key in ((q1, "x"), (q2, "")):
        ch.queue_declare(q)
        ch.queue_bind(q, e, key)
    ch.basic_publish(e, "anything", b"m1")
    ch.basic_publish(e, "", b"m2")
    assert get_all(ch, q1) == [b"m1", b"m2"]
    assert get_all(ch, q2) == [b"m1", b"m2"]


# What RabbitMQ 3.10 routes for each binding pattern, over these routing keys.
TOPIC_KEYS = ["", "a", "a.b", "a.b.c", "a.b.b.c", "a.c", "x.b", "a..c", "a.", ".a", "b.c", "c"]
TOPIC_CASES = [
    ("a.*.c", ["a.b.c", "a..c"]),
    ("a.#", ["a", "a.b", "a.b.c", "a.b.b.c", "a.c", "a..c", "a."]),  # '#' matches zero words
    ("#", TOPIC_KEYS),  # including the empty key
    ("a.*.#", ["a.b", "a.b.c", "a.b.b.c", "a.c", "a..c", "a."]),
    ("*.b", ["a.b", "x.b"]),
    ("a.#.c", ["a.b.c", "a.b.b.c", "a.c", "a..c"]),
    ("#.c", ["a.b.c", "a.b.b.c", "a.c", "a..c", "b.c", "c"]),
    ("*", ["a", "c"]),  # '*' needs exactly one word: not the empty key
    ("a.*", ["a.b", "a.c", "a."]),  # an empty word is a word
    ("a", ["a"]),
    ("#.#", TOPIC_KEYS),
    ("a.#.#.c", ["a.b.c", "a.b.b.c", "a.c", "a..c"]),
    ("*.*", ["a.b", "a.c", "x.b", "a.", ".a", "b.c"]),
    ("", [""]),
    ("*.#.*", ["a.b", "a.b.c", "a.b.b.c", "a.c", "x.b", "a..c", "a.", ".a", "b.c"]),
]


def test_topic_routing(broker, ch):
    e = broker.exchange_name()
    ch.exchange_declare(e, "topic")
    queues = []
    for pattern, _ in TOPIC_CASES:
        q = broker.queue_name()
        ch.queue_declare(q)
        ch.queue_bind(q, e, pattern)
        queues.append(q)
    for key in TOPIC_KEYS:
        ch.basic_publish(e, key, key.encode() or b"<empty>")
    mismatches = []
    for (pattern, expected), q in zip(TOPIC_CASES, queues):
        got = [b.decode() for b in get_all(ch, q)]
        want = [k or "<empty>" for k in expected]
        if got != want:
            mismatches.append("%r: got %s, want %s" % (pattern, got, want))
    assert not mismatches, "\n".join(mismatches)


def test_topic_unbind_stops_routing(broker, ch):
    e = broker.exchange_name()
    q = broker.queue_name()
    ch.exchange_declare(e, "topic")
    ch.queue_declare(q)
    ch.queue_bind(q, e, "a.#")
    ch.queue_bind(q, e, "*.b")
    ch.queue_unbind(q, e, "a.#")
    for key in ("a.x", "a.b"):
        ch.basic_publish(e, key, key.encode())
    assert get_all(ch, q) == [b"a.b"]


# (x-match, binding arguments) -> which of MESSAGES RabbitMQ 3.10 routes.
HEADERS_MESSAGES = [
    ("a1", {"a": 1}),
    ("a1-b", {"a": 1, "b": "x"}),
    ("b", {"b": "x"}),
    ("a2", {"a": 2}),
    ("none", None),
    ("a1-xy", {"a": 1, "x-y": "z"}),
    ("xy", {"x-y": "z"}),
    ("a-str", {"a": "1"}),  # a string "1" is not the integer 1
]
HEADERS_CASES = [
    ("all", {"a": 1, "b": "x"}, ["a1-b"]),
    ("any", {"a": 1, "b": "x"}, ["a1", "a1-b", "b", "a1-xy"]),
    (None, {"a": 1}, ["a1", "a1-b", "a1-xy"]),  # x-match defaults to all
    ("all", {}, [m for m, _ in HEADERS_MESSAGES]),  # no conditions: everything
    ("any", {}, []),
    ("all", {"a": 1, "x-y": "z"}, ["a1", "a1-b", "a1-xy"]),  # x- arguments are not conditions
    ("any", {"x-y": "z"}, []),
    ("any-with-x", {"x-y": "z"}, ["a1-xy", "xy"]),  # ... unless x-match ends in -with-x
    ("all-with-x", {"a": 1, "x-y": "z"}, ["a1-xy"]),
]


def test_headers_routing(broker, ch):
    e = broker.exchange_name()
    ch.exchange_declare(e, "headers")
    queues = []
    for x_match, args, _ in HEADERS_CASES:
        q = broker.queue_name()
        ch.queue_declare(q)
        binding = dict(args)
        if x_match:
            binding["x-match"] = x_match
        ch.queue_bind(q, e, "", arguments=binding)
        queues.append(q)
    for name, headers in HEADERS_MESSAGES:
        ch.basic_publish(e, "ignored", name.encode(), pika.BasicProperties(headers=headers))
    mismatches = []
    for (x_match, args, expected), q in zip(HEADERS_CASES, queues):
        got = [b.decode() for b in get_all(ch, q)]
        if got != expected:
            mismatches.append("%s %s: got %s, want %s" % (x_match, args, got, expected))
    assert not mismatches, "\n".join(mismatches)


def test_headers_unbind_with_arguments(broker, ch):
    e = broker.exchange_name()
    q = broker.queue_name()
    ch.exchange_declare(e, "headers")
    ch.queue_declare(q)
    ch.queue_bind(q, e, "", arguments={"x-match": "any", "k": "v"})
    ch.queue_unbind(q, e, "", arguments={"x-match": "any", "k": "v"})
    ch.basic_publish(e, "", b"x", pika.BasicProperties(headers={"k": "v"}))
    settle(broker.connection, 0.1)
    assert get_all(ch, q) == []
