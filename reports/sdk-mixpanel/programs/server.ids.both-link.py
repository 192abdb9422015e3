"""mixpanel 5.4.1: server.ids.both-link (found by identity-conformance).

Follows from the one-id API: no event carries both ids, so an anonymous id's earlier events never resolve to the user who later calls with both.

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.ids.both-link.py http://127.0.0.1:8080/mixpanel

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

from mixpanel import Consumer, Mixpanel

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/mixpanel'
client = Mixpanel('identity-conformance-token', consumer=Consumer(events_url=URL + '/track', people_url=URL + '/engage', request_timeout=2, retry_limit=1))


def with_options(properties, timestamp, message_id):
    merged = dict(properties)
    if timestamp is not None:
        merged['time'] = timestamp.timestamp()
    if message_id is not None:
        merged['$insert_id'] = message_id
    return merged


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
    client.track('anon-a', 'a#100001', properties)
    return {'properties': (properties, {})}


call(1, 'track', step_1)


def step_2():
    properties = {}
    client.track('u1', 'a#100002', properties)
    return {'properties': (properties, {})}


call(2, 'track', step_2)


def step_3():
    pass  # the default Consumer sends each call at once
    return {}


call(3, 'flush', step_3)


def step_4():
    pass  # the default Consumer sends each call at once
    return {}


call(4, 'flush', step_4)


def step_5():
    pass  # the default Consumer sends each call at once
    return {}


call(5, 'flush', step_5)
