"""Dead-lettering: x-dead-letter-exchange and x-dead-letter-routing-key on reject, nack, expiry
and max-length, the x-death header RabbitMQ 3.10 writes (one entry per (queue, reason), newest
first, its count incremented), the x-first-death-* headers, cycle detection, a missing DLX, and
what a dead-lettered message keeps of its properties.

RabbitMQ 3.10's rules (rabbit_dead_letter): routing-keys are the publish routing key followed by
the CC keys; original-expiration is there only when the message had an expiration property, which
is removed; with x-dead-letter-routing-key set the CC header is removed; a message is dropped
instead of being dead-lettered into a queue it already died in, unless that cycle holds a
rejection (and a rejection itself never counts as a cycle)."""

import datetime
import time

import pika

import rawamqp
from helpers import (
    Confirms,
    channel_error,
    confirming_channel,
    dead_letter_queue,
    get_one,
    message_count,
    pump,
    settle,
    wait_for_count,
)

DEATH_KEYS = {"count", "reason", "queue", "time", "exchange", "routing-keys"}


def _assert_death(entry, count, reason, queue, exchange, routing_keys, original_expiration=None):
    """entry is one x-death table as pika decodes it: exactly these keys and values, and a time
    (an AMQP timestamp, so a datetime) of about now."""
    keys = set(DEATH_KEYS)
    if original_expiration is not None:
        keys.add("original-expiration")
        assert entry["original-expiration"] == original_expiration
    assert set(entry) == keys, entry
    assert entry["count"] == count and isinstance(entry["count"], int), entry
    assert entry["reason"] == reason, entry
    assert entry["queue"] == queue, entry
    assert entry["exchange"] == exchange, entry
    assert entry["routing-keys"] == routing_keys, entry
    assert isinstance(entry["time"], datetime.datetime), entry
    now = datetime.datetime.utcnow()
    assert abs((now - entry["time"]).total_seconds()) < 60, entry


def _assert_first_death(headers, reason, queue, exchange):
    assert headers["x-first-death-reason"] == reason
    assert headers["x-first-death-queue"] == queue
    assert headers["x-first-death-exchange"] == exchange


# ---- reject and nack --------------------------------------------------------------------------


def test_reject_without_requeue_dead_letters(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"bad")
    method, _p, body = get_one(ch, q, auto_ack=False)
    assert body == b"bad"
    ch.basic_reject(method.delivery_tag, requeue=False)
    method, props, body = get_one(ch, dlq)
    assert body == b"bad"
    assert (method.exchange, method.routing_key, method.redelivered) == (dlx, q, False)
    assert set(props.headers) == {
        "x-death",
        "x-first-death-reason",
        "x-first-death-queue",
        "x-first-death-exchange",
    }
    assert len(props.headers["x-death"]) == 1
    _assert_death(props.headers["x-death"][0], 1, "rejected", q, "", [q])
    _assert_first_death(props.headers, "rejected", q, "")
    assert message_count(ch, q) == 0


def test_reject_with_requeue_does_not_dead_letter(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"again")
    method, _p, _b = get_one(ch, q, auto_ack=False)
    ch.basic_reject(method.delivery_tag, requeue=True)
    method, props, body = get_one(ch, q)
    assert (body, method.redelivered, props.headers) == (b"again", True, None)
    assert message_count(ch, dlq) == 0


