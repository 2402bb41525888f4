// Browser tests on the demo data run.sh loads: a CSV file uploaded through
// the sensor page is plotted, the bulk upload page names a bad line, and
// every page is photographed at desktop and phone sizes into
// $ARTIFACTS_DIR/screenshots for review, pass or fail.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { API, BASE, launch, login, newPage, SHOTS } from "../lib.mjs";

const sizes = [["desktop", { width: 1440, height: 900 }], ["phone", { width: 390, height: 844 }]];
const api = new API();
let browser;

before(async () => {
  browser = await launch();
  await api.login();
});
after(async () => { await browser?.close(); });

const pageAt = (viewport) => newPage(browser, BASE, { viewport, deviceScaleFactor: 1 });

/** Says, when the page is wider than its window, which elements stick out
 * past its right edge (the outermost ones). */
async function overflow(page, size, name) {
  const found = await page.evaluate(() => {
    const doc = document.documentElement, width = window.innerWidth;
    if (doc.scrollWidth <= width) return null;
    const out = [];
    for (const el of document.body.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.right <= width + 0.5 || r.width === 0) continue;
      if (el.parentElement && el.parentElement.getBoundingClientRect().right > width + 0.5 && el.parentElement !== document.body) continue;
      out.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : ""} (right edge ${Math.round(r.right)})`);
      if (out.length === 5) break;
    }
    return `${doc.scrollWidth} px wide in a ${width} px window: ${out.join(", ")}`;
  });
  return found ? [`${size} ${name}: ${found}`] : [];
}

/** Says which panels (cards, table wrappers) scroll sideways. */
async function scrollingPanels(page, size, name) {
  const found = await page.evaluate(() => [...document.querySelectorAll(".card, .table-wrap")]
    .filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => `"${el.closest(".card")?.querySelector("h2")?.textContent ?? el.className}" (${el.scrollWidth} px in ${el.clientWidth})`));
  return found.map((f) => `${size} ${name}: ${f}`);
}

// Pages whose tables are inherently wide (many coordinates, a heat map, a
// statistics grid, user management) scroll them inside their panel on a
// phone; every other page fits its panels to the width.
const WIDE = new Set(["explorer", "explorer-vpd", "schema-3d", "quality", "users", "alerts", "alert-rule"]);

test("a CSV file uploaded on a sensor's page is plotted", async () => {
  await api.post("/sensor/insert-sensor", { type_name: "Aranet T&RH", unique_identifier: "ux-csv", name: "Uploaded bench", notes: "" }, 201);
  const end = Math.floor(Date.now() / 600_000) * 600_000;
  const lines = ["timestamp,temperature,relative humidity"];
  for (let k = 47; k >= 0; k--) lines.push(`${new Date(end - k * 600_000).toISOString()},${(20 + Math.sin(k / 6)).toFixed(2)},${60 + (k % 7)}`);
  const page = await pageAt(sizes[0][1]);
  await login(page);
  await page.goto("/sensors/view?id=ux-csv");
  await page.getByText("Other ways to send readings").waitFor();
  await page.setInputFiles("#upload-file", { name: "bench.csv", mimeType: "text/csv", buffer: Buffer.from(lines.join("\n") + "\n") });
  await page.locator("#upload-preview").waitFor();
  assert.match(await page.textContent("#upload-message"), /96 readings of 2 series/);
  assert.match(await page.textContent("#upload-columns"), /temperature \(°C\) of ux-csv, float/);
  assert.match(await page.textContent("#upload-series"), /ux-csv\s*temperature \(°C\)\s*48/);
  await page.locator("#get-data-in").screenshot({ path: join(SHOTS, "desktop-sensor-upload-preview.png") });
  await Promise.all([page.waitForEvent("load"), page.click("#upload-go")]);
  await page.waitForSelector("[data-charts][data-rendered]");
  assert.deepEqual(await page.locator(".chart-status").allTextContents(), ["48 points", "48 points"]);
  assert.match(await page.textContent("table"), /temperature/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("the bulk upload page names the first bad line and stores nothing", async () => {
  const page = await pageAt(sizes[0][1]);
  await login(page);
  await page.goto("/readings/upload");
  const csv = "unique_identifier,measure_name,timestamp,value\nux-csv,temperature,2020-01-01T00:00:00Z,1\nux-csv,temperature,2020-01-01T00:10:00Z,warm\n";
  await page.setInputFiles("#upload-file", { name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.locator("#upload-message.flash-error").waitFor();
  assert.match(await page.textContent("#upload-message"), /^line 3: ux-csv:temperature \(float\)/);
  assert.equal(await page.locator("#upload-preview").isVisible(), false);
  await page.context().close();
});

test("screenshots of every page at desktop and phone sizes", async () => {
  await api.post("/sensor/insert-sensor", { type_name: "Aranet CO2", unique_identifier: "ux-empty", name: "Not yet wired", notes: "" }, 201);
  const page = await pageAt(sizes[0][1]);
  await login(page);
  await page.goto("/models");
  const run = await page.locator("a", { hasText: /^Run \d+$/ }).first().getAttribute("href");
  await page.goto("/services");
  const service = await page.locator("a[href^='/services/view']").first().getAttribute("href");
  await page.goto("/explorer?type=" + encodeURIComponent("Aranet T&RH"));
  const vpd = await page.locator("#explorer-form label", { hasText: "vpd (kPa)" }).locator("input").getAttribute("value");
  await page.context().close();
  const q = (o) => "?" + new URLSearchParams(o).toString();
  const pages = [
    ["dashboard", "/"],
    ["dashboard-location", "/?group=location"],
    ["sensors", "/sensors"],
    ["sensor-type-new", "/sensors/types/new"],
    ["sensor-new", "/sensors/new"],
    ["sensor", "/sensors/view" + q({ id: "c4:93:00:10:12:95" })],
    ["sensor-empty", "/sensors/view" + q({ id: "ux-empty" })],
    ["explorer", "/explorer"],
    ["explorer-vpd", "/explorer" + q({ type: "Aranet T&RH", measure: vpd })],
    ["readings", "/readings"],
    ["upload", "/readings/upload"],
    ["locations", "/locations"],
    ["schema-3d", "/locations/schema" + q({ name: "crop-farm" })],
    ["tree", "/tree"],
    ["quality", "/quality"],
    ["alerts", "/alerts"],
    ["alert-rule", "/alerts/rule"],
    ["models", "/models"],
    ["model-run", run],
    ["services", "/services"],
    ["service", service],
    ["users", "/users"],
    ["account", "/account"],
    ["not-found", "/nowhere"],
  ];
  const overflows = [];
  for (const [size, viewport] of sizes) {
    const p = await pageAt(viewport);
    await p.goto("/login");
    await p.screenshot({ path: join(SHOTS, `${size}-login.png`), fullPage: true });
    overflows.push(...await overflow(p, size, "login"));
    await login(p);
    for (const [name, path] of pages) {
      await p.goto(path);
      await p.waitForLoadState("networkidle");
      if (await p.locator("[data-charts]").count()) await p.waitForSelector("[data-charts][data-rendered]");
      await p.screenshot({ path: join(SHOTS, `${size}-${name}.png`), fullPage: true });
      overflows.push(...await overflow(p, size, name));
      if (!WIDE.has(name)) overflows.push(...await scrollingPanels(p, size, name));
    }
    assert.deepEqual(p.errors, [], `${size}: no script errors`);
    await p.context().close();
  }
  // Wide content (tables, code) scrolls inside its own box: the page itself
  // never scrolls sideways, on a phone least of all; and most pages' tables
  // fit their panels without scrolling.
  assert.deepEqual(overflows, [], "pages wider than the window, or panels that need not scroll but do");
  console.log(`screenshots of ${pages.length + 1} pages at ${sizes.map(([, v]) => v.width + "×" + v.height).join(" and ")} are in ${SHOTS}`);
}, { timeout: 900_000 });
