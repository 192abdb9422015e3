"""rudder-sdk-python 2.1.9: server.arguments.not-retained (found by identity-conformance).

SDK: Client._enqueue() writes the library name and version into the context dict the caller passed (rudderstack/analytics/client.py: msg['context']['library'] = {...} on the caller's own dict, after `context = context or {}`), so an application's context dict, reused or logged after the call, holds a 'library' key it never set. The event on the wire is as given. identify() writes there too: the library, and the call's traits as context['traits'] (rudderstack/analytics/client.py, identify: context['traits'] = traits on the caller's dict), replacing a 'traits' key the caller's context already had (see server.arguments.context-as-given).

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.arguments.not-retained.py http://127.0.0.1:8080/rudderstack

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys
import datetime

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
    context = {'ip': '203.0.113.7'}
    properties = {'plan': 'pro'}
    client.track(user_id='u1', event='Signed Up#100001', properties=properties, anonymous_id='anon-a', timestamp=None, message_id=None, context=context)
    return {'context': (context, {'ip': '203.0.113.7'}), 'properties': (properties, {'plan': 'pro'})}


call(1, 'track_with_options', step_1)


def step_2():
    client.flush()
    return {}


call(2, 'flush', step_2)


def step_3():
    client.flush()
    return {}


call(3, 'flush', step_3)
