package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/httpasset"
)

func siteURL(schema string) string { return "/site?schema=" + url.QueryEscape(schema) }

// siteStaleAfter is how old a sensor's newest reading may be before its
// marker is greyed.
const siteStaleAfter = 2 * time.Hour

type sitePageData struct {
	Schemas   []string
	Schema    *dtbase.LocationSchema
	Placement *dtbase.SitePlacement
	Model     *dtbase.SiteModel // without data; nil without a model
	Numeric   []string          // numeric identifiers, for the placement form
	Units     []string
	Rows      []siteRow // the 2D table
	Locations []siteLocationOption
	MaxBytes  int64
	Config    string // the island's data-config
}

type siteRow struct {
	Location string
	Sensors  []siteRowSensor
}

type siteRowSensor struct {
	ID, Name string
	Values   []string // "temperature 21.3 °C (12 min ago)"
}

type siteLocationOption struct {
	ID     int64
	Label  string
	Values map[string]string // current numeric values by identifier
}

func (h *Handler) sitePage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	schemas, err := h.store.ListLocationSchemas(ctx)
	if err != nil {
		return err
	}
	d := &sitePageData{MaxBytes: h.siteModelMax()}
	for _, sc := range schemas {
		d.Schemas = append(d.Schemas, sc.Name)
	}
	name := r.URL.Query().Get("schema")
	if name == "" && len(schemas) > 0 {
		name = schemas[0].Name
		for _, sc := range schemas { // prefer a schema with a model
			if _, err := h.store.FindSiteModel(ctx, sc.Name, false); err == nil {
				name = sc.Name
				break
			}
		}
	}
	v := &view{Title: "Site", Nav: "site", Session: s, Data: d, Wide: true}
	if name == "" {
		h.render(w, r, http.StatusOK, "site.html", v)
		return nil
	}
	st, err := h.siteState(r, name)
	if err != nil {
		return err
	}
	v.Title = "Site: " + name
	d.Schema, d.Placement, d.Model = st.schema, &st.Placement, st.model
	for u := range dtbase.SiteUnits {
		d.Units = append(d.Units, u)
	}
	sort.Strings(d.Units)
	for _, id := range st.schema.Identifiers {
		if id.Datatype == dtbase.Float || id.Datatype == dtbase.Integer {
			d.Numeric = append(d.Numeric, id.Name)
		}
	}
	bySensor := map[string]*siteSensor{}
	for i := range st.Sensors {
		bySensor[st.Sensors[i].ID] = &st.Sensors[i]
	}
	for _, l := range st.locs {
		opt := siteLocationOption{ID: l.ID, Label: coordsText(&l), Values: map[string]string{}}
		for i, id := range l.Identifiers {
			if id.Datatype == dtbase.Float || id.Datatype == dtbase.Integer {
				opt.Values[id.Name] = formatValue(l.Values[i])
			}
		}
		d.Locations = append(d.Locations, opt)
		row := siteRow{Location: opt.Label}
		for _, id := range st.at[l.ID] {
			ss := bySensor[id]
			rs := siteRowSensor{ID: id, Name: ss.Name}
			for _, m := range st.Measures {
				if lv, ok := ss.Latest[m.Key]; ok {
					t, _ := dtbase.ParseTime(lv.T)
					rs.Values = append(rs.Values, m.Name+" "+strconv.FormatFloat(lv.V, 'g', 4, 64)+" "+m.Units+" ("+formatTime(t)+")")
				}
			}
			row.Sensors = append(row.Sensors, rs)
		}
		d.Rows = append(d.Rows, row)
	}
	q := url.Values{"schema": {name}}
	cfg := map[string]any{"state": "/ui/api/site?" + q.Encode(), "replay": "/ui/api/site-replay?" + q.Encode(),
		"sensorURL": "/sensors/view?id=", "edit": s.User.Role.Allows(dtbase.RoleEditor)}
	if st.model != nil {
		cfg["model"] = "/ui/api/site-model?" + q.Encode() + "&v=" + st.model.SHA256[:12]
	}
	if d.Config, err = toJSON(cfg); err != nil {
		return err
	}
	v.Scripts, v.Styles = []string{"js/site.js"}, []string{"site.css"}
	h.render(w, r, http.StatusOK, "site.html", v)
	return nil
}

