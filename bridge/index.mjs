#!/usr/bin/env node
// The JSON-lines bridge (docs/protocol.md, version 1): one browser SDK, driven under jsdom,
// answering the suite on stdin/stdout.
//
//   node bridge/index.mjs SDK [--variant NAME] [--browser jsdom|chromium]
//
// SDK is a module in bridge/sdks/ (segment, posthog, amplitude, mixpanel, rudderstack): it
// declares the SDK (spec: package, bundle, profile, capabilities, variants) and exports
// setup(window, options), which runs inside the page and maps each protocol operation onto
// the SDK's public API. A storage key is a device (its own cookie jar and localStorage);
// open_client loads a new page on it, close unloads the page. The same module runs under
// jsdom (the default) and in headless Chromium (--browser chromium), where setup is sent
// into a real page. Only protocol lines go to stdout: console output of the bridge and of
// every page goes to stderr.
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { readdirSync } from "node:fs";

import { createRequire } from "node:module";

import { Device } from "./lib/page.mjs";
import { packageVersion } from "./lib/packages.mjs";

const PROTOCOL = 1;
const FakeTimers = createRequire(import.meta.url)("@sinonjs/fake-timers");
const here = dirname(fileURLToPath(import.meta.url));
const out = process.stdout;
const log = (line) => process.stderr.write(`${line}\n`);
console.log = console.info = console.debug = (...args) => log(args.map(String).join(" "));

