package api

import (
	"encoding/json"
	"net/http"
	"testing"
)

// seedTree creates farm → tunnel → zone → shelf in the schema "place" and a
// sensor on the shelf with one reading, and returns the location ids.
func seedTree(e *testEnv) map[string]int64 {
	e.t.Helper()
	e.must(201, "/location/insert-location-schema", map[string]any{"name": "place", "description": nil,
		"identifiers": []any{map[string]any{"name": "name", "units": nil, "datatype": "string"}}})
	for _, n := range []string{"farm", "tunnel", "zone", "shelf"} {
		e.must(201, "/location/insert-location-for-schema", map[string]any{"schema_name": "place", "coordinates": map[string]any{"name": n}})
	}
	var locs []map[string]any
	if err := json.Unmarshal(e.must(200, "/location/list-locations", map[string]any{"schema_name": "place"}).Body, &locs); err != nil {
		e.t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, l := range locs {
		ids[l["name"].(string)] = int64(l["id"].(float64))
	}
	for child, parent := range map[string]string{"tunnel": "farm", "zone": "tunnel", "shelf": "zone"} {
		e.must(200, "/location/set-location-parent", map[string]any{"location_id": ids[child], "parent_id": ids[parent]})
	}
	e.floatType("th", "temperature", "C")
	e.sensor("th", "s1")
	e.must(201, "/sensor/insert-sensor-location", map[string]any{"unique_identifier": "s1", "schema_name": "place",
		"coordinates": map[string]any{"name": "shelf"}, "installation_datetime": "2024-01-01T00:00:00Z"})
	e.must(201, "/sensor/insert-sensor-readings", map[string]any{"unique_identifier": "s1", "measure_name": "temperature",
		"readings": []float64{20.5}, "timestamps": []string{"2024-01-02T00:00:00Z"}})
	return ids
}

func TestLocationTreeAPI(t *testing.T) {
	e := newEnv(t)
	ids := seedTree(e)

	var tree []struct {
		ID           int64          `json:"id"`
		ParentID     *int64         `json:"parent_id"`
		Coordinates  map[string]any `json:"coordinates"`
		Sensors      []string       `json:"sensors"`
		SensorsTotal int            `json:"sensors_total"`
	}
	if err := json.Unmarshal(e.get("/location/location-tree").Body, &tree); err != nil || len(tree) != 4 {
		t.Fatalf("tree %v (%v)", tree, err)
	}
	for _, n := range tree {
		if n.SensorsTotal != 1 {
			t.Errorf("%v: sensors_total %d, want 1 (rolled up from the shelf)", n.Coordinates, n.SensorsTotal)
		}
		if n.ID == ids["farm"] && n.ParentID != nil || n.ID == ids["shelf"] && (n.ParentID == nil || *n.ParentID != ids["zone"]) {
			t.Errorf("%v: parent %v", n.Coordinates, n.ParentID)
		}
	}

	// A cycle is a 422 naming parent_id; an unknown location a 400.
	r := e.post("/location/set-location-parent", map[string]any{"location_id": ids["farm"], "parent_id": ids["shelf"]})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("cycle: %d %s", r.Status, r.Body)
	}
	jsonEq(t, r.Body, `{"detail":[{"type":"value_error","loc":["body","parent_id"],"msg":"Location 4 is under location 1: moving 1 there would make a cycle","input":4}]}`)
	wantAnswer(t, e.post("/location/set-location-parent", map[string]any{"location_id": 99, "parent_id": nil}), 400, "No location with id 99")
	if r := e.do(http.MethodPost, "/location/set-location-parent", map[string]any{"location_id": ids["zone"], "parent_id": nil}, e.as("viewer")); r.Status != 403 {
		t.Errorf("viewer moves a location: %d", r.Status)
	}

	exactBody(t, e.post("/location/subtree-sensors", map[string]any{"location_id": ids["farm"]}),
		`[{"unique_identifier":"s1","type_name":"th","location_id":4,"installation_datetime":"2024-01-01T00:00:00Z"}]`)
	exactBody(t, e.post("/location/subtree-sensors", map[string]any{"location_id": ids["farm"], "at": "2023-12-31T00:00:00Z"}), `[]`)
	if r := e.post("/location/subtree-sensors", map[string]any{"location_id": ids["farm"], "at": nil}); r.Status != 200 {
		t.Errorf("at null: %d %s", r.Status, r.Body)
	}
	exactBody(t, e.post("/location/subtree-latest-readings", map[string]any{"location_id": ids["tunnel"]}),
		`[{"unique_identifier":"s1","measure_name":"temperature","measure_units":"C","datatype":"float","value":20.5,"timestamp":"2024-01-02T00:00:00Z"}]`)
	exactBody(t, e.post("/location/subtree-readings", map[string]any{"location_id": ids["zone"], "measure_name": "temperature",
		"dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-02-01T00:00:00Z"}),
		`[{"unique_identifier":"s1","readings":[{"value":20.5,"timestamp":"2024-01-02T00:00:00Z"}]}]`)

	// Moving the zone (with the shelf) to the root leaves the farm empty.
	e.must(200, "/location/set-location-parent", map[string]any{"location_id": ids["zone"], "parent_id": nil})
	exactBody(t, e.post("/location/subtree-sensors", map[string]any{"location_id": ids["farm"]}), `[]`)
}