func (h *Handler) siteModelMax() int64 {
	if h.cfg.SiteModelMaxBytes > 0 {
		return h.cfg.SiteModelMaxBytes
	}
	return dtbase.DefaultSiteModelMaxBytes
}

// siteState is what the 3D island draws: locations in metres in the
// schema's frame (x east, y north, z up), the sensors placed at them with
// their latest numeric readings, and the firing alerts.
type siteState struct {
	Schema    string               `json:"schema"`
	Placement dtbase.SitePlacement `json:"placement"`
	Measures  []siteMeasure        `json:"measures"`
	Locations []siteLocation       `json:"locations"`
	Sensors   []siteSensor         `json:"sensors"`
	// Alerts lists the firing alerts of the placed sensors, drawn as a red
	// ring and a warning sign.
	Alerts     []siteAlert `json:"alerts"`
	Now        string      `json:"now"`
	StaleAfter float64     `json:"stale_after"` // seconds

	schema *dtbase.LocationSchema
	model  *dtbase.SiteModel
	locs   []dtbase.Location
	at     map[int64][]string
}

type siteMeasure struct {
	Key   string `json:"key"` // name, or "name (units)"
	Name  string `json:"name"`
	Units string `json:"units"`
}

type siteLocation struct {
	ID     int64      `json:"id"`
	Label  string     `json:"label"`
	P      [3]float64 `json:"p"`
	Placed bool       `json:"placed"` // false: an axis value is missing
}

type siteSensor struct {
	ID       string               `json:"id"`
	Name     string               `json:"name"`
	Type     string               `json:"type"`
	Location int64                `json:"location"`
	Latest   map[string]siteValue `json:"latest"` // by measure key
}

type siteValue struct {
	V float64 `json:"v"`
	T string  `json:"t"`
}

type siteAlert struct {
	Sensor string `json:"sensor"`
	Name   string `json:"name"`
}

func measureKey(name string, units *string) string {
	if units != nil && *units != "" {
		return name + " (" + *units + ")"
	}
	return name
}

