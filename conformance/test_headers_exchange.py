"""Headers exchanges beyond test_exchange.py's basic cases: presence matches (void binding
values), how values of different types compare, the -with-x variants, binding validation,
and headers exchanges in exchange-to-exchange bindings and with alternate exchanges, as
RabbitMQ 3.10's rabbit_exchange_type_headers routes."""

import datetime
import decimal

import pika
import pytest

from helpers import channel_error, get_all


def route(broker, ch, binding, messages):
    """Binds one queue to a new headers exchange with `binding`, publishes each
    (name, headers) of `messages` and returns the names of those routed, in order."""
    x = broker.exchange_name()
    q = broker.queue_name()
    ch.exchange_declare(x, "headers")
    ch.queue_declare(q)
    ch.queue_bind(q, x, "", arguments=binding)
    for name, headers in messages:
        ch.basic_publish(x, "", name.encode(), pika.BasicProperties(headers=headers))
    return [b.decode() for b in get_all(ch, q)]


PRESENCE_MESSAGES = [
    ("str", {"a": "v"}),
    ("int", {"a": 7}),
    ("void", {"a": None}),
    ("table", {"a": {"k": 1}}),
    ("other", {"b": "v"}),
    ("none", None),
]


@pytest.mark.parametrize(
    "binding, expected",
    [
        ({"x-match": "all", "a": None}, ["str", "int", "void", "table"]),
        ({"x-match": "any", "a": None}, ["str", "int", "void", "table"]),
        ({"x-match": "all", "a": None, "b": None}, []),
        ({"x-match": "any", "a": None, "b": None}, ["str", "int", "void", "table", "other"]),
    ],
)
def test_void_binding_value_matches_presence(broker, ch, binding, expected):
    assert route(broker, ch, binding, PRESENCE_MESSAGES) == expected


# Header values compared with a binding value of 1 (a signedint): Erlang's == on the
# decoded values, types ignored at the top level (pika cannot send floats, which RabbitMQ
# also compares by value: tests/server/headers_match_test.cpp covers them).
NUMBER_MESSAGES = [
    ("int", {"a": 1}),
    ("decimal", {"a": decimal.Decimal(1)}),
    ("str", {"a": "1"}),
    ("bool", {"a": True}),
    ("timestamp", {"a": datetime.datetime.fromtimestamp(1, datetime.timezone.utc)}),
    ("array", {"a": [1]}),
]


def test_numbers_compare_by_value_across_types(broker, ch):
    assert route(broker, ch, {"a": 1}, NUMBER_MESSAGES) == ["int", "timestamp"]


def test_large_integers(broker, ch):
    messages = [("equal", {"a": 2**40}), ("off-by-one", {"a": 2**40 + 1})]
    assert route(broker, ch, {"a": 2**40}, messages) == ["equal"]


def test_longstr_and_byte_array_are_equal(broker, ch):
    messages = [("str", {"a": "v"}), ("bytes", {"a": b"v"}), ("other", {"a": "w"})]
    assert route(broker, ch, {"a": b"v"}, messages) == ["str", "bytes"]


def test_nested_values_keep_their_types(broker, ch):
    messages = [
        ("same", {"a": [1, "s"]}),
        # A timestamp 1 equals 1 at the top level, but not inside an array.
        ("timestamp-inside", {"a": [datetime.datetime.fromtimestamp(1, datetime.timezone.utc), "s"]}),
        ("bytes-inside", {"a": [1, b"s"]}),
        ("reordered", {"a": ["s", 1]}),
    ]
    assert route(broker, ch, {"a": [1, "s"]}, messages) == ["same"]


def test_tables_compare_entry_by_entry(broker, ch):
    messages = [
        ("same", {"a": {"k": 1, "l": "v"}}),
        ("other-value", {"a": {"k": 2, "l": "v"}}),
        ("fewer", {"a": {"k": 1}}),
    ]
    assert route(broker, ch, {"a": {"k": 1, "l": "v"}}, messages) == ["same"]


