package api

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

// seedModelSensors creates sensor type TRH (Temperature in Degrees C,
// Humidity in Percent, both floats) and its sensor TRH1.
func seedModelSensors(e *testEnv) {
	e.t.Helper()
	e.must(201, "/sensor/insert-sensor-type", `{"name":"TRH","measures":[`+
		`{"name":"Temperature","units":"Degrees C","datatype":"float"},{"name":"Humidity","units":"Percent","datatype":"float"}]}`)
	e.must(201, "/sensor/insert-sensor", `{"type_name":"TRH","unique_identifier":"TRH1"}`)
}

// modelReadings posts float readings of TRH1.
func modelReadings(e *testEnv, measure string, ts []time.Time, values []float64) {
	e.t.Helper()
	stamps := make([]string, len(ts))
	vals := make([]json.RawMessage, len(values))
	for i := range ts {
		stamps[i] = dtbase.FormatTime(ts[i])
		vals[i] = dtbase.AppendFloat(nil, values[i])
	}
	e.must(201, "/sensor/insert-sensor-readings", map[string]any{"measure_name": measure, "unique_identifier": "TRH1", "readings": vals, "timestamps": stamps})
}

// TestModelAPIWire walks every /model endpoint of the original through its
// success shapes, byte for byte, and its error answers.
func TestModelAPIWire(t *testing.T) {
	e := newEnv(t)
	seedModelSensors(e)

	// Models.
	exactBody(t, e.post("/model/insert-model", `{"name":"Arima"}`), `{"detail":"Model inserted"}`)
	r := e.post("/model/insert-model", `{"name":"Arima"}`)
	if r.Status != 409 {
		t.Fatalf("duplicate model: %d", r.Status)
	}
	exactBody(t, r, `{"detail":"Model exists already"}`)
	e.must(201, "/model/insert-model", `{"name":"HODMD"}`)
	exactBody(t, e.get("/model/list-models"), `[{"name":"Arima"},{"name":"HODMD"}]`)

	// Scenarios.
	exactBody(t, e.post("/model/insert-model-scenario", `{"model_name":"Arima","description":"Business as usual"}`), `{"detail":"Model scenario inserted"}`)
	r = e.post("/model/insert-model-scenario", `{"model_name":"Arima","description":"Business as usual"}`)
	wantAnswer(t, r, 409, "Scenario exists already")
	wantAnswer(t, e.post("/model/insert-model-scenario", `{"model_name":"Nope","description":"x"}`), 400, "Model 'Nope' does not exist")
	e.must(201, "/model/insert-model-scenario", `{"model_name":"Arima","description":null}`)
	wantAnswer(t, e.post("/model/insert-model-scenario", `{"model_name":"Arima","description":null}`), 409, "Scenario exists already")
	wantAnswer(t, e.post("/model/insert-model-scenario", `{"model_name":"Arima"}`), 422, "") // description is required, though nullable
	exactBody(t, e.get("/model/list-model-scenarios"),
		`[{"model_name":"Arima","description":"Business as usual"},{"model_name":"Arima","description":null}]`)

	// Measures: insertion order; "" units stay "".
	exactBody(t, e.post("/model/insert-model-measure", `{"name":"Mean temperature","units":"Degrees C","datatype":"float"}`), `{"detail":"Model measure inserted"}`)
	e.must(201, "/model/insert-model-measure", `{"name":"Count","units":"","datatype":"integer"}`)
	exactBody(t, e.post("/model/insert-model-measure", `{"name":"Count","units":"","datatype":"integer"}`), `{"detail":"Model measure exists already"}`)
	wantAnswer(t, e.post("/model/insert-model-measure", `{"name":"x","units":"","datatype":"decimal"}`), 400, "Unknown datatype 'decimal'")
	wantAnswer(t, e.post("/model/insert-model-measure", `{"name":"x","units":null,"datatype":"float"}`), 422, "")
	exactBody(t, e.get("/model/list-model-measures"),
		`[{"name":"Mean temperature","units":"Degrees C","datatype":"float"},{"name":"Count","units":"","datatype":"integer"}]`)

	// A run linked to a sensor; integer literals for a float measure are
	// stored as floats; the answer carries the run id.
	exactBody(t, e.post("/model/insert-model-run", `{"model_name":"Arima","scenario_description":"Business as usual",`+
		`"measures_and_values":[`+
		`{"measure_name":"Mean temperature","values":[291,291.5],"timestamps":["2024-01-05T16:00:00","2024-01-05T15:00:00+00:00"]},`+
		`{"measure_name":"Count","values":[3,4],"timestamps":["2024-01-05T15:00:00Z","2024-01-05T16:00:00.5Z"]}],`+
		`"time_created":"2024-01-05T12:00:00","sensor_unique_id":"TRH1","sensor_measure":{"name":"Temperature","units":"Degrees C"}}`),
		`{"detail":"Model run inserted","id":1}`)
	// A run created now under a new scenario, with an empty series that
	// stores nothing (B14).
	exactBody(t, e.post("/model/insert-model-run", `{"model_name":"Arima","scenario_description":"Hot","create_scenario":true,`+
		`"measures_and_values":[{"measure_name":"Count","values":[],"timestamps":[]},{"measure_name":"Mean temperature","values":[1.5],"timestamps":["2024-01-06"]}]}`),
		`{"detail":"Model run inserted","id":2}`)
	wantAnswer(t, e.post("/model/insert-model-run", `{"model_name":"Arima","scenario_description":"Business as usual","time_created":"2024-01-05T12:00:00Z",`+
		`"measures_and_values":[{"measure_name":"Count","values":[1],"timestamps":["2024-01-05"]}]}`), 409, "Model run exists already")

	exactBody(t, e.post("/model/list-model-runs", `{"model_name":"Arima","dt_from":"2024-01-01","dt_to":"2024-01-31T00:00:00"}`),
		`[{"id":1,"model_id":1,"model_name":"Arima","scenario_id":1,"scenario_description":"Business as usual","time_created":"2024-01-05T12:00:00Z",`+
			`"sensor_unique_id":"TRH1","sensor_measure":{"name":"Temperature","units":"Degrees C"}}]`)
	// The default window is the last week: only run 2.
	var runs []map[string]any
	e.must(200, "/model/list-model-runs", `{"model_name":"Arima"}`).JSON(t, &runs)
	if len(runs) != 1 || runs[0]["id"] != 2.0 || runs[0]["sensor_measure"] != nil || runs[0]["sensor_unique_id"] != nil || runs[0]["scenario_description"] != "Hot" {
		t.Errorf("default window: %v", runs)
	}
	exactBody(t, e.post("/model/list-model-runs", `{"model_name":"Arima","dt_from":"2024-01-01","dt_to":"2024-01-31","scenario":"Hot"}`), `[]`)
	e.must(200, "/model/list-model-runs", `{"model_name":"Arima","dt_from":"2024-01-01","scenario":"Hot"}`).JSON(t, &runs)
	if len(runs) != 1 || runs[0]["id"] != 2.0 {
		t.Errorf("scenario filter: %v", runs)
	}
	exactBody(t, e.post("/model/list-model-runs", `{"model_name":"Nope"}`), `[]`)

	exactBody(t, e.post("/model/get-model-run", `{"run_id":1}`),
		`{"Mean temperature":[{"value":291.5,"timestamp":"2024-01-05T15:00:00Z"},{"value":291.0,"timestamp":"2024-01-05T16:00:00Z"}],`+
			`"Count":[{"value":3,"timestamp":"2024-01-05T15:00:00Z"},{"value":4,"timestamp":"2024-01-05T16:00:00.500000Z"}]}`)
	exactBody(t, e.post("/model/get-model-run", `{"run_id":"2"}`), `{"Mean temperature":[{"value":1.5,"timestamp":"2024-01-06T00:00:00Z"}]}`)
	exactBody(t, e.post("/model/get-model-run", `{"run_id":99}`), `{}`)
	exactBody(t, e.post("/model/get-model-run-sensor-measure", `{"run_id":1}`),
		`{"sensor_unique_id":"TRH1","sensor_measure":{"name":"Temperature","units":"Degrees C"}}`)
	exactBody(t, e.post("/model/get-model-run-sensor-measure", `{"run_id":2}`), `{"sensor_unique_id":null,"sensor_measure":null}`)
	r = e.post("/model/get-model-run-sensor-measure", `{"run_id":99}`)
	if r.Status != 400 {
		t.Errorf("unknown run: %d", r.Status)
	}
	exactBody(t, r, `{"detail":"No such model run"}`)

	// Rows in use cannot be deleted (409); unknown ones are 400.
	wantAnswer(t, e.post("/model/delete-model", `{"name":"Arima"}`), 409, "has 2 runs")
	wantAnswer(t, e.post("/model/delete-model-scenario", `{"model_name":"Arima","description":"Business as usual"}`), 409, "has 1 runs")
	wantAnswer(t, e.post("/model/delete-model-measure", `{"name":"Count"}`), 409, "used by 1 model runs")
	wantAnswer(t, e.post("/model/delete-model", `{"name":"Nope"}`), 400, "Model 'Nope' does not exist")
	wantAnswer(t, e.post("/model/delete-model-scenario", `{"model_name":"Arima","description":"nope"}`), 400, "Scenario 'nope' of model 'Arima' does not exist")
	wantAnswer(t, e.post("/model/delete-model-scenario", `{"model_name":"Nope","description":null}`), 400, "Model 'Nope' does not exist")

	exactBody(t, e.post("/model/delete-model-run", `{"run_id":2}`), `{"detail":"Model run deleted"}`)
	wantAnswer(t, e.post("/model/delete-model-run", `{"run_id":2}`), 400, "No such model run")
	exactBody(t, e.post("/model/delete-model-scenario", `{"model_name":"Arima","description":"Hot"}`), `{"detail":"Model scenario deleted"}`)
	exactBody(t, e.post("/model/delete-model", `{"name":"HODMD"}`), `{"detail":"Model deleted"}`)
	exactBody(t, e.get("/model/list-models"), `[{"name":"Arima"}]`)

	// Measures sharing a name are told apart by units.
	e.must(201, "/model/insert-model-measure", `{"name":"Mean temperature","units":"K","datatype":"float"}`)
	wantAnswer(t, e.post("/model/delete-model-measure", `{"name":"Mean temperature"}`), 400, "ambiguous")
	exactBody(t, e.post("/model/delete-model-measure", `{"name":"Mean temperature","units":"K"}`), `{"detail":"Model measure deleted"}`)
	wantAnswer(t, e.post("/model/delete-model-measure", `{"name":"Nothing"}`), 400, "Model measure 'Nothing' does not exist")
	wantAnswer(t, e.post("/model/delete-model-measure", `{"name":"Count","units":"m"}`), 400, "with units 'm' does not exist")

	// Deleting the last run frees the model, scenario and measures.
	e.must(200, "/model/delete-model-run", `{"run_id":1}`)
	e.must(200, "/model/delete-model-measure", `{"name":"Count"}`)
	e.must(200, "/model/delete-model-scenario", `{"model_name":"Arima","description":"Business as usual"}`)
	e.must(200, "/model/delete-model", `{"name":"Arima"}`)
	exactBody(t, e.get("/model/list-model-scenarios"), `[]`)
}

