"""Durability: what survives a clean restart of the broker. Durable exchanges, durable queues
with their arguments, bindings between durable things, and persistent messages in durable queues
come back (in order, byte for byte, with the right redelivered flags); transient and exclusive
queues, transient exchanges, bindings to them, transient messages, and whatever was acked, purged
or deleted do not.

Restarting RabbitMQ takes seconds, so the scenarios share restarts. Each scenario is a generator
decorated with @across_restarts: it sets up state, yields, and checks the state after a restart
(a second yield asks for a second restart). The module fixture `restarts` runs the set-up of every
selected scenario, restarts the broker once, resumes every scenario, restarts again if one asks,
and so on; each test then reports its own scenario's outcome. The whole module restarts the
broker at most twice.

Set-ups publish with publisher confirms, and wait for the acks they send to show in the queue's
counts where they can, so that the broker has taken everything in before it is told to stop.
"""

import datetime
import decimal
import struct

import pika
import pytest

import helpers
import rawamqp
from helpers import channel_error, exists_exchange, exists_queue, get_all, message_count

# One test runs every scenario's set-up and the restarts: RabbitMQ takes ~10 s per restart.
pytestmark = pytest.mark.timeout(240)

# name -> the scenario generator, in the order of this file.
SCENARIOS = {}


def across_restarts(scenario):
    """Registers scenario(broker), a generator that yields once per restart it needs, and returns
    the test that reports how it went. `broker` is a helpers.Broker whose connections are
    dropped at each restart (they are dead), and whose names are deleted at the module's end."""
    SCENARIOS[scenario.__name__] = scenario

    def test(restarts):
        error = restarts[scenario.__name__]
        if error is not None:
            raise error

    test.__name__ = scenario.__name__
    test.__doc__ = scenario.__doc__
    return test


@pytest.fixture(scope="module")
def restarts(request, amqp_url, restart_broker, target):
    """Runs the selected scenarios across as few restarts as they need; maps each scenario's
    name to the exception it raised, or None."""
    selected = [
        item.name
        for item in request.session.items
        if item.module is request.module
        and item.name in SCENARIOS
        and not (target == "rabbitmq" and item.get_closest_marker("warren_only"))
    ]
    brokers = {name: helpers.Broker(amqp_url, name) for name in selected}
    outcomes = {}
    running = {}
    try:
        for name in selected:
            running[name] = SCENARIOS[name](brokers[name])
        while True:
            for name, scenario in list(running.items()):
                try:
                    next(scenario)
                except StopIteration:
                    outcomes[name] = None
                    del running[name]
                except Exception as e:
                    outcomes[name] = e
                    del running[name]
            if not running:
                break
            restart_broker()
            for b in brokers.values():
                b.drop_connections()
        yield outcomes
    finally:
        for b in brokers.values():
            b.close()


def confirming_channel(b):
    """A channel in confirm mode: each basic_publish returns once the broker has the message."""
    ch = b.channel()
    ch.confirm_delivery()
    return ch


def persistent(**properties):
    return pika.BasicProperties(delivery_mode=2, **properties)


def transient(**properties):
    return pika.BasicProperties(delivery_mode=1, **properties)


def publish_all(ch, exchange, routing_key, bodies, properties=None):
    for body in bodies:
        ch.basic_publish(exchange, routing_key, body, properties or persistent())


def take_all(ch, queue):
    """Takes every ready message from queue with basic.get (auto-ack); returns
    [(redelivered, properties, body)]."""
    out = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((method.redelivered, props, body))


# ---------------------------------------------------------------------------------------------
# Exchanges, queues and bindings


EXCHANGE_TYPES = ["direct", "fanout", "topic", "headers"]


