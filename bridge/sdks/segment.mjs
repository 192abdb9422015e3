// Segment Analytics.js 2.0 (@segment/analytics-next), as a page loads it from its UMD bundle.
// Pointed at the collector through the Segment.io integration's apiHost/protocol, with the
// CDN settings passed in so no settings request is made (SEMANTICS.md 2.1, 6.2, 6.3).
// Default delivery is as shipped: one POST per event (standard delivery); persistence in
// localStorage and cookies as shipped.

export const spec = {
  adapter: "js-segment",
  package: "@segment/analytics-next",
  bundle: "@segment/analytics-next/dist/umd/index.js",
  vendor: "segment",
  profile: "segment",
  capabilities: ["alias", "persistence", "reset"],
  variants: {
    default: { description: "default configuration: standard delivery, localStorage + cookie persistence" },
  },
};

// setup runs inside the page (jsdom's window, or Chromium's): self-contained, no imports.
export async function setup(window, { collector }) {
  const writeKey = "ic-write-key";
  const apiHost = collector.replace(/^http:\/\//, "") + "/v1";
  const [analytics] = await window.AnalyticsNext.AnalyticsBrowser.load({
    writeKey,
    cdnSettings: { integrations: { "Segment.io": { apiKey: writeKey, apiHost, protocol: "http" } } },
  });
  // The SDK's promises settle after delivery; an application does not wait for them.
  const fire = (promise) => {
    Promise.resolve(promise).catch((error) => window.console.error(`segment: a call's promise rejected: ${error && error.stack ? error.stack : error}`));
  };
  return {
    track: (name, properties) => fire(analytics.track(name, properties)),
    identify: (userId, traits) => fire(analytics.identify(userId, traits)),
    reset: () => fire(analytics.reset()),
    alias: (newId) => fire(analytics.alias(newId)),
  };
}