// TestInsertModelRunErrors lists the ways insert-model-run can be wrong,
// each a JSON 4xx that names the problem and writes nothing.
func TestInsertModelRunErrors(t *testing.T) {
	e := newEnv(t)
	seedModelSensors(e)
	e.must(201, "/model/insert-model", `{"name":"M"}`)
	e.must(201, "/model/insert-model-scenario", `{"model_name":"M","description":"S"}`)
	for _, m := range []string{
		`{"name":"f","units":"u","datatype":"float"}`,
		`{"name":"i","units":"u","datatype":"integer"}`,
		`{"name":"s","units":"","datatype":"string"}`,
		`{"name":"b","units":"","datatype":"boolean"}`,
		`{"name":"dup","units":"a","datatype":"float"}`,
		`{"name":"dup","units":"b","datatype":"float"}`,
	} {
		e.must(201, "/model/insert-model-measure", m)
	}
	body := func(extra string, series ...string) string {
		if len(series) == 0 {
			series = []string{`{"measure_name":"f","values":[1.5],"timestamps":["2024-01-01"]}`}
		}
		b := `{"model_name":"M","scenario_description":"S","measures_and_values":[` + strings.Join(series, ",") + `]`
		if extra != "" {
			b += "," + extra
		}
		return b + "}"
	}
	series := func(measure, values, timestamps string) string {
		return `{"measure_name":"` + measure + `","values":` + values + `,"timestamps":` + timestamps + `}`
	}
	tests := []struct {
		name   string
		body   string
		status int
		detail string
	}{
		{"unknown model", strings.Replace(body(""), `"M"`, `"X"`, 1), 400, "Model 'X' does not exist"},
		{"unknown scenario", strings.Replace(body(""), `"S"`, `"T"`, 1), 400, "Scenario 'T' of model 'M' does not exist; create it or set create_scenario"},
		{"create scenario of an unknown model", strings.Replace(body(`"create_scenario":true`), `"M"`, `"X"`, 1), 400, "Model 'X' does not exist"},
		{"unknown sensor", body(`"sensor_unique_id":"nope"`), 400, "Sensor 'nope' does not exist"},
		{"unknown sensor measure", body(`"sensor_measure":{"name":"Temperature","units":"K"}`), 400, "Sensor measure 'Temperature' with units 'K' does not exist"},
		{"sensor measure null units", body(`"sensor_measure":{"name":"Temperature","units":null}`), 400, "with no units does not exist"},
		{"sensor measure without units key", body(`"sensor_measure":{"name":"Temperature"}`), 422, ""},
		{"unknown measure", body("", series("g", "[1.5]", `["2024-01-01"]`)), 400, "Model measure 'g' does not exist"},
		{"ambiguous measure", body("", series("dup", "[1.5]", `["2024-01-01"]`)), 400, "give measure_units"},
		{"unknown measure units", body("", `{"measure_name":"dup","measure_units":"c","values":[1.5],"timestamps":["2024-01-01"]}`), 400, "with units 'c' does not exist"},
		{"string for float", body("", series("f", `[1.5,"x"]`, `["2024-01-01","2024-01-02"]`)), 400, "values[1]: expected a float value, got a string"},
		{"float for integer", body("", series("i", `[1,2.5]`, `["2024-01-01","2024-01-02"]`)), 400, "values[1]: expected an integer value, got a float"},
		{"boolean for integer", body("", series("i", `[true]`, `["2024-01-01"]`)), 400, "values[0]"},
		{"integer beyond 32 bits", body("", series("i", `[3000000000]`, `["2024-01-01"]`)), 400, "32-bit"},
		{"number for boolean", body("", series("b", `[1]`, `["2024-01-01"]`)), 400, "expected a boolean"},
		{"number for string", body("", series("s", `[1]`, `["2024-01-01"]`)), 400, "expected a string"},
		{"lengths differ", body("", series("f", `[1.5,2.5]`, `["2024-01-01"]`)), 400, "measures_and_values[0]: 2 values but 1 timestamps"},
		{"measure twice", body("", series("f", `[1.5]`, `["2024-01-01"]`), series("f", `[2.5]`, `["2024-01-02"]`)), 400, "listed twice"},
		{"null value", body("", series("f", `[null]`, `["2024-01-01"]`)), 422, ""},
		{"object value", body("", series("f", `[{"a":1}]`, `["2024-01-01"]`)), 422, ""},
		{"NaN value", body("", series("f", `[NaN]`, `["2024-01-01"]`)), 422, ""},
		{"bad timestamp", body("", series("f", `[1.5]`, `["yesterday"]`)), 422, ""},
		{"null scenario", `{"model_name":"M","scenario_description":null,"measures_and_values":[]}`, 422, ""},
		{"no series key", `{"model_name":"M","scenario_description":"S"}`, 422, ""},
		{"series not a list", `{"model_name":"M","scenario_description":"S","measures_and_values":{}}`, 422, ""},
		{"bad time_created", body(`"time_created":"soon"`), 422, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post("/model/insert-model-run", tt.body)
			if r.Status != tt.status || !strings.Contains(string(r.Body), tt.detail) {
				t.Fatalf("got %d %s, want %d containing %q", r.Status, r.Body, tt.status, tt.detail)
			}
		})
	}
	exactBody(t, e.post("/model/list-model-runs", `{"model_name":"M","dt_from":"2000-01-01"}`), `[]`)

	// The units resolve an ambiguous name.
	// (On PostgreSQL the failed inserts above used up ids.)
	var ok insertModelRunResponse
	e.must(201, "/model/insert-model-run", body(`"time_created":"2024-01-01"`, `{"measure_name":"dup","measure_units":"b","values":[1.5],"timestamps":["2024-01-01"]}`)).JSON(t, &ok)
	if ok.Detail != "Model run inserted" || ok.ID == 0 {
		t.Errorf("insert with measure_units: %+v", ok)
	}
}

