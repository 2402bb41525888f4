// The site in 3D: a schema's site model (glTF) or a scene generated from
// its locations, with every placed sensor as a marker coloured by the
// latest value of a measure, labelled, with hover details, live polling, a
// time replay from downsampled reads, camera presets, a height filter, a
// search that flies to a sensor, a screenshot button and, for editors,
// picking a location's position on the model. Loaded by site.ts only when
// WebGL is available.
import {
  AmbientLight, Box3, BoxGeometry, Color, DirectionalLight, Group, HemisphereLight, InstancedMesh, Matrix4, Mesh,
  MeshLambertMaterial, Object3D, PerspectiveCamera, Plane, Raycaster, Scene, SphereGeometry, Vector2, Vector3,
  WebGLRenderer,
} from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { getJSON } from "./getjson";
import { ramp } from "./ramp";

interface Config { state: string; replay: string; model?: string; sensorURL: string; edit: boolean }
interface Measure { key: string; name: string; units: string }
interface Loc { id: number; label: string; p: [number, number, number]; placed: boolean }
interface Reading { v: number; t: string }
interface Sensor { id: string; name: string; type: string; location: number; latest: Record<string, Reading> }
interface Placement { x: string; y: string; z: string; unit: string; offset: [number, number, number]; rotation: number; scale: number }
interface State {
  schema: string; placement: Placement; measures: Measure[]; locations: Loc[]; sensors: Sensor[];
  alerts: { sensor: string; name: string }[]; now: string; stale_after: number;
}
interface Series { sensor: string; t: number[]; v: number[] }
interface Replay { from: string; to: string; series: Series[] }

const units: Record<string, number> = { m: 1, cm: 0.01, mm: 0.001, ft: 0.3048, in: 0.0254 };
const staleColour = new Color("#9ca3af");
const noValueColour = new Color("#f8fafc");

function fmt(x: number): string {
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return x.toPrecision(4);
  return String(Number(x.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2)));
}

function age(seconds: number): string {
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
}

// Schema coordinates (x east, y north, z up, metres) to three.js (y up).
const toWorld = (p: [number, number, number]): Vector3 => new Vector3(p[0], p[2], -p[1]);

/** Index of the last t <= at, or -1. */
function lastAtOrBefore(t: number[], at: number): number {
  let lo = 0, hi = t.length - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid] <= at) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}

/** Whether WebGL runs on the CPU (SwiftShader, llvmpipe). */
function softwareGL(): boolean {
  const gl = document.createElement("canvas").getContext("webgl");
  const info = gl?.getExtension("WEBGL_debug_renderer_info");
  const name = info && gl ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
  gl?.getExtension("WEBGL_lose_context")?.loseContext();
  return /swiftshader|llvmpipe|software/i.test(name);
}

class SiteView {
  host: HTMLElement;
  cfg: Config;
  msg: HTMLElement;
  state!: State;
  renderer: WebGLRenderer;
  scene = new Scene();
  camera: PerspectiveCamera;
  controls: OrbitControls;
  site = new Group(); // the model or the generated scene
  markers!: InstancedMesh;
  markerPos: Vector3[] = [];
  markerSensor: Sensor[] = [];
  labels: HTMLCanvasElement;
  tip: HTMLElement;
  measure = "";
  fixed: [number, number] | null = null;
  replay: Replay | null = null;
  replayAt = 0;
  bySensor = new Map<string, Series>();
  sparks = new Map<string, Series>();
  maxHeight = Infinity;
  picking = false;
  pickMarker: Mesh | null = null;
  alerts = new Set<string>();
  legend!: HTMLElement;
  legendMin!: HTMLElement;
  legendMax!: HTMLElement;
  replayBox!: HTMLElement;
  unit = 1;
  frameQueued = false;
  drawnLabels: string[] = []; // the labels of the last frame, for tests

  constructor(host: HTMLElement) {
    this.host = host;
    this.cfg = JSON.parse(host.dataset.config || "{}");
    this.msg = document.getElementById("site-msg") || host.appendChild(el("div", { className: "site-msg" }));
    // A software renderer (no GPU) spends its time filling pixels: draw
    // without multisampling and at one pixel per CSS pixel there.
    const soft = softwareGL();
    this.renderer = new WebGLRenderer({ antialias: !soft });
    this.renderer.setPixelRatio(soft ? 1 : Math.min(2, window.devicePixelRatio || 1));
    this.renderer.setSize(host.clientWidth, host.clientHeight);
    this.renderer.domElement.tabIndex = 0;
    this.renderer.domElement.setAttribute("aria-label", "3D view of the site; arrow keys pan");
    host.prepend(this.renderer.domElement);
    this.labels = el("canvas", { className: "site-labels" });
    host.appendChild(this.labels);
    this.tip = host.appendChild(el("div", { className: "site-tip" }));

    this.scene.background = new Color("#dfe6ec");
    this.scene.add(new HemisphereLight(0xffffff, 0x8d949c, 1.6));
    this.scene.add(new AmbientLight(0xffffff, 0.5));
    const sun = new DirectionalLight(0xffffff, 1.6);
    sun.position.set(30, 60, 40);
    this.scene.add(sun);
    this.scene.add(this.site);
    this.camera = new PerspectiveCamera(50, host.clientWidth / host.clientHeight, 0.05, 5000);
    this.camera.position.set(10, 10, 10);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.listenToKeyEvents(this.renderer.domElement);
    this.controls.addEventListener("change", () => this.queue());
    new ResizeObserver(() => this.resize()).observe(host);
  }

