// Mixpanel (mixpanel-browser), as a page loads it from its UMD bundle (SEMANTICS.md 2.4, 6).
// Pointed at the collector with api_host; nothing else is configured in the default variant:
// request batching on (flushed every batch_flush_interval_ms, 5 s, from a localStorage-backed
// queue), cookie persistence, base64 payloads, feature flags and remote settings off, all as
// shipped (so no remote configuration is fetched).
//
// Mapping: track is track(name, properties); identify(userId, traits) is identify(userId)
// followed by people.set(traits), Mixpanel's documented way to name a user and set their
// profile (identify takes no properties): the $identify event goes to /track/ and the
// traits, with the suite's ic_seq, to /engage/ as a $set profile update. reset is reset();
// alias(newId) is alias(newId) (its original defaults to the current distinct id).
//
// Time: the SDK has no public flush. Its batchers send on setTimeout, so the spec declares a
// page clock (bridge/index.mjs; fake timers under jsdom, Playwright's page clock in
// Chromium): the page's time moves only when the bridge moves it, a flush interval at a
// time at flush (up to `rounds` times) until the SDK's own persisted queues (localStorage
// __mpq_<token>_ev/_pp/_gr, read only, counted by pending()) are empty and the network has
// settled. With `othersFirst` that also happens before a call on another device: a person
// who moves to another device leaves the first one running for more than 5 s, so its batch
// has gone out. Devices share nothing, so this changes nothing any device sends; it keeps
// the devices' batches in call order. The no-batch variant turns batch_requests off: every
// call is one request, sent at once.
export const spec = {
  adapter: "js-mixpanel",
  package: "mixpanel-browser",
  bundle: "mixpanel-browser/dist/mixpanel.umd.js",
  vendor: "mixpanel",
  profile: "mixpanel",
  capabilities: ["alias", "persistence", "reset"],
  // batch_flush_interval_ms is 5000 by default (src/mixpanel-core.js DEFAULT_CONFIG); callMs
  // is bridge/index.mjs's nextTask (two rounds of a 1 ms timer).
  clock: { loadMs: 1, callMs: 2, idleMs: 5100, rounds: 8, othersFirst: true },
  variants: {
    default: {
      description: "default configuration: batch_requests on (5 s timer, on a fake clock the bridge advances), cookie persistence",
      settings: {},
    },
    "no-batch": {
      description: "batch_requests: false (one request per call, sent at once); otherwise the default",
      settings: { batch_requests: false },
    },
  },
};

// setup runs inside the page (jsdom's window, or Chromium's): self-contained, no imports.
export async function setup(window, { collector, settings }) {
  const token = "ic-mixpanel-token";
  const { mixpanel } = window;
  mixpanel.init(token, { ...settings, api_host: collector });
  const queues = ["ev", "pp", "gr"].map((kind) => `__mpq_${token}_${kind}`);
  return {
    track: (name, properties) => mixpanel.track(name, properties),
    identify: (userId, traits) => {
      mixpanel.identify(userId);
      mixpanel.people.set(traits);
    },
    reset: () => mixpanel.reset(),
    alias: (newId) => mixpanel.alias(newId),
    // How many requests the SDK's own persisted queues still hold (read only).
    pending: () => queues.reduce((count, key) => {
      const stored = window.localStorage.getItem(key);
      if (!stored) return count;
      try {
        const items = JSON.parse(stored);
        return count + (Array.isArray(items) ? items.length : 1);
      } catch {
        return count + 1;
      }
    }, 0),
  };
}
