"""Errors: channel exceptions close only their channel, connection exceptions the whole
connection; malformed input, sent by hand, gets the reply code RabbitMQ gives. After each test
a fresh, well-behaved pika connection must still work."""

import pytest

import rawamqp
from helpers import channel_error, connection_error, get_all, pump


@pytest.fixture(autouse=True)
def broker_still_serves(broker):
    yield
    conn = broker.connect()
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q, b"alive")
    assert get_all(ch, q) == [b"alive"]
    conn.close()


def raw(amqp_url, **handshake):
    """A raw connection past the handshake, with channel 1 open."""
    c = rawamqp.RawConnection(amqp_url)
    assert c.handshake(**handshake) is None
    c.open_channel(1)
    return c


def publish_frames(c, channel=1, routing_key="conf-nowhere"):
    args = rawamqp.basic_publish_args("", routing_key)
    c.send(rawamqp.method_frame(channel, rawamqp.BASIC_PUBLISH, args))


def assert_closed_with(c, code, text=None, text_prefix=None, class_method=None, wait_eof=True):
    """Expects connection.close with `code` (and the given text and failing method), answers
    close-ok, and (if wait_eof) expects the server to close the socket then. After a framing
    error the server cannot parse our close-ok (RabbitMQ closes after a 3 s timeout), so those
    tests do not wait."""
    close = c.expect_connection_close()
    assert close.reply_code == code, close
    if text is not None:
        assert close.reply_text == text, close
    if text_prefix is not None:
        assert close.reply_text.startswith(text_prefix), close
    if class_method is not None:
        assert (close.class_id, close.method_id) == class_method, close
    if wait_eof:
        assert c.expect_eof(), "connection still open after connection.close-ok"
    return close


def assert_dropped_or_closed_with(c, code):
    """The connection must end. If a connection.close comes first its code must be `code`;
    RabbitMQ 3.10 sends none in these cases (its reader process crashes and the socket is
    reset), which is accepted too."""
    try:
        while True:
            f = c.read_frame()
            if f.class_method == rawamqp.CONNECTION_CLOSE:
                close = rawamqp.Close(f.args())
                assert close.reply_code == code, close
                c.send(rawamqp.method_frame(0, rawamqp.CONNECTION_CLOSE_OK))
                assert c.expect_eof()
                return
    except (EOFError, ConnectionResetError):
        return


# ---- channel vs connection exceptions --------------------------------------------------------


def test_channel_error_closes_only_that_channel(broker, conn):
    q = broker.queue_name()
    good = conn.channel()
    good.queue_declare(q)
    bad = conn.channel()
    with channel_error(404):
        bad.queue_declare(broker.queue_name("missing"), passive=True)
    assert bad.is_closed and good.is_open and conn.is_open
    good.basic_publish("", q, b"still fine")
    assert get_all(good, q) == [b"still fine"]
    # the closed channel's number can be opened again
    again = conn.channel(channel_number=bad.channel_number)
    assert again.queue_declare("", exclusive=True).method.queue


def test_consumers_on_other_channels_survive_channel_error(broker, conn):
    q = broker.queue_name()
    consumer = conn.channel()
    consumer.queue_declare(q)
    got = []
    consumer.basic_consume(q, lambda _c, m, p, b: got.append(b), auto_ack=True)
    bad = conn.channel()
    with channel_error(406):
        bad.basic_ack(999)
        bad.queue_declare("", exclusive=True)
    consumer.basic_publish("", q, b"delivered")
    assert pump(conn, lambda: got == [b"delivered"])


def test_connection_error_closes_every_channel(broker):
    conn = broker.connect()
    channels = [conn.channel() for _ in range(3)]
    with connection_error(503, text_prefix="COMMAND_INVALID - "):
        channels[1].exchange_declare(broker.exchange_name(), "no-such-type")
    assert conn.is_closed
    assert all(c.is_closed for c in channels)


# ---- malformed input, by hand ------------------------------------------------------------------

EXPECTED_METHOD = "UNEXPECTED_FRAME - expected method frame, got non method frame instead"
UNEXPECTED_IN_RUNNING = "CHANNEL_ERROR - unexpected method in connection state running"


@pytest.mark.parametrize(
    "header",
    [
        b"GARBAGE!",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"AMQP\x00\x00\x09\x02",
        b"AMQP\x01\x01\x00\x0a",
    ],
)
def test_bad_protocol_header_gets_ours_and_close(amqp_url, header):
    # The server answers with the protocol header it supports and closes the socket.
    with rawamqp.RawConnection(amqp_url) as c:
        c.send(header)
        assert c.read_until_eof() == b"AMQP\x00\x00\x09\x01"


