"""Time to live: x-message-ttl on the queue, the per-message expiration property, the lower of the
two winning, their invalid values, TTL 0, and x-expires (deletion of an unused queue).

RabbitMQ expires messages at the head of a classic queue, with a timer, so expired messages leave
the queue even when nobody consumes; a message behind a live one waits until it reaches the head.
TTLs here are short (50-300 ms) and every wait is a bounded poll."""

import time

import pika

from helpers import (
    channel_error,
    confirming_channel,
    consume,
    exists_queue,
    get_all,
    invalid_arg_text,
    message_count,
    pump,
    settle,
    wait_for_count,
)


def _expiring(ms):
    return pika.BasicProperties(expiration=str(ms))


def _wait_gone(conn, queue, expires_ms, timeout=3.0):
    """Polls (bounded) until queue no longer exists; returns whether it went. Each poll is a
    passive queue.declare, which renews the queue's x-expires lease in RabbitMQ, so polls are
    further apart than the lease."""
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(expires_ms / 1000.0 + 0.15)
        if not exists_queue(conn, queue):
            return True
        if time.monotonic() > deadline:
            return False


# ---- x-message-ttl ----------------------------------------------------------------------------


def test_queue_ttl_expires_messages_without_a_consumer(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 300})
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i)
    assert wait_for_count(ch, q, 3) == 3
    assert wait_for_count(ch, q, 0) == 0
    assert get_all(ch, q) == []


def test_queue_ttl_messages_not_delivered_to_a_later_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 100})
    ch.basic_publish("", q, b"old")
    time.sleep(0.3)
    got = []
    ch.basic_consume(q, lambda _c, m, p, b: got.append(b), auto_ack=True)
    settle(conn, 0.3)
    assert got == []
    ch.basic_publish("", q, b"new")
    assert pump(conn, lambda: got)
    assert got == [b"new"]


def test_queue_ttl_keeps_unexpired_messages(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 60000})
    ch.basic_publish("", q, b"a")
    ch.basic_publish("", q, b"b")
    assert get_all(ch, q) == [b"a", b"b"]


def test_queue_ttl_does_not_set_the_expiration_property(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 60000})
    ch.basic_publish("", q, b"a")
    (_m, props, body) = consume(conn, ch, q, 1)[0]
    assert body == b"a"
    assert props.expiration is None


def test_queue_ttl_zero_delivers_to_a_waiting_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 0})
    got = []
    ch.basic_consume(q, lambda _c, m, p, b: got.append(b), auto_ack=True)
    ch.basic_publish("", q, b"now")
    assert pump(conn, lambda: got)
    assert got == [b"now"]


def test_queue_ttl_zero_drops_what_a_busy_consumer_cannot_take(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 0})
    ch.basic_qos(prefetch_count=1)
    got = []
    ch.basic_consume(q, lambda _c, m, p, b: got.append((m.delivery_tag, b)))
    ch.basic_publish("", q, b"taken")
    assert pump(conn, lambda: got)
    # The consumer is at its prefetch limit: the next message cannot be delivered now, so it
    # expires at once.
    ch.basic_publish("", q, b"dropped")
    settle(conn, 0.2)
    ch.basic_ack(got[0][0])
    settle(conn, 0.3)
    assert [b for (_t, b) in got] == [b"taken"]
    assert message_count(ch, q) == 0


def test_queue_ttl_zero_drops_without_a_consumer(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 0})
    ch.basic_publish("", q, b"nobody")
    assert message_count(ch, q) == 0
    assert ch.basic_get(q, auto_ack=True)[0] is None


def test_requeued_message_keeps_its_original_expiry(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 300})
    ch.basic_publish("", q, b"held")
    method, _p, body = ch.basic_get(q, auto_ack=False)
    assert body == b"held"
    time.sleep(0.45)
    # Requeued after its TTL ran out: RabbitMQ drops it instead of giving it a new TTL.
    ch.basic_nack(method.delivery_tag, requeue=True)
    assert wait_for_count(ch, q, 0) == 0
    assert ch.basic_get(q, auto_ack=True)[0] is None


