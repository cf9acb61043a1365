"""Direct reply-to: the pseudo-queue amq.rabbitmq.reply-to, as RabbitMQ 3.10 implements it."""

import base64

import pika

import rawamqp

from helpers import channel_error, pump, settle

PSEUDO = "amq.rabbitmq.reply-to"


class Client:
    """An RPC client: a channel consuming its replies from the pseudo-queue."""

    def __init__(self, conn):
        self.conn = conn
        self.ch = conn.channel()
        self.replies = []
        self.tag = self.ch.basic_consume(
            PSEUDO, lambda _c, m, p, b: self.replies.append((m, p, b)), auto_ack=True
        )

    def request(self, q, body=b"request", **props):
        """Publishes to q with reply_to = the pseudo-queue; returns the request as q holds it
        (method, properties, body)."""
        self.ch.basic_publish("", q, body, pika.BasicProperties(reply_to=PSEUDO, **props))
        return get_one(self.ch, q)

    def wait_replies(self, count):
        assert pump(self.conn, lambda: len(self.replies) >= count), self.replies
        settle(self.conn, 0.2)
        assert len(self.replies) == count, self.replies


def get_one(ch, q):
    """The next message of q (waiting for it, bounded)."""
    got = []
    assert pump(ch.connection, lambda: got.append(ch.basic_get(q, auto_ack=True)) or got[-1][0])
    return got[-1]


