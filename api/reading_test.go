package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// readingFixture creates, through the store, the sensor types, measures
// and sensors the reading tests use:
//
//	type weather: temperature (C, float), count (integer), label (string), flag (boolean)
//	type dual:    temperature (C, float), temperature (F, float)
//	sensors: W1, W2 (weather), D1 (dual)
func readingFixture(t testing.TB, e *testEnv) {
	t.Helper()
	celsius, fahrenheit := "C", "F"
	sqldbtest.Sensors(t, e.db, dtbase.SensorType{Name: "weather", Measures: []dtbase.Measure{
		{Name: "temperature", Units: &celsius, Datatype: dtbase.Float},
		{Name: "count", Datatype: dtbase.Integer},
		{Name: "label", Datatype: dtbase.String},
		{Name: "flag", Datatype: dtbase.Boolean},
	}}, "W1", "W2")
	sqldbtest.Sensors(t, e.db, dtbase.SensorType{Name: "dual", Measures: []dtbase.Measure{
		{Name: "temperature", Units: &celsius, Datatype: dtbase.Float},
		{Name: "temperature", Units: &fahrenheit, Datatype: dtbase.Float},
	}}, "D1")
}

// w1Temperature selects the rows of W1's temperature in Celsius.
const w1Temperature = `sensor_id = (SELECT id FROM sensor WHERE unique_identifier = 'W1')
	AND measure_id = (SELECT id FROM sensor_measure WHERE name = 'temperature' AND units = 'C')`

