"""Delivery limit: x-delivery-limit N and the x-delivery-count header. RabbitMQ 3.10 offers it on
quorum queues only; Warren on every queue, so each scenario runs on a quorum queue (checked
against RabbitMQ) and on a classic queue (Warren only, with the same assertions).

What RabbitMQ 3.10 does on a quorum queue: a message is delivered at most N + 1 times; a
consumer's first delivery has no x-delivery-count header and each redelivery carries the number
of earlier deliveries (basic.get shows 0 on the first); every return counts, by nack or reject
with requeue or by the channel closing; when a message is returned with N + 1 deliveries behind
it, it is dead-lettered with reason delivery_limit, or dropped without a DLX."""

import datetime
import time

import pika
import pytest

import rawamqp
from helpers import confirming_channel, dead_letter_queue, get_one, pump

QUEUE_TYPES = ["quorum", pytest.param("classic", marks=pytest.mark.warren_only)]


@pytest.fixture(params=QUEUE_TYPES)
def queue_type(request):
    return request.param


def _declare(broker, ch, queue_type, limit, **arguments):
    """A durable queue of queue_type with x-delivery-limit `limit` and the other arguments."""
    q = broker.queue_name(queue_type)
    arguments["x-delivery-limit"] = limit
    if queue_type == "quorum":
        arguments["x-queue-type"] = "quorum"
    ch.queue_declare(q, durable=True, arguments=arguments)
    return q


def _nack_every_delivery(conn, ch, queue, limit):
    """Consumes from queue, nacking (requeue) every delivery, until limit + 1 deliveries came or
    a bounded wait passes; returns [(redelivered, headers)] of each delivery."""
    seen = []

    def on_message(c, method, props, _body):
        seen.append((method.redelivered, props.headers))
        c.basic_nack(method.delivery_tag, requeue=True)

    tag = ch.basic_consume(queue, on_message)
    pump(conn, lambda: len(seen) >= limit + 1)
    # A broker that went on redelivering would show it here.
    pump(conn, None, 0.3)
    ch.basic_cancel(tag)
    return seen


def _assert_gone(ch, queue):
    """Shows that queue no longer holds the message that was returned last: a marker published
    after the return is what basic.get finds, where a returned message would come first."""
    ch.basic_publish("", queue, b"marker")
    _m, _p, body = get_one(ch, queue)
    assert body == b"marker"


def test_delivery_count_header_counts_redeliveries(broker, conn, queue_type):
    ch = confirming_channel(broker)
    q = _declare(broker, ch, queue_type, 5)
    ch.basic_publish("", q, b"m", pika.BasicProperties(headers={"app": "v"}))
    seen = []

    def on_message(c, method, props, _body):
        seen.append((method.redelivered, props.headers))
        if len(seen) < 4:
            c.basic_nack(method.delivery_tag, requeue=True)
        else:
            c.basic_ack(method.delivery_tag)

    ch.basic_consume(q, on_message)
    assert pump(conn, lambda: len(seen) >= 4)
    assert seen == [
        (False, {"app": "v"}),
        (True, {"app": "v", "x-delivery-count": 1}),
        (True, {"app": "v", "x-delivery-count": 2}),
        (True, {"app": "v", "x-delivery-count": 3}),
    ]


def test_first_consumer_delivery_has_no_headers_added(broker, conn, queue_type):
    ch = confirming_channel(broker)
    q = _declare(broker, ch, queue_type, 5)
    ch.basic_publish("", q, b"plain")
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append(p.headers), auto_ack=True)
    assert pump(conn, lambda: got)
    assert got == [None]


def test_basic_get_shows_delivery_count_zero_first(broker, queue_type):
    ch = confirming_channel(broker)
    q = _declare(broker, ch, queue_type, 5)
    ch.basic_publish("", q, b"got")
    # Unlike a consumer's first delivery, basic.get's carries x-delivery-count 0 in RabbitMQ.
    method, props, _b = get_one(ch, q, auto_ack=False)
    assert (method.redelivered, props.headers) == (False, {"x-delivery-count": 0})
    ch.basic_reject(method.delivery_tag, requeue=True)
    method, props, _b = get_one(ch, q, auto_ack=False)
    assert (method.redelivered, props.headers) == (True, {"x-delivery-count": 1})


