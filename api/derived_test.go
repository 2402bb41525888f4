package api

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/dtbase/dtbase/derive"
)

func TestDerivedMeasuresAPI(t *testing.T) {
	e := newEnv(t)
	ids := seedTree(e) // farm → tunnel → zone → shelf; s1 (type th, temperature in C) on the shelf
	e.floatType("trh", "temperature", "C", "relative humidity", "%", "tempF", "F")
	temps, rhs := []float64{20, 25, 30, 18}, []float64{40, 50, 60, 95}
	stamps := []string{"2024-01-01T00:00:00Z", "2024-01-01T00:10:00Z", "2024-01-01T00:20:00Z", "2024-01-01T01:00:00Z"}
	for _, uid := range []string{"t1", "t2"} {
		e.sensor("trh", uid)
		e.must(201, "/sensor/insert-sensor-location", map[string]any{"unique_identifier": uid, "schema_name": "place",
			"coordinates": map[string]any{"name": "zone"}, "installation_datetime": "2024-01-01T00:00:00Z"})
		e.must(201, "/sensor/insert-sensor-readings", map[string]any{"unique_identifier": uid, "measure_name": "temperature", "readings": temps, "timestamps": stamps})
		// t1 lacks the 00:20 humidity reading: that timestamp is left out.
		rh, ts := rhs, stamps
		if uid == "t1" {
			rh, ts = []float64{40, 50, 95}, []string{stamps[0], stamps[1], stamps[3]}
		}
		e.must(201, "/sensor/insert-sensor-readings", map[string]any{"unique_identifier": uid, "measure_name": "relative humidity", "readings": rh, "timestamps": ts})
	}
	e.must(201, "/sensor/insert-derived-measure", map[string]any{"name": "vpd", "units": "kPa",
		"expression": "vpd(temperature, [relative humidity])", "sensor_type": "trh"})

	var got []struct {
		Value     float64 `json:"value"`
		Timestamp string  `json:"timestamp"`
	}
	jsonDecode(t, e.must(200, "/sensor/derived-readings", map[string]any{"unique_identifier": "t2", "derived_name": "vpd",
		"dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-02T00:00:00Z"}).Body, &got)
	if len(got) != 4 {
		t.Fatalf("t2 vpd %v", got)
	}
	for i, p := range got {
		want := 0.6108 * math.Exp(17.27*temps[i]/(temps[i]+237.3)) * (1 - rhs[i]/100)
		if math.Abs(p.Value-want) > 1e-12 || p.Timestamp != stamps[i] {
			t.Errorf("t2 vpd[%d] = %v at %s, want %v at %s", i, p.Value, p.Timestamp, want, stamps[i])
		}
	}
	jsonDecode(t, e.must(200, "/sensor/derived-readings", map[string]any{"unique_identifier": "t1", "derived_name": "vpd",
		"dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-02T00:00:00Z", "bucket": "1h"}).Body, &got)
	if len(got) != 2 || got[0].Timestamp != "2024-01-01T00:00:00Z" {
		t.Errorf("t1 hourly vpd %v", got)
	} else if want := (derive.SaturationVapourPressure(20)*0.6 + derive.SaturationVapourPressure(25)*0.5) / 2; math.Abs(got[0].Value-want) > 1e-12 {
		t.Errorf("t1 hourly vpd %v, want %v first", got, want)
	}
	wantAnswer(t, e.post("/sensor/derived-readings", map[string]any{"unique_identifier": "s1", "derived_name": "vpd",
		"dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-02T00:00:00Z"}), 400, `does not apply to sensor "s1" (of type "th")`)

	r := e.do(http.MethodGet, "/sensor/derived-readings.csv?unique_identifier=t1&derived_name=vpd&dt_from=2024-01-01T00:00:00Z&dt_to=2024-01-01T00:05:00Z", nil, e.token)
	if wantCSV := "unique_identifier,measure_name,measure_units,timestamp,value\r\nt1,vpd,kPa,2024-01-01T00:00:00Z," +
		string(mustJSON(derive.SaturationVapourPressure(20)*0.6)) + "\r\n"; r.Status != 200 || string(r.Body) != wantCSV {
		t.Errorf("csv %d %q, want %q", r.Status, r.Body, wantCSV)
	}

	// The mean temperature over the zone's subtree, per hour.
	e.must(201, "/sensor/insert-derived-measure", map[string]any{"name": "zone temperature", "units": "C",
		"expression": "temperature", "location_id": ids["zone"], "aggregate": "mean"})
	var buckets []map[string]any
	jsonDecode(t, e.must(200, "/location/derived-aggregate", map[string]any{"derived_name": "zone temperature",
		"dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-01T23:00:00Z", "bucket": "1h"}).Body, &buckets)
	// s1 (type th) is under the zone but has no readings in the range.
	if len(buckets) != 2 || buckets[0]["value"] != 25.0 || buckets[0]["sensors"] != 2.0 || buckets[1]["value"] != 18.0 {
		t.Errorf("zone buckets %v", buckets)
	}

	var list []map[string]any
	jsonDecode(t, e.get("/sensor/list-derived-measures").Body, &list)
	if len(list) != 2 || list[0]["expression"] != "vpd(temperature, [relative humidity])" {
		t.Errorf("list %v", list)
	}

	for _, c := range []struct {
		name string
		body map[string]any
		loc  string
		text string
	}{
		{"syntax", map[string]any{"name": "x", "units": nil, "expression": "temperature *", "sensor_type": "trh"}, `["body","expression",13]`, "position 13"},
		{"unknown input", map[string]any{"name": "x", "units": nil, "expression": "temperature + co2", "sensor_type": "trh"}, `["body","expression",14]`, `Unknown input \"co2\"`},
		{"unit", map[string]any{"name": "x", "units": nil, "expression": "dewpoint(tempF, [relative humidity])", "sensor_type": "trh"}, `["body","expression",9]`, "unit error"},
		{"units of a sum", map[string]any{"name": "x", "units": nil, "expression": "temperature + tempF", "sensor_type": "trh"}, `["body","expression",12]`, "unit error"},
		{"aggregate without a location", map[string]any{"name": "x", "units": nil, "expression": "temperature", "sensor_type": "trh", "aggregate": "sum"}, `["body","aggregate"]`, "location_id"},
	} {
		r := e.post("/sensor/insert-derived-measure", c.body)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), c.loc) || !strings.Contains(string(r.Body), c.text) {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	wantAnswer(t, e.post("/sensor/insert-derived-measure", map[string]any{"name": "vpd", "units": nil, "expression": "temperature", "sensor_type": "trh"}), 409, "exists already")
	wantAnswer(t, e.post("/sensor/insert-derived-measure", map[string]any{"name": "y", "units": nil, "expression": "temperature", "sensor_type": "trh", "location_id": 1}), 400, "exactly one")

	// A calibration per sensor with validity dates: t1 had an offset until
	// 00:15, then a table; other sensors of the type read the raw value.
	e.must(201, "/sensor/insert-derived-measure", map[string]any{"name": "cal", "units": "C", "expression": "temperature", "sensor_type": "trh"})
	e.must(201, "/sensor/insert-derived-measure", map[string]any{"name": "cal", "units": "C", "expression": "temperature + 1",
		"unique_identifier": "t1", "valid_to": "2024-01-01T00:15:00Z"})
	e.must(201, "/sensor/insert-derived-measure", map[string]any{"name": "cal", "units": "C", "expression": "interp(temperature, 0, 0, 100, 50)",
		"unique_identifier": "t1", "valid_from": "2024-01-01T00:15:00Z"})
	wantAnswer(t, e.post("/sensor/insert-derived-measure", map[string]any{"name": "cal", "units": "C", "expression": "temperature",
		"unique_identifier": "t1", "valid_from": "2024-01-01T00:30:00Z", "valid_to": "2024-01-02T00:00:00Z"}), 409, "overlap")
	wantAnswer(t, e.post("/sensor/insert-derived-measure", map[string]any{"name": "cal", "units": "F", "expression": "temperature",
		"unique_identifier": "t2"}), 409, "share units")
	read := func(uid string) []float64 {
		var pts []struct {
			Value float64 `json:"value"`
		}
		jsonDecode(t, e.must(200, "/sensor/derived-readings", map[string]any{"unique_identifier": uid, "derived_name": "cal",
			"dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-01T23:00:00Z"}).Body, &pts)
		var out []float64
		for _, p := range pts {
			out = append(out, p.Value)
		}
		return out
	}
	if got, want := read("t1"), []float64{21, 26, 15, 9}; !slices.Equal(got, want) {
		t.Errorf("t1 calibrated %v, want %v (+1 until 00:15, then temperature/2)", got, want)
	}
	if got := read("t2"); !slices.Equal(got, temps) {
		t.Errorf("t2 calibrated %v, want its raw temperatures %v", got, temps)
	}
	e.must(200, "/sensor/delete-derived-measure", map[string]any{"name": "vpd"})
	wantAnswer(t, e.post("/sensor/delete-derived-measure", map[string]any{"name": "vpd"}), 400, "No derived measure")
}

