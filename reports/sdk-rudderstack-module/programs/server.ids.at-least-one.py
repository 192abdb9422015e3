"""rudder-sdk-python 2.1.9: server.ids.at-least-one (found by identity-conformance).

SDK: an empty string counts as an id: track(user_id=None or '', anonymous_id='') is accepted and sent with anonymousId '' (the fork keeps Segment's require('user_id or anonymous_id', user_id or anonymous_id, ID_TYPES), a type check that '' passes); None/None is refused.

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.ids.at-least-one.py http://127.0.0.1:8080/rudderstack

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

import rudderstack.analytics as rudder_analytics

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/rudderstack'
rudder_analytics.write_key = 'identity-conformance'; rudder_analytics.dataPlaneUrl = URL


def call(number, what, statement):
    try:
        statement()
    except Exception as exc:
        print(f"call {number} ({what}): refused: {type(exc).__name__}", flush=True)
    else:
        print(f"call {number} ({what}): accepted", flush=True)


def step_1():
    rudder_analytics.track(user_id=None, event='Signed Up#100001', properties={}, anonymous_id='')


call(1, 'track', step_1)


def step_2():
    rudder_analytics.flush()


call(2, 'flush', step_2)


rudder_analytics.shutdown()