@across_restarts
def test_durable_exchanges_keep_type_and_flags(b):
    ch = b.channel()
    exchanges = {kind: b.exchange_name(kind) for kind in EXCHANGE_TYPES}
    for kind, x in exchanges.items():
        ch.exchange_declare(x, kind, durable=True)
    internal = b.exchange_name("internal")
    ch.exchange_declare(internal, "fanout", durable=True, internal=True)
    yield
    for kind, x in exchanges.items():
        ch = b.channel()
        ch.exchange_declare(x, passive=True)
        ch.exchange_declare(x, kind, durable=True)  # the same declaration is fine
        other = "fanout" if kind == "direct" else "direct"
        with channel_error(
            406,
            "PRECONDITION_FAILED - inequivalent arg 'type' for exchange '%s' in vhost '/': "
            "received '%s' but current is '%s'" % (x, other, kind),
        ):
            ch.exchange_declare(x, other, durable=True)
        with channel_error(
            406,
            "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange '%s' in vhost '/': "
            "received 'false' but current is 'true'" % x,
        ):
            b.channel().exchange_declare(x, kind, durable=False)
    ch = b.channel()
    ch.exchange_declare(internal, "fanout", durable=True, internal=True)
    ch.basic_publish(internal, "", b"x")
    with channel_error(
        403, "ACCESS_REFUSED - cannot publish to internal exchange '%s' in vhost '/'" % internal
    ):
        ch.queue_declare("", exclusive=True)


QUEUE_ARGUMENTS = {
    "x-max-length": 10000,
    "x-message-ttl": 3600000,
    "x-dead-letter-exchange": "conf-durability-no-such-dlx",
    "x-conformance-unknown": "kept or not, never compared",
}


@across_restarts
def test_durable_queue_keeps_its_arguments(b):
    q = b.queue_name()
    b.channel().queue_declare(q, durable=True, arguments=QUEUE_ARGUMENTS)
    yield
    ch = b.channel()
    ch.queue_declare(q, passive=True)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '%s' in vhost '/': "
        "received '10001' but current is '10000'" % q,
    ):
        longer = dict(QUEUE_ARGUMENTS, **{"x-max-length": 10001})
        ch.queue_declare(q, durable=True, arguments=longer)
    without_ttl = {k: v for k, v in QUEUE_ARGUMENTS.items() if k != "x-message-ttl"}
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '%s' in vhost '/': "
        "received none but current is the value '3600000' of type 'signedint'" % q,
    ):
        b.channel().queue_declare(q, durable=True, arguments=without_ttl)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'durable' for queue '%s' in vhost '/': "
        "received 'false' but current is 'true'" % q,
    ):
        b.channel().queue_declare(q, durable=False, arguments=dict(QUEUE_ARGUMENTS))
    ok = b.channel().queue_declare(q, durable=True, arguments=dict(QUEUE_ARGUMENTS))
    assert (ok.method.message_count, ok.method.consumer_count) == (0, 0)


