"""Sender-selected distribution: the CC and BCC headers (arrays of longstr) add routing keys
for the message's exchange; BCC is removed from the delivered message; a CC or BCC that is
not an array is refused, as RabbitMQ 3.10 does it (rabbit_basic:header_routes)."""

import pika
import pytest

from helpers import channel_error, consume, get_all


def declare_queues(broker, ch, exchange, keys):
    queues = {}
    for key in keys:
        q = broker.queue_name(key.replace(".", "-").replace("*", "s"))
        ch.queue_declare(q)
        ch.queue_bind(q, exchange, key)
        queues[key] = q
    return queues


def test_cc_and_bcc_add_routing_keys_on_direct(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct")
    qs = declare_queues(broker, ch, x, ["a", "b", "c", "d"])
    headers = {"CC": ["b"], "BCC": ["c"]}
    ch.basic_publish(x, "a", b"m", pika.BasicProperties(headers=headers))
    for key, expected in [("a", [b"m"]), ("b", [b"m"]), ("c", [b"m"]), ("d", [])]:
        assert get_all(ch, qs[key]) == expected, key


def test_bcc_is_removed_and_cc_kept(broker, conn, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct")
    qs = declare_queues(broker, ch, x, ["a", "b"])
    headers = {"CC": ["b"], "BCC": ["b"], "other": "v"}
    ch.basic_publish(x, "a", b"m", pika.BasicProperties(headers=headers, message_id="id"))
    for key in ("a", "b"):
        [(method, props, body)] = consume(conn, ch, qs[key], 1)
        assert method.routing_key == "a"  # the publish's own key, whichever key matched
        assert props.headers == {"CC": ["b"], "other": "v"}
        assert props.message_id == "id" and body == b"m"


def test_bcc_alone_leaves_an_empty_headers_table(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.basic_publish("", "nowhere", b"m", pika.BasicProperties(headers={"BCC": [q]}))
    [(_m, props, _b)] = consume(conn, ch, q, 1)
    assert props.headers == {}


def test_default_exchange_cc_names_queues(broker, ch):
    q1, q2, q3 = broker.queue_name(), broker.queue_name(), broker.queue_name()
    for q in (q1, q2, q3):
        ch.queue_declare(q)
    ch.basic_publish("", q1, b"m", pika.BasicProperties(headers={"CC": [q2, q1, "missing"]}))
    assert get_all(ch, q1) == [b"m"]  # once, although named twice
    assert get_all(ch, q2) == [b"m"]
    assert get_all(ch, q3) == []


def test_topic_matches_each_key(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "topic")
    qs = declare_queues(broker, ch, x, ["a.*", "*.b", "c.#"])
    ch.basic_publish(x, "a.x", b"m", pika.BasicProperties(headers={"CC": ["y.b"], "BCC": ["c"]}))
    for key in qs:
        assert get_all(ch, qs[key]) == [b"m"], key


def test_fanout_delivers_one_copy_whatever_the_keys(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "fanout")
    q = broker.queue_name()
    ch.queue_declare(q)
    ch.queue_bind(q, x)
    ch.basic_publish(x, "", b"m", pika.BasicProperties(headers={"CC": ["a", "b"]}))
    assert get_all(ch, q) == [b"m"]


def test_non_longstr_elements_are_ignored(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct")
    qs = declare_queues(broker, ch, x, ["a", "b", "1"])
    headers = {"CC": [1, "b", b"a", {"k": "v"}]}
    ch.basic_publish(x, "none", b"m", pika.BasicProperties(headers=headers))
    assert get_all(ch, qs["b"]) == [b"m"]
    assert get_all(ch, qs["a"]) == []
    assert get_all(ch, qs["1"]) == []


def test_lowercase_cc_is_an_ordinary_header(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct")
    qs = declare_queues(broker, ch, x, ["b"])
    ch.basic_publish(x, "a", b"m", pika.BasicProperties(headers={"cc": ["b"], "bcc": "b"}))
    assert get_all(ch, qs["b"]) == []


@pytest.mark.parametrize(
    "header, value, type_name",
    [
        ("CC", "a", "longstr"),
        ("CC", b"a", "binary"),
        ("CC", None, "void"),
        ("CC", {"a": "b"}, "table"),
        ("BCC", 1, "signedint"),
        ("BCC", True, "bool"),
    ],
)
def test_cc_or_bcc_that_is_not_an_array_is_406(broker, ch, header, value, type_name):
    q = broker.queue_name()
    ch.queue_declare(q)
    with channel_error(
        406,
        'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"%s",%s}'
        % (header, type_name),
    ):
        ch.basic_publish("", q, b"m", pika.BasicProperties(headers={header: value}))
        ch.queue_declare(q, passive=True)  # a round trip, to see the channel closed
    ch = broker.channel()
    assert get_all(ch, q) == []


def test_missing_exchange_is_reported_before_a_bad_cc(broker, ch):
    x = broker.exchange_name()
    with channel_error(404, "NOT_FOUND - no exchange '%s' in vhost '/'" % x):
        ch.basic_publish(x, "k", b"m", pika.BasicProperties(headers={"CC": "a"}))
        ch.queue_declare(broker.queue_name(), passive=True)


def test_mandatory_return_when_no_key_routes(broker, ch):
    ch.confirm_delivery()
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct")
    qs = declare_queues(broker, ch, x, ["b"])
    ch.basic_publish(x, "a", b"1", pika.BasicProperties(headers={"CC": ["b"]}), mandatory=True)
    with pytest.raises(pika.exceptions.UnroutableError) as info:
        ch.basic_publish(
            x, "a", b"2", pika.BasicProperties(headers={"CC": ["c"], "BCC": ["d"]}), mandatory=True
        )
    [returned] = info.value.messages
    assert returned.method.routing_key == "a"
    assert returned.properties.headers == {"CC": ["c"]}  # returned without its BCC
    assert get_all(ch, qs["b"]) == [b"1"]


def test_cc_does_not_leak_into_the_next_message(broker, ch):
    # The same exchange and routing key, with and without CC: each is routed on its own.
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct")
    qs = declare_queues(broker, ch, x, ["a", "b"])
    ch.basic_publish(x, "a", b"1")
    ch.basic_publish(x, "a", b"2", pika.BasicProperties(headers={"CC": ["b"]}))
    ch.basic_publish(x, "a", b"3")
    ch.basic_publish(x, "a", b"4", pika.BasicProperties(headers={"x": 1}))
    assert get_all(ch, qs["a"]) == [b"1", b"2", b"3", b"4"]
    assert get_all(ch, qs["b"]) == [b"2"]


def test_cc_in_a_transaction(broker, ch):
    x = broker.exchange_name()
    ch.exchange_declare(x, "direct")
    qs = declare_queues(broker, ch, x, ["a", "b"])
    ch.tx_select()
    ch.basic_publish(x, "a", b"m", pika.BasicProperties(headers={"BCC": ["b"]}))
    assert get_all(ch, qs["b"]) == []
    ch.tx_commit()
    assert get_all(ch, qs["a"]) == [b"m"]
    assert get_all(ch, qs["b"]) == [b"m"]


def test_cc_keys_follow_exchange_bindings_and_alternates(broker, ch):
    # Every exchange on the way routes with all the keys.
    x, dest, ae = broker.exchange_name(), broker.exchange_name("dest"), broker.exchange_name("ae")
    ch.exchange_declare(ae, "direct")
    ch.exchange_declare(dest, "direct")
    ch.exchange_declare(x, "direct", arguments={"alternate-exchange": ae})
    ch.exchange_bind(dest, x, "to-dest")
    q_dest = declare_queues(broker, ch, dest, ["d"])["d"]
    q_ae = declare_queues(broker, ch, ae, ["e"])["e"]
    ch.basic_publish(x, "to-dest", b"1", pika.BasicProperties(headers={"CC": ["d", "e"]}))
    ch.basic_publish(x, "unbound", b"2", pika.BasicProperties(headers={"BCC": ["e"]}))
    assert get_all(ch, q_dest) == [b"1"]
    assert get_all(ch, q_ae) == [b"2"]  # 1 matched a binding of x, so x's alternate was not used


def test_headers_exchange_sees_cc_but_not_bcc(broker, ch):
    # BCC is removed before routing, so a headers exchange cannot match on it.
    x = broker.exchange_name()
    ch.exchange_declare(x, "headers")
    q_cc, q_bcc = broker.queue_name("cc"), broker.queue_name("bcc")
    for q, key in ((q_cc, "CC"), (q_bcc, "BCC")):
        ch.queue_declare(q)
        ch.queue_bind(q, x, "", arguments={"x-match": "any", key: None})
    ch.basic_publish(x, "", b"m", pika.BasicProperties(headers={"CC": ["a"], "BCC": ["b"]}))
    assert get_all(ch, q_cc) == [b"m"]
    assert get_all(ch, q_bcc) == []
