#!/usr/bin/env node
// Opens the HTML matrix page in headless Chromium the way a reader does: clicks the first
// failing cell, checks that its details open and show the failure's reproducer, and saves
// a screenshot. Exit 0 when the reproducer is shown, 1 when not, 2 on bad arguments.
//
//   node bridge/tools/matrix-page.mjs reports/matrix.html reports/matrix.png
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { chromium } from "playwright-core";

import { chromiumPath } from "../lib/chromium.mjs";

const [page, shot] = process.argv.slice(2);
if (!page || !shot || !existsSync(page)) {
  process.stderr.write("usage: node bridge/tools/matrix-page.mjs PAGE.html SCREENSHOT.png (the page must exist)\n");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: chromiumPath(),
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const tab = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  await tab.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
  await tab.goto(pathToFileURL(resolve(page)).href);
  const link = tab.locator("td.v a").first();
  const target = (await link.getAttribute("href")).slice(1);
  await link.click();
  const details = tab.locator(`details#${target}`);
  await details.locator("summary").click();
  const reproducer = details.locator("pre code");
  const shown = (await details.getAttribute("open")) !== null && (await reproducer.count()) > 0 && (await reproducer.first().isVisible());
  const text = shown ? await reproducer.first().innerText() : "";
  await tab.screenshot({ path: shot, fullPage: false });
  if (!shown || !text.includes("replay(")) {
    process.stderr.write(`matrix page: the failure ${target} did not show its reproducer when opened\n`);
    process.exit(1);
  }
  process.stderr.write(`matrix page: opened ${target}; its reproducer is shown (${text.split("\n")[0].slice(0, 80)}); screenshot ${shot}\n`);
} finally {
  await browser.close();
}