def test_unknown_method_closes_connection(amqp_url):
    # Spec: 540 NOT_IMPLEMENTED. RabbitMQ 3.10 sends no connection.close at all: its reader
    # crashes with {unknown_method_id,{60,999}} and the socket is reset.
    with raw(amqp_url) as c:
        c.send(rawamqp.method_frame(1, (60, 999)))
        assert_dropped_or_closed_with(c, 540)


def test_unknown_class_closes_connection(amqp_url):
    # Spec: 540 NOT_IMPLEMENTED. RabbitMQ 3.10: socket reset, no connection.close.
    with raw(amqp_url) as c:
        c.send(rawamqp.method_frame(1, (999, 10)))
        assert_dropped_or_closed_with(c, 540)


def test_truncated_method_arguments_are_frame_error(amqp_url):
    with raw(amqp_url) as c:
        c.send(rawamqp.method_frame(1, rawamqp.QUEUE_DECLARE, rawamqp.short(0) + b"\x50ab"))
        assert_closed_with(c, 501, text_prefix="FRAME_ERROR - cannot decode", class_method=(50, 10))


def test_body_longer_than_declared_is_unexpected_frame(broker, amqp_url):
    # RabbitMQ does not notice the overlong body by itself: the content stays incomplete (its
    # remaining size goes negative) and the next method on the channel is rejected with
    # 505 "UNEXPECTED_FRAME - expected content body, got non content body frame instead".
    # The message must not be delivered either way.
    q = broker.queue_name()
    broker.channel().queue_declare(q)
    with raw(amqp_url) as c:
        publish_frames(c, routing_key=q)
        c.send(rawamqp.header_frame(1, 5))
        c.send(rawamqp.body_frame(1, b"0123456789"))
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_GET, rawamqp.basic_get_args(q)))
        assert_closed_with(c, 505, text_prefix="UNEXPECTED_FRAME - ")
    assert get_all(broker.channel(), q) == []


def test_content_header_without_publish_is_unexpected_frame(amqp_url):
    with raw(amqp_url) as c:
        c.send(rawamqp.header_frame(1, 5))
        c.send(rawamqp.body_frame(1, b"01234"))
        assert_closed_with(c, 505, EXPECTED_METHOD)


def test_body_without_publish_is_unexpected_frame(amqp_url):
    with raw(amqp_url) as c:
        c.send(rawamqp.body_frame(1, b"01234"))
        assert_closed_with(c, 505, EXPECTED_METHOD)


def test_method_instead_of_content_header_is_unexpected_frame(amqp_url):
    with raw(amqp_url) as c:
        publish_frames(c)
        publish_frames(c)
        assert_closed_with(
            c,
            505,
            "UNEXPECTED_FRAME - expected content header for class 60, "
            "got non content header frame instead",
            class_method=(60, 40),
        )


def test_content_header_of_wrong_class_is_unexpected_frame(amqp_url):
    with raw(amqp_url) as c:
        publish_frames(c)
        c.send(rawamqp.header_frame(1, 1, class_id=50))
        c.send(rawamqp.body_frame(1, b"x"))
        assert_closed_with(
            c,
            505,
            "UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead",
            class_method=(60, 40),
        )


def test_frame_larger_than_frame_max_is_frame_error(amqp_url):
    with raw(amqp_url, frame_max=4096) as c:
        publish_frames(c)
        c.send(rawamqp.header_frame(1, 10000))
        c.send(rawamqp.body_frame(1, b"x" * 10000))
        # RabbitMQ: "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,10000,4088}"
        assert_closed_with(c, 501, text_prefix="FRAME_ERROR - ", wait_eof=False)


def test_frame_larger_than_default_frame_max_is_frame_error(amqp_url):
    # RabbitMQ is lenient by 8 bytes: it accepts a frame payload of up to frame_max bytes
    # (frame_max + 8 in all) although its error text names frame_max - 8 as the limit. This test
    # stays clear of that boundary.
    with raw(amqp_url) as c:  # frame_max as the server proposed
        limit = c.tune[1]
        size = limit + 1000
        publish_frames(c)
        c.send(rawamqp.header_frame(1, size))
        c.send(rawamqp.body_frame(1, b"x" * size))
        assert_closed_with(c, 501, text_prefix="FRAME_ERROR - ", wait_eof=False)


def test_bad_frame_end_is_frame_error(amqp_url):
    with raw(amqp_url) as c:
        declare = rawamqp.queue_declare_args("")
        c.send(rawamqp.method_frame(1, rawamqp.QUEUE_DECLARE, declare)[:-1] + b"\x00")
        assert_closed_with(c, 501, text_prefix="FRAME_ERROR - ", wait_eof=False)


