"""A tiny hand-written AMQP 0-9-1 client for the tests a real client library will not do.

pika never sends a malformed frame, so the malformed-input tests speak the protocol by hand:
RawConnection writes the protocol header, answers connection.start/tune/open with frames encoded
here, and then lets the test send whatever it likes and read exactly what the broker answers.
Only what the tests need is here; every read is bounded by the socket timeout.
"""

import socket
import struct
import time
from urllib.parse import unquote, urlparse

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_END = 0xCE

FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_HEARTBEAT = 8

# (class id, method id) of the methods the tests send or expect.
CONNECTION_START = (10, 10)
CONNECTION_START_OK = (10, 11)
CONNECTION_TUNE = (10, 30)
CONNECTION_TUNE_OK = (10, 31)
CONNECTION_OPEN = (10, 40)
CONNECTION_OPEN_OK = (10, 41)
CONNECTION_CLOSE = (10, 50)
CONNECTION_CLOSE_OK = (10, 51)
CHANNEL_OPEN = (20, 10)
CHANNEL_OPEN_OK = (20, 11)
CHANNEL_CLOSE = (20, 40)
CHANNEL_CLOSE_OK = (20, 41)
QUEUE_DECLARE = (50, 10)
QUEUE_DECLARE_OK = (50, 11)
QUEUE_DELETE = (50, 40)
QUEUE_DELETE_OK = (50, 41)
BASIC_CONSUME = (60, 20)
BASIC_CONSUME_OK = (60, 21)
BASIC_CANCEL = (60, 30)
BASIC_CANCEL_OK = (60, 31)
BASIC_PUBLISH = (60, 40)
BASIC_DELIVER = (60, 60)
BASIC_GET = (60, 70)
BASIC_GET_OK = (60, 71)
BASIC_GET_EMPTY = (60, 72)


class ProtocolError(Exception):
    """The broker sent something this client did not expect."""


# ---- encoding ---------------------------------------------------------------------------------


def octet(v):
    return struct.pack(">B", v)


def short(v):
    return struct.pack(">H", v)


def long_(v):
    return struct.pack(">I", v)


def longlong(v):
    return struct.pack(">Q", v)


def shortstr(s):
    b = s.encode() if isinstance(s, str) else s
    return octet(len(b)) + b


def longstr(s):
    b = s.encode() if isinstance(s, str) else s
    return long_(len(b)) + b


def table(d):
    """Encodes a field table whose values are str, bytes, bool, int or dict."""
    out = b""
    for key, value in d.items():
        out += shortstr(key)
        if isinstance(value, bool):
            out += b"t" + octet(1 if value else 0)
        elif isinstance(value, int):
            out += b"l" + struct.pack(">q", value)
        elif isinstance(value, dict):
            out += b"F" + table(value)
        else:
            out += b"S" + longstr(value)
    return long_(len(out)) + out


def frame(frame_type, channel, payload, end=FRAME_END):
    return struct.pack(">BHI", frame_type, channel, len(payload)) + payload + octet(end)


def method_frame(channel, class_method, args=b""):
    return frame(FRAME_METHOD, channel, struct.pack(">HH", *class_method) + args)


def header_frame(channel, body_size, class_id=60, property_flags=0, properties=b""):
    payload = struct.pack(">HHQH", class_id, 0, body_size, property_flags) + properties
    return frame(FRAME_HEADER, channel, payload)


def body_frame(channel, body):
    return frame(FRAME_BODY, channel, body)


def basic_publish_args(exchange, routing_key, mandatory=False, immediate=False):
    flags = (1 if mandatory else 0) | (2 if immediate else 0)
    return short(0) + shortstr(exchange) + shortstr(routing_key) + octet(flags)


def tune_args(channel_max, frame_max, heartbeat):
    """Arguments of connection.tune and tune-ok."""
    return short(channel_max) + long_(frame_max) + short(heartbeat)


def close_args(reply_code=200, reply_text="bye", class_id=0, method_id=0):
    """Arguments of connection.close and channel.close."""
    return short(reply_code) + shortstr(reply_text) + short(class_id) + short(method_id)


def queue_declare_args(name, passive=False, exclusive=False):
    flags = (1 if passive else 0) | (4 if exclusive else 0)
    return short(0) + shortstr(name) + octet(flags) + table({})


def basic_get_args(queue, no_ack=True):
    return short(0) + shortstr(queue) + octet(1 if no_ack else 0)


def basic_consume_args(queue, consumer_tag, no_ack=False, arguments=None):
    """`arguments`: an encoded field table (see table()), empty if None."""
    if arguments is None:
        arguments = table({})
    flags = octet(2 if no_ack else 0)
    return short(0) + shortstr(queue) + shortstr(consumer_tag) + flags + arguments


# ---- decoding ---------------------------------------------------------------------------------


