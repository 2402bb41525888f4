// Builds the islands of the web interface into ../static, which is committed
// and embedded in the dtbase binary. Run `npm ci && npm run build` here after
// changing anything in src/.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const out = new URL("../static/", import.meta.url).pathname;
// Every file under js/ is built here; starting empty drops chunks whose
// content hash (and so name) changed.
rmSync(out + "js", { recursive: true, force: true });
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
// The two 3D views (a schema's locations, the site) are ES modules built
// together: each page loads its own small entry, and three.js sits once in a
// shared chunk that only those pages fetch.
await build({
  ...common,
  format: "esm",
  splitting: true,
  chunkNames: "three-[hash]",
  entryPoints: { scene3d: "src/scene3d.ts", site3d: "src/site3d.ts" },
  outdir: out + "js",
});
// The site page's loader loads its 3D view only when the browser has WebGL.
await build({ ...common, entryPoints: { site: "src/site.ts" }, outdir: out + "js" });
await build({ ...common, entryPoints: { site: "src/site.css" }, outdir: out, loader: { ".css": "css" } });
// The map page's Leaflet bundle, likewise only on the page that needs it.
await build({ ...common, entryPoints: { map: "src/map.ts" }, outdir: out + "js" });
await build({ ...common, entryPoints: { app: "src/app.css" }, outdir: out, loader: { ".css": "css" } });
copyFileSync("node_modules/uplot/dist/uPlot.min.css", out + "uplot.css");
copyFileSync("node_modules/leaflet/dist/leaflet.css", out + "leaflet.css");
copyFileSync("src/favicon.svg", out + "favicon.svg");
