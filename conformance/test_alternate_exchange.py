"""Alternate exchanges (the alternate-exchange argument of exchange.declare): where messages
go that an exchange's bindings do not match, chains and cycles of alternates, alternates
resolved by name when a message is routed, mandatory returns, and the argument's checks, as
RabbitMQ 3.10 does them (rabbit_exchange:route)."""

import pika
import pytest

from helpers import channel_error, get_all

AE = "alternate-exchange"


def declare_queue_on(broker, ch, exchange, key=""):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.queue_bind(q, exchange, key)
    return q


def publish_mandatory(ch, exchange, key, body=b"m", properties=None):
    """Publishes with mandatory set on a confirm-mode channel: False if the broker returned
    the message (basic.return comes before the confirm), True if it was routed."""
    try:
        ch.basic_publish(exchange, key, body, properties, mandatory=True)
        return True
    except pika.exceptions.UnroutableError:
        return False


@pytest.fixture
def cch(broker):
    """A channel in confirm mode, so that publishes wait for the broker's verdict."""
    ch = broker.channel()
    ch.confirm_delivery()
    return ch


def test_unmatched_message_goes_to_alternate(broker, cch):
    x, ae = broker.exchange_name(), broker.exchange_name("ae")
    cch.exchange_declare(ae, "fanout")
    cch.exchange_declare(x, "direct", arguments={AE: ae})
    routed = declare_queue_on(broker, cch, x, "k")
    unrouted = declare_queue_on(broker, cch, ae)
    assert publish_mandatory(cch, x, "k", b"matched")
    assert publish_mandatory(cch, x, "other", b"unmatched")
    assert get_all(cch, routed) == [b"matched"]
    assert get_all(cch, unrouted) == [b"unmatched"]


def test_alternate_routes_with_the_original_routing_key(broker, cch):
    x, ae = broker.exchange_name(), broker.exchange_name("ae")
    cch.exchange_declare(ae, "topic")
    cch.exchange_declare(x, "direct", arguments={AE: ae})
    q = declare_queue_on(broker, cch, ae, "a.*")
    assert publish_mandatory(cch, x, "a.b", b"1")
    assert not publish_mandatory(cch, x, "b.c", b"2")  # the alternate matches nothing either
    assert get_all(cch, q) == [b"1"]


def test_alternate_declared_later_and_deleted(broker, cch):
    x, ae = broker.exchange_name(), broker.exchange_name("ae")
    cch.exchange_declare(x, "direct", arguments={AE: ae})
    # A missing alternate exchange: the message is dropped (returned if mandatory).
    assert not publish_mandatory(cch, x, "k", b"before")
    cch.exchange_declare(ae, "fanout")
    q = declare_queue_on(broker, cch, ae)
    assert publish_mandatory(cch, x, "k", b"while")
    cch.exchange_delete(ae)
    assert not publish_mandatory(cch, x, "k", b"after")
    assert get_all(cch, q) == [b"while"]


def test_chain_of_alternates(broker, cch):
    x1, x2, x3 = (broker.exchange_name(t) for t in ("x1", "x2", "x3"))
    cch.exchange_declare(x3, "fanout")
    cch.exchange_declare(x2, "direct", arguments={AE: x3})
    cch.exchange_declare(x1, "direct", arguments={AE: x2})
    q2 = declare_queue_on(broker, cch, x2, "two")
    q3 = declare_queue_on(broker, cch, x3)
    assert publish_mandatory(cch, x1, "two", b"a")
    assert publish_mandatory(cch, x1, "three", b"b")
    assert get_all(cch, q2) == [b"a"]
    assert get_all(cch, q3) == [b"b"]


def test_cycle_of_alternates_ends(broker, cch):
    x1, x2 = broker.exchange_name("x1"), broker.exchange_name("x2")
    cch.exchange_declare(x1, "direct", arguments={AE: x2})
    cch.exchange_declare(x2, "direct", arguments={AE: x1})
    q = declare_queue_on(broker, cch, x2, "k")
    assert not publish_mandatory(cch, x1, "none", b"lost")
    assert publish_mandatory(cch, x1, "k", b"found")
    assert get_all(cch, q) == [b"found"]


def test_exchange_as_its_own_alternate(broker, cch):
    x = broker.exchange_name()
    cch.exchange_declare(x, "direct", arguments={AE: x})
    assert not publish_mandatory(cch, x, "k")


