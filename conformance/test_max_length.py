"""Queue length limits: x-max-length (messages) and x-max-length-bytes (body bytes) with the
x-overflow behaviours drop-head (the default), reject-publish and reject-publish-dlx, and the
406 texts of invalid values.

RabbitMQ counts only ready messages against the limits, not unacknowledged ones; drop-head drops
the oldest ready messages (dead-lettering them with reason maxlen if the queue has a DLX);
reject-publish refuses the new message, with a basic.nack to a confirming publisher;
reject-publish-dlx also dead-letters the refused message."""

import pika

from helpers import (
    Confirms,
    channel_error,
    confirming_channel,
    dead_letter_queue,
    get_all,
    invalid_arg_text,
    message_count,
    settle,
    wait_for_count,
)


def _publish_all(ch, queue, bodies, exchange=""):
    for body in bodies:
        ch.basic_publish(exchange, queue, body)


# ---- drop-head --------------------------------------------------------------------------------


def test_max_length_drops_the_oldest(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 3})
    _publish_all(ch, q, [b"m%d" % i for i in range(5)])
    assert message_count(ch, q) == 3
    assert get_all(ch, q) == [b"m2", b"m3", b"m4"]


def test_explicit_drop_head_is_the_default(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 2, "x-overflow": "drop-head"})
    _publish_all(ch, q, [b"a", b"b", b"c"])
    assert get_all(ch, q) == [b"b", b"c"]


def test_max_length_zero_keeps_nothing(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 0})
    _publish_all(ch, q, [b"a", b"b"])
    assert message_count(ch, q) == 0


def test_max_length_zero_still_delivers_to_a_waiting_consumer(broker, conn):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 0})
    got = []
    ch.basic_consume(q, lambda _c, m, p, b: got.append(b), auto_ack=True)
    ch.basic_publish("", q, b"direct")
    settle(conn, 0.2)
    assert got == [b"direct"]


def test_unacknowledged_messages_do_not_count(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 1})
    _publish_all(ch, q, [b"held"])
    held = ch.basic_get(q, auto_ack=False)[0]
    _publish_all(ch, q, [b"ready"])
    assert message_count(ch, q) == 1
    # Requeued, the unacknowledged message goes back to the head and the limit applies again:
    # the oldest is dropped.
    ch.basic_nack(held.delivery_tag, requeue=True)
    assert wait_for_count(ch, q, 1) == 1
    assert get_all(ch, q) == [b"ready"]


