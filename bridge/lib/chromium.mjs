// The same SDK modules in a real browser: headless Chromium (the distribution's package,
// /usr/bin/chromium or $CHROMIUM_PATH) driven with playwright-core. A device is a browser
// context (its own cookies and localStorage); a page load is a new tab in it, on the same
// https://app.example.com/ origin as under jsdom. Every request goes through the bridge:
// the page itself is served from memory, 127.0.0.1 requests are forwarded to the collector
// from Node (counted, so flush can wait for them to settle), anything else fails offline.
import { existsSync, readFileSync } from "node:fs";

import { chromium } from "playwright-core";

import { packageFile } from "./packages.mjs";

export const PAGE_URL = "https://app.example.com/";
const HTML = "<!doctype html><html><head><title>identity-conformance</title></head><body></body></html>";
const QUIET_MS = 30;
// Without the background-networking flags Chromium keeps dialling out of a closed network.
export const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-default-apps", "--disable-extensions",
  // Under automation navigator.webdriver is true, which PostHog and Mixpanel treat as a bot;
  // a visitor's browser says false.
  "--disable-blink-features=AutomationControlled"];

let browserPromise = null;

export function chromiumPath() {
  return process.env.CHROMIUM_PATH || ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
}

export function browser() {
  if (!browserPromise) {
    const executablePath = chromiumPath();
    if (!executablePath) throw new Error("no Chromium: install the distribution's chromium package or set CHROMIUM_PATH");
    browserPromise = chromium.launch({ executablePath, args: FLAGS, headless: true });
  }
  return browserPromise;
}

export async function closeBrowser() {
  if (browserPromise) await (await browserPromise).close();
}

// Every request of a context: what `serve` answers on the page's origin (a URL to
// { contentType, body }, or null), else the page; 127.0.0.1 forwarded (to `forward(url)`,
// by default where it was sent); anything else refused as offline.
export class Network {
  constructor(log, { serve = () => null, forward = (url) => url } = {}) {
    this.log = log;
    this.serve = serve;
    this.forward = forward;
    this.inFlight = 0;
    this.lastActivity = Date.now();
  }

  async route(route) {
    const request = route.request();
    const url = new URL(request.url());
    const served = url.origin === new URL(PAGE_URL).origin ? this.serve(url) : null;
    if (served) return route.fulfill({ status: 200, ...served });
    if (url.href === PAGE_URL) return route.fulfill({ status: 200, contentType: "text/html", body: HTML });
    if (url.hostname !== "127.0.0.1") {
      this.log(`blocked a request off the machine: ${request.method()} ${url.origin}${url.pathname}`);
      return route.abort("internetdisconnected");
    }
    const origin = (await request.headerValue("origin")) || "https://app.example.com";
    const cors = {
      "access-control-allow-origin": origin,
      "access-control-allow-credentials": "true",
      "access-control-allow-headers": (await request.headerValue("access-control-request-headers")) || "content-type",
      "access-control-allow-methods": "GET, POST, OPTIONS",
    };
    if (request.method() === "OPTIONS") return route.fulfill({ status: 204, headers: cors });
    this.inFlight += 1;
    this.lastActivity = Date.now();
    try {
      const headers = { ...(await request.allHeaders()) };
      for (const key of Object.keys(headers)) if (key.startsWith(":") || key === "host" || key === "content-length") delete headers[key];
      const reply = await fetch(this.forward(url), { method: request.method(), headers, body: request.postDataBuffer() ?? undefined });
      const body = Buffer.from(await reply.arrayBuffer());
      await route.fulfill({ status: reply.status, headers: { ...Object.fromEntries(reply.headers), ...cors }, body });
    } catch (error) {
      this.log(`forwarding ${request.method()} ${url.pathname} failed: ${error.message}`);
      await route.abort("failed").catch(() => {});
    } finally {
      this.inFlight -= 1;
      this.lastActivity = Date.now();
    }
    return undefined;
  }

  async settle(boundMs = 5000) {
    const deadline = Date.now() + boundMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (this.inFlight === 0 && Date.now() - this.lastActivity >= QUIET_MS) return true;
      if (Date.now() > deadline) {
        this.log(`flush: ${this.inFlight} request(s) still in flight after ${boundMs} ms`);
        return false;
      }
    }
  }
}