def test_empty_table_equals_empty_array(broker, ch):
    messages = [("array", {"a": []}), ("table", {"a": {}}), ("full", {"a": [1]})]
    assert route(broker, ch, {"a": {}}, messages) == ["array", "table"]


def test_bool_and_void_values(broker, ch):
    messages = [("true", {"a": True}), ("false", {"a": False}), ("one", {"a": 1})]
    assert route(broker, ch, {"a": True}, messages) == ["true"]


WITH_X_MESSAGES = [
    ("both", {"x-k": "v", "a": 1}),
    ("x-only", {"x-k": "v"}),
    ("a-only", {"a": 1}),
    ("x-other", {"x-k": "w", "a": 1}),
]


@pytest.mark.parametrize(
    "x_match, expected",
    [
        ("all", ["both", "a-only", "x-other"]),
        ("any", ["both", "a-only", "x-other"]),
        ("all-with-x", ["both"]),
        ("any-with-x", ["both", "x-only", "a-only", "x-other"]),
    ],
)
def test_x_arguments_take_part_only_with_x(broker, ch, x_match, expected):
    binding = {"x-match": x_match, "x-k": "v", "a": 1}
    assert route(broker, ch, binding, WITH_X_MESSAGES) == expected


def test_x_match_header_in_message_is_an_ordinary_header(broker, ch):
    messages = [("has", {"x-match": "any", "a": 1}), ("hasnt", {"a": 2})]
    assert route(broker, ch, {"x-match": "any", "a": 1}, messages) == ["has"]


def test_invalid_x_match_value_is_406(broker, ch):
    x = broker.exchange_name()
    q = broker.queue_name()
    ch.exchange_declare(x, "headers")
    ch.queue_declare(q)
    with channel_error(
        406,
        'PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, '
        "all-with-x, or any-with-x",
    ):
        ch.queue_bind(q, x, "", arguments={"x-match": "some"})


@pytest.mark.parametrize(
    "value, shown",
    [(1, "signedint (value 1)"), (True, "bool (value true)"), (b"all", 'binary (value <<"all">>)')],
)
def test_x_match_of_wrong_type_is_406(broker, ch, value, shown):
    x = broker.exchange_name()
    ch.exchange_declare(x, "headers")
    dest = broker.exchange_name("dest")
    ch.exchange_declare(dest, "fanout")
    with channel_error(
        406, "PRECONDITION_FAILED - Invalid x-match field type %s; expected longstr" % shown
    ):
        ch.exchange_bind(dest, x, "", arguments={"x-match": value})


def test_headers_exchange_behind_exchange_binding_and_with_alternate(broker, ch):
    src, hx, ae = broker.exchange_name("src"), broker.exchange_name("h"), broker.exchange_name("ae")
    ch.exchange_declare(ae, "fanout")
    ch.exchange_declare(hx, "headers", arguments={"alternate-exchange": ae})
    ch.exchange_declare(src, "topic")
    ch.exchange_bind(hx, src, "h.#")
    matched, unmatched = broker.queue_name("m"), broker.queue_name("u")
    for q in (matched, unmatched):
        ch.queue_declare(q)
    ch.queue_bind(matched, hx, "", arguments={"x-match": "any", "kind": "a"})
    ch.queue_bind(unmatched, ae)
    ch.basic_publish(src, "h.1", b"a", pika.BasicProperties(headers={"kind": "a"}))
    ch.basic_publish(src, "h.2", b"b", pika.BasicProperties(headers={"kind": "b"}))
    ch.basic_publish(src, "h.3", b"c")
    ch.basic_publish(src, "other", b"d", pika.BasicProperties(headers={"kind": "a"}))
    assert get_all(ch, matched) == [b"a"]
    assert get_all(ch, unmatched) == [b"b", b"c"]