def test_delivery_count_is_a_long(broker, amqp_url, queue_type):
    ch = confirming_channel(broker)
    q = _declare(broker, ch, queue_type, 5)
    ch.basic_publish("", q, b"typed")
    ch.basic_nack(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=True)
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        deadline = time.monotonic() + 5.0
        while True:
            try:
                headers = c.get_typed_headers(1, q)
                break
            except rawamqp.ProtocolError:
                # basic.get-empty: the return has not reached the queue yet.
                assert time.monotonic() < deadline
                time.sleep(0.02)
    assert headers == {"x-delivery-count": ("l", 1)}


def test_delivery_limit_dead_letters_with_reason_delivery_limit(broker, conn, queue_type):
    ch = confirming_channel(broker)
    dlx, dlq = dead_letter_queue(broker, ch)
    q = _declare(broker, ch, queue_type, 2, **{"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"poison", pika.BasicProperties(headers={"app": "v"}))
    seen = _nack_every_delivery(conn, ch, q, 2)
    assert seen == [
        (False, {"app": "v"}),
        (True, {"app": "v", "x-delivery-count": 1}),
        (True, {"app": "v", "x-delivery-count": 2}),
    ]
    method, props, body = get_one(ch, dlq)
    assert (body, method.exchange, method.routing_key, method.redelivered) == (
        b"poison",
        dlx,
        q,
        False,
    )
    headers = dict(props.headers)
    (death,) = headers.pop("x-death")
    # The dead letter carries no x-delivery-count.
    assert headers == {
        "app": "v",
        "x-first-death-reason": "delivery_limit",
        "x-first-death-queue": q,
        "x-first-death-exchange": "",
    }
    when = death.pop("time")
    assert abs((when - datetime.datetime.utcnow()).total_seconds()) < 60
    assert death == {
        "count": 1,
        "reason": "delivery_limit",
        "queue": q,
        "exchange": "",
        "routing-keys": [q],
    }
    _assert_gone(ch, q)


def test_delivery_limit_without_dlx_drops(broker, conn, queue_type):
    ch = confirming_channel(broker)
    q = _declare(broker, ch, queue_type, 1)
    ch.basic_publish("", q, b"poison")
    seen = _nack_every_delivery(conn, ch, q, 1)
    assert seen == [(False, None), (True, {"x-delivery-count": 1})]
    _assert_gone(ch, q)


def test_delivery_limit_zero_allows_one_delivery(broker, conn, queue_type):
    ch = confirming_channel(broker)
    q = _declare(broker, ch, queue_type, 0)
    ch.basic_publish("", q, b"once")
    assert _nack_every_delivery(conn, ch, q, 0) == [(False, None)]
    _assert_gone(ch, q)


def test_channel_close_counts_as_a_delivery(broker, queue_type):
    ch = confirming_channel(broker)
    q = _declare(broker, ch, queue_type, 1)
    ch.basic_publish("", q, b"abandoned")
    for count in (0, 1):
        other = broker.channel()
        method, props, _b = get_one(other, q, auto_ack=False)
        assert (method.redelivered, props.headers) == (count > 0, {"x-delivery-count": count})
        # Closing with the message unacknowledged returns it, and that counts.
        other.close()
    _assert_gone(ch, q)


def test_reject_without_requeue_dead_letters_as_rejected(broker, queue_type):
    ch = confirming_channel(broker)
    dlx, dlq = dead_letter_queue(broker, ch)
    q = _declare(broker, ch, queue_type, 5, **{"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"refused")
    ch.basic_nack(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=True)
    ch.basic_reject(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=False)
    _m, props, body = get_one(ch, dlq)
    assert body == b"refused"
    (death,) = props.headers["x-death"]
    assert (death["reason"], death["count"], death["queue"]) == ("rejected", 1, q)
    assert "x-delivery-count" not in props.headers


def test_acknowledged_message_is_not_redelivered(broker, conn, queue_type):
    ch = confirming_channel(broker)
    q = _declare(broker, ch, queue_type, 1)
    ch.basic_publish("", q, b"done")
    ch.basic_ack(get_one(ch, q, auto_ack=False)[0].delivery_tag)
    _assert_gone(ch, q)


def test_negative_delivery_limit_on_quorum_queue_acts_as_zero(broker, conn):
    ch = confirming_channel(broker)
    # RabbitMQ 3.10 accepts a negative x-delivery-limit and drops the message at its first
    # return, as with 0.
    q = _declare(broker, ch, "quorum", -1)
    ch.basic_publish("", q, b"once")
    assert _nack_every_delivery(conn, ch, q, 0) == [(False, None)]
    _assert_gone(ch, q)
