"""rudder-sdk-python 2.1.9: server.arguments.context-as-given (found by identity-conformance).

SDK: identify() puts the call's traits into the context as context['traits'] (rudderstack/analytics/client.py, identify), so a context the caller passed with its own 'traits' (Segment-style context.traits, e.g. the user's email and plan) arrives with those traits replaced by the identify's. The caller's context dict is changed the same way (server.arguments.not-retained).

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.arguments.context-as-given.py http://127.0.0.1:8080/rudderstack

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
    traits = {'a': 0.0, 'ic_seq': 100001}
    context = {'traits': {'email': 'jane@example.com', 'plan': 'pro'}, 'groupId': 'acme'}
    client.identify(user_id='u1', traits=traits, anonymous_id='anon-a', context=context)
    return {'traits': (traits, {'a': 0.0, 'ic_seq': 100001}), 'context': (context, {'traits': {'email': 'jane@example.com', 'plan': 'pro'}, 'groupId': 'acme'})}


call(1, 'identify_with_context', step_1)


def step_2():
    client.flush()
    return {}


call(2, 'flush', step_2)


def step_3():
    client.flush()
    return {}


call(3, 'flush', step_3)
