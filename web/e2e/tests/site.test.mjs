// The site page in headless Chromium with software WebGL (SwiftShader):
// the demo farm's model renders with its sensors, a day replays, an
// uploaded GLB is shown and a location is placed by clicking on it, and
// the frame time with 1,000 placed sensors is measured (printed, not
// asserted). Screenshots go to $ARTIFACTS_DIR/screenshots.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { ADMIN, ADMIN_PASS, API, HANG, login, newPage, SHOTS, startServer } from "../lib.mjs";

let api;
let browser;
let server; // a demo server of its own, so the 1,000 sensors stay out of the other tests
let BASE;
const figures = [];

// Software WebGL: recent Chromium only offers SwiftShader when asked.
const glArgs = ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

before(async () => {
  server = await startServer({}, ["--demo"]);
  BASE = server.url;
  api = await new API(BASE).login();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: glArgs });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (figures.length) console.log("\n" + figures.join("\n"));
});

async function sitePage(schema, viewport = { width: 1280, height: 900 }, extra = {}) {
  const page = await newPage(browser, BASE, { viewport, ...extra });
  await login(page, ADMIN, ADMIN_PASS);
  await page.goto("/site?schema=" + encodeURIComponent(schema));
  await page.waitForSelector("#site[data-rendered]");
  return page;
}

/** Saves the 3D view (page.screenshot: an element screenshot waits for a
 * stability that a busy software renderer may not reach in time). */
async function shot(page, name) {
  const clip = await page.locator("#site").boundingBox();
  await page.screenshot({ path: join(SHOTS, name), clip });
}

/** Share of the 3D canvas's pixels that differ from the background. */
function foregroundShare(page) {
  return page.evaluate(() => {
    window.siteView.renderNow(); // the drawing buffer is read in the same task
    const src = document.querySelector("#site canvas");
    const c = document.createElement("canvas");
    c.width = src.width; c.height = src.height;
    const g = c.getContext("2d");
    g.drawImage(src, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const bg = [0xdf, 0xe6, 0xec];
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]) > 24) n++;
    return n / (d.length / 4);
  });
}

