"""Connection class: connection.start's properties, login, tuning, vhosts, close, heartbeats."""

import socket
import time

import pika
import pytest

import rawamqp
from helpers import exists_queue, pump

CAPABILITIES = [
    "publisher_confirms",
    "exchange_exchange_bindings",
    "basic.nack",
    "consumer_cancel_notify",
    "per_consumer_qos",
]


def test_server_properties_name_the_product(conn):
    props = conn._impl.server_properties
    for key in ("product", "version", "platform"):
        value = props.get(key)
        assert isinstance(value, (str, bytes)) and len(value) > 0, key


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_server_capabilities(conn, capability):
    assert conn._impl.server_capabilities.get(capability) is True


def test_connection_start_fields(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        start = c.start
        assert (start["version_major"], start["version_minor"]) == (0, 9)
        assert "PLAIN" in start["mechanisms"].split()
        assert "en_US" in start["locales"].split()
        assert isinstance(start["server_properties"]["capabilities"], dict)


def test_plain_login(broker):
    conn = broker.connect(credentials=pika.PlainCredentials("guest", "guest"))
    ch = conn.channel()
    ok = ch.queue_declare("", exclusive=True)
    assert ok.method.queue


def test_wrong_password_is_refused_with_403(broker):
    # pika announces the authentication_failure_close capability, so RabbitMQ answers with
    # connection.close 403 instead of just dropping the socket.
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as info:
        broker.connect(credentials=pika.PlainCredentials("guest", "not-the-password"))
    assert "(403)" in str(info.value) and "ACCESS_REFUSED" in str(info.value)


def test_wrong_password_raw_close_frame(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        c.send(rawamqp.PROTOCOL_HEADER)
        c.expect_method(rawamqp.CONNECTION_START, channel=0)
        props = rawamqp.table({"capabilities": {"authentication_failure_close": True}})
        c.send(
            rawamqp.method_frame(
                0,
                rawamqp.CONNECTION_START_OK,
                props
                + rawamqp.shortstr("PLAIN")
                + rawamqp.longstr(b"\x00guest\x00wrong")
                + rawamqp.shortstr("en_US"),
            )
        )
        close = c.expect_connection_close()
        assert close.reply_code == 403
        assert close.reply_text == (
            "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
            "For details see the broker logfile."
        )
        assert c.expect_eof()


def test_unknown_user_is_refused(broker):
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as info:
        broker.connect(credentials=pika.PlainCredentials("no-such-user", "guest"))
    assert "(403)" in str(info.value)


def test_amqplain_login(amqp_url):
    # pika only speaks PLAIN, so AMQPLAIN is done by hand: the response is a field table
    # (without its length) holding LOGIN and PASSWORD.
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake(mechanism="AMQPLAIN") is None
        c.open_channel(1)
        assert c.declare_queue(1, "").startswith("amq.gen-")


def test_amqplain_is_offered(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        c.handshake(open_vhost=False)
        assert "AMQPLAIN" in c.start["mechanisms"].split()


def test_amqplain_wrong_password_is_refused(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        c.send(rawamqp.PROTOCOL_HEADER)
        c.expect_method(rawamqp.CONNECTION_START, channel=0)
        props = rawamqp.table({"capabilities": {"authentication_failure_close": True}})
        response = rawamqp.table({"LOGIN": "guest", "PASSWORD": "wrong"})[4:]
        args = props + rawamqp.shortstr("AMQPLAIN") + rawamqp.longstr(response) + rawamqp.shortstr("en_US")
        c.send(rawamqp.method_frame(0, rawamqp.CONNECTION_START_OK, args))
        close = c.expect_connection_close()
        assert close.reply_code == 403
        assert close.reply_text.startswith(
            "ACCESS_REFUSED - Login was refused using authentication mechanism AMQPLAIN"
        )


def test_tune_client_gets_smaller_values(broker):
    conn = broker.connect(channel_max=16, frame_max=8192, heartbeat=5)
    params = conn._impl.params
    assert (params.channel_max, params.frame_max, params.heartbeat) == (16, 8192, 5)
    # The connection works with those values: a body far larger than frame_max round-trips.
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    body = bytes(range(256)) * 400
    ch.basic_publish("", q, body)
    method, _props, got = ch.basic_get(q, auto_ack=True)
    assert method is not None and got == body


def test_server_honours_smaller_frame_max(amqp_url):
    # With frame_max 4096 the server must split a 10000-byte delivery into body frames of at most
    # 4096 - 8 = 4088 payload bytes (8 = frame header + frame end).
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake(frame_max=4096) is None
        server_frame_max = c.tune[1]
        assert server_frame_max == 0 or server_frame_max >= 4096
        c.open_channel(1)
        q = c.declare_queue(1, "")
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_PUBLISH, rawamqp.basic_publish_args("", q)))
        c.send(rawamqp.header_frame(1, 10000))
        for i in range(0, 10000, 4000):
            c.send(rawamqp.body_frame(1, b"y" * min(4000, 10000 - i)))
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_GET, rawamqp.basic_get_args(q)))
        c.expect_method(rawamqp.BASIC_GET_OK, channel=1)
        header = c.read_frame()
        assert header.type == rawamqp.FRAME_HEADER
        sizes = []
        while sum(sizes) < 10000:
            f = c.read_frame()
            assert f.type == rawamqp.FRAME_BODY
            sizes.append(len(f.payload))
        # RabbitMQ fills each frame: [4088, 4088, 1824]. Only the limit is required.
        assert sum(sizes) == 10000 and max(sizes) <= 4088, sizes