@across_restarts
def test_bindings_between_durable_things_keep_routing(b):
    ch = confirming_channel(b)
    x = {kind: b.exchange_name(kind) for kind in EXCHANGE_TYPES}
    q = {kind: b.queue_name(kind) for kind in EXCHANGE_TYPES + ["amq.direct", "unbound"]}
    for kind in EXCHANGE_TYPES:
        ch.exchange_declare(x[kind], kind, durable=True)
    for name in q.values():
        ch.queue_declare(name, durable=True)
    ch.queue_bind(q["direct"], x["direct"], "red")
    ch.queue_bind(q["direct"], x["direct"], "green")
    ch.queue_bind(q["fanout"], x["fanout"], "ignored")
    ch.queue_bind(q["topic"], x["topic"], "a.*.c")
    ch.queue_bind(q["topic"], x["topic"], "#.z")
    ch.queue_bind(q["headers"], x["headers"], "", arguments={"x-match": "all", "h": 1, "k": "v"})
    ch.queue_bind(q["headers"], x["headers"], "", arguments={"x-match": "any", "only": True})
    # A binding from a predeclared exchange, which the broker creates anew at each start.
    amq_key = q["amq.direct"]
    ch.queue_bind(q["amq.direct"], "amq.direct", amq_key)
    # Unbound before the restart: stays unbound.
    ch.queue_bind(q["unbound"], x["direct"], "blue")
    ch.queue_bind(q["unbound"], x["headers"], "", arguments={"x-match": "any", "u": 1})
    ch.queue_unbind(q["unbound"], x["direct"], "blue")
    ch.queue_unbind(q["unbound"], x["headers"], "", arguments={"x-match": "any", "u": 1})
    yield
    ch = confirming_channel(b)
    sends = [
        ("direct", "red", None, True),
        ("direct", "green", None, True),
        ("direct", "blue", None, False),
        ("fanout", "anything", None, True),
        ("topic", "a.b.c", None, True),
        ("topic", "y.z", None, True),
        ("topic", "a.b", None, False),
        ("headers", "", {"h": 1, "k": "v"}, True),
        ("headers", "", {"h": 1}, False),
        ("headers", "", {"only": True, "u": 1}, True),
        ("headers", "", {"u": 1}, False),
    ]
    for i, (kind, key, headers, _) in enumerate(sends):
        ch.basic_publish(x[kind], key, str(i).encode(), persistent(headers=headers))
    ch.basic_publish("amq.direct", amq_key, b"amq", persistent())
    for kind in EXCHANGE_TYPES:
        want = [str(i).encode() for i, s in enumerate(sends) if s[0] == kind and s[3]]
        assert get_all(ch, q[kind]) == want, kind
    assert get_all(ch, q["amq.direct"]) == [b"amq"]
    assert get_all(ch, q["unbound"]) == []


@across_restarts
def test_exchange_to_exchange_bindings_keep_routing(b):
    ch = b.channel()
    src, dst, internal = b.exchange_name("src"), b.exchange_name("dst"), b.exchange_name("int")
    q = b.queue_name()
    ch.exchange_declare(src, "topic", durable=True)
    ch.exchange_declare(dst, "direct", durable=True)
    ch.exchange_declare(internal, "fanout", durable=True, internal=True)
    ch.queue_declare(q, durable=True)
    ch.exchange_bind(dst, src, "a.#")  # destination, source
    ch.exchange_bind(internal, dst, "a.b")
    ch.exchange_bind(internal, src, "gone.#")
    ch.exchange_unbind(internal, src, "gone.#")
    ch.queue_bind(q, internal)
    yield
    ch = confirming_channel(b)
    for key in ("a.b", "a.c", "gone.x", "b.a"):
        ch.basic_publish(src, key, key.encode(), persistent())
    ch.basic_publish(dst, "a.b", b"from dst", persistent())
    assert get_all(ch, q) == [b"a.b", b"from dst"]


@across_restarts
def test_transient_queue_and_exchange_are_gone(b):
    ch = b.channel()
    q, x = b.queue_name(), b.exchange_name()
    ch.queue_declare(q, durable=False)
    ch.exchange_declare(x, "topic", durable=False)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"persistent, in a transient queue", persistent())
    yield
    assert not exists_queue(b.connection, q)
    assert not exists_exchange(b.connection, x)


@across_restarts
def test_exclusive_queues_are_gone(b):
    # Declared on the default connection, which stays open until the restart closes it.
    ch = b.channel()
    transient_q, durable_q = b.queue_name("transient"), b.queue_name("durable")
    ch.queue_declare(transient_q, exclusive=True)
    ch.queue_declare(durable_q, durable=True, exclusive=True)
    ch.confirm_delivery()
    ch.basic_publish("", durable_q, b"persistent, in an exclusive queue", persistent())
    yield
    assert not exists_queue(b.connection, transient_q)
    assert not exists_queue(b.connection, durable_q)
    # The name is free again, for any connection.
    ch = b.channel()
    ok = ch.queue_declare(durable_q, durable=True)
    assert ok.method.message_count == 0