test("the demo farm renders with labelled, coloured sensors, live and replayed", async () => {
  const page = await sitePage("crop-farm");
  assert.equal(await page.getAttribute("#site", "data-rendered"), "1", await page.textContent("#site-msg"));
  assert.equal(await page.textContent("#site-msg"), "", "no error message over the view");
  assert.ok(Number(await page.getAttribute("#site", "data-markers")) >= 30, "every placed demo sensor has a marker");
  await page.waitForTimeout(300);
  const share = await foregroundShare(page);
  figures.push(`site: demo farm covers ${(share * 100).toFixed(1)}% of the view`);
  assert.ok(share > 0.05, `the farm covers ${(share * 100).toFixed(1)}% of the view`);
  const labels = await page.evaluate(() => window.siteView.drawnLabels);
  assert.ok(labels.some((l) => /: \d/.test(l)), `labels show values: ${labels.slice(0, 5)}`);
  assert.match(await page.textContent("#site-legend"), /°C/);
  await shot(page, "site-demo-live.png");

  // Replay the last day and stop half way.
  await page.selectOption("#site-replay-range", "24h");
  await page.waitForSelector("#site-scrubber:not([disabled])");
  const series = await page.evaluate(() => window.siteView.replay.series.length);
  assert.ok(series >= 20, `replay has ${series} series`);
  const before = await page.evaluate(() => window.siteView.drawnLabels.join("|"));
  await page.locator("#site-scrubber").fill("500");
  // The labels are redrawn on the next frames: wait for them, however busy the machine.
  await page.waitForFunction((b) => window.siteView.drawnLabels.join("|") !== b, before);
  const mid = await page.evaluate(() => window.siteView.drawnLabels.join("|"));
  assert.notEqual(mid, before, "the labels change with the replay time");
  assert.doesNotMatch(await page.textContent("#site-replay .when"), /live|loading/);
  await shot(page, "site-demo-replay.png");

  // Presets and search do not break the view.
  await page.click("text=Top");
  await page.fill("#site-search", "CO2");
  await page.press("#site-search", "Enter");
  await page.waitForTimeout(900);
  await shot(page, "site-demo-search.png");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("upload a GLB, place a location by clicking it, see its sensor's marker", async () => {
  const schema = "e2e-site";
  await api.post("/location/insert-location-schema", { name: schema, description: null, identifiers: [
    { name: "x", units: "m", datatype: "float" }, { name: "y", units: "m", datatype: "float" }, { name: "z", units: "m", datatype: "float" }] }, 201);
  await api.post("/location/insert-location-for-schema", { schema_name: schema, coordinates: { x: 50, y: 50, z: 0 } }, 201);
  await api.post("/sensor/insert-sensor-type", { name: "e2e site probe", description: null,
    measures: [{ name: "temperature", units: "°C", datatype: "float" }] }, 201);
  await api.post("/sensor/insert-sensor", { type_name: "e2e site probe", unique_identifier: "site-probe-1", name: "Probe one" }, 201);
  await api.post("/sensor/insert-sensor-location", { unique_identifier: "site-probe-1", schema_name: schema, coordinates: { x: 50, y: 50, z: 0 } }, 201);
  await api.post("/sensor/insert-sensor-readings", { unique_identifier: "site-probe-1", measure_name: "temperature", measure_units: "°C",
    readings: [21.5], timestamps: [new Date().toISOString()] }, 201);
  // The demo's generated farm model is the GLB we upload.
  const glb = Buffer.from(await (await fetch(BASE + "/location/site-model?schema_name=crop-farm", { headers: { Authorization: "Bearer " + api.token } })).arrayBuffer());
  assert.equal(glb.subarray(0, 4).toString(), "glTF");

  const page = await sitePage(schema);
  await page.setInputFiles("#site-model-file", { name: "farm.glb", mimeType: "model/gltf-binary", buffer: glb });
  await page.click("#site-upload button[type=submit]");
  await page.getByText(/Site model farm.glb stored as version 1\./).waitFor();
  await page.waitForSelector("#site[data-rendered='1']");

  // A bad upload is refused with a message and the model stays.
  await page.setInputFiles("#site-model-file", { name: "notes.glb", mimeType: "model/gltf-binary", buffer: Buffer.from("not a model") });
  await page.click("#site-upload button[type=submit]");
  await page.getByText(/neither a binary glTF/).waitFor();
  const site = await api.post("/location/get-site", { schema_name: schema }, 200);
  assert.equal(site.model.version, 1);

  // Pick: the location is at (50, 50), off the model; click the middle of
  // the model as it appears on the screen.
  await page.waitForSelector("#site[data-rendered='1']");
  await page.click("text=Iso");
  await page.waitForTimeout(800);
  await page.click("#site-pick");
  const target = await page.evaluate(() => window.siteView.siteCentreOnPage());
  await page.mouse.click(target.x, target.y);
  const x = Number(await page.inputValue("#place-x")), y = Number(await page.inputValue("#place-y")), z = Number(await page.inputValue("#place-z"));
  assert.ok(x > -13 && x < 68 && y > -2 && y < 5 && z >= -0.2 && z < 3.5, `picked (${x}, ${y}, ${z}) is on the farm model`);
  await page.click("#site-place button[type=submit]");
  await page.getByText(/Location placed at x=/).waitFor();
  const locs = await api.post("/location/list-locations", { schema_name: schema }, 200);
  assert.ok(Math.abs(locs[0].x - x) < 0.01 && Math.abs(locs[0].y - y) < 0.01, `stored ${JSON.stringify(locs[0])}, picked (${x}, ${y})`);

  // The sensor's marker sits there, coloured and labelled.
  await page.waitForSelector("#site[data-rendered='1']");
  await page.waitForFunction(() => window.siteView.drawnLabels.length > 0 && window.siteView.markerSensor.length > 0);
  const marker = await page.evaluate(() => {
    const v = window.siteView;
    const c = v.markers.instanceColor ? [...v.markers.instanceColor.array.slice(0, 3)] : null;
    return { n: v.markerSensor.length, colour: c, labels: v.drawnLabels };
  });
  assert.equal(marker.n, 1);
  assert.ok(marker.colour && !(marker.colour[0] === marker.colour[1] && marker.colour[1] === marker.colour[2]), `marker colour ${marker.colour}`);
  assert.ok(marker.labels.includes("Probe one: 21.5"), `labels ${marker.labels}`);
  await shot(page, "site-uploaded-placed.png");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("phone width, and no WebGL: the table stays", async () => {
  const phone = await sitePage("crop-farm", { width: 390, height: 844 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  assert.equal(await phone.getAttribute("#site", "data-rendered"), "1");
  await phone.screenshot({ path: join(SHOTS, "site-demo-phone.png") });
  await phone.context().close();

  const noGL = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-webgl", "--disable-3d-apis"] });
  try {
    const context = await noGL.newContext({ baseURL: BASE });
    context.setDefaultTimeout(HANG);
    const page = await context.newPage();
    await login(page, ADMIN, ADMIN_PASS);
    await page.goto("/site?schema=crop-farm");
    await page.waitForSelector("#site[data-rendered='nogl']");
    assert.match(await page.textContent("#site-msg"), /WebGL/);
    assert.ok(await page.locator("#site-table tbody tr").count() >= 30, "the 2D table lists the locations");
  } finally {
    await noGL.close();
  }
});

test("a model that cannot be drawn gives a message and the generated scene", async () => {
  const schema = "e2e-broken";
  await api.post("/location/insert-location-schema", { name: schema, description: null, identifiers: [
    { name: "x", units: "m", datatype: "float" }, { name: "y", units: "m", datatype: "float" }] }, 201);
  await api.post("/location/insert-location-for-schema", { schema_name: schema, coordinates: { x: 1, y: 2 } }, 201);
  // Valid glTF framing, but its mesh reads an accessor that does not exist.
  const doc = JSON.stringify({ asset: { version: "2.0" }, scene: 0, scenes: [{ nodes: [0] }], nodes: [{ mesh: 0 }],
    meshes: [{ primitives: [{ attributes: { POSITION: 7 } }] }] });
  const res = await fetch(BASE + "/location/upload-site-model?schema_name=" + schema, { method: "POST",
    headers: { Authorization: "Bearer " + api.token, "Content-Type": "model/gltf+json" }, body: doc });
  assert.equal(res.status, 201, await res.text());
  const page = await sitePage(schema);
  assert.equal(await page.getAttribute("#site", "data-rendered"), "1");
  assert.match(await page.textContent("#site-msg"), /could not be drawn/);
  assert.ok(await foregroundShare(page) > 0.01, "the generated scene is drawn instead");
  await page.context().close();
});

test("benchmark: frame time with 1,000 placed sensors (software GL)", async () => {
  const schema = "e2e-bench";
  await api.post("/location/insert-location-schema", { name: schema, description: null, identifiers: [
    { name: "x", units: "m", datatype: "float" }, { name: "y", units: "m", datatype: "float" }, { name: "z", units: "m", datatype: "float" }] }, 201);
  await api.post("/sensor/insert-sensor-type", { name: "e2e bench probe", description: null,
    measures: [{ name: "temperature", units: "°C", datatype: "float" }] }, 201);
  const n = 1000, now = new Date().toISOString();
  const one = async (i) => {
    const coords = { x: (i % 40) * 1.5, y: Math.floor(i / 40) % 5 * 2.5, z: 0.5 + Math.floor(i / 200) * 0.5 };
    await api.post("/location/insert-location-for-schema", { schema_name: schema, coordinates: coords }, 201);
    await api.post("/sensor/insert-sensor", { type_name: "e2e bench probe", unique_identifier: `bench-${i}` }, 201);
    await api.post("/sensor/insert-sensor-location", { unique_identifier: `bench-${i}`, schema_name: schema, coordinates: coords }, 201);
  };
  for (let i = 0; i < n; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => one(i + k)));
  await api.post("/sensor/insert-readings-batch", { series: Array.from({ length: n }, (_, i) => ({
    unique_identifier: `bench-${i}`, measure_name: "temperature", measure_units: "°C", readings: [15 + (i % 97) / 10], timestamps: [now] })) }, 201);

  const measure = async (name) => {
    const page = await sitePage(name);
    assert.equal(await page.getAttribute("#site", "data-rendered"), "1");
    const ms = await page.evaluate(async () => { await window.siteView.benchmark(3); return window.siteView.benchmark(20); });
    const markers = Number(await page.getAttribute("#site", "data-markers"));
    await page.context().close();
    return { ms, markers };
  };
  // The browser's own frame interval on an empty page, for scale.
  const blank = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const idle = await blank.evaluate(() => new Promise((done) => {
    let n = 0, t0 = 0;
    const tick = (t) => { if (n === 0) t0 = t; if (++n <= 20) requestAnimationFrame(tick); else done((t - t0) / 20); };
    requestAnimationFrame(tick);
  }));
  await blank.context().close();
  const base = await measure("crop-farm");
  const big = await measure(schema);
  assert.equal(big.markers, n);
  figures.push(`site frame interval while turning (SwiftShader, 1280x900; empty page ${idle.toFixed(1)} ms): demo farm ${base.markers} sensors ${base.ms.toFixed(1)} ms; ` +
    `${big.markers} sensors ${big.ms.toFixed(1)} ms (${(big.ms / base.ms).toFixed(2)}x the demo)`);
});
