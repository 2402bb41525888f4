package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

type locationsData struct {
	Schemas     []schemaRow
	Identifiers []dtbase.Identifier
	Datatypes   []dtbase.Datatype
}

type schemaRow struct {
	dtbase.LocationSchema
	Locations int
	Has3D     bool
}

func (h *Handler) locationsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	schemas, err := h.allLocations(ctx)
	if err != nil {
		return err
	}
	d := &locationsData{Datatypes: dtbase.Datatypes}
	for _, sc := range schemas {
		_, has3D := axesOf(&sc.LocationSchema)
		d.Schemas = append(d.Schemas, schemaRow{LocationSchema: sc.LocationSchema, Locations: len(sc.Locations), Has3D: has3D})
	}
	if s.User.Role.Allows(dtbase.RoleEditor) {
		if d.Identifiers, err = h.store.ListLocationIdentifiers(ctx); err != nil {
			return err
		}
	}
	h.render(w, r, http.StatusOK, "locations.html", &view{Title: "Locations", Nav: "locations", Session: s, Data: d})
	return nil
}

// schemaLocations is a location schema with its locations.
type schemaLocations struct {
	dtbase.LocationSchema
	Locations []dtbase.Location
}

// allLocations lists every location schema with its locations.
func (h *Handler) allLocations(ctx context.Context) ([]schemaLocations, error) {
	schemas, err := h.store.ListLocationSchemas(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]schemaLocations, len(schemas))
	for i, sc := range schemas {
		locs, err := h.store.FindLocations(ctx, sc.Name, nil)
		if err != nil {
			return nil, err
		}
		out[i] = schemaLocations{sc, locs}
	}
	return out, nil
}

func schemaURL(name string) string { return "/locations/schema?name=" + url.QueryEscape(name) }

// createSchema creates a schema from existing identifiers (checked by id)
// and new ones (rows of name, units and datatype).
func (h *Handler) createSchema(r *http.Request, s *session) (string, string, error) {
	ctx := r.Context()
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		return "/locations", "", invalid("The schema needs a name.")
	}
	sc := &dtbase.LocationSchema{Name: name, Description: strPtr(r.PostFormValue("description"))}
	fields, err := formFields(r, "identifier", func(ctx context.Context) ([]dtbase.Measure, error) {
		ids, err := h.store.ListLocationIdentifiers(ctx)
		if err != nil {
			return nil, err
		}
		ms := make([]dtbase.Measure, len(ids))
		for i, id := range ids {
			ms[i] = dtbase.Measure(id) // the same fields
		}
		return ms, nil
	})
	if err != nil {
		return "/locations", "", err
	}
	for _, f := range fields {
		sc.Identifiers = append(sc.Identifiers, dtbase.Identifier(f))
	}
	if len(sc.Identifiers) == 0 {
		return "/locations", "", invalid("Choose or add at least one identifier.")
	}
	if err := h.store.CreateLocationSchema(ctx, sc); err != nil {
		return "/locations", "", err
	}
	return schemaURL(name), "Location schema " + name + " created.", nil
}

func (h *Handler) deleteSchema(r *http.Request, s *session) (string, string, error) {
	return deleteNamed(r, h.store.DeleteLocationSchema, "/locations", "Location schema %s deleted.", "Schema %s still has locations; delete them first.")
}

type schemaPageData struct {
	Schema    *dtbase.LocationSchema
	Locations []locationRow
	Scene     *sceneConfig
	Sensors   []string // every sensor, for the placement form
	Now       time.Time
}

type locationRow struct {
	dtbase.Location
	Cells   []string // the values as text, aligned with the schema's identifiers
	Sensors []string // sensors placed here now
}