def test_request_carries_an_address_and_the_reply_comes_back(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    client = Client(conn)
    _, props, body = client.request(q, b"ping", correlation_id="c-1", headers={"h": 1})
    assert body == b"ping"
    address = props.reply_to
    assert address.startswith(PSEUDO + ".")
    # Nothing else of the request changes.
    assert props.correlation_id == "c-1" and props.headers == {"h": 1}
    # The server answers from a connection of its own.
    server = broker.connect().channel()
    server.basic_publish("", address, b"pong", pika.BasicProperties(correlation_id="c-1"))
    client.wait_replies(1)
    method, reply_props, reply_body = client.replies[0]
    assert reply_body == b"pong"
    assert reply_props.correlation_id == "c-1"
    assert method.consumer_tag == client.tag
    assert (method.exchange, method.routing_key, method.redelivered) == ("", address, False)


def test_address_has_an_id_and_a_16_byte_random_key(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    addresses = []
    for c in (conn, conn, broker.connect()):
        addresses.append(Client(c).request(q)[1].reply_to)
    assert len(set(addresses)) == 3
    for address in addresses:
        ident, key = address[len(PSEUDO) + 1 :].split(".")
        assert ident
        assert len(base64.b64decode(key, validate=True)) == 16


def test_reply_reaches_only_the_addressed_channel(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    alice = Client(conn)
    bob = Client(conn)
    address = alice.request(q)[1].reply_to
    ch.basic_publish("", address, b"for alice")
    alice.wait_replies(1)
    assert bob.replies == []


def test_same_channel_keeps_its_address(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    client = Client(conn)
    assert client.request(q)[1].reply_to == client.request(q)[1].reply_to


def test_other_reply_to_values_are_left_alone(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    for value in ("my-replies", PSEUDO + ".x", PSEUDO + "-x"):
        ch.basic_publish("", q, b"m", pika.BasicProperties(reply_to=value))
        assert get_one(ch, q)[1].reply_to == value


def test_consume_in_ack_mode_is_406(broker, ch):
    with channel_error(406, "PRECONDITION_FAILED - reply consumer cannot acknowledge"):
        ch.basic_consume(PSEUDO, lambda *a: None, auto_ack=False)


def test_second_reply_consumer_on_a_channel_is_406(broker, conn):
    client = Client(conn)
    with channel_error(406, "PRECONDITION_FAILED - reply consumer already set"):
        client.ch.basic_consume(PSEUDO, lambda *a: None, auto_ack=True)


def test_reply_consumers_on_two_channels_are_fine(broker, conn):
    Client(conn)
    Client(conn)


def test_request_without_a_reply_consumer_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    with channel_error(406, "PRECONDITION_FAILED - fast reply consumer does not exist"):
        ch.basic_publish("", q, b"m", pika.BasicProperties(reply_to=PSEUDO))
        ch.queue_declare(q, passive=True)  # a round trip, so that the error arrives


def test_missing_exchange_is_reported_before_the_missing_reply_consumer(broker, ch):
    x = broker.exchange_name()
    with channel_error(404, "NOT_FOUND - no exchange '%s' in vhost '/'" % x):
        ch.basic_publish(x, "rk", b"m", pika.BasicProperties(reply_to=PSEUDO))
        ch.queue_declare("", exclusive=True)


def test_cancelled_reply_consumer_stops_replies_and_requests(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    client = Client(conn)
    address = client.request(q)[1].reply_to
    client.ch.basic_cancel(client.tag)
    ch.basic_publish("", address, b"late")
    settle(conn, 0.3)
    assert client.replies == []
    with channel_error(406, "PRECONDITION_FAILED - fast reply consumer does not exist"):
        client.ch.basic_publish("", q, b"m", pika.BasicProperties(reply_to=PSEUDO))
        client.ch.queue_declare(q, passive=True)


def test_consume_again_after_cancel_gives_a_new_address(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    client = Client(conn)
    first = client.request(q)[1].reply_to
    client.ch.basic_cancel(client.tag)
    client.ch.basic_consume(PSEUDO, lambda *a: None, auto_ack=True)
    assert client.request(q)[1].reply_to != first


def test_mandatory_reply_is_delivered_and_still_returned(broker, conn, ch):
    # RabbitMQ routes a reply to no queue, so a mandatory one comes back as unroutable even
    # though the consumer got it.
    q = broker.queue_name()
    ch.queue_declare(q)
    client = Client(conn)
    address = client.request(q)[1].reply_to
    returned = []
    ch.add_on_return_callback(lambda _c, m, _p, b: returned.append((m.reply_code, m.reply_text, b)))
    ch.basic_publish("", address, b"reply", mandatory=True)
    client.wait_replies(1)
    assert pump(conn, lambda: returned)
    assert returned == [(312, "NO_ROUTE", b"reply")]


def test_reply_to_a_gone_consumer_is_dropped_or_returned(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    other = broker.connect()
    client = Client(other)
    address = client.request(q)[1].reply_to
    other.close()
    returned = []
    ch.add_on_return_callback(lambda _c, m, _p, b: returned.append((m.reply_code, b)))
    ch.basic_publish("", address, b"dropped")
    ch.basic_publish("", address, b"returned", mandatory=True)
    assert pump(conn, lambda: returned)
    settle(conn, 0.2)
    assert returned == [(312, b"returned")]


def test_reply_through_another_exchange_is_routed_normally(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    client = Client(conn)
    address = client.request(q)[1].reply_to
    returned = []
    ch.add_on_return_callback(lambda _c, m, _p, b: returned.append(b))
    ch.basic_publish("amq.direct", address, b"not a reply", mandatory=True)
    assert pump(conn, lambda: returned)
    assert client.replies == []


def test_replies_reuse_the_next_delivery_tag(broker, conn, ch):
    # RabbitMQ gives a reply the channel's next delivery tag without using it up: replies are
    # never acknowledged.
    q = broker.queue_name()
    ch.queue_declare(q)
    client = Client(conn)
    address = client.request(q)[1].reply_to  # basic.get took delivery tag 1
    ch.basic_publish("", address, b"r1")
    ch.basic_publish("", address, b"r2")
    client.wait_replies(2)
    assert [m.delivery_tag for m, _, _ in client.replies] == [2, 2]
    client.ch.basic_publish("", q, b"m")
    assert get_one(client.ch, q)[0].delivery_tag == 2


def test_declare_of_the_pseudo_queue_answers_as_if_it_existed(broker, ch):
    for passive in (True, False):
        ok = ch.queue_declare(PSEUDO, passive=passive).method
        assert (ok.queue, ok.message_count, ok.consumer_count) == (PSEUDO, 0, 1)


def test_declare_of_a_live_address_succeeds_from_any_connection(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    address = Client(conn).request(q)[1].reply_to
    other = broker.connect().channel()
    for passive in (True, False):
        ok = other.queue_declare(address, passive=passive).method
        assert (ok.queue, ok.message_count, ok.consumer_count) == (address, 0, 1)


def test_declare_of_a_dead_or_unknown_address_is_404(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    client = Client(conn)
    address = client.request(q)[1].reply_to
    client.ch.basic_cancel(client.tag)
    for name in (address, PSEUDO + ".nonsense", PSEUDO + "X"):
        with channel_error(404, "NOT_FOUND - no queue '%s' in vhost '/'" % name):
            conn.channel().queue_declare(name, passive=True)


def test_basic_get_from_the_pseudo_queue_is_404(broker, ch):
    with channel_error(404, "NOT_FOUND - no queue '%s' in vhost '/'" % PSEUDO):
        ch.basic_get(PSEUDO)


def test_reply_consumer_cannot_reuse_a_consumer_tag(amqp_url):
    # pika refuses a duplicate tag itself, so this is raw.
    with rawamqp.RawConnection(amqp_url) as c:
        c.handshake()
        c.open_channel(1)
        q = c.declare_queue(1, "")
        consume = rawamqp.basic_consume_args(q, "taken")
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_CONSUME, consume))
        c.expect_method(rawamqp.BASIC_CONSUME_OK, channel=1)
        consume = rawamqp.basic_consume_args(PSEUDO, "taken", no_ack=True)
        c.send(rawamqp.method_frame(1, rawamqp.BASIC_CONSUME, consume))
        close = c.expect_connection_close()  # 530 is a connection error
        assert (close.reply_code, close.reply_text) == (
            530,
            "NOT_ALLOWED - attempt to reuse consumer tag 'taken'",
        )
