// Browser test of a derived measure in the explorer: the demo's VPD
// (computed from each T&RH sensor's temperature and relative humidity) is
// picked like a stored measure and plotted, with its summary and CSV.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { SHOTS, signedInPage } from "../lib.mjs";

const ui = signedInPage();

test("the explorer plots the derived VPD picked alone", async () => {
  const { page } = ui;
  await page.goto("/explorer?type=" + encodeURIComponent("Aranet T&RH"));
  await page.waitForSelector("#explorer[data-rendered='1']", { timeout: 60_000 });
  const measures = page.locator("#explorer-form input[name=measure]");
  const vpd = page.locator("#explorer-form label", { hasText: "vpd (kPa)" }).locator("input");
  assert.equal(await vpd.count(), 1, "vpd is in the measure list");
  for (const box of await measures.all()) await box.uncheck();
  await vpd.check();
  await Promise.all([page.waitForEvent("framenavigated"), page.click("#explorer-form button[type=submit]")]);
  await page.waitForSelector("#explorer[data-rendered='1']", { timeout: 60_000 });
  assert.deepEqual(await page.locator("#explorer .u-title").allTextContents(), ["vpd (kPa)"]);
  const status = await page.locator(".chart-status").first().textContent();
  const points = Number(status.replace(/[^0-9]/g, ""));
  assert.ok(points > 0, `the plot has points: ${status}`);
  assert.ok(await page.locator("#explorer canvas").count() > 0);
  const rows = page.locator("#stats tbody tr");
  assert.ok(await rows.count() > 0);
  assert.equal(await rows.first().locator("td").first().textContent(), "vpd");
  // VPD of a greenhouse is a few kPa at most.
  const max = Number(await rows.first().locator("td").nth(6).textContent());
  assert.ok(max > 0 && max < 10, `max vpd ${max} kPa`);
  assert.match(await page.getAttribute("#csv-link", "href"), /measure=-\d+/);
  await page.screenshot({ path: join(SHOTS, "explorer-vpd.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
});

test("the sensor page and the dashboard show the latest VPD", async () => {
  const { page } = ui;
  await page.goto("/sensors/view?id=" + encodeURIComponent("c4:93:00:10:0d:03"));
  assert.ok(await page.locator("td", { hasText: /^vpd$/ }).count() > 0, "a latest vpd row on the sensor page");
  await page.goto("/?type=" + encodeURIComponent("Aranet T&RH"));
  assert.ok(await page.locator("td", { hasText: /^vpd$/ }).count() > 0, "latest vpd rows on the dashboard");
  assert.deepEqual(page.errors, []);
});
