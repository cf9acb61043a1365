"""Channel class: many channels per connection, open/close, flow, and misuse of channels."""

import pika
import pytest

import rawamqp
from helpers import channel_error, connection_error, consumer_count, get_all, wait_for_count


def test_many_channels_on_one_connection(broker):
    conn = broker.connect()
    channels = [conn.channel() for _ in range(100)]
    assert len({c.channel_number for c in channels}) == 100
    q = broker.queue_name()
    channels[0].queue_declare(q, auto_delete=False)
    # Every channel works independently: each publishes its own number.
    for i, c in enumerate(channels):
        c.basic_publish("", q, str(i).encode())
    assert wait_for_count(channels[-1], q, 100) == 100
    got = get_all(channels[-1], q)
    assert sorted(int(b) for b in got) == list(range(100))
    for c in channels:
        c.close()
    assert conn.is_open


def test_channel_close_leaves_connection_and_other_channels_working(broker, conn):
    a = conn.channel()
    b = conn.channel()
    q = broker.queue_name()
    a.queue_declare(q)
    a.close()
    assert a.is_closed
    b.basic_publish("", q, b"still here")
    assert get_all(b, q) == [b"still here"]


def test_channel_close_cancels_its_consumers(broker, conn):
    q = broker.queue_name()
    observer = conn.channel()
    observer.queue_declare(q)
    c = conn.channel()
    c.basic_consume(q, lambda *a: None)
    assert consumer_count(observer, q) == 1
    c.close()
    assert consumer_count(observer, q) == 0


def test_channel_number_can_be_reused_after_close(broker):
    conn = broker.connect()
    c = conn.channel(channel_number=7)
    c.close()
    again = conn.channel(channel_number=7)
    assert again.channel_number == 7
    assert again.queue_declare("", exclusive=True).method.queue


def test_channel_close_handshake_raw(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        c.send(rawamqp.method_frame(1, rawamqp.CHANNEL_CLOSE, rawamqp.close_args()))
        c.expect_method(rawamqp.CHANNEL_CLOSE_OK, channel=1)
        c.open_channel(1)


def test_channel_flow_active(ch):
    assert ch.flow(True) is True


def test_channel_flow_inactive_is_not_implemented(broker):
    # RabbitMQ does not support channel.flow(active=false) from clients: it is a connection
    # error 540 NOT_IMPLEMENTED with the text "NOT_IMPLEMENTED - active=false".
    conn = broker.connect()
    ch = conn.channel()
    with connection_error(540, "NOT_IMPLEMENTED - active=false"):
        ch.flow(False)
    assert conn.is_closed


def test_channel_closed_by_broker_cannot_be_used(broker, conn):
    ch = conn.channel()
    with channel_error(404):
        ch.queue_declare(broker.queue_name(), passive=True)
    assert ch.is_closed and conn.is_open
    with pytest.raises(pika.exceptions.ChannelWrongStateError):
        ch.queue_declare("", exclusive=True)
    assert conn.channel().queue_declare("", exclusive=True).method.queue


def test_method_on_closed_channel_is_channel_error(amqp_url):
    # After channel.close/close-ok the channel number is not open: using it is a connection
    # error 504 CHANNEL_ERROR.
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        c.send(rawamqp.method_frame(1, rawamqp.CHANNEL_CLOSE, rawamqp.close_args()))
        c.expect_method(rawamqp.CHANNEL_CLOSE_OK, channel=1)
        c.send(rawamqp.method_frame(1, rawamqp.QUEUE_DECLARE, rawamqp.queue_declare_args("")))
        close = c.expect_connection_close()
        assert close.reply_code == 504
        assert close.reply_text == "CHANNEL_ERROR - expected 'channel.open'"
        assert (close.class_id, close.method_id) == (50, 10)


def test_second_channel_open_is_channel_error(amqp_url):
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        c.send(rawamqp.method_frame(1, rawamqp.CHANNEL_OPEN, rawamqp.shortstr("")))
        close = c.expect_connection_close()
        assert close.reply_code == 504
        assert close.reply_text == "CHANNEL_ERROR - second 'channel.open' seen"
        assert (close.class_id, close.method_id) == (20, 10)


def test_frames_after_server_channel_close_are_discarded(amqp_url):
    # Once the server has sent channel.close, it ignores what the client sends on that channel
    # until channel.close-ok (the client may have sent it before seeing the close).
    with rawamqp.RawConnection(amqp_url) as c:
        assert c.handshake() is None
        c.open_channel(1)
        missing = rawamqp.queue_declare_args("conf-no-such-queue", passive=True)
        c.send(rawamqp.method_frame(1, rawamqp.QUEUE_DECLARE, missing))
        f = c.expect_method(rawamqp.CHANNEL_CLOSE, channel=1)
        close = rawamqp.Close(f.args())
        assert close.reply_code == 404
        assert close.reply_text == "NOT_FOUND - no queue 'conf-no-such-queue' in vhost '/'"
        c.send(rawamqp.method_frame(1, rawamqp.QUEUE_DECLARE, missing))
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_PUBLISH, rawamqp.basic_publish_args("", "x")))
        c.send(rawamqp.header_frame(1, 1))
        c.send(rawamqp.body_frame(1, b"x"))
        c.send(rawamqp.method_frame(1, rawamqp.CHANNEL_CLOSE_OK))
        c.open_channel(1)
        assert c.declare_queue(1, "").startswith("amq.gen-")