def test_nack_multiple_dead_letters_each_in_order(broker, conn, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    for i in range(3):
        ch.basic_publish("", q, b"m%d" % i)
    tags = [get_one(ch, q, auto_ack=False)[0].delivery_tag for _ in range(3)]
    ch.basic_nack(tags[-1], multiple=True, requeue=False)
    got = [get_one(ch, dlq) for _ in range(3)]
    assert [b for (_m, _p, b) in got] == [b"m0", b"m1", b"m2"]
    for _m, props, _b in got:
        assert len(props.headers["x-death"]) == 1
        _assert_death(props.headers["x-death"][0], 1, "rejected", q, "", [q])
    assert message_count(ch, q) == 0


def test_nack_from_a_consumer_dead_letters(broker, conn, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"consumed")
    ch.basic_consume(q, lambda c, m, p, b: c.basic_nack(m.delivery_tag, requeue=False))
    pump(conn, lambda: message_count(ch, dlq) == 1)
    _m, props, body = get_one(ch, dlq)
    assert body == b"consumed"
    _assert_death(props.headers["x-death"][0], 1, "rejected", q, "", [q])


def test_dead_letter_routing_key_replaces_the_routing_key(broker, ch):
    dlx, dlq = broker.exchange_name("dlx"), broker.queue_name("dlq")
    ch.exchange_declare(dlx, "direct")
    ch.queue_declare(dlq)
    ch.queue_bind(dlq, dlx, "dead")
    q = broker.queue_name("work")
    ch.queue_declare(
        q, arguments={"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "dead"}
    )
    ch.basic_publish("", q, b"rerouted")
    method, _p, _b = get_one(ch, q, auto_ack=False)
    ch.basic_reject(method.delivery_tag, requeue=False)
    method, props, body = get_one(ch, dlq)
    assert (body, method.exchange, method.routing_key) == (b"rerouted", dlx, "dead")
    # x-death keeps the routing keys the message was published with.
    _assert_death(props.headers["x-death"][0], 1, "rejected", q, "", [q])


def test_without_dead_letter_routing_key_the_original_key_routes(broker, ch):
    dlx, dlq = broker.exchange_name("dlx"), broker.queue_name("dlq")
    other = broker.queue_name("other")
    ch.exchange_declare(dlx, "direct")
    q = broker.queue_name("work")
    ch.queue_declare(dlq)
    ch.queue_declare(other)
    ch.queue_bind(dlq, dlx, q)
    ch.queue_bind(other, dlx, "something-else")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"by key")
    ch.basic_reject(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=False)
    assert get_one(ch, dlq)[2] == b"by key"
    assert message_count(ch, other) == 0


def test_cc_keys_are_in_x_death_and_route_the_dead_letter(broker, ch):
    x = broker.exchange_name("in")
    dlx = broker.exchange_name("dlx")
    q = broker.queue_name("work")
    dlq_cc = broker.queue_name("dlq-cc")
    ch.exchange_declare(x, "direct")
    ch.exchange_declare(dlx, "direct")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    ch.queue_bind(q, x, "main")
    ch.queue_declare(dlq_cc)
    # Only the CC key is bound on the DLX: the dead letter is routed by every key it had.
    ch.queue_bind(dlq_cc, dlx, "copy")
    props = pika.BasicProperties(headers={"CC": ["copy"], "BCC": ["hidden"]})
    ch.basic_publish(x, "main", b"cc", props)
    ch.basic_reject(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=False)
    method, props, body = get_one(ch, dlq_cc)
    assert (body, method.exchange, method.routing_key) == (b"cc", dlx, "main")
    # BCC is gone since the publish; CC stays on a dead letter routed by its original keys.
    assert props.headers["CC"] == ["copy"]
    assert "BCC" not in props.headers
    _assert_death(props.headers["x-death"][0], 1, "rejected", q, x, ["main", "copy"])
    _assert_first_death(props.headers, "rejected", q, x)


def test_dead_letter_routing_key_removes_the_cc_header(broker, ch):
    x, dlx = broker.exchange_name("in"), broker.exchange_name("dlx")
    q, dlq = broker.queue_name("work"), broker.queue_name("dlq")
    ch.exchange_declare(x, "direct")
    ch.exchange_declare(dlx, "direct")
    ch.queue_declare(
        q, arguments={"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "dead"}
    )
    ch.queue_bind(q, x, "main")
    ch.queue_declare(dlq)
    ch.queue_bind(dlq, dlx, "dead")
    ch.basic_publish(x, "main", b"cc", pika.BasicProperties(headers={"CC": ["copy"]}))
    ch.basic_reject(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=False)
    method, props, _b = get_one(ch, dlq)
    assert method.routing_key == "dead"
    assert "CC" not in props.headers
    # ... but x-death still lists the CC key.
    _assert_death(props.headers["x-death"][0], 1, "rejected", q, x, ["main", "copy"])


# ---- expiry and max-length --------------------------------------------------------------------


def test_queue_ttl_expiry_dead_letters_without_original_expiration(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx, "x-message-ttl": 50})
    ch.basic_publish("", q, b"late")
    method, props, body = get_one(ch, dlq)
    assert (body, method.exchange, method.routing_key) == (b"late", dlx, q)
    assert props.expiration is None
    assert len(props.headers["x-death"]) == 1
    _assert_death(props.headers["x-death"][0], 1, "expired", q, "", [q])
    _assert_first_death(props.headers, "expired", q, "")


def test_message_expiration_dead_letters_with_original_expiration(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"late", pika.BasicProperties(expiration="50"))
    _m, props, body = get_one(ch, dlq)
    assert body == b"late"
    # The expiration property is removed, so the dead letter does not expire again.
    assert props.expiration is None
    _assert_death(props.headers["x-death"][0], 1, "expired", q, "", [q], original_expiration="50")


def test_rejected_message_with_expiration_has_original_expiration(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"r", pika.BasicProperties(expiration="60000"))
    ch.basic_reject(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=False)
    _m, props, _b = get_one(ch, dlq)
    assert props.expiration is None
    _assert_death(
        props.headers["x-death"][0], 1, "rejected", q, "", [q], original_expiration="60000"
    )


def test_dead_letter_routing_key_applies_to_expired_messages(broker, ch):
    q = broker.queue_name("work")
    dlq = broker.queue_name("dlq")
    ch.queue_declare(dlq)
    # The default exchange as the DLX, with the dead-letter queue's name as the key.
    ch.queue_declare(
        q,
        arguments={
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dlq,
            "x-message-ttl": 50,
        },
    )
    ch.basic_publish("", q, b"to default")
    method, props, _b = get_one(ch, dlq)
    assert (method.exchange, method.routing_key) == ("", dlq)
    _assert_death(props.headers["x-death"][0], 1, "expired", q, "", [q])


def test_unacknowledged_message_does_not_expire(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx, "x-message-ttl": 100})
    ch.basic_publish("", q, b"held")
    method, _p, _b = get_one(ch, q, auto_ack=False)
    time.sleep(0.3)
    assert message_count(ch, dlq) == 0
    # Rejected after its TTL ran out while it was unacknowledged: the reason is rejected.
    ch.basic_reject(method.delivery_tag, requeue=False)
    _m, props, _b = get_one(ch, dlq)
    (death,) = props.headers["x-death"]
    _assert_death(death, 1, "rejected", q, "", [q])


