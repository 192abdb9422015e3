"""posthog 7.91.1: server.ids.both-link (found by identity-conformance).

Follows from the one-id API: no event carries both ids, so an anonymous id's earlier events never resolve to the user who later calls with both. An identify naming only an anonymous id is set(distinct_id=<anonymous id>), so downstream that identify is a person of its own named by the anonymous id ('resolves to user 'anon-a''); replay(adapter='sdk-posthog', machine='server', steps=[('identify', {'user_id': None, 'anonymous_id': 'anon-a', 'traits': {}}), ('track', {'name': 'a', 'properties': {}, 'user_id': 'u3', 'anonymous_id': 'anon-a'}), ('flush', {})]) shows it.

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.ids.both-link.py http://127.0.0.1:8080/posthog

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

from posthog import Posthog

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/posthog'
client = Posthog('phc_identity_conformance', host=URL, sync_mode=True, gzip=False, max_retries=1, timeout=2, capture_mode='v0')


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
    client.capture('a#100001', distinct_id='anon-a', properties=properties)
    return {'properties': (properties, {})}


call(1, 'track', step_1)


def step_2():
    properties = {}
    client.capture('a#100002', distinct_id='u1', properties=properties)
    return {'properties': (properties, {})}


call(2, 'track', step_2)


def step_3():
    client.flush()
    return {}


call(3, 'flush', step_3)


def step_4():
    client.flush()
    return {}


call(4, 'flush', step_4)


client.shutdown()
