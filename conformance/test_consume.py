"""basic.consume, basic.cancel, basic.qos and basic.get."""

import pika

import rawamqp
from helpers import (
    bodies,
    channel_error,
    connection_error,
    consume,
    consumer_count,
    get_all,
    message_count,
    pump,
    settle,
    wait_for_count,
)


def publish(ch, q, items):
    for item in items:
        ch.basic_publish("", q, item if isinstance(item, bytes) else str(item).encode())


def test_consume_with_given_tag(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    got = []
    tag = ch.basic_consume(
        q, lambda _c, m, p, b: got.append(m), consumer_tag="conformance-tag", auto_ack=True
    )
    assert tag == "conformance-tag"
    publish(ch, q, [1, 2])
    assert pump(conn, lambda: len(got) == 2)
    assert [m.consumer_tag for m in got] == ["conformance-tag"] * 2
    assert [m.delivery_tag for m in got] == [1, 2]
    assert all(m.redelivered is False and m.exchange == "" and m.routing_key == q for m in got)


def test_consume_with_server_generated_tag(amqp_url):
    # pika always makes up a tag of its own, so this is raw: an empty tag in basic.consume
    # makes the server choose one.
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        q = c.declare_queue(1, "")
        consume_args = rawamqp.basic_consume_args(q, "", no_ack=True)
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_CONSUME, consume_args))
        tag = c.expect_method(rawamqp.BASIC_CONSUME_OK, channel=1).args().shortstr()
        assert tag.startswith("amq.ctag-")
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_PUBLISH, rawamqp.basic_publish_args("", q)))
        c.send(rawamqp.header_frame(1, 2))
        c.send(rawamqp.body_frame(1, b"hi"))
        deliver = c.expect_method(rawamqp.BASIC_DELIVER, channel=1).args()
        assert deliver.shortstr() == tag
        # a second consumer gets a different tag
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_CONSUME, consume_args))
        other = c.read_frame_skipping_heartbeats()
        while other.class_method != rawamqp.BASIC_CONSUME_OK:
            other = c.read_frame_skipping_heartbeats()
        assert other.args().shortstr() not in ("", tag)


def test_exclusive_consumer_blocks_others(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_consume(q, lambda *a: None, exclusive=True)
    locked = "ACCESS_REFUSED - queue '%s' in vhost '/' in exclusive use" % q
    with channel_error(403, locked):
        conn.channel().basic_consume(q, lambda *a: None)
    # and an exclusive consumer cannot join a queue that has consumers
    q2 = broker.queue_name("2")
    ch.queue_declare(q2)
    ch.basic_consume(q2, lambda *a: None)
    with channel_error(403, "ACCESS_REFUSED - queue '%s' in vhost '/' in exclusive use" % q2):
        conn.channel().basic_consume(q2, lambda *a: None, exclusive=True)


def test_consume_from_missing_queue_is_404(broker, ch):
    q = broker.queue_name()
    with channel_error(404, "NOT_FOUND - no queue '%s' in vhost '/'" % q):
        ch.basic_consume(q, lambda *a: None)


def test_no_ack_consumer_removes_messages(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, range(5))
    got = consume(conn, ch, q, 5, auto_ack=True)
    assert bodies(got) == [str(i).encode() for i in range(5)]
    ch.close()  # nothing unacked to requeue
    assert message_count(broker.channel(), q) == 0


def test_cancel_stops_delivery(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    got = []
    tag = ch.basic_consume(q, lambda _c, m, p, b: got.append(b), auto_ack=True)
    publish(ch, q, [b"before"])
    assert pump(conn, lambda: got)
    ch.basic_cancel(tag)
    publish(ch, q, [b"after"])
    settle(conn, 0.3)
    assert got == [b"before"]
    assert consumer_count(ch, q) == 0
    assert get_all(ch, q) == [b"after"]


def test_cancel_unknown_tag_is_ok(amqp_url):
    # basic.cancel of a tag the channel does not have is answered with cancel-ok (pika does
    # not send it, so this is raw).
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        cancel = rawamqp.shortstr("no-such-tag") + rawamqp.octet(0)
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_CANCEL, cancel))
        ok = c.expect_method(rawamqp.BASIC_CANCEL_OK, channel=1)
        assert ok.args().shortstr() == "no-such-tag"


