"""Fixtures for the conformance suite: which broker to talk to, and per-test connections that are
bounded in time and cleaned up afterwards.

The broker is AMQP_URL if set (scripts/conformance starts a reference RabbitMQ that way);
otherwise the session starts Warren from WARREN_BIN (default build/test/server/warren) on a free
port with a temporary data directory, and stops it at the end.

    bash scripts/conformance rabbitmq    # the reference: every test must pass here
    bash scripts/conformance warren      # Warren, which must match it

Tests of Warren-only behaviour carry @pytest.mark.warren_only and are skipped against RabbitMQ
(CONFORMANCE_TARGET=rabbitmq, or a server whose product is "RabbitMQ").
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pika
import pytest

import helpers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARREN_START_TIMEOUT = 10.0
WARREN_STOP_TIMEOUT = 5.0


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "warren_only: Warren-only behaviour; skipped when the target is RabbitMQ",
    )


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts_tcp(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _log_tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(no log: %s)" % e


def _sanitizer_report(path):
    """True if Warren's log holds an AddressSanitizer or UndefinedBehaviorSanitizer report."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    return "ERROR: AddressSanitizer" in text or "runtime error:" in text or "ERROR: LeakSanitizer" in text


def _stop(proc):
    """SIGTERM to Warren's process group, SIGKILL if it is still there after 5 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=WARREN_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=WARREN_STOP_TIMEOUT)


def _raise_keyboard_interrupt(_signum, _frame):
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def amqp_url():
    """The URL of the broker under test."""
    url = os.environ.get("AMQP_URL")
    if url:
        yield url
        return
    binary = os.environ.get("WARREN_BIN", os.path.join(REPO, "build", "test", "server", "warren"))
    if not os.access(binary, os.X_OK):
        pytest.exit("conformance: no Warren binary at %s (set WARREN_BIN or AMQP_URL)" % binary, 2)
    # A SIGTERM to pytest unwinds like Ctrl-C, so that the finalizer below still stops Warren.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    tmp = tempfile.TemporaryDirectory(prefix="warren-conformance-")
    port = _free_port()
    log_path = os.path.join(tmp.name, "warren.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                "--amqp-port", str(port),
                "--management-port", "0",
                "--data-dir", os.path.join(tmp.name, "data"),
                "--log-level", "info",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WARREN_START_TIMEOUT
        while not _accepts_tcp(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                _stop(proc)
                pytest.exit(
                    "conformance: Warren did not accept connections on 127.0.0.1:%d within %.0f s "
                    "(exit status %s); log tail:\n%s"
                    % (port, WARREN_START_TIMEOUT, proc.returncode, _log_tail(log_path)),
                    2,
                )
            time.sleep(0.05)
        yield "amqp://guest:guest@127.0.0.1:%d/%%2F" % port
        if proc.poll() is not None:
            # Straight to the terminal: pytest would capture it otherwise.
            sys.__stderr__.write(
                "\nconformance: Warren exited during the run (status %s); log tail:\n%s\n"
                % (proc.returncode, _log_tail(log_path))
            )
    finally:
        _stop(proc)
        failed = proc.returncode != 0 or _sanitizer_report(log_path)
        tail = _log_tail(log_path, 80)
        tmp.cleanup()
    # A broker that crashed, or that a sanitizer caught, fails the run even if every test
    # passed: its clean exit on SIGTERM is part of what is tested.
    if failed:
        raise RuntimeError(
            "conformance: Warren exited with status %s or reported a sanitizer error; log tail:\n%s"
            % (proc.returncode, tail)
        )


@pytest.fixture(scope="session")
def target(amqp_url):
    """"rabbitmq" or "warren": what the broker under test is."""
    env = os.environ.get("CONFORMANCE_TARGET")
    if env:
        return env.lower()
    conn = pika.BlockingConnection(helpers.parameters(amqp_url))
    try:
        product = conn._impl.server_properties.get("product", b"")
    finally:
        conn.close()
    if isinstance(product, bytes):
        product = product.decode(errors="replace")
    return "rabbitmq" if product == "RabbitMQ" else "warren"


@pytest.fixture(autouse=True)
def _skip_warren_only(request):
    if request.node.get_closest_marker("warren_only") is None:
        return
    if request.getfixturevalue("target") == "rabbitmq":
        pytest.skip("Warren-only behaviour")


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
        conn = pika.BlockingConnection(helpers.parameters(self.url, **overrides))
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

    def close(self):
        for conn in self._connections:
            if conn.is_open:
                try:
                    conn.close()
                except Exception:
                    pass
        if not (self._queues or self._exchanges):
            return
        conn = pika.BlockingConnection(helpers.parameters(self.url))
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


@pytest.fixture
def broker(amqp_url, request):
    b = Broker(amqp_url, re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name))
    yield b
    b.close()


@pytest.fixture
def conn(broker):
    """The test's default connection."""
    return broker.connection


@pytest.fixture
def ch(broker):
    """A channel on the test's default connection."""
    return broker.channel()
