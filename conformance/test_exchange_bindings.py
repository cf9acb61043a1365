"""Exchange-to-exchange bindings (exchange.bind/unbind) beyond test_exchange.py's basic
cases: the routing key on the way, several paths to one queue, deletion of either end,
auto-delete and if-unused, mandatory returns and errors, as RabbitMQ 3.10 does them."""

import pika
import pytest

from helpers import channel_error, exists_exchange, get_all


def bound_queue(broker, ch, exchange, key=""):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.queue_bind(q, exchange, key)
    return q


def test_destination_routes_with_the_original_key(broker, ch):
    src, dst = broker.exchange_name("src"), broker.exchange_name("dst")
    ch.exchange_declare(src, "topic")
    ch.exchange_declare(dst, "direct")
    ch.exchange_bind(dst, src, "a.*")
    qa, qb = bound_queue(broker, ch, dst, "a.x"), bound_queue(broker, ch, dst, "a.y")
    ch.basic_publish(src, "a.x", b"1")
    ch.basic_publish(src, "a.y", b"2")
    ch.basic_publish(src, "b.x", b"3")
    assert get_all(ch, qa) == [b"1"]
    assert get_all(ch, qb) == [b"2"]


def test_several_paths_to_one_queue_deliver_once(broker, ch):
    src, left, right = (broker.exchange_name(t) for t in ("src", "left", "right"))
    ch.exchange_declare(src, "fanout")
    ch.exchange_declare(left, "fanout")
    ch.exchange_declare(right, "direct")
    ch.exchange_bind(left, src)
    ch.exchange_bind(right, src)
    q = bound_queue(broker, ch, left)
    ch.queue_bind(q, right, "k")
    ch.queue_bind(q, src)
    ch.basic_publish(src, "k", b"once")
    assert get_all(ch, q) == [b"once"]


def test_exchange_bound_to_itself(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "fanout")
    ch.exchange_bind(x, x)
    q = bound_queue(broker, ch, x)
    ch.basic_publish(x, "", b"once")
    assert get_all(ch, q) == [b"once"]


def test_deleting_destination_removes_the_binding(broker, ch):
    src, dst = broker.exchange_name("src"), broker.exchange_name("dst")
    ch.exchange_declare(src, "fanout")
    ch.exchange_declare(dst, "fanout")
    ch.exchange_bind(dst, src)
    q = bound_queue(broker, ch, dst)
    ch.exchange_delete(dst)
    ch.exchange_declare(dst, "fanout")  # a new exchange of the same name is not bound
    ch.queue_bind(q, dst)
    ch.basic_publish(src, "", b"lost")
    assert get_all(ch, q) == []


def test_deleting_destination_deletes_auto_delete_source(broker, ch):
    src, dst = broker.exchange_name("src"), broker.exchange_name("dst")
    ch.exchange_declare(src, "fanout", auto_delete=True)
    ch.exchange_declare(dst, "fanout")
    ch.exchange_bind(dst, src)
    ch.exchange_delete(dst)
    assert not exists_exchange(broker.connection, src)


def test_unbinding_last_exchange_binding_deletes_auto_delete_source(broker, ch):
    src, dst = broker.exchange_name("src"), broker.exchange_name("dst")
    ch.exchange_declare(src, "direct", auto_delete=True)
    ch.exchange_declare(dst, "fanout")
    ch.exchange_bind(dst, src, "a")
    ch.exchange_bind(dst, src, "b")
    ch.exchange_unbind(dst, src, "a")
    assert exists_exchange(broker.connection, src)
    ch.exchange_unbind(dst, src, "b")
    assert not exists_exchange(broker.connection, src)
    assert exists_exchange(broker.connection, dst)


def test_if_unused_counts_only_bindings_from_the_exchange(broker, ch):
    src, dst = broker.exchange_name("src"), broker.exchange_name("dst")
    ch.exchange_declare(src, "fanout")
    ch.exchange_declare(dst, "fanout")
    ch.exchange_bind(dst, src)
    ch.exchange_delete(dst, if_unused=True)  # only a destination: unused
    assert not exists_exchange(broker.connection, dst)
    ch.exchange_declare(dst, "fanout")
    ch.exchange_bind(dst, src)
    with channel_error(406, "PRECONDITION_FAILED - exchange '%s' in vhost '/' in use" % src):
        ch.exchange_delete(src, if_unused=True)


def test_mandatory_through_a_destination_without_queues_is_returned(broker, ch):
    ch.confirm_delivery()
    src, dst = broker.exchange_name("src"), broker.exchange_name("dst")
    ch.exchange_declare(src, "fanout")
    ch.exchange_declare(dst, "fanout")
    ch.exchange_bind(dst, src)
    with pytest.raises(pika.exceptions.UnroutableError):
        ch.basic_publish(src, "k", b"m", mandatory=True)
    q = bound_queue(broker, ch, dst)
    ch.basic_publish(src, "k", b"m", mandatory=True)
    assert get_all(ch, q) == [b"m"]


def test_exchange_bind_to_missing_destination_is_404(broker, ch):
    src = broker.exchange_name("src")
    missing = broker.exchange_name("missing")
    ch.exchange_declare(src, "fanout")
    with channel_error(404, "NOT_FOUND - no exchange '%s' in vhost '/'" % missing):
        ch.exchange_bind(missing, src)


def test_unbind_of_a_binding_that_does_not_exist_is_fine(broker, ch):
    src, dst = broker.exchange_name("src"), broker.exchange_name("dst")
    ch.exchange_declare(src, "direct")
    ch.exchange_declare(dst, "direct")
    ch.exchange_unbind(dst, src, "never-bound")
    assert exists_exchange(broker.connection, src)


def test_binding_from_or_to_the_default_exchange_is_403(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "fanout")
    with channel_error(
        403, "ACCESS_REFUSED - operation not permitted on the default exchange"
    ):
        ch.exchange_bind(x, "")
    ch = broker.channel()
    with channel_error(
        403, "ACCESS_REFUSED - operation not permitted on the default exchange"
    ):
        ch.exchange_bind("", x)