// TestDerivedInMeasureReads reads a derived measure through the endpoints
// of stored measures, with the store wrapped as dtbase serve wraps it.
func TestDerivedInMeasureReads(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Store = derive.WithDerived(c.Store) })
	e.floatType("trh", "temperature", "C", "rh", "%")
	e.sensor("trh", "t1")
	stamps := []string{"2024-01-01T00:00:00Z", "2024-01-01T00:30:00Z", "2024-01-01T01:00:00Z", "2024-01-01T01:30:00Z"}
	e.must(201, "/sensor/insert-sensor-readings", map[string]any{"unique_identifier": "t1", "measure_name": "temperature", "readings": []float64{10, 20, 30, 40}, "timestamps": stamps})
	e.must(201, "/sensor/insert-sensor-readings", map[string]any{"unique_identifier": "t1", "measure_name": "rh", "readings": []float64{50, 50, 50, 50}, "timestamps": stamps})
	e.must(201, "/sensor/insert-derived-measure", map[string]any{"name": "tempF", "units": "F", "expression": "temperature * 9/5 + 32", "sensor_type": "trh"})
	rng := map[string]any{"unique_identifier": "t1", "dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-02T00:00:00Z"}
	with := func(kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range rng {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	exactBody(t, e.post("/sensor/sensor-readings", with("measure_name", "tempF")),
		`[{"value":50.0,"timestamp":"2024-01-01T00:00:00Z"},{"value":68.0,"timestamp":"2024-01-01T00:30:00Z"},{"value":86.0,"timestamp":"2024-01-01T01:00:00Z"},{"value":104.0,"timestamp":"2024-01-01T01:30:00Z"}]`)
	exactBody(t, e.post("/sensor/sensor-readings-aggregate", with("measure_name", "tempF", "bucket", "1h", "aggregates", []string{"mean", "max", "count"})),
		`[{"timestamp":"2024-01-01T00:00:00Z","mean":59.0,"max":68.0,"count":2},{"timestamp":"2024-01-01T01:00:00Z","mean":95.0,"max":104.0,"count":2}]`)
	exactBody(t, e.post("/sensor/sensor-readings-downsampled", with("measure_name", "tempF", "max_points", 2)),
		`[{"value":50.0,"timestamp":"2024-01-01T00:00:00Z"},{"value":104.0,"timestamp":"2024-01-01T01:30:00Z"}]`)
	r := e.do(http.MethodGet, "/sensor/readings.csv?unique_identifier=t1&measure_name=tempF&dt_to=2024-01-01T00:00:00Z", nil, e.token)
	if want := "unique_identifier,measure_name,measure_units,timestamp,value\r\nt1,tempF,F,2024-01-01T00:00:00Z,50.0\r\n"; string(r.Body) != want {
		t.Errorf("csv %q, want %q", r.Body, want)
	}
	// Stored measures read as before; unknown names are still a 400.
	exactBody(t, e.post("/sensor/sensor-readings", with("measure_name", "rh", "dt_to", "2024-01-01T00:00:00Z")), `[{"value":50.0,"timestamp":"2024-01-01T00:00:00Z"}]`)
	wantAnswer(t, e.post("/sensor/sensor-readings", with("measure_name", "nope")), 400, "nope")
}
