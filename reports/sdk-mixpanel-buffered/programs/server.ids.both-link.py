"""mixpanel 5.4.1: server.ids.both-link (found by identity-conformance).

Follows from the one-id API: no event carries both ids, so an anonymous id's earlier events never resolve to the user who later calls with both.

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.ids.both-link.py http://127.0.0.1:8080/mixpanel

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

from mixpanel import BufferedConsumer, Mixpanel

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/mixpanel'
consumer = BufferedConsumer(events_url=URL + '/track', people_url=URL + '/engage'); client = Mixpanel('identity-conformance-token', consumer=consumer)


def call(number, what, statement):
    try:
        statement()
    except Exception as exc:
        print(f"call {number} ({what}): refused: {type(exc).__name__}", flush=True)
    else:
        print(f"call {number} ({what}): accepted", flush=True)


def step_1():
    client.track('anon-a', 'a#100001', {})


call(1, 'track', step_1)


def step_2():
    client.track('u1', 'a#100002', {})


call(2, 'track', step_2)


def step_3():
    consumer.flush()


call(3, 'flush', step_3)


def step_4():
    consumer.flush()


call(4, 'flush', step_4)


def step_5():
    consumer.flush()


call(5, 'flush', step_5)
