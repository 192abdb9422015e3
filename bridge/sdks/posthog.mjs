// PostHog posthog-js, as a page loads it from its full browser bundle (<script src=array.full.js>,
// then posthog.init(token, config)). Pointed at the collector with api_host; advanced_disable_flags
// stops the /flags and remote-config requests (SEMANTICS.md 2.2, 6.2, 6.3). Everything else is as
// shipped: request batching, gzip bodies, localStorage+cookie persistence, the automatic
// $pageview at load and $pageleave at unload, autocapture.
//
// Mapping, one operation to the public API, arguments exactly as given: track is
// capture(name, properties); identify(userId, traits) is identify(userId, traits) (traits
// become the $set person properties); reset is reset(); alias(newId) is alias(newId) (the
// original defaults to the current distinct id). identify() is wrapped by the SDK
// (safewrapClass) and never throws: a refused id is logged and the call returns.
//
// Time: posthog-js queues captures in a RequestQueue that a 3 s timer flushes and has no
// public flush (shutdown() tears the instance down). So the spec declares a page clock
// (bridge/index.mjs): the page's timers are fake, installed before the bundle runs, and the
// clock moves as the bridge's does between calls: loadMs after init (the start-up timers,
// such as the initial $pageview 1 ms after init: nobody acts within a millisecond of a page
// load), callMs after every call, and idleMs at flush, past the flush interval: every timer
// set since fires, in the order it was set, as if the page had been idle that long. The
// bridge flushes the open pages one after another, so arrival order between pages is fixed.
export const spec = {
  adapter: "js-posthog",
  package: "posthog-js",
  bundle: "posthog-js/dist/array.full.js",
  vendor: "posthog",
  profile: "posthog",
  capabilities: ["alias", "persistence", "reset"],
  // request-queue.ts DEFAULT_FLUSH_INTERVAL_MS is 3000; callMs is bridge/index.mjs's
  // nextTask (two rounds of a 1 ms timer).
  clock: { loadMs: 1, callMs: 2, idleMs: 3100 },
  variants: {
    default: {
      description: "default configuration: request batching (3 s queue, advanced by a fake clock), gzip, localStorage+cookie persistence, automatic $pageview/$pageleave",
      settings: {},
    },
    "unbatched-no-pageviews": {
      description: "request_batching: false (each capture sent at once, SEMANTICS.md 6.3) and capture_pageview, capture_pageleave: false; otherwise the default",
      settings: { request_batching: false, capture_pageview: false, capture_pageleave: false },
    },
  },
};

// setup runs inside the page (jsdom's window, or Chromium's): self-contained, no imports.
export async function setup(window, { collector, settings }) {
  const token = "phc_identity_conformance";
  const { posthog } = window;
  posthog.init(token, { api_host: collector, advanced_disable_flags: true, ...settings });
  return {
    track: (name, properties) => posthog.capture(name, properties),
    identify: (userId, traits) => posthog.identify(userId, traits),
    reset: () => posthog.reset(),
    alias: (newId) => posthog.alias(newId),
  };
}
