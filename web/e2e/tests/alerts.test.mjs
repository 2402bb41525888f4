// Browser tests of alerts on the plots: a threshold rule's line and its
// alerts' markers are drawn on the sensor page and the explorer, read back
// from the canvas pixels. Screenshots of both pages go to
// $ARTIFACTS_DIR/screenshots.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { API, BASE, launch, login, newPage, SHOTS } from "../lib.mjs";

const api = new API();
const uid = "e2e-alert-probe";
let browser;

before(async () => {
  browser = await launch();
  await api.login();
  // A probe that ran hot for 20 minutes an hour ago: one alert, fired and
  // resolved, under a rule at 28 °C.
  await api.post("/sensor/insert-sensor", { type_name: "Aranet T&RH", unique_identifier: uid, name: "Alert probe", notes: "" }, 201);
  await api.post("/alert/insert-rule", { name: "e2e probe hot", target: { sensor: uid }, measure: "temperature", severity: "critical",
    condition: { kind: "threshold", op: "above", value: 28 } }, 201);
  const now = Math.floor(Date.now() / 600_000) * 600;
  const secs = Array.from({ length: 13 }, (_, i) => now - (12 - i) * 600);
  const vals = secs.map((_, i) => (i >= 4 && i < 7 ? 31 : 22));
  await api.post("/sensor/insert-readings-batch", { series: [{ unique_identifier: uid, measure_name: "temperature", measure_units: "°C",
    readings: vals, timestamps: secs.map((s) => new Date(s * 1000).toISOString()) }] }, 201);
});
after(async () => { await browser?.close(); });

const pageAt = (viewport) => newPage(browser, BASE, { viewport, deviceScaleFactor: 1 });

/** The colour of the canvas pixel at (x, y), in canvas pixels, of the
 * plot in wrap. */
async function pixel(wrap, x, y) {
  return wrap.evaluate((w, [x, y]) => Array.from(w.querySelector("canvas").getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3)), [x, y]);
}

function near(got, want, what) {
  assert.ok(got.every((c, i) => Math.abs(c - want[i]) <= 40), `${what}: pixel rgb(${got}) is not near rgb(${want})`);
}

/** Checks that the temperature plot on the page draws the rule's line (a
 * dashed red line: some pixel along it has the rule's colour) and the
 * alert's two markers (a filled red triangle where it fired). */
async function assertDrawn(page, name) {
  await page.waitForSelector("[data-charts][data-rendered]", { timeout: 15_000 });
  const wrap = page.locator(".chart", { has: page.locator(".u-title", { hasText: /^temperature/ }) }).first();
  assert.equal(await wrap.getAttribute("data-threshold-lines"), "1", `${name}: one threshold line`);
  assert.equal(await wrap.getAttribute("data-markers"), "2", `${name}: fired and resolved markers`);
  const y = Number(await wrap.getAttribute("data-threshold-y"));
  const x = Number(await wrap.getAttribute("data-marker-x"));
  const width = await wrap.evaluate((w) => w.querySelector("canvas").width);
  const row = await wrap.evaluate((w, y) => Array.from(w.querySelector("canvas").getContext("2d").getImageData(0, y, w.querySelector("canvas").width, 1).data), y);
  let hits = 0;
  for (let i = 0; i < width; i++) if (Math.abs(row[4 * i] - 185) < 30 && row[4 * i + 1] < 70 && row[4 * i + 2] < 70) hits++;
  assert.ok(hits > 50, `${name}: ${hits} pixels of the critical colour along the threshold line`);
  const top = Number(await wrap.getAttribute("data-marker-y"));
  near(await pixel(wrap, x, top), [220, 38, 38], `${name}: fired marker`);
  assert.match(await wrap.locator(".chart-alerts").innerText(), /e2e probe hot: above 28 °C/);
  assert.match(await wrap.locator(".chart-alerts").innerText(), /1 alert fired, ▽ 1 resolved/);
}

test("the sensor page draws a threshold rule's line and its alert's markers", async () => {
  for (const [size, viewport] of [["desktop", { width: 1440, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
    const page = await pageAt(viewport);
    await login(page);
    await page.goto("/sensors/view?" + new URLSearchParams({ id: uid }));
    await assertDrawn(page, `${size} sensor page`);
    await page.screenshot({ path: join(SHOTS, `${size}-sensor-alerts.png`), fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.context().close();
  }
});

test("the explorer draws them too", async () => {
  const page = await pageAt({ width: 1440, height: 900 });
  await login(page);
  await page.goto("/explorer?" + new URLSearchParams({ type: "Aranet T&RH", sensor: uid }));
  await assertDrawn(page, "explorer");
  await page.screenshot({ path: join(SHOTS, "desktop-explorer-alerts.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("the alerts page fits a phone: nothing wider than the screen, the acknowledge form inside its row", async () => {
  const page = await pageAt({ width: 390, height: 844 });
  await login(page);
  await page.goto("/alerts/rule");
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, "the rule editor fits");
  await page.goto("/alerts");
  const got = await page.evaluate(() => {
    const out = { pageWidth: document.documentElement.scrollWidth, overflowing: [] };
    for (const e of document.querySelectorAll("table.alerts td, table.rules td, table.alerts td *, table.rules td *")) {
      const r = e.getBoundingClientRect();
      const wrap = e.closest(".table-wrap").getBoundingClientRect();
      if (r.width > 0 && (r.right > wrap.right + 0.5 || r.left < wrap.left - 0.5)) out.overflowing.push(`${e.tagName}.${e.className} ${Math.round(r.left)}–${Math.round(r.right)} in ${Math.round(wrap.left)}–${Math.round(wrap.right)}`);
    }
    return out;
  });
  assert.ok(got.pageWidth <= 390, `page is ${got.pageWidth} px wide`);
  assert.deepEqual(got.overflowing.slice(0, 5), [], "cells and their contents stay inside the table");
  await page.context().close();
});