func (h *Handler) siteState(r *http.Request, name string) (*siteState, error) {
	ctx := r.Context()
	sc, err := h.store.FindLocationSchema(ctx, name)
	if err != nil {
		return nil, err
	}
	p, err := h.store.FindSitePlacement(ctx, name)
	if err != nil {
		return nil, err
	}
	st := &siteState{Schema: name, Placement: *p, Measures: []siteMeasure{}, Locations: []siteLocation{}, Sensors: []siteSensor{},
		Alerts: []siteAlert{}, Now: dtbase.FormatTime(h.now()), StaleAfter: siteStaleAfter.Seconds(), schema: sc, at: map[int64][]string{}}
	if m, err := h.store.FindSiteModel(ctx, name, false); err == nil {
		st.model = m
	} else if dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		return nil, err
	}
	if st.locs, err = h.store.FindLocations(ctx, name, nil); err != nil {
		return nil, err
	}
	axis := map[string]int{}
	for i, id := range sc.Identifiers {
		axis[id.Name] = i
	}
	unit := dtbase.SiteUnits[p.Unit]
	if unit == 0 {
		unit = 1
	}
	for _, l := range st.locs {
		sl := siteLocation{ID: l.ID, Label: coordsText(&l), Placed: p.X != ""}
		for a, field := range []string{p.X, p.Y, p.Z} {
			i, ok := axis[field]
			if !ok {
				continue
			}
			f, ok := l.Values[i].Float()
			if !ok {
				sl.Placed = false
			}
			sl.P[a] = f * unit
		}
		st.Locations = append(st.Locations, sl)
	}
	sensors, err := h.store.FindSensors(ctx, dtbase.SensorFilter{WithLocation: true})
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	var ids []string
	for _, x := range sensors {
		if x.Location == nil || x.Location.Location.Schema != name {
			continue
		}
		index[x.UniqueIdentifier] = len(st.Sensors)
		ids = append(ids, x.UniqueIdentifier)
		st.at[x.Location.Location.ID] = append(st.at[x.Location.Location.ID], x.UniqueIdentifier)
		st.Sensors = append(st.Sensors, siteSensor{ID: x.UniqueIdentifier, Name: derefString(x.Name), Type: x.TypeName,
			Location: x.Location.Location.ID, Latest: map[string]siteValue{}})
	}
	measures := map[string]siteMeasure{}
	// LatestReadings takes at most 1000 sensors a call.
	for start := 0; start < len(ids); start += 1000 {
		latest, err := h.store.LatestReadings(ctx, dtbase.LatestReadingFilter{UniqueIdentifiers: ids[start:min(start+1000, len(ids))]})
		if err != nil {
			return nil, err
		}
		for _, l := range latest {
			f, ok := l.Value.Float()
			if !ok || l.Datatype == dtbase.Boolean {
				continue
			}
			key := measureKey(l.MeasureName, l.MeasureUnits)
			measures[key] = siteMeasure{key, l.MeasureName, derefString(l.MeasureUnits)}
			st.Sensors[index[l.UniqueIdentifier]].Latest[key] = siteValue{f, dtbase.FormatTime(l.Time)}
		}
	}
	for _, k := range sortedKeys(measures) {
		st.Measures = append(st.Measures, measures[k])
	}
	if err := h.addSiteAlerts(ctx, st); err != nil {
		return nil, err
	}
	return st, nil
}

func (h *Handler) siteStateJSON(w http.ResponseWriter, r *http.Request, s *session) error {
	st, err := h.siteState(r, r.URL.Query().Get("schema"))
	if err != nil {
		return err
	}
	return writeJSON(w, r, st)
}

func (h *Handler) siteModelFile(w http.ResponseWriter, r *http.Request, s *session) error {
	var failed error
	httpasset.ServeSiteModel(w, r, h.store, r.URL.Query().Get("schema"), func(_ http.ResponseWriter, _ *http.Request, err error) { failed = err })
	return failed
}

// siteReplay holds, for every placed sensor with readings of one measure,
// its readings of a range downsampled to keep peaks: one answer for the
// whole site, so a replay starts after one request.
type siteReplay struct {
	From   string             `json:"from"`
	To     string             `json:"to"`
	Series []siteReplaySeries `json:"series"`
}

type siteReplaySeries struct {
	Sensor string    `json:"sensor"`
	T      []float64 `json:"t"` // Unix seconds
	V      []float64 `json:"v"`
}

// maxReplayPoints caps the points per sensor of a replay.
const maxReplayPoints = 2000

// siteReplayJSON answers /ui/api/site-replay?schema=&measure=&units=&from=&to=&points=
// with the store's downsampled reads of every sensor placed in the schema.
func (h *Handler) siteReplayJSON(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	from, to, err := rangeParams(q)
	if err != nil {
		return err
	}
	points := 200
	if p, err := strconv.Atoi(q.Get("points")); err == nil && p >= 2 {
		points = min(p, maxReplayPoints)
	}
	var units *string
	if q.Has("units") {
		u := q.Get("units")
		units = &u
	}
	sensors, err := h.store.FindSensors(ctx, dtbase.SensorFilter{WithLocation: true})
	if err != nil {
		return err
	}
	out := siteReplay{From: dtbase.FormatTime(from), To: dtbase.FormatTime(to), Series: []siteReplaySeries{}}
	for _, x := range sensors {
		if x.Location == nil || x.Location.Location.Schema != q.Get("schema") {
			continue
		}
		if one := q.Get("sensor"); one != "" && one != x.UniqueIdentifier {
			continue
		}
		m, err := h.store.FindReadingMeasure(ctx, x.UniqueIdentifier, q.Get("measure"), units)
		if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			continue // this sensor's type lacks the measure
		}
		if err != nil {
			return err
		}
		if m.Datatype == dtbase.String {
			continue
		}
		series := siteReplaySeries{Sensor: x.UniqueIdentifier, T: []float64{}, V: []float64{}}
		err = h.store.DownsampleReadings(ctx, m, from, to, points, func(rd dtbase.Reading) error {
			f, _ := rd.Value.Float()
			series.T = append(series.T, float64(rd.Time.UnixMilli())/1000)
			series.V = append(series.V, f)
			return nil
		})
		if err != nil {
			return err
		}
		out.Series = append(out.Series, series)
	}
	return writeJSONCache(w, r, out, "private, max-age=10")
}

