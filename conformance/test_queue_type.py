"""x-queue-type on queue.declare: classic (the default) and quorum, quorum's rules for new
queues (durable, not exclusive, not auto-delete, not server-named, no classic-only
arguments), the arguments classic queues refuse, unknown types, and how x-queue-type takes
part in redeclaration, as RabbitMQ 3.10 answers."""

import pytest

from helpers import bodies, channel_error, consume

QUORUM = {"x-queue-type": "quorum"}


def invalid_arg(arg, q, queue_type):
    return "PRECONDITION_FAILED - invalid arg '%s' for queue '%s' in vhost '/' of queue type %s" % (
        arg,
        q,
        queue_type,
    )


def test_quorum_queue_declares_and_routes(broker, ch):
    q = broker.queue_name()
    ok = ch.queue_declare(q, durable=True, arguments=QUORUM)
    assert ok.method.queue == q
    ch.basic_publish("", q, b"m")
    assert bodies(consume(broker.connection, ch, q, 1)) == [b"m"]


@pytest.mark.parametrize("queue_type", [None, "classic"])
def test_classic_queue_declares(broker, ch, queue_type):
    q = broker.queue_name()
    args = {"x-queue-type": queue_type} if queue_type else {}
    assert ch.queue_declare(q, arguments=args).method.queue == q


@pytest.mark.parametrize(
    "flags, prop",
    [
        (dict(durable=False), "non-durable"),
        (dict(durable=True, exclusive=True), "exclusive-owner"),
        (dict(durable=True, auto_delete=True), "auto-delete"),
        # RabbitMQ checks auto-delete, then exclusive, then durability.
        (dict(durable=False, auto_delete=True, exclusive=True), "auto-delete"),
        (dict(durable=False, exclusive=True), "exclusive-owner"),
    ],
)
def test_quorum_refuses_property(broker, ch, flags, prop):
    q = broker.queue_name()
    with channel_error(
        406, "PRECONDITION_FAILED - invalid property '%s' for queue '%s' in vhost '/'" % (prop, q)
    ):
        ch.queue_declare(q, arguments=QUORUM, **flags)


@pytest.mark.parametrize(
    "durable, extra",
    [(True, {}), (False, {"x-max-priority": 3})],  # checked before anything else
)
def test_quorum_refuses_server_named(broker, ch, durable, extra):
    with channel_error(
        406,
        "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue",
    ):
        ch.queue_declare("", durable=durable, arguments=dict(QUORUM, **extra))


@pytest.mark.parametrize(
    "arg, value",
    [
        ("x-max-priority", 5),
        ("x-queue-mode", "lazy"),
        ("x-queue-version", 2),
        ("x-queue-master-locator", "min-masters"),
        ("x-max-age", "1D"),
        ("x-initial-cluster-size", 1),
        ("x-stream-max-segment-size-bytes", 1000),
    ],
)
def test_quorum_refuses_argument(broker, ch, arg, value):
    q = broker.queue_name()
    with channel_error(406, invalid_arg(arg, q, "rabbit_quorum_queue")):
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum", arg: value})


@pytest.mark.parametrize(
    "arg, value",
    [
        ("x-overflow", "drop-head"),
        ("x-overflow", "reject-publish"),
        ("x-message-ttl", 1000),
        ("x-expires", 60000),
        ("x-max-length", 5),
        ("x-max-length-bytes", 100),
        ("x-single-active-consumer", True),
        ("x-delivery-limit", 3),
        ("x-dead-letter-exchange", "dlx"),
        ("x-dead-letter-strategy", "at-least-once"),
        ("x-max-in-memory-length", 3),
        ("x-quorum-initial-group-size", 1),
        ("x-no-such-argument", 1),  # unknown arguments are accepted
    ],
)
def test_quorum_accepts_argument(broker, ch, arg, value):
    q = broker.queue_name()
    args = {"x-queue-type": "quorum", arg: value}
    assert ch.queue_declare(q, durable=True, arguments=args).method.queue == q


@pytest.mark.parametrize(
    "arg, value",
    [
        # x-delivery-limit too in RabbitMQ 3.10; Warren's classic queues support it.
        ("x-dead-letter-strategy", "at-least-once"),
        ("x-max-in-memory-length", 3),
        ("x-max-in-memory-bytes", 1000),
        ("x-quorum-initial-group-size", 1),
        ("x-max-age", "1D"),
        ("x-queue-leader-locator", "client-local"),
        ("x-stream-max-segment-size-bytes", 1000),
    ],
)
def test_classic_refuses_argument(broker, ch, arg, value):
    q = broker.queue_name()
    with channel_error(406, invalid_arg(arg, q, "rabbit_classic_queue")):
        ch.queue_declare(q, arguments={arg: value})


def test_first_refused_argument_in_wire_order_is_reported(broker, ch):
    q = broker.queue_name()
    args = {"x-queue-type": "quorum", "x-queue-mode": "lazy", "x-max-priority": 3}
    with channel_error(406, invalid_arg("x-queue-mode", q, "rabbit_quorum_queue")):
        ch.queue_declare(q, durable=True, arguments=args)
    ch = broker.channel()
    args = {"x-max-priority": 3, "x-queue-type": "quorum", "x-queue-mode": "lazy"}
    with channel_error(406, invalid_arg("x-max-priority", q, "rabbit_quorum_queue")):
        ch.queue_declare(q, durable=True, arguments=args)