def test_requeued_after_its_ttl_dead_letters_as_expired(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx, "x-message-ttl": 100})
    ch.basic_publish("", q, b"held")
    method, _p, _b = get_one(ch, q, auto_ack=False)
    time.sleep(0.3)
    ch.basic_nack(method.delivery_tag, requeue=True)
    _m, props, body = get_one(ch, dlq)
    assert body == b"held"
    (death,) = props.headers["x-death"]
    _assert_death(death, 1, "expired", q, "", [q])


def test_max_length_drop_head_dead_letters_with_reason_maxlen(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx, "x-max-length": 2})
    for i in range(4):
        ch.basic_publish("", q, b"m%d" % i)
    got = [get_one(ch, dlq) for _ in range(2)]
    assert [b for (_m, _p, b) in got] == [b"m0", b"m1"]
    for _m, props, _b in got:
        _assert_death(props.headers["x-death"][0], 1, "maxlen", q, "", [q])
        _assert_first_death(props.headers, "maxlen", q, "")
    assert wait_for_count(ch, q, 2) == 2


def test_purge_and_delete_do_not_dead_letter(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"purged")
    assert wait_for_count(ch, q, 1) == 1
    ch.queue_purge(q)
    ch.basic_publish("", q, b"deleted")
    assert wait_for_count(ch, q, 1) == 1
    ch.queue_delete(q)
    settle(broker.connection, 0.2)
    assert message_count(ch, dlq) == 0