function usage(problem) {
  const known = readdirSync(join(here, "sdks")).filter((f) => f.endsWith(".mjs")).map((f) => f.slice(0, -4));
  log(`bridge: ${problem}\nusage: node bridge/index.mjs SDK [--variant NAME] [--browser jsdom|chromium]\nSDK is one of: ${known.join(", ")}`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const sdkName = argv[0];
if (!sdkName || sdkName.startsWith("-")) usage("name the SDK to drive");
const option = (flag, fallback) => {
  const at = argv.indexOf(flag);
  return at >= 0 ? argv[at + 1] : fallback;
};
const variantName = option("--variant", "default");
const browserName = option("--browser", "jsdom");
if (!["jsdom", "chromium"].includes(browserName)) usage(`unknown --browser ${JSON.stringify(browserName)}: use jsdom or chromium`);
const chromium = browserName === "chromium" ? await import("./lib/chromium.mjs") : null;
let sdk;
try {
  sdk = await import(join(here, "sdks", `${sdkName}.mjs`));
} catch (error) {
  if (error.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes(`${sdkName}.mjs`)) usage(`unknown SDK ${JSON.stringify(sdkName)}`);
  throw error;
}
const variant = sdk.spec.variants[variantName];
if (!variant) usage(`unknown variant ${JSON.stringify(variantName)} of ${sdkName}; known: ${Object.keys(sdk.spec.variants).join(", ")}`);
if (typeof sdk.setup !== "function") usage(`${sdkName} has no setup(window, options) to run in a page`);

/**
 * One open client: the SDK's session on one page, whatever the browser.
 *
 * An SDK whose spec declares a `clock` (it batches on timers and has no public flush) runs
 * on a fake page clock, installed before its bundle: the clock moves `loadMs` after setup,
 * `callMs` after every call (as the real one does between two user actions) and `idleMs`
 * at flush, so every timer set since fires in order, as if the page had been idle that
 * long. Under jsdom that is @sinonjs/fake-timers over the page's timers (Date stays real);
 * in Chromium Playwright's page clock. A session whose setup returns `pending()` (what the
 * SDK's own queues still hold, read only) is let idle again, up to `clock.rounds` times,
 * while something is pending; with `clock.othersFirst`, a call on one device first lets
 * every other device that has something pending idle that way (a person who moves to
 * another device leaves the first one running longer than its flush interval).
 */
async function openSession(device) {
  const options = { collector: `${collectorUrl}/${sdk.spec.vendor}`, variant: variantName, settings: variant.settings ?? {} };
  const timing = sdk.spec.clock ?? null;
  const page = chromium ? await device.open(log) : device.open(log);
  let call;
  let runFor;
  let pending;
  let finish;
  let close;
  if (chromium) {
    if (timing) await page.tab.clock.install();
    if (sdk.spec.bundle) await page.load(sdk.spec.bundle);
    await page.setup(sdk.setup, options);
    runFor = (ms) => page.tab.clock.runFor(ms);
    const hasFlush = await page.has("flush");
    call = (op, args) => page.call(op, args, { settle: !timing });
    pending = () => page.pending();
    finish = async () => {
      if (hasFlush) await page.call("flush", [], { settle: !timing });
    };
    close = () => page.close();
  } else {
    const clock = timing ? FakeTimers.withGlobal(page.window).install({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] }) : null;
    if (sdk.spec.bundle) page.load(sdk.spec.bundle);
    const session = await sdk.setup(page.window, options);
    runFor = (ms) => clock.tickAsync(ms);
    const objects = new ObjectTable();
    call = async (op, args) => {
      if (typeof session[op] !== "function") throw new TypeError(`the session has no ${op}()`);
      const given = op === "track" ? [args[0], objects.take(args[2], args[1], page.window)] : args;
      await session[op](...given);
      if (!clock) await nextTask();
    };
    pending = async () => (typeof session.pending === "function" ? session.pending() : 0);
    finish = async () => {
      if (session.flush) await session.flush();
    };
    close = async () => {
      await page.close();
      if (clock) clock.uninstall();
    };
  }
  if (timing) await runFor(timing.loadMs);
  const rounds = timing?.rounds ?? 1;
  const idle = async () => {
    if (!timing) return;
    for (let round = 0; round < rounds; round += 1) {
      await runFor(timing.idleMs);
      await page.network.settle();
      if ((await pending()) === 0) return;
    }
    log(`${sdk.spec.package}: ${await pending()} queued request(s) still unsent after ${rounds} idle periods of ${timing.idleMs} ms`);
  };
  const self = {
    pending,
    call: async (op, args) => {
      if (timing?.othersFirst) await othersFirst(self);
      await call(op, args);
      if (timing) await runFor(timing.callMs);
    },
    flush: async () => {
      await idle();
      await finish();
      await page.network.settle();
    },
    close,
  };
  return self;
}

// The open clients other than `self` (a closed one has left `clients`), in the order they
// were opened, each let idle while it has something pending.
async function othersFirst(self) {
  for (const other of clients.values()) {
    if (other !== self && (await other.pending()) > 0) await other.flush();
  }
}

const send = (message) => out.write(`${JSON.stringify(message)}\n`);
const devices = new Map();
const clients = new Map();
let opened = 0;
let collectorUrl = null;

class Unsupported extends Error {}

// The caller's objects, by the handle the parent gives each properties dict: the same
// handle is the same object passed again, so its copy here is changed in place (keeping
// its identity, in the page's realm) rather than replaced, as a caller reusing and
// mutating one object does. An SDK that holds on to what it was given then sees it change.
class ObjectTable {
  constructor() {
    this.byHandle = new Map();
  }

  take(handle, value, window) {
    if (!handle) return toRealm(value, window);
    const known = this.byHandle.get(handle);
    if (known === undefined) {
      const made = toRealm(value, window);
      this.byHandle.set(handle, made);
      return made;
    }
    syncInPlace(known, value, window);
    return known;
  }
}

/** A JSON value rebuilt from the page's own Object and Array (so instanceof works in it). */
function toRealm(value, window) {
  if (Array.isArray(value)) return window.Array.from(value, (item) => toRealm(item, window));
  if (value !== null && typeof value === "object") {
    const out = new window.Object();
    for (const [key, item] of Object.entries(value)) out[key] = toRealm(item, window);
    return out;
  }
  return value;
}

/** Make ``target`` equal ``source`` without replacing it or any nested object both share. */
function syncInPlace(target, source, window) {
  if (Array.isArray(target)) {
    target.length = source.length;
    source.forEach((item, i) => {
      if (isContainer(target[i]) && isContainer(item) && Array.isArray(target[i]) === Array.isArray(item)) syncInPlace(target[i], item, window);
      else target[i] = toRealm(item, window);
    });
    return;
  }
  for (const key of Object.keys(target)) if (!(key in source)) delete target[key];
  for (const [key, item] of Object.entries(source)) {
    const current = target[key];
    if (isContainer(current) && isContainer(item) && Array.isArray(current) === Array.isArray(item)) syncInPlace(current, item, window);
    else target[key] = toRealm(item, window);
  }
}

const isContainer = (value) => value !== null && typeof value === "object";

// Each call is its own user action: the page's pending microtasks and zero-delay timers run
// before the next call (two rounds of the event loop), as between two clicks. Calls made in
// one tick are a different situation, not left to the speed of the pipe.
const nextTask = async () => {
  for (let i = 0; i < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 1));
};

