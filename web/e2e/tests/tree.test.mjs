// Browser tests of the location tree, the map (with its tile server
// unreachable) and the data quality page, against the demo's CROP farm:
// farm → tunnel → zone → shelf, and the real gaps of its readings.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SHOTS, signedInPage } from "../lib.mjs";

const ui = signedInPage();

test("the location tree folds, rolls up counts and moves a subtree", async () => {
  const { page } = ui;
  await page.goto("/tree");
  const farm = page.locator("#location-tree > li").filter({ hasText: "Growing Underground" });
  await farm.waitFor();
  // Every demo sensor (32) is under the farm.
  assert.match(await farm.locator("summary").first().textContent(), /32 sensors/);
  const tunnel = farm.locator("li").filter({ hasText: "Side tunnel" }).first();
  assert.match(await tunnel.locator("summary").first().textContent(), /Side tunnel/);
  // Fold the farm: its tunnels disappear.
  await farm.locator("summary").first().click();
  assert.equal(await tunnel.isVisible(), false);
  await farm.locator("summary").first().click();
  assert.equal(await tunnel.isVisible(), true);
  await page.screenshot({ path: join(SHOTS, "tree.png"), fullPage: true });

  // Move the R&D zone under Tunnel 7, then back.
  const label = async (text) => (await page.locator("#move-location option", { hasText: text }).first().textContent()).trim();
  const rnd = await label("R&D (crop-site");
  await page.selectOption("#move-location", { label: rnd });
  await page.selectOption("#move-parent", { label: await label("Tunnel 7 (crop-site") });
  await page.click("#move-form button[type=submit]");
  await page.getByText("Location moved.").waitFor();
  const t7 = page.locator("#location-tree li").filter({ has: page.locator("summary", { hasText: "Tunnel 7" }) }).first();
  assert.match(await t7.textContent(), /R&D/);
  // A cycle is refused with the reason.
  await page.selectOption("#move-location", { label: await label("Growing Underground") });
  await page.selectOption("#move-parent", { label: rnd });
  await page.click("#move-form button[type=submit]");
  await page.getByText(/would make a cycle/).waitFor();
  await page.screenshot({ path: join(SHOTS, "tree-cycle-refused.png") });
  await page.selectOption("#move-location", { label: rnd });
  await page.selectOption("#move-parent", { label: await label("Side tunnel") });
  await page.click("#move-form button[type=submit]");
  await page.getByText("Location moved.").waitFor();
  assert.deepEqual(page.errors, []);
});

test("the map draws the markers without a tile server", async () => {
  const { page } = ui;
  // No tile server answers: every tile request fails.
  await page.route(/tile\.openstreetmap\.org/, (route) => route.abort());
  await page.goto("/map");
  await page.waitForSelector("#map[data-ready]");
  const markers = Number(await page.getAttribute("#map", "data-ready"));
  assert.ok(markers >= 10, `${markers} markers`);
  assert.equal(await page.locator("#map path.leaflet-interactive").count(), markers);
  await page.locator("#map-note").waitFor({ state: "visible" });
  assert.match(await page.textContent("#map-note"), /could not be loaded/);
  assert.equal(await page.locator("#map-table tbody tr").count(), markers);
  await page.screenshot({ path: join(SHOTS, "map-without-tiles.png"), fullPage: true });
  await page.unroute(/tile\.openstreetmap\.org/);
  assert.deepEqual(page.errors, []);
});

test("the data quality page shows the demo's gaps", async () => {
  const { page } = ui;
  await page.goto("/quality?days=5");
  const rows = page.locator("#quality-heatmap tbody tr");
  // The demo's 60 series (28 T&RH sensors × 2 measures + 4 CO2 sensors),
  // and those other tests of the suite added before this one.
  assert.ok((await rows.count()) >= 60, `${await rows.count()} series`);
  // The demo's three days have gaps: some series report them.
  const gaps = await page.$$eval("#quality-heatmap tbody tr td:nth-child(5)", (tds) => tds.map((td) => Number(td.textContent)));
  assert.ok(gaps.some((g) => g > 0), "some series have gaps");
  // The first of the five days is before the demo's three: no coverage.
  assert.ok(await page.locator("#quality-heatmap td.cov-none").count() >= 60);
  assert.ok(await page.locator("#quality-heatmap td.cov-full, #quality-heatmap td.cov-high").count() > 0);
  await page.screenshot({ path: join(SHOTS, "quality.png"), fullPage: true });
  const [dl] = await Promise.all([page.waitForEvent("download"), page.locator("#quality-heatmap a[download]").first().click()]);
  const csv = readFileSync(await dl.path(), "utf8");
  assert.match(csv, /^kind,start,end,length_seconds,value,readings,coverage_percent\r\nday,/);
  assert.deepEqual(page.errors, []);
});