# ---- x-death over several deaths --------------------------------------------------------------


def test_retry_cycle_counts_per_queue_and_reason(broker, ch):
    # work --reject--> retry (TTL) --expire--> back to work through the original exchange.
    x, retry_x = broker.exchange_name("in"), broker.exchange_name("retry")
    work, retry = broker.queue_name("work"), broker.queue_name("retry")
    ch.exchange_declare(x, "direct")
    ch.exchange_declare(retry_x, "fanout")
    ch.queue_declare(work, arguments={"x-dead-letter-exchange": retry_x})
    ch.queue_bind(work, x, "job")
    ch.queue_declare(retry, arguments={"x-dead-letter-exchange": x, "x-message-ttl": 50})
    ch.queue_bind(retry, retry_x)
    ch.basic_publish(x, "job", b"job", pika.BasicProperties(headers={"app": "kept"}))
    for n in range(4):
        method, props, body = get_one(ch, work, auto_ack=False)
        assert body == b"job"
        if n == 0:
            assert props.headers == {"app": "kept"}
        else:
            deaths = props.headers["x-death"]
            assert [(d["queue"], d["reason"]) for d in deaths] == [
                (retry, "expired"),
                (work, "rejected"),
            ]
            _assert_death(deaths[0], n, "expired", retry, retry_x, ["job"])
            _assert_death(deaths[1], n, "rejected", work, x, ["job"])
            # Set by the first death and never changed.
            _assert_first_death(props.headers, "rejected", work, x)
            assert props.headers["app"] == "kept"
        if n < 3:
            ch.basic_reject(method.delivery_tag, requeue=False)
        else:
            ch.basic_ack(method.delivery_tag)


def test_rejected_into_its_own_queue_counts_up(broker, ch):
    q = broker.queue_name("self")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": q})
    ch.basic_publish("", q, b"boomerang")
    for n in range(3):
        method, props, _b = get_one(ch, q, auto_ack=False)
        if n == 0:
            assert props.headers is None
        else:
            # A rejection is never a cycle: the message comes back each time.
            assert len(props.headers["x-death"]) == 1
            _assert_death(props.headers["x-death"][0], n, "rejected", q, "", [q])
            _assert_first_death(props.headers, "rejected", q, "")
        ch.basic_reject(method.delivery_tag, requeue=False)
    assert get_one(ch, q)[1].headers["x-death"][0]["count"] == 3


def test_repeated_death_keeps_the_entry_it_had(broker, ch):
    # a --reject--> X1 --> b --reject--> X2 --> a --reject--> X1: the second (a, rejected)
    # death only counts up and moves its entry to the front; RabbitMQ 3.10 keeps the exchange
    # the message had at the first one ("" then, X2 now).
    a, b = broker.queue_name("a"), broker.queue_name("b")
    x1, x2 = broker.exchange_name("x1"), broker.exchange_name("x2")
    ch.exchange_declare(x1, "fanout")
    ch.exchange_declare(x2, "fanout")
    ch.queue_declare(a, arguments={"x-dead-letter-exchange": x1})
    ch.queue_declare(b, arguments={"x-dead-letter-exchange": x2})
    ch.queue_bind(b, x1)
    ch.queue_bind(a, x2)
    ch.basic_publish("", a, b"pingpong")
    for queue in (a, b, a):
        ch.basic_reject(get_one(ch, queue, auto_ack=False)[0].delivery_tag, requeue=False)
    _m, props, _b = get_one(ch, b)
    deaths = props.headers["x-death"]
    assert len(deaths) == 2
    _assert_death(deaths[0], 2, "rejected", a, "", [a])
    _assert_death(deaths[1], 1, "rejected", b, x1, [a])
    _assert_first_death(props.headers, "rejected", a, "")


