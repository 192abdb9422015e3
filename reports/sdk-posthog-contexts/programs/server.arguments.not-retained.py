"""posthog 7.91.1: server.arguments.not-retained (found by identity-conformance).

SDK: set() inside a new_context() changes the caller's properties dict: add_context_tags() writes properties['$context_tags'] = set(<tag names>) into the dict it was given (capture() copies first; set() does not), so after posthog.set(distinct_id=..., properties=traits) the application's traits dict holds a Python set under '$context_tags' (json.dumps(traits) then raises TypeError), and a traits dict reused for the next call carries it there. The same key goes out on the wire: the $set event sets a person property '$context_tags' (an empty list when the context has no tags) that the call never named. Outside a context nothing is written.

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.arguments.not-retained.py http://127.0.0.1:8080/posthog

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

import posthog
from posthog import Posthog

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/posthog'
client = Posthog('phc_identity_conformance', host=URL)


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
    traits = {'b': '', 'ic_seq': 100001}
    with posthog.new_context(client=client):
        distinct_id = 'u1'
        if distinct_id is not None:
            posthog.identify_context(distinct_id)
        client.set(properties=traits)
    return {'traits': (traits, {'b': '', 'ic_seq': 100001})}


call(1, 'identify', step_1)


def step_2():
    client.flush()
    return {}


call(2, 'flush', step_2)


client.shutdown()