  async start(): Promise<void> {
    this.msg.textContent = "Loading the site…";
    this.state = await getJSON<State>(this.cfg.state);
    this.unit = units[this.state.placement.unit] || 1;
    this.alerts = new Set(this.state.alerts.map((a) => a.sensor));
    this.measure = this.pickMeasure();
    let note = "";
    if (this.cfg.model) {
      try {
        await this.loadModel(this.cfg.model);
      } catch (e) {
        note = `The site model could not be drawn (${(e as Error).message || e}); showing a scene drawn from the locations instead.`;
        this.generateScene();
      }
    } else this.generateScene();
    this.buildMarkers();
    this.buildToolbar();
    this.recolour();
    this.fit("iso", false, this.core());
    this.msg.textContent = note;
    if (!this.state.locations.some((l) => l.placed)) this.msg.textContent = "No location of this schema has x/y coordinates yet: set the placement below.";
    this.host.dataset.rendered = "1";
    this.host.dataset.markers = String(this.markerSensor.length);
    this.renderNow();
    this.loadSparks();
    window.setInterval(() => { if (!this.replay && document.visibilityState === "visible") this.refresh(); }, 30000);
    if (this.cfg.edit) this.bindEditor();
    (window as unknown as { siteView: SiteView }).siteView = this;
  }

  /** The measure most placed sensors report. */
  pickMeasure(): string {
    const count = (k: string): number => this.state.sensors.filter((s) => k in s.latest).length;
    const temp = (k: string): number => (/temp/i.test(k) ? 1 : 0); // on a tie, temperature reads best
    return this.state.measures.map((m) => m.key).sort((a, b) => count(b) - count(a) || temp(b) - temp(a))[0] || "";
  }

  async loadModel(url: string): Promise<void> {
    const gltf = await new GLTFLoader().loadAsync(url);
    const model = gltf.scene;
    const p = this.state.placement;
    model.scale.setScalar(p.scale || 1);
    model.rotation.y = ((p.rotation || 0) * Math.PI) / 180;
    model.position.copy(toWorld(p.offset || [0, 0, 0]));
    const box = new Box3().setFromObject(model);
    if (box.isEmpty()) throw new Error("the model has no visible geometry");
    this.site.add(model);
  }

  /** Without a model: a floor under the locations, a post per x/y column
   * and a shelf under each location. */
  generateScene(): void {
    const pts = this.state.locations.filter((l) => l.placed).map((l) => toWorld(l.p));
    if (pts.length === 0) return;
    const box = new Box3().setFromPoints(pts);
    const size = box.getSize(new Vector3());
    const floorMat = new MeshLambertMaterial({ color: 0xb8bfc6 });
    const postMat = new MeshLambertMaterial({ color: 0x7b8794 });
    const shelfMat = new MeshLambertMaterial({ color: 0xe5e7eb });
    const floor = new Mesh(new BoxGeometry(size.x + 4, 0.1, size.z + 4), floorMat);
    floor.position.set((box.min.x + box.max.x) / 2, Math.min(0, box.min.y) - 0.05, (box.min.z + box.max.z) / 2);
    this.site.add(floor);
    // Shelves and posts are instanced: one draw call each, however many
    // locations there are.
    const cols = new Map<string, { x: number; z: number; top: number }>();
    const shelves: Vector3[] = [];
    for (const p of pts) {
      const k = `${p.x.toFixed(1)},${p.z.toFixed(1)}`;
      const c = cols.get(k) || { x: p.x, z: p.z, top: 0 };
      c.top = Math.max(c.top, p.y);
      cols.set(k, c);
      if (p.y > 0.05) shelves.push(new Vector3(p.x, p.y - 0.15, p.z));
    }
    const m = new Matrix4();
    if (shelves.length) {
      const shelf = new InstancedMesh(new BoxGeometry(0.9, 0.04, 0.7), shelfMat, shelves.length);
      shelves.forEach((p, i) => shelf.setMatrixAt(i, m.makeTranslation(p.x, p.y, p.z)));
      this.site.add(shelf);
    }
    const posts = new InstancedMesh(new BoxGeometry(0.06, 1, 0.06), postMat, cols.size);
    [...cols.values()].forEach((c, i) => {
      posts.setMatrixAt(i, m.makeTranslation(c.x - 0.45, (c.top + 0.3) / 2, c.z).multiply(new Matrix4().makeScale(1, c.top + 0.3, 1)));
    });
    this.site.add(posts);
  }