def test_returned_message_is_the_original(broker, cch):
    x = broker.exchange_name()
    cch.exchange_declare(x, "direct", arguments={AE: broker.exchange_name("missing")})
    with pytest.raises(pika.exceptions.UnroutableError) as info:
        cch.basic_publish(x, "k", b"back", pika.BasicProperties(message_id="id1"), mandatory=True)
    [returned] = info.value.messages
    method = returned.method
    assert (method.reply_code, method.reply_text, method.exchange, method.routing_key) == (
        312,
        "NO_ROUTE",
        x,
        "k",
    )
    assert (returned.properties.message_id, returned.body) == ("id1", b"back")


def test_exchange_binding_match_counts_as_routed(broker, cch):
    # rabbit_exchange:route uses the alternate only when the exchange's own bindings match
    # no destination at all: a match to an exchange that routes nowhere is still a match.
    x, dest, ae = broker.exchange_name(), broker.exchange_name("dest"), broker.exchange_name("ae")
    cch.exchange_declare(ae, "fanout")
    cch.exchange_declare(dest, "direct")
    cch.exchange_declare(x, "direct", arguments={AE: ae})
    cch.exchange_bind(dest, x, "k")
    q = declare_queue_on(broker, cch, ae)
    assert not publish_mandatory(cch, x, "k", b"to-dest")  # dest routes nowhere
    assert publish_mandatory(cch, x, "other", b"to-ae")
    assert get_all(cch, q) == [b"to-ae"]


def test_alternate_of_an_exchange_reached_by_binding(broker, cch):
    # Every exchange on the way uses its own alternate.
    x, dest, ae = broker.exchange_name(), broker.exchange_name("dest"), broker.exchange_name("ae")
    cch.exchange_declare(ae, "fanout")
    cch.exchange_declare(dest, "direct", arguments={AE: ae})
    cch.exchange_declare(x, "fanout")
    cch.exchange_bind(dest, x)
    q = declare_queue_on(broker, cch, ae)
    assert publish_mandatory(cch, x, "any", b"m")
    assert get_all(cch, q) == [b"m"]


def test_internal_exchange_as_alternate(broker, cch):
    x, ae = broker.exchange_name(), broker.exchange_name("ae")
    cch.exchange_declare(ae, "fanout", internal=True)
    cch.exchange_declare(x, "direct", arguments={AE: ae})
    q = declare_queue_on(broker, cch, ae)
    assert publish_mandatory(cch, x, "k", b"m")
    assert get_all(cch, q) == [b"m"]


def test_queue_reached_twice_gets_one_copy(broker, cch):
    x, ae = broker.exchange_name(), broker.exchange_name("ae")
    cch.exchange_declare(ae, "fanout")
    cch.exchange_declare(x, "fanout", arguments={AE: ae})
    q = declare_queue_on(broker, cch, ae)
    cch.exchange_bind(ae, x)
    assert publish_mandatory(cch, x, "k", b"once")
    assert get_all(cch, q) == [b"once"]


@pytest.mark.parametrize("value, type_name", [(1, "signedint"), (b"ae", "binary"), (True, "bool")])
def test_alternate_of_wrong_type_is_406(broker, ch, value, type_name):
    x = broker.exchange_name()
    with channel_error(
        406,
        "PRECONDITION_FAILED - invalid type '%s' for arg 'alternate-exchange' in exchange '%s' "
        "in vhost '/'" % (type_name, x),
    ):
        ch.exchange_declare(x, "direct", arguments={AE: value})


def test_redeclare_with_other_alternate_is_406(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct", arguments={AE: "ae1"})
    ch.exchange_declare(x, "direct", arguments={AE: "ae1", "other": 1})  # only AE counts
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '%s' in vhost "
        "'/': received 'ae2' but current is 'ae1'" % x,
    ):
        ch.exchange_declare(x, "direct", arguments={AE: "ae2"})
    ch = broker.channel()
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '%s' in vhost "
        "'/': received none but current is the value 'ae1' of type 'longstr'" % x,
    ):
        ch.exchange_declare(x, "direct")


def test_redeclare_adding_alternate_is_406(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct")
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '%s' in vhost "
        "'/': received the value 'ae1' of type 'longstr' but current is none" % x,
    ):
        ch.exchange_declare(x, "direct", arguments={AE: "ae1"})


def test_passive_declare_ignores_alternate(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct")
    ch.exchange_declare(x, "direct", passive=True, arguments={AE: 1})
