#!/usr/bin/env node
// A browser finding's page (reports/js-<sdk>/programs/<requirement>.html), run in headless
// Chromium as its reader runs it: the page loads the SDK's own bundle from node_modules/,
// sets it up and calls it as the bridge does, and prints one line per call. The page is
// served at the bridge's page URL (so what the SDK reads of its page, URL and title, is
// what it read in the run); its bundle from bridge/node_modules; requests to the page's
// default collector, 127.0.0.1:8080, go to COLLECTOR_URL's; anything else fails offline.
//
//   node bridge/tools/program-page.mjs describe SDK
//       the SDK as a page needs it, as JSON: package, version, bundle, vendor, the default
//       variant's settings, the flush interval (clock.idleMs) and setup's source
//   node bridge/tools/program-page.mjs run PAGE.html COLLECTOR_URL
//       open the page against COLLECTOR_URL's server, print its call lines once it says done,
//       then close it (its unload handlers run) once the network is quiet; exit 0, 1 when
//       the page did not finish within 60 s, 2 on bad arguments
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { packageFile, packageVersion } from "../lib/packages.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const PAGE_TIMEOUT_MS = 60_000;
const [command, ...rest] = process.argv.slice(2);

function usage(message) {
  process.stderr.write(`program-page: ${message}\nusage: node bridge/tools/program-page.mjs describe SDK | run PAGE.html COLLECTOR_URL\n`);
  process.exit(2);
}

if (command === "describe") {
  const [name] = rest;
  const module = join(here, "..", "sdks", `${name}.mjs`);
  if (!name || !existsSync(module)) usage(`no browser SDK ${JSON.stringify(name)} in bridge/sdks/`);
  const sdk = await import(module);
  const { spec } = sdk;
  const described = {
    sdk: name,
    package: spec.package,
    version: packageVersion(spec.package),
    bundle: spec.bundle ?? null,
    vendor: spec.vendor,
    settings: spec.variants?.default?.settings ?? {},
    idleMs: spec.clock?.idleMs ?? 0,
    setup: sdk.setup.toString(),
  };
  process.stdout.write(`${JSON.stringify(described)}\n`);
  process.exit(0);
}
if (command !== "run") usage(`unknown command ${JSON.stringify(command)}`);
const [pagePath, collector] = rest;
if (!pagePath || !existsSync(pagePath)) usage(`no page ${JSON.stringify(pagePath)}`);
if (!collector || !/^http:\/\/127\.0\.0\.1:\d+\//.test(collector)) usage(`the collector URL must be http://127.0.0.1:PORT/... (got ${JSON.stringify(collector)})`);

const { Network, PAGE_URL, closeBrowser, deviceContext } = await import("../lib/chromium.mjs");
const html = readFileSync(pagePath, "utf8");
const log = (line) => process.stderr.write(`${line}\n`);
const served = new URL(collector);
const network = new Network(log, {
  serve: (url) => {
    if (url.href === PAGE_URL) return { contentType: "text/html; charset=utf-8", body: html };
    const prefix = "/node_modules/";
    if (!url.pathname.startsWith(prefix)) return null;
    const file = packageFile(decodeURIComponent(url.pathname.slice(prefix.length)));
    return existsSync(file) ? { contentType: "text/javascript; charset=utf-8", body: readFileSync(file) } : null;
  },
  forward: (url) => (url.host === "127.0.0.1:8080" ? new URL(`${url.pathname}${url.search}`, served.origin) : url),
});
const context = await deviceContext(network);
const tab = await context.newPage();
const lines = [];
let said;
const done = new Promise((resolve) => { said = resolve; });
// A binding outlives the page's own reloads (a page load after the first).
await tab.exposeBinding("icReport", (_source, line) => {
  if (line === "done") said(true);
  else lines.push(line);
});
tab.on("console", (message) => log(`console.${message.type()}: ${message.text()}`));
tab.on("pageerror", (error) => log(`page error: ${error.stack || error}`));
const timer = setTimeout(() => said(false), PAGE_TIMEOUT_MS);
await tab.goto(PAGE_URL);
const finished = await done;
clearTimeout(timer);
await network.settle();
await tab.close({ runBeforeUnload: true });
await network.settle();
await closeBrowser();
for (const line of lines) process.stdout.write(`${line}\n`);
if (!finished) log(`program-page: ${pagePath} did not say done within ${PAGE_TIMEOUT_MS / 1000} s`);
process.exit(finished ? 0 : 1);
