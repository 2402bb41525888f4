// Site page loader: checks for WebGL and only then loads the 3D bundle
// (three.js and the site view), so the page itself stays a few hundred
// bytes of script and browsers without WebGL keep the table below.
function hasWebGL(): boolean {
  try {
    const c = document.createElement("canvas");
    return !!(c.getContext("webgl2") || c.getContext("webgl"));
  } catch {
    return false;
  }
}

function start(): void {
  const host = document.getElementById("site");
  if (!host) return;
  const msg = document.getElementById("site-msg");
  if (!hasWebGL()) {
    host.classList.add("site-nogl");
    if (msg) msg.textContent = "This browser cannot draw 3D graphics (WebGL is off or missing). The table below lists every sensor with its latest readings.";
    host.dataset.rendered = "nogl";
    return;
  }
  const s = document.createElement("script");
  s.type = "module";
  s.src = host.dataset.bundle || "";
  s.onerror = () => { if (msg) msg.textContent = "The 3D view could not be loaded; the table below lists every sensor."; };
  document.head.appendChild(s);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();

// A module to tsc, so its top-level names are its own (the bundle is an IIFE).
export {};
