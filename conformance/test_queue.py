"""Queue class: declare (server-named, passive, exclusive, auto-delete, arguments), bind/unbind,
purge, delete and its conditions."""

import pika

from helpers import (
    channel_error,
    consumer_count,
    exists_queue,
    get_all,
    message_count,
    pump,
    shortstr_text,
    wait_for_count,
)


def test_server_named_queue(broker, ch):
    ok = ch.queue_declare("", exclusive=True)
    name = ok.method.queue
    assert name.startswith("amq.gen-")
    assert (ok.method.message_count, ok.method.consumer_count) == (0, 0)
    other = ch.queue_declare("", exclusive=True).method.queue
    assert other != name and other.startswith("amq.gen-")
    ch.basic_publish("", name, b"to a server-named queue")
    assert get_all(ch, name) == [b"to a server-named queue"]


def test_passive_declare_of_missing_queue_is_404(broker, ch):
    q = broker.queue_name()
    with channel_error(404, "NOT_FOUND - no queue '%s' in vhost '/'" % q):
        ch.queue_declare(q, passive=True)
    assert broker.connection.is_open


def test_passive_declare_of_existing_queue(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, durable=True)
    # passive ignores the other flags
    ok = ch.queue_declare(q, passive=True, durable=False, auto_delete=True)
    assert ok.method.queue == q


def test_redeclare_with_other_durability_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, durable=False)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'durable' for queue '%s' in vhost '/': "
        "received 'true' but current is 'false'" % q,
    ):
        ch.queue_declare(q, durable=True)


def test_redeclare_with_other_auto_delete_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, auto_delete=True)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue '%s' in vhost '/': "
        "received 'false' but current is 'true'" % q,
    ):
        ch.queue_declare(q, auto_delete=False)


def test_redeclare_with_other_arguments_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": 10})
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '%s' in vhost '/': "
        "received '11' but current is '10'" % q,
    ):
        ch.queue_declare(q, arguments={"x-max-length": 11})


def test_redeclare_without_the_arguments_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-message-ttl": 60000})
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '%s' in vhost '/': "
        "received none but current is the value '60000' of type 'signedint'" % q,
    ):
        ch.queue_declare(q)


def test_arguments_are_kept_and_same_redeclare_is_ok(broker, ch):
    q = broker.queue_name()
    args = {"x-max-length": 2, "x-message-ttl": 60000}
    ch.queue_declare(q, arguments=args)
    ok = ch.queue_declare(q, arguments=dict(args))
    assert ok.method.queue == q
    # RabbitMQ ignores arguments it does not know when comparing declarations.
    ch.queue_declare(q, arguments=dict(args, **{"x-conformance-unknown": "anything"}))
    # The arguments were kept: a redeclaration that differs in one of them is refused. (What
    # x-max-length does to messages belongs to the queue-features tests.)
    with channel_error(406, text_prefix="PRECONDITION_FAILED - inequivalent arg 'x-max-length'"):
        ch.queue_declare(q, arguments=dict(args, **{"x-max-length": 3}))


def test_exclusive_queue_is_locked_to_its_connection(broker):
    owner = broker.connect()
    q = broker.queue_name()
    owner.channel().queue_declare(q, exclusive=True)
    other = broker.connect()
    # The full text is longer than a shortstr holds; RabbitMQ cuts it to 252 bytes + "...".
    locked = shortstr_text(
        "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '%s' in vhost '/'. It "
        "could be originally declared on another connection or the exclusive property value does "
        "not match that of the original declaration." % q
    )
    for op in (
        lambda c: c.queue_declare(q, passive=True),
        lambda c: c.queue_declare(q, exclusive=True),
        lambda c: c.basic_consume(q, lambda *a: None),
        lambda c: c.queue_delete(q),
        lambda c: c.queue_purge(q),
    ):
        with channel_error(405, locked):
            op(other.channel())
    # Another connection may still publish to it (RabbitMQ allows that).
    other.channel().basic_publish("", q, b"from elsewhere")
    assert wait_for_count(owner.channel(), q, 1) == 1


def test_exclusive_queue_goes_with_its_connection(broker):
    owner = broker.connect()
    q = broker.queue_name()
    owner.channel().queue_declare(q, exclusive=True)
    assert exists_queue(owner, q)
    owner.close()
    assert not exists_queue(broker.connection, q)


def test_auto_delete_queue_goes_after_last_consumer_cancels(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, auto_delete=True)
    ch.basic_publish("", q, b"kept")
    # Never consumed: it stays.
    assert exists_queue(broker.connection, q)
    t1 = ch.basic_consume(q, lambda *a: None)
    t2 = ch.basic_consume(q, lambda *a: None)
    ch.basic_cancel(t1)
    assert consumer_count(broker.channel(), q) == 1
    ch.basic_cancel(t2)
    assert not exists_queue(broker.connection, q)


