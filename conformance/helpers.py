"""Small helpers the conformance tests share: bounded pika parameters, per-test access to the
broker, bounded event loops, and assertions on the errors a broker reports."""

import base64
import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid

import pika
import pytest

# Every pika connection gets these unless a test overrides them.
SOCKET_TIMEOUT = 5.0
BLOCKED_CONNECTION_TIMEOUT = 10.0
# How long a test waits for something it expects to arrive.
WAIT = 5.0


def parameters(url, **overrides):
    """pika ConnectionParameters for url with bounded timeouts and a single connection attempt."""
    params = pika.URLParameters(url)
    params.socket_timeout = SOCKET_TIMEOUT
    params.stack_timeout = SOCKET_TIMEOUT * 2
    params.blocked_connection_timeout = BLOCKED_CONNECTION_TIMEOUT
    params.connection_attempts = 1
    params.retry_delay = 0
    for key, value in overrides.items():
        setattr(params, key, value)
    return params


class Management:
    """A client of a broker's management HTTP API (urllib, bounded by SOCKET_TIMEOUT)."""

    def __init__(self, url, user="guest", password="guest"):
        self.url = url.rstrip("/")
        self.user = user
        self.password = password

    def request(self, method, path, body=None, auth=True, user=None, password=None, headers=None):
        """Sends `method` to `path` (e.g. "/api/policies/%2F/p") with `body` as JSON if given,
        with Basic credentials (this client's, or user/password) unless auth is False, and any
        other `headers`.
        Returns (status, headers, body) with the body decoded from JSON when it is JSON, the
        raw text when not, and None when empty. HTTP errors are returned, not raised."""
        data = None
        headers = dict(headers or {})
        if body is not None:
            data = (body if isinstance(body, (bytes, str)) else json.dumps(body))
            data = data.encode() if isinstance(data, str) else data
            headers["Content-Type"] = "application/json"
        if auth:
            pair = "%s:%s" % (user or self.user, self.password if password is None else password)
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=SOCKET_TIMEOUT) as resp:
                status, resp_headers, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, resp_headers, raw = e.code, e.headers, e.read()
        if not raw:
            return status, resp_headers, None
        try:
            return status, resp_headers, json.loads(raw)
        except ValueError:
            return status, resp_headers, raw.decode(errors="replace")

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def put(self, path, body, **kwargs):
        return self.request("PUT", path, body=body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


class Broker:
    """Per-test access to the broker: bounded connections and unique names, all cleaned up."""

    def __init__(self, url, test_name):
        self.url = url
        self.test_name = test_name
        self._connections = []
        self._queues = []
        self._exchanges = []
        self._default = None

    def connect(self, **overrides):
        """A new BlockingConnection with bounded timeouts; ConnectionParameters fields can be
        overridden (heartbeat, frame_max, channel_max, credentials, virtual_host ...)."""
        conn = pika.BlockingConnection(parameters(self.url, **overrides))
        self._connections.append(conn)
        return conn

    @property
    def connection(self):
        """The test's default connection (opened on first use, reopened if it was closed)."""
        if self._default is None or not self._default.is_open:
            self._default = self.connect()
        return self._default

    def channel(self):
        """A new channel on the default connection."""
        return self.connection.channel()

    def queue_name(self, tag="q"):
        """A unique queue name, deleted at the end of the test if it still exists."""
        name = "conf-%s-%s-%s" % (self.test_name[:40], tag, uuid.uuid4().hex[:10])
        self._queues.append(name)
        return name

    def exchange_name(self, tag="x"):
        """A unique exchange name, deleted at the end of the test if it still exists."""
        name = "conf-%s-%s-%s" % (self.test_name[:40], tag, uuid.uuid4().hex[:10])
        self._exchanges.append(name)
        return name

    def drop_connections(self):
        """Closes the test's connections, whatever state they are in, and forgets them: after a
        broker restart they are dead. The next use of `connection` opens a fresh one."""
        for conn in self._connections:
            if conn.is_open:
                try:
                    conn.close()
                except Exception:
                    pass
        self._connections = []
        self._default = None

    def close(self):
        self.drop_connections()
        if not (self._queues or self._exchanges):
            return
        conn = pika.BlockingConnection(parameters(self.url))
        try:
            ch = conn.channel()
            for name in self._queues:
                ch = self._delete(conn, ch, lambda c: c.queue_delete(name))
            for name in self._exchanges:
                ch = self._delete(conn, ch, lambda c: c.exchange_delete(name))
        finally:
            if conn.is_open:
                conn.close()

    @staticmethod
    def _delete(conn, ch, op):
        # Deleting something that does not exist is fine in RabbitMQ; whatever the broker says,
        # cleanup goes on, on a fresh channel if this one was closed.
        try:
            op(ch)
        except pika.exceptions.AMQPChannelError:
            pass
        return ch if ch.is_open else conn.channel()


def pump(conn, until=None, timeout=WAIT):
    """Processes connection events until until() is true or timeout seconds pass.
    Returns whether until() became true (always False without a predicate)."""
    deadline = time.monotonic() + timeout
    while True:
        if until is not None and until():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        conn.process_data_events(time_limit=min(0.05, remaining))


def settle(conn, seconds=0.3):
    """Processes events for a fixed time: used to show that something does NOT arrive."""
    pump(conn, None, seconds)


def consume(conn, ch, queue, count, auto_ack=True, timeout=WAIT, **kwargs):
    """Starts a consumer on queue, waits for count deliveries (bounded), cancels the consumer and
    returns [(method, properties, body)]. Fails the test if fewer arrive."""
    got = []
    tag = ch.basic_consume(
        queue, lambda _ch, m, p, b: got.append((m, p, b)), auto_ack=auto_ack, **kwargs
    )
    pump(conn, lambda: len(got) >= count, timeout)
    ch.basic_cancel(tag)
    assert len(got) >= count, "expected %d deliveries from %s, got %d" % (count, queue, len(got))
    return got


class Recorder:
    """Consumers on channels of one connection, recording what reaches them in arrival order
    (within a channel; pika hands over each channel's deliveries in turn) as
    (consumer tag, body text, redelivered)."""

    def __init__(self, conn):
        self.conn = conn
        self.got = []

    def on_message(self, _ch, method, _props, body):
        self.got.append((method.consumer_tag, body.decode(), method.redelivered))

    def consume(self, ch, queue, tag, auto_ack=True, **kwargs):
        """basic.consume on ch with the given tag; kwargs go to pika (arguments, exclusive)."""
        return ch.basic_consume(
            queue, self.on_message, consumer_tag=tag, auto_ack=auto_ack, **kwargs
        )

    def wait(self, count, timeout=WAIT):
        """Waits (bounded) until count deliveries in all have arrived, and checks that no more
        do."""
        assert pump(self.conn, lambda: len(self.got) >= count, timeout), self.got
        settle(self.conn, 0.2)
        assert len(self.got) == count, self.got

    def bodies(self, tag):
        """The bodies that reached consumer `tag`, in order."""
        return [body for t, body, _ in self.got if t == tag]

    def tags(self):
        return [t for t, _, _ in self.got]


def bodies(deliveries):
    return [b for (_m, _p, b) in deliveries]


def get_all(ch, queue, limit=10000):
    """Takes every ready message from queue with basic.get (auto-ack) and returns their bodies."""
    out = []
    while len(out) < limit:
        method, _props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append(body)
    return out


def message_count(ch, queue):
    return ch.queue_declare(queue, passive=True).method.message_count


def wait_for_count(ch, queue, count, timeout=WAIT):
    """Polls (bounded) until queue holds exactly `count` ready messages; returns the last count.
    Needed when messages were published on other channels or connections, which the broker may
    route concurrently with this channel's requests."""
    deadline = time.monotonic() + timeout
    while True:
        n = message_count(ch, queue)
        if n == count or time.monotonic() > deadline:
            return n
        time.sleep(0.02)


def consumer_count(ch, queue):
    return ch.queue_declare(queue, passive=True).method.consumer_count


def shortstr_text(text):
    """A reply text as it fits in a shortstr: RabbitMQ cuts longer texts to 252 bytes and
    appends "..." (255 in all)."""
    raw = text.encode()
    if len(raw) <= 255:
        return text
    return raw[:252].decode(errors="ignore") + "..."


@contextlib.contextmanager
def channel_error(code, text=None, text_prefix=None):
    """Expects the block to end with the broker closing the channel with reply code `code`
    (and exactly `text`, or text starting with `text_prefix`, if given)."""
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        yield info
    assert info.value.reply_code == code, info.value
    if text is not None:
        assert info.value.reply_text == text, info.value
    if text_prefix is not None:
        assert info.value.reply_text.startswith(text_prefix), info.value.reply_text


@contextlib.contextmanager
def connection_error(code, text=None, text_prefix=None):
    """Expects the block to end with the broker closing the connection with reply code `code`."""
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
        yield info
    assert info.value.reply_code == code, info.value
    if text is not None:
        assert info.value.reply_text == text, info.value
    if text_prefix is not None:
        assert info.value.reply_text.startswith(text_prefix), info.value.reply_text


def exists_queue(conn, queue):
    """Whether queue exists, asked with a passive declare on a channel of its own."""
    ch = conn.channel()
    try:
        ch.queue_declare(queue, passive=True)
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == 404, e
        return False
    ch.close()
    return True


def exists_exchange(conn, exchange):
    """Whether exchange exists, asked with a passive declare on a channel of its own."""
    ch = conn.channel()
    try:
        ch.exchange_declare(exchange, passive=True)
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == 404, e
        return False
    ch.close()
    return True


class Confirms:
    """Publisher confirms observed asynchronously, so that the broker is free to ack several
    publishes with one basic.ack(multiple=True). Uses pika's underlying channel, because
    BlockingChannel's confirm mode waits for each ack before the next publish."""

    def __init__(self, ch):
        self.impl = ch._impl
        self.acked = set()
        self.nacked = set()
        self.multiple_seen = False
        self.returns = []
        self.events = []  # ("return", ...) and ("ack"/"nack", tag, multiple) in arrival order
        self.published = 0
        selected = []
        self.impl.add_on_return_callback(self._on_return)
        self.impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=selected.append)
        self._conn = ch.connection
        assert pump(self._conn, lambda: selected), "no confirm.select-ok"

    def _on_return(self, _ch, method, props, body):
        self.returns.append((method, props, body))
        self.events.append(("return", method.reply_code, body))

    def _on_confirm(self, frame):
        m = frame.method
        target = self.acked if isinstance(m, pika.spec.Basic.Ack) else self.nacked
        kind = "ack" if target is self.acked else "nack"
        self.events.append((kind, m.delivery_tag, m.multiple))
        if m.multiple:
            self.multiple_seen = True
            # delivery_tag 0 with multiple means "everything so far"
            upto = m.delivery_tag or self.published
            for tag in range(1, upto + 1):
                if tag not in self.acked and tag not in self.nacked:
                    target.add(tag)
        else:
            target.add(m.delivery_tag)

    def publish(self, exchange, routing_key, body, properties=None, mandatory=False):
        self.impl.basic_publish(exchange, routing_key, body, properties, mandatory)
        self.published += 1
        return self.published

    def wait_all(self, timeout=WAIT * 2):
        """Waits (bounded) until every publish so far is acked or nacked."""
        return pump(self._conn, lambda: len(self.acked) + len(self.nacked) >= self.published, timeout)