  /** One instanced sphere per placed sensor; sensors sharing a location
   * are spread on a small ring around it. */
  buildMarkers(): void {
    const locs = new Map(this.state.locations.filter((l) => l.placed).map((l) => [l.id, l]));
    const shared = new Map<number, Sensor[]>();
    for (const s of this.state.sensors) {
      if (!locs.has(s.location)) continue;
      shared.set(s.location, [...(shared.get(s.location) || []), s]);
    }
    // Marker size follows the site's size: the model's, or the locations'.
    const box = new Box3().setFromObject(this.site);
    for (const l of locs.values()) box.expandByPoint(toWorld(l.p));
    const span = box.isEmpty() ? 10 : box.getSize(new Vector3()).length();
    const r = Math.min(0.5, Math.max(0.1, span / 180));
    for (const [id, ss] of shared) {
      const base = toWorld(locs.get(id)!.p);
      ss.forEach((s, i) => {
        const a = (2 * Math.PI * i) / ss.length;
        const off = ss.length > 1 ? new Vector3(Math.cos(a) * r * 1.6, 0, Math.sin(a) * r * 1.6) : new Vector3();
        this.markerPos.push(base.clone().add(off));
        this.markerSensor.push(s);
      });
    }
    const detail = this.markerPos.length > 300 ? [8, 6] : [16, 12]; // many markers: fewer triangles each
    this.markers = new InstancedMesh(new SphereGeometry(r, detail[0], detail[1]), new MeshLambertMaterial({ color: 0xffffff }), Math.max(1, this.markerPos.length));
    this.markers.count = this.markerPos.length;
    this.placeMarkers();
    this.scene.add(this.markers);
  }

  placeMarkers(): void {
    const m = new Matrix4();
    const hidden = new Matrix4().makeScale(0, 0, 0);
    this.markerPos.forEach((p, i) => {
      this.markers.setMatrixAt(i, p.y <= this.maxHeight + 1e-6 ? m.makeTranslation(p.x, p.y, p.z) : hidden);
    });
    this.markers.instanceMatrix.needsUpdate = true;
    this.markers.computeBoundingSphere();
  }

  /** The value of a sensor now, or at the replay time. */
  valueOf(s: Sensor): { v: number; t: number } | null {
    if (this.replay) {
      const sr = this.bySensor.get(s.id);
      if (!sr) return null;
      const i = lastAtOrBefore(sr.t, this.replayAt);
      return i < 0 ? null : { v: sr.v[i], t: sr.t[i] };
    }
    const r = s.latest[this.measure];
    return r ? { v: r.v, t: Date.parse(r.t) / 1000 } : null;
  }

  now(): number { return this.replay ? this.replayAt : Date.now() / 1000; }

  range(): [number, number] {
    if (this.fixed) return this.fixed;
    let lo = Infinity, hi = -Infinity;
    for (const s of this.markerSensor) {
      if (this.replay) {
        for (const v of this.bySensor.get(s.id)?.v || []) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      } else {
        const v = s.latest[this.measure]?.v;
        if (v !== undefined) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      }
    }
    return [lo, hi];
  }

  recolour(): void {
    const [lo, hi] = this.range();
    const now = this.now();
    this.markerSensor.forEach((s, i) => {
      const val = this.valueOf(s);
      let c = noValueColour;
      if (val && now - val.t > this.state.stale_after) c = staleColour;
      else if (val) c = ramp(hi > lo ? (val.v - lo) / (hi - lo) : 0.5);
      this.markers.setColorAt(i, c);
    });
    if (this.markers.instanceColor) this.markers.instanceColor.needsUpdate = true;
    const m = this.state.measures.find((x) => x.key === this.measure);
    this.legendMin.textContent = isFinite(lo) ? `${fmt(lo)}` : "–";
    this.legendMax.textContent = isFinite(hi) ? `${fmt(hi)} ${m?.units || ""}` : "–";
    this.queue();
  }

