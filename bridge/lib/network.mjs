// The page's network: fetch, XMLHttpRequest and navigator.sendBeacon replaced, before the
// SDK loads, by versions that send to the loopback collector with Node's own HTTP client.
// Nothing leaves the machine: a request for any host but 127.0.0.1 fails as an offline
// browser's would, and is logged. The bridge counts requests in flight, so flush can wait
// until the SDK's deliveries have settled (SEMANTICS.md 6.2, 6.5).

const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);
const QUIET_MS = 30;

export class Network {
  constructor(window, log) {
    this.window = window;
    this.log = log;
    this.inFlight = 0;
    this.lastActivity = Date.now();
    this.requests = 0;
    this.closed = false;
    this.install();
  }

  /** Send one request to the collector; the reply as {status, headers, body (Buffer)}. */
  async send(method, url, headers, body) {
    const target = new URL(url, this.window.location.href);
    if (!LOOPBACK.has(target.hostname)) {
      this.log(`blocked a request off the machine: ${method} ${target.origin}${target.pathname}`);
      throw new TypeError("Failed to fetch (the bridge allows loopback requests only)");
    }
    this.inFlight += 1;
    this.requests += 1;
    this.lastActivity = Date.now();
    try {
      const reply = await fetch(target, { method, headers, body: method === "GET" || method === "HEAD" ? undefined : body });
      const bytes = Buffer.from(await reply.arrayBuffer());
      return { status: reply.status, headers: reply.headers, body: bytes };
    } finally {
      this.inFlight -= 1;
      this.lastActivity = Date.now();
    }
  }

  /**
   * Wait until no request is in flight and none has started for a quiet spell, or until
   * `boundMs` has passed (then whatever is still on its way arrives late, a finding).
   */
  async settle(boundMs = 5000) {
    const deadline = Date.now() + boundMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const quiet = this.inFlight === 0 && Date.now() - this.lastActivity >= QUIET_MS;
      if (quiet) return true;
      if (Date.now() > deadline) {
        this.log(`flush: ${this.inFlight} request(s) still in flight after ${boundMs} ms`);
        return false;
      }
    }
  }

  install() {
    const network = this;
    const window = this.window;

    const bodyOf = async (body) => {
      if (body === undefined || body === null) return { bytes: undefined, type: undefined };
      if (typeof body === "string") return { bytes: Buffer.from(body, "utf8"), type: "text/plain;charset=UTF-8" };
      if (body instanceof window.URLSearchParams) {
        return { bytes: Buffer.from(body.toString(), "utf8"), type: "application/x-www-form-urlencoded;charset=UTF-8" };
      }
      if (body instanceof window.Blob) return { bytes: Buffer.from(await body.arrayBuffer()), type: body.type || undefined };
      if (body instanceof window.FormData) {
        const form = new URLSearchParams();
        for (const [key, value] of body.entries()) form.append(key, String(value));
        return { bytes: Buffer.from(form.toString(), "utf8"), type: "application/x-www-form-urlencoded;charset=UTF-8" };
      }
      if (ArrayBuffer.isView(body)) return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength), type: undefined };
      if (Object.prototype.toString.call(body) === "[object ArrayBuffer]") return { bytes: Buffer.from(new Uint8Array(body)), type: undefined };
      return { bytes: Buffer.from(String(body), "utf8"), type: "text/plain;charset=UTF-8" };
    };

    const headersOf = (given, type) => {
      const out = {};
      if (given) {
        const entries = typeof given.entries === "function" ? given.entries() : Object.entries(given);
        for (const [key, value] of entries) out[key.toLowerCase()] = String(value);
      }
      if (type && !out["content-type"]) out["content-type"] = type;
      return out;
    };

    window.fetch = async function fetch(input, init = {}) {
      const url = typeof input === "string" ? input : input.url ?? String(input);
      const method = (init.method || input.method || "GET").toUpperCase();
      const { bytes, type } = await bodyOf(init.body);
      const reply = await network.send(method, url, headersOf(init.headers, type), bytes);
      return new Response(reply.status === 204 ? null : reply.body, { status: reply.status, headers: reply.headers });
    };

    window.navigator.sendBeacon = function sendBeacon(url, data) {
      bodyOf(data)
        .then(({ bytes, type }) => network.send("POST", String(url), headersOf(undefined, type), bytes))
        .catch((error) => network.log(`sendBeacon to ${url} failed: ${error.message}`));
      return true;
    };

    class XMLHttpRequest extends window.EventTarget {
      static UNSENT = 0;
      static OPENED = 1;
      static HEADERS_RECEIVED = 2;
      static LOADING = 3;
      static DONE = 4;

      constructor() {
        super();
        this.readyState = 0;
        this.status = 0;
        this.statusText = "";
        this.responseText = "";
        this.response = "";
        this.responseType = "";
        this.withCredentials = false; // mixpanel-browser picks XHR when this property exists
        this.timeout = 0;
        this.onreadystatechange = null;
        this.onload = null;
        this.onerror = null;
        this.ontimeout = null;
        this.onloadend = null;
        this._headers = {};
        this._replyHeaders = new Headers();
      }

      open(method, url) {
        this._method = String(method).toUpperCase();
        this._url = String(url);
        this._headers = {};
        this._change(1);
      }

      setRequestHeader(key, value) {
        this._headers[String(key).toLowerCase()] = String(value);
      }

      getResponseHeader(key) {
        return this._replyHeaders.get(key);
      }

      getAllResponseHeaders() {
        return [...this._replyHeaders.entries()].map(([k, v]) => `${k}: ${v}\r\n`).join("");
      }

      abort() {
        this._aborted = true;
      }

      send(body) {
        bodyOf(body)
          .then(({ bytes, type }) => network.send(this._method, this._url, headersOf(this._headers, type), bytes))
          .then(
            (reply) => {
              if (this._aborted) return;
              this.status = reply.status;
              this._replyHeaders = reply.headers;
              this.responseText = reply.body.toString("utf8");
              this.response = this.responseType === "json" ? safeJson(this.responseText) : this.responseText;
              this._change(2);
              this._change(3);
              this._change(4);
              this._fire("load");
              this._fire("loadend");
            },
            (error) => {
              if (this._aborted) return;
              network.log(`XMLHttpRequest ${this._method} ${this._url} failed: ${error.message}`);
              this.status = 0;
              this._change(4);
              this._fire("error");
              this._fire("loadend");
            },
          );
      }

      _change(state) {
        this.readyState = state;
        this._fire("readystatechange");
      }

      _fire(type) {
        const handler = this[`on${type}`];
        const event = new window.Event(type);
        if (typeof handler === "function") {
          try {
            handler.call(this, event);
          } catch (error) {
            network.log(`an XMLHttpRequest on${type} handler threw: ${error.stack || error}`);
          }
        }
        this.dispatchEvent(event);
      }
    }
    window.XMLHttpRequest = XMLHttpRequest;
  }
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