@across_restarts
def test_bindings_with_a_transient_end_are_gone(b):
    ch = b.channel()
    durable_x, transient_x = b.exchange_name("durable"), b.exchange_name("transient")
    durable_q, transient_q = b.queue_name("durable"), b.queue_name("transient")
    ch.exchange_declare(durable_x, "direct", durable=True)
    ch.exchange_declare(transient_x, "direct", durable=False)
    ch.queue_declare(durable_q, durable=True)
    ch.queue_declare(transient_q, durable=False)
    ch.queue_bind(transient_q, durable_x, "k")
    ch.queue_bind(durable_q, transient_x, "k")
    ch.exchange_bind(transient_x, durable_x, "e2e")
    yield
    # The transient ends, declared again under the same names, are not bound to anything.
    ch = confirming_channel(b)
    ch.exchange_declare(transient_x, "direct", durable=False)
    ch.queue_declare(transient_q, durable=False)
    ch.queue_bind(durable_q, transient_x, "e2e")
    ch.basic_publish(durable_x, "k", b"k via durable", persistent())
    ch.basic_publish(transient_x, "k", b"k via transient", persistent())
    ch.basic_publish(durable_x, "e2e", b"e2e via durable", persistent())
    assert get_all(ch, transient_q) == []
    assert get_all(ch, durable_q) == []


@across_restarts
def test_deleted_durable_queue_and_exchange_stay_deleted(b):
    ch = confirming_channel(b)
    q, reused, x = b.queue_name("deleted"), b.queue_name("reused"), b.exchange_name()
    ch.queue_declare(q, durable=True)
    publish_all(ch, "", q, [b"in a deleted queue"])
    ch.queue_delete(q)
    ch.exchange_declare(x, "fanout", durable=True)
    ch.queue_declare(reused, durable=True)
    ch.queue_bind(reused, x)
    ch.exchange_delete(x)
    # A queue deleted and declared again under its name holds only what came after.
    publish_all(ch, "", reused, [b"old"])
    ch.queue_delete(reused)
    ch.queue_declare(reused, durable=True)
    publish_all(ch, "", reused, [b"new"])
    yield
    assert not exists_queue(b.connection, q)
    assert not exists_exchange(b.connection, x)
    ch = confirming_channel(b)
    ch.exchange_declare(x, "fanout", durable=True)
    ch.basic_publish(x, "", b"to the exchange declared again", persistent())
    assert get_all(ch, reused) == [b"new"]


# ---------------------------------------------------------------------------------------------
# Messages

# Headers with every field type pika writes: S, x, t, I, l, D, T, F, A, V.
HEADERS = {
    "string": "text \u00e9\u4e2d",
    "bytes": b"\x00\x01\xfe\xff",
    "true": True,
    "false": False,
    "int": -7,
    "long": 1 << 40,
    "decimal": decimal.Decimal("3.14"),
    "timestamp": datetime.datetime(2022, 9, 1, 12, 30, 15),
    "table": {"nested": "yes", "n": 1, "deeper": {"list": [1, "two", None]}},
    "array": [1, "two", True, {"k": "v"}, []],
    "void": None,
}

FULL_PROPERTIES = persistent(
    content_type="application/x-conformance",
    content_encoding="gzip",
    headers=HEADERS,
    priority=7,
    correlation_id="corr-1",
    reply_to="reply-queue",
    expiration="86400000",  # a day: no broker drops it during the test
    message_id="msg-1",
    timestamp=1661990400,
    type="conformance.type",
    user_id="guest",  # RabbitMQ refuses a user_id other than the connection's user
    app_id="warren-conformance",
)

PROPERTY_NAMES = [
    "content_type", "content_encoding", "headers", "delivery_mode", "priority", "correlation_id",
    "reply_to", "expiration", "message_id", "timestamp", "type", "user_id", "app_id", "cluster_id",
]


def properties_of(props):
    return {name: getattr(props, name) for name in PROPERTY_NAMES}


