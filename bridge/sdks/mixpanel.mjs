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
// Time: the SDK has no public flush. Its batchers send on setTimeout, so a fake clock
// (@sinonjs/fake-timers, timers only: Date stays real) is installed on the page before the
// bundle loads, and the page's time moves only when the bridge moves it, one flush interval
// at a time, until the SDK's own persisted queues (localStorage __mpq_<token>_ev/_pp/_gr,
// read only) are empty and the network has settled. That happens at flush, and also before
// a call on another device: a person who moves to another device leaves the first one
// running for more than 5 s, so its batch has gone out. Devices share nothing, so this
// changes nothing any device sends; it keeps the devices' batches in call order, which the
// suite needs to match alias events: they carry no step marker, so each call is paired with
// the arrival sharing most of its ids, the earliest of equals, and two devices' aliases of
// one id pair in arrival order. The no-batch variant turns batch_requests off: every call
// is one request, sent at once.
import FakeTimers from "@sinonjs/fake-timers";

export const spec = {
  adapter: "js-mixpanel",
  package: "mixpanel-browser",
  vendor: "mixpanel",
  profile: "mixpanel",
  capabilities: ["alias", "persistence", "reset"],
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

const BUNDLE = "mixpanel-browser/dist/mixpanel.umd.js";
const TOKEN = "ic-mixpanel-token";
const QUEUES = ["ev", "pp", "gr"].map((kind) => `__mpq_${TOKEN}_${kind}`);
const MAX_ROUNDS = 8;

// Every open page, so that a call on one device can first let the others' timers run.
const pages = new Set();
// Pages take turns sending (the bridge flushes every open page at once), in the order they
// were asked to, so which device's batch reaches the collector first never depends on how
// two HTTP requests race.
let turn = Promise.resolve();
const inTurn = (job) => {
  const mine = turn.then(job);
  turn = mine.catch(() => {});
  return mine;
};

// jsdom only (no setup() for Chromium): the fake clock is installed from Node before the
// bundle loads, and a call on one device lets the other devices' pages send first.
export async function open(page, { collector, settings, log }) {
  const { window } = page;
  const clock = FakeTimers.withGlobal(window).install({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"],
    shouldClearNativeTimers: true,
  });
  page.load(BUNDLE);
  const mixpanel = window.mixpanel;
  mixpanel.init(TOKEN, { ...settings, api_host: collector });
  const interval = mixpanel.get_config("batch_flush_interval_ms");

  // How many requests the SDK's own persisted queues still hold (read only).
  const queued = () => QUEUES.reduce((count, key) => {
    const stored = window.localStorage.getItem(key);
    if (!stored) return count;
    try {
      const items = JSON.parse(stored);
      return count + (Array.isArray(items) ? items.length : 1);
    } catch {
      return count + 1;
    }
  }, 0);

  // Let the page's timers run, one flush interval at a time, until its queues are empty and
  // the network is quiet.
  const drain = () => inTurn(async () => {
    if (page.network.closed) return;
    for (let round = 0; round < MAX_ROUNDS && queued() > 0; round += 1) {
      await clock.tickAsync(interval);
      await page.network.settle();
    }
    if (page.network.inFlight > 0) await page.network.settle();
    const left = queued();
    if (left > 0) log(`mixpanel: ${left} queued request(s) still unsent after ${MAX_ROUNDS} flush intervals`);
  });
  const self = { page, queued, drain };
  pages.add(self);

  // Before a call on this device, whatever the other devices have queued is sent.
  const othersFirst = async () => {
    for (const other of [...pages]) {
      if (other.page.network.closed) pages.delete(other);
      else if (other !== self && (other.queued() > 0 || other.page.network.inFlight > 0)) await other.drain();
    }
  };

  return {
    async track(name, properties) {
      await othersFirst();
      mixpanel.track(name, properties);
    },
    async identify(userId, traits) {
      await othersFirst();
      mixpanel.identify(userId);
      mixpanel.people.set(traits);
    },
    async reset() {
      await othersFirst();
      mixpanel.reset();
    },
    async alias(newId) {
      await othersFirst();
      mixpanel.alias(newId);
    },
    flush: drain,
  };
}
