// Charts island: draws every element with a data-charts attribute with
// uPlot. Three modes:
//   explorer: one plot per measure, one line per sensor, data fetched
//             downsampled from /ui/api/plots, all series in one request;
//             zooming fetches finer data for the new range, and the URL,
//             the CSV link and the summary follow the range shown.
//   compact:  the same without zoom fetching (sensor page).
//   run:      a model run's forecast with its interval band against the
//             observed readings, data embedded in the page.
import uPlot from "uplot";
import { getJSON } from "./getjson";

interface SeriesIdent { sensor: string; measure: number; label: string }
/** An alert rule's threshold: one line, or the two of a band. */
interface Threshold { rule: string; severity: string; label: string; values: number[] }
/** An alert event at its data time (Unix seconds). */
interface Marker { t: number; kind: "fired" | "resolved"; sensor: string; rule: string }
interface ChartSpec { title: string; units: string; series: SeriesIdent[]; thresholds?: Threshold[]; markers?: Marker[] }
interface FetchConfig { mode: "explorer" | "compact"; from: string; to: string; charts: ChartSpec[] }
interface RunSeries { label: string; kind: string; t: number[] | null; v: number[] | null }
interface RunConfig { mode: "run"; title: string; units: string; series: RunSeries[]; bands: [number, number][] | null }
interface Stats { count: number; min: number | null; max: number | null; mean: number | null }
interface SeriesAnswer { sensor: string; measure: string; units: string; t: number[]; v: number[]; downsampled: boolean; stats: Stats }

const palette = ["#0f766e", "#c2410c", "#1d4ed8", "#a21caf", "#4d7c0f", "#b91c1c", "#0369a1", "#a16207", "#6d28d9", "#334155"];

const utc = (ts: number): Date => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");

function fmtNum(x: number | null | undefined): string {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return x.toPrecision(5);
  if (a >= 1000) return x.toFixed(1);
  return String(Number(x.toFixed(3)));
}

/** A legend value: the hovered point's, or the series' last one when the
 * cursor is off the plot, so the legend never shows a bare dash. */
function legendValue(u: uPlot, v: number | null, si: number, di: number | null): string {
  if (di !== null && di !== undefined) return fmtNum(v);
  const col = u.data[si] as (number | null | undefined)[];
  for (let i = col.length - 1; i >= 0; i--) if (col[i] !== null && col[i] !== undefined) return fmtNum(col[i]);
  return "";
}