/** A browser context (one device's storage) whose every request goes through `network`. */
export async function deviceContext(network) {
  // Headless Chromium says "HeadlessChrome" in its user agent, which PostHog and Mixpanel
  // drop as a bot; a page's visitor runs the same browser with a window.
  const running = await browser();
  const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${running.version()} Safari/537.36`;
  const context = await running.newContext({ serviceWorkers: "block", userAgent });
  await context.route("**/*", (route) => network.route(route));
  return context;
}

export class ChromiumDevice {
  constructor(key) {
    this.key = key;
    this.context = null;
    this.pages = 0;
  }

  async open(log) {
    if (!this.context) {
      this.network = new Network(log);
      this.context = await deviceContext(this.network);
    }
    this.pages += 1;
    const tab = await this.context.newPage();
    const where = `[${this.key} page ${this.pages}]`;
    tab.on("console", (message) => log(`${where} console.${message.type()}: ${message.text()}`));
    tab.on("pageerror", (error) => log(`${where} page error: ${error.stack || error}`));
    await tab.goto(PAGE_URL);
    return new ChromiumPage(this, tab, this.network);
  }
}

export class ChromiumPage {
  constructor(device, tab, network) {
    this.device = device;
    this.tab = tab;
    this.network = network;
  }

  /** Run a package's bundle in the page, as a <script> tag would. */
  async load(path) {
    await this.tab.addScriptTag({ content: readFileSync(packageFile(path), "utf8") });
  }

  /** Run the SDK module's setup(window, options) in the page; keep the session it returns. */
  async setup(setup, options) {
    await this.tab.evaluate(async ([source, opts]) => {
      // eslint-disable-next-line no-eval
      const fn = (0, eval)(`(${source})`);
      window.__identityConformance = await fn(window, opts);
    }, [setup.toString(), options]);
  }

  /** One operation on the in-page session; a throw in the page rejects with its name and message. */
  async call(op, args, { settle = true } = {}) {
    const failure = await this.tab.evaluate(async ([name, list, settleAfter]) => {
      const session = window.__identityConformance;
      if (typeof session[name] !== "function") return { type: "TypeError", message: `the session has no ${name}()` };
      try {
        if (name === "track") {
          // The caller's object by handle: the same handle is the same object, changed in
          // place (as bridge/index.mjs does under jsdom).
          const objects = (window.__icObjects ||= new Map());
          const container = (v) => v !== null && typeof v === "object";
          const sync = (target, source) => {
            if (Array.isArray(target)) {
              target.length = source.length;
              source.forEach((item, i) => {
                if (container(target[i]) && container(item) && Array.isArray(target[i]) === Array.isArray(item)) sync(target[i], item);
                else target[i] = item;
              });
              return;
            }
            for (const key of Object.keys(target)) if (!(key in source)) delete target[key];
            for (const [key, item] of Object.entries(source)) {
              if (container(target[key]) && container(item) && Array.isArray(target[key]) === Array.isArray(item)) sync(target[key], item);
              else target[key] = item;
            }
          };
          const [event, properties, handle] = list;
          let given = properties;
          if (handle && objects.has(handle)) {
            given = objects.get(handle);
            sync(given, properties);
          } else if (handle) {
            objects.set(handle, given);
          }
          list = [event, given];
        }
        await session[name](...list);
        // Its own user action: zero-delay work runs before the next call (as under jsdom);
        // on a fake page clock the bridge moves the clock instead.
        if (settleAfter) for (let i = 0; i < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 1));
        return null;
      } catch (error) {
        return { type: (error && error.name) || "Error", message: String(error && error.message !== undefined ? error.message : error) };
      }
    }, [op, args, settle]);
    if (failure) {
      const error = new Error(failure.message);
      error.name = failure.type;
      throw error;
    }
  }

  /** What the in-page session's pending() says is still queued in the SDK (0 without one). */
  async pending() {
    return this.tab.evaluate(() => {
      const session = window.__identityConformance;
      return typeof session.pending === "function" ? session.pending() : 0;
    });
  }

  async has(op) {
    return this.tab.evaluate((name) => typeof window.__identityConformance[name] === "function", op);
  }

  async close() {
    await this.network.settle();
    await this.tab.close({ runBeforeUnload: true });
    await this.network.settle();
  }
}