// countReadings returns the number of stored readings in table.
func countReadings(t testing.TB, e *testEnv, table string) int {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReadingInsertAndRead(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	e.must(201, "/sensor/insert-sensor-readings", map[string]any{
		"measure_name": "temperature", "unique_identifier": "W1",
		"readings":   []any{291.0, 3, 0.1, 1e16, -0.5},
		"timestamps": []string{"2024-01-01T03:00:00", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", "2024-01-01 02:00:00.5", "2024-01-01T04:00:00.000001Z"},
	})
	// A duplicate timestamp keeps the stored value; a repeat within the
	// request keeps the first.
	r := e.must(201, "/sensor/insert-sensor-readings", json.RawMessage(`{"measure_name":"temperature","unique_identifier":"W1",
		"readings":[999.0, 5.5, 6.5],"timestamps":["2024-01-01T03:00:00Z","2024-01-01T05:00:00Z","2024-01-01T05:00:00Z"]}`))
	jsonEq(t, r.Body, `{"detail":"Sensor readings inserted"}`)
	r = e.must(200, "/sensor/sensor-readings", map[string]any{"measure_name": "temperature", "unique_identifier": "W1",
		"dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-01T05:00:00Z"})
	// Inclusive ends, timestamp order, floats written as floats.
	wantText := `[{"value":3.0,"timestamp":"2024-01-01T00:00:00Z"},` +
		`{"value":1e+16,"timestamp":"2024-01-01T02:00:00.500000Z"},` +
		`{"value":291.0,"timestamp":"2024-01-01T03:00:00Z"},` +
		`{"value":-0.5,"timestamp":"2024-01-01T04:00:00.000001Z"},` +
		`{"value":5.5,"timestamp":"2024-01-01T05:00:00Z"}]`
	// 0.1 was sent at 01:00+01:00 = 00:00Z, the same instant as 3: the
	// first of the request (291.0 at 03:00 comes first, then 3 at 00:00Z,
	// then 0.1 at 00:00Z) wins: 3.
	if string(r.Body) != wantText {
		t.Errorf("sensor-readings:\n got  %s\n want %s", r.Body, wantText)
	}
	if r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", r.Header.Get("Content-Type"))
	}
}

func TestReadingDatatypesRoundTrip(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	cases := []struct {
		measure  string
		readings string
		want     string
	}{
		{"count", `[1, -2147483648, 2147483647]`, `[1,-2147483648,2147483647]`},
		{"label", `["a", "é \"q\"", ""]`, `["a","é \"q\"",""]`},
		{"flag", `[true, false, true]`, `[true,false,true]`},
		{"temperature", `[1, 2.5, 1e-7]`, `[1.0,2.5,1e-07]`},
	}
	for _, c := range cases {
		t.Run(c.measure, func(t *testing.T) {
			e.must(201, "/sensor/insert-sensor-readings", json.RawMessage(fmt.Sprintf(
				`{"measure_name":%q,"unique_identifier":"W2","readings":%s,"timestamps":["2024-01-01T00:00:00Z","2024-01-01T00:00:01Z","2024-01-01T00:00:02Z"]}`,
				c.measure, c.readings)))
			r := e.must(200, "/sensor/sensor-readings", map[string]any{"measure_name": c.measure, "unique_identifier": "W2",
				"dt_from": "2024-01-01", "dt_to": "2024-01-02"})
			var got []struct {
				Value json.RawMessage `json:"value"`
			}
			r.JSON(t, &got)
			var vals []string
			for _, g := range got {
				vals = append(vals, string(g.Value))
			}
			if s := "[" + strings.Join(vals, ",") + "]"; s != c.want {
				t.Errorf("values %s, want %s", s, c.want)
			}
		})
	}
}

// TestReadingBadInput is the scenario table of the reading endpoints: every
// client mistake is a JSON 4xx naming what is wrong, and nothing is written.
func TestReadingBadInput(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
	readingFixture(t, e)
	ts3 := `["2024-01-01T00:00:00Z","2024-01-01T01:00:00Z","2024-01-01T02:00:00Z"]`
	body := func(measure, uid, readings, timestamps string) string {
		return fmt.Sprintf(`{"measure_name":%q,"unique_identifier":%q,"readings":%s,"timestamps":%s}`, measure, uid, readings, timestamps)
	}
	long := strings.Repeat("x", 101)
	huge := `{"measure_name":"temperature","unique_identifier":"W1","readings":[` + strings.Repeat("1.5,", 400_000) + `1.5],"timestamps":[]}`
	cases := []struct {
		name, path, body string
		status           int
		detail           string // a substring of the answer
	}{
		{"unknown sensor", "/sensor/insert-sensor-readings", body("temperature", "nope", "[1.0,2.0,3.0]", ts3), 400, `Sensor \"nope\" does not exist`},
		{"unknown measure", "/sensor/insert-sensor-readings", body("pressure", "W1", "[1.0,2.0,3.0]", ts3), 400, `measure \"pressure\" does not exist`},
		{"measure of another type", "/sensor/insert-sensor-readings", body("count", "D1", "[1,2,3]", ts3), 400, `has no measure \"count\"`},
		{"ambiguous measure", "/sensor/insert-sensor-readings", body("temperature", "D1", "[1.0,2.0,3.0]", ts3), 400, "give measure_units"},
		{"wrong units", "/sensor/insert-sensor-readings", `{"measure_name":"temperature","measure_units":"K","unique_identifier":"D1","readings":[1.0,2.0,3.0],"timestamps":` + ts3 + `}`, 400, `with units \"K\"`},
		{"string in float list at index 2", "/sensor/insert-sensor-readings", body("temperature", "W1", `[1.0,2.0,"x"]`, ts3), 400, "readings[2]"},
		{"bool in float list", "/sensor/insert-sensor-readings", body("temperature", "W1", `[1.0,true,3.0]`, ts3), 400, "readings[1]"},
		{"float in integer list", "/sensor/insert-sensor-readings", body("count", "W1", `[1,2,3.5]`, ts3), 400, "readings[2]"},
		{"bool in integer list", "/sensor/insert-sensor-readings", body("count", "W1", `[1,false,3]`, ts3), 400, "readings[1]"},
		{"integer over 32 bits", "/sensor/insert-sensor-readings", body("count", "W1", `[1,2,2147483648]`, ts3), 400, "32-bit"},
		{"integer over 64 bits", "/sensor/insert-sensor-readings", body("count", "W1", `[1,2,99999999999999999999]`, ts3), 422, "readings"},
		{"number in string list", "/sensor/insert-sensor-readings", body("label", "W1", `["a",2,"c"]`, ts3), 400, "readings[1]"},
		{"number in boolean list", "/sensor/insert-sensor-readings", body("flag", "W1", `[true,1,false]`, ts3), 400, "readings[1]"},
		{"NUL in a sensor name", "/sensor/insert-sensor-readings", `{"measure_name":"temperature","unique_identifier":"W\u00001","readings":[1.0],"timestamps":[1]}`, 422, "unique_identifier"},
		{"NUL in a string reading", "/sensor/insert-sensor-readings", body("label", "W1", `["a","b\u0000","c"]`, ts3), 400, "readings[1]"},
		{"lengths differ", "/sensor/insert-sensor-readings", body("temperature", "W1", "[1.0,2.0]", ts3), 400, "different lengths (2 and 3)"},
		{"NaN", "/sensor/insert-sensor-readings", body("temperature", "W1", "[1.0,NaN,3.0]", ts3), 422, "json_invalid"},
		{"Infinity", "/sensor/insert-sensor-readings", body("temperature", "W1", "[1.0,Infinity,3.0]", ts3), 422, "json_invalid"},
		{"float overflow", "/sensor/insert-sensor-readings", body("temperature", "W1", "[1.0,1e999,3.0]", ts3), 422, "readings"},
		{"null reading", "/sensor/insert-sensor-readings", body("temperature", "W1", "[1.0,null,3.0]", ts3), 422, "readings"},
		{"array reading", "/sensor/insert-sensor-readings", body("temperature", "W1", "[1.0,[2],3.0]", ts3), 422, "readings"},
		{"bad timestamp", "/sensor/insert-sensor-readings", body("temperature", "W1", "[1.0,2.0,3.0]", `["2024-01-01T00:00:00Z","yesterday","2024-01-01T02:00:00Z"]`), 422, "timestamps"},
		{"timestamp beyond year 9999", "/sensor/insert-sensor-readings", body("temperature", "W1", "[1.0]", `[1e15]`), 422, "timestamps"},
		{"101-character sensor", "/sensor/insert-sensor-readings", body("temperature", long, "[1.0,2.0,3.0]", ts3), 422, "string_too_long"},
		{"101-character measure", "/sensor/insert-sensor-readings", body(long, "W1", "[1.0,2.0,3.0]", ts3), 422, "string_too_long"},
		{"readings not a list", "/sensor/insert-sensor-readings", body("temperature", "W1", `1.0`, ts3), 422, "list_type"},
		{"missing timestamps", "/sensor/insert-sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","readings":[]}`, 422, "missing"},
		{"body over the limit", "/sensor/insert-sensor-readings", huge, 413, "exceeds the limit"},

		{"batch: bad series named", "/sensor/insert-readings-batch", `{"series":[` + body("temperature", "W1", "[1.0,2.0,3.0]", ts3) + `,` + body("count", "W1", "[1,2,\"3\"]", ts3) + `]}`, 400, "series[1]: readings[2]"},
		{"batch: unknown sensor named", "/sensor/insert-readings-batch", `{"series":[` + body("temperature", "W1", "[1.0,2.0,3.0]", ts3) + `,` + body("temperature", "zz", "[1.0,2.0,3.0]", ts3) + `]}`, 400, "series[1]: Sensor"},
		{"batch: lengths named", "/sensor/insert-readings-batch", `{"series":[` + body("temperature", "W1", "[1.0,2.0,3.0]", ts3) + `,` + body("temperature", "W1", "[1.0]", ts3) + `]}`, 400, "series[1]: readings and timestamps"},
		{"batch: not a list", "/sensor/insert-readings-batch", `{"series":{}}`, 422, "list_type"},

		{"read: unknown measure", "/sensor/sensor-readings", `{"measure_name":"pressure","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02"}`, 400, "pressure"},
		{"read: ambiguous measure", "/sensor/sensor-readings", `{"measure_name":"temperature","unique_identifier":"D1","dt_from":"2024-01-01","dt_to":"2024-01-02"}`, 400, "measure_units"},
		{"read: NUL in a measure name", "/sensor/sensor-readings", `{"measure_name":"t\u0000","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02"}`, 422, "measure_name"},
		{"read: bad dt_from", "/sensor/sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"soon","dt_to":"2024-01-02"}`, 422, "dt_from"},
		{"read: missing dt_to", "/sensor/sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01"}`, 422, "dt_to"},
		{"read: 101-character sensor", "/sensor/sensor-readings", `{"measure_name":"temperature","unique_identifier":"` + long + `","dt_from":"2024-01-01","dt_to":"2024-01-02"}`, 422, "string_too_long"},

		{"aggregate: unknown sensor", "/sensor/sensor-readings-aggregate", `{"measure_name":"temperature","unique_identifier":"nope","dt_from":"2024-01-01","dt_to":"2024-01-02","bucket":60}`, 400, "nope"},
		{"aggregate: bad bucket", "/sensor/sensor-readings-aggregate", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","bucket":"soon"}`, 422, "bucket"},
		{"aggregate: zero bucket", "/sensor/sensor-readings-aggregate", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","bucket":0}`, 422, "bucket"},
		{"aggregate: negative bucket", "/sensor/sensor-readings-aggregate", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","bucket":"-1h"}`, 422, "bucket"},
		{"aggregate: unknown aggregate", "/sensor/sensor-readings-aggregate", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","bucket":60,"aggregates":["median"]}`, 422, "median"},
		{"aggregate: mean of strings", "/sensor/sensor-readings-aggregate", `{"measure_name":"label","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","bucket":60,"aggregates":["mean"]}`, 400, "needs a float or integer measure"},
		{"aggregate: empty aggregates", "/sensor/sensor-readings-aggregate", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","bucket":60,"aggregates":[]}`, 422, "aggregates"},

		{"downsample: too few points", "/sensor/sensor-readings-downsampled", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","max_points":1}`, 422, "max_points"},
		{"downsample: too many points", "/sensor/sensor-readings-downsampled", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","max_points":100000000}`, 422, "max_points"},
		{"downsample: strings", "/sensor/sensor-readings-downsampled", `{"measure_name":"label","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02"}`, 400, "strings"},
		{"downsample: unknown measure", "/sensor/sensor-readings-downsampled", `{"measure_name":"x","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02"}`, 400, `\"x\"`},

		{"latest: unknown type", "/sensor/latest-readings", `{"type_name":"nope"}`, 400, "nope"},
		{"latest: unknown sensor", "/sensor/latest-readings", `{"unique_identifiers":["W1","nope"]}`, 400, "nope"},
		{"latest: NUL in a type", "/sensor/latest-readings", `{"type_name":"a\u0000"}`, 422, "type_name"},
		{"latest: wrong type", "/sensor/latest-readings", `{"unique_identifiers":"W1"}`, 422, "list_type"},

		{"upload: JSON instead of CSV", "/sensor/upload-readings-csv", `{"a":1}`, 400, "text/csv"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.post(c.path, c.body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if !strings.Contains(string(r.Body), c.detail) {
				t.Errorf("answer %s does not mention %q", r.Body, c.detail)
			}
			if !json.Valid(r.Body) || !strings.HasPrefix(string(r.Body), `{"detail":`) {
				t.Errorf("answer is not a JSON detail: %s", r.Body)
			}
		})
	}
	for _, table := range []string{"reading_float", "reading_integer", "reading_string", "reading_boolean"} {
		if n := countReadings(t, e, table); n != 0 {
			t.Errorf("%s holds %d rows after only bad requests", table, n)
		}
	}
}

func TestReadingEmptyAndUnknownSensor(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	// Empty lists are a no-op, even for names that do not exist (B14).
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","readings":[],"timestamps":[]}`)
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"nope","unique_identifier":"nope","readings":[],"timestamps":[]}`)
	// An unknown sensor reads as [] (as the original), an unknown measure is a 400.
	r := e.must(200, "/sensor/sensor-readings", `{"measure_name":"temperature","unique_identifier":"nope","dt_from":"2024-01-01","dt_to":"2024-01-02"}`)
	jsonEq(t, r.Body, `[]`)
	r = e.must(200, "/sensor/sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-02","dt_to":"2024-01-01"}`)
	jsonEq(t, r.Body, `[]`)
	// A measure given with units resolves an otherwise ambiguous name.
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"temperature","measure_units":"F","unique_identifier":"D1","readings":[70.5],"timestamps":["2024-01-01T00:00:00Z"]}`)
	r = e.must(200, "/sensor/sensor-readings", `{"measure_name":"temperature","measure_units":"F","unique_identifier":"D1","dt_from":"2024-01-01","dt_to":"2024-01-02"}`)
	jsonEq(t, r.Body, `[{"value":70.5,"timestamp":"2024-01-01T00:00:00Z"}]`)
	r = e.must(200, "/sensor/sensor-readings", `{"measure_name":"temperature","measure_units":"C","unique_identifier":"D1","dt_from":"2024-01-01","dt_to":"2024-01-02"}`)
	jsonEq(t, r.Body, `[]`)
	// A viewer may read but not write.
	if r := e.do(http.MethodPost, "/sensor/insert-sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","readings":[],"timestamps":[]}`, e.as(dtbase.RoleViewer)); r.Status != 403 {
		t.Errorf("viewer insert: status %d", r.Status)
	}
	if r := e.do(http.MethodPost, "/sensor/sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02"}`, e.as(dtbase.RoleViewer)); r.Status != 200 {
		t.Errorf("viewer read: status %d", r.Status)
	}
}

func TestReadingBatch(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	r := e.must(201, "/sensor/insert-readings-batch", json.RawMessage(`{"series":[
		{"measure_name":"temperature","unique_identifier":"W1","readings":[1.5,2.5],"timestamps":["2024-01-01T00:00:00Z","2024-01-01T01:00:00Z"]},
		{"measure_name":"count","unique_identifier":"W1","readings":[7],"timestamps":["2024-01-01T00:00:00Z"]},
		{"measure_name":"temperature","measure_units":"F","unique_identifier":"D1","readings":[60],"timestamps":["2024-01-01T00:00:00Z"]},
		{"measure_name":"temperature","unique_identifier":"W1","readings":[9.5,3.5],"timestamps":["2024-01-01T01:00:00Z","2024-01-01T02:00:00Z"]}
	]}`))
	jsonEq(t, r.Body, `{"detail":"Sensor readings inserted","rows":6,"inserted":5,"duplicates":1}`)
	r = e.must(200, "/sensor/sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02"}`)
	jsonEq(t, r.Body, `[{"value":1.5,"timestamp":"2024-01-01T00:00:00Z"},{"value":2.5,"timestamp":"2024-01-01T01:00:00Z"},{"value":3.5,"timestamp":"2024-01-01T02:00:00Z"}]`)
}