// TestModelRunComparisonAPI checks the comparison read and its metrics
// against numbers worked out by hand.
func TestModelRunComparisonAPI(t *testing.T) {
	e := newEnv(t)
	seedModelSensors(e)
	t0 := time.Date(2024, 1, 5, 15, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	// 14:00 and 18:30 fall outside every window; 16:55 and 17:05 are
	// averaged to 20.
	modelReadings(e, "Temperature", []time.Time{at(-60), at(0), at(65), at(115), at(125), at(210)}, []float64{99, 10, 12, 19, 21, 50})
	for _, m := range []string{"Mean", "Upper Bound", "Lower Bound"} {
		e.must(201, "/model/insert-model-measure", `{"name":"`+m+` Temperature","units":"Degrees C","datatype":"float"}`)
	}
	e.must(201, "/model/insert-model", `{"name":"Arima"}`)
	stamps := `["2024-01-05T15:00:00Z","2024-01-05T16:00:00Z","2024-01-05T17:00:00Z","2024-01-05T18:00:00Z"]`
	e.must(201, "/model/insert-model-run", `{"model_name":"Arima","scenario_description":"Business as usual","create_scenario":true,`+
		`"time_created":"2024-01-05T14:00:00Z","sensor_unique_id":"TRH1","sensor_measure":{"name":"Temperature","units":"Degrees C"},"measures_and_values":[`+
		`{"measure_name":"Mean Temperature","values":[11,11,18,30],"timestamps":`+stamps+`},`+
		`{"measure_name":"Upper Bound Temperature","values":[12,13,19,31],"timestamps":`+stamps+`},`+
		`{"measure_name":"Lower Bound Temperature","values":[10,9,17,29],"timestamps":`+stamps+`}]}`)

	r := e.must(200, "/model/get-model-run-comparison", `{"run_id":1}`)
	var got struct {
		Run              modelRunBody                `json:"run"`
		Forecast         map[string][]map[string]any `json:"forecast"`
		Observed         []map[string]any            `json:"observed"`
		ToleranceMinutes float64                     `json:"tolerance_minutes"`
		Metrics          []forecastSkillBody         `json:"metrics"`
		Details          json.RawMessage             `json:"details"`
	}
	r.JSON(t, &got)
	if got.Run.ID != 1 || *got.Run.SensorUniqueID != "TRH1" || len(got.Forecast) != 3 || len(got.Forecast["Mean Temperature"]) != 4 ||
		got.ToleranceMinutes != 15 || string(got.Details) != "null" {
		t.Fatalf("comparison: %s", r.Body)
	}
	if !strings.Contains(string(r.Body), `"observed":[{"value":10.0,"timestamp":"2024-01-05T15:00:00Z"},{"value":12.0,"timestamp":"2024-01-05T16:05:00Z"},`+
		`{"value":19.0,"timestamp":"2024-01-05T16:55:00Z"},{"value":21.0,"timestamp":"2024-01-05T17:05:00Z"}]`) {
		t.Errorf("observed: %s", r.Body)
	}
	// Pairs (observed, mean, lower, upper): (10, 11, 10, 12), (12, 11, 9,
	// 13), (20, 18, 17, 19); 18:00 has none. |errors| 1, 1, 2: MAE 4/3,
	// RMSE sqrt((1+1+4)/3) = sqrt(2), coverage 2/3.
	if len(got.Metrics) != 1 {
		t.Fatalf("metrics: %+v", got.Metrics)
	}
	m := got.Metrics[0]
	near := func(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-12 }
	if m.Measure != "Mean Temperature" || *m.LowerBound != "Lower Bound Temperature" || *m.UpperBound != "Upper Bound Temperature" || m.N != 3 ||
		!near(m.MAE, 4.0/3) || !near(m.RMSE, math.Sqrt2) || !near(m.Coverage, 2.0/3) {
		t.Errorf("metrics: %s", r.Body)
	}

	// A narrower window pairs 15:00 and 16:05 only... with 2 minutes, just 15:00.
	e.must(200, "/model/get-model-run-comparison", `{"run_id":1,"tolerance_minutes":2}`).JSON(t, &got)
	if m := got.Metrics[0]; m.N != 1 || !near(m.MAE, 1) || !near(m.Coverage, 1) {
		t.Errorf("narrow metrics: %+v", m)
	}
	wantAnswer(t, e.post("/model/get-model-run-comparison", `{"run_id":9}`), 400, "No such model run")
	wantAnswer(t, e.post("/model/get-model-run-comparison", `{"run_id":1,"tolerance_minutes":0}`), 422, "")
	wantAnswer(t, e.post("/model/get-model-run-comparison", `{"run_id":1,"tolerance_minutes":"x"}`), 422, "")
}

// TestRunARIMAAPI runs the forecaster through the API on 12 days of hourly
// readings with a daily cycle, then scores it against what "happened".
func TestRunARIMAAPI(t *testing.T) {
	e := newEnv(t)
	seedModelSensors(e)
	end := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	cycle := func(t time.Time) float64 { return 20 + 5*math.Sin(2*math.Pi*float64(t.Hour())/24) }
	rng := rand.New(rand.NewPCG(5, 5))
	var ts []time.Time
	var vs []float64
	for t := end.AddDate(0, 0, -12); !t.After(end); t = t.Add(time.Hour) {
		ts, vs = append(ts, t), append(vs, cycle(t)+0.3*rng.NormFloat64())
	}
	modelReadings(e, "Temperature", ts, vs)

	params := `{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"num_days_training":12,"predict_from":"` + dtbase.FormatTime(end) +
		`","hours_forecast":24,"cv":true,"cv_folds":2}`
	wantAnswer(t, e.do(http.MethodPost, "/model/run-arima", params, e.as(dtbase.RoleViewer)), 403, "editor")
	r := e.must(201, "/model/run-arima", params)
	var res runARIMAResponse
	r.JSON(t, &res)
	if res.Detail != "ARIMA forecasts inserted" || len(res.Runs) != 1 {
		t.Fatalf("run-arima: %s", r.Body)
	}
	run := res.Runs[0]
	if run.SensorUniqueID != "TRH1" || run.SensorMeasure.Name != "Temperature" || *run.SensorMeasure.Units != "Degrees C" ||
		run.Spec != "(4,1,2)(1,1,0)24 trend=n" || run.Hours != 12*24+1 || run.CV == nil || len(run.CV.PerFold) != 2 ||
		time.Time(run.ForecastFrom) != end.Add(time.Hour) || time.Time(run.ForecastTo) != end.Add(24*time.Hour) {
		t.Fatalf("run: %s", r.Body)
	}
	exactBody(t, e.get("/model/list-model-measures"), `[{"name":"Mean Temperature","units":"Degrees C","datatype":"float"},`+
		`{"name":"Upper Bound Temperature","units":"Degrees C","datatype":"float"},{"name":"Lower Bound Temperature","units":"Degrees C","datatype":"float"}]`)
	exactBody(t, e.post("/model/get-model-run-sensor-measure", fmt.Sprintf(`{"run_id":%d}`, run.RunID)),
		`{"sensor_unique_id":"TRH1","sensor_measure":{"name":"Temperature","units":"Degrees C"}}`)
	var out map[string][]struct {
		Value     float64 `json:"value"`
		Timestamp string  `json:"timestamp"`
	}
	e.must(200, "/model/get-model-run", fmt.Sprintf(`{"run_id":%d}`, run.RunID)).JSON(t, &out)
	if len(out) != 3 || len(out["Mean Temperature"]) != 24 || len(out["Lower Bound Temperature"]) != 24 {
		t.Fatalf("outputs: %v", out)
	}

	// Before the future happens there is nothing to score.
	var cmp struct {
		Observed []any               `json:"observed"`
		Metrics  []forecastSkillBody `json:"metrics"`
		Details  struct {
			Spec string `json:"spec"`
			CV   struct {
				Folds int `json:"folds"`
			} `json:"cv"`
		} `json:"details"`
	}
	e.must(200, "/model/get-model-run-comparison", fmt.Sprintf(`{"run_id":%d}`, run.RunID)).JSON(t, &cmp)
	if len(cmp.Observed) != 0 || len(cmp.Metrics) != 1 || cmp.Metrics[0].N != 0 || cmp.Metrics[0].MAE != nil || cmp.Details.Spec == "" || cmp.Details.CV.Folds != 2 {
		t.Fatalf("comparison before observations: %+v", cmp)
	}
	// Then it does, and the forecast is close and mostly covered.
	ts, vs = nil, nil
	for t := end.Add(time.Hour); !t.After(end.Add(24 * time.Hour)); t = t.Add(time.Hour) {
		ts, vs = append(ts, t), append(vs, cycle(t)+0.3*rng.NormFloat64())
	}
	modelReadings(e, "Temperature", ts, vs)
	e.must(200, "/model/get-model-run-comparison", fmt.Sprintf(`{"run_id":%d}`, run.RunID)).JSON(t, &cmp)
	if m := cmp.Metrics[0]; m.N != 24 || *m.MAE > 1 || *m.Coverage < 0.3 {
		t.Errorf("skill after observations: n=%d mae=%v coverage=%v", m.N, *m.MAE, *m.Coverage)
	}

	// Automatic order selection.
	var auto runARIMAResponse
	e.must(201, "/model/run-arima", `{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"num_days_training":12,"predict_from":"`+
		dtbase.FormatTime(end)+`","hours_forecast":6,"auto":true}`).JSON(t, &auto)
	if len(auto.Runs) != 1 || auto.Runs[0].Spec == "" || auto.Runs[0].RunID == run.RunID {
		t.Fatalf("auto: %+v", auto)
	}
	e.must(200, "/model/delete-model-run", fmt.Sprintf(`{"run_id":%d}`, auto.Runs[0].RunID))

	// Bad parameters and bad data are 4xx and write nothing more.
	for _, tt := range []struct {
		body   string
		status int
		detail string
	}{
		{`{"sensors":["NOPE"],"measures":[{"name":"Temperature"}]}`, 400, "Sensor 'NOPE' does not exist"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature","units":"K"}],"predict_from":"2024-03-01T12:00:00"}`, 400, "has no measure 'Temperature' with units 'K'"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Humidity"}],"predict_from":"2024-03-01T12:00:00"}`, 400, "no readings in the training window"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"order":[1,2]}`, 422, "order must be [p, d, q]"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"seasonal_order":[1,1,0]}`, 422, "seasonal_order"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"order":[-1,1,0]}`, 400, "order:"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"trend":"x"}`, 400, "unknown trend"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"fill":"zero"}`, 400, "fill must be"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"alpha":0}`, 400, "alpha"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"mins_from_the_hour":45}`, 400, "mins_from_the_hour"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"mins_from_the_hour":307445735}`, 400, "got 307445735"},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"mins_from_the_hour":1000000000000}`, 400, "got 1000000000000"},
		{`{"sensors":[],"measures":[{"name":"Temperature"}]}`, 400, "sensors"},
		{`{"sensors":["TRH1"],"measures":[]}`, 400, "measures"},
		{`{"sensors":"TRH1","measures":[{"name":"Temperature"}]}`, 422, ""},
		{`{"sensors":["TRH1"],"measures":["Temperature"]}`, 422, ""},
		{`{"sensors":["TRH1"],"measures":[{"name":"Temperature"}],"num_days_training":"lots"}`, 422, ""},
	} {
		r := e.post("/model/run-arima", tt.body)
		if r.Status != tt.status || !strings.Contains(string(r.Body), tt.detail) {
			t.Errorf("%s: got %d %s, want %d containing %q", tt.body, r.Status, r.Body, tt.status, tt.detail)
		}
	}
	var runs []any
	e.must(200, "/model/list-model-runs", `{"model_name":"Arima","dt_from":"2000-01-01"}`).JSON(t, &runs)
	if len(runs) != 1 {
		t.Errorf("%d runs after failed calls, want 1", len(runs))
	}
}

