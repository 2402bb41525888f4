package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dtbase/dtbase"
)

// exactBody fails the test unless the body is byte for byte want: key order
// and number forms are part of the wire contract.
func exactBody(t testing.TB, r response, want string) {
	t.Helper()
	if string(r.Body) != want {
		t.Errorf("body\n got  %s\n want %s", r.Body, want)
	}
}

// wantAnswer fails the test unless r has status and a detail containing
// text.
func wantAnswer(t testing.TB, r response, status int, text string) {
	t.Helper()
	if r.Status != status || !strings.Contains(r.Detail(), text) {
		t.Errorf("got %d %s, want %d with detail containing %q", r.Status, r.Body, status, text)
	}
}

// seedLocations creates the schema "xyz" (x, y, z floats in m) and "rooms"
// (room string, floor integer, open boolean) with a location each.
func seedLocations(e *testEnv) {
	e.t.Helper()
	e.must(201, "/location/insert-location-schema", map[string]any{"name": "xyz", "description": "3D",
		"identifiers": []any{
			map[string]any{"name": "z", "units": "m", "datatype": "float"},
			map[string]any{"name": "x", "units": "m", "datatype": "float"},
			map[string]any{"name": "y", "units": "m", "datatype": "float"},
		}})
	e.must(201, "/location/insert-location-schema", map[string]any{"name": "rooms", "description": nil,
		"identifiers": []any{
			map[string]any{"name": "room", "units": nil, "datatype": "string"},
			map[string]any{"name": "floor", "units": nil, "datatype": "integer"},
			map[string]any{"name": "open", "units": nil, "datatype": "boolean"},
		}})
	e.must(201, "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":1,"y":2.5,"z":0.0}}`)
	e.must(201, "/location/insert-location-for-schema", `{"schema_name":"rooms","coordinates":{"room":"lab","floor":-1,"open":true}}`)
}

func TestLocationAPIWire(t *testing.T) {
	e := newEnv(t)
	seedLocations(e)

	exactBody(t, e.post("/location/insert-location-schema", map[string]any{"name": "empty", "description": "none", "identifiers": []any{}}),
		`{"detail":"Location schema inserted"}`)
	exactBody(t, e.get("/location/list-location-schemas"),
		`[{"name":"xyz","description":"3D","identifiers":[{"name":"x","units":"m","datatype":"float"},{"name":"y","units":"m","datatype":"float"},{"name":"z","units":"m","datatype":"float"}]},`+
			`{"name":"rooms","description":null,"identifiers":[{"name":"floor","units":null,"datatype":"integer"},{"name":"open","units":null,"datatype":"boolean"},{"name":"room","units":null,"datatype":"string"}]},`+
			`{"name":"empty","description":"none","identifiers":[]}]`)
	exactBody(t, e.get("/location/list-location-identifiers"),
		`[{"name":"z","units":"m","datatype":"float"},{"name":"x","units":"m","datatype":"float"},{"name":"y","units":"m","datatype":"float"},`+
			`{"name":"room","units":null,"datatype":"string"},{"name":"floor","units":null,"datatype":"integer"},{"name":"open","units":null,"datatype":"boolean"}]`)
	exactBody(t, e.post("/location/get-schema-details", map[string]any{"schema_name": "rooms"}),
		`{"name":"rooms","description":null,"identifiers":[{"name":"floor","units":null,"datatype":"integer"},{"name":"open","units":null,"datatype":"boolean"},{"name":"room","units":null,"datatype":"string"}]}`)

	// Floats stay floats, keys follow the schema's order.
	exactBody(t, e.post("/location/list-locations", map[string]any{"schema_name": "xyz"}), `[{"id":1,"x":1.0,"y":2.5,"z":0.0}]`)
	exactBody(t, e.post("/location/list-locations", map[string]any{"schema_name": "rooms", "coordinates": nil}), `[{"id":2,"floor":-1,"open":true,"room":"lab"}]`)
	e.must(201, "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":1.0,"y":3,"z":1e-7}}`)
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"xyz","coordinates":{"x":1}}`), `[{"id":1,"x":1.0,"y":2.5,"z":0.0},{"id":3,"x":1.0,"y":3.0,"z":1e-07}]`)
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"xyz","coordinates":{"y":3,"z":1e-7}}`), `[{"id":3,"x":1.0,"y":3.0,"z":1e-07}]`)
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"xyz","coordinates":{"y":4}}`), `[]`)
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"nope"}`), `[]`)
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"nope","coordinates":{"q":1}}`), `[]`)
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"empty"}`), `[]`)

	// insert-location names the schema after its sorted identifiers, and
	// reuses it for the next location.
	body := func(vals string) string {
		return `{"identifiers":[{"name":"b","units":null,"datatype":"integer"},{"name":"a","units":"m","datatype":"float"}],"values":` + vals + `}`
	}
	exactBody(t, e.must(201, "/location/insert-location", body(`[1, 2]`)), `{"schema_name":"a-b"}`)
	exactBody(t, e.must(201, "/location/insert-location", body(`[2, 2.5]`)), `{"schema_name":"a-b"}`)
	wantAnswer(t, e.post("/location/insert-location", body(`[1, 2.0]`)), 409, "Location or schema exists already")
	exactBody(t, e.post("/location/get-schema-details", `{"schema_name":"a-b"}`),
		`{"name":"a-b","description":"a-b","identifiers":[{"name":"a","units":"m","datatype":"float"},{"name":"b","units":null,"datatype":"integer"}]}`)
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"a-b"}`), `[{"id":4,"a":2.0,"b":1},{"id":5,"a":2.5,"b":2}]`)

	// Edit, then delete.
	exactBody(t, e.must(200, "/location/edit-location", `{"schema_name":"a-b","coordinates":{"a":2,"b":1},"new_coordinates":{"b":7}}`), `{"detail":"Location edited"}`)
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"a-b","coordinates":{"b":7}}`), `[{"id":4,"a":2.0,"b":7}]`)
	exactBody(t, e.must(200, "/location/delete-location", `{"schema_name":"a-b","coordinates":{"a":2,"b":7}}`), `{"detail":"Location deleted"}`)
	exactBody(t, e.must(200, "/location/delete-location", `{"schema_name":"a-b","coordinates":{"a":2.5,"b":2}}`), `{"detail":"Location deleted"}`)
	exactBody(t, e.must(200, "/location/delete-location-schema", `{"schema_name":"a-b"}`), `{"detail":"Location schema 'a-b' has been deleted."}`)
	// The identifiers stay.
	if r := e.get("/location/list-location-identifiers"); !strings.Contains(string(r.Body), `{"name":"a","units":"m","datatype":"float"}`) {
		t.Errorf("identifier a gone after its schema was deleted: %s", r.Body)
	}

	// Roles: a viewer reads, an editor writes.
	viewer := e.as(dtbase.RoleViewer)
	if r := e.do(http.MethodPost, "/location/list-locations", `{"schema_name":"xyz"}`, viewer); r.Status != 200 {
		t.Errorf("viewer list-locations: %d %s", r.Status, r.Body)
	}
	if r := e.do(http.MethodPost, "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":9,"y":9,"z":9}}`, viewer); r.Status != 403 {
		t.Errorf("viewer insert: %d %s, want 403", r.Status, r.Body)
	}
	if r := e.do(http.MethodPost, "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":9,"y":9,"z":9}}`, e.as(dtbase.RoleEditor)); r.Status != 201 {
		t.Errorf("editor insert: %d %s, want 201", r.Status, r.Body)
	}
}

