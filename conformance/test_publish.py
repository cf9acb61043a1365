"""basic.publish: bodies of every size, properties, mandatory returns, unroutable messages and
publishing to exchanges that do not exist."""

import datetime
import decimal
import struct

import pika
import pytest

import rawamqp
from helpers import channel_error, consume, get_all, pump, settle


@pytest.mark.parametrize("size", [0, 1, 131072 - 8, 131072 - 7, 300000])
def test_body_sizes_round_trip(broker, ch, size):
    # 131072 - 8 fills one body frame at RabbitMQ's default frame_max; one more byte needs two.
    q = broker.queue_name()
    ch.queue_declare(q)
    body = bytes((i * 7) & 0xFF for i in range(size))
    ch.basic_publish("", q, body)
    method, _props, got = ch.basic_get(q, auto_ack=True)
    assert method is not None
    assert got == body


def test_one_megabyte_body_split_across_frames(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    body = bytes(range(256)) * 4096  # 1 MiB, far above frame_max
    ch.basic_publish("", q, body)
    ch.basic_publish("", q, body[::-1])
    got = consume(conn, ch, q, 2)
    assert [b for (_m, _p, b) in got] == [body, body[::-1]]


def test_large_body_with_small_frame_max(broker):
    conn = broker.connect(frame_max=4096)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    body = b"".join(struct.pack(">I", i) for i in range(50000))  # 200 KB in ~50 frames
    ch.basic_publish("", q, body)
    assert get_all(ch, q) == [body]


def test_all_properties_round_trip(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    headers = {
        "string": "h\u00e9llo",
        "int": 42,
        "negative": -7,
        "long": 1 << 40,
        "bool": True,
        "false": False,
        "decimal": decimal.Decimal("12.345"),
        "timestamp": datetime.datetime(2024, 1, 2, 3, 4, 5),
        "bytes": b"\x00\x01\xfe\xff",
        "void": None,
        "array": [1, "two", [3], {"four": 4}],
        "nested": {"a": {"b": {"c": ["deep", True]}}, "empty": {}},
        "empty-array": [],
    }
    props = pika.BasicProperties(
        content_type="application/json",
        content_encoding="gzip",
        headers=headers,
        delivery_mode=2,
        priority=5,
        correlation_id="corr-1",
        reply_to="reply-queue",
        expiration="600000",
        message_id="msg-1",
        timestamp=1700000000,
        type="conformance.type",
        user_id="guest",  # must be the authenticated user
        app_id="conformance",
        cluster_id="cluster-1",
    )
    ch.basic_publish("", q, b"{}", props)
    method, got, body = ch.basic_get(q, auto_ack=True)
    assert body == b"{}"
    for name in (
        "content_type",
        "content_encoding",
        "delivery_mode",
        "priority",
        "correlation_id",
        "reply_to",
        "expiration",
        "message_id",
        "timestamp",
        "type",
        "user_id",
        "app_id",
        "cluster_id",
    ):
        assert getattr(got, name) == getattr(props, name), name
    assert got.headers == headers


def test_no_properties_arrive_as_none(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"bare")
    _method, props, _body = ch.basic_get(q, auto_ack=True)
    for name in ("content_type", "headers", "delivery_mode", "priority", "correlation_id"):
        assert getattr(props, name) is None, name
    for name in ("reply_to", "expiration", "message_id", "timestamp", "user_id"):
        assert getattr(props, name) is None, name


def test_content_header_bytes_are_delivered_unchanged(amqp_url):
    # Every field-table type, hand-encoded, in a content header with all 14 properties: the
    # delivery carries exactly the bytes that were published.
    values = [
        ("t", b"t\x01"),
        ("b", b"b\xff"),
        ("B", b"B\xfe"),
        ("s", b"s" + struct.pack(">h", -2)),
        ("u", b"u" + struct.pack(">H", 65000)),
        ("I", b"I" + struct.pack(">i", -5)),
        ("i", b"i" + struct.pack(">I", 4000000000)),
        ("l", b"l" + struct.pack(">q", -(1 << 40))),
        ("f", b"f" + struct.pack(">f", 1.5)),
        ("d", b"d" + struct.pack(">d", 2.25)),
        ("D", b"D\x02" + struct.pack(">i", 12345)),
        ("S", b"S" + rawamqp.longstr("h\u00e9llo")),
        ("x", b"x" + rawamqp.longstr(b"\x00\x01\x02")),
        ("T", b"T" + struct.pack(">Q", 1700000000)),
        ("V", b"V"),
    ]
    array = b"I" + struct.pack(">i", 7) + b"V" + b"t\x00"
    values.append(("A", b"A" + rawamqp.long_(len(array)) + array))
    inner = rawamqp.shortstr("k") + b"S" + rawamqp.longstr("v")
    values.append(("F", b"F" + rawamqp.long_(len(inner)) + inner))
    fields = b"".join(rawamqp.shortstr(k) + v for k, v in values)
    headers = rawamqp.long_(len(fields)) + fields
    s = rawamqp.shortstr
    props = (
        s("text/plain") + s("gzip") + headers + rawamqp.octet(2) + rawamqp.octet(5) + s("corr")
        + s("reply") + s("60000") + s("mid") + rawamqp.longlong(1700000000) + s("type")
        + s("guest") + s("app") + s("cluster")
    )
    flags = 0xFFFC  # all 14 property bits
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        q = c.declare_queue(1, "")
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_PUBLISH, rawamqp.basic_publish_args("", q)))
        c.send(rawamqp.header_frame(1, 3, property_flags=flags, properties=props))
        c.send(rawamqp.body_frame(1, b"abc"))
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_GET, rawamqp.basic_get_args(q)))
        c.expect_method(rawamqp.BASIC_GET_OK, channel=1)
        header = c.read_frame()
        assert header.type == rawamqp.FRAME_HEADER
        assert header.payload == struct.pack(">HHQH", 60, 0, 3, flags) + props
        body = c.read_frame()
        assert (body.type, body.payload) == (rawamqp.FRAME_BODY, b"abc")