  buildToolbar(): void {
    const bar = el("div", { className: "site-bar" });
    const btn = (text: string, title: string, fn: () => void): HTMLButtonElement => {
      const b = el("button", { type: "button", textContent: text, title });
      b.addEventListener("click", fn);
      return b;
    };
    bar.append(btn("Fit", "Fit the whole site in view", () => this.fit("keep")), btn("Top", "View from above", () => this.fit("top")),
      btn("Front", "View from the front", () => this.fit("front")), btn("Iso", "Isometric view", () => this.fit("iso")));
    // Height filter: hides what is above a height, for multi-storey sites.
    const heights = this.markerPosHeights();
    const hi = Math.max(1, ...heights) + 0.5;
    const slider = el("input", { type: "range", min: "0", max: String(hi), step: String(hi / 100), value: String(hi), id: "site-height" });
    slider.setAttribute("aria-label", "Show up to height");
    slider.addEventListener("input", () => {
      const h = Number(slider.value);
      this.maxHeight = h >= hi ? Infinity : h;
      this.renderer.clippingPlanes = isFinite(this.maxHeight) ? [new Plane(new Vector3(0, -1, 0), this.maxHeight + 0.2)] : [];
      this.placeMarkers();
      this.queue();
    });
    bar.append(el("label", {}, "Height ≤", slider));
    const list = el("datalist", { id: "site-sensors" });
    for (const s of this.state.sensors) list.append(el("option", { value: s.id, label: s.name || s.type }));
    const search = el("input", { type: "search", placeholder: "Find a sensor", id: "site-search" });
    search.setAttribute("list", list.id);
    search.setAttribute("aria-label", "Find a sensor and fly to it");
    search.addEventListener("change", () => this.flyToSensor(search.value));
    search.addEventListener("keydown", (e) => { if (e.key === "Enter") this.flyToSensor(search.value); });
    bar.append(search, list, el("span", { className: "grow" }), btn("Screenshot", "Save the view as a PNG image", () => this.screenshot()));
    this.host.appendChild(bar);

    const bottom = el("div", { className: "site-bottom" });
    // Legend: measure, scale, units.
    const select = el("select", { id: "site-measure" });
    select.setAttribute("aria-label", "Colour by measure");
    for (const m of this.state.measures) select.append(new Option(m.key, m.key, m.key === this.measure, m.key === this.measure));
    select.addEventListener("change", () => { this.measure = select.value; this.fixed = null; fixedBox.checked = false; this.reloadReplay(); this.recolour(); });
    this.legendMin = el("span");
    this.legendMax = el("span");
    const fixedBox = el("input", { type: "checkbox", id: "site-fixed" });
    const fmin = el("input", { type: "number", step: "any", placeholder: "min" });
    const fmax = el("input", { type: "number", step: "any", placeholder: "max" });
    const applyFixed = (): void => {
      const a = Number(fmin.value), b = Number(fmax.value);
      this.fixed = fixedBox.checked && fmin.value !== "" && fmax.value !== "" && b > a ? [a, b] : null;
      this.recolour();
    };
    fixedBox.addEventListener("change", () => {
      if (fixedBox.checked && fmin.value === "") { const [a, b] = this.range(); fmin.value = fmt(a); fmax.value = fmt(b); }
      applyFixed();
    });
    fmin.addEventListener("change", applyFixed);
    fmax.addEventListener("change", applyFixed);
    this.legend = el("div", { className: "site-legend", id: "site-legend" }, "Colour by ", select, this.legendMin, el("span", { className: "bar" }), this.legendMax,
      el("label", {}, fixedBox, "fixed scale"), fmin, fmax, el("span", { className: "stale" }), "no reading for " + age(this.state.stale_after).replace(" ago", ""));
    if (this.state.measures.length === 0) this.legend.replaceChildren("No sensor here has numeric readings yet.");
    // Replay.
    const mode = el("select", { id: "site-replay-range" });
    mode.setAttribute("aria-label", "Replay range");
    for (const [v, t] of [["live", "Live"], ["24h", "Replay last 24 h"], ["7d", "Replay last 7 days"], ["custom", "Replay a range…"]]) mode.append(new Option(t, v));
    const from = el("input", { type: "datetime-local", hidden: true });
    const to = el("input", { type: "datetime-local", hidden: true });
    const scrub = el("input", { type: "range", min: "0", max: "1000", value: "1000", id: "site-scrubber", disabled: true });
    scrub.setAttribute("aria-label", "Replay time");
    const play = el("button", { type: "button", textContent: "▶ Play", disabled: true, id: "site-play" });
    const when = el("span", { className: "when", textContent: "live" });
    let timer = 0;
    const setAt = (frac: number): void => {
      if (!this.replay) return;
      const a = Date.parse(this.replay.from) / 1000, b = Date.parse(this.replay.to) / 1000;
      this.replayAt = a + (b - a) * frac;
      when.textContent = new Date(this.replayAt * 1000).toLocaleString();
      this.recolour();
    };
    scrub.addEventListener("input", () => setAt(Number(scrub.value) / 1000));
    play.addEventListener("click", () => {
      if (timer) { clearInterval(timer); timer = 0; play.textContent = "▶ Play"; return; }
      if (Number(scrub.value) >= 1000) scrub.value = "0";
      play.textContent = "❚❚ Pause";
      timer = window.setInterval(() => {
        const v = Math.min(1000, Number(scrub.value) + 4);
        scrub.value = String(v);
        setAt(v / 1000);
        if (v >= 1000) { clearInterval(timer); timer = 0; play.textContent = "▶ Play"; }
      }, 50);
    });
    const load = async (): Promise<void> => {
      if (timer) { clearInterval(timer); timer = 0; play.textContent = "▶ Play"; }
      from.hidden = to.hidden = mode.value !== "custom";
      if (mode.value === "live") {
        this.replay = null;
        scrub.disabled = play.disabled = true;
        when.textContent = "live";
        this.recolour();
        return;
      }
      let a: Date, b = new Date();
      if (mode.value === "custom") {
        if (!from.value || !to.value) return;
        a = new Date(from.value); b = new Date(to.value);
      } else a = new Date(b.getTime() - (mode.value === "24h" ? 86400e3 : 7 * 86400e3));
      when.textContent = "loading…";
      try {
        await this.loadReplay(a, b);
        scrub.disabled = play.disabled = false;
        scrub.value = "1000";
        setAt(1);
      } catch (e) {
        when.textContent = `replay failed: ${(e as Error).message}`;
      }
    };
    this.reloadReplay = () => { if (this.replay) void load(); };
    mode.addEventListener("change", () => void load());
    from.addEventListener("change", () => void load());
    to.addEventListener("change", () => void load());
    this.replayBox = el("div", { className: "site-replay", id: "site-replay" }, mode, from, to, play, scrub, when);
    bottom.append(this.legend, this.replayBox);
    this.host.appendChild(bottom);

    // Hover and click on markers.
    const ray = new Raycaster();
    const hit = (ev: PointerEvent | MouseEvent): number => {
      const r = this.renderer.domElement.getBoundingClientRect();
      ray.setFromCamera(new Vector2(((ev.clientX - r.left) / r.width) * 2 - 1, -((ev.clientY - r.top) / r.height) * 2 + 1), this.camera);
      const h = ray.intersectObject(this.markers)[0];
      return h?.instanceId ?? -1;
    };
    const cv = this.renderer.domElement;
    cv.addEventListener("pointermove", (ev) => {
      if (ev.pointerType === "touch") return;
      const i = hit(ev);
      cv.style.cursor = i >= 0 ? "pointer" : "";
      if (i < 0) { this.tip.style.display = "none"; return; }
      this.showTip(i, ev.clientX - cv.getBoundingClientRect().left, ev.clientY - cv.getBoundingClientRect().top);
    });
    cv.addEventListener("pointerleave", () => { this.tip.style.display = "none"; });
    let down = new Vector2();
    cv.addEventListener("pointerdown", (ev) => { down = new Vector2(ev.clientX, ev.clientY); });
    cv.addEventListener("click", (ev) => {
      if (down.distanceTo(new Vector2(ev.clientX, ev.clientY)) > 5) return; // a drag, not a click
      if (this.picking) { this.pick(ray, ev); return; }
      const i = hit(ev);
      if (i < 0) return;
      if (ev.pointerType === "touch" || (ev as PointerEvent).pointerType === "touch") {
        const r = cv.getBoundingClientRect();
        this.showTip(i, ev.clientX - r.left, ev.clientY - r.top);
      }
      window.location.href = this.cfg.sensorURL + encodeURIComponent(this.markerSensor[i].id);
    });
  }

