// End-to-end tests of the web interface in headless Chromium, against the
// dtbase server run.sh started. The tests run in order and build on each
// other: the sensor created in one is plotted in the next.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ADMIN, API, ARTIFACTS, launch, login, newPage, pagesOf, screenshotAll, startEcho, startServer } from "../lib.mjs";

const ctx = { type: "E2E Climate", sensor: "e2e-1", schema: "e2e-room", service: "e2e-echo", runId: 0 };
const api = new API();
let browser;
let page; // the admin's page, shared by the tests
let failed = false;
const figures = [];

before(async () => {
  browser = await launch();
  await api.login();
});

after(async () => {
  if (failed) {
    await screenshotAll(browser, ctx).catch((e) => console.error("screenshots failed:", e));
    console.error(`screenshots of every page are in ${ARTIFACTS}`);
  }
  await browser?.close();
  if (figures.length) console.log("\n" + figures.join("\n"));
});

/** A test that saves a screenshot of where it was when it fails. */
function step(name, fn, opts = {}) {
  test(name, opts, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      failed = true;
      const shot = join(ARTIFACTS, "failed-" + name.replace(/[^a-z0-9]+/gi, "-") + ".png");
      await page?.screenshot({ path: shot, fullPage: true }).catch(() => {});
      throw e;
    }
  });
}

/** Timestamps every `minutes` minutes, `n` of them, ending at `end`. */
function times(end, n, minutes) {
  const out = [];
  for (let i = n - 1; i >= 0; i--) out.push(new Date(end - i * minutes * 60_000).toISOString());
  return out;
}

const end = Math.floor(Date.now() / 300_000) * 300_000; // a 5-minute boundary
const stamps = times(end, 576, 5); // two days of 5-minute readings

step("log in", async () => {
  page = await newPage(browser);
  await page.goto("/");
  assert.match(new URL(page.url()).pathname, /^\/login/, "anonymous visitors are sent to the login page");
  await page.fill("#email", ADMIN);
  await page.fill("#password", "wrong password");
  await page.click("form button[type=submit]");
  await page.getByText("Incorrect email or password.").waitFor();
  await login(page);
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  assert.deepEqual(page.errors, []);
});

step("create a sensor type and a sensor", async () => {
  await page.goto("/sensors/types/new");
  await page.fill("#name", ctx.type);
  await page.fill("#new_name_0", "temperature");
  await page.fill("#new_units_0", "C");
  await page.click("text=Add another measure");
  await page.fill("#new_name_1", "humidity");
  await page.fill("#new_units_1", "%");
  await page.click("text=Create sensor type");
  await page.getByText(`Sensor type ${ctx.type} created with 2 measures.`).waitFor();
  await page.goto("/sensors/new?type=" + encodeURIComponent(ctx.type));
  await page.fill("#unique_identifier", ctx.sensor);
  await page.fill("#name", "Bench 1");
  await page.click("text=Create sensor");
  await page.waitForURL(/\/sensors\/view\?id=e2e-1/);
  await page.getByText(`Sensor ${ctx.sensor} created.`).waitFor();
  // A second sensor of the type, through the API.
  await api.post("/sensor/insert-sensor", { type_name: ctx.type, unique_identifier: "e2e-2", name: "Bench 2", notes: "" }, 201);
});

