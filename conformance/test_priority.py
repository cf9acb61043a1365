"""Priority queues: x-max-priority, its bounds, delivery order by priority (FIFO within one),
priorities above the maximum, messages without a priority, and requeued messages.

RabbitMQ 3.10 accepts x-max-priority from 0 to 255; a message's priority above the queue's
maximum counts as the maximum, a message without one as 0; a queue without x-max-priority
ignores the priority property."""

import pika

from helpers import (
    channel_error,
    confirming_channel,
    consume,
    get_all,
    invalid_arg_text,
    message_count,
)


def _publish(ch, queue, messages):
    """Publishes (body, priority) pairs in order; priority None means no priority property."""
    for body, priority in messages:
        props = pika.BasicProperties(priority=priority) if priority is not None else None
        ch.basic_publish("", queue, body, props)


def _priority_queue(broker, ch, max_priority):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-priority": max_priority})
    return q


def test_higher_priority_first_fifo_within_one(broker):
    ch = confirming_channel(broker)
    q = _priority_queue(broker, ch, 10)
    _publish(ch, q, [(b"low1", 1), (b"high1", 9), (b"mid", 5), (b"high2", 9), (b"low2", 1)])
    assert message_count(ch, q) == 5
    assert get_all(ch, q) == [b"high1", b"high2", b"mid", b"low1", b"low2"]


def test_consumer_receives_in_priority_order(broker, conn):
    ch = confirming_channel(broker)
    q = _priority_queue(broker, ch, 5)
    _publish(ch, q, [(b"p0", 0), (b"p3", 3), (b"p5", 5), (b"p1", 1)])
    got = consume(conn, ch, q, 4)
    assert [b for (_m, _p, b) in got] == [b"p5", b"p3", b"p1", b"p0"]
    # The priority property is delivered as published.
    assert [p.priority for (_m, p, _b) in got] == [5, 3, 1, 0]


def test_no_priority_counts_as_zero(broker):
    ch = confirming_channel(broker)
    q = _priority_queue(broker, ch, 3)
    _publish(ch, q, [(b"none1", None), (b"zero", 0), (b"one", 1), (b"none2", None)])
    assert get_all(ch, q) == [b"one", b"none1", b"zero", b"none2"]


def test_priority_above_max_counts_as_max(broker):
    ch = confirming_channel(broker)
    q = _priority_queue(broker, ch, 3)
    _publish(ch, q, [(b"max", 3), (b"above", 200), (b"two", 2), (b"max2", 3), (b"top", 255)])
    assert get_all(ch, q) == [b"max", b"above", b"max2", b"top", b"two"]


def test_max_priority_zero_is_fifo(broker):
    ch = confirming_channel(broker)
    q = _priority_queue(broker, ch, 0)
    _publish(ch, q, [(b"a", 0), (b"b", 9), (b"c", None), (b"d", 1)])
    assert get_all(ch, q) == [b"a", b"b", b"c", b"d"]


def test_max_priority_255_orders_all_priorities(broker):
    ch = confirming_channel(broker)
    q = _priority_queue(broker, ch, 255)
    _publish(ch, q, [(b"p10", 10), (b"p255", 255), (b"p0", 0), (b"p200", 200)])
    assert get_all(ch, q) == [b"p255", b"p200", b"p10", b"p0"]


def test_queue_without_max_priority_ignores_priority(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q)
    _publish(ch, q, [(b"a", 1), (b"b", 9), (b"c", 5)])
    assert get_all(ch, q) == [b"a", b"b", b"c"]


def test_requeued_messages_keep_their_priority_order(broker):
    ch = confirming_channel(broker)
    q = _priority_queue(broker, ch, 5)
    _publish(ch, q, [(b"p1", 1), (b"p5", 5), (b"p3", 3)])
    got = [ch.basic_get(q, auto_ack=False) for _ in range(2)]
    assert [b for (_m, _p, b) in got] == [b"p5", b"p3"]
    _publish(ch, q, [(b"p3-late", 3), (b"p4", 4)])
    # Requeue everything unacknowledged: each goes back among the messages of its priority,
    # ahead of those published after it.
    ch.basic_nack(0, multiple=True, requeue=True)
    out = []
    while True:
        method, _p, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            break
        out.append((body, method.redelivered))
    assert out == [
        (b"p5", True),
        (b"p4", False),
        (b"p3", True),
        (b"p3-late", False),
        (b"p1", False),
    ]


def test_rejected_with_requeue_returns_ahead_of_its_priority(broker):
    ch = confirming_channel(broker)
    q = _priority_queue(broker, ch, 5)
    _publish(ch, q, [(b"first", 2), (b"second", 2)])
    method, _p, body = ch.basic_get(q, auto_ack=False)
    assert body == b"first"
    _publish(ch, q, [(b"high", 4)])
    ch.basic_reject(method.delivery_tag, requeue=True)
    assert get_all(ch, q) == [b"high", b"first", b"second"]


# ---- bounds -----------------------------------------------------------------------------------


def test_max_priority_above_255_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-max-priority", q, "{max_value_exceeded,256}")):
        ch.queue_declare(q, arguments={"x-max-priority": 256})
    assert broker.connection.is_open


def test_negative_max_priority_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-max-priority", q, "{value_negative,-1}")):
        ch.queue_declare(q, arguments={"x-max-priority": -1})


def test_string_max_priority_is_406(broker, ch):
    q = broker.queue_name()
    text = invalid_arg_text("x-max-priority", q, '"expected integer, got longstr"')
    with channel_error(406, text):
        ch.queue_declare(q, arguments={"x-max-priority": "10"})


def test_redeclare_with_other_max_priority_is_406(broker, ch):
    q = _priority_queue(broker, ch, 5)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue '%s' in vhost '/': "
        "received '6' but current is '5'" % q,
    ):
        ch.queue_declare(q, arguments={"x-max-priority": 6})