  reloadReplay: () => void = () => {};

  markerPosHeights(): number[] { return this.markerPos.map((p) => p.y); }

  async loadReplay(from: Date, to: Date): Promise<void> {
    const m = this.state.measures.find((x) => x.key === this.measure);
    if (!m) throw new Error("no measure to replay");
    const q = new URLSearchParams({ measure: m.name, units: m.units, from: from.toISOString(), to: to.toISOString(), points: "400" });
    const rep = await getJSON<Replay>(this.cfg.replay + "&" + q.toString());
    this.bySensor = new Map(rep.series.map((s) => [s.sensor, s]));
    this.replay = rep;
  }

  /** Sparklines: the last 24 h of every sensor, in one request. */
  async loadSparks(): Promise<void> {
    const m = this.state.measures.find((x) => x.key === this.measure);
    if (!m) return;
    const to = new Date(), from = new Date(to.getTime() - 86400e3);
    const q = new URLSearchParams({ measure: m.name, units: m.units, from: from.toISOString(), to: to.toISOString(), points: "60" });
    try {
      const rep = await getJSON<Replay>(this.cfg.replay + "&" + q.toString());
      this.sparks = new Map(rep.series.map((s) => [s.sensor, s]));
    } catch { /* hover then shows no sparkline */ }
  }

  showTip(i: number, x: number, y: number): void {
    const s = this.markerSensor[i];
    const m = this.state.measures.find((k) => k.key === this.measure);
    const val = this.valueOf(s);
    this.tip.replaceChildren(el("strong", { textContent: s.name || s.id }), el("div", { className: "muted", textContent: `${s.id} · ${s.type}` }));
    this.tip.append(el("div", { textContent: val ? `${m?.name}: ${fmt(val.v)} ${m?.units || ""} · ${age(this.now() - val.t)}` : `no ${m?.name || "value"}` }));
    if (this.alerts.has(s.id)) this.tip.append(el("div", { textContent: "⚠ " + this.state.alerts.filter((a) => a.sensor === s.id).map((a) => a.name).join(", ") }));
    const sp = (this.replay ? this.bySensor : this.sparks).get(s.id);
    if (sp && sp.v.length > 1) {
      const lo = Math.min(...sp.v), hi = Math.max(...sp.v), t0 = sp.t[0], t1 = sp.t[sp.t.length - 1];
      const pts = sp.t.map((t, k) => `${(((t - t0) / (t1 - t0 || 1)) * 150).toFixed(1)},${(28 - ((sp.v[k] - lo) / (hi - lo || 1)) * 26).toFixed(1)}`).join(" ");
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("width", "150");
      svg.setAttribute("height", "30");
      svg.innerHTML = `<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="${pts}"/>`;
      this.tip.append(svg, el("div", { className: "muted small", textContent: `${this.replay ? "replayed range" : "last 24 h"}: ${fmt(lo)}–${fmt(hi)}` }));
    }
    this.tip.append(el("div", { className: "muted small", textContent: "click to open the sensor" }));
    this.tip.style.left = `${Math.min(x + 14, this.host.clientWidth - 200)}px`;
    this.tip.style.top = `${Math.min(y + 14, this.host.clientHeight - 120)}px`;
    this.tip.style.display = "block";
  }