func TestLocationAPIErrors(t *testing.T) {
	e := newEnv(t)
	seedLocations(e)
	e.must(201, "/sensor/insert-sensor-type", `{"name":"t","measures":[]}`)
	e.must(201, "/sensor/insert-sensor", `{"type_name":"t","unique_identifier":"s1"}`)
	e.must(201, "/sensor/insert-sensor-location", `{"unique_identifier":"s1","schema_name":"rooms","coordinates":{"room":"lab"}}`)
	long := strings.Repeat("n", 101)
	ok100 := strings.Repeat("n", 100)

	for _, tc := range []struct {
		name, path, body string
		status           int
		detail           string
	}{
		// insert-location-schema
		{"schema exists", "/location/insert-location-schema", `{"name":"xyz","description":null,"identifiers":[]}`, 409, "LocationSchema exists already"},
		{"schema identifier twice", "/location/insert-location-schema", `{"name":"n","description":null,"identifiers":[{"name":"a","units":null,"datatype":"float"},{"name":"a","units":null,"datatype":"float"}]}`, 409, "'a' is listed twice"},
		{"schema bad datatype", "/location/insert-location-schema", `{"name":"n","description":null,"identifiers":[{"name":"a","units":null,"datatype":"double"}]}`, 400, "Unknown datatype 'double' for identifier 'a'"},
		{"schema reserved name", "/location/insert-location-schema", `{"name":"n","description":null,"identifiers":[{"name":"id","units":null,"datatype":"integer"}]}`, 400, "may not be called 'id'"},
		{"schema name too long", "/location/insert-location-schema", `{"name":"` + long + `","description":null,"identifiers":[]}`, 422, "at most 100 characters"},
		{"identifier name too long", "/location/insert-location-schema", `{"name":"n","description":null,"identifiers":[{"name":"` + long + `","units":null,"datatype":"float"}]}`, 422, "string_too_long"},
		{"identifier units too long", "/location/insert-location-schema", `{"name":"n","description":null,"identifiers":[{"name":"a","units":"` + long + `","datatype":"float"}]}`, 422, "string_too_long"},
		{"schema units missing", "/location/insert-location-schema", `{"name":"n","description":null,"identifiers":[{"name":"a","datatype":"float"}]}`, 422, "missing"},
		{"schema description missing", "/location/insert-location-schema", `{"name":"n","identifiers":[]}`, 422, "missing"},
		// insert-location-for-schema
		{"unknown schema", "/location/insert-location-for-schema", `{"schema_name":"nope","coordinates":{}}`, 400, "Location schema does not exist"},
		{"location exists", "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":1.0,"y":2.5,"z":0}}`, 409, "Location exists already"},
		{"missing key", "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":1.0,"y":2.5}}`, 400, "missing 'z'"},
		{"unknown key", "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":1.0,"y":2.5,"z":1,"w":2}}`, 400, "unknown 'w'"},
		{"string for float", "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":1.0,"y":"2.5","z":1}}`, 400, "Coordinate 'y' of location schema 'xyz': expected a float value, got a string"},
		{"bool for integer", "/location/insert-location-for-schema", `{"schema_name":"rooms","coordinates":{"room":"a","floor":true,"open":true}}`, 400, "Coordinate 'floor'"},
		{"float for integer", "/location/insert-location-for-schema", `{"schema_name":"rooms","coordinates":{"room":"a","floor":1.0,"open":true}}`, 400, "Coordinate 'floor'"},
		{"integer overflow", "/location/insert-location-for-schema", `{"schema_name":"rooms","coordinates":{"room":"a","floor":2147483648,"open":true}}`, 400, "32-bit"},
		{"int for bool", "/location/insert-location-for-schema", `{"schema_name":"rooms","coordinates":{"room":"a","floor":1,"open":1}}`, 400, "Coordinate 'open'"},
		{"int for string", "/location/insert-location-for-schema", `{"schema_name":"rooms","coordinates":{"room":1,"floor":1,"open":false}}`, 400, "Coordinate 'room'"},
		{"null coordinate", "/location/insert-location-for-schema", `{"schema_name":"rooms","coordinates":{"room":null,"floor":1,"open":false}}`, 422, `"loc":["body","coordinates","room"]`},
		{"list coordinate", "/location/insert-location-for-schema", `{"schema_name":"rooms","coordinates":{"room":[1],"floor":1,"open":false}}`, 422, "value_type"},
		{"huge float", "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":1e400,"y":1,"z":1}}`, 422, "not finite"},
		{"NaN", "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":{"x":NaN,"y":1,"z":1}}`, 422, "json_invalid"},
		{"coordinates list", "/location/insert-location-for-schema", `{"schema_name":"xyz","coordinates":[1,2,3]}`, 422, "dict_type"},
		{"schema_name too long", "/location/insert-location-for-schema", `{"schema_name":"` + long + `","coordinates":{}}`, 422, "string_too_long"},
		{"schema_name 100 chars", "/location/insert-location-for-schema", `{"schema_name":"` + ok100 + `","coordinates":{}}`, 400, "Location schema does not exist"},
		// insert-location
		{"insert-location fewer values", "/location/insert-location", `{"identifiers":[{"name":"a","units":null,"datatype":"float"},{"name":"b","units":null,"datatype":"float"}],"values":[1]}`, 400, "Got 1 value(s) for 2 identifier(s)"},
		{"insert-location more values", "/location/insert-location", `{"identifiers":[{"name":"a","units":null,"datatype":"float"}],"values":[1,2]}`, 400, "Got 2 value(s) for 1 identifier(s)"},
		{"insert-location wrong type at index 1", "/location/insert-location", `{"identifiers":[{"name":"a","units":null,"datatype":"float"},{"name":"b","units":null,"datatype":"float"}],"values":[1,"x"]}`, 400, "values[1] for identifier 'b'"},
		{"insert-location schema with other identifiers", "/location/insert-location", `{"identifiers":[{"name":"x","units":null,"datatype":"float"},{"name":"y","units":"m","datatype":"float"},{"name":"z","units":"m","datatype":"float"}],"values":[1,2,3]}`, 201, ""},
		{"insert-location same name other units", "/location/insert-location", `{"identifiers":[{"name":"x","units":"cm","datatype":"float"},{"name":"y","units":"m","datatype":"float"},{"name":"z","units":"m","datatype":"float"}],"values":[1,2,3]}`, 409, "schema 'x-y-z' has the identifiers"},
		{"insert-location no identifiers", "/location/insert-location", `{"identifiers":[],"values":[]}`, 400, "at least one identifier"},
		{"insert-location bad datatype", "/location/insert-location", `{"identifiers":[{"name":"a","units":null,"datatype":"str"}],"values":["x"]}`, 400, "Unknown datatype 'str'"},
		{"insert-location long schema name", "/location/insert-location", `{"identifiers":[{"name":"` + strings.Repeat("a", 60) + `","units":null,"datatype":"float"},{"name":"` + strings.Repeat("b", 60) + `","units":null,"datatype":"float"}],"values":[1,2]}`, 400, "longer than 100 characters"},
		// list-locations
		{"list unknown key", "/location/list-locations", `{"schema_name":"xyz","coordinates":{"q":1}}`, 400, "unknown 'q'"},
		{"list wrong datatype", "/location/list-locations", `{"schema_name":"xyz","coordinates":{"x":"1"}}`, 400, "Coordinate 'x'"},
		{"list schema missing", "/location/list-locations", `{}`, 422, "missing"},
		// get-schema-details
		{"no such schema", "/location/get-schema-details", `{"schema_name":"nope"}`, 400, "No such schema"},
		// delete-location-schema
		{"delete unknown schema", "/location/delete-location-schema", `{"schema_name":"nope"}`, 400, "Location schema 'nope' not found."},
		{"delete used schema", "/location/delete-location-schema", `{"schema_name":"xyz"}`, 409, "Location schema 'xyz' has 1 location(s)"},
		// delete-location
		{"delete partial coordinates", "/location/delete-location", `{"schema_name":"xyz","coordinates":{"x":1}}`, 400, "missing 'y', 'z'"},
		{"delete empty coordinates", "/location/delete-location", `{"schema_name":"xyz","coordinates":{}}`, 400, "missing 'x', 'y', 'z'"},
		{"delete unknown schema empty coordinates", "/location/delete-location", `{"schema_name":"nope","coordinates":{}}`, 400, "Location schema 'nope' does not exist"},
		{"delete not found", "/location/delete-location", `{"schema_name":"xyz","coordinates":{"x":1,"y":2,"z":3}}`, 400, "Location not found"},
		{"delete unknown key", "/location/delete-location", `{"schema_name":"xyz","coordinates":{"x":1,"y":2,"z":3,"w":4}}`, 400, "unknown 'w'"},
		{"delete placed location", "/location/delete-location", `{"schema_name":"rooms","coordinates":{"room":"lab","floor":-1,"open":true}}`, 409, "sensor(s) 's1'"},
		// edit-location
		{"edit clash", "/location/edit-location", `{"schema_name":"rooms","coordinates":{"room":"lab","floor":-1,"open":true},"new_coordinates":{}}`, 200, "Location edited"},
		{"edit unknown new key", "/location/edit-location", `{"schema_name":"rooms","coordinates":{"room":"lab","floor":-1,"open":true},"new_coordinates":{"q":1}}`, 400, "unknown 'q'"},
		{"edit wrong new type", "/location/edit-location", `{"schema_name":"rooms","coordinates":{"room":"lab","floor":-1,"open":true},"new_coordinates":{"floor":"1"}}`, 400, "Coordinate 'floor'"},
		{"edit not found", "/location/edit-location", `{"schema_name":"rooms","coordinates":{"room":"lab","floor":-2,"open":true},"new_coordinates":{}}`, 400, "Location not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(tc.path, tc.body)
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.detail) {
				t.Errorf("got %d %s, want %d with %q", r.Status, r.Body, tc.status, tc.detail)
			}
		})
	}
	// None of the failures wrote anything.
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"xyz"}`), `[{"id":1,"x":1.0,"y":2.5,"z":0.0}]`)
	exactBody(t, e.post("/location/list-locations", `{"schema_name":"rooms"}`), `[{"id":2,"floor":-1,"open":true,"room":"lab"}]`)
	r := e.get("/location/list-location-schemas")
	for _, name := range []string{`"name":"n"`, `"name":"a"`, `"name":"` + long} {
		if strings.Contains(string(r.Body), name) {
			t.Errorf("a failed request left %s behind: %s", name, r.Body)
		}
	}
	// A location moved onto another one is a conflict.
	e.must(201, "/location/insert-location-for-schema", `{"schema_name":"rooms","coordinates":{"room":"lab","floor":0,"open":true}}`)
	wantAnswer(t, e.post("/location/edit-location", `{"schema_name":"rooms","coordinates":{"room":"lab","floor":0,"open":true},"new_coordinates":{"floor":-1}}`), 409, "Location exists already")
}