def confirming_channel(broker):
    """A new channel in confirm mode. Its basic_publish returns once the queues have the message
    (and raises pika's NackError if one refused it), so that what follows on the channel sees
    the message queued: RabbitMQ answers a passive queue.declare ahead of publishes still on
    their way to the queue, and a quorum queue takes a message only once it is committed."""
    ch = broker.channel()
    ch.confirm_delivery()
    return ch


def get_one(ch, queue, auto_ack=True, timeout=WAIT):
    """basic.get polled until a message arrives (bounded), for messages that reach the queue
    asynchronously (dead letters, returns to a quorum queue); returns (method, properties,
    body) or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        got = ch.basic_get(queue, auto_ack=auto_ack)
        if got[0] is not None:
            return got
        assert time.monotonic() < deadline, "nothing arrived in %s" % queue
        time.sleep(0.02)


def dead_letter_queue(broker, ch):
    """A fanout exchange to dead-letter into, with one queue bound to it; returns (exchange,
    queue)."""
    x, q = broker.exchange_name("dlx"), broker.queue_name("dlq")
    ch.exchange_declare(x, "fanout")
    ch.queue_declare(q)
    ch.queue_bind(q, x)
    return x, q


def invalid_arg_text(arg, queue, detail):
    """RabbitMQ's reply text for a queue.declare argument it refuses, in vhost '/'."""
    return "PRECONDITION_FAILED - invalid arg '%s' for queue '%s' in vhost '/': %s" % (
        arg,
        queue,
        detail,
    )