func TestReadingLargeRequest(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	const n = 100_000
	body := readingBody("W1", "temperature", 0, n, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Second)
	if len(body) > 64<<20 {
		t.Fatalf("a %d-reading body is %d bytes, over the default limit", n, len(body))
	}
	e.must(201, "/sensor/insert-sensor-readings", body)
	if got := countReadings(t, e, "reading_float"); got != n {
		t.Fatalf("stored %d readings, want %d", got, n)
	}
	r := e.must(200, "/sensor/sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2020-01-01","dt_to":"2021-01-01"}`)
	pts := decodePoints(t, r.Body)
	if len(pts) != n || pts[n-1].Value != float64(n-1)*0.25 {
		t.Fatalf("read %d points, last %v", len(pts), pts[len(pts)-1])
	}
}

type testPoint struct {
	Value     float64 `json:"value"`
	Timestamp string  `json:"timestamp"`
}

// decodePoints decodes a series answer of numbers.
func decodePoints(t testing.TB, body []byte) []testPoint {
	t.Helper()
	var pts []testPoint
	if err := json.Unmarshal(body, &pts); err != nil {
		t.Fatalf("decode %d bytes (%.200s): %v", len(body), body, err)
	}
	return pts
}

// readingBody is an insert-sensor-readings body of n float readings
// starting at index first, one every step from start.
func readingBody(uid, measure string, first, n int, start time.Time, step time.Duration) []byte {
	b := fmt.Appendf(nil, `{"measure_name":%q,"unique_identifier":%q,"readings":[`, measure, uid)
	for i := first; i < first+n; i++ {
		if i > first {
			b = append(b, ',')
		}
		b = dtbase.AppendFloat(b, float64(i)*0.25)
	}
	b = append(b, `],"timestamps":[`...)
	for i := first; i < first+n; i++ {
		if i > first {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = dtbase.AppendTime(b, start.Add(time.Duration(i)*step))
		b = append(b, '"')
	}
	return append(b, "]}"...)
}

// TestReadingConcurrentWriters runs 8 writers on the same sensor and
// measure with overlapping timestamps: every timestamp is stored exactly
// once, none is lost.
func TestReadingConcurrentWriters(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const writers, perWriter, overlap = 8, 2000, 1000
	var wg sync.WaitGroup
	errs := make(chan string, writers*4)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Writer w covers [w*overlap, w*overlap+perWriter), in 4
			// requests, so neighbours overlap by half.
			for part := 0; part < 4; part++ {
				first := w*overlap + part*perWriter/4
				body := readingBody("W1", "temperature", first, perWriter/4, start, time.Second)
				if r := e.post("/sensor/insert-sensor-readings", body); r.Status != 201 {
					errs <- fmt.Sprintf("writer %d: status %d: %s", w, r.Status, r.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	want := (writers-1)*overlap + perWriter
	var n, distinct int
	var lo, hi int64
	if err := e.db.SQL().QueryRow(`SELECT count(*), count(DISTINCT ts), min(ts), max(ts) FROM reading_float WHERE `+w1Temperature).
		Scan(&n, &distinct, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if n != want || distinct != want || hi-lo != int64(want-1)*1e6 {
		t.Fatalf("stored %d rows (%d distinct) spanning %d µs, want %d", n, distinct, hi-lo, want)
	}
	// Every value is the one its timestamp was sent with (all writers agree).
	var bad int
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM reading_float WHERE `+w1Temperature+` AND value * 4 * 1000000 != ts - $1`, start.UnixMicro()).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d rows with a value that does not match their timestamp", bad)
	}
}