# ---- the expiration property ------------------------------------------------------------------


def test_expiration_property_expires_the_message(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"short", _expiring(300))
    ch.basic_publish("", q, b"long", _expiring(60000))
    assert wait_for_count(ch, q, 2) == 2
    assert wait_for_count(ch, q, 1) == 1
    assert get_all(ch, q) == [b"long"]


def test_expiration_property_is_delivered_unchanged(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"a", _expiring(60000))
    (_m, props, _b) = consume(conn, ch, q, 1)[0]
    assert props.expiration == "60000"


def test_expired_message_behind_a_live_one_waits_for_the_head(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"forever")
    ch.basic_publish("", q, b"short", _expiring(50))
    time.sleep(0.25)
    # The expired message is not at the head, so it is still counted ...
    assert message_count(ch, q) == 2
    assert ch.basic_get(q, auto_ack=True)[2] == b"forever"
    # ... and is dropped once it reaches the head, never delivered.
    assert ch.basic_get(q, auto_ack=True)[0] is None
    assert message_count(ch, q) == 0


def test_expiration_zero_drops_without_a_consumer(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"nobody", _expiring(0))
    assert message_count(ch, q) == 0


def test_expiration_zero_delivers_to_a_waiting_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    got = []
    ch.basic_consume(q, lambda _c, m, p, b: got.append((p.expiration, b)), auto_ack=True)
    ch.basic_publish("", q, b"now", _expiring(0))
    assert pump(conn, lambda: got)
    assert got == [("0", b"now")]


def test_expiration_with_plus_sign_is_accepted(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    # RabbitMQ parses expiration with string:to_integer, which takes a leading "+".
    ch.basic_publish("", q, b"plus", _expiring("+60000"))
    assert get_all(ch, q) == [b"plus"]


def test_message_expiration_lower_than_queue_ttl_wins(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 60000})
    ch.basic_publish("", q, b"short", _expiring(300))
    assert wait_for_count(ch, q, 1) == 1
    assert wait_for_count(ch, q, 0) == 0


def test_queue_ttl_lower_than_message_expiration_wins(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 300})
    ch.basic_publish("", q, b"long", _expiring(60000))
    assert wait_for_count(ch, q, 1) == 1
    assert wait_for_count(ch, q, 0) == 0


def test_expiration_applies_per_queue_from_enqueue(broker, ch):
    # One publish routed to two queues: the message's own expiration counts in both, each
    # queue's TTL only in that queue.
    x = broker.exchange_name()
    q_short, q_long = broker.queue_name("short"), broker.queue_name("long")
    ch.exchange_declare(x, "fanout")
    ch.queue_declare(q_short, arguments={"x-message-ttl": 100})
    ch.queue_declare(q_long, arguments={"x-message-ttl": 60000})
    ch.queue_bind(q_short, x)
    ch.queue_bind(q_long, x)
    ch.basic_publish(x, "", b"both")
    assert wait_for_count(ch, q_short, 0) == 0
    assert get_all(ch, q_long) == [b"both"]


# ---- invalid values ---------------------------------------------------------------------------


def test_negative_message_ttl_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-message-ttl", q, "{value_negative,-1}")):
        ch.queue_declare(q, arguments={"x-message-ttl": -1})
    assert broker.connection.is_open
    assert not exists_queue(broker.connection, q)


def test_string_message_ttl_is_406(broker, ch):
    q = broker.queue_name()
    text = invalid_arg_text("x-message-ttl", q, '"expected integer, got longstr"')
    with channel_error(406, text):
        ch.queue_declare(q, arguments={"x-message-ttl": "1000"})
    assert not exists_queue(broker.connection, q)


def test_too_large_message_ttl_is_406(broker, ch):
    q = broker.queue_name()
    text = invalid_arg_text("x-message-ttl", q, "{value_too_large,1099511627776}")
    with channel_error(406, text):
        ch.queue_declare(q, arguments={"x-message-ttl": 2**40})