@across_restarts
def test_persistent_messages_come_back_in_order_byte_for_byte(b):
    ch = confirming_channel(b)
    q = b.queue_name()
    ch.queue_declare(q, durable=True)
    big = bytes(range(256)) * (300 * 4)  # 300 KiB: more than one frame at the default frame_max
    sent = [
        (b"first", persistent()),
        (b"", FULL_PROPERTIES),
        (big, FULL_PROPERTIES),
        (b"\x00\xce\x01binary\r\n", persistent(content_type="text/plain")),
        (b"last", persistent(headers={})),
    ]
    for body, props in sent:
        ch.basic_publish("", q, body, props)
    yield
    got = take_all(b.channel(), q)
    assert [len(body) for _, _, body in got] == [len(body) for body, _ in sent]
    for i, ((redelivered, props, body), (want_body, want_props)) in enumerate(zip(got, sent)):
        assert body == want_body, "message %d: body differs" % i
        assert properties_of(props) == properties_of(want_props), "message %d" % i
        assert redelivered is False, "message %d" % i


# Every field type RabbitMQ knows, written by hand (pika cannot write b, B, s, u, i, f or d), as
# header bytes that must come back identical.
RAW_HEADERS_ENTRIES = [
    ("t", b"t\x01"),
    ("b", b"b" + struct.pack(">b", -5)),
    ("B", b"B" + struct.pack(">B", 250)),
    ("s", b"s" + struct.pack(">h", -300)),
    ("u", b"u" + struct.pack(">H", 60000)),
    ("I", b"I" + struct.pack(">i", -70000)),
    ("i", b"i" + struct.pack(">I", 4000000000)),
    ("l", b"l" + struct.pack(">q", -(1 << 50))),
    ("f", b"f" + struct.pack(">f", 1.5)),
    ("d", b"d" + struct.pack(">d", -2.25)),
    ("D", b"D" + struct.pack(">Bi", 3, 12345)),
    ("T", b"T" + struct.pack(">Q", 1661990400)),
    ("S", b"S" + rawamqp.longstr(b"long string")),
    ("x", b"x" + rawamqp.longstr(b"\x00\xff bytes")),
    ("A", b"A" + rawamqp.longstr(b"I" + struct.pack(">i", 1) + b"S" + rawamqp.longstr(b"a"))),
    ("F", b"F" + rawamqp.longstr(rawamqp.shortstr("in") + b"t\x00")),
    ("V", b"V"),
]


def raw_properties():
    """(property flags, property list bytes) with all 13 properties but cluster-id set."""
    entries = b"".join(rawamqp.shortstr(k) + v for k, v in RAW_HEADERS_ENTRIES)
    fields = [
        (15, rawamqp.shortstr("text/plain")),
        (14, rawamqp.shortstr("identity")),
        (13, rawamqp.longstr(entries)),
        (12, rawamqp.octet(2)),  # delivery-mode: persistent
        (11, rawamqp.octet(3)),
        (10, rawamqp.shortstr("c-raw")),
        (9, rawamqp.shortstr("r-raw")),
        (8, rawamqp.shortstr("86400000")),
        (7, rawamqp.shortstr("m-raw")),
        (6, rawamqp.longlong(1661990401)),
        (5, rawamqp.shortstr("t-raw")),
        (4, rawamqp.shortstr("guest")),
        (3, rawamqp.shortstr("a-raw")),
    ]
    flags = sum(1 << bit for bit, _ in fields)
    return flags, b"".join(v for _, v in fields)


CONFIRM_SELECT = (85, 10)
CONFIRM_SELECT_OK = (85, 11)
BASIC_ACK = (60, 80)