step("ingest readings through the API and plot them in the explorer", async () => {
  for (const [i, uid] of ["e2e-1", "e2e-2"].entries()) {
    const temp = stamps.map((_, k) => 20 + i + 4 * Math.sin(k / 40));
    const hum = stamps.map((_, k) => 55 + 10 * Math.cos(k / 50));
    await api.post("/sensor/insert-sensor-readings", { unique_identifier: uid, measure_name: "temperature", readings: temp, timestamps: stamps }, 201);
    await api.post("/sensor/insert-sensor-readings", { unique_identifier: uid, measure_name: "humidity", readings: hum, timestamps: stamps }, 201);
  }
  await page.goto("/explorer?type=" + encodeURIComponent(ctx.type));
  await page.waitForSelector("#explorer[data-rendered='1']");
  // Narrow the form to the two days of data.
  await page.fill("#from", stamps[0].slice(0, 16));
  await page.fill("#to", new Date(end + 60_000).toISOString().slice(0, 16));
  await Promise.all([page.waitForEvent("framenavigated"), page.click("#explorer-form button[type=submit]")]);
  await page.waitForSelector("#explorer[data-rendered='1']");
  const status = await page.locator(".chart-status").allTextContents();
  assert.deepEqual(status, ["1,152 points", "1,152 points"], "both plots show both sensors' readings");
  const stats = await page.locator("#stats tbody tr").count();
  assert.equal(stats, 4, "a summary row per sensor and measure");
  assert.match(page.url(), /from=.*to=/, "the URL holds the range");

  // The CSV has exactly the readings shown, at full resolution.
  const csv = await download(page);
  assert.equal(csv.length, 1 + 4 * 576);
  // The API's layout (/sensor/readings.csv), which dtbase import readings takes back.
  assert.deepEqual(csv[0], ["unique_identifier", "measure_name", "measure_units", "timestamp", "value"]);
  assert.equal(csv[1][3], stamps[0].replace(".000Z", "Z"));

  // Zooming fetches the finer range; the CSV follows it.
  const box = await page.locator(".u-over").first().boundingBox();
  await page.mouse.move(box.x + box.width * 0.25, box.y + 40);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + 60, { steps: 6 });
  await page.mouse.up();
  await page.waitForSelector("#explorer[data-rendered='2']");
  const url = new URL(page.url());
  const from = Date.parse(url.searchParams.get("from")), to = Date.parse(url.searchParams.get("to"));
  const inRange = stamps.filter((s) => Date.parse(s) >= from && Date.parse(s) <= to).length;
  assert.ok(inRange > 50 && inRange < 576, `zoomed range holds ${inRange} readings per series`);
  const zoomed = await download(page);
  assert.equal(zoomed.length, 1 + 4 * inRange, "the CSV of a zoomed view has the readings of that range");
  assert.equal(await page.locator(".chart-status").first().textContent(), `${(2 * inRange).toLocaleString("en-US")} points`);
  // The shared URL opens the same view.
  const other = await newPage(browser);
  await login(other);
  await other.goto(url.pathname + url.search);
  await other.waitForSelector("#explorer[data-rendered='1']");
  assert.equal(await other.locator(".chart-status").first().textContent(), `${(2 * inRange).toLocaleString("en-US")} points`);
  await other.context().close();
  assert.deepEqual(page.errors, []);
});

step("locations: a schema with coordinates, a placement and the 3D view", async () => {
  await page.goto("/locations");
  await page.fill("#name", ctx.schema);
  for (const [i, axis] of ["x", "y", "z"].entries()) {
    if (i > 0) await page.click("text=Add another identifier");
    await page.fill(`#new_name_${i}`, axis);
    await page.fill(`#new_units_${i}`, "m");
  }
  await page.click("text=Create schema");
  await page.getByText(`Location schema ${ctx.schema} created.`).waitFor();
  for (const [x, y] of [[0, 0], [2, 1], [4, 3]]) {
    await page.fill("#n-0", String(x));
    await page.fill("#n-1", String(y));
    await page.fill("#n-2", "1.5");
    await page.click("text=Add location");
    await page.getByText(/Location x=.* added\./).waitFor();
  }
  await page.goto("/sensors/view?id=" + ctx.sensor);
  await page.selectOption("#location", { label: `${ctx.schema}: x=2, y=1, z=1.5` });
  await page.click("text=Place sensor");
  await page.getByText(`Sensor ${ctx.sensor} placed at x=2, y=1, z=1.5 (${ctx.schema}).`).waitFor();
  await page.goto("/locations/schema?name=" + ctx.schema);
  await page.waitForSelector("#scene[data-rendered='1'], #scene:has-text('WebGL')");
  assert.equal(await page.locator("tbody tr").count(), 3);
  assert.match(await page.locator("tbody tr", { hasText: "x" }).nth(1).textContent(), /e2e-1/);
  assert.match(await page.textContent("#scene-legend"), /temperature \(C\)/);
  await page.screenshot({ path: join(ARTIFACTS, "schema-3d.png") });
  assert.deepEqual(page.errors, []);
});

