// 3D island: draws a location schema's locations in space with three.js,
// sensors coloured by the latest value of a chosen measure. Loaded only on
// schema pages whose identifiers include numeric x/y(/z)-like coordinates.
import {
  AmbientLight, BufferGeometry, Color, DirectionalLight, Line, LineBasicMaterial, LineSegments, Mesh,
  MeshLambertMaterial, PerspectiveCamera, Raycaster, Scene, SphereGeometry, Vector2, Vector3, WebGLRenderer,
} from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { ramp } from "./ramp";

interface SceneSensor { id: string; values: Record<string, number> | null; times: Record<string, string> | null }
interface ScenePoint { p: [number, number, number]; label: string; sensors: SceneSensor[] | null }
interface SceneConfig { axes: string[]; points: ScenePoint[] | null; measures: string[] | null }

function fmt(x: number): string {
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return x.toPrecision(4);
  return String(Number(x.toFixed(a >= 100 ? 1 : 3)));
}

/** A round step (1, 2 or 5 times a power of ten) near x. */
function niceStep(x: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  const m = x / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

function init(): void {
  const host = document.getElementById("scene");
  if (!host) return;
  const cfg: SceneConfig = JSON.parse(host.dataset.scene || "{}");
  const points = cfg.points || [];
  const measures = cfg.measures || [];
  const legend = document.getElementById("scene-legend")!;

  let renderer: WebGLRenderer;
  try {
    renderer = new WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  } catch {
    host.textContent = "This browser cannot draw 3D graphics (WebGL is off); the table below lists every location.";
    host.style.height = "auto";
    host.style.color = "#fff";
    host.style.padding = "1rem";
    return;
  }
  renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
  renderer.setSize(host.clientWidth, host.clientHeight);
  renderer.domElement.tabIndex = 0;
  renderer.domElement.setAttribute("aria-label", "3D view; arrow keys pan");
  host.appendChild(renderer.domElement);
  const tip = document.createElement("div");
  tip.className = "scene-tip";
  host.appendChild(tip);

  // Data x and y span the ground plane and z is up; three.js has y up.
  const lo = new Vector3(Infinity, Infinity, Infinity), hi = new Vector3(-Infinity, -Infinity, -Infinity);
  const world = points.map((pt) => {
    const v = new Vector3(pt.p[0], pt.p[2], -pt.p[1]);
    lo.min(v);
    hi.max(v);
    return v;
  });
  const center = lo.clone().add(hi).multiplyScalar(0.5);
  const span = Math.max(hi.x - lo.x, hi.y - lo.y, hi.z - lo.z, 1e-9);
  const scale = 10 / span;
  world.forEach((v) => v.sub(center).multiplyScalar(scale));

  const scene = new Scene();
  scene.background = new Color("#0f1720");
  scene.add(new AmbientLight(0xffffff, 0.7));
  const sun = new DirectionalLight(0xffffff, 1.2);
  sun.position.set(5, 10, 7);
  scene.add(sun);
  // The floor covers the footprint of the locations, a little below them.
  const wlo = lo.clone().sub(center).multiplyScalar(scale), whi = hi.clone().sub(center).multiplyScalar(scale);
  const floorY = wlo.y - 0.3;
  // A rectangular grid over the footprint, one line per round step of the
  // data's units, so a long thin site is not lost on a square floor.
  const step = niceStep(Math.max(hi.x - lo.x, hi.z - lo.z, 1e-9) / 12);
  const gridPts: Vector3[] = [];
  const gx0 = Math.floor(lo.x / step) * step, gx1 = Math.ceil(hi.x / step) * step;
  const gz0 = Math.floor(lo.z / step) * step, gz1 = Math.ceil(hi.z / step) * step;
  const toWorld = (x: number, z: number): Vector3 => new Vector3((x - center.x) * scale, floorY, (z - center.z) * scale);
  for (let x = gx0; x <= gx1 + step / 2; x += step) gridPts.push(toWorld(x, gz0), toWorld(x, gz1));
  for (let z = gz0; z <= gz1 + step / 2; z += step) gridPts.push(toWorld(gx0, z), toWorld(gx1, z));
  const grid = new LineSegments(new BufferGeometry().setFromPoints(gridPts), new LineBasicMaterial({ color: 0x2a3a4a }));
  scene.add(grid);

  // Axes from the lowest corner, labelled with the identifiers' names and
  // their ranges in data units.
  const axisColor = new LineBasicMaterial({ color: 0x7c8a99 });
  const origin = new Vector3(wlo.x, floorY, whi.z);
  const ends = [new Vector3(whi.x, floorY, whi.z), new Vector3(wlo.x, Math.max(whi.y, floorY + 0.5), whi.z), new Vector3(wlo.x, floorY, wlo.z)];
  const data = [[lo.x, hi.x], [lo.y, hi.y], [-hi.z, -lo.z]]; // world axes back to data x, z, y
  const names = [cfg.axes[0] || "x", cfg.axes[2] || "z", cfg.axes[1] || "y"];
  const overlay: { at: Vector3; el: HTMLElement }[] = [];
  const tag = (at: Vector3, text: string, cls: string): void => {
    const el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    host.appendChild(el);
    overlay.push({ at, el });
  };
  ends.forEach((end, i) => {
    if (i === 1 && !cfg.axes[2]) return; // no height identifier
    scene.add(new Line(new BufferGeometry().setFromPoints([origin, end]), axisColor));
    tag(end, `${names[i]} ${fmt(data[i][0])} to ${fmt(data[i][1])}`, "scene-axis axis-" + i);
  });

  // The camera frames the locations with sensors (all of them when none has
  // one), seen from the front, above and to the right.
  const focus = points.some((pt) => (pt.sensors || []).length > 0) ? world.filter((_, i) => (points[i].sensors || []).length > 0) : world;
  const flo = new Vector3(Infinity, Infinity, Infinity), fhi = new Vector3(-Infinity, -Infinity, -Infinity);
  focus.forEach((v) => { flo.min(v); fhi.max(v); });
  const target = focus.length ? flo.clone().add(fhi).multiplyScalar(0.5) : new Vector3();
  const radius = 1.5;
  const camera = new PerspectiveCamera(50, host.clientWidth / host.clientHeight, 0.05, 1000);
  // Seen from above, from the front or from the side, whichever shows the
  // box of the focused points largest in this viewport's aspect (so a long
  // thin site on a phone runs down the screen), just far enough that every
  // corner of the box is in view.
  const half = fhi.clone().sub(flo).multiplyScalar(0.5).max(new Vector3(0.3, 0.3, 0.3));
  const corners: Vector3[] = [];
  for (const sx of [-1, 1]) for (const sy of [-1, 1]) for (const sz of [-1, 1]) corners.push(new Vector3(sx * half.x, sy * half.y, sz * half.z));
  const views = [new Vector3(0.1, 0.75, 1), new Vector3(1, 0.75, -0.1), new Vector3(0.1, 1.8, 1), new Vector3(1, 1.8, -0.1)].map((v) => v.normalize());
  const distance = (dir: Vector3): number => {
    const tv = Math.tan((camera.fov / 2) * Math.PI / 180), th = tv * camera.aspect;
    const right = new Vector3(0, 1, 0).cross(dir).normalize(), up = dir.clone().cross(right);
    // A corner at (x, y) across and up, z towards the camera, is in view
    // from distance d when |x| <= th (d - z) and |y| <= tv (d - z).
    return Math.max(...corners.map((c) => Math.max(Math.abs(c.dot(right)) / th, Math.abs(c.dot(up)) / tv) + c.dot(dir)));
  };
  const fit = (): void => {
    // The first view (from the front) unless another is much closer.
    let best = views[0], d = distance(best);
    for (const v of views.slice(1)) {
      const dv = distance(v);
      if (dv < d * 0.75) [best, d] = [v, dv];
    }
    camera.position.copy(target).add(best.clone().multiplyScalar(Math.max(d * 1.15, radius)));
    camera.lookAt(target);
  };
  fit();
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.target.copy(target);
  controls.enableDamping = false;
  controls.listenToKeyEvents(renderer.domElement);
  controls.update();

  // Spheres a third of the typical gap between neighbours, so close
  // locations stay apart.
  const sample = world.slice(0, 400);
  const gaps = sample.map((v) => Math.min(...sample.filter((w) => w !== v).map((w) => w.distanceTo(v)).filter((d) => d > 1e-6))).filter(isFinite).sort((a, b) => a - b);
  const r = Math.min(0.28, Math.max(0.04, 0.35 * (gaps[Math.floor(gaps.length / 2)] ?? 1)));
  const small = new SphereGeometry(r * 0.45, 12, 8);
  const big = new SphereGeometry(r, 20, 14);
  const grey = new MeshLambertMaterial({ color: 0x8894a0 });
  const meshes: { mesh: Mesh; pt: ScenePoint }[] = [];
  points.forEach((pt, i) => {
    const hasSensor = (pt.sensors || []).length > 0;
    const mesh = new Mesh(hasSensor ? big : small, hasSensor ? new MeshLambertMaterial({ color: 0xffffff }) : grey);
    mesh.position.copy(world[i]);
    scene.add(mesh);
    meshes.push({ mesh, pt });
    if (hasSensor) {
      // A stalk down to the floor helps to read heights.
      const g = new BufferGeometry().setFromPoints([world[i], new Vector3(world[i].x, floorY, world[i].z)]);
      scene.add(new Line(g, new LineBasicMaterial({ color: 0x46596b })));
    }
  });

  const projected = new Vector3();
  const render = (): void => {
    renderer.render(scene, camera);
    const box = host.getBoundingClientRect();
    for (const { at, el } of overlay) {
      projected.copy(at).project(camera);
      const visible = projected.z < 1 && Math.abs(projected.x) <= 1.05 && Math.abs(projected.y) <= 1.05;
      el.style.display = visible ? "block" : "none";
      const left = ((projected.x + 1) / 2) * host.clientWidth;
      el.style.left = `${left}px`;
      el.style.top = `${((1 - projected.y) / 2) * host.clientHeight}px`;
      if (!visible) continue;
      // A label near an edge slides in rather than being cut off.
      const r = el.getBoundingClientRect();
      const shift = Math.max(0, box.left + 4 - r.left) - Math.max(0, r.right - box.right + 4);
      if (shift !== 0) el.style.left = `${left + shift}px`;
    }
  };
  controls.addEventListener("change", render);

  // Legend with the measure choice.
  // Start with the measure most sensors here report.
  const coverage = (m: string): number => points.reduce((n, pt) => n + (pt.sensors || []).filter((s) => s.values && m in s.values).length, 0);
  let measure = measures.slice().sort((a, b) => coverage(b) - coverage(a))[0] || "";
  const select = document.createElement("select");
  select.id = "scene-measure";
  const label = document.createElement("label");
  label.htmlFor = select.id;
  label.textContent = "Colour by";
  label.style.margin = "0";
  for (const m of measures) select.appendChild(new Option(m, m, m === measure, m === measure));
  const minEl = document.createElement("span"), maxEl = document.createElement("span"), bar = document.createElement("span");
  bar.className = "bar";
  const note = document.createElement("span");
  note.className = "muted";
  if (measures.length > 0) legend.append(label, select, minEl, bar, maxEl, note);
  else legend.append(Object.assign(document.createElement("span"), { className: "muted", textContent: "No sensor here has numeric readings yet." }));

  const recolour = (): void => {
    let min = Infinity, max = -Infinity;
    for (const { pt } of meshes) for (const s of pt.sensors || []) {
      const v = s.values?.[measure];
      if (v !== undefined) { min = Math.min(min, v); max = Math.max(max, v); }
    }
    for (const { mesh, pt } of meshes) {
      const ss = pt.sensors || [];
      if (ss.length === 0) continue;
      const vals = ss.map((s) => s.values?.[measure]).filter((v): v is number => v !== undefined);
      const mat = mesh.material as MeshLambertMaterial;
      if (vals.length === 0) mat.color.set(0xf1f5f9);
      else {
        const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
        mat.color.copy(ramp(max > min ? (mean - min) / (max - min) : 0.5));
      }
    }
    minEl.textContent = isFinite(min) ? fmt(min) : "–";
    maxEl.textContent = isFinite(max) ? fmt(max) : "–";
    note.textContent = "white: no value · axes " + cfg.axes.filter((a) => a).join(", ");
    render();
  };
  select.addEventListener("change", () => { measure = select.value; recolour(); });
  recolour();

  // Hover: which location, which sensors, what values.
  const ray = new Raycaster();
  const mouse = new Vector2();
  renderer.domElement.addEventListener("pointermove", (ev) => {
    const r = renderer.domElement.getBoundingClientRect();
    mouse.set(((ev.clientX - r.left) / r.width) * 2 - 1, -((ev.clientY - r.top) / r.height) * 2 + 1);
    ray.setFromCamera(mouse, camera);
    const hit = ray.intersectObjects(meshes.map((m) => m.mesh))[0];
    const m = hit && meshes.find((x) => x.mesh === hit.object);
    if (!m) { tip.style.display = "none"; return; }
    tip.replaceChildren();
    const head = document.createElement("strong");
    head.textContent = m.pt.label;
    tip.appendChild(head);
    for (const s of m.pt.sensors || []) {
      const line = document.createElement("div");
      const v = s.values?.[measure];
      line.textContent = `${s.id}: ${v === undefined ? "no value" : fmt(v) + " " + measure}`;
      tip.appendChild(line);
    }
    tip.style.left = `${ev.clientX - r.left + 12}px`;
    tip.style.top = `${ev.clientY - r.top + 12}px`;
    tip.style.display = "block";
  });
  renderer.domElement.addEventListener("pointerleave", () => { tip.style.display = "none"; });

  const reset = document.createElement("button");
  reset.type = "button";
  reset.className = "btn small scene-reset";
  reset.textContent = "Fit view";
  reset.addEventListener("click", () => { fit(); controls.target.copy(target); controls.update(); render(); });
  host.appendChild(reset);

  new ResizeObserver(() => {
    camera.aspect = host.clientWidth / host.clientHeight;
    camera.updateProjectionMatrix();
    renderer.setSize(host.clientWidth, host.clientHeight);
    render();
  }).observe(host);
  host.dataset.rendered = "1";
  render();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