def test_declare_ok_counts_ready_messages_and_consumers(broker, ch):
    q = broker.queue_name()
    ok = ch.queue_declare(q)
    assert (ok.method.message_count, ok.method.consumer_count) == (0, 0)
    for i in range(5):
        ch.basic_publish("", q, str(i).encode())
    # RabbitMQ answers queue.declare ahead of deliveries still in the queue's mailbox (its stat
    # request is prioritised), so the count may lag just-published messages for a moment.
    assert wait_for_count(ch, q, 5) == 5
    ok = ch.queue_declare(q)
    assert (ok.method.message_count, ok.method.consumer_count) == (5, 0)
    # A consumer with prefetch 1 holds one unacked message: message_count counts ready ones.
    consumer_ch = broker.channel()
    consumer_ch.basic_qos(prefetch_count=1)
    got = []
    consumer_ch.basic_consume(q, lambda _c, m, p, b: got.append(b))
    assert pump(broker.connection, lambda: got)
    ok = ch.queue_declare(q, passive=True)
    assert (ok.method.message_count, ok.method.consumer_count) == (4, 1)


def test_bind_and_unbind(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.queue_bind(q, "amq.direct", q + ".key")
    ch.basic_publish("amq.direct", q + ".key", b"bound")
    assert get_all(ch, q) == [b"bound"]
    ch.queue_unbind(q, "amq.direct", q + ".key")
    ch.basic_publish("amq.direct", q + ".key", b"unbound")
    assert get_all(ch, q) == []
    # RabbitMQ: unbinding a binding that does not exist succeeds.
    ch.queue_unbind(q, "amq.direct", "never-bound")


def test_bind_to_missing_queue_or_exchange_is_404(broker, conn):
    q = broker.queue_name()
    e = broker.exchange_name()
    with channel_error(404, "NOT_FOUND - no queue '%s' in vhost '/'" % q):
        conn.channel().queue_bind(q, "amq.direct", "k")
    ch = conn.channel()
    ch.queue_declare(q)
    with channel_error(404, "NOT_FOUND - no exchange '%s' in vhost '/'" % e):
        ch.queue_bind(q, e, "k")


def test_purge_returns_count_and_leaves_unacked(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    for i in range(4):
        ch.basic_publish("", q, str(i).encode())
    holder = broker.channel()
    method, _props, body = holder.basic_get(q)  # "0" is now unacked
    assert body == b"0"
    ok = ch.queue_purge(q)
    assert ok.method.message_count == 3
    assert message_count(ch, q) == 0
    assert ch.queue_purge(q).method.message_count == 0
    # Purge only removes ready messages: the unacked one comes back when its channel closes.
    holder.close()
    assert get_all(ch, q) == [b"0"]


def test_purge_missing_queue_is_404(broker, ch):
    q = broker.queue_name()
    with channel_error(404, "NOT_FOUND - no queue '%s' in vhost '/'" % q):
        ch.queue_purge(q)


def test_delete_returns_message_count(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    for i in range(3):
        ch.basic_publish("", q, b"x")
    assert ch.queue_delete(q).method.message_count == 3
    assert not exists_queue(broker.connection, q)
    # RabbitMQ: deleting a queue that does not exist succeeds, with message_count 0.
    assert ch.queue_delete(q).method.message_count == 0


def test_delete_if_unused_with_consumer_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_consume(q, lambda *a: None)
    with channel_error(406, "PRECONDITION_FAILED - queue '%s' in vhost '/' in use" % q):
        broker.channel().queue_delete(q, if_unused=True)
    assert exists_queue(broker.connection, q)


def test_delete_if_empty_with_messages_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"x")
    with channel_error(406, "PRECONDITION_FAILED - queue '%s' in vhost '/' not empty" % q):
        broker.channel().queue_delete(q, if_empty=True)
    assert message_count(broker.channel(), q) == 1


def test_delete_if_unused_and_if_empty_when_satisfied(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    assert ch.queue_delete(q, if_unused=True, if_empty=True).method.message_count == 0
    assert not exists_queue(broker.connection, q)


def test_delete_removes_bindings(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.queue_bind(q, "amq.fanout")
    ch.queue_delete(q)
    ch.queue_declare(q)  # a new queue with the same name has no bindings
    ch.basic_publish("amq.fanout", "", b"x")
    assert get_all(ch, q) == []


def test_amq_prefixed_queue_name_is_403(broker, ch):
    with channel_error(403, "ACCESS_REFUSED - queue name 'amq.conf-q' contains reserved prefix 'amq.*'"):
        ch.queue_declare("amq.conf-q")


def test_durable_queue_declare_and_delete(broker, ch):
    q = broker.queue_name()
    ok = ch.queue_declare(q, durable=True)
    assert ok.method.queue == q
    ch.basic_publish("", q, b"persistent", pika.BasicProperties(delivery_mode=2))
    assert ch.queue_delete(q).method.message_count == 1
