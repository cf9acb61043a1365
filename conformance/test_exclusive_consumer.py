"""Exclusive consumers: basic.consume with exclusive=true (beyond test_consume.py's basics)."""

import pika

from helpers import Recorder, channel_error, pump


def locked(q):
    return "ACCESS_REFUSED - queue '%s' in vhost '/' in exclusive use" % q


def test_exclusive_consumer_keeps_out_other_connections_and_its_own_channel(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_consume(q, lambda *a: None, exclusive=True)
    with channel_error(403, locked(q)):
        broker.connect().channel().basic_consume(q, lambda *a: None)
    with channel_error(403, locked(q)):
        ch.basic_consume(q, lambda *a: None, consumer_tag="second")
    assert not ch.is_open


def test_refused_consumer_leaves_the_exclusive_one_receiving(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    r = Recorder(conn)
    r.consume(conn.channel(), q, "exclusive", exclusive=True)
    with channel_error(403, locked(q)):
        conn.channel().basic_consume(q, lambda *a: None, exclusive=True)
    assert ch.queue_declare(q, passive=True).method.consumer_count == 1
    for i in range(3):
        ch.basic_publish("", q, str(i).encode())
    r.wait(3)
    assert r.bodies("exclusive") == ["0", "1", "2"]


def test_queue_is_free_again_after_the_exclusive_consumer_cancels(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    tag = ch.basic_consume(q, lambda *a: None, exclusive=True)
    ch.basic_cancel(tag)
    conn.channel().basic_consume(q, lambda *a: None)
    conn.channel().basic_consume(q, lambda *a: None)
    assert ch.queue_declare(q, passive=True).method.consumer_count == 2


def test_queue_is_free_again_when_the_exclusive_consumers_channel_closes(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    holder = conn.channel()
    holder.basic_consume(q, lambda *a: None, exclusive=True)
    holder.close()
    ch.basic_consume(q, lambda *a: None, exclusive=True)


def test_queue_is_free_again_when_the_exclusive_consumers_connection_closes(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    other = broker.connect()
    other.channel().basic_consume(q, lambda *a: None, exclusive=True)
    other.close()
    ch.basic_consume(q, lambda *a: None, exclusive=True)


def test_exclusive_consumer_after_the_others_cancelled(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    tag = ch.basic_consume(q, lambda *a: None)
    ch.basic_cancel(tag)
    conn.channel().basic_consume(q, lambda *a: None, exclusive=True)


def test_basic_get_ignores_the_exclusive_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    holder = conn.channel()
    holder.basic_qos(prefetch_count=1)
    holder.basic_consume(q, lambda *a: None, exclusive=True)
    ch.basic_publish("", q, b"0")
    ch.basic_publish("", q, b"1")
    assert pump(conn, lambda: ch.queue_declare(q, passive=True).method.message_count == 1)
    method, _, body = broker.connect().channel().basic_get(q, auto_ack=True)
    assert isinstance(method, pika.spec.Basic.GetOk) and body == b"1"


def test_delete_if_unused_counts_the_exclusive_consumer(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_consume(q, lambda *a: None, exclusive=True)
    with channel_error(406, "PRECONDITION_FAILED - queue '%s' in vhost '/' in use" % q):
        broker.connect().channel().queue_delete(q, if_unused=True)