func TestReadingAggregate(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	// 10-minute readings 0..11 over two hours, plus an integer and a string series.
	e.must(201, "/sensor/insert-sensor-readings", readingBody("W1", "temperature", 0, 12, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 10*time.Minute))
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"count","unique_identifier":"W1","readings":[1,2,4],"timestamps":["2024-01-01T00:00:00Z","2024-01-01T00:30:00Z","2024-01-01T01:00:00Z"]}`)
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"label","unique_identifier":"W1","readings":["a","b","c"],"timestamps":["2024-01-01T00:00:00Z","2024-01-01T00:30:00Z","2024-01-01T01:00:00Z"]}`)
	r := e.must(200, "/sensor/sensor-readings-aggregate", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01T00:00:00Z","dt_to":"2024-01-01T01:50:00Z","bucket":"1h"}`)
	// values 0, 0.25, …, 1.25 in the first hour and 1.5 … 2.75 in the second
	want := `[{"timestamp":"2024-01-01T00:00:00Z","mean":0.625,"min":0.0,"max":1.25,"sum":3.75,"count":6,"first":0.0,"last":1.25},` +
		`{"timestamp":"2024-01-01T01:00:00Z","mean":2.125,"min":1.5,"max":2.75,"sum":12.75,"count":6,"first":1.5,"last":2.75}]`
	if string(r.Body) != want {
		t.Errorf("aggregate:\n got  %s\n want %s", r.Body, want)
	}
	r = e.must(200, "/sensor/sensor-readings-aggregate", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01T00:10:00Z","dt_to":"2024-01-01T01:00:00Z","bucket":1800,"aggregates":["count","max"]}`)
	jsonEq(t, r.Body, `[{"timestamp":"2024-01-01T00:00:00Z","max":0.5,"count":2},{"timestamp":"2024-01-01T00:30:00Z","max":1.25,"count":3},{"timestamp":"2024-01-01T01:00:00Z","max":1.5,"count":1}]`)
	r = e.must(200, "/sensor/sensor-readings-aggregate", `{"measure_name":"count","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","bucket":"1d"}`)
	jsonEq(t, r.Body, `[{"timestamp":"2024-01-01T00:00:00Z","mean":2.3333333333333335,"min":1,"max":4,"sum":7,"count":3,"first":1,"last":4}]`)
	r = e.must(200, "/sensor/sensor-readings-aggregate", `{"measure_name":"label","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2024-01-02","bucket":"45m"}`)
	jsonEq(t, r.Body, `[{"timestamp":"2024-01-01T00:00:00Z","count":2,"first":"a","last":"b"},{"timestamp":"2024-01-01T00:45:00Z","count":1,"first":"c","last":"c"}]`)
}

func TestReadingDownsample(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 20_000
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = math.Sin(float64(i) / 500)
	}
	vals[12345] = 50 // a spike
	vals[777] = -40  // a trough
	b := []byte(`{"measure_name":"temperature","unique_identifier":"W1","readings":[`)
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = dtbase.AppendFloat(b, v)
	}
	b = append(b, `],"timestamps":[`...)
	for i := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d", start.Unix()+int64(i)*60)
	}
	e.must(201, "/sensor/insert-sensor-readings", append(b, "]}"...))
	r := e.must(200, "/sensor/sensor-readings-downsampled", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01","dt_to":"2025-01-01","max_points":500}`)
	pts := decodePoints(t, r.Body)
	if len(pts) > 500 || len(pts) < 400 {
		t.Fatalf("%d points, want at most 500 and close to it", len(pts))
	}
	var max, min float64
	for i, p := range pts {
		max, min = math.Max(max, p.Value), math.Min(min, p.Value)
		if i > 0 && pts[i-1].Timestamp >= p.Timestamp {
			t.Fatalf("points out of order at %d", i)
		}
	}
	if max != 50 || min != -40 {
		t.Errorf("peak %v and trough %v, want 50 and -40", max, min)
	}
	// A short range comes back whole.
	r = e.must(200, "/sensor/sensor-readings-downsampled", `{"measure_name":"temperature","unique_identifier":"W1","dt_from":"2024-01-01T00:00:00Z","dt_to":"2024-01-01T00:09:00Z"}`)
	pts = decodePoints(t, r.Body)
	if len(pts) != 10 {
		t.Errorf("short range: %d points, want 10", len(pts))
	}
}

