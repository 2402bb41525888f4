// The colour scale of the 3D views: blue (low) to red (high), as the legend
// bar in app.css.
import { Color } from "three";

const stops = ["#313695", "#4575b4", "#74add1", "#abd9e9", "#fee090", "#fdae61", "#f46d43", "#d73027", "#a50026"].map((c) => new Color(c));

/** The colour at t, from 0 (low) to 1 (high); t is clamped. */
export function ramp(t: number): Color {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  return stops[i].clone().lerp(stops[i + 1], x - i);
}
