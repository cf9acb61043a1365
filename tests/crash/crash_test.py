#!/usr/bin/env python3
"""Crash test: confirmed persistent messages survive SIGKILL, in order.

Each round, a publisher with confirms sends persistent messages (delivery_mode 2) round-robin
into three durable queues, keeping WINDOW messages in flight, while a consumer on the first queue
acknowledges what it gets. At a random moment the broker is killed with SIGKILL; in every third
round it is also killed again while it restarts (during recovery). Then it is restarted on the
same data directory and every queue is consumed and checked:

  - every message the broker confirmed (basic.ack) is there, unless the test acknowledged it;
  - each body and its properties are exactly what was published, in the queue it was sent to;
  - nothing is there that was never published;
  - per-queue order is publish order; a message appears twice only if it was never confirmed.

Messages that were never confirmed (in flight at the kill, or nacked) may be there or not, and
messages the test acknowledged may come back (an ack need not be durable before a crash).

All rounds share one data directory, started empty: the check acknowledges all but the last KEEP
messages of each queue and leaves those in place, so later rounds publish on top of recovered
messages and crash a broker that has itself recovered from crashes (message ids allocated after
recovery must not overwrite recovered ones). At the end the broker is stopped with SIGTERM (exit
status 0), restarted and checked once more; messages acknowledged to the process that stopped
cleanly must not come back.

    tests/crash/crash_test.py WARREN [--rounds N] [--seed S] [--max-kill-delay SECONDS]

The seed is printed first; --seed replays the same kill delays (the kill still lands wherever
the broker is at that time, so a replay is close, not identical). On failure the work directory
(data directory and one log per broker start) is kept and its path printed.

To check the checker: --control runs the same traffic without killing or restarting the broker
(an in-memory broker passes it), and --inject FAULT alters what the first check receives (lose,
duplicate, reorder, corrupt, phantom), which must make the test fail.
"""

import argparse
import ctypes
import hashlib
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pika
import pika.exceptions
import pika.spec
from pika.adapters.select_connection import IOLoop

QUEUES = ("crash.q0", "crash.q1", "crash.q2")
LIVE_QUEUE = 0  # index of the queue consumed (and acknowledged) while the publisher runs
WINDOW = 500  # unconfirmed messages the publisher keeps in flight
LIVE_PREFETCH = 200
LIVE_ACK_EVERY = 25  # the live consumer acknowledges with multiple=true every this many
KEEP = 100  # messages per queue left unacknowledged by each check, for the next rounds
MAX_PER_ROUND = 500_000  # publishing stops here if the kill has not come yet

START_TIMEOUT = 30.0  # broker start, including recovery
STOP_TIMEOUT = 10.0
PHASE_SLACK = 15.0  # publish phase: connect before, and notice the kill after
CONSUME_TIMEOUT = 20.0  # plus one second per 2,000 messages
SETTLE = 0.2  # after the expected count arrived, how long to wait for anything more

# Ledger states, one byte per published message.
CONFIRMED = 1
NACKED = 2
ACKED = 4  # the test sent an ack for it (it may still come back after a crash)

INJECT_FAULTS = ("lose", "duplicate", "reorder", "corrupt", "phantom")


class Failure(Exception):
    """The broker did something the test does not allow, or did not answer in time."""