def test_max_length_bytes_counts_body_bytes(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length-bytes": 10})
    # Headers and properties do not count: only the 4-byte bodies.
    props = pika.BasicProperties(headers={"padding": "x" * 100}, content_type="text/plain")
    for body in (b"aaaa", b"bbbb", b"cccc", b"dddd"):
        ch.basic_publish("", q, body, props)
    assert get_all(ch, q) == [b"cccc", b"dddd"]


def test_max_length_bytes_at_the_limit_keeps_the_message(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length-bytes": 8})
    _publish_all(ch, q, [b"aaaa", b"bbbb"])
    assert message_count(ch, q) == 2


def test_message_larger_than_max_length_bytes_is_dropped(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length-bytes": 10})
    _publish_all(ch, q, [b"small", b"x" * 11])
    # Dropping from the head until the queue fits leaves nothing.
    assert message_count(ch, q) == 0


def test_both_limits_apply(broker):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 3, "x-max-length-bytes": 6})
    _publish_all(ch, q, [b"a", b"b", b"c", b"d"])
    assert get_all(ch, q) == [b"b", b"c", b"d"]
    _publish_all(ch, q, [b"aaa", b"bbb", b"ccc"])
    assert get_all(ch, q) == [b"bbb", b"ccc"]


# ---- reject-publish ---------------------------------------------------------------------------


def test_reject_publish_nacks_a_confirming_publisher(broker):
    ch = broker.channel()
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    confirms = Confirms(ch)
    for body in (b"a", b"b", b"c", b"d"):
        confirms.publish("", q, body)
    assert confirms.wait_all()
    assert (confirms.acked, confirms.nacked) == ({1, 2}, {3, 4})
    # The oldest messages stay.
    assert get_all(ch, q) == [b"a", b"b"]


def test_reject_publish_accepts_again_once_there_is_room(broker):
    ch = broker.channel()
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    confirms = Confirms(ch)
    confirms.publish("", q, b"a")
    confirms.publish("", q, b"b")
    assert confirms.wait_all()
    assert ch.basic_get(q, auto_ack=True)[2] == b"a"
    confirms.publish("", q, b"c")
    assert confirms.wait_all()
    assert (confirms.acked, confirms.nacked) == ({1, 3}, {2})
    assert get_all(ch, q) == [b"c"]


def test_reject_publish_without_confirms_drops_silently(broker, conn):
    ch = broker.channel()
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    returned = []
    ch.add_on_return_callback(lambda *a: returned.append(a))
    ch.basic_publish("", q, b"kept")
    ch.basic_publish("", q, b"refused", mandatory=True)
    settle(conn, 0.2)
    assert ch.is_open
    # Refused by the queue is not unroutable: no basic.return.
    assert returned == []
    assert get_all(ch, q) == [b"kept"]


def test_reject_publish_with_max_length_bytes(broker):
    ch = broker.channel()
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length-bytes": 5, "x-overflow": "reject-publish"})
    confirms = Confirms(ch)
    for body in (b"aaa", b"bb", b"c"):
        confirms.publish("", q, body)
    assert confirms.wait_all()
    assert (confirms.acked, confirms.nacked) == ({1, 2}, {3})
    assert get_all(ch, q) == [b"aaa", b"bb"]


def test_reject_publish_in_one_queue_nacks_the_publish_delivered_elsewhere(broker):
    ch = broker.channel()
    x = broker.exchange_name()
    full, room = broker.queue_name("full"), broker.queue_name("room")
    ch.exchange_declare(x, "fanout")
    ch.queue_declare(full, arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    ch.queue_declare(room)
    ch.queue_bind(full, x)
    ch.queue_bind(room, x)
    confirms = Confirms(ch)
    confirms.publish(x, "", b"split")
    assert confirms.wait_all()
    assert confirms.nacked == {1}
    assert get_all(ch, room) == [b"split"]
    assert message_count(ch, full) == 0


def test_reject_publish_does_not_dead_letter(broker):
    ch = broker.channel()
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name()
    ch.queue_declare(
        q,
        arguments={
            "x-max-length": 1,
            "x-overflow": "reject-publish",
            "x-dead-letter-exchange": dlx,
        },
    )
    confirms = Confirms(ch)
    confirms.publish("", q, b"a")
    confirms.publish("", q, b"b")
    assert confirms.wait_all()
    assert confirms.nacked == {2}
    settle(broker.connection, 0.2)
    assert message_count(ch, dlq) == 0


def test_reject_publish_dlx_nacks_and_dead_letters(broker):
    ch = broker.channel()
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name()
    ch.queue_declare(
        q,
        arguments={
            "x-max-length": 1,
            "x-overflow": "reject-publish-dlx",
            "x-dead-letter-exchange": dlx,
        },
    )
    confirms = Confirms(ch)
    for body in (b"a", b"b", b"c"):
        confirms.publish("", q, body)
    assert confirms.wait_all()
    assert (confirms.acked, confirms.nacked) == ({1}, {2, 3})
    assert get_all(ch, q) == [b"a"]
    assert wait_for_count(ch, dlq, 2) == 2
    dead = []
    for _ in range(2):
        method, props, body = ch.basic_get(dlq, auto_ack=True)
        dead.append(body)
        assert (method.exchange, method.routing_key) == (dlx, q)
        (entry,) = props.headers["x-death"]
        assert (entry["count"], entry["reason"], entry["queue"]) == (1, "maxlen", q)
        assert (entry["exchange"], entry["routing-keys"]) == ("", [q])
        assert props.headers["x-first-death-reason"] == "maxlen"
    assert dead == [b"b", b"c"]


def test_drop_head_dead_letters_the_dropped_with_reason_maxlen(broker):
    ch = confirming_channel(broker)
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length-bytes": 4, "x-dead-letter-exchange": dlx})
    _publish_all(ch, q, [b"aa", b"bb", b"cc"])
    assert get_all(ch, q) == [b"bb", b"cc"]
    assert wait_for_count(ch, dlq, 1) == 1
    _m, props, body = ch.basic_get(dlq, auto_ack=True)
    assert body == b"aa"
    assert props.headers["x-death"][0]["reason"] == "maxlen"


# ---- invalid values ---------------------------------------------------------------------------


def test_invalid_overflow_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-overflow", q, "invalid_overflow")):
        ch.queue_declare(q, arguments={"x-overflow": "drop-tail"})
    assert broker.connection.is_open


def test_overflow_of_wrong_type_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-overflow", q, "{unacceptable_type,signedint}")):
        ch.queue_declare(q, arguments={"x-overflow": 1})


def test_negative_max_length_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-max-length", q, "{value_negative,-1}")):
        ch.queue_declare(q, arguments={"x-max-length": -1})


def test_negative_max_length_bytes_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-max-length-bytes", q, "{value_negative,-5}")):
        ch.queue_declare(q, arguments={"x-max-length-bytes": -5})


def test_string_max_length_is_406(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg_text("x-max-length", q, '"expected integer, got longstr"')):
        ch.queue_declare(q, arguments={"x-max-length": "10"})


def test_redeclare_with_other_overflow_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-overflow' for queue '%s' in vhost '/': "
        "received 'drop-head' but current is 'reject-publish'" % q,
    ):
        ch.queue_declare(q, arguments={"x-max-length": 1, "x-overflow": "drop-head"})