func TestReadingLatest(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","readings":[1.0,2.0],"timestamps":["2024-01-01T00:00:00Z","2024-01-02T00:00:00Z"]}`)
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"flag","unique_identifier":"W1","readings":[true,false],"timestamps":["2024-01-03T00:00:00Z","2024-01-01T00:00:00Z"]}`)
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"temperature","measure_units":"F","unique_identifier":"D1","readings":[50],"timestamps":["2023-01-01T00:00:00Z"]}`)
	r := e.must(200, "/sensor/latest-readings", nil)
	jsonEq(t, r.Body, `[{"unique_identifier":"W1","measure_name":"temperature","measure_units":"C","datatype":"float","value":2.0,"timestamp":"2024-01-02T00:00:00Z"},`+
		`{"unique_identifier":"W1","measure_name":"flag","measure_units":null,"datatype":"boolean","value":true,"timestamp":"2024-01-03T00:00:00Z"},`+
		`{"unique_identifier":"D1","measure_name":"temperature","measure_units":"F","datatype":"float","value":50.0,"timestamp":"2023-01-01T00:00:00Z"}]`)
	r = e.must(200, "/sensor/latest-readings", `{"type_name":"dual"}`)
	jsonEq(t, r.Body, `[{"unique_identifier":"D1","measure_name":"temperature","measure_units":"F","datatype":"float","value":50.0,"timestamp":"2023-01-01T00:00:00Z"}]`)
	r = e.must(200, "/sensor/latest-readings", `{"unique_identifiers":["W2"]}`)
	jsonEq(t, r.Body, `[]`)
	r = e.must(200, "/sensor/latest-readings", `{"unique_identifiers":["D1"],"type_name":null}`)
	jsonEq(t, r.Body, `[{"unique_identifier":"D1","measure_name":"temperature","measure_units":"F","datatype":"float","value":50.0,"timestamp":"2023-01-01T00:00:00Z"}]`)
}

