"""Consumer cancel notification: a broker-sent basic.cancel when a consumed queue is deleted,
for clients that announce the consumer_cancel_notify capability (pika does)."""

import rawamqp
from helpers import pump, settle


def test_deleting_the_queue_cancels_every_consumer_of_it(broker, conn, ch):
    q = broker.queue_name()
    other_q = broker.queue_name("other")
    ch.queue_declare(q)
    ch.queue_declare(other_q)
    cancels = []
    channels = [conn.channel(), conn.channel()]
    tags = []
    for c in channels:
        c.add_on_cancel_callback(lambda frame: cancels.append(frame.method.consumer_tag))
        tags.append(c.basic_consume(q, lambda *a: None))
    kept = channels[0].basic_consume(other_q, lambda *a: None)
    broker.connect().channel().queue_delete(q)
    assert pump(conn, lambda: len(cancels) == 2)
    assert sorted(cancels) == sorted(tags)
    # Only the consumers of the deleted queue went; the channels stay open.
    assert all(c.is_open for c in channels)
    assert channels[0].consumer_tags == [kept]
    ch.basic_publish("", other_q, b"still consumed")
    assert pump(conn, lambda: ch.queue_declare(other_q, passive=True).method.message_count == 0)


def test_unacked_deliveries_of_a_deleted_queue_can_still_be_acked(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    got = []
    consumer = conn.channel()
    consumer.basic_consume(q, lambda _c, m, _p, b: got.append(m.delivery_tag))
    ch.basic_publish("", q, b"1")
    ch.basic_publish("", q, b"2")
    assert pump(conn, lambda: len(got) == 2)
    ch.queue_delete(q)
    consumer.basic_ack(delivery_tag=got[1], multiple=True)
    consumer.basic_qos(prefetch_count=1)  # a round trip: the ack raised nothing
    assert consumer.is_open


def test_cancelled_tag_can_be_used_again(broker, conn, ch):
    q = broker.queue_name()
    q2 = broker.queue_name("again")
    ch.queue_declare(q)
    ch.queue_declare(q2)
    consumer = conn.channel()
    cancels = []
    consumer.add_on_cancel_callback(lambda frame: cancels.append(frame.method.consumer_tag))
    consumer.basic_consume(q, lambda *a: None, consumer_tag="reused")
    ch.queue_delete(q)
    assert pump(conn, lambda: cancels == ["reused"])
    got = []
    consumer.basic_consume(q2, lambda _c, _m, _p, b: got.append(b), consumer_tag="reused")
    ch.basic_publish("", q2, b"m")
    assert pump(conn, lambda: got == [b"m"])


def raw_consumer(url, capabilities):
    """A raw connection with a consumer on a fresh queue (deleted by the caller); returns the
    connection and the queue name."""
    c = rawamqp.RawConnection(url)
    c.handshake(client_properties={"product": "conformance", "capabilities": capabilities})
    c.open_channel(1)
    c.send(rawamqp.method_frame(1, rawamqp.QUEUE_DECLARE, rawamqp.queue_declare_args("")))
    q = c.expect_method(rawamqp.QUEUE_DECLARE_OK, channel=1).args().shortstr()
    c.send(rawamqp.method_frame(1, rawamqp.BASIC_CONSUME, rawamqp.basic_consume_args(q, "ctag")))
    c.expect_method(rawamqp.BASIC_CONSUME_OK, channel=1)
    return c, q


def test_basic_cancel_from_the_broker_has_the_tag_and_nowait(broker, amqp_url):
    c, q = raw_consumer(amqp_url, {"consumer_cancel_notify": True})
    with c:
        broker.connect().channel().queue_delete(q)
        cancel = c.expect_method(rawamqp.BASIC_CANCEL, channel=1).args()
        assert cancel.shortstr() == "ctag"
        assert cancel.octet() == 1  # no-wait: the client does not answer


def test_no_basic_cancel_without_the_capability(broker, amqp_url):
    for capabilities in ({}, {"consumer_cancel_notify": False}):
        c, q = raw_consumer(amqp_url, capabilities)
        with c:
            broker.connect().channel().queue_delete(q)
            settle(broker.connection, 0.2)
            # The next frame on the channel is the answer to this, not a basic.cancel.
            c.send(rawamqp.method_frame(1, rawamqp.QUEUE_DECLARE, rawamqp.queue_declare_args("")))
            c.expect_method(rawamqp.QUEUE_DECLARE_OK, channel=1)


def test_queue_deleted_on_the_consumers_own_channel(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    cancels = []
    ch.add_on_cancel_callback(lambda frame: cancels.append(frame.method.consumer_tag))
    tag = ch.basic_consume(q, lambda *a: None)
    assert ch.queue_delete(q).method.message_count == 0
    assert pump(conn, lambda: cancels == [tag])
    assert ch.is_open and ch.consumer_tags == []