@across_restarts
def test_persistent_message_properties_come_back_as_raw_bytes(b):
    q = b.queue_name()
    b.channel().queue_declare(q, durable=True)
    flags, props = raw_properties()
    with rawamqp.RawConnection(b.url) as c:
        c.handshake()
        c.open_channel(1)
        c.send(rawamqp.method_frame(1, CONFIRM_SELECT, rawamqp.octet(0)))
        c.expect_method(CONFIRM_SELECT_OK, channel=1)
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_PUBLISH, rawamqp.basic_publish_args("", q)))
        c.send(rawamqp.header_frame(1, 3, property_flags=flags, properties=props))
        c.send(rawamqp.body_frame(1, b"raw"))
        ack = c.expect_method(BASIC_ACK, channel=1).args()
        assert ack.longlong() == 1
        c.send(rawamqp.method_frame(0, rawamqp.CONNECTION_CLOSE, rawamqp.close_args()))
        c.expect_method(rawamqp.CONNECTION_CLOSE_OK, channel=0)
    yield
    with rawamqp.RawConnection(b.url) as c:
        c.handshake()
        c.open_channel(1)
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_GET, rawamqp.basic_get_args(q)))
        c.expect_method(rawamqp.BASIC_GET_OK, channel=1)
        header = c.read_frame_skipping_heartbeats()
        assert header.type == rawamqp.FRAME_HEADER
        # class id, weight, body size, then the property flags and list
        assert header.payload[:12] == struct.pack(">HHQ", 60, 0, 3)
        assert header.payload[12:] == struct.pack(">H", flags) + props
        body = c.read_frame_skipping_heartbeats()
        assert (body.type, body.payload) == (rawamqp.FRAME_BODY, b"raw")


@across_restarts
def test_transient_messages_are_gone_persistent_ones_stay(b):
    ch = confirming_channel(b)
    q = b.queue_name()
    ch.queue_declare(q, durable=True)
    for body, props in [
        (b"p1", persistent()),
        (b"t1", transient()),
        (b"p2", persistent()),
        (b"t2", pika.BasicProperties()),  # no delivery-mode: transient
        (b"t3", transient(headers={"h": 1})),
        (b"p3", persistent()),
    ]:
        ch.basic_publish("", q, body, props)
    assert message_count(ch, q) == 6
    yield
    ch = b.channel()
    assert message_count(ch, q) == 3
    assert get_all(ch, q) == [b"p1", b"p2", b"p3"]


@across_restarts
def test_fanout_copies_survive_in_each_queue_until_acked_there(b):
    ch = confirming_channel(b)
    x, q1, q2 = b.exchange_name(), b.queue_name("1"), b.queue_name("2")
    ch.exchange_declare(x, "fanout", durable=True)
    for q in (q1, q2):
        ch.queue_declare(q, durable=True)
        ch.queue_bind(q, x)
    publish_all(ch, x, "", [b"m1", b"m2", b"m3"])
    # m1 acked in q1 only; m2 acked in q1 with basic.get's auto-ack.
    method, _, body = ch.basic_get(q1)
    assert body == b"m1"
    ch.basic_ack(method.delivery_tag)
    assert ch.basic_get(q1, auto_ack=True)[2] == b"m2"
    assert (message_count(ch, q1), message_count(ch, q2)) == (1, 3)
    yield
    ch = b.channel()
    assert (message_count(ch, q1), message_count(ch, q2)) == (1, 3)
    assert get_all(ch, q1) == [b"m3"]
    assert get_all(ch, q2) == [b"m1", b"m2", b"m3"]


@across_restarts
def test_acked_and_rejected_messages_do_not_come_back(b):
    ch = confirming_channel(b)
    q = b.queue_name()
    ch.queue_declare(q, durable=True)
    publish_all(ch, "", q, [b"m%d" % i for i in range(1, 9)])
    assert ch.basic_get(q, auto_ack=True)[2] == b"m1"
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(6)]  # m2 .. m7
    ch.basic_ack(tags[1], multiple=True)  # m2, m3
    ch.basic_ack(tags[2])  # m4
    ch.basic_reject(tags[3], requeue=False)  # m5
    ch.basic_nack(tags[4], requeue=False)  # m6
    ch.basic_nack(tags[5], requeue=True)  # m7: back in the queue
    # RabbitMQ may answer a queue.declare before it has taken the acks sent ahead of it.
    assert helpers.wait_for_count(ch, q, 2) == 2
    yield
    ch = b.channel()
    got = take_all(ch, q)
    assert [body for _, _, body in got] == [b"m7", b"m8"]