func TestReadingCSVDownloadAndUpload(t *testing.T) {
	e := newEnv(t)
	readingFixture(t, e)
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"temperature","unique_identifier":"W1","readings":[1.0,2.5],"timestamps":["2024-01-01T00:00:00Z","2024-01-02T00:00:00.25Z"]}`)
	e.must(201, "/sensor/insert-sensor-readings", `{"measure_name":"label","unique_identifier":"W1","readings":["a,b","say \"hi\""],"timestamps":["2024-01-01T00:00:00Z","2024-01-02T00:00:00Z"]}`)
	r := e.get("/sensor/readings.csv?unique_identifier=W1&measure_name=temperature&measure_name=label&dt_to=2024-01-03")
	if r.Status != 200 {
		t.Fatalf("download: %d %s", r.Status, r.Body)
	}
	want := "unique_identifier,measure_name,measure_units,timestamp,value\r\n" +
		"W1,temperature,C,2024-01-01T00:00:00Z,1.0\r\n" +
		"W1,temperature,C,2024-01-02T00:00:00.250000Z,2.5\r\n" +
		"W1,label,,2024-01-01T00:00:00Z,\"a,b\"\r\n" +
		"W1,label,,2024-01-02T00:00:00Z,\"say \"\"hi\"\"\"\r\n"
	if string(r.Body) != want {
		t.Errorf("download:\n%s\nwant\n%s", r.Body, want)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename=W1.csv` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	for path, status := range map[string]int{
		"/sensor/readings.csv?measure_name=temperature":                                  422,
		"/sensor/readings.csv?unique_identifier=W1&measure_name=temperature&dt_from=bad": 422,
		"/sensor/readings.csv?unique_identifier=W1&measure_name=nope":                    400,
		"/sensor/readings.csv?unique_identifier=zz&measure_name=temperature":             400,
	} {
		if r := e.get(path); r.Status != status || !json.Valid(r.Body) {
			t.Errorf("GET %s: %d %s, want %d", path, r.Status, r.Body, status)
		}
	}
	if r := e.do(http.MethodGet, "/sensor/readings.csv?unique_identifier=W1&measure_name=temperature", nil, ""); r.Status != 401 {
		t.Errorf("download without a token: %d", r.Status)
	}

	// The download uploads back into another sensor as is: all duplicates.
	upload := func(ctype string, body []byte) response {
		req := httptest.NewRequest(http.MethodPost, "/sensor/upload-readings-csv", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", ctype)
		return e.serve(req)
	}
	r2 := upload("text/csv", r.Body)
	if r2.Status != 201 {
		t.Fatalf("upload: %d %s", r2.Status, r2.Body)
	}
	jsonEq(t, r2.Body, `{"detail":"Sensor readings inserted","rows":4,"inserted":0,"duplicates":4}`)

	// Wide layout, multipart, new rows.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "w.csv")
	fw.Write([]byte("timestamp,W2:temperature,W2:count,W2:flag\n2024-01-01T00:00:00Z,1.5,3,true\n2024-01-01T01:00:00Z,,4,\n"))
	mw.Close()
	r2 = upload(mw.FormDataContentType(), mp.Bytes())
	if r2.Status != 201 {
		t.Fatalf("multipart upload: %d %s", r2.Status, r2.Body)
	}
	jsonEq(t, r2.Body, `{"detail":"Sensor readings inserted","rows":4,"inserted":4,"duplicates":0}`)

	// A malformed row names its line, and nothing of the file is written.
	before := countReadings(t, e, "reading_float")
	bad := "unique_identifier,measure_name,timestamp,value\nW2,temperature,2024-02-01T00:00:00Z,1.0\nW2,temperature,2024-02-01T01:00:00Z,2.0\nW2,temperature,2024-02-01T02:00:00Z,warm\n"
	for _, c := range []struct{ body, detail string }{
		{bad, "line 4"},
		{strings.Replace(bad, "warm", "3.0", 1) + "W2,temperature,not a time,1.0\n", "line 5: invalid timestamp"},
		{strings.Replace(bad, "warm", "3.0", 1) + "W2,nope,2024-02-01T00:00:00Z,1.0\n", "line 5"},
		{strings.Replace(bad, "warm", "3.0", 1) + "W2,temperature\n", "line 5"},
		{"sensor,value\n", "line 1"},
		{"", "empty"},
		{strings.Replace(bad, "warm", "NaN", 1), "line 4"},
		{"timestamp,W2:count\n2024-01-01T00:00:00Z,99999999999\n", "line 2"},
	} {
		r2 = upload("text/csv", []byte(c.body))
		if r2.Status != 400 || !strings.Contains(r2.Detail(), c.detail) {
			t.Errorf("upload %q: %d %s, want 400 mentioning %q", c.body, r2.Status, r2.Body, c.detail)
		}
	}
	if after := countReadings(t, e, "reading_float"); after != before {
		t.Errorf("bad uploads wrote %d rows", after-before)
	}
}

