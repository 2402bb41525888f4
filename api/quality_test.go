package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestDataQualityAPI(t *testing.T) {
	e := newEnv(t)
	e.floatType("th", "humidity", "%")
	e.sensor("th", "s1")
	// Hourly, with the 03:00 and 04:00 readings missing and 05:00 over 100 %.
	e.must(201, "/sensor/insert-sensor-readings", map[string]any{"unique_identifier": "s1", "measure_name": "humidity",
		"readings": []float64{50, 50, 50, 120, 51, 52},
		"timestamps": []string{"2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z",
			"2024-01-01T05:00:00Z", "2024-01-01T06:00:00Z", "2024-01-01T07:00:00Z"}})
	e.must(200, "/sensor/set-measure-range", map[string]any{"measure_name": "humidity", "min": 0, "max": 100})
	body := map[string]any{"unique_identifier": "s1", "measure_name": "humidity",
		"dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-01T07:00:00Z", "gap_factor": 2, "flatline_minutes": 120}
	// 8 hourly readings expected, 6 there: 75 %; the day holds 7 hours.
	exactBody(t, e.post("/sensor/data-quality", body),
		`{"unique_identifier":"s1","measure_name":"humidity","measure_units":"%","readings":6,"interval_seconds":3600,"coverage_percent":75,`+
			`"gap_count":1,"gaps":[{"start":"2024-01-01T02:00:00Z","end":"2024-01-01T05:00:00Z","length_seconds":10800}],"duplicates":0,`+
			`"out_of_range_count":1,"out_of_range":[{"value":120.0,"timestamp":"2024-01-01T05:00:00Z"}],`+
			`"flatline_count":1,"flatlines":[{"start":"2024-01-01T00:00:00Z","end":"2024-01-01T02:00:00Z","length_seconds":7200,"value":50,"readings":3}],`+
			`"days":[{"date":"2024-01-01","readings":6,"coverage_percent":85.71428571428571}]}`)

	r := e.do(http.MethodGet, "/sensor/data-quality.csv?unique_identifier=s1&measure_name=humidity&dt_from=2024-01-01T00:00:00Z&dt_to=2024-01-01T07:00:00Z&gap_factor=2", nil, e.token)
	want := "kind,start,end,length_seconds,value,readings,coverage_percent\r\n" +
		"day,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,86400,,6,85.71\r\n" +
		"gap,2024-01-01T02:00:00Z,2024-01-01T05:00:00Z,10800,,,\r\n" +
		"flatline,2024-01-01T00:00:00Z,2024-01-01T02:00:00Z,7200,50,3,\r\n" +
		"out_of_range,2024-01-01T05:00:00Z,2024-01-01T05:00:00Z,0,120.0,,\r\n"
	if r.Status != 200 || string(r.Body) != want {
		t.Errorf("csv %d\n%s\nwant\n%s", r.Status, r.Body, want)
	}

	var overview []map[string]any
	jsonDecode(t, e.post("/sensor/data-quality-overview", map[string]any{"dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-01T07:00:00Z"}).Body, &overview)
	if len(overview) != 1 || overview[0]["coverage_percent"] != 75.0 || overview[0]["gap_count"] != 0.0 { // 3 h is not over 3 intervals
		t.Errorf("overview %v", overview)
	}

	for _, c := range []struct {
		body   map[string]any
		status int
		text   string
	}{
		{map[string]any{"unique_identifier": "s1", "measure_name": "humidity", "dt_from": "2024-01-02T00:00:00Z", "dt_to": "2024-01-01T00:00:00Z"}, 400, "before dt_from"},
		{map[string]any{"unique_identifier": "s1", "measure_name": "humidity", "dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-02T00:00:00Z", "gap_factor": 0.5}, 422, "gap_factor"},
		{map[string]any{"unique_identifier": "s1", "measure_name": "nope", "dt_from": "2024-01-01T00:00:00Z", "dt_to": "2024-01-02T00:00:00Z"}, 400, "nope"},
	} {
		if r := e.post("/sensor/data-quality", c.body); r.Status != c.status || !strings.Contains(string(r.Body), c.text) {
			t.Errorf("%v: %d %s", c.body, r.Status, r.Body)
		}
	}
	wantAnswer(t, e.post("/sensor/set-measure-range", map[string]any{"measure_name": "humidity", "min": 10, "max": 0}), 400, "above max")
}

func jsonDecode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