@across_restarts
def test_purged_queue_stays_empty(b):
    ch = confirming_channel(b)
    q, refilled = b.queue_name("purged"), b.queue_name("refilled")
    for name in (q, refilled):
        ch.queue_declare(name, durable=True)
        publish_all(ch, "", name, [b"a", b"b", b"c"])
        assert ch.queue_purge(name).method.message_count == 3
    publish_all(ch, "", refilled, [b"after the purge"])
    yield
    ch = b.channel()
    assert message_count(ch, q) == 0
    assert get_all(ch, q) == []
    assert get_all(ch, refilled) == [b"after the purge"]


@across_restarts
def test_unacked_message_comes_back_redelivered(b):
    ch = confirming_channel(b)
    q = b.queue_name()
    ch.queue_declare(q, durable=True)
    publish_all(ch, "", q, [b"delivered", b"never delivered"])
    method, _, body = ch.basic_get(q)  # not acked: the restart closes the channel
    assert (body, method.redelivered) == (b"delivered", False)
    assert message_count(ch, q) == 1
    yield
    ch = b.channel()
    got = take_all(ch, q)
    assert [(body, redelivered) for redelivered, _, body in got] == [
        (b"delivered", True),
        (b"never delivered", False),
    ]


@across_restarts
def test_message_counts_after_restart(b):
    ch = confirming_channel(b)
    empty, one, many = b.queue_name("empty"), b.queue_name("one"), b.queue_name("many")
    for q in (empty, one, many):
        ch.queue_declare(q, durable=True)
    publish_all(ch, "", one, [b"only"])
    ch.close()
    # Many messages, confirmed asynchronously so that the set-up stays quick.
    ch = b.channel()
    confirms = helpers.Confirms(ch)
    for i in range(1000):
        confirms.publish("", many, b"%d" % i, persistent())
    assert confirms.wait_all() and not confirms.nacked
    yield
    ch = b.channel()
    for q, count in ((empty, 0), (one, 1), (many, 1000)):
        ok = ch.queue_declare(q, passive=True)
        assert (ok.method.message_count, ok.method.consumer_count) == (count, 0), q
    assert get_all(ch, many) == [b"%d" % i for i in range(1000)]


@across_restarts
def test_state_changed_after_a_restart_survives_the_next(b):
    ch = confirming_channel(b)
    q = b.queue_name()
    ch.queue_declare(q, durable=True)
    publish_all(ch, "", q, [b"m1", b"m2", b"m3", b"m4", b"m5"])
    yield
    # Recovered messages are acked, left unacked and joined by new ones; a new queue and binding.
    ch = confirming_channel(b)
    assert message_count(ch, q) == 5
    assert ch.basic_get(q, auto_ack=True)[2] == b"m1"
    method, _, body = ch.basic_get(q)
    assert body == b"m2"
    ch.basic_ack(method.delivery_tag)
    method, _, body = ch.basic_get(q)  # m3, not acked before the second restart
    assert body == b"m3"
    publish_all(ch, "", q, [b"m6"])
    x, q2 = b.exchange_name(), b.queue_name("2")
    ch.exchange_declare(x, "direct", durable=True)
    ch.queue_declare(q2, durable=True)
    ch.queue_bind(q2, x, "k")
    ch.queue_bind(q, x, "k")
    publish_all(ch, x, "k", [b"m7"])
    assert message_count(ch, q) == 4  # m4 m5 m6 m7 ready, m3 unacked
    yield
    ch = confirming_channel(b)
    got = take_all(ch, q)
    assert [(body, redelivered) for redelivered, _, body in got] == [
        (b"m3", True),
        (b"m4", False),
        (b"m5", False),
        (b"m6", False),
        (b"m7", False),
    ]
    publish_all(ch, x, "k", [b"m8"])
    assert get_all(ch, q2) == [b"m7", b"m8"]
    assert get_all(ch, q) == [b"m8"]
