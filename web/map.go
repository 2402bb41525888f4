package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/dtbase/dtbase"
)

// DefaultMapTileURL is OpenStreetMap's tile server.
const DefaultMapTileURL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

type mapData struct {
	Schemas  []dtbase.LocationSchema
	Schema   string
	Fields   []string // the schema's float identifiers
	Lat, Lon string
	Tiles    string
	Markers  []mapMarker
	Skipped  int // locations of the schema without both values
}

type mapMarker struct {
	ID      int64   `json:"id"`
	Label   string  `json:"label"`
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	Sensors int     `json:"sensors"`
}

// guessField picks the identifier whose name looks like one of names.
func guessField(fields []string, names ...string) string {
	for _, n := range names {
		for _, f := range fields {
			if strings.EqualFold(f, n) {
				return f
			}
		}
	}
	return ""
}

// mapPage draws the locations of a schema on a map, at the two float
// identifiers the user chooses as latitude and longitude (guessed from
// their names at first).
func (h *Handler) mapPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	schemas, err := h.store.ListLocationSchemas(ctx)
	if err != nil {
		return err
	}
	d := &mapData{Schemas: schemas, Tiles: h.cfg.MapTileURL}
	if d.Tiles == "" {
		d.Tiles = DefaultMapTileURL
	}
	q := r.URL.Query()
	var sc *dtbase.LocationSchema
	for i := range schemas {
		fields := floatFields(&schemas[i])
		if q.Get("schema") == schemas[i].Name || q.Get("schema") == "" && sc == nil && guessField(fields, "latitude", "lat") != "" {
			sc = &schemas[i]
		}
	}
	if sc != nil {
		d.Schema, d.Fields = sc.Name, floatFields(sc)
		d.Lat, d.Lon = q.Get("lat"), q.Get("lon")
		if d.Lat == "" {
			d.Lat = guessField(d.Fields, "latitude", "lat")
		}
		if d.Lon == "" {
			d.Lon = guessField(d.Fields, "longitude", "lon", "lng")
		}
		if d.Lat != "" && d.Lon != "" {
			if err := h.mapMarkers(r, d); err != nil {
				return err
			}
		}
	}
	// The page may load images from the tile server: widen img-src for it.
	if u, err := url.Parse(strings.NewReplacer("{s}", "a", "{z}", "0", "{x}", "0", "{y}", "0").Replace(d.Tiles)); err == nil && u.Host != "" {
		origin := u.Scheme + "://" + u.Host
		if strings.Contains(d.Tiles, "{s}.") {
			origin = u.Scheme + "://*." + strings.TrimPrefix(u.Host, "a.")
		}
		csp := w.Header().Get("Content-Security-Policy")
		w.Header().Set("Content-Security-Policy", strings.Replace(csp, "img-src 'self'", "img-src 'self' "+origin, 1))
	}
	h.render(w, r, http.StatusOK, "map.html", &view{Title: "Map", Nav: "map", Session: s, Data: d,
		Scripts: []string{"js/map.js"}, Styles: []string{"leaflet.css"}, Wide: true})
	return nil
}

func floatFields(sc *dtbase.LocationSchema) []string {
	var out []string
	for _, id := range sc.Identifiers {
		if id.Datatype == dtbase.Float || id.Datatype == dtbase.Integer {
			out = append(out, id.Name)
		}
	}
	return out
}

func (h *Handler) mapMarkers(r *http.Request, d *mapData) error {
	locs, err := h.store.FindLocations(r.Context(), d.Schema, nil)
	if err != nil {
		return err
	}
	nodes, err := h.store.LocationTree(r.Context())
	if err != nil {
		return err
	}
	counts := dtbase.TreeCounts(nodes)
	for _, l := range locs {
		c := l.Coordinates()
		lat, ok1 := c[d.Lat].Float()
		lon, ok2 := c[d.Lon].Float()
		if !ok1 || !ok2 || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			d.Skipped++
			continue
		}
		d.Markers = append(d.Markers, mapMarker{l.ID, nodeLabel(&l), lat, lon, counts[l.ID]})
	}
	return nil
}