def test_unknown_frame_type_is_frame_error(amqp_url):
    with raw(amqp_url) as c:
        c.send(rawamqp.frame(7, 0, b"abc"))
        # RabbitMQ: "FRAME_ERROR - type 7, all octets = <<"abc">>: unknown_frame"
        assert_closed_with(c, 501, text_prefix="FRAME_ERROR - ", wait_eof=False)


def test_heartbeat_on_a_channel_is_unexpected_frame(amqp_url):
    # RabbitMQ answers 505 UNEXPECTED_FRAME ("UNEXPECTED_FRAME - type 8, all octets = <<>>"),
    # not 501.
    with raw(amqp_url) as c:
        c.send(rawamqp.frame(rawamqp.FRAME_HEARTBEAT, 1, b""))
        assert_closed_with(c, 505, text_prefix="UNEXPECTED_FRAME - ")


def test_frame_on_unopened_channel_is_channel_error(amqp_url):
    with raw(amqp_url) as c:
        c.send(rawamqp.method_frame(3, rawamqp.QUEUE_DECLARE, rawamqp.queue_declare_args("")))
        assert_closed_with(c, 504, "CHANNEL_ERROR - expected 'channel.open'", class_method=(50, 10))


def test_content_on_unopened_channel_is_channel_error(amqp_url):
    with raw(amqp_url) as c:
        publish_frames(c, channel=5)
        c.send(rawamqp.header_frame(5, 1))
        c.send(rawamqp.body_frame(5, b"x"))
        assert_closed_with(c, 504, "CHANNEL_ERROR - expected 'channel.open'", class_method=(60, 40))


def test_channel_method_on_channel_zero_is_channel_error(amqp_url):
    with raw(amqp_url) as c:
        c.send(rawamqp.method_frame(0, rawamqp.QUEUE_DECLARE, rawamqp.queue_declare_args("")))
        assert_closed_with(c, 504, UNEXPECTED_IN_RUNNING, class_method=(50, 10))


def test_connection_method_after_open_is_channel_error(amqp_url):
    # A second connection.tune-ok once the connection is open.
    with raw(amqp_url) as c:
        c.send(rawamqp.method_frame(0, rawamqp.CONNECTION_TUNE_OK, rawamqp.tune_args(0, 131072, 0)))
        assert_closed_with(c, 504, UNEXPECTED_IN_RUNNING, class_method=(10, 31))


def test_channel_open_before_connection_open_is_unexpected_frame(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake(open_vhost=False) is None
        c.send(rawamqp.method_frame(1, rawamqp.CHANNEL_OPEN, rawamqp.shortstr("")))
        assert_closed_with(c, 505, text_prefix="UNEXPECTED_FRAME - ")


def test_server_only_method_from_client_is_command_invalid(amqp_url):
    # channel.open-ok is something only a server sends.
    with raw(amqp_url) as c:
        c.send(rawamqp.method_frame(1, rawamqp.CHANNEL_OPEN_OK, rawamqp.longstr("")))
        assert_closed_with(c, 503, "COMMAND_INVALID - unimplemented method", class_method=(20, 11))


def test_immediate_publish_is_not_implemented(amqp_url):
    # RabbitMQ 3.x dropped immediate: publishing with immediate=true is a connection error.
    with raw(amqp_url) as c:
        args = rawamqp.basic_publish_args("", "x", immediate=True)
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_PUBLISH, args))
        c.send(rawamqp.header_frame(1, 1))
        c.send(rawamqp.body_frame(1, b"x"))
        assert_closed_with(c, 540, "NOT_IMPLEMENTED - immediate=true", class_method=(60, 40))


def test_reused_consumer_tag_is_not_allowed(amqp_url):
    # RabbitMQ makes this a connection error (530), not a channel error.
    with raw(amqp_url) as c:
        q = c.declare_queue(1, "")
        consume = rawamqp.basic_consume_args(q, "t1")
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_CONSUME, consume))
        c.expect_method(rawamqp.BASIC_CONSUME_OK, channel=1)
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_CONSUME, consume))
        reused = "NOT_ALLOWED - attempt to reuse consumer tag 't1'"
        assert_closed_with(c, 530, reused, class_method=(60, 20))


def test_wrong_protocol_state_before_handshake(amqp_url):
    # A method frame right after the protocol header, without answering connection.start.
    with rawamqp.RawConnection(amqp_url) as c:
        c.send(rawamqp.PROTOCOL_HEADER)
        c.expect_method(rawamqp.CONNECTION_START, channel=0)
        c.send(rawamqp.method_frame(1, rawamqp.CHANNEL_OPEN, rawamqp.shortstr("")))
        # RabbitMQ drops such a connection (no connection.close before login, after a ~3 s delay)
        assert_dropped_or_closed_with(c, 505)
