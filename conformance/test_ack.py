"""Acknowledgements: ack (single and multiple), nack, reject, recover, requeue order and
redelivered flags, and what happens to unacked messages when channels and connections close."""

from helpers import (
    channel_error,
    connection_error,
    get_all,
    message_count,
    pump,
    settle,
    wait_for_count,
)


def publish(ch, q, items):
    for item in items:
        ch.basic_publish("", q, item.encode())


def get_n(ch, q, n):
    """n basic.gets without auto-ack; returns [(delivery_tag, body, redelivered)]."""
    out = []
    for _ in range(n):
        method, _props, body = ch.basic_get(q)
        assert method is not None
        out.append((method.delivery_tag, body.decode(), method.redelivered))
    return out


def test_ack_removes_message(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["a"])
    (tag, _, _), = get_n(ch, q, 1)
    ch.basic_ack(tag)
    ch.close()
    assert message_count(broker.channel(), q) == 0


def test_ack_multiple(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["a", "b", "c", "d", "e"])
    got = get_n(ch, q, 5)
    assert [t for t, _, _ in got] == [1, 2, 3, 4, 5]
    ch.basic_ack(3, multiple=True)  # acks 1, 2 and 3
    ch.close()  # 4 and 5 come back
    assert get_all(broker.channel(), q) == [b"d", b"e"]


def test_ack_multiple_zero_acks_everything(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["a", "b", "c"])
    get_n(ch, q, 3)
    ch.basic_ack(0, multiple=True)
    ch.close()
    assert message_count(broker.channel(), q) == 0


def test_unknown_delivery_tag_is_406(broker, ch):
    ch.basic_ack(12345)
    with channel_error(406, "PRECONDITION_FAILED - unknown delivery tag 12345"):
        ch.queue_declare("", exclusive=True)
    assert broker.connection.is_open


def test_double_ack_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["a"])
    (tag, _, _), = get_n(ch, q, 1)
    ch.basic_ack(tag)
    ch.basic_ack(tag)
    with channel_error(406, "PRECONDITION_FAILED - unknown delivery tag %d" % tag):
        ch.queue_declare("", exclusive=True)


def test_reject_and_nack_unknown_tag_are_406(broker, conn):
    a = conn.channel()
    a.basic_reject(77)
    with channel_error(406, "PRECONDITION_FAILED - unknown delivery tag 77"):
        a.queue_declare("", exclusive=True)
    b = conn.channel()
    b.basic_nack(78, multiple=True)
    with channel_error(406, "PRECONDITION_FAILED - unknown delivery tag 78"):
        b.queue_declare("", exclusive=True)


def test_reject_and_nack_requeue_restore_original_order(broker, ch):
    # Requeued messages go back to where they were in the queue, ahead of later messages, and
    # come back with redelivered=True.
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["A", "B", "C", "D", "E"])
    (ta, _, _), (tb, _, _), (tc, _, _) = get_n(ch, q, 3)
    ch.basic_reject(tb, requeue=True)
    ch.basic_nack(ta, requeue=True)
    publish(ch, q, ["F"])
    got = get_n(ch, q, 5)
    assert [(b, r) for _, b, r in got] == [
        ("A", True),
        ("B", True),
        ("D", False),
        ("E", False),
        ("F", False),
    ]
    # C is still unacked on this channel, untouched.
    assert ch.basic_get(q)[0] is None


def test_nack_requeue_redelivers_to_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["A", "B", "C"])
    ch.basic_qos(prefetch_count=3)
    got = []
    ch.basic_consume(q, lambda _c, m, p, b: got.append((b.decode(), m.redelivered, m.delivery_tag)))
    assert pump(conn, lambda: len(got) == 3)
    assert got == [("A", False, 1), ("B", False, 2), ("C", False, 3)]
    ch.basic_nack(2, requeue=True)
    assert pump(conn, lambda: len(got) == 4)
    assert got[3] == ("B", True, 4)  # a new delivery tag for the redelivery


def test_nack_multiple_requeue(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["A", "B", "C"])
    get_n(ch, q, 3)
    ch.basic_nack(2, multiple=True, requeue=True)  # A and B back, C stays unacked
    got = get_n(ch, q, 2)
    assert [(b, r) for _, b, r in got] == [("A", True), ("B", True)]
    assert ch.basic_get(q)[0] is None


def test_reject_and_nack_without_requeue_drop(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["A", "B", "C", "D"])
    (ta, _, _), (tb, _, _), (tc, _, _) = get_n(ch, q, 3)
    ch.basic_reject(ta, requeue=False)
    ch.basic_nack(tc, multiple=True, requeue=False)  # drops B and C
    ch.close()
    assert get_all(broker.channel(), q) == [b"D"]


def test_recover_requeue_redelivers_unacked(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["A", "B", "C"])
    got = []
    ch.basic_consume(q, lambda _c, m, p, b: got.append((b.decode(), m.redelivered, m.delivery_tag)))
    assert pump(conn, lambda: len(got) == 3)
    ch.basic_ack(2)  # B is done
    ch.basic_recover(requeue=True)
    assert pump(conn, lambda: len(got) == 5)
    settle(conn, 0.2)
    assert got[3:] == [("A", True, 4), ("C", True, 5)]


def test_recover_without_requeue_is_not_implemented(broker):
    # RabbitMQ: basic.recover(requeue=false) is a connection error 540.
    conn = broker.connect()
    ch = conn.channel()
    with connection_error(540, "NOT_IMPLEMENTED - requeue=false"):
        ch.basic_recover(requeue=False)


def test_channel_close_requeues_unacked_in_order(broker, conn):
    q = broker.queue_name()
    ch = conn.channel()
    ch.queue_declare(q)
    publish(ch, q, ["A", "B", "C", "D"])
    consumer = conn.channel()
    got = []
    consumer.basic_consume(q, lambda _c, m, p, b: got.append(b))
    assert pump(conn, lambda: len(got) == 4)
    consumer.close()
    redelivered = get_n(ch, q, 4)
    assert [(b, r) for _, b, r in redelivered] == [("A", True), ("B", True), ("C", True), ("D", True)]


def test_connection_close_requeues_unacked_in_order(broker):
    q = broker.queue_name()
    observer = broker.channel()
    observer.queue_declare(q)
    publish(observer, q, ["A", "B", "C"])
    assert wait_for_count(observer, q, 3) == 3
    conn = broker.connect()
    ch = conn.channel()
    got = get_n(ch, q, 2)
    assert [b for _, b, _ in got] == ["A", "B"]
    conn.close()
    assert wait_for_count(observer, q, 3) == 3
    again = get_n(observer, q, 3)
    assert [(b, r) for _, b, r in again] == [("A", True), ("B", True), ("C", False)]


def test_acks_after_cancel_still_count(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, ["A", "B"])
    got = []
    tag = ch.basic_consume(q, lambda _c, m, p, b: got.append(m.delivery_tag))
    assert pump(conn, lambda: len(got) == 2)
    ch.basic_cancel(tag)
    ch.basic_ack(got[1], multiple=True)
    ch.close()
    assert message_count(broker.channel(), q) == 0


def test_delivery_tags_are_per_channel(broker, conn):
    q = broker.queue_name()
    a = conn.channel()
    b = conn.channel()
    a.queue_declare(q)
    publish(a, q, ["1", "2", "3", "4"])
    assert [t for t, _, _ in get_n(a, q, 2)] == [1, 2]
    assert [t for t, _, _ in get_n(b, q, 2)] == [1, 2]