def test_frame_max_below_minimum_is_refused(amqp_url):
    # The spec's minimum frame_max is 4096. RabbitMQ closes the connection without a
    # connection.close, after its 3 s "silent close" delay (log: "negotiated frame_max = 1000 is
    # lower than the minimum allowed value (4096)").
    with rawamqp.RawConnection(amqp_url, timeout=10) as c:
        c.handshake(frame_max=1000, open_vhost=False)
        open_args = rawamqp.shortstr("/") + rawamqp.shortstr("") + rawamqp.octet(0)
        c.send(rawamqp.method_frame(0, rawamqp.CONNECTION_OPEN, open_args))
        frames = []
        try:
            while True:
                frames.append(c.read_frame())
                if frames[-1].class_method == rawamqp.CONNECTION_CLOSE:
                    c.send(rawamqp.method_frame(0, rawamqp.CONNECTION_CLOSE_OK))
        except (EOFError, ConnectionResetError, BrokenPipeError):
            pass
        methods = [f.class_method for f in frames if f.type == rawamqp.FRAME_METHOD]
        assert rawamqp.CONNECTION_OPEN_OK not in methods
        for f in frames:
            if f.class_method == rawamqp.CONNECTION_CLOSE:
                assert rawamqp.Close(f.args()).reply_code == 530


def test_channel_max_is_enforced(amqp_url):
    # RabbitMQ counts open channels against channel_max (numbers above it are accepted as long
    # as fewer channels are open); opening a third channel with channel_max 2 is a connection
    # error either way.
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake(channel_max=2) is None
        c.open_channel(1)
        c.open_channel(2)
        c.send(rawamqp.method_frame(3, rawamqp.CHANNEL_OPEN, rawamqp.shortstr("")))
        close = c.expect_connection_close()
        assert close.reply_code == 530
        assert close.reply_text == (
            "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)"
        )


def test_unknown_vhost_is_not_allowed(broker):
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as info:
        broker.connect(virtual_host="no-such-vhost")
    assert "(530)" in str(info.value)
    assert "NOT_ALLOWED - vhost no-such-vhost not found" in str(info.value)


def test_unknown_vhost_raw_close_frame(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        close = c.handshake(vhost="no-such-vhost")
        assert close is not None
        assert close.reply_code == 530
        assert close.reply_text == "NOT_ALLOWED - vhost no-such-vhost not found"
        assert (close.class_id, close.method_id) == (10, 40)
        c.send(rawamqp.method_frame(0, rawamqp.CONNECTION_CLOSE_OK))
        assert c.expect_eof()


def test_client_initiated_close(broker):
    conn = broker.connect()
    q = conn.channel().queue_declare("", exclusive=True).method.queue
    conn.close()
    assert conn.is_closed
    # The server really ended the connection: its exclusive queue is gone.
    assert not exists_queue(broker.connection, q)


def test_client_close_gets_close_ok(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        c.send(rawamqp.method_frame(0, rawamqp.CONNECTION_CLOSE, rawamqp.close_args()))
        c.expect_method(rawamqp.CONNECTION_CLOSE_OK, channel=0)


def test_heartbeats_keep_connection_open(broker):
    conn = broker.connect(heartbeat=1)
    assert conn._impl.params.heartbeat == 1
    ch = conn.channel()
    pump(conn, None, 3.5)  # several heartbeat intervals, answering the server's heartbeats
    assert conn.is_open
    assert ch.queue_declare("", exclusive=True).method.queue


def test_server_sends_heartbeats(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake(heartbeat=1) is None
        seen = 0
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            f = c.read_frame()
            assert f.type == rawamqp.FRAME_HEARTBEAT and f.channel == 0
            seen += 1
            c.send(rawamqp.frame(rawamqp.FRAME_HEARTBEAT, 0, b""))
        # RabbitMQ sends one every half interval; at least one per interval is required.
        assert seen >= 2


def test_missed_heartbeats_close_connection(amqp_url):
    # RabbitMQ drops the socket (no connection.close) about 2-3 intervals after the client
    # falls silent; its log says "missed heartbeats from client, timeout: 1s".
    with rawamqp.RawConnection(amqp_url, timeout=10) as c:
        assert c.handshake(heartbeat=1) is None
        start = time.monotonic()
        try:
            while True:
                f = c.read_frame()
                if f.class_method == rawamqp.CONNECTION_CLOSE:
                    break
        except (EOFError, ConnectionResetError):
            pass
        except socket.timeout:
            pytest.fail("connection still open 10 s after the client stopped heartbeating")
        assert time.monotonic() - start < 8
