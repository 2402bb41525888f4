package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

type sensorsData struct {
	Types   []dtbase.SensorType
	Counts  map[string]int
	Type    string
	Q       string
	Sensors []dtbase.Sensor
	Total   int
	// Kept holds the days the readings of each type with a setting of its
	// own are kept ("0": for ever); the others follow the server's default.
	Kept map[string]string
}

// sensorsPage lists sensors by type with a text search over identifier,
// name and notes.
func (h *Handler) sensorsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	types, err := h.store.ListSensorTypes(ctx)
	if err != nil {
		return err
	}
	all, err := h.store.FindSensors(ctx, dtbase.SensorFilter{WithLocation: true})
	if err != nil {
		return err
	}
	kept, err := h.store.ListSensorTypeRetentions(ctx)
	if err != nil {
		return err
	}
	d := &sensorsData{Types: types, Counts: map[string]int{}, Type: r.URL.Query().Get("type"), Q: strings.TrimSpace(r.URL.Query().Get("q")), Total: len(all),
		Kept: map[string]string{}}
	for _, k := range kept {
		d.Kept[k.SensorType] = strconv.Itoa(k.Days)
	}
	q := strings.ToLower(d.Q)
	for _, x := range all {
		d.Counts[x.TypeName]++
		if d.Type != "" && x.TypeName != d.Type {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(x.UniqueIdentifier+"\x00"+derefString(x.Name)+"\x00"+derefString(x.Notes)), q) {
			continue
		}
		d.Sensors = append(d.Sensors, x)
	}
	h.render(w, r, http.StatusOK, "sensors.html", &view{Title: "Sensors", Nav: "sensors", Session: s, Data: d})
	return nil
}

type newSensorTypeData struct {
	Measures  []dtbase.Measure
	Datatypes []dtbase.Datatype
	TypeNames []string
}

func (h *Handler) newSensorTypePage(w http.ResponseWriter, r *http.Request, s *session) error {
	measures, err := h.store.ListMeasures(r.Context())
	if err != nil {
		return err
	}
	types, err := h.store.ListSensorTypes(r.Context())
	if err != nil {
		return err
	}
	d := &newSensorTypeData{Measures: measures, Datatypes: dtbase.Datatypes}
	for _, t := range types {
		d.TypeNames = append(d.TypeNames, t.Name)
	}
	h.render(w, r, http.StatusOK, "sensor_type_new.html", &view{Title: "Add a sensor type", Nav: "sensors", Session: s, Data: d})
	return nil
}

// createSensorType creates a type from existing measures (checked by id)
// and new ones (rows of name, units and datatype).
func (h *Handler) createSensorType(r *http.Request, s *session) (string, string, error) {
	ctx := r.Context()
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		return "", "", invalid("The sensor type needs a name.")
	}
	t := &dtbase.SensorType{Name: name, Description: strPtr(r.PostFormValue("description"))}
	var err error
	if t.Measures, err = formFields(r, "measure", h.store.ListMeasures); err != nil {
		return "", "", err
	}
	if len(t.Measures) == 0 {
		return "", "", invalid("Choose or add at least one measure.")
	}
	if err := h.store.CreateSensorType(ctx, t); err != nil {
		return "", "", err
	}
	return "/sensors?type=" + url.QueryEscape(name), "Sensor type " + name + " created with " + strconv.Itoa(len(t.Measures)) + " measures.", nil
}

// formFields reads the named, typed fields of a new sensor type (measures)
// or location schema (identifiers) from its form: existing ones chosen by
// id under key, checked against list, and new rows of new_name, new_units
// and new_datatype. Messages call them by key.
func formFields(r *http.Request, key string, list func(context.Context) ([]dtbase.Measure, error)) ([]dtbase.Measure, error) {
	noun := strings.ToUpper(key[:1]) + key[1:]
	var out []dtbase.Measure
	if ids := r.PostForm[key]; len(ids) > 0 {
		existing, err := list(r.Context())
		if err != nil {
			return nil, err
		}
		byID := map[string]dtbase.Measure{}
		for _, m := range existing {
			byID[strconv.FormatInt(m.ID, 10)] = m
		}
		for _, id := range ids {
			m, ok := byID[id]
			if !ok {
				return nil, invalid("%s %s no longer exists; reload the page.", noun, id)
			}
			out = append(out, dtbase.Measure{Name: m.Name, Units: m.Units, Datatype: m.Datatype})
		}
	}
	names, units, types := r.PostForm["new_name"], r.PostForm["new_units"], r.PostForm["new_datatype"]
	for i, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		m := dtbase.Measure{Name: n, Datatype: dtbase.Float}
		if i < len(units) {
			m.Units = strPtr(units[i])
		}
		if i < len(types) {
			m.Datatype = dtbase.Datatype(types[i])
		}
		// Checked before any message quotes the name.
		if err := m.Validate(); err != nil {
			return nil, invalid("New %s %d: %s", key, i+1, dtbase.ErrorMessage(err))
		}
		if !m.Datatype.Valid() {
			return nil, invalid("%s %q: unknown datatype %q.", noun, n, string(m.Datatype))
		}
		out = append(out, m)
	}
	return out, nil
}