function errorOf(error) {
  if (error instanceof Error) return { type: error.name || "Error", message: String(error.message) };
  return { type: typeof error, message: String(error) };
}

function clientOf(request) {
  const client = clients.get(request.client);
  if (!client) throw new Error(`no open client ${JSON.stringify(request.client)}`);
  return client;
}

// One page after another, in the order the clients were opened: each page's deliveries
// settle before the next page's are let go, so the arrival order between pages is fixed.
async function settleAll() {
  for (const session of clients.values()) await session.flush();
}

async function dispatch(request) {
  const { op } = request;
  switch (op) {
    case "init":
      collectorUrl = request.collector_url;
      return {};
    case "open_client": {
      const key = request.storage_key;
      if (!devices.has(key)) devices.set(key, chromium ? new chromium.ChromiumDevice(key) : new Device(key));
      const session = await openSession(devices.get(key));
      opened += 1;
      const handle = `c${opened}`;
      clients.set(handle, session);
      return { client: handle };
    }
    case "track":
    case "identify":
    case "reset":
    case "alias":
    case "close": {
      if (!("client" in request)) throw new Unsupported();
      const session = clientOf(request);
      if (op === "track") await session.call("track", [request.name, request.properties, request.object]);
      else if (op === "identify") await session.call("identify", [request.user_id, request.traits]);
      else if (op === "reset") await session.call("reset", []);
      else if (op === "alias") await session.call("alias", [request.new_id]);
      else {
        clients.delete(request.client);
        await session.flush();
        await session.close();
      }
      return {};
    }
    case "flush":
      await settleAll();
      return {};
    case "shutdown":
      for (const [handle, session] of [...clients]) {
        clients.delete(handle);
        await session.close();
      }
      if (chromium) await chromium.closeBrowser();
      return {};
    default:
      throw new Unsupported();
  }
}

const pkg = { version: packageVersion(sdk.spec.package) };
send({
  type: "hello",
  protocol: PROTOCOL,
  adapter: [sdk.spec.adapter, variantName === "default" ? null : variantName, chromium ? "chromium" : null].filter(Boolean).join("-"),
  kind: "client",
  profile: sdk.spec.profile,
  capabilities: [...sdk.spec.capabilities].sort(),
  sdk: { name: sdk.spec.package, version: pkg.version },
  description: `${sdk.spec.package} ${pkg.version} ${chromium ? "in headless Chromium" : "under jsdom"} (${variant.description})`,
});

process.on("unhandledRejection", (error) => log(`unhandled rejection: ${error && error.stack ? error.stack : error}`));

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    log(`bridge: unreadable request line: ${line.slice(0, 200)}`);
    process.exit(2);
  }
  try {
    const extra = await dispatch(request);
    send({ id: request.id, ok: true, ...extra });
  } catch (error) {
    if (error instanceof Unsupported) send({ id: request.id, unsupported: true });
    else send({ id: request.id, ok: false, error: errorOf(error) });
  }
  if (request.op === "shutdown") process.exit(0);
}
log("bridge: stdin closed before shutdown");
process.exit(1);
