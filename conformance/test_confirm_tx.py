"""Publisher confirms (confirm.select, basic.ack/nack from the broker) and transactions
(tx.select, tx.commit, tx.rollback)."""

import pika

from helpers import Confirms, channel_error, get_all, message_count, pump, wait_for_count


def test_confirm_select_acks_every_publish(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    confirms = Confirms(ch)
    for i in range(100):
        assert confirms.publish("", q, str(i).encode()) == i + 1
    assert confirms.wait_all()
    assert confirms.acked == set(range(1, 101))
    assert confirms.nacked == set()
    # every ack names a tag that was published, in increasing order
    tags = [tag for kind, tag, _ in confirms.events if kind == "ack"]
    assert tags == sorted(tags) and tags[-1] == 100
    assert get_all(ch, q) == [str(i).encode() for i in range(100)]


def test_blocking_confirm_mode(broker, ch):
    # pika's BlockingChannel waits for each confirm; unroutable mandatory publishes raise.
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"confirmed")
    try:
        ch.basic_publish("", q + "-nowhere", b"unroutable", mandatory=True)
        raise AssertionError("expected UnroutableError")
    except pika.exceptions.UnroutableError as e:
        assert len(e.messages) == 1 and e.messages[0].body == b"unroutable"
    assert get_all(ch, q) == [b"confirmed"]


def test_confirms_for_unroutable_messages(broker, conn, ch):
    # Unroutable messages are still acked; a mandatory one is returned first (basic.return
    # arrives before its basic.ack).
    confirms = Confirms(ch)
    confirms.publish("", broker.queue_name(), b"mandatory", mandatory=True)
    confirms.publish("amq.direct", "no-binding", b"not mandatory")
    assert confirms.wait_all()
    assert confirms.acked == {1, 2}
    kinds = [e[0] for e in confirms.events]
    assert confirms.events[0] == ("return", 312, b"mandatory")
    assert kinds.count("return") == 1 and kinds.index("return") < kinds.index("ack")


def test_confirm_tags_continue_after_select_again(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    confirms = Confirms(ch)
    confirms.publish("", q, b"1")
    assert confirms.wait_all()
    # a second confirm.select on a confirm channel is fine and does not reset the counter
    selected = []
    ch._impl._rpc(pika.spec.Confirm.Select(), lambda f: selected.append(f), [pika.spec.Confirm.SelectOk])
    assert pump(broker.connection, lambda: selected)
    confirms.publish("", q, b"2")
    assert confirms.wait_all()
    assert confirms.acked == {1, 2}


def test_tx_commit_delivers(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    observer = conn.channel()
    ch.tx_select()
    for body in (b"a", b"b", b"c"):
        ch.basic_publish("", q, body)
    # not visible before commit (the synchronous tx.select-ok/declare round trips show the
    # publishes have been read)
    assert message_count(observer, q) == 0
    assert observer.basic_get(q)[0] is None
    ch.tx_commit()
    assert wait_for_count(observer, q, 3) == 3
    assert get_all(observer, q) == [b"a", b"b", b"c"]


def test_tx_rollback_discards(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.tx_select()
    ch.basic_publish("", q, b"discarded")
    ch.tx_rollback()
    ch.basic_publish("", q, b"kept")
    ch.tx_commit()
    assert get_all(conn.channel(), q) == [b"kept"]


def test_tx_acks_apply_on_commit_only(broker, conn):
    q = broker.queue_name()
    ch = conn.channel()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"A")
    ch.basic_publish("", q, b"B")
    ch.tx_select()
    ta = ch.basic_get(q)[0].delivery_tag
    tb = ch.basic_get(q)[0].delivery_tag
    ch.basic_ack(ta)
    ch.tx_rollback()  # the ack of A is discarded; A stays unacked
    ch.basic_ack(tb)
    ch.tx_commit()  # B is acked
    ch.close()  # A comes back
    observer = conn.channel()
    method, _props, body = observer.basic_get(q, auto_ack=True)
    assert (body, method.redelivered) == (b"A", True)
    assert observer.basic_get(q)[0] is None


def test_tx_commit_without_select_is_406(broker, ch):
    with channel_error(406, "PRECONDITION_FAILED - channel is not transactional"):
        ch.tx_commit()


def test_tx_rollback_without_select_is_406(broker, ch):
    with channel_error(406, "PRECONDITION_FAILED - channel is not transactional"):
        ch.tx_rollback()


def test_confirm_and_tx_do_not_mix(broker, conn):
    a = conn.channel()
    a.confirm_delivery()
    with channel_error(406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode"):
        a.tx_select()
    b = conn.channel()
    b.tx_select()
    with channel_error(406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode"):
        b.confirm_delivery()
