package forecast_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/forecast"
	"github.com/dtbase/dtbase/forecast/arima"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func ptr[T any](v T) *T { return &v }

// end is where the synthetic series end and forecasts start from.
var end = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// truth is the noise-free daily cycle of the synthetic temperature.
func truth(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 20 + 5*math.Sin(2*math.Pi*h/24)
}

// fixture is a database with a sensor type TRH (Temperature, Humidity,
// and a string measure Status), and sensors added by the tests.
type fixture struct {
	t  testing.TB
	db *sqldb.DB
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db := sqldbtest.Open(t)
	err := db.CreateSensorType(context.Background(), &dtbase.SensorType{Name: "TRH", Measures: []dtbase.Measure{
		{Name: "Temperature", Units: ptr("Degrees C"), Datatype: dtbase.Float},
		{Name: "Humidity", Units: ptr("Percent"), Datatype: dtbase.Float},
		{Name: "Status", Units: nil, Datatype: dtbase.String},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, db: db}
}

func (f *fixture) sensor(uid string) {
	f.t.Helper()
	if err := f.db.CreateSensor(context.Background(), &dtbase.Sensor{UniqueIdentifier: uid, TypeName: "TRH"}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) readings(uid, measure string, ts []time.Time, values []dtbase.Value) {
	f.t.Helper()
	if _, err := f.db.InsertReadings(context.Background(), []dtbase.ReadingSeries{{UniqueIdentifier: uid, MeasureName: measure, Values: values, Timestamps: ts}}); err != nil {
		f.t.Fatal(err)
	}
}

// synthetic writes days of readings every 10 minutes ending at end: the
// daily cycle plus AR(1) noise (humidity is 80 minus twice the
// temperature's deviation). gapHours hours before the last 2 days have no
// readings, to be filled.
func (f *fixture) synthetic(uid string, days, gapHours int, seed uint64) {
	f.t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var ts []time.Time
	var temp, hum []dtbase.Value
	gapEnd := end.Add(-48 * time.Hour)
	gapStart := gapEnd.Add(-time.Duration(gapHours) * time.Hour)
	noise := 0.0
	for t := end.AddDate(0, 0, -days); !t.After(end); t = t.Add(10 * time.Minute) {
		noise = 0.7*noise + 0.25*r.NormFloat64()
		if h := t.Round(time.Hour); !h.Before(gapStart) && h.Before(gapEnd) {
			continue
		}
		v := truth(t) + noise
		ts = append(ts, t)
		temp = append(temp, dtbase.FloatValue(v))
		hum = append(hum, dtbase.FloatValue(80-2*(v-20)))
	}
	f.readings(uid, "Temperature", ts, temp)
	f.readings(uid, "Humidity", ts, hum)
}

func params(sensors []string, measures ...string) dtbase.ForecastParams {
	p := dtbase.DefaultForecastParams()
	p.Sensors = sensors
	for _, m := range measures {
		p.Measures = append(p.Measures, dtbase.ForecastMeasure{Name: m})
	}
	p.PredictFrom = end
	return p
}

// topKeys returns the keys of a JSON object in order.
func topKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// newService is the forecast service with the ARIMA family on db; a nil
// now is the system clock.
func newService(db *sqldb.DB, now func() time.Time) *forecast.Service {
	return &forecast.Service{Store: db, Families: map[string]forecast.ModelFamily{arima.Family: arima.NewForecaster}, Now: now}
}

func count(t testing.TB, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestServiceEndToEnd fits the original's default model on 60 days of
// readings with a known daily cycle and checks what is written.
func TestServiceEndToEnd(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.sensor("TRH1")
	f.synthetic("TRH1", 60, 5, 1)
	now := end.Add(10 * time.Minute)
	svc := newService(f.db, func() time.Time { return now })

	runs, err := svc.RunForecasts(ctx, params([]string{"TRH1"}, "Temperature"))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("runs = %+v", runs)
	}
	rr := runs[0]
	if time.Time(rr.TrainingTo) != end || time.Time(rr.ForecastFrom) != end.Add(time.Hour) || time.Time(rr.ForecastTo) != end.Add(48*time.Hour) ||
		rr.Hours != 60*24+1 || rr.ObservedHours != rr.Hours-5 || !time.Time(rr.TimeCreated).Equal(now) || rr.Spec != "(4,1,2)(1,1,0)24 trend=n" {
		t.Fatalf("result = %+v", rr)
	}

	run, err := f.db.FindModelRun(ctx, rr.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.ModelName != "Arima" || *run.ScenarioDescription != "Business as usual" || *run.SensorUniqueID != "TRH1" ||
		run.SensorMeasure.Name != "Temperature" || *run.SensorMeasure.Units != "Degrees C" {
		t.Fatalf("run = %+v", run)
	}
	var det struct {
		Service   string             `json:"service"`
		Converged bool               `json:"converged"`
		Spec      string             `json:"spec"`
		Params    map[string]float64 `json:"params"`
		Training  struct {
			Hours       int    `json:"hours"`
			FilledHours int    `json:"filled_hours"`
			Fill        string `json:"fill"`
		} `json:"training"`
		CV *json.RawMessage `json:"cv"`
	}
	if err := json.Unmarshal(run.Details, &det); err != nil {
		t.Fatal(err)
	}
	// The keys in the order clients have seen since the first release.
	if keys := topKeys(t, run.Details); strings.Join(keys, ",") !=
		"service,auto,spec,order,seasonal_order,trend,params,log_likelihood,aic,bic,converged,alpha,hours_forecast,training,cv" {
		t.Errorf("details keys %v", keys)
	}
	if det.Service != "arima" || !det.Converged || det.Spec != "(4,1,2)(1,1,0)24 trend=n" || len(det.Params) != 8 || det.Training.FilledHours != 5 || det.Training.Fill != "interpolate" || det.CV != nil {
		t.Fatalf("details = %s", run.Details)
	}

	outputs, err := f.db.FindModelRunOutputs(ctx, rr.RunID)
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"Mean Temperature", "Upper Bound Temperature", "Lower Bound Temperature"}
	if len(outputs) != 3 {
		t.Fatalf("outputs = %+v", outputs)
	}
	for i, o := range outputs {
		if o.Measure.Name != wantNames[i] || o.Measure.Units != "Degrees C" || o.Measure.Datatype != dtbase.Float || len(o.Points) != 48 {
			t.Fatalf("output %d = %+v", i, o.Measure)
		}
	}
	// The mean follows the daily cycle; the 68% interval holds it, and is
	// about ±0.25/sqrt(1-0.49) ≈ ±0.35 wide a step ahead, wider later.
	var absErr float64
	for i := range 48 {
		ts := outputs[0].Points[i].Time
		mean, up, lo := outputs[0].Points[i].Value.F, outputs[1].Points[i].Value.F, outputs[2].Points[i].Value.F
		if ts != end.Add(time.Duration(i+1)*time.Hour) || outputs[1].Points[i].Time != ts || outputs[2].Points[i].Time != ts {
			t.Fatalf("step %d at %v", i, ts)
		}
		if !(lo < mean && mean < up) || up-lo > 4 || up-lo < 0.2 {
			t.Fatalf("step %d: interval [%v, %v] around %v", i, lo, up, mean)
		}
		absErr += math.Abs(mean - truth(ts))
	}
	mae := absErr / 48
	t.Logf("forecast MAE against the true cycle: %.3f", mae)
	if mae > 0.5 {
		t.Errorf("forecast MAE against the true cycle = %.3f, want < 0.5", mae)
	}

	// Running again reuses the model, scenario and measures and adds a run.
	now = now.Add(time.Hour)
	p := params([]string{"TRH1"}, "Temperature")
	p.TrainingDays = 10
	runs2, err := svc.RunForecasts(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if runs2[0].RunID == rr.RunID {
		t.Fatal("rerun did not add a run")
	}
	for table, want := range map[string]int{"model": 1, "model_scenario": 1, "model_measure": 3, "model_run": 2, "model_product": 6} {
		if got := count(t, f.db, table); got != want {
			t.Errorf("%s has %d rows after a rerun, want %d", table, got, want)
		}
	}
}

// TestServiceSeveralSeries forecasts two measures of two sensors in one
// call, with measures named by units and with cross-validation.
func TestServiceSeveralSeries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.sensor("A")
	f.sensor("B")
	f.synthetic("A", 12, 0, 2)
	f.synthetic("B", 12, 3, 3)
	now := end
	svc := newService(f.db, func() time.Time { return now })
	p := params([]string{"A", "B"})
	p.Measures = []dtbase.ForecastMeasure{{Name: "Temperature", Units: ptr("Degrees C")}, {Name: "Humidity"}}
	p.TrainingDays = 12
	p.HoursForecast = 24
	p.CV, p.CVFolds = true, 2
	p.Fill = dtbase.FillCarry
	runs, err := svc.RunForecasts(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 4 {
		t.Fatalf("runs = %+v", runs)
	}
	want := [][2]string{{"A", "Temperature"}, {"A", "Humidity"}, {"B", "Temperature"}, {"B", "Humidity"}}
	for i, r := range runs {
		if r.SensorUniqueID != want[i][0] || r.SensorMeasure.Name != want[i][1] || !time.Time(r.TimeCreated).Equal(now.Add(time.Duration(i)*time.Microsecond)) {
			t.Errorf("run %d = %s/%s at %v", i, r.SensorUniqueID, r.SensorMeasure.Name, r.TimeCreated)
		}
		if r.CV == nil || r.CV.Error != "" || r.CV.Folds != 2 || len(r.CV.PerFold) != 2 || r.CV.MAE == nil || *r.CV.MAE > 1.5 || r.CV.Coverage == nil {
			t.Errorf("run %d cross-validation = %+v", i, r.CV)
		}
	}
	if got := count(t, f.db, "model_measure"); got != 6 {
		t.Errorf("%d model measures, want 6 (Mean, Upper Bound, Lower Bound of two measures)", got)
	}
	ms, _ := f.db.ListModelMeasures(ctx)
	if ms[3].Name != "Mean Humidity" || ms[3].Units != "Percent" {
		t.Errorf("measures = %+v", ms)
	}
}

// TestServiceFillNone leaves a gap to the Kalman filter as missing values.
func TestServiceFillNone(t *testing.T) {
	f := newFixture(t)
	f.sensor("TRH1")
	f.synthetic("TRH1", 10, 7, 6)
	svc := newService(f.db, func() time.Time { return end })
	p := params([]string{"TRH1"}, "Temperature")
	p.TrainingDays, p.Fill, p.CV, p.CVFolds = 10, dtbase.FillNone, true, 2
	runs, err := svc.RunForecasts(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	r := runs[0]
	if r.Hours != 241 || r.ObservedHours != 234 || r.CV == nil || r.CV.Error != "" {
		t.Fatalf("result = %+v, cv %+v", r, r.CV)
	}
	outputs, err := f.db.FindModelRunOutputs(context.Background(), r.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outputs {
		for _, pt := range o.Points {
			if math.IsNaN(pt.Value.F) || math.IsInf(pt.Value.F, 0) {
				t.Fatalf("%s has %v", o.Measure.Name, pt.Value.F)
			}
		}
	}
}

// TestServiceAuto chooses the order automatically.
func TestServiceAuto(t *testing.T) {
	f := newFixture(t)
	f.sensor("TRH1")
	f.synthetic("TRH1", 10, 0, 8)
	svc := newService(f.db, func() time.Time { return end })
	p := params([]string{"TRH1"}, "Temperature")
	p.TrainingDays, p.Model.Auto, p.HoursForecast = 10, true, 24
	p.Model.Settings = map[string]any{"order": []int{99, 0, 0}, "seasonal_order": []int{0, 0, 0, 24}} // orders are ignored
	start := time.Now()
	runs, err := svc.RunForecasts(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	r := runs[0]
	t.Logf("auto chose %v in %v", r.Spec, time.Since(start))
	if seasonal := strings.Count(r.Spec, "(") == 2; seasonal && !strings.Contains(r.Spec, ")24 ") {
		t.Errorf("spec %s, want season 24", r.Spec)
	}
	run, err := f.db.FindModelRun(context.Background(), r.RunID)
	if err != nil || !strings.Contains(string(run.Details), `"auto":true`) {
		t.Fatalf("details %s, %v", run.Details, err)
	}
	p.Model.Settings["seasonal_order"] = []int{0, 0, 0, 1000}
	if _, err := svc.RunForecasts(context.Background(), p); dtbase.ErrorCode(err) != dtbase.EINVALID {
		t.Errorf("season 1000: %v", err)
	}
}

// TestServiceBadData checks that data the model cannot be fitted to is a
// clear client error that writes nothing.
func TestServiceBadData(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.sensor("GOOD")
	f.synthetic("GOOD", 8, 0, 4)
	hourly := func(n int, v func(i int) float64) ([]time.Time, []dtbase.Value) {
		var ts []time.Time
		var vs []dtbase.Value
		for i := range n {
			ts = append(ts, end.Add(-time.Duration(n-1-i)*time.Hour))
			vs = append(vs, dtbase.FloatValue(v(i)))
		}
		return ts, vs
	}
	add := func(uid string, gen func() ([]time.Time, []dtbase.Value)) {
		ts, vs := gen()
		f.sensor(uid)
		f.readings(uid, "Temperature", ts, vs)
	}
	add("SHORT", func() ([]time.Time, []dtbase.Value) { return hourly(40, func(i int) float64 { return float64(i % 7) }) })
	add("CONST", func() ([]time.Time, []dtbase.Value) { return hourly(300, func(int) float64 { return 21.5 }) })
	add("CYCLE", func() ([]time.Time, []dtbase.Value) { // a perfect daily cycle: nothing left after differencing
		return hourly(300, func(i int) float64 { return float64(i % 24) })
	})
	add("HALFPAST", func() ([]time.Time, []dtbase.Value) {
		ts, vs := hourly(300, func(i int) float64 { return float64(i) })
		for i := range ts {
			ts[i] = ts[i].Add(-30 * time.Minute)
		}
		return ts, vs
	})
	add("SPARSE", func() ([]time.Time, []dtbase.Value) {
		ts, vs := hourly(300, func(i int) float64 { return math.Sin(float64(i)) })
		var ts2 []time.Time
		var vs2 []dtbase.Value
		for i := range ts {
			if i%3 == 0 || i == len(ts)-1 {
				ts2, vs2 = append(ts2, ts[i]), append(vs2, vs[i])
			}
		}
		return ts2, vs2
	})
	add("STALE", func() ([]time.Time, []dtbase.Value) {
		ts, vs := hourly(300, func(i int) float64 { return math.Sin(float64(i)) })
		return ts[:200], vs[:200]
	})
	f.sensor("EMPTY")

	tests := []struct {
		name    string
		sensors []string
		measure string
		edit    func(*dtbase.ForecastParams)
		code    string
		detail  string
	}{
		{"unknown sensor", []string{"NOPE"}, "Temperature", nil, dtbase.ENOTFOUND, "Sensor 'NOPE' does not exist"},
		{"measure the type lacks", []string{"GOOD"}, "Pressure", nil, dtbase.ENOTFOUND, "has no measure 'Pressure'"},
		{"string measure", []string{"GOOD"}, "Status", nil, dtbase.EINVALID, "needs numbers"},
		{"no readings", []string{"EMPTY"}, "Temperature", nil, dtbase.EINVALID, "no readings in the training window"},
		{"window before the data", []string{"GOOD"}, "Temperature", func(p *dtbase.ForecastParams) { p.PredictFrom = end.AddDate(0, 0, -30) },
			dtbase.EINVALID, "no readings in the training window"},
		{"too little data", []string{"SHORT"}, "Temperature", nil, dtbase.EINVALID, "too little data"},
		{"constant", []string{"CONST"}, "Temperature", nil, dtbase.EINVALID, "the series is constant (21.5"},
		{"constant after differencing", []string{"CYCLE"}, "Temperature", nil, dtbase.EINVALID, "constant after differencing"},
		{"readings off the hour", []string{"HALFPAST"}, "Temperature", nil, dtbase.EINVALID, "lies within 15m0s of an hour"},
		{"mostly missing", []string{"SPARSE"}, "Temperature", nil, dtbase.EINVALID, "have readings (34%)"},
		{"stale", []string{"STALE"}, "Temperature", nil, dtbase.EINVALID, "too old to forecast"},
		{"one bad sensor of two", []string{"GOOD", "CONST"}, "Temperature", nil, dtbase.EINVALID, "sensor 'CONST'"},
		{"unknown fill", []string{"GOOD"}, "Temperature", func(p *dtbase.ForecastParams) { p.Fill = "zero" }, dtbase.EINVALID, "fill must be"},
		{"bad alpha", []string{"GOOD"}, "Temperature", func(p *dtbase.ForecastParams) { p.Alpha = 1 }, dtbase.EINVALID, "alpha"},
		{"bad order", []string{"GOOD"}, "Temperature", func(p *dtbase.ForecastParams) { p.Model.Settings = map[string]any{"order": []int{30, 1, 2}} }, dtbase.EINVALID, "order:"},
		{"too many days", []string{"GOOD"}, "Temperature", func(p *dtbase.ForecastParams) { p.TrainingDays = 400 }, dtbase.EINVALID, "num_days_training"},
		{"no sensors", nil, "Temperature", nil, dtbase.EINVALID, "sensors"},
		{"unknown family", []string{"GOOD"}, "Temperature", func(p *dtbase.ForecastParams) { p.Model.Family = "prophet" }, dtbase.EINVALID, `unknown model family "prophet"`},
		{"bad setting", []string{"GOOD"}, "Temperature", func(p *dtbase.ForecastParams) { p.Model.Settings = map[string]any{"order": "4,1,2"} }, dtbase.EINVALID, "order must be 3 integers"},
	}
	svc := newService(f.db, func() time.Time { return end })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params(tt.sensors, tt.measure)
			p.TrainingDays = 20
			if tt.edit != nil {
				tt.edit(&p)
			}
			_, err := svc.RunForecasts(ctx, p)
			if dtbase.ErrorCode(err) != tt.code || !strings.Contains(dtbase.ErrorMessage(err), tt.detail) {
				t.Fatalf("error %v (%s), want %s containing %q", err, dtbase.ErrorCode(err), tt.code, tt.detail)
			}
		})
	}
	if n := count(t, f.db, "model_run"); n != 0 {
		t.Fatalf("%d runs written by failed calls", n)
	}
}

// loadCROP writes the CROP farm's hourly temperature (testdata) as
// readings of sensor uid and returns the last timestamp.
func loadCROP(tb testing.TB, f *fixture, uid string) time.Time {
	tb.Helper()
	file, err := os.Open("testdata/MonitoredV1.csv")
	if err != nil {
		tb.Fatal(err)
	}
	defer file.Close()
	rows, err := csv.NewReader(file).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var ts []time.Time
	var vs []dtbase.Value
	for _, row := range rows {
		t, ok := dtbase.ParseTime(row[0])
		v, err := strconv.ParseFloat(row[1], 64)
		if !ok || err != nil {
			tb.Fatalf("bad row %q", row)
		}
		ts, vs = append(ts, t), append(vs, dtbase.FloatValue(v))
	}
	f.sensor(uid)
	f.readings(uid, "Temperature", ts, vs)
	return ts[len(ts)-1]
}

// TestServiceCROP runs the service with its defaults on the real farm
// data the demo loads.
func TestServiceCROP(t *testing.T) {
	f := newFixture(t)
	last := loadCROP(t, f, "TRH1")
	svc := newService(f.db, nil)
	p := params([]string{"TRH1"}, "Temperature")
	p.PredictFrom = last
	runs, err := svc.RunForecasts(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	r := runs[0]
	if r.Hours != 481 || time.Time(r.ForecastFrom) != last.Add(time.Hour) {
		t.Fatalf("result = %+v", r)
	}
}

// benchRuns times runs of the service on the temperature of TRH1 in f,
// with its default parameters changed by edit.
func benchRuns(b *testing.B, f *fixture, edit func(*dtbase.ForecastParams)) {
	svc := newService(f.db, nil)
	p := params([]string{"TRH1"}, "Temperature")
	edit(&p)
	for b.Loop() {
		if _, err := svc.RunForecasts(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServiceCROP times a whole run of the service with the default
// order on the CROP data (481 hours): reading, preparing, fitting
// (4,1,2)(1,1,0)24, forecasting and writing.
func BenchmarkServiceCROP(b *testing.B) {
	f := newFixture(b)
	last := loadCROP(b, f, "TRH1")
	benchRuns(b, f, func(p *dtbase.ForecastParams) { p.PredictFrom = last })
}

// BenchmarkService60Days times a whole run of the service with its
// defaults on 60 days of 10-minute readings (8641 readings, 1441 hours).
func BenchmarkService60Days(b *testing.B) {
	f := newFixture(b)
	f.sensor("TRH1")
	f.synthetic("TRH1", 60, 0, 9)
	benchRuns(b, f, func(*dtbase.ForecastParams) {})
}

// BenchmarkFit60Days times arima.Fit alone on the same hourly series, to
// show how much of the service's time is the fit.
func BenchmarkFit60Days(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 7))
	y := make([]float64, 60*24+1)
	noise := 0.0
	for i := range y {
		noise = 0.7*noise + 0.25*r.NormFloat64()
		y[i] = truth(end.Add(time.Duration(i)*time.Hour)) + noise
	}
	spec := arima.DefaultSpec
	for b.Loop() {
		if _, err := arima.Fit(y, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServiceAuto60Days is BenchmarkService60Days with automatic
// order selection.
func BenchmarkServiceAuto60Days(b *testing.B) {
	f := newFixture(b)
	f.sensor("TRH1")
	f.synthetic("TRH1", 60, 0, 9)
	benchRuns(b, f, func(p *dtbase.ForecastParams) { p.Model.Auto = true })
}