def test_negative_expiration_is_406_on_publish(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    with channel_error(406, "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}"):
        ch.basic_publish("", q, b"bad", _expiring(-1))
        # pika's basic_publish does not wait for an answer: a synchronous call shows the close.
        ch.queue_declare(q, passive=True)
    assert broker.connection.is_open
    assert message_count(broker.channel(), q) == 0


def test_non_numeric_expiration_is_406_on_publish(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    with channel_error(406, "PRECONDITION_FAILED - invalid expiration 'soon': no_integer"):
        ch.basic_publish("", q, b"bad", _expiring("soon"))
        ch.queue_declare(q, passive=True)
    assert message_count(broker.channel(), q) == 0


def test_empty_expiration_is_406_on_publish(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    with channel_error(406, "PRECONDITION_FAILED - invalid expiration '': no_integer"):
        ch.basic_publish("", q, b"bad", _expiring(""))
        ch.queue_declare(q, passive=True)


def test_fractional_expiration_is_406_on_publish(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    with channel_error(
        406, "PRECONDITION_FAILED - invalid expiration '1.5': {leftover_string,\".5\"}"
    ):
        ch.basic_publish("", q, b"bad", _expiring("1.5"))
        ch.queue_declare(q, passive=True)


def test_bad_expiration_is_406_even_when_unroutable(broker, ch):
    # RabbitMQ checks the expiration before routing.
    with channel_error(406, "PRECONDITION_FAILED - invalid expiration 'x': no_integer"):
        ch.basic_publish("", broker.queue_name("none"), b"bad", _expiring("x"))
        ch.queue_declare(broker.queue_name("probe"), exclusive=True)


# ---- x-expires --------------------------------------------------------------------------------


EXPIRES = 300  # ms, the x-expires of the tests below


def test_expires_deletes_an_unused_queue(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-expires": EXPIRES})
    # Ready messages do not count as use.
    ch.basic_publish("", q, b"left behind")
    assert wait_for_count(ch, q, 1) == 1
    assert _wait_gone(conn, q, EXPIRES)


def test_expires_spares_a_queue_with_a_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-expires": EXPIRES})
    tag = ch.basic_consume(q, lambda *a: None, auto_ack=True)
    settle(conn, 3 * EXPIRES / 1000.0)
    assert exists_queue(conn, q)
    # Once the consumer is gone the lease runs again.
    ch.basic_cancel(tag)
    assert _wait_gone(conn, q, EXPIRES)


def _renews(conn, q, use):
    """Uses queue q every EXPIRES/3 ms for three leases, then shows that it still exists and
    expires once left alone."""
    deadline = time.monotonic() + 3 * EXPIRES / 1000.0
    while time.monotonic() < deadline:
        use()
        time.sleep(EXPIRES / 3000.0)
    assert exists_queue(conn, q)
    assert _wait_gone(conn, q, EXPIRES)


def test_redeclare_renews_the_expiry(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-expires": EXPIRES})
    _renews(conn, q, lambda: ch.queue_declare(q, arguments={"x-expires": EXPIRES}))


def test_passive_declare_renews_the_expiry(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-expires": EXPIRES})
    _renews(conn, q, lambda: ch.queue_declare(q, passive=True))


def test_basic_get_renews_the_expiry(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-expires": EXPIRES})
    _renews(conn, q, lambda: ch.basic_get(q, auto_ack=True))


def test_zero_expires_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-expires", q, "{value_zero,0}")):
        ch.queue_declare(q, arguments={"x-expires": 0})
    assert not exists_queue(broker.connection, q)


def test_negative_expires_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-expires", q, "{value_negative,-1}")):
        ch.queue_declare(q, arguments={"x-expires": -1})


def test_string_expires_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-expires", q, '"expected integer, got longstr"')):
        ch.queue_declare(q, arguments={"x-expires": "1000"})