  async refresh(): Promise<void> {
    try {
      const st = await getJSON<State>(this.cfg.state);
      const latest = new Map(st.sensors.map((s) => [s.id, s.latest]));
      for (const s of this.markerSensor) s.latest = latest.get(s.id) || s.latest;
      this.state.measures = st.measures;
      this.alerts = new Set(st.alerts.map((a) => a.sensor));
      this.recolour();
    } catch { /* keep the last state; the next poll retries */ }
  }

  bounds(): Box3 {
    const box = new Box3().setFromObject(this.site);
    for (const p of this.markerPos) box.expandByPoint(p);
    if (box.isEmpty()) box.set(new Vector3(-5, 0, -5), new Vector3(5, 3, 5));
    return box;
  }

  /** Where most sensors are: the markers' box without the outer 5% on
   * each side, so outlying rooms do not shrink the first view ("Fit" shows
   * everything). */
  core(): Box3 {
    if (this.markerPos.length < 20) return this.bounds();
    const q = (vals: number[], f: number): number => vals.sort((a, b) => a - b)[Math.floor(f * (vals.length - 1))];
    const xs = this.markerPos.map((p) => p.x), zs = this.markerPos.map((p) => p.z), ys = this.markerPos.map((p) => p.y);
    const box = new Box3(new Vector3(q(xs, 0.05), 0, q(zs, 0.05)), new Vector3(q(xs, 0.95), Math.max(...ys), q(zs, 0.95)));
    const site = this.bounds();
    // Keep the model's extent across the core, so walls and floors frame it.
    box.expandByScalar(1.5);
    box.min.y = Math.max(box.min.y, site.min.y);
    box.max.y = Math.min(box.max.y, site.max.y);
    return box;
  }

  /** Frames the site from a preset direction, or the current one: the
   * nearest distance at which every corner of its bounding box is in view. */
  fit(view: "top" | "front" | "iso" | "keep", animate = true, box = this.bounds()): void {
    const center = box.getCenter(new Vector3());
    const size = box.getSize(new Vector3());
    let dir: Vector3;
    if (view === "top") dir = new Vector3(0, 1, 0.0001);
    else if (view === "front") dir = new Vector3(0, 0.15, 1);
    // Iso looks across the longer side, so long sites fill the view.
    else if (view === "iso") dir = size.x >= size.z ? new Vector3(0.3, 0.8, 1) : new Vector3(1, 0.8, 0.3);
    else dir = this.camera.position.clone().sub(this.controls.target);
    dir.normalize();
    const corners: Vector3[] = [];
    for (const x of [box.min.x, box.max.x]) for (const y of [box.min.y, box.max.y]) for (const z of [box.min.z, box.max.z]) corners.push(new Vector3(x, y, z));
    const cam = this.camera.clone();
    const fits = (d: number): boolean => {
      cam.position.copy(center).addScaledVector(dir, d);
      cam.up.set(0, 1, 0);
      cam.lookAt(center);
      cam.near = d / 1000;
      cam.far = d * 10 + 100;
      cam.updateProjectionMatrix();
      cam.updateMatrixWorld();
      return corners.every((c) => { const p = c.clone().project(cam); return Math.abs(p.x) <= 0.92 && Math.abs(p.y) <= 0.8 && p.z < 1; });
    };
    let lo = 0.01, hi = Math.max(1, size.length() * 4);
    for (let k = 0; k < 40 && !fits(hi); k++) hi *= 2; // bounded: a zero-size view never fits
    for (let k = 0; k < 30; k++) { const mid = (lo + hi) / 2; if (fits(mid)) hi = mid; else lo = mid; }
    this.flyTo(center, center.clone().addScaledVector(dir, hi), animate);
  }