class Reader:
    """Reads AMQP fields from a method payload, in order."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ProtocolError("field runs past the end of the payload")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def octet(self):
        return self.unpack(">B")

    def short(self):
        return self.unpack(">H")

    def long(self):
        return self.unpack(">I")

    def longlong(self):
        return self.unpack(">Q")

    def shortstr(self):
        return self.take(self.octet()).decode()

    def longstr(self):
        return self.take(self.long())

    def table(self):
        end = self.pos + self.long()
        out = {}
        while self.pos < end:
            key = self.shortstr()
            out[key] = self.value()
        return out

    def array(self):
        end = self.pos + self.long()
        out = []
        while self.pos < end:
            out.append(self.value())
        return out

    def value(self):
        kind = self.take(1)
        if kind == b"t":
            return self.octet() != 0
        if kind == b"b":
            return self.unpack(">b")
        if kind == b"B":
            return self.unpack(">B")
        if kind == b"s":
            return self.unpack(">h")
        if kind == b"u":
            return self.unpack(">H")
        if kind == b"I":
            return self.unpack(">i")
        if kind == b"i":
            return self.unpack(">I")
        if kind == b"l":
            return self.unpack(">q")
        if kind == b"f":
            return self.unpack(">f")
        if kind == b"d":
            return self.unpack(">d")
        if kind == b"D":
            scale = self.octet()
            return (scale, self.unpack(">i"))
        if kind == b"T":
            return self.unpack(">Q")
        if kind == b"S":
            return self.longstr()
        if kind == b"x":
            return self.longstr()
        if kind == b"F":
            return self.table()
        if kind == b"A":
            return self.array()
        if kind == b"V":
            return None
        raise ProtocolError("unknown field type %r" % kind)


class TypedReader(Reader):
    """A Reader whose field values come as (type letter, value), in nested tables and arrays
    too: for the tests that check which AMQP type a broker chose, which pika hides."""

    def value(self):
        kind = self.data[self.pos : self.pos + 1].decode()
        return (kind, super().value())


class Frame:
    def __init__(self, frame_type, channel, payload):
        self.type = frame_type
        self.channel = channel
        self.payload = payload

    @property
    def class_method(self):
        if self.type != FRAME_METHOD:
            return None
        return struct.unpack(">HH", self.payload[:4])

    def args(self):
        """A Reader positioned at the method's arguments."""
        r = Reader(self.payload)
        r.take(4)
        return r

    def __repr__(self):
        if self.type == FRAME_METHOD:
            return "Frame(method %s on channel %d)" % (self.class_method, self.channel)
        return "Frame(type %d on channel %d, %d bytes)" % (
            self.type,
            self.channel,
            len(self.payload),
        )


class Close:
    """A connection.close or channel.close as received."""

    def __init__(self, reader):
        self.reply_code = reader.short()
        self.reply_text = reader.shortstr()
        self.class_id = reader.short()
        self.method_id = reader.short()

    def __repr__(self):
        return "Close(%d, %r, class %d, method %d)" % (
            self.reply_code,
            self.reply_text,
            self.class_id,
            self.method_id,
        )


# ---- the connection ---------------------------------------------------------------------------