// uploadSiteModel stores the file of the form's "model" input.
func (h *Handler) uploadSiteModel(r *http.Request, s *session) (string, string, error) {
	name := r.FormValue("schema")
	back := siteURL(name)
	f, hdr, err := r.FormFile("model")
	if errors.Is(err, http.ErrMissingFile) {
		return back, "", invalid("Choose a .glb or .gltf file to upload.")
	}
	if err != nil {
		return back, "", invalid("The upload could not be read: %v", err)
	}
	defer f.Close()
	max := h.siteModelMax()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return back, "", invalid("The upload could not be read: %v", err)
	}
	if _, err := dtbase.ValidateSiteModel(data, max); err != nil {
		return back, "", err
	}
	m := &dtbase.SiteModel{Schema: name, Data: data}
	if err := h.store.PutSiteModel(r.Context(), m); err != nil {
		return back, "", err
	}
	return back, "Site model " + hdr.Filename + " stored as version " + strconv.FormatInt(m.Version, 10) + ".", nil
}

func (h *Handler) saveSitePlacement(r *http.Request, s *session) (string, string, error) {
	name := r.PostFormValue("schema")
	back := siteURL(name)
	num := func(field string) (float64, error) {
		t := strings.TrimSpace(r.PostFormValue(field))
		if t == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return 0, invalid("%s: %q is not a number.", field, t)
		}
		return f, nil
	}
	p := dtbase.SitePlacement{X: r.PostFormValue("x"), Y: r.PostFormValue("y"), Z: r.PostFormValue("z"), Unit: r.PostFormValue("unit")}
	var err error
	for i, f := range []string{"offset_x", "offset_y", "offset_z"} {
		if p.Offset[i], err = num(f); err != nil {
			return back, "", err
		}
	}
	if p.Rotation, err = num("rotation"); err != nil {
		return back, "", err
	}
	if p.Scale, err = num("scale"); err != nil {
		return back, "", err
	}
	if err := h.store.SetSitePlacement(r.Context(), name, p); err != nil {
		return back, "", err
	}
	return back, "Placement saved.", nil
}

// placeLocation sets the placement coordinates of a location, typically
// from a point picked on the model.
func (h *Handler) placeLocation(r *http.Request, s *session) (string, string, error) {
	name := r.PostFormValue("schema")
	back := siteURL(name)
	nl, err := h.updateLocation(r, name)
	if err != nil {
		return back, "", err
	}
	return back, "Location placed at " + coordsText(nl) + ".", nil
}

// addSiteAlerts lists the firing alerts of the sensors placed on the site.
func (h *Handler) addSiteAlerts(ctx context.Context, st *siteState) error {
	placed := map[string]bool{}
	for _, s := range st.Sensors {
		placed[s.ID] = true
	}
	firing := dtbase.AlertFiring
	alerts, err := h.store.ListAlerts(ctx, dtbase.AlertFilter{State: &firing, Limit: 10000})
	if err != nil {
		return err
	}
	for _, a := range alerts {
		if placed[a.Sensor] {
			st.Alerts = append(st.Alerts, siteAlert{Sensor: a.Sensor, Name: a.RuleName})
		}
	}
	return nil
}
