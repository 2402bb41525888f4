// Upload island: a CSV file of readings, dropped or chosen, is sent to
// /ui/api/readings/check, which reads all of it as an upload would and
// answers with how its columns are read, the series it holds and its first
// lines, or the line of the first error. "Store" then sends it to
// /ui/api/readings/upload, stored in one transaction. Both show progress.
// The server parses the file; this island only shows what it says.

interface Column { header: string; role: string; sensor?: string; measure?: string; units?: string; datatype?: string }
interface Series { sensor: string; measure: string; units: string; count: number; from: string; to: string }
interface Check { layout: string; columns: Column[]; series: Series[]; readings: number; lines: string[] | null }
interface Stored { rows: number; inserted: number; duplicates: number }

const roles: Record<string, string> = {
  unique_identifier: "sensor id", measure_name: "measure name", measure_units: "measure units",
  timestamp: "timestamp", value: "value", "": "ignored",
};

function byId<T extends HTMLElement>(root: HTMLElement, id: string): T {
  return root.querySelector<T>("#" + id)!;
}

function cell(tr: HTMLTableRowElement, text: string, cls = ""): void {
  const td = tr.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
}

const fmt = (n: number): string => n.toLocaleString("en-US");

/** Sends body with progress; resolves with the status and the JSON answer. */
function send(url: string, body: Blob, onProgress: (f: number) => void): Promise<{ status: number; data: any }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Content-Type", "text/csv");
    const token = document.querySelector<HTMLInputElement>("input[name=csrf_token]")?.value || "";
    xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.responseType = "json";
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); };
    xhr.onload = () => resolve({ status: xhr.status, data: xhr.response });
    xhr.onerror = () => reject(new Error("The connection to the server failed."));
    xhr.send(body);
  });
}

function init(root: HTMLElement): void {
  const sensor = root.dataset.upload || "";
  const input = byId<HTMLInputElement>(root, "upload-file");
  const zone = root.querySelector<HTMLElement>(".dropzone")!;
  const name = byId<HTMLElement>(root, "upload-name");
  const progress = byId<HTMLElement>(root, "upload-progress");
  const bar = progress.querySelector<HTMLElement>(".bar")!;
  const label = progress.querySelector<HTMLElement>("span")!;
  const message = byId<HTMLElement>(root, "upload-message");
  const preview = byId<HTMLElement>(root, "upload-preview");
  const go = byId<HTMLButtonElement>(root, "upload-go");
  let file: File | null = null;
  const q = sensor ? "?sensor=" + encodeURIComponent(sensor) : "";

  const say = (kind: "error" | "success" | "info", text: string): void => {
    message.className = "flash flash-" + kind;
    message.textContent = text;
    message.setAttribute("role", kind === "error" ? "alert" : "status");
  };
  const showProgress = (what: string) => (f: number): void => {
    progress.hidden = false;
    bar.style.width = (f * 100).toFixed(1) + "%";
    label.textContent = f < 1 ? `${what} ${Math.round(f * 100)}%` : `${what}: the server is reading the file…`;
  };

  /** Sends f to the endpoint ("check" or "upload") with its progress
   * shown as what, and calls done with the answer when it is a 200.
   * Otherwise it says why, the server's reason followed by after, and
   * returns false. */
  const sendFile = async (endpoint: string, f: File, what: string, after: string, done: (data: any) => void): Promise<boolean> => {
    try {
      const res = await send(`/ui/api/readings/${endpoint}` + q, f, showProgress(what));
      progress.hidden = true;
      if (res.status !== 200) {
        say("error", ((res.data && res.data.detail) || `The ${endpoint} failed (HTTP ${res.status}).`) + after);
        return false;
      }
      done(res.data);
      return true;
    } catch (e) {
      progress.hidden = true;
      say("error", (e as Error).message);
      return false;
    }
  };

  const check = async (f: File): Promise<void> => {
    file = f;
    name.textContent = `${f.name} (${fmt(f.size)} bytes)`;
    preview.hidden = true;
    say("info", "Checking the file…");
    await sendFile("check", f, "Sending", "", (data) => render(data as Check));
  };

  const render = (c: Check): void => {
    byId<HTMLElement>(root, "upload-lines").textContent = (c.lines || []).join("\n");
    const cols = byId<HTMLTableElement>(root, "upload-columns").tBodies[0];
    cols.replaceChildren();
    for (const col of c.columns) {
      const tr = cols.insertRow();
      cell(tr, col.header);
      cell(tr, col.role === "reading"
        ? `${col.measure}${col.units ? " (" + col.units + ")" : ""} of ${col.sensor}, ${col.datatype}`
        : roles[col.role] ?? col.role, col.role === "" ? "muted" : "");
    }
    const series = byId<HTMLTableElement>(root, "upload-series").tBodies[0];
    series.replaceChildren();
    for (const s of c.series) {
      const tr = series.insertRow();
      const a = document.createElement("a");
      a.href = "/sensors/view?id=" + encodeURIComponent(s.sensor);
      a.textContent = s.sensor;
      tr.insertCell().appendChild(a);
      cell(tr, s.measure + (s.units ? ` (${s.units})` : ""));
      cell(tr, fmt(s.count), "num");
      cell(tr, s.from.replace("T", " ").replace("Z", ""), "nowrap");
      cell(tr, s.to.replace("T", " ").replace("Z", ""), "nowrap");
    }
    if (c.readings === 0) {
      say("error", "The file holds no readings.");
      return;
    }
    say("info", `The file is valid (${c.layout} layout): ${fmt(c.readings)} readings of ${c.series.length} series. Check the columns, then store them.`);
    go.textContent = `Store ${fmt(c.readings)} readings`;
    go.disabled = false;
    preview.hidden = false;
  };

  go.addEventListener("click", async () => {
    if (!file) return;
    go.disabled = true;
    say("info", "Storing…");
    const stored = await sendFile("upload", file, "Uploading", " Nothing was stored.", (data) => {
      const r = data as Stored;
      say("success", `Stored ${fmt(r.inserted)} readings` + (r.duplicates ? `; ${fmt(r.duplicates)} were already stored.` : "."));
      preview.hidden = true;
      // A sensor's page shows its new readings.
      if (sensor) window.setTimeout(() => window.location.reload(), 600);
    });
    if (!stored) go.disabled = false;
  });

  input.addEventListener("change", () => { if (input.files?.[0]) check(input.files[0]); });
  for (const ev of ["dragenter", "dragover"]) {
    zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add("over"); });
  }
  for (const ev of ["dragleave", "drop"]) {
    zone.addEventListener(ev, () => zone.classList.remove("over"));
  }
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = (e as DragEvent).dataTransfer?.files?.[0];
    if (f) check(f);
  });
}

function start(): void {
  document.querySelectorAll<HTMLElement>("[data-upload]").forEach(init);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();

// A module to tsc, so its top-level names are its own (the bundle is an IIFE).
export {};