def test_user_id_must_match_authenticated_user(broker, ch):
    # RabbitMQ validates user_id against the login.
    ch.basic_publish("", "anywhere", b"x", pika.BasicProperties(user_id="someone-else"))
    with channel_error(
        406, "PRECONDITION_FAILED - user_id property set to 'someone-else' but authenticated user was 'guest'"
    ):
        ch.queue_declare("", exclusive=True)


def test_mandatory_unroutable_is_returned(broker, conn, ch):
    returned = []
    ch.add_on_return_callback(lambda _ch, method, props, body: returned.append((method, props, body)))
    e = broker.exchange_name()
    ch.exchange_declare(e, "direct")
    ch.basic_publish(e, "no-binding", b"come back", pika.BasicProperties(message_id="m1"), mandatory=True)
    assert pump(conn, lambda: returned)
    method, props, body = returned[0]
    assert (method.reply_code, method.reply_text) == (312, "NO_ROUTE")
    assert (method.exchange, method.routing_key) == (e, "no-binding")
    assert body == b"come back" and props.message_id == "m1"


def test_mandatory_routable_is_not_returned(broker, conn, ch):
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a))
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"delivered", mandatory=True)
    assert get_all(ch, q) == [b"delivered"]
    settle(conn, 0.2)
    assert returned == []


def test_unroutable_without_mandatory_is_dropped(broker, conn, ch):
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a))
    e = broker.exchange_name()
    ch.exchange_declare(e, "fanout")  # no bindings
    ch.basic_publish(e, "", b"dropped")
    ch.basic_publish("", broker.queue_name(), b"dropped too")
    settle(conn, 0.2)
    assert returned == [] and ch.is_open


def test_publish_to_missing_exchange_closes_channel_404(broker, conn):
    ch = conn.channel()
    e = broker.exchange_name()
    ch.basic_publish(e, "k", b"x")
    with channel_error(404, "NOT_FOUND - no exchange '%s' in vhost '/'" % e):
        ch.queue_declare("", exclusive=True)
    assert conn.is_open
    assert conn.channel().queue_declare("", exclusive=True).method.queue


def test_publishes_keep_their_order(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    for i in range(500):
        ch.basic_publish("", q, str(i).encode())
    assert get_all(ch, q) == [str(i).encode() for i in range(500)]


def test_delivery_names_exchange_and_routing_key(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.queue_bind(q, "amq.topic", "a.#")
    ch.basic_publish("amq.topic", "a.b.c", b"x")
    method, _props, _body = ch.basic_get(q, auto_ack=True)
    assert (method.exchange, method.routing_key, method.redelivered) == ("amq.topic", "a.b.c", False)
