"""Fixtures for the conformance suite: which broker to talk to, and per-test connections that are
bounded in time and cleaned up afterwards.

The broker is AMQP_URL if set (scripts/conformance starts a reference RabbitMQ that way);
otherwise the session starts Warren from WARREN_BIN (default build/test/server/warren) on a free
port with a temporary data directory, and stops it at the end.

Tests of durability use restart_broker, which restarts either broker cleanly with its data kept
and at the same URL: Warren itself, or RabbitMQ through scripts/rabbitmq restart on the state
directory scripts/conformance passes as CONFORMANCE_RABBITMQ_DIR.

    bash scripts/conformance rabbitmq    # the reference: every test must pass here
    bash scripts/conformance warren      # Warren, which must match it

Tests of the management HTTP API use the management fixture (helpers.Management): Warren's
API on the port the session gives it, or RabbitMQ's (MANAGEMENT_URL; scripts/conformance starts
the reference node with the rabbitmq_management plugin).

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

import pika
import pytest

import helpers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARREN_START_TIMEOUT = 10.0
WARREN_STOP_TIMEOUT = 5.0
# scripts/rabbitmq restart bounds itself (20 s to stop, 60 s to start); this is a backstop.
RABBITMQ_RESTART_TIMEOUT = 120.0


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


class Warren:
    """A Warren process on a fixed port with a data directory, which can be restarted on the
    same port with the same data. Every run appends to one log, so that the sanitizer check at
    the end covers them all."""

    def __init__(self, binary, port, data_dir, log_path, management_port=0):
        self.binary = binary
        self.port = port
        self.management_port = management_port  # 0: the management API is off
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None  # the last process started
        self._running = None  # the process stop() has yet to stop
        # Exit statuses other than 0 of the runs stopped so far.
        self.bad_exits = []

    @property
    def url(self):
        return "amqp://guest:guest@127.0.0.1:%d/%%2F" % self.port

    def start(self):
        """Starts Warren and waits (bounded) until it accepts connections; on failure stops it
        and raises RuntimeError with the log tail."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "--amqp-port", str(self.port),
                    "--management-port", str(self.management_port),
                    "--data-dir", self.data_dir,
                    "--log-level", "info",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._running = self.proc
        deadline = time.monotonic() + WARREN_START_TIMEOUT
        while not _accepts_tcp(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    "conformance: Warren did not accept connections on 127.0.0.1:%d within "
                    "%.0f s (exit status %s); log tail:\n%s"
                    % (self.port, WARREN_START_TIMEOUT, self.proc.returncode,
                       _log_tail(self.log_path))
                )
            time.sleep(0.05)

    def stop(self):
        """SIGTERM to Warren's process group, SIGKILL if it is still there after 5 s. Records an
        exit status other than 0 (a crash, or a kill) in bad_exits."""
        proc, self._running = self._running, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=WARREN_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=WARREN_STOP_TIMEOUT)
        if proc.returncode != 0:
            self.bad_exits.append(proc.returncode)

    def restart(self):
        """Stops Warren cleanly and starts it again on the same port with the same data
        directory. Raises RuntimeError if it did not exit with status 0 or does not come back."""
        self.stop()
        if self.bad_exits:
            raise RuntimeError(
                "conformance: Warren exited with status %s on SIGTERM; log tail:\n%s"
                % (self.bad_exits[-1], _log_tail(self.log_path))
            )
        with open(self.log_path, "a") as log:
            log.write("--- conformance: restarting Warren ---\n")
        self.start()


def _raise_keyboard_interrupt(_signum, _frame):
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def warren():
    """The Warren this session started, or None when AMQP_URL names the broker."""
    if os.environ.get("AMQP_URL"):
        yield None
        return
    binary = os.environ.get("WARREN_BIN", os.path.join(REPO, "build", "test", "server", "warren"))
    if not os.access(binary, os.X_OK):
        pytest.exit("conformance: no Warren binary at %s (set WARREN_BIN or AMQP_URL)" % binary, 2)
    # A SIGTERM to pytest unwinds like Ctrl-C, so that the finalizer below still stops Warren.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    tmp = tempfile.TemporaryDirectory(prefix="warren-conformance-")
    w = Warren(
        binary,
        _free_port(),
        os.path.join(tmp.name, "data"),
        os.path.join(tmp.name, "warren.log"),
        management_port=_free_port(),
    )
    try:
        try:
            w.start()
        except RuntimeError as e:
            pytest.exit(str(e), 2)
        yield w
        if w.proc.poll() is not None:
            # Straight to the terminal: pytest would capture it otherwise.
            sys.__stderr__.write(
                "\nconformance: Warren exited during the run (status %s); log tail:\n%s\n"
                % (w.proc.returncode, _log_tail(w.log_path))
            )
    finally:
        w.stop()
        failed = w.bad_exits or _sanitizer_report(w.log_path)
        tail = _log_tail(w.log_path, 80)
        tmp.cleanup()
    # A broker that crashed, or that a sanitizer caught, fails the run even if every test
    # passed: its clean exit on SIGTERM is part of what is tested.
    if failed:
        raise RuntimeError(
            "conformance: Warren exited with status %s or reported a sanitizer error; log tail:\n%s"
            % (", ".join(map(str, w.bad_exits)) or 0, tail)
        )


@pytest.fixture(scope="session")
def amqp_url(warren):
    """The URL of the broker under test."""
    return warren.url if warren is not None else os.environ["AMQP_URL"]


@pytest.fixture(scope="session")
def management_url(warren):
    """The base URL (http://127.0.0.1:PORT) of the broker's management HTTP API. Skips the test
    if the broker was given as AMQP_URL without MANAGEMENT_URL."""
    if warren is not None:
        return "http://127.0.0.1:%d" % warren.management_port
    url = os.environ.get("MANAGEMENT_URL")
    if not url:
        pytest.skip("AMQP_URL without MANAGEMENT_URL: no management API to test")
    return url


@pytest.fixture
def management(management_url):
    """A client of the management HTTP API, logged in as guest."""
    return helpers.Management(management_url)


@pytest.fixture(scope="session")
def restart_broker(amqp_url, warren):
    """A function that restarts the broker under test cleanly and returns once it accepts
    connections again at the same URL, with its durable state: Warren is stopped with SIGTERM and
    started with the same data directory and port; the reference RabbitMQ is restarted by
    `scripts/rabbitmq restart CONFORMANCE_RABBITMQ_DIR`. Connections open before the restart are
    closed by it. Skips the test if the broker was given only as AMQP_URL."""
    if warren is not None:
        return warren.restart
    state = os.environ.get("CONFORMANCE_RABBITMQ_DIR")
    if not state:
        pytest.skip("AMQP_URL without CONFORMANCE_RABBITMQ_DIR: the broker cannot be restarted")

    def restart():
        done = subprocess.run(
            ["bash", os.path.join(REPO, "scripts", "rabbitmq"), "restart", state],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RABBITMQ_RESTART_TIMEOUT,
        )
        if done.returncode != 0 or done.stdout.strip() != amqp_url:
            raise RuntimeError(
                "conformance: scripts/rabbitmq restart failed (status %d, printed %r):\n%s"
                % (done.returncode, done.stdout, done.stderr)
            )

    return restart


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


@pytest.fixture
def broker(amqp_url, request):
    b = helpers.Broker(amqp_url, re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name))
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