  flyTo(target: Vector3, pos: Vector3, animate = true): void {
    if (!animate) {
      this.controls.target.copy(target);
      this.camera.position.copy(pos);
      this.camera.near = Math.max(0.01, pos.distanceTo(target) / 1000);
      this.camera.far = pos.distanceTo(target) * 20 + 100;
      this.camera.updateProjectionMatrix();
      this.controls.update();
      this.queue();
      return;
    }
    const t0 = performance.now(), fromT = this.controls.target.clone(), fromP = this.camera.position.clone();
    const step = (): void => {
      const k = Math.min(1, (performance.now() - t0) / 600), e = k * k * (3 - 2 * k);
      this.controls.target.lerpVectors(fromT, target, e);
      this.camera.position.lerpVectors(fromP, pos, e);
      this.camera.far = Math.max(this.camera.far, this.camera.position.distanceTo(target) * 20 + 100);
      this.camera.updateProjectionMatrix();
      this.controls.update();
      this.renderNow();
      if (k < 1) requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  flyToSensor(q: string): void {
    const needle = q.trim().toLowerCase();
    if (!needle) return;
    const i = this.markerSensor.findIndex((s) => s.id.toLowerCase() === needle || (s.name || "").toLowerCase() === needle);
    const j = i >= 0 ? i : this.markerSensor.findIndex((s) => s.id.toLowerCase().includes(needle) || (s.name || "").toLowerCase().includes(needle));
    if (j < 0) { this.msg.textContent = `No sensor matches “${q}”.`; setTimeout(() => { this.msg.textContent = ""; }, 2500); return; }
    const p = this.markerPos[j];
    const dir = this.camera.position.clone().sub(this.controls.target).normalize();
    this.flyTo(p, p.clone().add(dir.multiplyScalar(4)));
    const r = this.renderer.domElement.getBoundingClientRect();
    setTimeout(() => {
      const sp = p.clone().project(this.camera);
      this.showTip(j, ((sp.x + 1) / 2) * r.width, ((1 - sp.y) / 2) * r.height);
    }, 650);
  }

  screenshot(): void {
    this.renderNow();
    const c = el("canvas", { width: this.renderer.domElement.width, height: this.renderer.domElement.height });
    const g = c.getContext("2d")!;
    g.drawImage(this.renderer.domElement, 0, 0);
    g.drawImage(this.labels, 0, 0, c.width, c.height);
    const a = el("a", { download: `site-${this.state.schema}.png`, href: c.toDataURL("image/png") });
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  bindEditor(): void {
    const form = document.getElementById("site-place") as HTMLFormElement | null;
    const btn = document.getElementById("site-pick");
    const sel = document.getElementById("place-location") as HTMLSelectElement | null;
    if (!form || !btn || !sel) return;
    const fill = (): void => {
      const vals: Record<string, string> = JSON.parse(sel.selectedOptions[0]?.dataset.values || "{}");
      form.querySelectorAll<HTMLInputElement>("input[data-axis]").forEach((inp) => { inp.value = vals[inp.name.slice(3)] ?? ""; });
    };
    sel.addEventListener("change", fill);
    fill();
    btn.addEventListener("click", () => {
      this.picking = !this.picking;
      btn.setAttribute("aria-pressed", String(this.picking));
      this.host.classList.toggle("site-picking", this.picking);
      this.msg.textContent = this.picking ? "Click the model where the location is." : "";
      if (this.picking) this.host.scrollIntoView({ block: "nearest" });
    });
  }

  pick(ray: Raycaster, ev: MouseEvent): void {
    const r = this.renderer.domElement.getBoundingClientRect();
    ray.setFromCamera(new Vector2(((ev.clientX - r.left) / r.width) * 2 - 1, -((ev.clientY - r.top) / r.height) * 2 + 1), this.camera);
    // See-through parts (a vault, walls) are looked through, not picked.
    const opaque = (o: Object3D): boolean => {
      const m = (o as Mesh).material;
      return !(Array.isArray(m) ? m : [m]).some((x) => x && x.transparent && x.opacity < 0.6);
    };
    const hits = ray.intersectObject(this.site, true).filter((h) => h.point.y <= this.maxHeight + 0.2 && opaque(h.object));
    let p = hits[0]?.point;
    if (!p) { // nothing there: the ground plane
      const g = new Vector3();
      if (!ray.ray.intersectPlane(new Plane(new Vector3(0, 1, 0), 0), g)) return;
      p = g;
    }
    const coords = [p.x / this.unit, -p.z / this.unit, p.y / this.unit];
    document.querySelectorAll<HTMLInputElement>("#site-place input[data-axis]").forEach((inp) => { inp.value = String(Number(coords[Number(inp.dataset.axis)].toFixed(3))); });
    if (!this.pickMarker) {
      this.pickMarker = new Mesh(new SphereGeometry(0.12, 12, 8), new MeshLambertMaterial({ color: 0xfacc15, emissive: 0x6b5800 }));
      this.scene.add(this.pickMarker);
    }
    this.pickMarker.position.copy(p);
    this.picking = false;
    document.getElementById("site-pick")?.setAttribute("aria-pressed", "false");
    this.host.classList.remove("site-picking");
    this.msg.textContent = `Picked ${coords.map((c) => fmt(c)).join(", ")}: save the position below.`;
    this.queue();
  }

  resize(): void {
    const w = this.host.clientWidth, h = this.host.clientHeight;
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.renderer.setSize(w, h);
    this.queue();
  }

  queue(): void {
    if (this.frameQueued) return;
    this.frameQueued = true;
    requestAnimationFrame(() => { this.frameQueued = false; this.renderNow(); });
  }

  renderNow(): void {
    this.renderer.render(this.scene, this.camera);
    this.drawLabels();
  }

  /** Labels on a 2D canvas over the view: nearest markers first, skipping
   * any that would overlap one already drawn. */
  drawLabels(): void {
    const cv = this.labels, dpr = Math.min(2, window.devicePixelRatio || 1);
    const w = this.host.clientWidth, h = this.host.clientHeight;
    if (cv.width !== w * dpr || cv.height !== h * dpr) { cv.width = w * dpr; cv.height = h * dpr; cv.style.width = `${w}px`; cv.style.height = `${h}px`; }
    const g = cv.getContext("2d");
    if (!g || !this.markers) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = "11px system-ui, sans-serif";
    g.textBaseline = "middle";
    const cam = this.camera.position;
    const order = this.markerPos.map((p, i) => [p.distanceToSquared(cam), i]).sort((a, b) => a[0] - b[0]);
    const taken: [number, number, number, number][] = [];
    const v = new Vector3();
    const [lo, hi] = this.range();
    this.drawnLabels = [];
    for (const [, i] of order) {
      if (this.drawnLabels.length >= 250) break;
      const p = this.markerPos[i];
      if (p.y > this.maxHeight + 1e-6) continue;
      v.copy(p).project(this.camera);
      if (v.z > 1 || v.x < -1 || v.x > 1 || v.y < -1 || v.y > 1) continue;
      const x = ((v.x + 1) / 2) * w, y = ((1 - v.y) / 2) * h;
      const s = this.markerSensor[i];
      const val = this.valueOf(s);
      const alert = this.alerts.has(s.id);
      if (alert) { g.strokeStyle = "#dc2626"; g.lineWidth = 2.5; g.beginPath(); g.arc(x, y, 11, 0, 2 * Math.PI); g.stroke(); }
      const text = `${alert ? "⚠ " : ""}${(s.name || s.id).slice(0, 22)}${val ? ": " + fmt(val.v) : ""}`;
      const tw = g.measureText(text).width + 8, by = y - 16;
      const bx = x + 8 + tw > w ? x - 8 - tw : x + 8; // keep it inside the view
      if (taken.some(([a, b, c, d]) => bx < c && bx + tw > a && by < d && by + 15 > b)) continue;
      taken.push([bx, by, bx + tw, by + 15]);
      const stale = val && this.now() - val.t > this.state.stale_after;
      g.fillStyle = "rgba(255,255,255,0.88)";
      g.fillRect(bx, by, tw, 15);
      g.fillStyle = stale || !val ? "#9ca3af" : ramp(hi > lo ? (val.v - lo) / (hi - lo) : 0.5).getStyle();
      g.fillRect(bx, by, 3, 15);
      g.fillStyle = "#111827";
      g.fillText(text, bx + 5, by + 8);
      this.drawnLabels.push(text);
    }
  }

  /** Where the middle of the model (or generated scene) is on the page. */
  siteCentreOnPage(): { x: number; y: number } {
    const c = new Box3().setFromObject(this.site).getCenter(new Vector3()).project(this.camera);
    const r = this.renderer.domElement.getBoundingClientRect();
    return { x: r.left + ((c.x + 1) / 2) * r.width, y: r.top + ((1 - c.y) / 2) * r.height };
  }

  /** Mean time between displayed frames, in ms, while the camera turns
   * one step per animation frame: what a user dragging the view gets, the
   * browser's compositing included. For the browser suite's benchmark. */
  benchmark(frames: number): Promise<number> {
    return new Promise((done) => {
      let k = 0, t0 = 0;
      const d = this.camera.position.distanceTo(this.controls.target);
      const step = (t: number): void => {
        if (k === 0) t0 = t;
        const a = (k / frames) * Math.PI * 2;
        this.camera.position.set(this.controls.target.x + Math.cos(a) * d * 0.7, this.camera.position.y, this.controls.target.z + Math.sin(a) * d * 0.7);
        this.camera.lookAt(this.controls.target);
        this.renderNow();
        if (++k <= frames) requestAnimationFrame(step);
        else done((t - t0) / frames);
      };
      requestAnimationFrame(step);
    });
  }
}

async function init(): Promise<void> {
  const host = document.getElementById("site");
  if (!host) return;
  let view: SiteView;
  try {
    view = new SiteView(host);
  } catch (e) {
    const msg = document.getElementById("site-msg");
    if (msg) msg.textContent = `The 3D view could not start (${(e as Error).message}); the table below lists every sensor.`;
    host.dataset.rendered = "nogl";
    return;
  }
  try {
    await view.start();
  } catch (e) {
    view.msg.textContent = `The site could not be shown: ${(e as Error).message}`;
    host.dataset.rendered = "error";
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => void init());
else void init();
