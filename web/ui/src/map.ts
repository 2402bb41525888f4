// The map page's island: draws the locations of a schema on a Leaflet map.
// Markers are drawn from the page's data whether or not the tile server
// answers; when tiles fail to load, a note says so and the markers stay.
import * as L from "leaflet";

interface Marker {
  id: number;
  label: string;
  lat: number;
  lon: number;
  sensors: number;
}

function init(): void {
  const el = document.getElementById("map");
  if (!el) return;
  const markers = JSON.parse(el.dataset.markers || "[]") as Marker[];
  const tiles = el.dataset.tiles || "";
  const note = document.getElementById("map-note");
  const map = L.map(el, { attributionControl: true });
  let failed = 0;
  let loaded = 0;
  const showNote = () => {
    if (!note || loaded > 0) return;
    note.textContent = "Map tiles could not be loaded from " + new URL(tiles.replace(/\{[a-z]\}/g, "0"), location.href).host +
      "; the locations are drawn without a background map.";
    note.hidden = false;
    el.classList.add("no-tiles");
  };
  const layer = L.tileLayer(tiles, {
    maxZoom: 19,
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
  });
  layer.on("tileerror", () => {
    failed++;
    if (failed >= 1) showNote();
  });
  layer.on("tileload", () => {
    loaded++;
    if (note) note.hidden = true;
    el.classList.remove("no-tiles");
  });
  layer.addTo(map);
  // A tile server that never answers fires no event: give it a while.
  window.setTimeout(() => { if (loaded === 0) showNote(); }, 4000);

  const group = L.featureGroup();
  for (const m of markers) {
    const label = `${m.label} · ${m.sensors} sensor${m.sensors === 1 ? "" : "s"}`;
    L.circleMarker([m.lat, m.lon], { radius: 8, color: "#1f5fae", weight: 2, fillOpacity: 0.6 })
      .bindTooltip(label)
      .bindPopup(label)
      .addTo(group);
  }
  group.addTo(map);
  if (markers.length === 1) map.setView([markers[0].lat, markers[0].lon], 16);
  else if (markers.length > 1) map.fitBounds(group.getBounds(), { padding: [30, 30], maxZoom: 18 });
  else map.setView([0, 0], 2);
  el.dataset.ready = String(markers.length);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