async function download(p) {
  const [dl] = await Promise.all([p.waitForEvent("download"), p.click("#csv-link")]);
  const text = readFileSync(await dl.path(), "utf8");
  return text.trim().split(/\r?\n/).map((l) => l.split(","));
}

step("a model run page draws the forecast band against the observations", async () => {
  await api.post("/model/insert-model", { name: "e2e-arima" }, 201);
  for (const name of ["Mean temperature", "Lower Bound temperature", "Upper Bound temperature"]) {
    await api.post("/model/insert-model-measure", { name, units: "C", datatype: "float" }, 201);
  }
  const fts = times(end, 24, 60);
  const mean = fts.map((_, k) => 21 + 3 * Math.sin(k / 4));
  await api.post("/model/insert-model-run", {
    model_name: "e2e-arima", scenario_description: "baseline", create_scenario: true,
    sensor_unique_id: ctx.sensor, sensor_measure: { name: "temperature", units: "C" },
    measures_and_values: [
      { measure_name: "Mean temperature", measure_units: "C", values: mean, timestamps: fts },
      { measure_name: "Lower Bound temperature", measure_units: "C", values: mean.map((m) => m - 1.5), timestamps: fts },
      { measure_name: "Upper Bound temperature", measure_units: "C", values: mean.map((m) => m + 1.5), timestamps: fts },
    ],
  }, 201);
  await page.goto("/models?model=e2e-arima");
  await page.locator("a", { hasText: /^Run \d+$/ }).first().click();
  await page.waitForSelector("#run-chart[data-rendered='1']");
  ctx.runId = Number(new URL(page.url()).searchParams.get("id"));
  assert.equal(await page.getAttribute("#run-chart", "data-bands"), "1", "one interval band");
  // The band's fill is drawn: sample the canvas for its colour.
  const filled = await page.evaluate(() => {
    const c = document.querySelector("#run-chart canvas");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 200 && d[i] < 235 && d[i] > 180 && d[i + 1] > 190) n++;
    return n;
  });
  assert.ok(filled > 1000, `band pixels drawn: ${filled}`);
  await page.getByRole("heading", { name: "Skill" }).waitFor();
  assert.match(await page.locator("#skill").textContent(), /Mean temperature\s*24/);
  const csv = await download(page);
  assert.deepEqual(csv[0], ["timestamp", "Mean temperature (C)", "Lower Bound temperature (C)", "Upper Bound temperature (C)", "observed e2e-1 temperature"]);
  await page.screenshot({ path: join(ARTIFACTS, "model-run.png") });
});

step("a service runs from its page and its log row appears", async () => {
  const echo = await startEcho();
  try {
    await page.goto("/services");
    await page.fill("#name", ctx.service);
    await page.fill("#url", echo.url);
    await page.selectOption("#http_method", "POST");
    await page.click("text=Add service");
    await page.waitForURL(/\/services\/view\?name=e2e-echo/);
    // The JSON editor refuses what is not an object.
    await page.fill("#set-name", "p1");
    await page.fill("#set-params", "{\"x\": ");
    await page.getByText(/Not valid JSON/).waitFor();
    await page.click("text=Save parameter set");
    assert.match(new URL(page.url()).search, /name=e2e-echo/, "invalid JSON is not submitted");
    await page.fill("#set-params", "[1, 2]");
    await page.getByText("The parameters must be a JSON object").waitFor();
    await page.fill("#set-params", "{\"x\": 1, \"y\": \"two\"}");
    await page.click("text=Save parameter set");
    await page.getByText("Parameter set p1 created.").waitFor();
    await page.locator("tr", { hasText: "p1" }).getByRole("button", { name: "Run" }).click();
    await page.locator("#run-result").getByText(/Run \d+ of e2e-echo (succeeded|is pending|is running)/).waitFor();
    const row = page.locator("#runlog tr.run-row").first();
    await row.getByText("200 OK").waitFor();
    await row.getByText("View").click();
    await row.getByText('"echoed"').waitFor();
    assert.match(await row.textContent(), /p1/);
  } finally {
    await echo.stop();
  }
});