// TestModelRoles: viewers read, editors write.
func TestModelRoles(t *testing.T) {
	e := newEnv(t)
	e.must(201, "/model/insert-model", `{"name":"M"}`)
	viewer, editor := e.as(dtbase.RoleViewer), e.as(dtbase.RoleEditor)
	reads := []struct{ method, path, body string }{
		{http.MethodGet, "/model/list-models", ""},
		{http.MethodGet, "/model/list-model-scenarios", ""},
		{http.MethodGet, "/model/list-model-measures", ""},
		{http.MethodPost, "/model/list-model-runs", `{"model_name":"M"}`},
		{http.MethodPost, "/model/get-model-run", `{"run_id":1}`},
	}
	for _, rd := range reads {
		var body any
		if rd.body != "" {
			body = rd.body
		}
		if r := e.do(rd.method, rd.path, body, viewer); r.Status != 200 {
			t.Errorf("viewer %s: %d %s", rd.path, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/model/insert-model", "/model/delete-model", "/model/insert-model-scenario", "/model/delete-model-scenario",
		"/model/insert-model-measure", "/model/delete-model-measure", "/model/insert-model-run", "/model/delete-model-run", "/model/run-arima"} {
		if r := e.do(http.MethodPost, path, `{}`, viewer); r.Status != 403 {
			t.Errorf("viewer %s: %d, want 403", path, r.Status)
		}
	}
	if r := e.do(http.MethodPost, "/model/insert-model", `{"name":"N"}`, editor); r.Status != 201 {
		t.Errorf("editor insert-model: %d %s", r.Status, r.Body)
	}
	if r := e.do(http.MethodPost, "/model/insert-model", `{"name":"N"}`, ""); r.Status != 401 {
		t.Errorf("no token: %d", r.Status)
	}
}

// TestModelMalformedBodies sends bodies of the wrong shape to every model
// endpoint: each is a JSON 422 (or 400 for a well-formed but meaningless
// request), never a 500.
func TestModelMalformedBodies(t *testing.T) {
	e := newEnv(t)
	long := `"` + strings.Repeat("x", 101) + `"`
	tests := []struct {
		path, body string
		status     int
	}{
		{"/model/insert-model", `{}`, 422},
		{"/model/insert-model", `{"name":5}`, 422},
		{"/model/insert-model", `{"name":null}`, 422},
		{"/model/insert-model", `{"name":` + long + `}`, 422},
		{"/model/insert-model", `["name"]`, 422},
		{"/model/insert-model", `{"name":`, 422},
		{"/model/delete-model", `{"name":true}`, 422},
		{"/model/insert-model-scenario", `{"model_name":"M"}`, 422},
		{"/model/insert-model-scenario", `{"model_name":1,"description":null}`, 422},
		{"/model/insert-model-scenario", `{"model_name":"M","description":[1]}`, 422},
		{"/model/delete-model-scenario", `{"description":"x"}`, 422},
		{"/model/insert-model-measure", `{"name":"x","units":"u"}`, 422},
		{"/model/insert-model-measure", `{"name":"x","units":"u","datatype":1}`, 422},
		{"/model/insert-model-measure", `{"name":"x","units":` + long + `,"datatype":"float"}`, 422},
		{"/model/insert-model-measure", `{"name":"x","units":"u","datatype":"Float"}`, 400},
		{"/model/delete-model-measure", `{"units":"u"}`, 422},
		{"/model/delete-model-measure", `{"name":"x","units":5}`, 422},
		{"/model/insert-model-run", `{}`, 422},
		{"/model/insert-model-run", `{"model_name":"M","scenario_description":"S","measures_and_values":[{"measure_name":"f"}]}`, 422},
		{"/model/insert-model-run", `{"model_name":"M","scenario_description":"S","measures_and_values":[5]}`, 422},
		{"/model/insert-model-run", `{"model_name":"M","scenario_description":"S","measures_and_values":[],"create_scenario":"maybe"}`, 422},
		{"/model/insert-model-run", `{"model_name":"M","scenario_description":"S","measures_and_values":[],"sensor_measure":"T"}`, 422},
		{"/model/list-model-runs", `{}`, 422},
		{"/model/list-model-runs", `{"model_name":"M","dt_from":"last week"}`, 422},
		{"/model/list-model-runs", `{"model_name":"M","scenario":3}`, 422},
		{"/model/get-model-run", `{}`, 422},
		{"/model/get-model-run", `{"run_id":1.5}`, 422},
		{"/model/get-model-run", `{"run_id":"one"}`, 422},
		{"/model/get-model-run", `{"run_id":1e30}`, 422},
		{"/model/get-model-run-sensor-measure", `{"run_id":null}`, 422},
		{"/model/get-model-run-comparison", `{"run_id":[1]}`, 422},
		{"/model/delete-model-run", `{"run_id":{}}`, 422},
		{"/model/run-arima", `{}`, 422},
		{"/model/run-arima", `{"sensors":["a"],"measures":[{"units":"u"}]}`, 422},
		{"/model/run-arima", `{"sensors":["a"],"measures":[{"name":"m"}],"order":["4","x","2"]}`, 422},
		{"/model/run-arima", `{"sensors":["a"],"measures":[{"name":"m"}],"cv":"sometimes"}`, 422},
		{"/model/run-arima", `{"sensors":["a"],"measures":[{"name":"m"}],"auto":[true]}`, 422},
		{"/model/run-arima", `{"sensors":["a"],"measures":[{"name":"m"}],"auto":true,"seasonal_order":[0,0,0,-1]}`, 400},
		{"/model/run-arima", `{"sensors":["a"],"measures":[{"name":"m"}],"predict_from":"tomorrow"}`, 422},
		{"/model/run-arima", `{"sensors":["a"],"measures":[{"name":"m"}],"hours_forecast":100000}`, 400},
		{"/model/run-arima", `{"sensors":["a"],"measures":[{"name":"m"}],"cv":true,"cv_folds":0}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.body, func(t *testing.T) {
			r := e.post(tt.path, tt.body)
			if r.Status != tt.status {
				t.Fatalf("got %d %s, want %d", r.Status, r.Body, tt.status)
			}
			var d struct {
				Detail json.RawMessage `json:"detail"`
			}
			if json.Unmarshal(r.Body, &d) != nil || len(d.Detail) == 0 {
				t.Fatalf("no JSON detail: %s", r.Body)
			}
		})
	}
}

// TestModelOpenAPI checks that every model endpoint is documented.
func TestModelOpenAPI(t *testing.T) {
	e := newEnv(t)
	r := e.get("/openapi.json")
	var doc struct {
		Paths map[string]map[string]struct {
			Summary string `json:"summary"`
		} `json:"paths"`
	}
	r.JSON(t, &doc)
	for _, p := range []string{"insert-model", "list-models", "delete-model", "insert-model-scenario", "list-model-scenarios",
		"delete-model-scenario", "insert-model-measure", "list-model-measures", "delete-model-measure", "insert-model-run",
		"list-model-runs", "get-model-run", "get-model-run-sensor-measure", "delete-model-run", "get-model-run-comparison", "run-arima"} {
		ops := doc.Paths["/model/"+p]
		if len(ops) != 1 {
			t.Errorf("/model/%s: %v", p, ops)
		}
		for _, op := range ops {
			if op.Summary == "" {
				t.Errorf("/model/%s has no summary", p)
			}
		}
	}
	if !strings.Contains(string(r.Body), "one key per model measure of the run") {
		t.Error("get-model-run's dynamic keys are not described")
	}
}
