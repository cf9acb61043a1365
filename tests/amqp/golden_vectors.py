#!/usr/bin/python3
"""Writes golden AMQP frames made by pika's own encoder (Debian's python3-pika).

amqp_golden_test decodes each frame with Warren's codec and re-encodes it: the bytes must
be identical, so Warren agrees with a real client and not only with itself.

    golden_vectors.py OUT_FILE [--corpus DIR]

OUT_FILE gets one frame per line: "<name> <hex bytes>". With --corpus, each frame is also
written as a file in DIR, the seed corpus of the fuzz target.
"""

import argparse
import datetime
import decimal
import os
import sys

from pika import frame, spec

# A table with every type pika encodes (S x t l I D T F A V), nested.
TABLE = {
    "string": "héllo",
    "bytes": b"\x00\x01\xfe\xff",
    "true": True,
    "false": False,
    "int32": -123456,
    "int64": 1 << 40,
    "decimal": decimal.Decimal("3.14"),
    "timestamp": datetime.datetime(2026, 11, 23, 1, 2, 3),
    "nested": {"inner": {"deep": [1, "two", None, {"x": False}]}},
    "array": [1, -2, "three", [4, 5], {"k": "v"}],
    "void": None,
}

SERVER_PROPERTIES = {
    "product": "RabbitMQ",
    "version": "3.10.8",
    "capabilities": {
        "publisher_confirms": True,
        "exchange_exchange_bindings": True,
        "basic.nack": True,
        "consumer_cancel_notify": True,
        "connection.blocked": True,
        "per_consumer_qos": True,
    },
}

METHODS = [
    ("connection.start", 0,
     spec.Connection.Start(0, 9, SERVER_PROPERTIES, "AMQPLAIN PLAIN", "en_US")),
    ("connection.start-ok", 0,
     spec.Connection.StartOk({"product": "pika", "information": TABLE}, "PLAIN",
                             "\x00guest\x00guest", "en_US")),
    ("connection.tune", 0, spec.Connection.Tune(2047, 131072, 60)),
    ("connection.open", 0, spec.Connection.Open("/vhost", "", True)),
    ("connection.close", 0,
     spec.Connection.Close(320, "CONNECTION_FORCED - broker forced connection closure", 60, 40)),
    ("connection.blocked", 0, spec.Connection.Blocked("low on memory")),
    ("channel.open", 7, spec.Channel.Open()),
    ("channel.close", 7, spec.Channel.Close(404, "NOT_FOUND - no queue 'q' in vhost '/'", 50, 10)),
    ("exchange.declare", 7,
     spec.Exchange.Declare(0, "orders", "topic", False, True, True, True, False,
                           {"alternate-exchange": "unrouted"})),
    ("exchange.bind", 7, spec.Exchange.Bind(0, "dest", "src", "a.*.c", True, {"x": 1})),
    ("queue.declare", 7,
     spec.Queue.Declare(0, "tasks", False, True, False, True, False, TABLE)),
    ("queue.declare-ok", 7, spec.Queue.DeclareOk("amq.gen-JzTY20BRgKO-HjmUJj0wLg", 42, 3)),
    ("queue.bind", 7, spec.Queue.Bind(0, "tasks", "amq.direct", "rk", True, {"x-match": "all"})),
    ("queue.delete", 7, spec.Queue.Delete(0, "tasks", True, False, True)),
    ("basic.qos", 7, spec.Basic.Qos(0, 200, True)),
    ("basic.consume", 7,
     spec.Basic.Consume(0, "tasks", "ctag-1", False, True, True, False, {"x-priority": 5})),
    ("basic.publish", 7, spec.Basic.Publish(0, "amq.topic", "stock.usd.nyse", True, False)),
    ("basic.deliver", 7,
     spec.Basic.Deliver("ctag-1", 0x0102030405060708, True, "amq.topic", "stock.usd.nyse")),
    ("basic.get-ok", 7, spec.Basic.GetOk(99, False, "", "tasks", 12)),
    ("basic.ack", 7, spec.Basic.Ack(1 << 40, True)),
    ("basic.nack", 7, spec.Basic.Nack(77, True, False)),
    ("basic.reject", 7, spec.Basic.Reject(78, False)),
    ("basic.return", 7, spec.Basic.Return(312, "NO_ROUTE", "amq.direct", "nowhere")),
    ("confirm.select", 7, spec.Confirm.Select(False)),
    ("tx.commit", 7, spec.Tx.Commit()),
]

PROPERTIES = spec.BasicProperties(
    content_type="application/json",
    content_encoding="gzip",
    headers=TABLE,
    delivery_mode=2,
    priority=9,
    correlation_id="corr-1",
    reply_to="amq.rabbitmq.reply-to",
    expiration="60000",
    message_id="msg-1",
    timestamp=1795000000,
    type="order.created",
    user_id="guest",
    app_id="billing",
    cluster_id="cluster-a",
)


def frames():
    for name, channel, method in METHODS:
        yield name, frame.Method(channel, method).marshal()
    yield "content-header-all-properties", frame.Header(7, 300000, PROPERTIES).marshal()
    yield "content-header-delivery-mode-only", frame.Header(
        7, 16, spec.BasicProperties(delivery_mode=1)).marshal()
    yield "content-body", frame.Body(7, b"payload \x00\xce bytes").marshal()
    yield "heartbeat", frame.Heartbeat().marshal()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_file")
    parser.add_argument("--corpus")
    args = parser.parse_args()
    with open(args.out_file, "w", encoding="ascii") as out:
        for name, data in frames():
            out.write(f"{name} {data.hex()}\n")
            if args.corpus:
                os.makedirs(args.corpus, exist_ok=True)
                with open(os.path.join(args.corpus, name), "wb") as seed:
                    seed.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
