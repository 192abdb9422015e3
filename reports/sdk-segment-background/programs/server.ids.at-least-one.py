"""segment-analytics-python 2.4.0: server.ids.at-least-one (found by identity-conformance).

SDK: an empty string counts as an id, as in sync mode (sdk-segment): track(user_id=None or '', anonymous_id='') is accepted, queued and sent with anonymousId '' (client.py checks only the type of `user_id or anonymous_id`, which is '' here, a str, before it enqueues); None/None and track(user_id='', anonymous_id=None) are refused.

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.ids.at-least-one.py http://127.0.0.1:8080/segment

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

from segment.analytics import Client

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/segment'
client = Client('identity-conformance', host=URL)


def call(number, what, statement):
    try:
        statement()
    except Exception as exc:
        print(f"call {number} ({what}): refused: {type(exc).__name__}", flush=True)
    else:
        print(f"call {number} ({what}): accepted", flush=True)


def step_1():
    client.track(user_id=None, event='Signed Up#100001', properties={}, anonymous_id='')


call(1, 'track', step_1)


def step_2():
    client.flush()


call(2, 'flush', step_2)


client.shutdown()
