// A device is a browser profile: one cookie jar and one localStorage that outlive its pages.
// A page is one page load on a device: a fresh JSDOM window over the device's storage, with
// the SDK's bundle evaluated in it the way a <script> tag would, and its network stubbed so
// that every request goes to the loopback collector and nowhere else (SEMANTICS.md 6.1-6.4).
import { readFileSync } from "node:fs";
import { Script } from "node:vm";
import { JSDOM, CookieJar, VirtualConsole } from "jsdom";

import { Network } from "./network.mjs";
import { packageFile } from "./packages.mjs";

const PAGE_URL = "https://app.example.com/";
const HTML = "<!doctype html><html><head><title>identity-conformance</title></head><body></body></html>";
const scripts = new Map();

/** A package's browser bundle, compiled once: every page load runs it again. */
function script(path) {
  if (!scripts.has(path)) {
    const file = packageFile(path);
    scripts.set(path, new Script(readFileSync(file, "utf8"), { filename: file }));
  }
  return scripts.get(path);
}

export class Device {
  constructor(key) {
    this.key = key;
    this.cookieJar = new CookieJar();
    this.localStorage = [];
    this.pages = 0;
  }

  /** Load a page on this device: the stored localStorage copied in, the cookie jar shared. */
  open(log) {
    this.pages += 1;
    const virtualConsole = new VirtualConsole();
    for (const level of ["log", "info", "warn", "error", "debug"]) {
      virtualConsole.on(level, (...args) => log(`[${this.key} page ${this.pages}] console.${level}: ${args.map(String).join(" ")}`));
    }
    virtualConsole.on("jsdomError", (error) => log(`[${this.key}] jsdom error: ${error.stack || error}`));
    const dom = new JSDOM(HTML, {
      url: PAGE_URL,
      runScripts: "outside-only",
      pretendToBeVisual: true,
      cookieJar: this.cookieJar,
      virtualConsole,
    });
    const window = dom.window;
    for (const [key, value] of this.localStorage) window.localStorage.setItem(key, value);
    return new Page(this, dom, new Network(window, log));
  }
}

export class Page {
  constructor(device, dom, network) {
    this.device = device;
    this.dom = dom;
    this.window = dom.window;
    this.network = network;
  }

  /** Evaluate a package's bundle in the page, as a <script src> would. */
  load(path) {
    script(path).runInContext(this.dom.getInternalVMContext());
  }

  /** Unload the page as a browser does (hidden, pagehide, unload), then keep its storage. */
  async close() {
    const { window } = this;
    // A user leaves a page a moment after its last call, not mid-request: settling first
    // keeps the run deterministic (what an unload does to requests still in flight is a
    // rule of its own, not an accident of timing).
    await this.network.settle();
    try {
      Object.defineProperty(window.document, "visibilityState", { value: "hidden", configurable: true });
      window.document.dispatchEvent(new window.Event("visibilitychange"));
      window.dispatchEvent(new window.PageTransitionEvent("pagehide", { persisted: false }));
      window.dispatchEvent(new window.Event("beforeunload"));
      window.dispatchEvent(new window.Event("unload"));
    } finally {
      await this.network.settle();
      const entries = [];
      for (let i = 0; i < window.localStorage.length; i += 1) {
        const key = window.localStorage.key(i);
        entries.push([key, window.localStorage.getItem(key)]);
      }
      this.device.localStorage = entries;
      this.network.closed = true;
      window.close();
    }
  }
}