func (h *Handler) schemaPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	name := r.URL.Query().Get("name")
	sc, err := h.store.FindLocationSchema(ctx, name)
	if err != nil {
		return err
	}
	locs, err := h.store.FindLocations(ctx, name, nil)
	if err != nil {
		return err
	}
	sensors, err := h.store.FindSensors(ctx, dtbase.SensorFilter{WithLocation: true})
	if err != nil {
		return err
	}
	at := map[int64][]string{}
	for _, x := range sensors {
		if x.Location != nil && x.Location.Location.Schema == name {
			at[x.Location.Location.ID] = append(at[x.Location.Location.ID], x.UniqueIdentifier)
		}
	}
	d := &schemaPageData{Schema: sc, Now: h.now()}
	if s.User.Role.Allows(dtbase.RoleEditor) {
		for _, x := range sensors {
			d.Sensors = append(d.Sensors, x.UniqueIdentifier)
		}
	}
	for _, l := range locs {
		row := locationRow{Location: l, Sensors: at[l.ID]}
		for _, v := range l.Values {
			row.Cells = append(row.Cells, formatValue(v))
		}
		d.Locations = append(d.Locations, row)
	}
	v := &view{Title: "Locations of " + name, Nav: "locations", Session: s, Data: d}
	if axes, ok := axesOf(sc); ok && len(locs) > 0 {
		if d.Scene, err = h.scene(r, sc, axes, locs, at); err != nil {
			return err
		}
		v.Modules = []string{"js/scene3d.js"}
	}
	h.render(w, r, http.StatusOK, "schema.html", v)
	return nil
}

// formCoordinates reads one input per identifier of the named schema,
// named "id_<identifier name>", in the identifier's datatype. With partial
// set, empty inputs are left out.
func (h *Handler) formCoordinates(r *http.Request, schema string, partial bool) (dtbase.Coordinates, error) {
	sc, err := h.store.FindLocationSchema(r.Context(), schema)
	if err != nil {
		return nil, err
	}
	coords := dtbase.Coordinates{}
	for _, id := range sc.Identifiers {
		text := r.PostFormValue("id_" + id.Name)
		if id.Datatype == dtbase.Boolean {
			text = strconv.FormatBool(text == "true" || text == "on")
		} else if strings.TrimSpace(text) == "" && id.Datatype != dtbase.String {
			if partial {
				continue
			}
			return nil, invalid("Give a value for %s.", id.Name)
		}
		v, msg := dtbase.ParseValueText(text, id.Datatype)
		if msg != "" {
			return nil, invalid("%s: %s.", id.Name, msg)
		}
		coords[id.Name] = v
	}
	return coords, nil
}

func (h *Handler) createLocation(r *http.Request, s *session) (string, string, error) {
	ctx := r.Context()
	name := r.PostFormValue("schema")
	back := schemaURL(name)
	coords, err := h.formCoordinates(r, name, false)
	if err != nil {
		return back, "", err
	}
	l, err := h.store.CreateLocation(ctx, name, coords)
	if err != nil {
		return back, "", err
	}
	return back, "Location " + coordsText(l) + " added.", nil
}

// locationByID finds a location of a schema by its id.
func (h *Handler) locationByID(r *http.Request, schema string) (*dtbase.Location, error) {
	id, err := strconv.ParseInt(r.PostFormValue("location"), 10, 64)
	if err != nil {
		return nil, invalid("No location was chosen.")
	}
	return h.findLocation(r.Context(), schema, id)
}

// findLocation finds a location of a schema by its id; one that is gone is
// EINVALID, as the form that named it is out of date.
func (h *Handler) findLocation(ctx context.Context, schema string, id int64) (*dtbase.Location, error) {
	locs, err := h.store.FindLocations(ctx, schema, nil)
	if err != nil {
		return nil, err
	}
	for i := range locs {
		if locs[i].ID == id {
			return &locs[i], nil
		}
	}
	return nil, invalid("That location no longer exists; reload the page.")
}

func (h *Handler) editLocation(r *http.Request, s *session) (string, string, error) {
	name := r.PostFormValue("schema")
	back := schemaURL(name)
	nl, err := h.updateLocation(r, name)
	if err != nil {
		return back, "", err
	}
	return back, "Location saved as " + coordsText(nl) + ".", nil
}

// updateLocation gives the form's location (by id) of the named schema the
// coordinates of the form, those it leaves out unchanged.
func (h *Handler) updateLocation(r *http.Request, name string) (*dtbase.Location, error) {
	l, err := h.locationByID(r, name)
	if err != nil {
		return nil, err
	}
	update, err := h.formCoordinates(r, name, true)
	if err != nil {
		return nil, err
	}
	return h.store.UpdateLocation(r.Context(), name, l.Coordinates(), update)
}

