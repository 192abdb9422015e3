"""posthog 7.91.1: server.ids.at-least-one (found by identity-conformance).

SDK: capture(distinct_id=None) is accepted without an error (debug is off, so not even logged as one) and sent as a personless event ($process_person_profile=false) under a random uuid4 distinct_id.

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.ids.at-least-one.py http://127.0.0.1:8080/posthog

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

from posthog import Posthog

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/posthog'
client = Posthog('phc_identity_conformance', host=URL)


def call(number, what, statement):
    try:
        statement()
    except Exception as exc:
        print(f"call {number} ({what}): refused: {type(exc).__name__}", flush=True)
    else:
        print(f"call {number} ({what}): accepted", flush=True)


def step_1():
    client.capture('Signed Up#100001', distinct_id=None, properties={})


call(1, 'track', step_1)


def step_2():
    client.flush()


call(2, 'flush', step_2)


def step_3():
    client.flush()


call(3, 'flush', step_3)


client.shutdown()