def test_expiry_cycle_into_its_own_queue_is_dropped(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name("self")
    ch.queue_declare(
        q,
        arguments={
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": q,
            "x-message-ttl": 50,
        },
    )
    ch.basic_publish("", q, b"loop")
    # Expired out of q into q with no rejection on the way: RabbitMQ drops it. A broker that
    # let it loop would show it in q most of the time.
    assert wait_for_count(ch, q, 0) == 0
    for _ in range(10):
        time.sleep(0.03)
        assert message_count(ch, q) == 0


def test_automatic_cycle_drops_only_for_the_queue_it_died_in(broker, ch):
    # a --expire--> b --expire--> fanout to {a, watch}: a is a fully automatic cycle and
    # is skipped, watch is not in the cycle and gets the message.
    a, b, watch = broker.queue_name("a"), broker.queue_name("b"), broker.queue_name("watch")
    to_b, back = broker.exchange_name("to-b"), broker.exchange_name("back")
    ch.exchange_declare(to_b, "fanout")
    ch.exchange_declare(back, "fanout")
    ch.queue_declare(a, arguments={"x-dead-letter-exchange": to_b, "x-message-ttl": 50})
    ch.queue_declare(b, arguments={"x-dead-letter-exchange": back, "x-message-ttl": 50})
    ch.queue_declare(watch)
    ch.queue_bind(b, to_b)
    ch.queue_bind(a, back)
    ch.queue_bind(watch, back)
    ch.basic_publish("", a, b"cycle")
    _m, props, body = get_one(ch, watch)
    assert body == b"cycle"
    deaths = props.headers["x-death"]
    assert len(deaths) == 2
    _assert_death(deaths[0], 1, "expired", b, to_b, [a])
    _assert_death(deaths[1], 1, "expired", a, "", [a])
    _assert_first_death(props.headers, "expired", a, "")
    settle(broker.connection, 0.3)
    assert (message_count(ch, a), message_count(ch, b), message_count(ch, watch)) == (0, 0, 0)


def test_cycle_with_a_rejection_is_not_dropped(broker, ch):
    # a --reject--> b --expire--> a: the rejection makes it a cycle a client drives, which
    # RabbitMQ lets through.
    a, b = broker.queue_name("a"), broker.queue_name("b")
    ch.queue_declare(a, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": b})
    ch.queue_declare(
        b,
        arguments={
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": a,
            "x-message-ttl": 50,
        },
    )
    ch.basic_publish("", a, b"client")
    ch.basic_reject(get_one(ch, a, auto_ack=False)[0].delivery_tag, requeue=False)
    _m, props, body = get_one(ch, a)
    assert body == b"client"
    deaths = props.headers["x-death"]
    # The first dead-lettering replaced the routing keys with its x-dead-letter-routing-key.
    _assert_death(deaths[0], 1, "expired", b, "", [b])
    _assert_death(deaths[1], 1, "rejected", a, "", [a])


# ---- invalid arguments ------------------------------------------------------------------------


def test_dead_letter_exchange_of_wrong_type_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(
        406,
        "PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' in "
        "queue '%s' in vhost '/'" % q,
    ):
        ch.queue_declare(q, arguments={"x-dead-letter-exchange": 1})
    assert broker.connection.is_open


def test_dead_letter_routing_key_without_exchange_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(
        406,
        "PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '%s' in "
        "vhost '/': routing_key_but_no_dlx_defined" % q,
    ):
        ch.queue_declare(q, arguments={"x-dead-letter-routing-key": "k"})


# ---- what the dead letter keeps ---------------------------------------------------------------


def test_dead_letter_keeps_the_other_properties(broker, ch):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    sent = pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        headers={"app": "value", "n": 7, "nested": {"k": "v"}},
        delivery_mode=2,
        priority=3,
        correlation_id="corr",
        reply_to="replies",
        message_id="id-1",
        timestamp=1700000000,
        type="kind",
        user_id="guest",
        app_id="conformance",
    )
    ch.basic_publish("", q, b"{}", sent)
    ch.basic_reject(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=False)
    _m, props, body = get_one(ch, dlq)
    assert body == b"{}"
    for field in (
        "content_type",
        "content_encoding",
        "delivery_mode",
        "priority",
        "correlation_id",
        "reply_to",
        "message_id",
        "timestamp",
        "type",
        "user_id",
        "app_id",
    ):
        assert getattr(props, field) == getattr(sent, field), field
    assert props.expiration is None
    assert {k: v for k, v in props.headers.items() if not k.startswith("x-")} == sent.headers


def test_missing_dead_letter_exchange_drops_the_message(broker, ch):
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": broker.exchange_name("missing")})
    ch.basic_publish("", q, b"lost")
    ch.basic_reject(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=False)
    settle(broker.connection, 0.2)
    assert message_count(ch, q) == 0
    assert ch.is_open and broker.connection.is_open


def test_unroutable_dead_letter_is_dropped(broker):
    ch = confirming_channel(broker)
    dlx = broker.exchange_name("dlx")
    ch.exchange_declare(dlx, "direct")  # nothing bound
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx, "x-message-ttl": 50})
    ch.basic_publish("", q, b"nowhere")
    assert wait_for_count(ch, q, 0) == 0
    assert ch.is_open


