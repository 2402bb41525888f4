// Helpers of the browser tests: the browser, the API, extra servers.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const BASE = process.env.DTBASE_URL;
export const BIN = process.env.DTBASE_BIN;
export const ADMIN = "default_user@localhost";
export const ADMIN_PASS = process.env.DTBASE_ADMIN_PASS;
// Waits for what must happen fail after HANG ms: long enough that only a
// hang, never a busy machine, reaches it. No test asserts how fast a page is.
export const HANG = 120_000;
export const ARTIFACTS = process.env.ARTIFACTS_DIR || join(tmpdir(), "dtbase-e2e-artifacts");
mkdirSync(ARTIFACTS, { recursive: true });
// Screenshots taken for review, pass or fail.
export const SHOTS = join(ARTIFACTS, "screenshots");
mkdirSync(SHOTS, { recursive: true });

if (!BASE || !BIN || !ADMIN_PASS) {
  throw new Error("run the browser tests with web/e2e/run.sh, which sets DTBASE_URL, DTBASE_BIN and DTBASE_ADMIN_PASS");
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A new browser context with the page's errors collected; options go to
 * browser.newContext (e.g. another viewport). */
export async function newPage(browser, base = BASE, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: base, acceptDownloads: true, ...options });
  context.setDefaultTimeout(HANG);
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  return page;
}

export async function login(page, email = ADMIN, password = ADMIN_PASS) {
  await page.goto("/login");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.click("form button[type=submit]")]);
}

/** Launches the browser and signs one page in as the admin before a
 * file's tests, and closes the browser after them. The returned object's
 * page is set once the tests run. */
export function signedInPage() {
  const ui = {};
  before(async () => {
    ui.browser = await launch();
    ui.page = await newPage(ui.browser);
    await login(ui.page);
  });
  after(async () => {
    await ui.browser?.close();
  });
  return ui;
}

/** Calls the JSON API with a bearer token. */
export class API {
  constructor(base = BASE) { this.base = base; }
  async login(email = ADMIN, password = ADMIN_PASS) {
    const res = await fetch(this.base + "/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password }) });
    if (!res.ok) throw new Error(`login: ${res.status} ${await res.text()}`);
    this.token = (await res.json()).access_token;
    return this;
  }
  async call(method, path, body, want) {
    const res = await fetch(this.base + path, {
      method,
      headers: { Authorization: "Bearer " + this.token, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (want !== undefined && res.status !== want) throw new Error(`${method} ${path}: ${res.status}, want ${want}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : null;
  }
  post(path, body, want = undefined) { return this.call("POST", path, body, want); }
  get(path, want = 200) { return this.call("GET", path, undefined, want); }
}

/** Starts another dtbase server on a fresh data directory, with extra
 * arguments of serve (e.g. --demo); resolves with its base URL and a stop
 * function. */
export async function startServer(env = {}, args = []) {
  const dir = mkdtempSync(join(tmpdir(), "dtbase-e2e-"));
  const child = spawn(BIN, ["serve", ...args], {
    env: { ...process.env, DT_DATA_DIR: join(dir, "data"), DT_LISTEN_ADDR: "127.0.0.1:0", DT_LOG_FORMAT: "json",
      DT_DEFAULT_USER_PASS: ADMIN_PASS, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("server did not start:\n" + buf)), HANG);
    child.stderr.on("data", (d) => {
      buf += d;
      const m = buf.match(/"msg":"dtbase listening".*?"url":"([^"]+)"/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${buf}`)); });
  });
  return { url, stop: () => new Promise((r) => { child.removeAllListeners("exit"); child.on("exit", r); child.kill("SIGTERM"); }) };
}

/** A JSON echo service for service runs. */
export async function startEcho() {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => { body += d; });
    req.on("end", () => {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ echoed: body ? JSON.parse(body) : null, method: req.method }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/run`, stop: () => new Promise((r) => server.close(r)) };
}

/** Every page of the interface, for screenshots and weights. */
export function pagesOf(ctx) {
  const q = (o) => "?" + new URLSearchParams(o).toString();
  return [
    ["dashboard", "/"],
    ["sensors", "/sensors"],
    ["sensor-type-new", "/sensors/types/new"],
    ["sensor-new", "/sensors/new"],
    ["sensor", "/sensors/view" + q({ id: ctx.sensor })],
    ["explorer", "/explorer" + q({ type: ctx.type })],
    ["readings", "/readings" + q({ type: ctx.type, sensor: ctx.sensor })],
    ["locations", "/locations"],
    ["schema-3d", "/locations/schema" + q({ name: ctx.schema })],
    ["tree", "/tree"],
    ["map", "/map"],
    ["quality", "/quality"],
    ["models", "/models"],
    ["model-run", "/models/run" + q({ id: String(ctx.runId) })],
    ["services", "/services"],
    ["service", "/services/view" + q({ name: ctx.service })],
    ["users", "/users"],
    ["account", "/account"],
  ];
}

/** Saves a full-page screenshot of every page, for a failed run. */
export async function screenshotAll(browser, ctx, prefix = "page") {
  const page = await newPage(browser);
  try {
    await login(page);
    for (const [name, path] of pagesOf(ctx)) {
      try {
        await page.goto(path);
        await page.waitForLoadState("networkidle", { timeout: 10_000 });
        await page.screenshot({ path: join(ARTIFACTS, `${prefix}-${name}.png`), fullPage: true });
      } catch (e) {
        console.error(`screenshot of ${path} failed: ${e.message}`);
      }
    }
  } finally {
    await page.context().close();
  }
}
