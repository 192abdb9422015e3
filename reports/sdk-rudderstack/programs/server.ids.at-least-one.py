"""rudder-sdk-python 2.1.9: server.ids.at-least-one (found by identity-conformance).

SDK: an empty string counts as an id: track(user_id=None or '', anonymous_id='') is accepted and sent with anonymousId '' (the fork keeps Segment's require('user_id or anonymous_id', user_id or anonymous_id, ID_TYPES), a type check that '' passes); None/None is refused.

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.ids.at-least-one.py http://127.0.0.1:8080/rudderstack

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

from rudderstack.analytics import Client

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/rudderstack'
client = Client('identity-conformance', host=URL, sync_mode=True, max_retries=1, timeout=2)


def call(number, what, statement):
    # statement() makes the call and returns each dict it passed, with what it held before
    try:
        passed = statement()
    except Exception as exc:
        print(f"call {number} ({what}): refused: {type(exc).__name__}", flush=True)
        return
    changed = [name for name, (now, before) in passed.items() if now != before]
    if not changed:
        print(f"call {number} ({what}): accepted", flush=True)
        return
    print(f"call {number} ({what}): accepted; changed the caller's {', '.join(changed)} dict", flush=True)
    for name in changed:
        print(f"  {name} was {passed[name][1]!r}, now {passed[name][0]!r}", flush=True)


def step_1():
    properties = {}
    client.track(user_id=None, event='Signed Up#100001', properties=properties, anonymous_id='')
    return {'properties': (properties, {})}


call(1, 'track', step_1)


def step_2():
    client.flush()
    return {}


call(2, 'flush', step_2)


def step_3():
    client.flush()
    return {}


call(3, 'flush', step_3)