step("a viewer sees no write controls", async () => {
  await page.goto("/users");
  await page.fill("#new-email", "viewer@e2e.test");
  await page.fill("#new-password", "viewer password");
  await page.selectOption("#new-role", "viewer");
  await page.click("text=Create user");
  await page.getByText("User viewer@e2e.test created as viewer.").waitFor();
  const viewer = await newPage(browser);
  await login(viewer, "viewer@e2e.test", "viewer password");
  for (const [name, path] of pagesOf(ctx)) {
    const res = await viewer.goto(path);
    if (["users", "sensor-type-new", "sensor-new"].includes(name)) {
      assert.equal(res.status(), 403, `${path} is refused`);
      continue;
    }
    assert.equal(res.status(), 200, path);
    const actions = await viewer.$$eval("form[method=post]", (fs) => fs.map((f) => f.getAttribute("action")).filter((a) => a !== "/logout" && a !== "/account/password" && a !== "/account/logout-everywhere"));
    assert.deepEqual(actions, [], `${path} shows no write forms to a viewer`);
    assert.equal(await viewer.locator("a[href='/users'], a[href^='/sensors/new'], a[href='/sensors/types/new']").count(), 0, `${path} links to no editor pages`);
  }
  await viewer.context().close();
});

step("a session expiry round trip", async () => {
  const srv = await startServer({ DT_JWT_ACCESS_TOKEN_EXPIRES_SECONDS: "3" });
  const p = await newPage(browser, srv.url);
  try {
    await login(p);
    await p.goto("/sensors?q=bench");
    await p.waitForTimeout(3500);
    await p.reload();
    assert.match(p.url(), /\/login\?/, "an expired session goes to the login page");
    await p.getByText("Your session has expired. Please sign in again.").waitFor();
    await p.fill("#email", ADMIN);
    await p.fill("#password", process.env.DTBASE_ADMIN_PASS);
    await Promise.all([p.waitForURL(/\/sensors\?q=bench$/), p.click("form button[type=submit]")]);
    await p.getByRole("heading", { name: "Sensors" }).waitFor();
  } finally {
    await p.context().close();
    await srv.stop();
  }
});

step("page weight and server time", async () => {
  const rows = [];
  for (const [name, path] of pagesOf(ctx)) {
    const p = await newPage(browser); // a cold cache for each page
    await login(p);
    const requests = [];
    p.on("requestfinished", (r) => requests.push(r));
    await p.goto(path);
    await p.waitForLoadState("networkidle");
    let bytes = 0;
    for (const r of requests) {
      const s = await r.sizes();
      bytes += s.responseBodySize + s.responseHeadersSize;
    }
    // Server time: the median of five loads, from the Server-Timing header.
    const server = [];
    for (let i = 0; i < 5; i++) {
      const res = await p.request.get(path);
      const m = /app;dur=([\d.]+)/.exec(res.headers()["server-timing"] || "");
      server.push(m ? Number(m[1]) : NaN);
    }
    server.sort((a, b) => a - b);
    rows.push({ name, path, kb: bytes / 1024, server: server[2] });
    await p.context().close();
  }
  figures.push("page                 transfer (KB, cold cache, gzip)   server time (ms, median of 5)");
  for (const r of rows) figures.push(`${r.name.padEnd(20)} ${r.kb.toFixed(1).padStart(8)}                          ${r.server.toFixed(1).padStart(7)}`);
  for (const r of rows) {
    if (r.name !== "schema-3d") assert.ok(r.kb < 300, `${r.path} weighs ${r.kb.toFixed(1)} KB`);
  }
}, { timeout: 900_000 });

