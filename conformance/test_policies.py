"""What policies do to queues and exchanges, as RabbitMQ 3.10 applies them: set through the
management HTTP API (PUT /api/policies/{vhost}/{name}) on both brokers, they take effect on
matching queues and exchanges at once, the highest priority wins, the lower of a queue's
argument and its policy's limit applies, and a queue's own dead-letter settings and overflow
win over its policy's. RabbitMQ applies a policy asynchronously, so effects are polled for."""

import time
import uuid

import pika
import pytest

from helpers import WAIT, confirming_channel, dead_letter_queue, get_one, message_count, wait_for_count


@pytest.fixture
def policies(management):
    """set(pattern, definition, priority=0, apply_to="all") -> name; deleted after the test."""
    names = []

    def set_policy(pattern, definition, priority=0, apply_to="all"):
        name = "conf-policy-" + uuid.uuid4().hex[:12]
        status, _, body = management.put(
            "/api/policies/%2F/" + name,
            {"pattern": pattern, "definition": definition, "priority": priority, "apply-to": apply_to},
        )
        assert status == 201, body
        names.append(name)
        return name

    yield set_policy
    for name in names:
        management.delete("/api/policies/%2F/" + name)


def exact(name):
    return "^" + name + "$"


def publish(ch, queue, count, prefix="m"):
    for i in range(count):
        ch.basic_publish("", queue, b"%s%d" % (prefix.encode(), i))


def test_message_ttl_policy_expires_messages(broker, policies):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q)
    policies(exact(q), {"message-ttl": 50})
    # The policy reaches the queue asynchronously: publish until a message expires.
    deadline = time.monotonic() + WAIT
    while True:
        ch.basic_publish("", q, b"short")
        time.sleep(0.2)
        if message_count(ch, q) == 0 or time.monotonic() > deadline:
            break
    assert message_count(ch, q) == 0


def test_max_length_policy_trims_an_existing_queue(broker, management, policies):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q)
    publish(ch, q, 5)
    name = policies(exact(q), {"max-length": 2})
    assert wait_for_count(ch, q, 2) == 2
    # The newest stay (drop-head).
    assert [get_one(ch, q)[2] for _ in range(2)] == [b"m3", b"m4"]
    publish(ch, q, 3, "n")
    assert wait_for_count(ch, q, 2) == 2
    management.delete("/api/policies/%2F/" + name)
    # Without the policy the queue is unbounded again.
    deadline = time.monotonic() + WAIT
    while message_count(ch, q) < 4 and time.monotonic() < deadline:
        ch.basic_publish("", q, b"more")
        time.sleep(0.05)
    assert message_count(ch, q) >= 4


@pytest.mark.parametrize("argument, policy, effective", [(5, 2, 2), (2, 5, 2)])
def test_lower_of_argument_and_policy_max_length_applies(broker, policies, argument, policy, effective):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-max-length": argument})
    policies(exact(q), {"max-length": policy})
    publish(ch, q, 6)
    assert wait_for_count(ch, q, effective) == effective
    time.sleep(0.2)
    publish(ch, q, 1, "late")
    assert message_count(ch, q) == effective


def test_dead_letter_exchange_policy(broker, policies):
    ch = confirming_channel(broker)
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q)
    policies(exact(q), {"dead-letter-exchange": dlx})
    # Until the policy has reached the queue, a rejected message is simply dropped.
    deadline = time.monotonic() + WAIT
    while True:
        ch.basic_publish("", q, b"reject me")
        method, _p, _b = get_one(ch, q, auto_ack=False)
        ch.basic_reject(method.delivery_tag, requeue=False)
        time.sleep(0.05)
        got = ch.basic_get(dlq, auto_ack=True)
        if got[0] is not None or time.monotonic() > deadline:
            break
    assert got[0] is not None
    death = got[1].headers["x-death"][0]
    assert (death["reason"], death["queue"], death["count"]) == ("rejected", q, 1)