def test_refused_argument_comes_before_properties(broker, ch):
    q = broker.queue_name()
    with channel_error(406, invalid_arg("x-queue-mode", q, "rabbit_quorum_queue")):
        ch.queue_declare(q, durable=False, arguments={"x-queue-type": "quorum", "x-queue-mode": "lazy"})


def test_classic_refused_argument_names_server_named_queue(broker, ch):
    with channel_error(
        406,
        text_prefix="PRECONDITION_FAILED - invalid arg 'x-max-age' for queue 'amq.gen-",
    ) as info:
        ch.queue_declare("", arguments={"x-max-age": "1D"})
    assert info.value.reply_text.endswith("in vhost '/' of queue type rabbit_classic_queue")


@pytest.mark.parametrize("name", ["bogus", "", "Quorum"])
def test_unknown_queue_type(broker, ch, name):
    q = broker.queue_name()
    with channel_error(
        406,
        "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '%s' in vhost '/': "
        "\"unsupported queue type '%s'\"" % (q, name),
    ):
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": name})


@pytest.mark.parametrize("value, type_name", [(1, "signedint"), (b"quorum", "binary")])
def test_queue_type_of_wrong_type(broker, ch, value, type_name):
    q = broker.queue_name()
    with channel_error(
        406,
        "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '%s' in vhost '/': "
        "{unacceptable_type,%s}" % (q, type_name),
    ):
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": value})


def test_unknown_type_is_reported_before_refused_arguments(broker, ch):
    q = broker.queue_name()
    with channel_error(
        406,
        "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '%s' in vhost '/': "
        "\"unsupported queue type 'bogus'\"" % q,
    ):
        ch.queue_declare(q, durable=True, arguments={"x-max-age": "1D", "x-queue-type": "bogus"})


def test_redeclare_quorum_without_type_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, durable=True, arguments=QUORUM)
    ch.queue_declare(q, durable=True, arguments=QUORUM)  # equivalent
    ch.queue_declare(q, passive=True)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '%s' in vhost '/': "
        "received none but current is the value 'quorum' of type 'longstr'" % q,
    ):
        ch.queue_declare(q, durable=True)


def test_redeclare_quorum_as_classic_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, durable=True, arguments=QUORUM)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '%s' in vhost '/': "
        "received 'classic' but current is 'quorum'" % q,
    ):
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": "classic"})


def test_redeclare_checks_equivalence_not_type_rules(broker, ch):
    # On redeclaration only equivalence counts, and only of the arguments the type supports:
    # an argument quorum refuses passes, and an unknown type is reported as inequivalent.
    q = broker.queue_name()
    ch.queue_declare(q, durable=True, arguments=QUORUM)
    ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum", "x-max-priority": 3})
    ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum", "x-queue-mode": "lazy"})
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '%s' in vhost '/': "
        "received 'bogus' but current is 'quorum'" % q,
    ):
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": "bogus"})


def test_redeclare_quorum_with_other_durability_names_durable(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, durable=True, arguments=QUORUM)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'durable' for queue '%s' in vhost '/': "
        "received 'false' but current is 'true'" % q,
    ):
        ch.queue_declare(q, durable=False, arguments=QUORUM)


@pytest.mark.parametrize("first, second", [(None, "classic"), ("classic", None)])
def test_classic_and_no_type_are_equivalent(broker, ch, first, second):
    q = broker.queue_name()
    ch.queue_declare(q, arguments={"x-queue-type": first} if first else {})
    ch.queue_declare(q, arguments={"x-queue-type": second} if second else {})


def test_redeclare_classic_as_quorum_is_406(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, durable=True)
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '%s' in vhost '/': "
        "received the value 'quorum' of type 'longstr' but current is none" % q,
    ):
        ch.queue_declare(q, durable=True, arguments=QUORUM)
    ch = broker.channel()
    q2 = broker.queue_name()
    ch.queue_declare(q2, durable=True, arguments={"x-queue-type": "classic"})
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '%s' in vhost '/': "
        "received 'quorum' but current is 'classic'" % q2,
    ):
        ch.queue_declare(q2, durable=True, arguments=QUORUM)


@pytest.mark.warren_only
def test_stream_queues_are_not_supported_yet(broker, ch):
    q = broker.queue_name()
    with channel_error(
        406,
        "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '%s' in vhost '/': "
        "stream queues are not supported by Warren yet" % q,
    ):
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": "stream"})


def test_redeclare_compares_arguments_the_type_supports(broker, ch):
    q = broker.queue_name()
    ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 3})
    with channel_error(
        406,
        "PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue '%s' in vhost '/': "
        "received '4' but current is '3'" % q,
    ):
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 4})


def test_refused_argument_is_reported_even_with_a_bad_value(broker, ch):
    # RabbitMQ 3.10 does not check the value of an argument the queue type refuses.
    q = broker.queue_name()
    with channel_error(406, invalid_arg("x-max-priority", q, "rabbit_quorum_queue")):
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum", "x-max-priority": "x"})