func (h *Handler) deleteLocation(r *http.Request, s *session) (string, string, error) {
	name := r.PostFormValue("schema")
	back := schemaURL(name)
	l, err := h.locationByID(r, name)
	if err != nil {
		return back, "", err
	}
	if err := h.store.DeleteLocation(r.Context(), name, l.Coordinates()); err != nil {
		return back, "", onConflict(err, "Location %s is in a sensor's placement history and cannot be deleted.", coordsText(l))
	}
	return back, "Location " + coordsText(l) + " deleted.", nil
}

// axisNames lists, per axis, identifier names that place a location in
// space.
var axisNames = [3][]string{
	{"x", "lon", "long", "longitude", "easting", "east"},
	{"y", "lat", "latitude", "northing", "north"},
	{"z", "alt", "altitude", "height", "elevation", "depth", "level", "floor"},
}

// axesOf returns the indexes in the schema of its x, y and z identifiers
// (-1 for a missing z) when it has numeric x- and y-like ones.
func axesOf(sc *dtbase.LocationSchema) ([3]int, bool) {
	axes := [3]int{-1, -1, -1}
	for i, id := range sc.Identifiers {
		if id.Datatype != dtbase.Float && id.Datatype != dtbase.Integer {
			continue
		}
		name := strings.ToLower(id.Name)
		for a, names := range axisNames {
			if axes[a] >= 0 {
				continue
			}
			for _, n := range names {
				if name == n || strings.HasPrefix(name, n+"_") || strings.HasPrefix(name, n+" ") {
					axes[a] = i
				}
			}
		}
	}
	return axes, axes[0] >= 0 && axes[1] >= 0
}

// sceneConfig is what the 3D island draws: every location of the schema,
// the sensors placed at them and their latest values per measure.
type sceneConfig struct {
	Axes     []string     `json:"axes"`
	Points   []scenePoint `json:"points"`
	Measures []string     `json:"measures"`
}

type scenePoint struct {
	P       [3]float64    `json:"p"`
	Label   string        `json:"label"`
	Sensors []sceneSensor `json:"sensors"`
}

type sceneSensor struct {
	ID     string             `json:"id"`
	Values map[string]float64 `json:"values"` // by measure label
	Times  map[string]string  `json:"times"`
}

func (h *Handler) scene(r *http.Request, sc *dtbase.LocationSchema, axes [3]int, locs []dtbase.Location, at map[int64][]string) (*sceneConfig, error) {
	cfg := &sceneConfig{}
	for _, a := range axes {
		if a >= 0 {
			cfg.Axes = append(cfg.Axes, sc.Identifiers[a].Name)
		} else {
			cfg.Axes = append(cfg.Axes, "")
		}
	}
	var placed []string
	for _, ids := range at {
		placed = append(placed, ids...)
	}
	values := map[string]*sceneSensor{}
	measures := map[string]string{}
	if len(placed) > 0 {
		latest, err := h.store.LatestReadings(r.Context(), dtbase.LatestReadingFilter{UniqueIdentifiers: placed})
		if err != nil {
			return nil, err
		}
		for _, l := range latest {
			f, ok := l.Value.Float()
			if !ok || l.Datatype == dtbase.Boolean {
				continue
			}
			label := l.MeasureName
			if l.MeasureUnits != nil && *l.MeasureUnits != "" {
				label += " (" + *l.MeasureUnits + ")"
			}
			measures[label] = label
			ss := values[l.UniqueIdentifier]
			if ss == nil {
				ss = &sceneSensor{ID: l.UniqueIdentifier, Values: map[string]float64{}, Times: map[string]string{}}
				values[l.UniqueIdentifier] = ss
			}
			ss.Values[label] = f
			ss.Times[label] = formatTime(l.Time)
		}
	}
	cfg.Measures = sortedKeys(measures)
	for _, l := range locs {
		p := scenePoint{Label: coordsText(&l)}
		for a, i := range axes {
			if i >= 0 {
				p.P[a], _ = l.Values[i].Float()
			}
		}
		for _, id := range at[l.ID] {
			if ss := values[id]; ss != nil {
				p.Sensors = append(p.Sensors, *ss)
			} else {
				p.Sensors = append(p.Sensors, sceneSensor{ID: id})
			}
		}
		cfg.Points = append(cfg.Points, p)
	}
	return cfg, nil
}