func TestReadingOpenAPI(t *testing.T) {
	e := newEnv(t)
	r := e.get("/openapi.json")
	for _, p := range []string{"/sensor/insert-sensor-readings", "/sensor/sensor-readings", "/sensor/insert-readings-batch",
		"/sensor/sensor-readings-aggregate", "/sensor/sensor-readings-downsampled", "/sensor/latest-readings",
		"/sensor/readings.csv", "/sensor/upload-readings-csv"} {
		if !bytes.Contains(r.Body, []byte(`"`+p+`"`)) {
			t.Errorf("%s missing from /openapi.json", p)
		}
	}
}

// TestCSVQueryErrors checks the 422 of each CSV download's query: missing
// fields and bad datetimes, listed in order, as a body's would be.
func TestCSVQueryErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ path, want string }{
		{"/sensor/readings.csv", `[{"type":"missing","loc":["query","unique_identifier"]},{"type":"missing","loc":["query","measure_name"]}]`},
		{"/sensor/readings.csv?unique_identifier=s&measure_name=m&measure_units=a&measure_units=b&dt_to=soon",
			`[{"type":"value_error","loc":["query","measure_units"]},{"type":"datetime_parsing","loc":["query","dt_to"]}]`},
		{"/sensor/derived-readings.csv?dt_from=x", `[{"type":"missing","loc":["query","unique_identifier"]},` +
			`{"type":"missing","loc":["query","derived_name"]},{"type":"missing","loc":["query","dt_to"]},{"type":"datetime_parsing","loc":["query","dt_from"]}]`},
		{"/sensor/data-quality.csv?unique_identifier=s&measure_name=m&dt_from=2024-01-01&dt_to=x&gap_factor=y",
			`[{"type":"datetime_parsing","loc":["query","dt_to"]},{"type":"float_parsing","loc":["query","gap_factor"]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.get(tt.path)
			var body struct {
				Detail []struct {
					Type string `json:"type"`
					Loc  []any  `json:"loc"`
				} `json:"detail"`
			}
			r.JSON(t, &body)
			got, _ := json.Marshal(body.Detail)
			if r.Status != http.StatusUnprocessableEntity || string(got) != tt.want {
				t.Errorf("got %d %s, want 422 %s", r.Status, got, tt.want)
			}
		})
	}
}