def test_round_robin_across_two_consumers(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    got = {"a": [], "b": []}
    ch.basic_consume(q, lambda _c, m, p, b: got["a"].append(b), auto_ack=True)
    other = conn.channel()
    other.basic_consume(q, lambda _c, m, p, b: got["b"].append(b), auto_ack=True)
    publish(ch, q, range(10))
    assert pump(conn, lambda: len(got["a"]) + len(got["b"]) == 10)
    # Each gets every other message, in order.
    assert sorted([got["a"], got["b"]]) == [
        [str(i).encode() for i in range(0, 10, 2)],
        [str(i).encode() for i in range(1, 10, 2)],
    ]


def test_prefetch_count_limits_unacked_per_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, range(5))
    ch.basic_qos(prefetch_count=2)
    got = []
    ch.basic_consume(q, lambda _c, m, p, b: got.append((m.delivery_tag, b)))
    assert pump(conn, lambda: len(got) >= 2)
    settle(conn, 0.3)
    assert [b for _t, b in got] == [b"0", b"1"]
    assert message_count(broker.channel(), q) == 3
    ch.basic_ack(got[0][0])
    assert pump(conn, lambda: len(got) >= 3)
    settle(conn, 0.2)
    assert [b for _t, b in got] == [b"0", b"1", b"2"]


def test_prefetch_is_per_consumer(broker, conn, ch):
    # basic.qos(global=false) applies to each consumer started after it.
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, range(10))
    got = {"a": [], "b": []}
    ch.basic_qos(prefetch_count=2)
    ch.basic_consume(q, lambda _c, m, p, b: got["a"].append(b))
    ch.basic_qos(prefetch_count=3)
    ch.basic_consume(q, lambda _c, m, p, b: got["b"].append(b))
    assert pump(conn, lambda: len(got["a"]) + len(got["b"]) >= 5)
    settle(conn, 0.3)
    assert (len(got["a"]), len(got["b"])) == (2, 3)


def test_global_prefetch_is_shared_by_the_channel(broker, conn, ch):
    # basic.qos(global=true): one limit for all consumers on the channel (RabbitMQ's meaning).
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, range(10))
    ch.basic_qos(prefetch_count=3, global_qos=True)
    got = []
    ch.basic_consume(q, lambda _c, m, p, b: got.append(m.delivery_tag))
    ch.basic_consume(q, lambda _c, m, p, b: got.append(m.delivery_tag))
    assert pump(conn, lambda: len(got) >= 3)
    settle(conn, 0.3)
    assert len(got) == 3
    ch.basic_ack(got[0])
    assert pump(conn, lambda: len(got) >= 4)
    settle(conn, 0.2)
    assert len(got) == 4


def test_prefetch_size_is_not_implemented(broker):
    # RabbitMQ: basic.qos with prefetch_size != 0 is a connection error 540.
    conn = broker.connect()
    ch = conn.channel()
    with connection_error(540, "NOT_IMPLEMENTED - prefetch_size!=0 (1000)"):
        ch.basic_qos(prefetch_size=1000)


def test_basic_get(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, [b"a", b"b", b"c"])
    method, _props, body = ch.basic_get(q)
    assert body == b"a"
    assert isinstance(method, pika.spec.Basic.GetOk)
    assert (method.delivery_tag, method.redelivered) == (1, False)
    assert (method.exchange, method.routing_key) == ("", q)
    assert method.message_count == 2  # messages left after this one
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert (body, method.message_count, method.delivery_tag) == (b"b", 1, 2)
    method, _props, body = ch.basic_get(q, auto_ack=True)
    assert (body, method.message_count) == (b"c", 0)


def test_basic_get_empty(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    assert ch.basic_get(q) == (None, None, None)
    with channel_error(404, "NOT_FOUND - no queue '%s' in vhost '/'" % (q + "-missing")):
        ch.basic_get(q + "-missing")


def test_queue_deleted_while_consumed_cancels_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    cancels = []
    ch.add_on_cancel_callback(lambda frame: cancels.append(frame.method))
    tag = ch.basic_consume(q, lambda *a: None)
    broker.channel().queue_delete(q)
    assert pump(conn, lambda: cancels)
    assert isinstance(cancels[0], pika.spec.Basic.Cancel)
    assert cancels[0].consumer_tag == tag
    assert ch.is_open and tag not in ch.consumer_tags


def test_consumer_sees_messages_published_before_it_started(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, range(3))
    assert wait_for_count(ch, q, 3) == 3
    got = consume(conn, conn.channel(), q, 3)
    assert bodies(got) == [b"0", b"1", b"2"]
