"""Single active consumer: the queue argument x-single-active-consumer (RabbitMQ 3.10 classic
queues).

Only one consumer of the queue receives messages: the earliest registered one still there.
When it is cancelled or its channel or connection closes, the next in registration order takes
over, with the ready messages and those requeued from the old one. In 3.10 consumer
priorities do not pick the active consumer."""

import pika

from helpers import Recorder, channel_error, pump

SAC = {"x-single-active-consumer": True}


def publish(ch, q, n, start=0):
    for i in range(start, start + n):
        ch.basic_publish("", q, str(i).encode())


def test_only_the_first_consumer_receives(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    r = Recorder(conn)
    r.consume(conn.channel(), q, "first")
    r.consume(conn.channel(), q, "second")
    publish(ch, q, 4)
    r.wait(4)
    assert r.got == [("first", str(i), False) for i in range(4)]
    assert ch.queue_declare(q, passive=True).method.consumer_count == 2


def test_without_the_argument_consumers_take_turns(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-single-active-consumer": False})
    r = Recorder(conn)
    r.consume(conn.channel(), q, "first")
    r.consume(conn.channel(), q, "second")
    publish(ch, q, 4)
    r.wait(4)
    assert r.bodies("first") == ["0", "2"]
    assert r.bodies("second") == ["1", "3"]


def test_blocked_active_consumer_is_not_bypassed(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    r = Recorder(conn)
    first = conn.channel()
    first.basic_qos(prefetch_count=1)
    r.consume(first, q, "first", auto_ack=False)
    r.consume(conn.channel(), q, "second")
    publish(ch, q, 3)
    r.wait(1)
    assert r.got == [("first", "0", False)]
    assert ch.queue_declare(q, passive=True).method.message_count == 2
    first.basic_ack(delivery_tag=1)
    r.wait(2)
    assert r.got[1] == ("first", "1", False)


def test_next_consumer_takes_over_with_requeued_messages_when_channel_closes(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    r = Recorder(conn)
    first = conn.channel()
    first.basic_qos(prefetch_count=2)
    r.consume(first, q, "first", auto_ack=False)
    r.consume(conn.channel(), q, "second")
    r.consume(conn.channel(), q, "third")
    publish(ch, q, 4)
    r.wait(2)
    assert r.got == [("first", "0", False), ("first", "1", False)]
    first.close()  # its two unacknowledged messages go back, in their places
    r.wait(6)
    assert r.got[2:] == [
        ("second", "0", True),
        ("second", "1", True),
        ("second", "2", False),
        ("second", "3", False),
    ]


def test_cancelled_active_consumer_hands_over_to_the_next(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    r = Recorder(conn)
    first = conn.channel()
    first.basic_qos(prefetch_count=2)
    r.consume(first, q, "first", auto_ack=False)
    r.consume(conn.channel(), q, "second")
    publish(ch, q, 3)
    r.wait(2)
    first.basic_cancel("first")
    # The cancelled consumer's deliveries come back when its channel goes, and the next
    # consumer gets them with what was waiting. (Right after the cancel RabbitMQ pushes
    # nothing; a publish then reaches the new consumer, but not always what was waiting.)
    first.close()
    r.wait(5)
    assert r.got[2:] == [("second", "0", True), ("second", "1", True), ("second", "2", False)]


def test_next_consumer_takes_over_when_connection_closes(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    other = broker.connect()
    r = Recorder(conn)
    r.consume(other.channel(), q, "first")
    r.consume(conn.channel(), q, "second")
    r.consume(conn.channel(), q, "third")
    other.close()
    publish(ch, q, 3)
    r.wait(3)
    assert r.tags() == ["second"] * 3


def test_priorities_do_not_pick_the_active_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    r = Recorder(conn)
    r.consume(conn.channel(), q, "low", arguments={"x-priority": 1})
    r.consume(conn.channel(), q, "high", arguments={"x-priority": 10})
    publish(ch, q, 3)
    r.wait(3)
    assert r.tags() == ["low"] * 3


def test_ready_messages_go_to_the_first_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    publish(ch, q, 3)
    r = Recorder(conn)
    r.consume(conn.channel(), q, "first")
    r.consume(conn.channel(), q, "second")
    r.wait(3)
    assert r.tags() == ["first"] * 3


def test_exclusive_consumer_on_a_queue_with_consumers_is_403(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    ch.basic_consume(q, lambda *a: None)
    with channel_error(403, "ACCESS_REFUSED - queue '%s' in vhost '/' in exclusive use" % q):
        conn.channel().basic_consume(q, lambda *a: None, exclusive=True)


def test_exclusive_consumer_is_refused_even_on_an_unused_queue(broker, conn, ch):
    # RabbitMQ 3.10 treats the single active consumer as holding the queue exclusively.
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    with channel_error(403, "ACCESS_REFUSED - queue '%s' in vhost '/' in exclusive use" % q):
        conn.channel().basic_consume(q, lambda *a: None, exclusive=True)
    assert ch.queue_declare(q, passive=True).method.consumer_count == 0


def test_redeclare_without_the_argument_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-single-active-consumer' for queue '%s' in "
        "vhost '/': received none but current is the value 'true' of type 'bool'" % q,
    ):
        ch.queue_declare(q)


def test_basic_get_is_not_limited_to_the_active_consumer(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments=SAC)
    first = conn.channel()
    first.basic_qos(prefetch_count=1)
    first.basic_consume(q, lambda *a: None)
    publish(ch, q, 2)
    assert pump(conn, lambda: ch.queue_declare(q, passive=True).method.message_count == 1)
    method, _, body = ch.basic_get(q, auto_ack=True)
    assert isinstance(method, pika.spec.Basic.GetOk) and body == b"1"
