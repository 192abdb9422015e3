// Amplitude Browser SDK 2 (@amplitude/analytics-browser), as a page loads it from its
// script bundle (the `amplitude` global). Pointed at the collector with `serverUrl`, and
// with `fetchRemoteConfig: false` so no remote configuration request is made
// (SEMANTICS.md 2.3, 6.2, 6.3). Everything else is as shipped: events batched (sent every
// flushIntervalMillis = 1 s, or at 30 queued), the identity in the AMP_<key10> cookie, the
// unsent queue in localStorage, and in the default variant the default tracking
// (autocapture) the SDK turns on when it is not configured: session start/end, page
// views, marketing attribution ($identify), form and file-download tracking, and page URL
// enrichment (page properties added to every event). The no-autocapture variant sets
// `autocapture: false` and changes nothing else.
//
// The mapping, one operation to the public API:
//   track(name, properties)  amplitude.track(name, properties)
//   identify(userId, traits) amplitude.setUserId(userId), then amplitude.identify(i) where
//                            i = new amplitude.Identify() with i.set(key, value) for every
//                            trait in order: the profile's "setUserId plus identify()"
//                            (simulator/_profiles.py), as the server adapter maps it
//   reset()                  amplitude.reset()
//   flush()                  amplitude.flush(), until the SDK is done (below)
// Ids, names and dicts are passed as given; nothing is checked or filtered here. There is
// no alias in the browser SDK (SEMANTICS.md 2.3), so the capability is not declared.
//
// Calls do not wait for the promises they return (they settle once the batch is
// delivered, up to a flush interval later, and an application does not wait for them), so
// the SDK's timeline stamps each event with the identity on its own schedule
// (setTimeout(0), one event at a time: SEMANTICS.md 2.3 "Identity binding"). The bridge
// lets zero-delay work settle after each call; a timeline that is still behind (the
// default-tracking events queued at init) stamps an event after the next call.
//
// flush: amplitude.flush() sends what is queued, but returns at once, sending nothing, when
// a timed flush of the SDK is still in flight (analytics-core plugins/destination.js:
// "Skipping flush because previous flush has not resolved"); what it skipped is sent one
// flush interval later. So flush() calls amplitude.flush() again, as an application
// awaiting delivery would, until the promise of every call has settled (the SDK settles it
// with the delivery's result) and the SDK's unsent queue is empty (localStorage
// AMP_unsent_<key10>, which the SDK rewrites on every change of its queue, so events no call
// produced count too), within a bound. Whatever is still queued then arrives late: a finding.

export const spec = {
  adapter: "js-amplitude",
  package: "@amplitude/analytics-browser",
  bundle: "@amplitude/analytics-browser/lib/scripts/amplitude-min.js",
  vendor: "amplitude",
  profile: "amplitude",
  capabilities: ["persistence", "reset"],
  variants: {
    default: {
      description: "default configuration: default tracking as shipped, batching, cookie identity, localStorage queue; remote config off",
      settings: {},
    },
    "no-autocapture": {
      description: "autocapture: false (no session, page view, attribution, form or file-download events, no page URL enrichment); otherwise the default",
      settings: { autocapture: false },
    },
  },
};

// setup runs inside the page (jsdom's window, or Chromium's): self-contained, no imports.
export async function setup(window, { collector, settings }) {
  const apiKey = "ic-amplitude-api-key";
  const unsentKey = `AMP_unsent_${apiKey.substring(0, 10)}`;
  const flushBoundMs = 4000;
  const pollMs = 25;
  const { amplitude, console } = window;
  await amplitude.init(apiKey, { ...settings, serverUrl: `${collector}/2/httpapi`, fetchRemoteConfig: false }).promise;

  // Each call's promise, until the SDK settles it with the result of the delivery.
  const pending = new Set();
  const remember = (result) => {
    const promise = Promise.resolve(result.promise).then(
      (outcome) => {
        if (outcome && outcome.code !== 200) {
          console.warn(`amplitude: ${outcome.event && outcome.event.event_type}: code ${outcome.code} ${outcome.message}`);
        }
      },
      (error) => console.error(`amplitude: a call's promise rejected: ${error && error.stack ? error.stack : error}`),
    );
    pending.add(promise);
    promise.finally(() => pending.delete(promise));
  };
  const unsent = () => {
    try {
      const queue = JSON.parse(window.localStorage.getItem(unsentKey) || "[]");
      return Array.isArray(queue) ? queue.length : 0;
    } catch {
      return 0;
    }
  };
  const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

  return {
    track: (name, properties) => remember(amplitude.track(name, properties)),
    identify: (userId, traits) => {
      amplitude.setUserId(userId);
      const operations = new amplitude.Identify();
      for (const [key, value] of Object.entries(traits)) operations.set(key, value);
      remember(amplitude.identify(operations));
    },
    reset: () => amplitude.reset(),
    flush: async () => {
      const deadline = Date.now() + flushBoundMs;
      for (;;) {
        await amplitude.flush().promise;
        if (pending.size === 0 && unsent() === 0) return;
        if (Date.now() > deadline) {
          console.warn(`amplitude: flush: ${pending.size} call(s) unsettled, ${unsent()} event(s) unsent after ${flushBoundMs} ms`);
          return;
        }
        await Promise.race([Promise.all([...pending]), sleep(pollMs)]);
      }
    },
  };
}