def expected_body(qi, rnd, seq):
    """The one body message (queue qi, round rnd, sequence seq) may have: a readable head naming
    it, then 16..1015 bytes (1 in 128 messages: 140,000, more than one frame) derived from it."""
    digest = hashlib.blake2b(b"%d/%d/%d" % (qi, rnd, seq), digest_size=32).digest()
    size = 140_000 if digest[2] < 2 else 16 + int.from_bytes(digest[:2], "big") % 1000
    head = b"warren-crash %s %d %d " % (QUEUES[qi].encode(), rnd, seq)
    return head + (digest * (size // len(digest) + 1))[:size]


def expected_properties(qi, rnd, seq):
    return pika.BasicProperties(
        delivery_mode=2,
        content_type="application/octet-stream",
        message_id="%s/%d/%d" % (QUEUES[qi], rnd, seq),
        headers={"round": rnd, "seq": seq},
    )


class Ledger:
    """What the client knows about every message: published, confirmed, nacked, acknowledged."""

    def __init__(self):
        self.states = [{} for _ in QUEUES]  # per queue: round -> bytearray, one byte per seq
        self.required = [set() for _ in QUEUES]  # confirmed and not acknowledged: (round, seq)
        self.nacked = 0
        # (queue, (round, seq)) acknowledged to the running broker process: must not come back if
        # that process stops cleanly. Cleared when a process is killed.
        self.acked_by_this_broker = set()

    def publish(self, qi, rnd):
        """Records a new message of queue qi in round rnd (before it is sent); returns its seq."""
        states = self.states[qi].setdefault(rnd, bytearray())
        states.append(0)
        return len(states) - 1

    def state(self, qi, mid):
        """The state byte of mid = (round, seq), or None if it was never published."""
        states = self.states[qi].get(mid[0])
        if states is None or not 0 <= mid[1] < len(states):
            return None
        return states[mid[1]]

    def confirm(self, qi, mid, ack):
        states = self.states[qi][mid[0]]
        if ack:
            states[mid[1]] |= CONFIRMED
            if not states[mid[1]] & ACKED:
                self.required[qi].add(mid)
        else:
            states[mid[1]] |= NACKED
            self.nacked += 1

    def acknowledge(self, qi, mid):
        self.states[qi][mid[0]][mid[1]] |= ACKED
        self.required[qi].discard(mid)
        self.acked_by_this_broker.add((qi, mid))

    def published(self, rnd):
        return sum(len(s.get(rnd, b"")) for s in self.states)

    def confirmed(self, rnd):
        return sum(b & CONFIRMED for s in self.states for b in s.get(rnd, b""))


class Problems:
    """Violations found, counted per kind with a few examples each."""

    EXAMPLES = 5

    def __init__(self):
        self.kinds = {}  # kind -> [count, examples]

    def add(self, kind, example):
        entry = self.kinds.setdefault(kind, [0, []])
        entry[0] += 1
        if len(entry[1]) < self.EXAMPLES:
            entry[1].append(example)

    def __bool__(self):
        return bool(self.kinds)

    def report(self):
        lines = []
        for kind, (count, examples) in self.kinds.items():
            lines.append("  %s: %d (e.g. %s)" % (kind, count, "; ".join(examples)))
        return "\n".join(lines)


def check_delivery(qi, properties, body, ledger, problems):
    """Checks one delivered message from queue qi; returns its (round, seq), or None if it is not
    a message this test published there intact."""
    parts = body.split(b" ", 4)
    try:
        assert parts[0] == b"warren-crash"
        name, rnd, seq = parts[1].decode(), int(parts[2]), int(parts[3])
        qj = QUEUES.index(name)
    except (AssertionError, IndexError, ValueError, UnicodeDecodeError):
        problems.add("unrecognisable body", "%s: %r" % (QUEUES[qi], body[:60]))
        return None
    mid = (rnd, seq)
    if qj != qi:
        problems.add("message in the wrong queue", "%s/%d/%d in %s" % (name, rnd, seq, QUEUES[qi]))
        return None
    if ledger.state(qi, mid) is None:
        problems.add("never published", "%s/%d/%d" % (name, rnd, seq))
        return None
    if body != expected_body(qi, rnd, seq):
        problems.add("body differs from what was published", "%s/%d/%d" % (name, rnd, seq))
        return None
    want = expected_properties(qi, rnd, seq)
    for field in ("delivery_mode", "content_type", "message_id", "headers"):
        if getattr(properties, field) != getattr(want, field):
            problems.add(
                "properties differ from what was published",
                "%s/%d/%d %s=%r" % (name, rnd, seq, field, getattr(properties, field)),
            )
            return None
    return mid


class OrderCheck:
    """Per-queue order of one stream of deliveries: first occurrences in publish order, repeats
    only of messages that were never confirmed."""

    def __init__(self, qi, ledger, problems):
        self.qi, self.ledger, self.problems = qi, ledger, problems
        self.seen = set()
        self.last = None
        self.unconfirmed_repeats = 0

    def add(self, mid):
        name = QUEUES[self.qi]
        if mid in self.seen:
            if self.ledger.state(self.qi, mid) & CONFIRMED:
                self.problems.add("confirmed message delivered twice", "%s/%d/%d" % (name, *mid))
            else:
                self.unconfirmed_repeats += 1
            return
        self.seen.add(mid)
        if self.last is not None and mid < self.last:
            self.problems.add(
                "out of publish order", "%s/%d/%d after %s/%d/%d" % (name, *mid, name, *self.last)
            )
        self.last = mid


def connection_parameters(port):
    return pika.ConnectionParameters(
        host="127.0.0.1",
        port=port,
        heartbeat=0,
        connection_attempts=1,
        retry_delay=0,
        socket_timeout=5,
        stack_timeout=10,
        blocked_connection_timeout=30,
    )


class Broker:
    """One warren process at a time on a fixed data directory; each start has its own log. The
    process dies with this one (PR_SET_PDEATHSIG), so an interrupted test leaves none behind."""

    def __init__(self, binary, data_dir, log_dir):
        self.binary, self.data_dir, self.log_dir = binary, data_dir, log_dir
        self.proc = None
        self.starts = 0
        self.log_path = None

    def spawn(self):
        self.starts += 1
        self.log_path = os.path.join(self.log_dir, "warren-%03d.log" % self.starts)
        libc = ctypes.CDLL(None, use_errno=True)

        def die_with_parent():
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--amqp-port", "0", "--management-port", "0", "--bind", "127.0.0.1",
                 "--data-dir", self.data_dir, "--log-level", "info"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    def start(self):
        """Starts warren and waits until it logs its port; returns (port, seconds it took)."""
        began = time.monotonic()
        self.spawn()
        deadline = began + START_TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(r"started: amqp port (\d+)", self.log())
            if match:
                return int(match.group(1)), time.monotonic() - began
            if self.proc.poll() is not None:
                raise Failure("warren exited with status %d while starting (%s):\n%s" % (
                    self.proc.returncode, self.log_path, self.log_tail()))
            time.sleep(0.01)
        raise Failure("warren did not report its port within %.0f s (%s):\n%s" % (
            START_TIMEOUT, self.log_path, self.log_tail()))

    def kill(self):
        """SIGKILL, and reap the process."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Failure("warren (pid %d) still there %.0f s after SIGKILL" % (
                self.proc.pid, STOP_TIMEOUT))
        self.proc = None

    def stop(self):
        """SIGTERM; fails unless warren exits 0 in time and its log has no sanitizer report."""
        proc, self.proc = self.proc, None
        proc.terminate()
        try:
            status = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise Failure("warren did not stop within %.0f s of SIGTERM (%s):\n%s" % (
                STOP_TIMEOUT, self.log_path, self.log_tail()))
        if status != 0 or self.sanitizer_report():
            raise Failure("warren exited with status %d after SIGTERM (%s):\n%s" % (
                status, self.log_path, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def log_tail(self, lines=30):
        return "".join(self.log().splitlines(keepends=True)[-lines:])

    def sanitizer_report(self):
        text = self.log()
        return "ERROR: AddressSanitizer" in text or "runtime error:" in text or (
            "ERROR: LeakSanitizer" in text)


class PublishPhase:
    """One round's traffic on one pika IOLoop until the broker is gone: a publisher with confirms
    into every queue, and a consumer on LIVE_QUEUE that acknowledges in batches. `stop` is called
    kill_after seconds after publishing starts; it kills the broker (or, in control mode, closes
    both connections)."""

    def __init__(self, port, ledger, rnd, problems, kill_after, stop, control):
        self.port, self.ledger, self.rnd, self.problems = port, ledger, rnd, problems
        self.kill_after, self.stop_broker, self.control = kill_after, stop, control
        self.ioloop = IOLoop()
        self.connections = []
        self.stopped = False  # the kill (or the control-mode close) has happened
        self.error = None
        self.channel = None
        self.next_tag = 1
        self.outstanding = {}  # delivery tag -> (queue index, (round, seq))
        self.lowest = 1  # no outstanding tag is below this
        self.sent = 0
        self.live = OrderCheck(LIVE_QUEUE, ledger, problems)
        self.live_pending = []  # (queue, mid) delivered to the live consumer, not yet acked
        self.live_received = 0

    def run(self):
        params = connection_parameters(self.port)
        for on_open in (self.on_publisher_open, self.on_consumer_open):
            self.connections.append(pika.SelectConnection(
                params, on_open_callback=on_open, on_open_error_callback=self.on_open_error,
                on_close_callback=self.on_connection_closed, custom_ioloop=self.ioloop))
        guard = self.ioloop.call_later(self.kill_after + PHASE_SLACK, self.on_timeout)
        self.ioloop.start()
        self.ioloop.remove_timeout(guard)
        self.ioloop.close()
        if self.error:
            raise Failure(self.error)

    def fail(self, error):
        if self.error is None:
            self.error = error
        if not self.stopped:
            self.stopped = True
            self.stop_broker()
        self.ioloop.stop()

    def on_timeout(self):
        self.fail("publish phase: not over %.0f s after it began (%s)" % (
            self.kill_after + PHASE_SLACK,
            "connections still open after the kill" if self.stopped else "publishing never began"))

    def on_open_error(self, _connection, error):
        if not self.stopped:
            self.fail("publish phase: cannot connect: %r" % error)
        self.stop_when_closed()

    def on_connection_closed(self, _connection, reason):
        if not self.stopped:
            self.fail("publish phase: the broker closed a connection before the kill: %r" % reason)
        self.stop_when_closed()

    def stop_when_closed(self):
        if all(c.is_closed for c in self.connections):
            self.ioloop.stop()

    def on_channel_closed(self, _channel, reason):
        if not self.stopped:
            self.fail("publish phase: the broker closed a channel before the kill: %r" % reason)

    # Publisher: open -> confirm.select -> declare each queue -> publish, refilled on confirms.

    def on_publisher_open(self, connection):
        connection.channel(on_open_callback=self.on_publisher_channel)

    def on_publisher_channel(self, channel):
        self.channel = channel
        channel.add_on_close_callback(self.on_channel_closed)
        channel.confirm_delivery(ack_nack_callback=self.on_confirm,
                                 callback=lambda _frame: self.declare(0))

    def declare(self, qi):
        if qi == len(QUEUES):
            self.ioloop.call_later(self.kill_after, self.on_kill_due)
            self.publish()
            return
        self.channel.queue_declare(QUEUES[qi], durable=True,
                                   callback=lambda _frame: self.declare(qi + 1))

    def publish(self):
        while (not self.stopped and len(self.outstanding) < WINDOW and self.sent < MAX_PER_ROUND):
            qi = self.sent % len(QUEUES)
            seq = self.ledger.publish(qi, self.rnd)
            self.channel.basic_publish("", QUEUES[qi], expected_body(qi, self.rnd, seq),
                                       expected_properties(qi, self.rnd, seq))
            self.outstanding[self.next_tag] = (qi, (self.rnd, seq))
            self.next_tag += 1
            self.sent += 1

    def on_confirm(self, frame):
        method = frame.method
        ack = isinstance(method, pika.spec.Basic.Ack)
        tags = range(self.lowest, method.delivery_tag + 1) if method.multiple else (
            method.delivery_tag,)
        confirmed = 0
        for tag in tags:
            message = self.outstanding.pop(tag, None)
            if message is not None:
                self.ledger.confirm(message[0], message[1], ack)
                confirmed += 1
        if confirmed == 0:
            self.problems.add("confirm for no outstanding message", "%s tag %d multiple=%s" % (
                "ack" if ack else "nack", method.delivery_tag, method.multiple))
        while self.lowest < self.next_tag and self.lowest not in self.outstanding:
            self.lowest += 1
        self.publish()

    def on_kill_due(self):
        if not self.stopped:
            self.stopped = True
            self.stop_broker()
            if self.control:
                for connection in self.connections:
                    if connection.is_open:
                        connection.close()

    # Live consumer: open -> declare its queue -> qos -> consume, acking every LIVE_ACK_EVERY.

    def on_consumer_open(self, connection):
        connection.channel(on_open_callback=self.on_consumer_channel)

    def on_consumer_channel(self, channel):
        channel.add_on_close_callback(self.on_channel_closed)
        channel.queue_declare(QUEUES[LIVE_QUEUE], durable=True, callback=lambda _frame: (
            channel.basic_qos(prefetch_count=LIVE_PREFETCH, callback=lambda _frame: (
                channel.basic_consume(QUEUES[LIVE_QUEUE], self.on_live_message)))))

    def on_live_message(self, channel, method, properties, body):
        self.live_received += 1
        mid = check_delivery(LIVE_QUEUE, properties, body, self.ledger, self.problems)
        if mid is not None:
            self.live.add(mid)
        self.live_pending.append(mid)
        if len(self.live_pending) >= LIVE_ACK_EVERY and not self.stopped:
            # Recorded as acknowledged before it is sent: it may then come back, never be missed.
            for pending in self.live_pending:
                if pending is not None:
                    self.ledger.acknowledge(LIVE_QUEUE, pending)
            self.live_pending.clear()
            channel.basic_ack(method.delivery_tag, multiple=True)


def consume_all(port, ledger, problems, inject=None):
    """Consumes every queue to the end after a restart and checks it. Then acknowledges all but
    the last KEEP messages of each queue and closes, so those are requeued for later rounds.
    Returns ({queue index: [mid or None, ...] in delivery order}, a one-line summary)."""
    conn = pika.BlockingConnection(connection_parameters(port))
    try:
        channels, counts, got = [], [], []
        for qi, name in enumerate(QUEUES):
            ch = conn.channel()
            try:
                declared = ch.queue_declare(name, durable=True, passive=True)
                counts.append(declared.method.message_count)
            except pika.exceptions.ChannelClosedByBroker as e:
                problems.add("durable queue missing after restart", "%s: %s" % (name, e))
                ch = conn.channel()
                ch.queue_declare(name, durable=True)
                counts.append(0)
            channels.append(ch)
            got.append([])
            ch.basic_consume(name, lambda _ch, method, properties, body, into=got[qi]: into.append(
                (method.delivery_tag, properties, body)))
        deadline = time.monotonic() + CONSUME_TIMEOUT + sum(counts) / 2000
        while any(len(g) < c for g, c in zip(got, counts)) and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.05)
        settle_until = time.monotonic() + SETTLE
        while time.monotonic() < settle_until:
            conn.process_data_events(time_limit=0.05)
        for qi, name in enumerate(QUEUES):
            if len(got[qi]) < counts[qi]:
                problems.add("fewer deliveries than queue.declare-ok's message_count",
                             "%s: %d of %d in %.0f s" % (name, len(got[qi]), counts[qi],
                                                         CONSUME_TIMEOUT))
        if inject:
            inject_fault(inject, got, ledger)

        mids = {}
        for qi, name in enumerate(QUEUES):
            order = OrderCheck(qi, ledger, problems)
            mids[qi] = []
            for _tag, properties, body in got[qi]:
                mid = check_delivery(qi, properties, body, ledger, problems)
                mids[qi].append(mid)
                if mid is not None:
                    order.add(mid)
            missing = sorted(ledger.required[qi] - order.seen)
            for mid in missing:
                problems.add("confirmed message lost", "%s/%d/%d" % (name, *mid))
        summary = summarize(mids, ledger)
        if problems:
            return mids, summary
        for qi in range(len(QUEUES)):
            if len(got[qi]) > KEEP:
                last = len(got[qi]) - KEEP - 1
                for mid in mids[qi][:last + 1]:
                    ledger.acknowledge(qi, mid)
                channels[qi].basic_ack(got[qi][last][0], multiple=True)
        return mids, summary
    finally:
        if conn.is_open:
            conn.close()


def inject_fault(fault, got, ledger):
    """Alters what the check receives as a faulty broker would have delivered it (testing the
    test). The message chosen is one the broker confirmed."""
    for qi, deliveries in enumerate(got):
        for i, (tag, properties, body) in enumerate(deliveries):
            parts = body.split(b" ", 4)
            mid = (int(parts[2]), int(parts[3]))
            if i == 0 or mid not in ledger.required[qi]:
                continue
            if fault == "lose":
                del deliveries[i]
            elif fault == "duplicate":
                deliveries.insert(i + 1, deliveries[i])
            elif fault == "reorder":
                deliveries[i - 1], deliveries[i] = deliveries[i], deliveries[i - 1]
            elif fault == "corrupt":
                deliveries[i] = (tag, properties, body[:-1] + bytes([body[-1] ^ 1]))
            elif fault == "phantom":
                rnd = max(ledger.states[qi])
                seq = len(ledger.states[qi][rnd]) + 7
                deliveries.append((0, expected_properties(qi, rnd, seq),
                                   expected_body(qi, rnd, seq)))
            return
    raise Failure("--inject %s: no confirmed message to alter" % fault)


def summarize(mids, ledger):
    """'q0 210, q1 4010, q2 4022' messages, and how many of them were confirmed (and not acked),
    acknowledged earlier, never confirmed, or not intact messages this test published there."""
    counts = {"confirmed": 0, "acked earlier": 0, "unconfirmed": 0, "bad": 0}
    per_queue = []
    for qi, found in mids.items():
        per_queue.append("%s %d" % (QUEUES[qi], len(found)))
        for mid in found:
            state = None if mid is None else ledger.state(qi, mid)
            if state is None:
                counts["bad"] += 1
            elif state & ACKED:
                counts["acked earlier"] += 1
            elif state & CONFIRMED:
                counts["confirmed"] += 1
            else:
                counts["unconfirmed"] += 1
    return "%s (%s)" % (", ".join(per_queue), ", ".join("%s %d" % kv for kv in counts.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warren", help="the warren binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, printed")
    parser.add_argument("--max-kill-delay", type=float, default=1.0,
                        help="the kill comes 0.05..this many seconds after publishing starts")
    parser.add_argument("--control", action="store_true",
                        help="no kill, no restart: the checks alone (an in-memory broker passes)")
    parser.add_argument("--inject", choices=INJECT_FAULTS,
                        help="alter what the first check receives; the test must then fail")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # pika logs every connection the kill breaks

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    print("crash_test: seed %d (replay: --seed %d), %d rounds%s" % (
        seed, seed, args.rounds, ", control mode (no kills)" if args.control else ""), flush=True)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="warren-crash-")
    broker = Broker(os.path.abspath(args.warren), os.path.join(work, "data"), work)
    ledger = Ledger()
    began = time.monotonic()
    passed = False
    try:
        port, start_seconds = broker.start()
        for rnd in range(1, args.rounds + 1):
            kill_after = rng.uniform(0.05, args.max_kill_delay)
            # Every third round also kills the restarting broker, at a random point within about
            # the time its last start took, i.e. mostly during recovery.
            recovery_kill = rng.uniform(0.0, 1.2 * start_seconds) if rnd % 3 == 2 else None
            problems = Problems()
            stop = (lambda: None) if args.control else broker.kill
            phase = PublishPhase(port, ledger, rnd, problems, kill_after, stop, args.control)
            phase.run()
            line = "round %d: published %d, confirmed %d, %s after %.2f s; live consumer got %d" % (
                rnd, ledger.published(rnd), ledger.confirmed(rnd),
                "stopped publishing" if args.control else "SIGKILL", kill_after,
                phase.live_received)
            if not args.control:
                if recovery_kill is not None:
                    broker.spawn()
                    time.sleep(recovery_kill)
                    was_running = broker.alive()
                    broker.kill()
                    line += "; SIGKILL %.3f s into restart%s" % (
                        recovery_kill, "" if was_running else " (it had already exited)")
                ledger.acked_by_this_broker.clear()
                port, start_seconds = broker.start()
                line += "; restarted in %.2f s" % start_seconds
            mids, summary = consume_all(port, ledger, problems, args.inject if rnd == 1 else None)
            print(line + "\n  found " + summary, flush=True)
            if problems:
                raise Failure("round %d (seed %d):\n%s" % (rnd, seed, problems.report()))

        broker.stop()
        if not args.control:
            acked_before_stop = set(ledger.acked_by_this_broker)
            port, start_seconds = broker.start()
            problems = Problems()
            mids, summary = consume_all(port, ledger, problems)
            for qi, found in mids.items():
                for mid in found:
                    if (qi, mid) in acked_before_stop:
                        problems.add("acknowledged message back after a clean stop",
                                     "%s/%d/%d" % (QUEUES[qi], *mid))
            print("clean stop (SIGTERM, exit 0) and restart in %.2f s\n  found %s" % (
                start_seconds, summary), flush=True)
            if problems:
                raise Failure("after a clean stop (seed %d):\n%s" % (seed, problems.report()))
            broker.stop()
        passed = True
    except (Failure, pika.exceptions.AMQPError) as e:
        print("crash_test: FAILED: %s" % e, flush=True)
        if broker.proc is not None and broker.proc.poll() is not None:
            print("warren had exited with status %d (%s):\n%s" % (
                broker.proc.returncode, broker.log_path, broker.log_tail()), flush=True)
    finally:
        if broker.alive():
            broker.kill()
        if passed and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("crash_test: work directory (data, logs) kept in %s" % work)
    print("crash_test: %s in %.1f s" % ("passed" if passed else "FAILED", time.monotonic() - began))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