class RawConnection:
    """One TCP connection speaking AMQP by hand. Every read waits at most `timeout` seconds."""

    def __init__(self, url, timeout=5.0):
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 5672
        self.user = unquote(parsed.username or "guest")
        self.password = unquote(parsed.password or "guest")
        path = parsed.path[1:] if parsed.path.startswith("/") else parsed.path
        self.vhost = unquote(path) if path else "/"
        self.timeout = timeout
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.start = None  # the Reader-decoded connection.start: dict
        self.tune = None  # (channel_max, frame_max, heartbeat) the server proposed
        self.negotiated = None  # (channel_max, frame_max, heartbeat) sent in tune-ok

    def close_socket(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close_socket()

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        """Returns n bytes, or raises EOFError if the peer closes first."""
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by peer")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_raw(self, max_bytes=65536):
        """Returns whatever arrives next (possibly b"" at EOF)."""
        if self.buf:
            out, self.buf = self.buf, b""
            return out
        return self.sock.recv(max_bytes)

    def read_until_eof(self, limit=1 << 20):
        """Reads until the peer closes the connection (a FIN or a reset: RabbitMQ closes with
        SO_LINGER 0, so its peers see a reset); returns everything read before. Raises
        socket.timeout if the peer keeps the connection open longer than the timeout."""
        out = self.buf
        self.buf = b""
        while len(out) < limit:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return out
            if not chunk:
                return out
            out += chunk
        return out

    def read_frame(self):
        header = self.recv_exact(7)
        frame_type, channel, size = struct.unpack(">BHI", header)
        payload = self.recv_exact(size)
        end = self.recv_exact(1)[0]
        if end != FRAME_END:
            raise ProtocolError("bad frame end 0x%02x" % end)
        return Frame(frame_type, channel, payload)

    def read_frame_skipping_heartbeats(self):
        while True:
            f = self.read_frame()
            if f.type != FRAME_HEARTBEAT:
                return f

    def expect_method(self, class_method, channel=None):
        f = self.read_frame_skipping_heartbeats()
        if f.class_method != class_method or (channel is not None and f.channel != channel):
            detail = ""
            if f.class_method in (CONNECTION_CLOSE, CHANNEL_CLOSE):
                detail = " " + repr(Close(f.args()))
            raise ProtocolError("expected %s, got %r%s" % (class_method, f, detail))
        return f

    def handshake(
        self,
        mechanism="PLAIN",
        response=None,
        channel_max=0,
        frame_max=131072,
        heartbeat=0,
        vhost=None,
        open_vhost=True,
        client_properties=None,
    ):
        """Runs the connection handshake up to connection.open-ok (or, with open_vhost=False,
        up to tune-ok). Records connection.start and the tune the server proposed.
        A zero channel_max means "take the server's"; frame_max and heartbeat are sent as given.
        client_properties (a dict for table()) replaces the default ones, which announce no
        capabilities."""
        self.send(PROTOCOL_HEADER)
        f = self.expect_method(CONNECTION_START, channel=0)
        r = f.args()
        self.start = {
            "version_major": r.octet(),
            "version_minor": r.octet(),
            "server_properties": r.table(),
            "mechanisms": r.longstr().decode(),
            "locales": r.longstr().decode(),
        }
        if response is None:
            if mechanism == "PLAIN":
                response = b"\x00" + self.user.encode() + b"\x00" + self.password.encode()
            elif mechanism == "AMQPLAIN":
                # AMQPLAIN's response is a field table without its length prefix.
                response = table({"LOGIN": self.user, "PASSWORD": self.password})[4:]
        if client_properties is None:
            client_properties = {"product": "warren-conformance-raw"}
        client_properties = table(client_properties)
        self.send(
            method_frame(
                0,
                CONNECTION_START_OK,
                client_properties + shortstr(mechanism) + longstr(response) + shortstr("en_US"),
            )
        )
        f = self.read_frame_skipping_heartbeats()
        if f.class_method == CONNECTION_CLOSE:
            return Close(f.args())
        if f.class_method != CONNECTION_TUNE:
            raise ProtocolError("expected connection.tune, got %r" % f)
        r = f.args()
        self.tune = (r.short(), r.long(), r.short())
        if channel_max == 0:
            channel_max = self.tune[0]
        self.negotiated = (channel_max, frame_max, heartbeat)
        self.send(method_frame(0, CONNECTION_TUNE_OK, tune_args(channel_max, frame_max, heartbeat)))
        if not open_vhost:
            return None
        self.send(
            method_frame(
                0,
                CONNECTION_OPEN,
                shortstr(self.vhost if vhost is None else vhost) + shortstr("") + octet(0),
            )
        )
        f = self.read_frame_skipping_heartbeats()
        if f.class_method == CONNECTION_CLOSE:
            return Close(f.args())
        if f.class_method != CONNECTION_OPEN_OK:
            raise ProtocolError("expected connection.open-ok, got %r" % f)
        return None

    def open_channel(self, channel):
        self.send(method_frame(channel, CHANNEL_OPEN, shortstr("")))
        self.expect_method(CHANNEL_OPEN_OK, channel=channel)

    def declare_queue(self, channel, name):
        """Declares an exclusive queue (gone with this connection); returns its name."""
        self.send(method_frame(channel, QUEUE_DECLARE, queue_declare_args(name, exclusive=True)))
        return self.expect_method(QUEUE_DECLARE_OK, channel=channel).args().shortstr()

    def expect_connection_close(self):
        """Reads frames until connection.close, answers close-ok, and returns the Close.
        Raises ProtocolError if the peer closes the socket without sending one, socket.timeout if
        none comes within the timeout."""
        deadline = time.monotonic() + self.timeout
        while True:
            if time.monotonic() > deadline:
                raise socket.timeout("no connection.close within %.0f s" % self.timeout)
            try:
                f = self.read_frame()
            except (EOFError, ConnectionResetError):
                raise ProtocolError("socket closed without connection.close")
            if f.class_method == CONNECTION_CLOSE:
                close = Close(f.args())
                try:
                    self.send(method_frame(0, CONNECTION_CLOSE_OK))
                except OSError:
                    pass
                return close

    def expect_eof(self):
        """Reads until the peer closes the socket; True if it did within the timeout."""
        deadline = time.monotonic() + self.timeout
        try:
            while time.monotonic() < deadline:
                if not self.read_raw():
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def get_typed_headers(self, channel, queue):
        """basic.get (no-ack) of one message from queue on an open channel; returns the
        message's headers as TypedReader decodes them. Raises ProtocolError if the queue is
        empty or the message has no headers."""
        self.send(method_frame(channel, BASIC_GET, basic_get_args(queue)))
        self.expect_method(BASIC_GET_OK, channel=channel)
        header = self.read_frame_skipping_heartbeats()
        if header.type != FRAME_HEADER:
            raise ProtocolError("expected a content header, got %r" % header)
        r = TypedReader(header.payload)
        r.take(12)  # class id, weight, body size
        flags = r.short()
        if flags & 0x8000:
            r.shortstr()  # content-type
        if flags & 0x4000:
            r.shortstr()  # content-encoding
        if not flags & 0x2000:
            raise ProtocolError("the message has no headers")
        return r.table()
