"""amplitude-analytics 1.3.0: server.arguments.not-retained (found by identity-conformance).

SDK: event_properties are filtered, not sent as called. Keys whose value is None are dropped (BaseEvent.get_event_body), and a properties dict holding a list inside a list is rejected whole (_verify_property logs and leaves event_properties unset).

Run it against any endpoint that takes the SDK's posts, for example
`identity-conformance collector --port 8080` in another terminal:

    python server.arguments.not-retained.py http://127.0.0.1:8080/amplitude

Each call prints whether the SDK accepted it; the collector prints what arrived."""

import sys

from amplitude import Amplitude, BaseEvent, Config, EventOptions, Identify

URL = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8080/amplitude'
client = Amplitude('identity-conformance-key', Config(server_url=URL + '/2/httpapi', flush_interval_millis=10000, flush_max_retries=2))


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
    properties = {'a': None}
    client.track(BaseEvent(event_type='Signed Up#100001', user_id='u1', device_id=None, event_properties=properties))
    return {'properties': (properties, {'a': None})}


call(1, 'track', step_1)


def step_2():
    [f.result() for f in client.flush() if f is not None]
    return {}


call(2, 'flush', step_2)


client.shutdown()