def test_queue_argument_dead_letter_exchange_wins_over_the_policy(broker, policies):
    ch = confirming_channel(broker)
    own_x, own_q = dead_letter_queue(broker, ch)
    policy_x, policy_q = dead_letter_queue(broker, ch)
    q = broker.queue_name("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": own_x})
    policies(exact(q), {"dead-letter-exchange": policy_x, "max-length": 1})
    # The max-length tells when the policy has arrived: the queue keeps one message.
    publish(ch, q, 3)
    assert wait_for_count(ch, q, 1) == 1
    ch.basic_publish("", q, b"reject me")
    assert wait_for_count(ch, q, 1) == 1
    method, _p, body = get_one(ch, q, auto_ack=False)
    ch.basic_reject(method.delivery_tag, requeue=False)
    assert get_one(ch, own_q)[2] in (b"m0", b"m1", body)
    time.sleep(0.1)
    assert message_count(ch, policy_q) == 0


def test_overflow_policy_reject_publish_nacks(broker, policies):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q)
    policies(exact(q), {"max-length": 1, "overflow": "reject-publish"})
    deadline = time.monotonic() + WAIT
    nacked = False
    while not nacked and time.monotonic() < deadline:
        try:
            ch.basic_publish("", q, b"x")
        except pika.exceptions.NackError:
            nacked = True
        time.sleep(0.02)
    assert nacked
    assert message_count(ch, q) == 1


def test_highest_priority_policy_applies(broker, policies):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q)
    policies(exact(q), {"max-length": 3}, priority=1)
    policies("^" + q[:12], {"max-length": 1}, priority=0)
    publish(ch, q, 5)
    assert wait_for_count(ch, q, 3) == 3
    time.sleep(0.2)
    publish(ch, q, 2, "late")
    assert message_count(ch, q) == 3


def test_policy_for_exchanges_leaves_queues_alone(broker, policies):
    ch = confirming_channel(broker)
    q = broker.queue_name()
    ch.queue_declare(q)
    policies(exact(q), {"max-length": 1}, apply_to="exchanges")
    time.sleep(0.3)
    publish(ch, q, 3)
    assert message_count(ch, q) == 3


def test_alternate_exchange_policy(broker, policies):
    ch = confirming_channel(broker)
    x, ae = broker.exchange_name("main"), broker.exchange_name("ae")
    unrouted = broker.queue_name("unrouted")
    ch.exchange_declare(x, "direct")
    ch.exchange_declare(ae, "fanout")
    ch.queue_declare(unrouted)
    ch.queue_bind(unrouted, ae)
    policies(exact(x), {"alternate-exchange": ae}, apply_to="exchanges")
    deadline = time.monotonic() + WAIT
    while message_count(ch, unrouted) == 0 and time.monotonic() < deadline:
        ch.basic_publish(x, "nowhere", b"caught")
        time.sleep(0.05)
    assert get_one(ch, unrouted)[2] == b"caught"


@pytest.mark.parametrize(
    "queue_type",
    ["quorum", pytest.param("classic", marks=pytest.mark.warren_only)],
)
def test_delivery_limit_policy(broker, policies, queue_type):
    ch = confirming_channel(broker)
    dlx, dlq = dead_letter_queue(broker, ch)
    q = broker.queue_name()
    ch.queue_declare(q, durable=True, arguments={"x-queue-type": queue_type})
    policies(exact(q), {"delivery-limit": 1, "dead-letter-exchange": dlx})
    time.sleep(0.3)  # the policy reaches the queue asynchronously in RabbitMQ
    ch.basic_publish("", q, b"poison")
    for _ in range(2):  # delivered, returned; delivered again, returned: over the limit
        method, _p, _b = get_one(ch, q, auto_ack=False)
        ch.basic_nack(method.delivery_tag, requeue=True)
    _m, props, body = get_one(ch, dlq)
    assert body == b"poison"
    assert props.headers["x-death"][0]["reason"] == "delivery_limit"
    assert message_count(ch, q) == 0
