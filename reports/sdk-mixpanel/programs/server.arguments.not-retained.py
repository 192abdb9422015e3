"""mixpanel 5.4.1: server.arguments.not-retained (found by identity-conformance).

SDK, same cause: the caller's 'distinct_id', 'token' or 'time' property overwrites the SDK's own field of that name (the identity, the project token, the event time), so it is not sent as the caller's data. Mixpanel documents 'time' as the event time; 'token' and 'distinct_id' are the call's own arguments.

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.arguments.not-retained.py http://127.0.0.1:8080/mixpanel

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

from mixpanel import Consumer, Mixpanel

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/mixpanel'
client = Mixpanel('identity-conformance-token', consumer=Consumer(events_url=URL + '/track', people_url=URL + '/engage', request_timeout=5, retry_limit=1))


def call(number, what, statement):
    try:
        statement()
    except Exception as exc:
        print(f"call {number} ({what}): refused: {type(exc).__name__}", flush=True)
    else:
        print(f"call {number} ({what}): accepted", flush=True)


def step_1():
    client.track('u1', 'Signed Up#100001', {'token': 'intruder-id', 'plan': 'pro'})


call(1, 'track', step_1)


def step_2():
    pass  # the default Consumer sends each call at once


call(2, 'flush', step_2)


def step_3():
    pass  # the default Consumer sends each call at once


call(3, 'flush', step_3)


def step_4():
    pass  # the default Consumer sends each call at once


call(4, 'flush', step_4)
