package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

// seedSensors creates, on top of seedLocations, the sensor types "thermo"
// (temperature in K, humidity without units) and "switch" (on, boolean),
// and the sensors s1 (thermo, named) and s2 (switch).
func seedSensors(e *testEnv) {
	e.t.Helper()
	seedLocations(e)
	// The frontend's extra is_existing key is ignored.
	e.must(201, "/sensor/insert-sensor-type", `{"name":"thermo","description":"T and RH","measures":[`+
		`{"name":"temperature","units":"K","datatype":"float","is_existing":false},`+
		`{"name":"humidity","units":null,"datatype":"float","is_existing":false}]}`)
	e.must(201, "/sensor/insert-sensor-type", `{"name":"switch","measures":[{"name":"on","units":null,"datatype":"boolean"}]}`)
	e.must(201, "/sensor/insert-sensor", `{"type_name":"thermo","unique_identifier":"s1","name":"Sensor one","notes":"by the door"}`)
	e.must(201, "/sensor/insert-sensor", `{"type_name":"switch","unique_identifier":"s2"}`)
}

func TestSensorAPIWire(t *testing.T) {
	e := newEnv(t)
	seedSensors(e)

	// A new type reusing a null-units measure and a measure with units,
	// plus a new one (B5, B7).
	exactBody(t, e.post("/sensor/insert-sensor-type", `{"name":"combo","description":null,"measures":[`+
		`{"name":"humidity","units":null,"datatype":"float","is_existing":true},`+
		`{"name":"co2","units":"ppm","datatype":"integer"},`+
		`{"name":"temperature","units":"K","datatype":"float","is_existing":true}]}`), `{"detail":"Sensor type inserted"}`)
	exactBody(t, e.get("/sensor/list-sensor-types"),
		`[{"name":"thermo","description":"T and RH","measures":[{"name":"temperature","units":"K","datatype":"float"},{"name":"humidity","units":null,"datatype":"float"}]},`+
			`{"name":"switch","description":null,"measures":[{"name":"on","units":null,"datatype":"boolean"}]},`+
			`{"name":"combo","description":null,"measures":[{"name":"humidity","units":null,"datatype":"float"},{"name":"co2","units":"ppm","datatype":"integer"},{"name":"temperature","units":"K","datatype":"float"}]}]`)
	exactBody(t, e.get("/sensor/list-measures"),
		`[{"name":"temperature","units":"K","datatype":"float"},{"name":"humidity","units":null,"datatype":"float"},{"name":"on","units":null,"datatype":"boolean"},{"name":"co2","units":"ppm","datatype":"integer"}]`)

	exactBody(t, e.post("/sensor/list-sensors", `{}`),
		`[{"unique_identifier":"s1","name":"Sensor one","notes":"by the door"},{"unique_identifier":"s2","name":null,"notes":null}]`)
	exactBody(t, e.post("/sensor/list-sensors", `{"type_name":"switch"}`), `[{"unique_identifier":"s2","name":null,"notes":null}]`)
	exactBody(t, e.post("/sensor/list-sensors", `{"type_name":null}`),
		`[{"unique_identifier":"s1","name":"Sensor one","notes":"by the door"},{"unique_identifier":"s2","name":null,"notes":null}]`)
	exactBody(t, e.post("/sensor/list-sensors", `{"type_name":"nope"}`), `[]`)
	wantAnswer(t, e.do(http.MethodPost, "/sensor/list-sensors", nil, e.token), 422, "")
	if r := e.do(http.MethodPost, "/sensor/list-sensors", nil, e.token); !strings.Contains(string(r.Body), `"type":"missing","loc":["body"]`) {
		t.Errorf("empty body: %s", r.Body)
	}

	// Placements: newest first, the location's keys, then the time.
	exactBody(t, e.post("/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"x":1,"y":2.5,"z":0},"installation_datetime":"2024-01-01T00:00:00"}`),
		`{"detail":"Sensor location inserted"}`)
	e.must(201, "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"rooms","coordinates":{"room":"lab"},"installation_datetime":"2024-02-01T10:30:00.5+01:00"}`)
	exactBody(t, e.post("/sensor/list-sensor-locations", `{"unique_identifier":"s1"}`),
		`[{"id":2,"floor":-1,"open":true,"room":"lab","installation_datetime":"2024-02-01T09:30:00.500000Z"},`+
			`{"id":1,"x":1.0,"y":2.5,"z":0.0,"installation_datetime":"2024-01-01T00:00:00Z"}]`)
	exactBody(t, e.post("/sensor/list-sensor-locations", `{"unique_identifier":"nope"}`), `[]`)
	exactBody(t, e.post("/sensor/list-sensor-locations", `{"unique_identifier":"s2"}`), `[]`)
	// The default installation time is now.
	before := time.Now().UTC().Add(-time.Second)
	e.must(201, "/sensor/insert-sensor-location", `{"unique_identifier":"s2","schema_name":"xyz","coordinates":{"x":1,"y":2.5,"z":0}}`)
	var hist []map[string]any
	e.post("/sensor/list-sensor-locations", `{"unique_identifier":"s2"}`).JSON(t, &hist)
	if len(hist) != 1 {
		t.Fatalf("history %v", hist)
	}
	at, ok := dtbase.ParseTime(hist[0]["installation_datetime"].(string))
	if !ok || at.Before(before) || at.After(time.Now().UTC().Add(time.Second)) {
		t.Errorf("default installation_datetime %v, want about now", hist[0]["installation_datetime"])
	}

	// Our extensions.
	exactBody(t, e.post("/sensor/get-sensor", `{"unique_identifier":"s1"}`), `{"unique_identifier":"s1","name":"Sensor one","notes":"by the door",`+
		`"time_created":"`+timeCreated(t, e, "s1")+`",`+
		`"type":{"name":"thermo","description":"T and RH","measures":[{"name":"temperature","units":"K","datatype":"float"},{"name":"humidity","units":null,"datatype":"float"}]},`+
		`"current_location":{"location":{"id":2,"schema_name":"rooms","coordinates":{"floor":-1,"open":true,"room":"lab"}},"installation_datetime":"2024-02-01T09:30:00.500000Z"},`+
		`"location_history":[{"location":{"id":2,"schema_name":"rooms","coordinates":{"floor":-1,"open":true,"room":"lab"}},"installation_datetime":"2024-02-01T09:30:00.500000Z"},`+
		`{"location":{"id":1,"schema_name":"xyz","coordinates":{"x":1.0,"y":2.5,"z":0.0}},"installation_datetime":"2024-01-01T00:00:00Z"}]}`)
	wantAnswer(t, e.post("/sensor/get-sensor", `{"unique_identifier":"nope"}`), 400, "Sensor 'nope' does not exist")
	e.must(201, "/sensor/insert-sensor", `{"type_name":"switch","unique_identifier":"s3"}`)
	r := e.post("/sensor/list-sensors-details", `{"type_name":"switch"}`)
	var details []struct {
		UniqueIdentifier string          `json:"unique_identifier"`
		TypeName         string          `json:"type_name"`
		CurrentLocation  *map[string]any `json:"current_location"`
	}
	r.JSON(t, &details)
	if len(details) != 2 || details[0].UniqueIdentifier != "s2" || details[0].TypeName != "switch" || details[0].CurrentLocation == nil || details[1].CurrentLocation != nil {
		t.Errorf("list-sensors-details: %s", r.Body)
	}
	if !strings.Contains(string(r.Body), `"current_location":{"location":{"id":1,"schema_name":"xyz","coordinates":{"x":1.0,"y":2.5,"z":0.0}},"installation_datetime":`) {
		t.Errorf("list-sensors-details shape: %s", r.Body)
	}

	// Edit, delete.
	exactBody(t, e.post("/sensor/edit-sensor", `{"unique_identifier":"s2","name":"Two","notes":""}`), `{"detail":"Sensor edited"}`)
	exactBody(t, e.post("/sensor/list-sensors", `{"type_name":"switch"}`), `[{"unique_identifier":"s2","name":"Two","notes":""},{"unique_identifier":"s3","name":null,"notes":null}]`)
	exactBody(t, e.post("/sensor/delete-sensor", `{"unique_identifier":"s3"}`), `{"detail":"Sensor deleted"}`)
	exactBody(t, e.post("/sensor/delete-sensor", `{"unique_identifier":"s1"}`), `{"detail":"Sensor deleted"}`)
	exactBody(t, e.post("/sensor/list-sensor-locations", `{"unique_identifier":"s1"}`), `[]`)
	exactBody(t, e.post("/sensor/delete-sensor-type", `{"type_name":"thermo"}`), `{"detail":"Sensor type deleted"}`)
	if r := e.get("/sensor/list-measures"); !strings.Contains(string(r.Body), `"temperature"`) {
		t.Errorf("measures must outlive their type: %s", r.Body)
	}
	// Its placement gone, the location can go too.
	e.must(200, "/location/delete-location", `{"schema_name":"rooms","coordinates":{"room":"lab","floor":-1,"open":true}}`)

	// Roles.
	viewer := e.as(dtbase.RoleViewer)
	if r := e.do(http.MethodPost, "/sensor/list-sensors", `{}`, viewer); r.Status != 200 {
		t.Errorf("viewer list-sensors: %d", r.Status)
	}
	if r := e.do(http.MethodPost, "/sensor/delete-sensor", `{"unique_identifier":"s2"}`, viewer); r.Status != 403 {
		t.Errorf("viewer delete-sensor: %d, want 403", r.Status)
	}
	if r := e.do(http.MethodPost, "/sensor/edit-sensor", `{"unique_identifier":"s2","name":"x","notes":"y"}`, e.as(dtbase.RoleEditor)); r.Status != 200 {
		t.Errorf("editor edit-sensor: %d, want 200", r.Status)
	}
	if r := e.do(http.MethodGet, "/sensor/list-sensor-types", nil, ""); r.Status != 401 {
		t.Errorf("no token: %d, want 401", r.Status)
	}
}

// timeCreated reads a sensor's creation time from the store, in the wire
// format.
func timeCreated(t *testing.T, e *testEnv, uid string) string {
	t.Helper()
	d, err := e.db.FindSensorDetails(t.Context(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return dtbase.FormatTime(d.Created)
}

func TestSensorAPIErrors(t *testing.T) {
	e := newEnv(t)
	seedSensors(e)
	e.must(201, "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"x":1},"installation_datetime":"2024-01-01T00:00:00Z"}`)
	e.must(201, "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":1,"y":9,"z":9}}`)
	// A model run that refers to s2.
	s2 := "s2"
	if err := e.db.CreateModelRuns(t.Context(), []*dtbase.NewModelRun{{ModelName: "m", CreateModel: true, CreateScenario: true,
		SensorUniqueID: &s2}}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("n", 101)

	for _, tc := range []struct {
		name, path, body string
		status           int
		detail           string
	}{
		// insert-sensor-type
		{"type exists", "/sensor/insert-sensor-type", `{"name":"thermo","measures":[]}`, 409, "Sensor type exists already"},
		{"type bad datatype", "/sensor/insert-sensor-type", `{"name":"n","measures":[{"name":"m","units":null,"datatype":"real"}]}`, 400, "Unknown datatype 'real' for measure 'm' (measures[0])"},
		{"type measure twice", "/sensor/insert-sensor-type", `{"name":"n","measures":[{"name":"m","units":null,"datatype":"float"},{"name":"m","units":null,"datatype":"float"}]}`, 409, "Measure 'm' with no units is listed twice (measures[1])"},
		{"type existing measure twice", "/sensor/insert-sensor-type", `{"name":"n","measures":[{"name":"temperature","units":"K","datatype":"float"},{"name":"temperature","units":"K","datatype":"float"}]}`, 409, "listed twice"},
		{"type name too long", "/sensor/insert-sensor-type", `{"name":"` + long + `","measures":[]}`, 422, "string_too_long"},
		{"measure name too long", "/sensor/insert-sensor-type", `{"name":"n","measures":[{"name":"` + long + `","units":null,"datatype":"float"}]}`, 422, `"loc":["body","measures",0,"name"]`},
		{"measure units too long", "/sensor/insert-sensor-type", `{"name":"n","measures":[{"name":"m","units":"` + long + `","datatype":"float"}]}`, 422, `"loc":["body","measures",0,"units"]`},
		{"measure units missing", "/sensor/insert-sensor-type", `{"name":"n","measures":[{"name":"m","datatype":"float"}]}`, 422, "missing"},
		{"measures missing", "/sensor/insert-sensor-type", `{"name":"n"}`, 422, "missing"},
		// insert-sensor
		{"sensor exists", "/sensor/insert-sensor", `{"type_name":"switch","unique_identifier":"s1"}`, 409, "Sensor exists already"},
		{"sensor unknown type", "/sensor/insert-sensor", `{"type_name":"nope","unique_identifier":"s9"}`, 400, "Sensor type 'nope' does not exist"},
		{"sensor id too long", "/sensor/insert-sensor", `{"type_name":"switch","unique_identifier":"` + long + `"}`, 422, "string_too_long"},
		{"sensor name too long", "/sensor/insert-sensor", `{"type_name":"switch","unique_identifier":"s9","name":"` + long + `"}`, 422, "string_too_long"},
		{"sensor name number", "/sensor/insert-sensor", `{"type_name":"switch","unique_identifier":"s9","name":5}`, 422, "string_type"},
		// insert-sensor-location
		{"placement unknown sensor", "/sensor/insert-sensor-location", `{"unique_identifier":"nope","schema_name":"xyz","coordinates":{"x":1,"y":2.5,"z":0}}`, 400, "Sensor 'nope' does not exist"},
		{"placement unknown schema", "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"nope","coordinates":{}}`, 400, "Location schema 'nope' does not exist"},
		{"placement no match", "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"x":5}}`, 400, "No location of schema 'xyz' has these coordinates"},
		{"placement ambiguous", "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"x":1}}`, 400, "match 2 locations"},
		{"placement unknown key", "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"w":1}}`, 400, "unknown 'w'"},
		{"placement wrong type", "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"x":true}}`, 400, "Coordinate 'x'"},
		{"placement same instant", "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"y":9},"installation_datetime":"2024-01-01T00:00:00+00:00"}`, 409, "Sensor location exists already"},
		{"placement bad time", "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"y":9},"installation_datetime":"yesterday"}`, 422, "datetime_parsing"},
		{"placement null time", "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"y":9},"installation_datetime":null}`, 422, "datetime"},
		// list-sensors
		{"list sensors array", "/sensor/list-sensors", `[]`, 422, "model_attributes_type"},
		{"list sensors type number", "/sensor/list-sensors", `{"type_name":1}`, 422, "string_type"},
		// delete-sensor
		{"delete unknown sensor", "/sensor/delete-sensor", `{"unique_identifier":"nope"}`, 400, "Sensor 'nope' does not exist"},
		{"delete sensor with model run", "/sensor/delete-sensor", `{"unique_identifier":"s2"}`, 409, "referenced by 1 model run(s)"},
		// delete-sensor-type
		{"delete unknown type", "/sensor/delete-sensor-type", `{"type_name":"nope"}`, 400, "Sensor type 'nope' does not exist"},
		{"delete type with sensors", "/sensor/delete-sensor-type", `{"type_name":"thermo"}`, 409, "Sensor type 'thermo' has 1 sensor(s)"},
		// edit-sensor
		{"edit unknown", "/sensor/edit-sensor", `{"unique_identifier":"nope","name":"a","notes":"b"}`, 400, "Sensor does not exist"},
		{"edit null name", "/sensor/edit-sensor", `{"unique_identifier":"s1","name":null,"notes":"b"}`, 422, "string_type"},
		{"edit notes missing", "/sensor/edit-sensor", `{"unique_identifier":"s1","name":"a"}`, 422, "missing"},
		{"edit name too long", "/sensor/edit-sensor", `{"unique_identifier":"s1","name":"` + long + `","notes":"b"}`, 422, "string_too_long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(tc.path, tc.body)
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.detail) {
				t.Errorf("got %d %s, want %d with %q", r.Status, r.Body, tc.status, tc.detail)
			}
		})
	}
	// Nothing of the failures was written.
	exactBody(t, e.get("/sensor/list-measures"),
		`[{"name":"temperature","units":"K","datatype":"float"},{"name":"humidity","units":null,"datatype":"float"},{"name":"on","units":null,"datatype":"boolean"}]`)
	exactBody(t, e.post("/sensor/list-sensors", `{}`),
		`[{"unique_identifier":"s1","name":"Sensor one","notes":"by the door"},{"unique_identifier":"s2","name":null,"notes":null}]`)
	if r := e.post("/sensor/list-sensor-locations", `{"unique_identifier":"s1"}`); strings.Count(string(r.Body), `"id"`) != 1 {
		t.Errorf("s1 placements: %s", r.Body)
	}
}

// locationSensorBodies holds a valid body for every location and sensor
// endpoint that takes one, valid on the database seedSensors builds.
var locationSensorBodies = map[string]string{
	"/location/insert-location-schema":     `{"name":"new","description":"d","identifiers":[{"name":"q","units":"m","datatype":"float"}]}`,
	"/location/insert-location":            `{"identifiers":[{"name":"a","units":null,"datatype":"integer"}],"values":[1]}`,
	"/location/insert-location-for-schema": `{"schema_name":"xyz","coordinates":{"x":5,"y":5,"z":5}}`,
	"/location/list-locations":             `{"schema_name":"xyz","coordinates":{"x":1}}`,
	"/location/get-schema-details":         `{"schema_name":"xyz"}`,
	"/location/delete-location-schema":     `{"schema_name":"rooms"}`,
	"/location/delete-location":            `{"schema_name":"xyz","coordinates":{"x":1,"y":2.5,"z":0}}`,
	"/location/edit-location":              `{"schema_name":"xyz","coordinates":{"x":1,"y":2.5,"z":0},"new_coordinates":{"x":2}}`,
	"/sensor/insert-sensor-type":           `{"name":"nt","description":null,"measures":[{"name":"m","units":null,"datatype":"float","is_existing":false}]}`,
	"/sensor/insert-sensor":                `{"type_name":"thermo","unique_identifier":"s9","name":"n","notes":"x"}`,
	"/sensor/insert-sensor-location":       `{"unique_identifier":"s1","schema_name":"xyz","coordinates":{"x":1},"installation_datetime":"2024-01-01T00:00:00"}`,
	"/sensor/list-sensor-locations":        `{"unique_identifier":"s1"}`,
	"/sensor/list-sensors":                 `{"type_name":"thermo"}`,
	"/sensor/delete-sensor":                `{"unique_identifier":"s2"}`,
	"/sensor/delete-sensor-type":           `{"type_name":"switch"}`,
	"/sensor/edit-sensor":                  `{"unique_identifier":"s1","name":"a","notes":"b"}`,
	"/sensor/get-sensor":                   `{"unique_identifier":"s1"}`,
	"/sensor/list-sensors-details":         `{"type_name":"thermo"}`,
}

// junkValues replace one element of a valid body at a time.
var junkValues = map[string]any{
	"null": nil, "zero": 0, "negative": -1, "float": 1.5, "huge float": json.Number("1e400"),
	"int64 overflow": json.Number("-9223372036854775809"), "int32 overflow": json.Number("2147483648"),
	"true": true, "empty string": "", "string": "s", "101 chars": strings.Repeat("x", 101),
	"10k chars": strings.Repeat("é", 10_000), "empty list": []any{}, "empty object": map[string]any{},
	"mixed list": []any{nil, 1, "a", 2.5, false, []any{}}, "object": map[string]any{"name": 1, "units": []any{}},
}

// bodyMutations returns variants of a JSON value with one element, at any
// depth, removed or replaced by a junk value, keyed by a description.
func bodyMutations(v any, path string, out map[string]any, rebuild func(any) any) {
	for label, junk := range junkValues {
		out[path+" = "+label] = rebuild(junk)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			out[path+"."+k+" missing"] = rebuild(withoutKey(x, k))
			bodyMutations(child, path+"."+k, out, func(nv any) any {
				m := withoutKey(x, k)
				m[k] = nv
				return rebuild(m)
			})
		}
		m := withoutKey(x, "")
		m["unknown_field"] = []any{map[string]any{"deep": true}}
		out[path+" with an unknown field"] = rebuild(m)
	case []any:
		for i, child := range x {
			bodyMutations(child, fmt.Sprintf("%s[%d]", path, i), out, func(nv any) any {
				l := append([]any(nil), x...)
				l[i] = nv
				return rebuild(l)
			})
		}
		out[path+" doubled"] = rebuild(append(append([]any(nil), x...), x...))
	}
}

func withoutKey(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// TestLocationSensorBadInput sends malformed JSON, bodies of the wrong
// shape, and every valid body with one element at any depth missing or
// replaced by junk, to every location and sensor endpoint on a populated
// database: no answer may be a 500, and every error is JSON with a detail.
func TestLocationSensorBadInput(t *testing.T) {
	e := newEnv(t)
	seedSensors(e)
	e.must(201, "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"rooms","coordinates":{"room":"lab"},"installation_datetime":"2023-01-01T00:00:00"}`)
	check := func(t *testing.T, r response, mustFail bool) {
		t.Helper()
		if r.Status >= 500 || (mustFail && r.Status < 400) {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("content type %q", ct)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber() // an echoed input may be 1e400
		if err := dec.Decode(&v); err != nil || dec.More() {
			t.Fatalf("answer is not JSON: %s", r.Body)
		}
		if obj, ok := v.(map[string]any); r.Status >= 400 && (!ok || obj["detail"] == nil) {
			t.Fatalf("status %d without a detail: %s", r.Status, r.Body)
		}
	}
	raw := map[string]string{
		"invalid JSON": `{"schema_name": `, "NaN": `{"coordinates":{"x":NaN}}`, "Infinity": `{"values":[Infinity]}`,
		"trailing garbage": `{} x`, "empty": ``, "null": `null`, "array": `[]`, "string": `"x"`, "number": `1`,
		"deep nesting": strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000),
		"unicode junk": "{\"schema_name\":\"\xff\xfe\"}",
	}
	paths := make([]string, 0, len(locationSensorBodies))
	for p := range locationSensorBodies {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	requests := 0
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			for name, body := range raw {
				r := e.post(path, body)
				requests++
				// Invalid UTF-8 in a string is replaced, as Python's
				// decoder does with surrogates; the rest is malformed.
				t.Run(name, func(t *testing.T) { check(t, r, name != "unicode junk") })
			}
			var valid any
			dec := json.NewDecoder(strings.NewReader(locationSensorBodies[path]))
			dec.UseNumber()
			if err := dec.Decode(&valid); err != nil {
				t.Fatal(err)
			}
			variants := map[string]any{}
			bodyMutations(valid, "body", variants, func(v any) any { return v })
			for name, body := range variants {
				r := e.post(path, body)
				requests++
				t.Run(name, func(t *testing.T) { check(t, r, false) })
			}
			// No token, and a viewer on writes.
			r := e.do(http.MethodPost, path, locationSensorBodies[path], "")
			t.Run("no token", func(t *testing.T) { check(t, r, true) })
			read := strings.Contains(path, "/list-") || strings.Contains(path, "/get-")
			r = e.do(http.MethodPost, path, locationSensorBodies[path], e.as(dtbase.RoleViewer))
			if (r.Status == http.StatusForbidden) == read {
				t.Errorf("viewer: status %d %s", r.Status, r.Body)
			}
		})
	}
	t.Logf("%d requests", requests)

	// A body over the limit is a JSON 413.
	small := newEnv(t, func(c *Config) { c.MaxBodyBytes = 4096 })
	for _, path := range paths {
		r := small.post(path, `{"schema_name":"`+strings.Repeat("x", 10_000)+`"}`)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s with a 10 kB body: %d %s, want 413", path, r.Status, r.Body)
		}
		check(t, r, true)
	}
}
