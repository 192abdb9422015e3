// RudderStack JavaScript SDK v3 (@rudderstack/analytics-js), as a page loads it from its UMD
// bundle (SEMANTICS.md 2.5, 6.1-6.3). Two settings differ from a plain install, both only to
// keep it on the loopback collector: the data plane URL is the collector's /rudderstack
// mount, and configUrl is the same mount, so the SDK fetches its source configuration from
// the collector's /sourceConfig/ stub (an enabled source, no device-mode destinations)
// instead of the control plane. The bundled build carries its plugins (XhrQueue, storage
// encryption and migration...), so none is fetched from a CDN. Everything else is as
// shipped: the XhrQueue retry queue (one POST per event to /v1/<type>, persisted in
// localStorage, with its timers), cookie persistence falling back to localStorage,
// sessions, error handling.
export const spec = {
  adapter: "js-rudderstack",
  package: "@rudderstack/analytics-js",
  // The modern bundled build, which the CDN loader gives a browser with ES module support;
  // the legacy one differs only in transpilation and polyfills. The package's exports map
  // lists no bundle: the bridge finds it by path (bridge/lib/packages.mjs).
  bundle: "@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js",
  vendor: "rudderstack",
  profile: "rudderstack",
  capabilities: ["alias", "persistence", "reset"],
  variants: {
    default: { description: "default configuration: XhrQueue (one POST per event), cookie persistence" },
  },
};

// setup runs inside the page (jsdom's window, or Chromium's): self-contained, no imports.
export async function setup(window, { collector }) {
  const writeKey = "ic-write-key";
  const readyTimeoutMs = 5000;
  const drainBoundMs = 8000;
  // The XhrQueue's RetryQueue keeps its items in localStorage under
  // rudder_<writeKey>.<queue id>.{queue,inProgress,batchQueue}.
  const queueKey = new RegExp(`^rudder_${writeKey}\\.([^.]+)\\.(queue|inProgress|batchQueue)$`);
  const queueIds = () => {
    const ids = new Set();
    for (let i = 0; i < window.localStorage.length; i += 1) {
      const match = queueKey.exec(window.localStorage.key(i));
      if (match) ids.add(match[1]);
    }
    return ids;
  };
  /** A RetryQueue entry as stored: JSON of the JSON text of the value. */
  const decoded = (text) => {
    try {
      let value = JSON.parse(text);
      if (typeof value === "string") value = JSON.parse(value);
      return value;
    } catch {
      return null;
    }
  };
  const queuesBefore = queueIds(); // the bundle only defines the SDK; load() makes the queue
  const analytics = new window.rudderanalytics.RudderAnalytics();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`rudderstack: not ready ${readyTimeoutMs} ms after load() (see the page's console above)`)),
      readyTimeoutMs,
    );
    analytics.load(writeKey, collector, { configUrl: collector });
    analytics.ready(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  // This page's queue is the one that appeared with it (earlier pages of the device left
  // theirs in localStorage; the SDK reclaims those itself when they go stale).
  const mine = [...queueIds()].filter((id) => !queuesBefore.has(id));

  /** Whether this page's queue holds nothing waiting, in flight or being batched. */
  const drained = () => {
    for (let i = 0; i < window.localStorage.length; i += 1) {
      const key = window.localStorage.key(i);
      const match = queueKey.exec(key);
      if (!match || !mine.includes(match[1])) continue;
      // An entry that does not read as a list or map counts as not empty: never early.
      const items = decoded(window.localStorage.getItem(key));
      if (items === null || typeof items !== "object" || Object.keys(items).length > 0) return false;
    }
    return true;
  };

  return {
    track: (name, properties) => analytics.track(name, properties),
    identify: (userId, traits) => analytics.identify(userId, traits),
    reset: () => analytics.reset(),
    alias: (newId) => analytics.alias(newId),
    // There is no public flush: the XhrQueue sends each event as soon as it is queued and
    // keeps it until the collector answers, or schedules a retry. Wait until the queue is
    // empty (the bridge then waits for the network to settle); past the bound, whatever
    // is still queued arrives late, which the suite reports.
    async flush() {
      const deadline = Date.now() + drainBoundMs;
      while (!drained()) {
        if (Date.now() > deadline) {
          window.console.warn(`rudderstack: the queue still holds events ${drainBoundMs} ms after flush`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}
