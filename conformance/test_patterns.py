"""The messaging patterns people build on AMQP, end to end: work queues, publish/subscribe,
topic routing, RPC, and confirmed bulk publishing."""

import uuid

import pika

from helpers import Confirms, get_all, pump, wait_for_count


def test_work_queue_with_prefetch_and_acks(broker):
    q = broker.queue_name()
    producer = broker.connect()
    pch = producer.channel()
    pch.queue_declare(q, durable=True)
    tasks = [("task-%d" % i).encode() for i in range(40)]
    for t in tasks:
        pch.basic_publish("", q, t, pika.BasicProperties(delivery_mode=2))
    assert wait_for_count(pch, q, len(tasks)) == len(tasks)

    done = {"w1": [], "w2": []}
    workers = []
    for name in done:
        conn = broker.connect()
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1)

        def work(ch_, method, _props, body, name=name):
            done[name].append(body)
            ch_.basic_ack(method.delivery_tag)

        ch.basic_consume(q, work)
        workers.append(conn)

    def all_done():
        for conn in workers:
            conn.process_data_events(time_limit=0)
        return len(done["w1"]) + len(done["w2"]) >= len(tasks)

    assert pump(producer, all_done, timeout=15)
    # Every task exactly once, each worker did some, each in queue order.
    assert sorted(done["w1"] + done["w2"]) == sorted(tasks)
    assert done["w1"] and done["w2"]
    for name in done:
        assert done[name] == sorted(done[name], key=tasks.index)
    for conn in workers:
        conn.close()
    assert wait_for_count(pch, q, 0) == 0


def test_fanout_publish_subscribe_to_three_queues(broker, conn, ch):
    e = broker.exchange_name()
    ch.exchange_declare(e, "fanout")
    subscribers = []
    for i in range(3):
        q = ch.queue_declare("", exclusive=True).method.queue
        ch.queue_bind(q, e)
        subscribers.append(q)
    events = [("event-%d" % i).encode() for i in range(20)]
    for body in events:
        ch.basic_publish(e, "", body)
    got = {q: [] for q in subscribers}
    for q in subscribers:
        ch.basic_consume(q, lambda _c, m, p, b, q=q: got[q].append(b), auto_ack=True)
    assert pump(conn, lambda: all(len(v) == len(events) for v in got.values()))
    for q in subscribers:
        assert got[q] == events


def test_topic_routing_pattern(broker, ch):
    e = broker.exchange_name()
    ch.exchange_declare(e, "topic")
    bindings = {
        "critical": ["*.critical"],
        "kernel": ["kern.#"],
        "everything": ["#"],
        "auth-or-cron-errors": ["auth.error", "cron.error"],
    }
    queues = {}
    for name, keys in bindings.items():
        q = ch.queue_declare("", exclusive=True).method.queue
        for key in keys:
            ch.queue_bind(q, e, key)
        queues[name] = q
    logs = ["kern.critical", "kern.info", "auth.error", "cron.critical", "cron.error", "app.debug", "kern"]
    for key in logs:
        ch.basic_publish(e, key, key.encode())
    result = {name: [b.decode() for b in get_all(ch, q)] for name, q in queues.items()}
    assert result == {
        "critical": ["kern.critical", "cron.critical"],
        "kernel": ["kern.critical", "kern.info", "kern"],
        "everything": logs,
        "auth-or-cron-errors": ["auth.error", "cron.error"],
    }


def test_rpc_with_reply_to_and_correlation_id(broker):
    rpc_queue = broker.queue_name("rpc")
    server = broker.connect()
    sch = server.channel()
    sch.queue_declare(rpc_queue)
    sch.basic_qos(prefetch_count=1)

    def serve(ch_, method, props, body):
        n = int(body)
        ch_.basic_publish(
            "",
            props.reply_to,
            str(n * n).encode(),
            pika.BasicProperties(correlation_id=props.correlation_id),
        )
        ch_.basic_ack(method.delivery_tag)

    sch.basic_consume(rpc_queue, serve)

    client = broker.connect()
    cch = client.channel()
    reply_queue = cch.queue_declare("", exclusive=True).method.queue
    replies = {}
    cch.basic_consume(
        reply_queue, lambda _c, m, p, b: replies.__setitem__(p.correlation_id, int(b)), auto_ack=True
    )
    requests = {}
    for n in range(1, 11):
        cid = str(uuid.uuid4())
        requests[cid] = n
        cch.basic_publish(
            "", rpc_queue, str(n).encode(), pika.BasicProperties(reply_to=reply_queue, correlation_id=cid)
        )

    def answered():
        server.process_data_events(time_limit=0)
        return len(replies) == len(requests)

    assert pump(client, answered, timeout=10)
    assert replies == {cid: n * n for cid, n in requests.items()}


def test_publisher_confirms_for_1000_messages(broker, conn, ch):
    q = broker.queue_name()
    ch.queue_declare(q)
    confirms = Confirms(ch)
    for i in range(1000):
        confirms.publish("", q, ("m%d" % i).encode())
    assert confirms.wait_all(timeout=20)
    assert confirms.acked == set(range(1, 1001))
    assert confirms.nacked == set()
    assert wait_for_count(ch, q, 1000) == 1000
    assert get_all(ch, q) == [("m%d" % i).encode() for i in range(1000)]
