"""Consumer priorities: basic.consume's x-priority argument (RabbitMQ 3.10 classic queues).

A message goes to the highest-priority consumer that can take it (prefetch credit); consumers
of equal priority take turns; lower-priority consumers get messages only while every higher
one is blocked."""

import struct

import pytest

import rawamqp
from helpers import Recorder, channel_error


def publish(ch, q, n, start=0):
    for i in range(start, start + n):
        ch.basic_publish("", q, str(i).encode())


def consume(r, q, tag, priority=None, prefetch=None, auto_ack=True):
    """A consumer of q recording into r, on a channel of its own, with x-priority if given."""
    ch = r.conn.channel()
    if prefetch is not None:
        ch.basic_qos(prefetch_count=prefetch)
    args = None if priority is None else {"x-priority": priority}
    r.consume(ch, q, tag, auto_ack=auto_ack, arguments=args)
    return ch


def test_highest_priority_consumer_gets_every_message(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    r = Recorder(conn)
    consume(r, q, "low", priority=1)
    consume(r, q, "high", priority=10)
    consume(r, q, "default")
    publish(ch, q, 6)
    r.wait(6)
    assert r.bodies("high") == ["0", "1", "2", "3", "4", "5"]


def test_lower_priority_gets_messages_only_while_higher_is_blocked(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    r = Recorder(conn)
    consume(r, q, "low", priority=1)
    high = consume(r, q, "high", priority=10, prefetch=2, auto_ack=False)
    publish(ch, q, 5)
    r.wait(5)
    assert r.bodies("high") == ["0", "1"]
    assert r.bodies("low") == ["2", "3", "4"]
    # Credit back: the higher-priority consumer takes new messages again.
    high.basic_ack(delivery_tag=0, multiple=True)
    publish(ch, q, 3, start=5)
    r.wait(8)
    assert r.bodies("high") == ["0", "1", "5", "6"]
    assert r.bodies("low") == ["2", "3", "4", "7"]


def test_ready_messages_go_to_the_highest_priority_consumer_with_credit(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, 4)
    r = Recorder(conn)
    high = consume(r, q, "high", priority=5, prefetch=1, auto_ack=False)
    r.wait(1)
    consume(r, q, "low", priority=-5)
    r.wait(4)
    assert r.bodies("high") == ["0"]
    assert r.bodies("low") == ["1", "2", "3"]
    high.basic_ack(delivery_tag=1)
    publish(ch, q, 1, start=4)
    r.wait(5)
    assert r.bodies("high") == ["0", "4"]


def test_equal_priorities_take_turns(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    r = Recorder(conn)
    consume(r, q, "a", priority=7)
    consume(r, q, "b", priority=7)
    consume(r, q, "low", priority=0)
    publish(ch, q, 6)
    r.wait(6)
    assert r.bodies("a") == ["0", "2", "4"]
    assert r.bodies("b") == ["1", "3", "5"]
    assert r.bodies("low") == []


def test_negative_priority_ranks_below_the_default(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    r = Recorder(conn)
    consume(r, q, "negative", priority=-1)
    consume(r, q, "default")
    publish(ch, q, 3)
    r.wait(3)
    assert r.bodies("default") == ["0", "1", "2"]


def test_large_priorities_are_compared_as_integers(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    r = Recorder(conn)
    consume(r, q, "int32", priority=2**31 - 1)
    consume(r, q, "int64", priority=2**40)
    publish(ch, q, 2)
    r.wait(2)
    assert r.bodies("int64") == ["0", "1"]


# Every integer type RabbitMQ accepts for x-priority, encoded by hand (pika picks one type).
INTEGER_TYPES = {
    "b": struct.pack(">b", 3),
    "B": struct.pack(">B", 3),
    "s": struct.pack(">h", 3),
    "u": struct.pack(">H", 3),
    "I": struct.pack(">i", 3),
    "i": struct.pack(">I", 3),
    "l": struct.pack(">q", 3),
}
# Field types RabbitMQ refuses, with the name its error text gives them.
OTHER_TYPES = {
    "T": (struct.pack(">Q", 3), "timestamp"),
    "f": (struct.pack(">f", 3.0), "float"),
    "d": (struct.pack(">d", 3.0), "double"),
    "D": (b"\x00" + struct.pack(">I", 3), "decimal"),
    "V": (b"", "void"),
    "t": (b"\x01", "bool"),
    "S": (rawamqp.longstr("3"), "longstr"),
    "x": (rawamqp.longstr("3"), "binary"),
    "A": (rawamqp.long_(0), "array"),
    "F": (rawamqp.long_(0), "table"),
}


def raw_consume_with_priority(url, type_tag, encoded):
    """Consumes from a fresh queue with x-priority of the given type; returns the queue name and
    the broker's answer frame."""
    c = rawamqp.RawConnection(url)
    c.handshake()
    c.open_channel(1)
    q = c.declare_queue(1, "")
    entry = rawamqp.shortstr("x-priority") + type_tag.encode() + encoded
    args = rawamqp.long_(len(entry)) + entry
    consume = rawamqp.basic_consume_args(q, "", no_ack=True, arguments=args)
    c.send(rawamqp.method_frame(1, rawamqp.BASIC_CONSUME, consume))
    answer = c.read_frame_skipping_heartbeats()
    c.close_socket()
    return q, answer


@pytest.mark.parametrize("type_tag", sorted(INTEGER_TYPES))
def test_every_integer_type_is_accepted(amqp_url, type_tag):
    _, answer = raw_consume_with_priority(amqp_url, type_tag, INTEGER_TYPES[type_tag])
    assert answer.class_method == rawamqp.BASIC_CONSUME_OK


@pytest.mark.parametrize("type_tag", sorted(OTHER_TYPES))
def test_other_types_are_406(amqp_url, type_tag):
    encoded, name = OTHER_TYPES[type_tag]
    q, answer = raw_consume_with_priority(amqp_url, type_tag, encoded)
    assert answer.class_method == rawamqp.CHANNEL_CLOSE
    args = answer.args()
    assert args.short() == 406
    assert args.shortstr() == (
        "PRECONDITION_FAILED - invalid arg 'x-priority' for queue '%s' in vhost '/': "
        '"expected integer, got %s"' % (q, name)
    )
    assert (args.short(), args.short()) == rawamqp.BASIC_CONSUME


def test_bad_priority_on_missing_queue_is_404(broker, ch):
    q = broker.queue_name()
    with channel_error(404, "NOT_FOUND - no queue '%s' in vhost '/'" % q):
        ch.basic_consume(q, lambda *a: None, arguments={"x-priority": "high"})


def test_bad_priority_registers_no_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    with channel_error(406):
        conn.channel().basic_consume(q, lambda *a: None, arguments={"x-priority": "high"})
    assert ch.queue_declare(q, passive=True).method.consumer_count == 0