func (h *Handler) deleteSensorType(r *http.Request, s *session) (string, string, error) {
	return deleteNamed(r, h.store.DeleteSensorType, "/sensors", "Sensor type %s deleted.", "Sensor type %s still has sensors; delete them first.")
}

// setSensorTypeRetention sets how many days a type's readings are kept;
// an empty field returns the type to the server's default.
func (h *Handler) setSensorTypeRetention(r *http.Request, s *session) (string, string, error) {
	name := r.PostFormValue("name")
	var days *int
	if v := strings.TrimSpace(r.PostFormValue("retention_days")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > dtbase.MaxRetentionDays {
			return "/sensors", "", invalid("Days kept must be a whole number between 0 and %d (0: for ever), or empty for the server's default.", dtbase.MaxRetentionDays)
		}
		days = &n
	}
	if err := h.store.SetSensorTypeRetention(r.Context(), name, days); err != nil {
		return "/sensors", "", err
	}
	return "/sensors", "Retention of sensor type " + name + " set.", nil
}

type newSensorData struct {
	Types []dtbase.SensorType
	Type  string
}

func (h *Handler) newSensorPage(w http.ResponseWriter, r *http.Request, s *session) error {
	types, err := h.store.ListSensorTypes(r.Context())
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "sensor_new.html", &view{Title: "Add a sensor", Nav: "sensors", Session: s,
		Data: &newSensorData{Types: types, Type: r.URL.Query().Get("type")}})
	return nil
}

func (h *Handler) createSensor(r *http.Request, s *session) (string, string, error) {
	uid := strings.TrimSpace(r.PostFormValue("unique_identifier"))
	if uid == "" {
		return "", "", invalid("The sensor needs a unique identifier.")
	}
	x := &dtbase.Sensor{UniqueIdentifier: uid, TypeName: r.PostFormValue("type"),
		Name: strPtr(r.PostFormValue("name")), Notes: strPtr(r.PostFormValue("notes"))}
	if err := h.store.CreateSensor(r.Context(), x); err != nil {
		return "", "", err
	}
	return sensorURL(uid), "Sensor " + uid + " created.", nil
}

func sensorURL(uid string) string { return "/sensors/view?id=" + url.QueryEscape(uid) }

type sensorPageData struct {
	Sensor *dtbase.SensorDetails
	Latest []latestRow
	Places []placeOption
	Now    time.Time
	Chart  *chartConfig
	CSV    string
	Ingest *ingestExamples // for a sensor without readings
}

// ingestExamples show how readings of a sensor get in other than from the
// browser, ready to copy.
type ingestExamples struct {
	Curl, CLI, MQTT string
}

