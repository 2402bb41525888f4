// Builds the islands of the web interface into ../static, which is committed
// and embedded in the dtbase binary. Run `npm ci && npm run build` here after
// changing anything in src/.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = new URL("../static/", import.meta.url).pathname;
mkdirSync(out + "js", { recursive: true });

const common = {
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "linked",
  logLevel: "info",
};

await build({ ...common, entryPoints: { app: "src/app.ts", charts: "src/charts.ts", upload: "src/upload.ts" }, outdir: out + "js" });
// The 3D view is its own bundle, loaded only on the locations page that
// needs it, so three.js never weighs on other pages.
await build({ ...common, entryPoints: { scene3d: "src/scene3d.ts" }, outdir: out + "js" });
// The site page: a small loader, and the 3D view it loads only when the
// browser has WebGL.
await build({ ...common, entryPoints: { site: "src/site.ts", site3d: "src/site3d.ts" }, outdir: out + "js" });
await build({ ...common, entryPoints: { site: "src/site.css" }, outdir: out, loader: { ".css": "css" } });
// The map page's Leaflet bundle, likewise only on the page that needs it.
await build({ ...common, entryPoints: { map: "src/map.ts" }, outdir: out + "js" });
await build({ ...common, entryPoints: { app: "src/app.css" }, outdir: out, loader: { ".css": "css" } });
copyFileSync("node_modules/uplot/dist/uPlot.min.css", out + "uplot.css");
copyFileSync("node_modules/leaflet/dist/leaflet.css", out + "leaflet.css");
copyFileSync("src/favicon.svg", out + "favicon.svg");