function isoSeconds(ts: number): string {
  return new Date(Math.round(ts * 1000)).toISOString().replace(".000Z", "Z");
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmtDay = uPlot.fmtDate("{YYYY}-{MM}-{DD}");
const fmtFull = uPlot.fmtDate("{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}");
const fmtMonthDay = uPlot.fmtDate("{MM}-{DD}");
const fmtMinute = uPlot.fmtDate("{HH}:{mm}");
const fmtSecond = uPlot.fmtDate("{HH}:{mm}:{ss}");

/** Tick labels in 24-hour UTC: dates for day spacing, times below that,
 * with the date under the first tick and under each midnight. */
function timeTicks(_u: uPlot, splits: number[], _axis: number, space: number): string[] {
  let prevDay = "";
  return splits.map((ts) => {
    const d = utc(ts);
    const day = fmtDay(d);
    if (space >= 86400) return space >= 86400 * 300 ? day.slice(0, 7) : fmtMonthDay(d);
    const time = space < 60 ? fmtSecond(d) : fmtMinute(d);
    const label = day !== prevDay ? time + "\n" + day : time;
    prevDay = day;
    return label;
  });
}

function baseOptions(width: number, height: number, title: string, units: string): uPlot.Options {
  return {
    width, height, title,
    tzDate: utc,
    cursor: { drag: { x: true, y: false, setScale: false }, sync: { key: "dtbase" } },
    scales: { x: { time: true } },
    axes: [
      { stroke: "#5f6b7a", grid: { stroke: "#eef0f3" }, values: timeTicks, space: 60 },
      { stroke: "#5f6b7a", grid: { stroke: "#eef0f3" }, label: units || undefined, size: 60 },
    ],
    // Off the plot, the legend shows each series' latest value (legendValue).
    series: [{ label: "Time (UTC)", value: (_u, ts) => (ts === null ? "latest" : fmtFull(utc(ts))) }],
  };
}

function fitWidth(container: HTMLElement): number {
  return Math.max(280, Math.floor(container.clientWidth || 800));
}

/** A set of plots whose series come from the server for a time range. */
class FetchedCharts {
  private plots: { spec: ChartSpec; u: uPlot; status: HTMLElement; wrap: HTMLElement }[] = [];
  private answers = new Map<string, SeriesAnswer>();
  private range: [number, number];
  private readonly initial: [number, number];
  private abort: AbortController | null = null;

  constructor(private root: HTMLElement, private cfg: FetchConfig) {
    this.initial = [Date.parse(cfg.from) / 1000, Date.parse(cfg.to) / 1000];
    this.range = [...this.initial] as [number, number];
    const compact = cfg.mode === "compact";
    for (const spec of cfg.charts) {
      const wrap = el("div", { class: compact ? "chart" : "chart tall" });
      const status = el("div", { class: "chart-status", "aria-live": "polite" }, "Loading…");
      wrap.appendChild(status);
      root.appendChild(wrap);
      const opts = baseOptions(fitWidth(root), compact ? 240 : 340, spec.title + (spec.units ? ` (${spec.units})` : ""), spec.units);
      spec.series.forEach((s, i) => {
        opts.series.push({ label: s.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: true, points: { show: false },
          value: legendValue });
      });
      opts.hooks = {
        setSelect: [(u) => this.selected(u)],
        ready: [(u) => u.over.addEventListener("dblclick", () => this.setRange(this.initial))],
      };
      addAlertOverlays(opts, spec, wrap);
      const empty: uPlot.AlignedData = [[], ...spec.series.map(() => [])];
      const u = new uPlot(opts, empty, wrap);
      this.plots.push({ spec, u, status, wrap });
    }
    const ro = new ResizeObserver(() => {
      const w = fitWidth(root);
      for (const p of this.plots) if (Math.abs(p.u.width - w) > 4) p.u.setSize({ width: w, height: p.u.height });
    });
    ro.observe(root);
    document.getElementById("reset-zoom")?.addEventListener("click", () => this.setRange(this.initial));
    void this.load();
  }

  private key(s: SeriesIdent): string { return s.sensor + "\u0000" + s.measure; }

  /** A drag across a plot selects a range: fetch it at finer resolution. */
  private selected(u: uPlot): void {
    const sel = u.select;
    if (sel.width < 4) return;
    const min = u.posToVal(sel.left, "x"), max = u.posToVal(sel.left + sel.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (max > min) this.setRange([min, max]);
  }

  private setRange(r: [number, number]): void {
    this.range = [r[0], r[1]];
    void this.load();
  }

  private async load(): Promise<void> {
    this.abort?.abort();
    const ctl = new AbortController();
    this.abort = ctl;
    const [from, to] = this.range;
    const points = Math.min(4000, Math.max(200, fitWidth(this.root) * 2));
    const all = this.plots.flatMap((p) => p.spec.series);
    for (const p of this.plots) p.status.textContent = "Loading…";
    const t0 = performance.now();
    try {
      // Every series in one request: the server reads them together.
      const q = new URLSearchParams({ from: isoSeconds(from), to: isoSeconds(to), points: String(points) });
      for (const s of all) {
        q.append("sensor", s.sensor);
        q.append("measure", String(s.measure));
      }
      const ans = await getJSON<{ series: SeriesAnswer[] }>("/ui/api/plots?" + q.toString(), ctl.signal);
      all.forEach((s, i) => this.answers.set(this.key(s), ans.series[i]));
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      for (const p of this.plots) p.status.textContent = (e as Error).message;
      return;
    }
    this.draw();
    const ms = Math.round(performance.now() - t0);
    this.root.dataset.rendered = String((Number(this.root.dataset.rendered) || 0) + 1);
    this.root.dataset.renderMs = String(ms);
    this.afterLoad();
  }

  private draw(): void {
    const [from, to] = this.range;
    for (const p of this.plots) {
      const tables: uPlot.AlignedData[] = p.spec.series.map((s) => {
        const a = this.answers.get(this.key(s));
        return [a ? a.t : [], a ? a.v : []] as uPlot.AlignedData;
      });
      const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
      p.u.setData(data);
      p.u.setScale("x", { min: from, max: to });
      const n = p.spec.series.reduce((acc, s) => acc + (this.answers.get(this.key(s))?.stats.count || 0), 0);
      const shown = p.spec.series.reduce((acc, s) => acc + (this.answers.get(this.key(s))?.t.length || 0), 0);
      p.status.textContent = n === 0 ? "No readings in this range"
        : shown < n ? `${shown.toLocaleString()} of ${n.toLocaleString()} points (downsampled, peaks kept)` : `${n.toLocaleString()} points`;
      p.wrap.dataset.points = String(shown);
    }
  }

  /** Keeps the page in step with the range shown: URL, CSV link, summary. */
  private afterLoad(): void {
    const [from, to] = this.range;
    const csv = document.getElementById("csv-link") as HTMLAnchorElement | null;
    if (csv) {
      const u = new URL(csv.href, window.location.href);
      u.searchParams.set("from", isoSeconds(from));
      u.searchParams.set("to", isoSeconds(to));
      csv.href = u.pathname + u.search;
    }
    if (this.cfg.mode !== "explorer") return;
    const zoomed = Math.abs(from - this.initial[0]) > 1e-3 || Math.abs(to - this.initial[1]) > 1e-3;
    const reset = document.getElementById("reset-zoom");
    if (reset) reset.hidden = !zoomed;
    const label = document.getElementById("range-label");
    if (label) label.textContent = `${isoSeconds(from).replace("T", " ").replace("Z", "")} – ${isoSeconds(to).replace("T", " ").replace("Z", "")} UTC`;
    // The form follows the zoom, so "Plot" keeps the range shown.
    const local = (ts: number): string => new Date(ts * 1000).toISOString().slice(0, 16);
    const fromIn = document.getElementById("from") as HTMLInputElement | null;
    const toIn = document.getElementById("to") as HTMLInputElement | null;
    if (fromIn && toIn) {
      fromIn.value = local(from);
      toIn.value = local(Math.ceil(to / 60) * 60);
    }
    const page = new URL(window.location.href);
    page.searchParams.set("from", isoSeconds(from));
    page.searchParams.set("to", isoSeconds(to));
    window.history.replaceState(null, "", page.pathname + page.search);
    const tbody = document.querySelector<HTMLTableSectionElement>("#stats tbody");
    if (tbody) {
      tbody.replaceChildren();
      for (const p of this.plots) {
        for (const s of p.spec.series) {
          const a = this.answers.get(this.key(s));
          if (!a) continue;
          const tr = el("tr");
          const sensor = el("td", {}, s.label);
          if (s.label !== s.sensor) sensor.append(" ", el("span", { class: "id" }, s.sensor));
          tr.append(el("td", {}, p.spec.title), sensor,
            el("td", { class: "num" }, a.stats.count.toLocaleString()), el("td", { class: "num" }, a.t.length.toLocaleString()),
            el("td", { class: "num" }, fmtNum(a.stats.min)), el("td", { class: "num" }, fmtNum(a.stats.mean)), el("td", { class: "num" }, fmtNum(a.stats.max)));
          tbody.appendChild(tr);
        }
      }
    }
  }
}

const severityColor: Record<string, string> = { critical: "#b91c1c", warning: "#c2410c", info: "#1d4ed8" };
const markerColor = { fired: "#dc2626", resolved: "#15803d" };

/** Draws a plot's alert rules' thresholds (dashed lines, the y scale
 * stretched to show them) and its alerts' events (a line down the plot
 * with a triangle on top: filled red when fired, hollow green when
 * resolved), with a legend under the plot. The wrapper's data attributes
 * count what is drawn and give the canvas position of the first line and
 * of the first fired marker's triangle, for the browser tests. */
function addAlertOverlays(opts: uPlot.Options, spec: ChartSpec, wrap: HTMLElement): void {
  const thresholds = spec.thresholds || [];
  const markers = spec.markers || [];
  if (thresholds.length === 0 && markers.length === 0) return;
  const levels = thresholds.flatMap((t) => t.values);
  if (levels.length > 0) {
    opts.scales!.y = {
      range: (_u, lo, hi) => {
        const min = Math.min(...levels, ...(lo === null ? [] : [lo]));
        const max = Math.max(...levels, ...(hi === null ? [] : [hi]));
        return uPlot.rangeNum(min, max, 0.1, true);
      },
    };
  }
  const draw = (u: uPlot): void => {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const px = uPlot.pxRatio;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    let lines = 0, firstY = -1;
    ctx.lineWidth = 2 * px;
    ctx.font = `${Math.round(11 * px)}px system-ui, sans-serif`;
    ctx.textAlign = "right";
    for (const t of thresholds) {
      ctx.strokeStyle = ctx.fillStyle = severityColor[t.severity] || severityColor.warning;
      ctx.setLineDash([6 * px, 4 * px]);
      for (const v of t.values) {
        const y = Math.round(u.valToPos(v, "y", true));
        if (y < top || y > top + height) continue;
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
        ctx.stroke();
        ctx.fillText(t.rule, left + width - 4 * px, y - 4 * px);
        if (firstY < 0) firstY = y;
        lines++;
      }
    }
    ctx.setLineDash([]);
    const [xmin, xmax] = [u.scales.x.min ?? -Infinity, u.scales.x.max ?? Infinity];
    let shown = 0, firstX = -1; // firstX: of a fired marker
    const size = 6 * px;
    for (const m of markers) {
      if (m.t < xmin || m.t > xmax) continue;
      const x = Math.round(u.valToPos(m.t, "x", true));
      const color = markerColor[m.kind];
      ctx.strokeStyle = ctx.fillStyle = color;
      ctx.lineWidth = 1.5 * px;
      ctx.beginPath();
      ctx.moveTo(x, top + size);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x - size, top);
      ctx.lineTo(x + size, top);
      ctx.lineTo(x, top + size * 1.5);
      ctx.closePath();
      if (m.kind === "fired") ctx.fill();
      else ctx.stroke();
      if (firstX < 0 && m.kind === "fired") firstX = x;
      shown++;
    }
    ctx.restore();
    wrap.dataset.thresholdLines = String(lines);
    wrap.dataset.thresholdY = String(firstY);
    wrap.dataset.markers = String(shown);
    wrap.dataset.markerX = String(firstX);
    wrap.dataset.markerY = String(Math.round(top + size / 2));
  };
  (opts.hooks!.draw ||= []).push(draw);
  // Styled here: the legend exists only where this island draws alerts.
  const legend = el("div", { class: "chart-alerts", style: "display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.8rem;color:#5f6b7a;padding:.25rem .5rem" });
  for (const t of thresholds) {
    const color = severityColor[t.severity] || severityColor.warning;
    const item = el("span", { class: "chart-alerts-rule" });
    item.append(el("span", { "aria-hidden": "true", style: `display:inline-block;width:1.4rem;margin-right:.3rem;vertical-align:middle;border-top:2px dashed ${color}` }),
      el("span", {}, `${t.rule}: ${t.label}`));
    legend.appendChild(item);
  }
  const fired = markers.filter((m) => m.kind === "fired").length;
  if (markers.length > 0) {
    const item = el("span", { class: "chart-alerts-events" });
    item.append(el("span", { style: `color:${markerColor.fired}` }, "▼"), ` ${fired} alert${fired === 1 ? "" : "s"} fired, `,
      el("span", { style: `color:${markerColor.resolved}` }, "▽"), ` ${markers.length - fired} resolved`);
    legend.appendChild(item);
  }
  (opts.hooks!.ready ||= []).push(() => wrap.appendChild(legend));
}

/** A model run: observed readings, forecast mean and its interval band. */
function drawRun(root: HTMLElement, cfg: RunConfig): void {
  const series = cfg.series.map((s) => ({ ...s, t: s.t || [], v: s.v || [] }));
  const tables = series.map((s) => [s.t, s.v] as uPlot.AlignedData);
  const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
  const wrap = el("div", { class: "chart tall" });
  root.appendChild(wrap);
  const opts = baseOptions(fitWidth(root), 380, cfg.title, cfg.units);
  let other = 0;
  for (const s of series) {
    const base: uPlot.Series = { label: s.label, spanGaps: true, value: legendValue };
    switch (s.kind) {
      case "observed":
        Object.assign(base, { stroke: "#1d2430", width: 1.5, points: { show: true, size: 4, fill: "#1d2430" } });
        break;
      case "mean":
        Object.assign(base, { stroke: "#1d4ed8", width: 2, points: { show: false } });
        break;
      case "lower":
      case "upper":
        Object.assign(base, { stroke: "rgba(29,78,216,0.45)", width: 1, dash: [4, 4], points: { show: false } });
        break;
      default:
        Object.assign(base, { stroke: palette[(other++ + 1) % palette.length], width: 1.5, points: { show: false } });
    }
    opts.series.push(base);
  }
  // uPlot series indexes are 1-based: index 0 is time.
  opts.bands = (cfg.bands || []).map(([up, lo]) => ({ series: [up + 1, lo + 1] as [number, number], fill: "rgba(29,78,216,0.14)" }));
  const u = new uPlot(opts, data, wrap);
  new ResizeObserver(() => {
    const w = fitWidth(root);
    if (Math.abs(u.width - w) > 4) u.setSize({ width: w, height: u.height });
  }).observe(root);
  root.dataset.rendered = "1";
  root.dataset.bands = String(opts.bands.length);
}

/** A text box with data-filter="<list id>" hides the list's labels whose
 * data-text does not contain what is typed; checked boxes stay visible so
 * a choice is never hidden. */
function initFilters(): void {
  document.querySelectorAll<HTMLInputElement>("input[data-filter]").forEach((box) => {
    const list = document.getElementById(box.dataset.filter!);
    if (!list) return;
    box.addEventListener("input", () => {
      const q = box.value.trim().toLowerCase();
      list.querySelectorAll<HTMLLabelElement>("label[data-text]").forEach((label) => {
        const checked = label.querySelector<HTMLInputElement>("input")?.checked;
        label.hidden = q !== "" && !checked && !label.dataset.text!.toLowerCase().includes(q);
      });
    });
  });
}

function init(): void {
  initFilters();
  document.querySelectorAll<HTMLElement>("[data-charts]").forEach((root) => {
    let cfg: FetchConfig | RunConfig;
    try {
      cfg = JSON.parse(root.dataset.charts || "{}");
    } catch {
      return;
    }
    if (cfg.mode === "run") drawRun(root, cfg);
    else new FetchedCharts(root, cfg);
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