func newIngestExamples(r *http.Request, det *dtbase.SensorDetails, now time.Time) *ingestExamples {
	scheme := "http"
	if secure(r) {
		scheme = "https"
	}
	origin := scheme + "://" + r.Host
	measure := "temperature"
	for _, m := range det.Type.Measures {
		if m.Datatype != dtbase.String {
			measure = m.Name
			break
		}
	}
	uid, ts := det.UniqueIdentifier, dtbase.FormatTime(now.Truncate(time.Minute))
	body, _ := toJSON(struct {
		UID        string    `json:"unique_identifier"`
		Measure    string    `json:"measure_name"`
		Readings   []float64 `json:"readings"`
		Timestamps []string  `json:"timestamps"`
	}{uid, measure, []float64{21.5}, []string{ts}})
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	csvField := func(s string) string {
		if strings.ContainsAny(s, ",\"\n") {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		return s
	}
	payload, _ := toJSON(map[string]any{"value": 21.5, "timestamp": ts})
	return &ingestExamples{
		Curl: "curl -X POST " + origin + "/sensor/insert-sensor-readings \\\n" +
			"  -H \"Authorization: Bearer $DT_API_KEY\" -H \"Content-Type: application/json\" \\\n" +
			"  -d " + quote(strings.TrimSpace(body)),
		CLI: "cat > readings.csv <<'EOF'\nunique_identifier,measure_name,timestamp,value\n" +
			csvField(uid) + "," + csvField(measure) + "," + ts + ",21.5\nEOF\n" +
			"dtbase import readings --url " + origin + " readings.csv",
		MQTT: "mosquitto_pub -h BROKER -q 1 -t " + quote("dtbase/"+uid+"/"+measure) + " \\\n  -m " + quote(strings.TrimSpace(payload)),
	}
}

// placeOption is a location a sensor can be placed at, in the placement
// form's select.
type placeOption struct {
	Schema string
	Value  string // "<location id>@<schema>"
	Label  string
}

func (h *Handler) sensorPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	uid := r.URL.Query().Get("id")
	det, err := h.store.FindSensorDetails(ctx, uid)
	if err != nil {
		return err
	}
	d := &sensorPageData{Sensor: det, Now: h.now()}
	if d.Latest, err = h.latestForSensor(r, det); err != nil {
		return err
	}
	if d.Chart, d.CSV, err = h.sensorChart(ctx, det, d.Latest); err != nil {
		return err
	}
	if len(d.Latest) == 0 {
		d.Ingest = newIngestExamples(r, det, d.Now)
	}
	if s.User.Role.Allows(dtbase.RoleEditor) {
		schemas, err := h.allLocations(ctx)
		if err != nil {
			return err
		}
		for _, sc := range schemas {
			for _, l := range sc.Locations {
				d.Places = append(d.Places, placeOption{Schema: sc.Name, Value: strconv.FormatInt(l.ID, 10) + "@" + sc.Name, Label: coordsText(&l)})
			}
		}
	}
	scripts := []string{"js/charts.js"}
	if s.User.Role.Allows(dtbase.RoleEditor) {
		scripts = append(scripts, "js/upload.js")
	}
	h.render(w, r, http.StatusOK, "sensor.html", &view{Title: "Sensor " + uid, Nav: "sensors", Session: s, Data: d,
		Scripts: scripts, Styles: []string{"uplot.css"}})
	return nil
}

// coordsText shows a location's coordinates, e.g. "x=1.5, y=2, zone=A".
func coordsText(l *dtbase.Location) string {
	parts := make([]string, len(l.Identifiers))
	for i, id := range l.Identifiers {
		parts[i] = id.Name + "=" + formatValue(l.Values[i])
	}
	return strings.Join(parts, ", ")
}

func (h *Handler) editSensor(r *http.Request, s *session) (string, string, error) {
	uid := r.PostFormValue("id")
	name, notes := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("notes"))
	if err := h.store.UpdateSensor(r.Context(), uid, dtbase.SensorUpdate{Name: &name, Notes: &notes}); err != nil {
		return sensorURL(uid), "", err
	}
	return sensorURL(uid), "Sensor " + uid + " saved.", nil
}

func (h *Handler) deleteSensor(r *http.Request, s *session) (string, string, error) {
	uid := r.PostFormValue("id")
	if err := h.store.DeleteSensor(r.Context(), uid); err != nil {
		return sensorURL(uid), "", onConflict(err, "Sensor %s is referred to by model runs; delete those first.", uid)
	}
	return "/sensors", "Sensor " + uid + " and its readings deleted.", nil
}

// placeSensor records a placement at a location chosen from the list of
// every schema's locations.
func (h *Handler) placeSensor(r *http.Request, s *session) (string, string, error) {
	ctx := r.Context()
	uid := r.PostFormValue("id")
	back := sensorURL(uid)
	idText, schema, ok := strings.Cut(r.PostFormValue("location"), "@")
	if r.PostFormValue("return") == "schema" {
		back = schemaURL(schema)
	}
	locID, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return back, "", invalid("Choose a location.")
	}
	installed, err := parseFormTime(r.PostFormValue("installed"), h.now())
	if err != nil {
		return back, "", err
	}
	l, err := h.findLocation(ctx, schema, locID)
	if err != nil {
		return back, "", err
	}
	if _, err := h.store.CreateSensorPlacement(ctx, uid, schema, l.Coordinates(), installed); err != nil {
		return back, "", err
	}
	return back, "Sensor " + uid + " placed at " + coordsText(l) + " (" + schema + ").", nil
}

// parseFormTime reads a datetime-local input (UTC) or any timestamp the API
// accepts; empty means def.
func parseFormTime(s string, def time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse("2006-01-02T15:04", s); err == nil {
		return t, nil
	}
	if t, ok := dtbase.ParseTime(s); ok {
		return t, nil
	}
	return time.Time{}, invalid("%q is not a date and time.", s)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