def test_confirms_and_returns_cover_only_the_original_publish(broker, conn):
    ch = broker.channel()
    dlx = broker.exchange_name("dlx")
    ch.exchange_declare(dlx, "direct")  # the dead letter is unroutable there
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx, "x-message-ttl": 50})
    confirms = Confirms(ch)
    confirms.publish("", q, b"one", mandatory=True)
    assert confirms.wait_all()
    assert wait_for_count(ch, q, 0) == 0
    settle(conn, 0.2)
    # One ack for the publish, nothing for the dead-lettering, no basic.return.
    assert confirms.events == [("ack", 1, False)]


# ---- field types ------------------------------------------------------------------------------


def _raw_get_headers(url, queue):
    """One message's headers, with their AMQP types, taken with basic.get over a raw
    connection."""
    with rawamqp.RawConnection(url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        return c.get_typed_headers(1, queue)


def test_x_death_field_types(broker, ch, amqp_url):
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    ch.basic_publish("", q, b"typed", pika.BasicProperties(expiration="60000"))
    ch.basic_reject(get_one(ch, q, auto_ack=False)[0].delivery_tag, requeue=False)
    assert wait_for_count(ch, dlq, 1) == 1
    headers = _raw_get_headers(amqp_url, dlq)
    assert headers["x-first-death-reason"] == ("S", b"rejected")
    assert headers["x-first-death-queue"] == ("S", q.encode())
    assert headers["x-first-death-exchange"] == ("S", b"")
    kind, deaths = headers["x-death"]
    assert kind == "A" and len(deaths) == 1
    kind, entry = deaths[0]
    assert kind == "F"
    assert entry["count"] == ("l", 1)
    assert entry["reason"] == ("S", b"rejected")
    assert entry["queue"] == ("S", q.encode())
    assert entry["exchange"] == ("S", b"")
    assert entry["routing-keys"] == ("A", [("S", q.encode())])
    assert entry["original-expiration"] == ("S", b"60000")
    kind, seconds = entry["time"]
    assert kind == "T" and abs(seconds - time.time()) < 60