// Draws a sensor's series in the explorer on a fresh page and returns the
// time from navigation to drawn, the island's own figure, the status line
// and how many pixels of the series' colour the canvas holds.
async function drawExplorer(sensor, from, to) {
  const p = await newPage(browser);
  try {
    await login(p);
    const q = new URLSearchParams({ type: ctx.type, sensor, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    const navStart = Date.now();
    await p.goto("/explorer?" + q.toString());
    await p.waitForSelector("#explorer[data-rendered='1']");
    const total = Date.now() - navStart;
    const island = Number(await p.getAttribute("#explorer", "data-render-ms"));
    const status = await p.locator(".chart-status").first().textContent();
    const points = Number(await p.locator("[data-points]").first().getAttribute("data-points"));
    // The first series is drawn in the palette's first colour, #0f766e.
    const stroke = await p.evaluate(() => {
      const c = document.querySelector("#explorer canvas");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 128 && Math.abs(d[i] - 15) < 60 && Math.abs(d[i + 1] - 118) < 60 && Math.abs(d[i + 2] - 110) < 60 && d[i + 1] > d[i] + 40) n++;
      }
      return n;
    });
    return { total, island, status, points, stroke };
  } finally {
    await p.context().close();
  }
}

// Inserts n one-minute readings of a new sensor, ending at end.
async function insertMinutes(sensor, n, end) {
  await api.post("/sensor/insert-sensor", { type_name: ctx.type, unique_identifier: sensor, name: "", notes: "" }, 201);
  for (let start = 0; start < n; start += 50_000) {
    const count = Math.min(50_000, n - start);
    const ts = [], vs = [];
    for (let k = 0; k < count; k++) {
      const i = start + k;
      ts.push(new Date(end - (n - 1 - i) * 60_000).toISOString());
      vs.push(15 + 10 * Math.sin(i / 10_000) + Math.sin(i / 37));
    }
    await api.post("/sensor/insert-sensor-readings", { unique_identifier: sensor, measure_name: "temperature", readings: vs, timestamps: ts }, 201);
  }
}

// What is asserted does not depend on the machine's load: the plot is drawn
// from all 525,600 points, downsampled, and the canvas shows the series.
// The time it takes is printed beside a baseline measured in the same run
// (a day of 1-minute data, 1,440 points), never asserted.
step("the explorer draws a year of 1-minute data (500k points)", async () => {
  const n = 525_600, small = 1_440, yearEnd = Math.floor(Date.now() / 60_000) * 60_000 - 86_400_000 * 3;
  const t0 = Date.now();
  await insertMinutes("e2e-big", n, yearEnd);
  figures.push(`ingest of ${n} readings through the API: ${Date.now() - t0} ms`);
  await insertMinutes("e2e-small", small, yearEnd);
  const big = await drawExplorer("e2e-big", yearEnd - n * 60_000, yearEnd);
  assert.match(big.status, /of 525,600 points/);
  assert.ok(big.points > 100 && big.points < n, `downsampled to ${big.points} points`);
  assert.ok(big.stroke > 300, `series pixels drawn: ${big.stroke}`);
  const base = await drawExplorer("e2e-small", yearEnd - small * 60_000, yearEnd);
  assert.match(base.status, /1,440 points/);
  assert.ok(base.stroke > 300, `baseline series pixels drawn: ${base.stroke}`);

  // Benchmark: the median of three loads of each, after the loads above
  // warmed the server up.
  const median = async (sensor, count) => {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await drawExplorer(sensor, yearEnd - count * 60_000, yearEnd));
    runs.sort((a, b) => a.total - b.total);
    return runs[1];
  };
  const b = await median("e2e-big", n), s = await median("e2e-small", small);
  figures.push(`explorer, page load to drawn (median of 3): 525,600 points ${b.total} ms (island fetch+draw ${b.island} ms); ` +
    `baseline 1,440 points ${s.total} ms (island ${s.island} ms); ratio ${(b.total / s.total).toFixed(2)} (island ${(b.island / s.island).toFixed(1)})`);
}, { timeout: 600_000 });
