package sqldb_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// modelFixtureSensor creates a sensor type "type-<uid>" with one measure
// (reused when it exists) and a sensor uid of that type.
func modelFixtureSensor(t *testing.T, db *sqldb.DB, uid, measure string, units *string, datatype dtbase.Datatype) {
	t.Helper()
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "type-" + uid, Measures: []dtbase.Measure{{Name: measure, Units: units, Datatype: datatype}}}, uid)
}

func modelDeref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// modelFixtureReadings writes float readings of a sensor's measure.
func modelFixtureReadings(t *testing.T, db *sqldb.DB, uid, measure string, ts []time.Time, values []float64) {
	t.Helper()
	vs := make([]dtbase.Value, len(values))
	for i, v := range values {
		vs[i] = dtbase.FloatValue(v)
	}
	if _, err := db.InsertReadings(context.Background(), []dtbase.ReadingSeries{{UniqueIdentifier: uid, MeasureName: measure, Values: vs, Timestamps: ts}}); err != nil {
		t.Fatal(err)
	}
}

func modelFloats(fs ...float64) []dtbase.Value {
	out := make([]dtbase.Value, len(fs))
	for i, f := range fs {
		out[i] = dtbase.FloatValue(f)
	}
	return out
}

func modelHours(start time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = start.Add(time.Duration(i) * time.Hour)
	}
	return out
}

var modelT0 = time.Date(2024, 1, 5, 15, 0, 0, 0, time.UTC)

func TestModelRegistry(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)

	if err := db.CreateModel(ctx, "Arima"); err != nil {
		t.Fatal(err)
	}
	expectCode(t, db.CreateModel(ctx, "Arima"), dtbase.ECONFLICT)
	if err := db.CreateModel(ctx, "HODMD"); err != nil {
		t.Fatal(err)
	}
	models, err := db.ListModels(ctx)
	if err != nil || len(models) != 2 || models[0].Name != "Arima" || models[1].Name != "HODMD" {
		t.Fatalf("ListModels = %v, %v", models, err)
	}

	t.Run("scenarios", func(t *testing.T) {
		if err := db.CreateModelScenario(ctx, "Arima", ptr("Business as usual")); err != nil {
			t.Fatal(err)
		}
		expectCode(t, db.CreateModelScenario(ctx, "Arima", ptr("Business as usual")), dtbase.ECONFLICT)
		expectCode(t, db.CreateModelScenario(ctx, "Nope", ptr("x")), dtbase.ENOTFOUND)
		if err := db.CreateModelScenario(ctx, "Arima", nil); err != nil {
			t.Fatal(err)
		}
		// A null description equals another null description.
		expectCode(t, db.CreateModelScenario(ctx, "Arima", nil), dtbase.ECONFLICT)
		if err := db.CreateModelScenario(ctx, "HODMD", ptr("Business as usual")); err != nil {
			t.Fatal(err)
		}
		got, err := db.ListModelScenarios(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names := mapped(got, func(s dtbase.ModelScenario) string { return s.ModelName + "/" + modelDeref(s.Description) })
		if diff := cmp.Diff([]string{"Arima/Business as usual", "Arima/", "HODMD/Business as usual"}, names); diff != "" {
			t.Fatalf("scenarios (-want +got):\n%s", diff)
		}
		expectCode(t, db.DeleteModelScenario(ctx, "Arima", ptr("nope")), dtbase.ENOTFOUND)
		expectCode(t, db.DeleteModelScenario(ctx, "Nope", nil), dtbase.ENOTFOUND)
		if err := db.DeleteModelScenario(ctx, "Arima", nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("measures", func(t *testing.T) {
		for _, m := range []dtbase.ModelMeasure{
			{Name: "Mean temperature", Units: "Degrees C", Datatype: dtbase.Float},
			{Name: "Mean temperature", Units: "Kelvin", Datatype: dtbase.Float},
			{Name: "label", Units: "", Datatype: dtbase.String},
		} {
			if err := db.CreateModelMeasure(ctx, &m); err != nil || m.ID == 0 {
				t.Fatalf("CreateModelMeasure(%v): %v", m, err)
			}
		}
		expectCode(t, db.CreateModelMeasure(ctx, &dtbase.ModelMeasure{Name: "label", Units: "", Datatype: dtbase.String}), dtbase.ECONFLICT)
		expectCode(t, db.CreateModelMeasure(ctx, &dtbase.ModelMeasure{Name: "x", Units: "", Datatype: "decimal"}), dtbase.EINVALID)
		got, err := db.ListModelMeasures(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			got[i].ID = 0
		}
		want := []dtbase.ModelMeasure{
			{Name: "Mean temperature", Units: "Degrees C", Datatype: dtbase.Float},
			{Name: "Mean temperature", Units: "Kelvin", Datatype: dtbase.Float},
			{Name: "label", Units: "", Datatype: dtbase.String},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("measures (-want +got):\n%s", diff)
		}
		expectCode(t, db.DeleteModelMeasure(ctx, "Mean temperature", nil), dtbase.EINVALID)
		expectCode(t, db.DeleteModelMeasure(ctx, "Mean temperature", ptr("F")), dtbase.ENOTFOUND)
		expectCode(t, db.DeleteModelMeasure(ctx, "nope", nil), dtbase.ENOTFOUND)
		if err := db.DeleteModelMeasure(ctx, "Mean temperature", ptr("Kelvin")); err != nil {
			t.Fatal(err)
		}
		// Now the name is unambiguous, but it stays for the runs below.
	})

	t.Run("runs", func(t *testing.T) {
		modelFixtureSensor(t, db, "TRH1", "Temperature", ptr("Degrees C"), dtbase.Float)
		run := &dtbase.NewModelRun{
			ModelName: "Arima", ScenarioDescription: "Business as usual", TimeCreated: modelT0,
			SensorUniqueID: ptr("TRH1"), SensorMeasure: &dtbase.ModelSensorMeasure{Name: "Temperature", Units: ptr("Degrees C")},
			Series: []dtbase.NewModelSeries{
				// Out of order and with a duplicate timestamp: the first value wins.
				{MeasureName: "Mean temperature", Values: []dtbase.Value{dtbase.FloatValue(2), dtbase.IntValue(1), dtbase.FloatValue(9)},
					Timestamps: []time.Time{modelT0.Add(time.Hour), modelT0, modelT0}},
				{MeasureName: "label", Values: nil, Timestamps: nil},
			},
		}
		if err := db.CreateModelRuns(ctx, []*dtbase.NewModelRun{run}); err != nil {
			t.Fatal(err)
		}
		if run.ID == 0 {
			t.Fatal("run ID not set")
		}
		outputs, err := db.FindModelRunOutputs(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(outputs) != 1 || outputs[0].Measure.Name != "Mean temperature" {
			t.Fatalf("outputs = %+v; want only Mean temperature (the empty series makes no product)", outputs)
		}
		wantPoints := []dtbase.ModelPoint{{Time: modelT0, Value: dtbase.FloatValue(1)}, {Time: modelT0.Add(time.Hour), Value: dtbase.FloatValue(2)}}
		if diff := cmp.Diff(wantPoints, outputs[0].Points); diff != "" {
			t.Fatalf("points (-want +got):\n%s", diff)
		}
		got, err := db.FindModelRun(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := &dtbase.ModelRun{ID: run.ID, ModelID: got.ModelID, ModelName: "Arima", ScenarioID: got.ScenarioID,
			ScenarioDescription: ptr("Business as usual"), TimeCreated: modelT0, SensorUniqueID: ptr("TRH1"),
			SensorMeasure: &dtbase.ModelSensorMeasure{Name: "Temperature", Units: ptr("Degrees C")}, SensorMeasureDatatype: dtbase.Float}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("run (-want +got):\n%s", diff)
		}

		// The same (model, scenario, time) again is a conflict.
		dup := *run
		dup.ID = 0
		expectCode(t, db.CreateModelRuns(ctx, []*dtbase.NewModelRun{&dup}), dtbase.ECONFLICT)

		// Model, scenario and measure in use cannot be deleted.
		expectCode(t, db.DeleteModel(ctx, "Arima"), dtbase.ECONFLICT)
		expectCode(t, db.DeleteModelScenario(ctx, "Arima", ptr("Business as usual")), dtbase.ECONFLICT)
		expectCode(t, db.DeleteModelMeasure(ctx, "Mean temperature", nil), dtbase.ECONFLICT)

		runs, err := db.ListModelRuns(ctx, dtbase.ModelRunFilter{ModelName: "Arima", From: modelT0, To: modelT0})
		if err != nil || len(runs) != 1 || runs[0].ID != run.ID || runs[0].Details != nil {
			t.Fatalf("ListModelRuns = %+v, %v", runs, err)
		}
		for _, f := range []dtbase.ModelRunFilter{
			{ModelName: "Arima", From: modelT0.Add(time.Microsecond), To: modelT0.Add(time.Hour)},
			{ModelName: "Arima", From: modelT0, To: modelT0, Scenario: ptr("other")},
			{ModelName: "Nope", From: modelT0, To: modelT0},
		} {
			if runs, err := db.ListModelRuns(ctx, f); err != nil || len(runs) != 0 {
				t.Errorf("ListModelRuns(%+v) = %+v, %v; want none", f, runs, err)
			}
		}

		if err := db.DeleteModelRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		expectCode(t, db.DeleteModelRun(ctx, run.ID), dtbase.ENOTFOUND)
		expectCode(t, modelErr(db.FindModelRun(ctx, run.ID)), dtbase.ENOTFOUND)
		if out, err := db.FindModelRunOutputs(ctx, run.ID); err != nil || len(out) != 0 {
			t.Fatalf("outputs of a deleted run = %v, %v", out, err)
		}
		var left int
		db.SQL().QueryRow(`SELECT count(*) FROM model_value_float`).Scan(&left)
		if left != 0 {
			t.Fatalf("%d float values left after deleting the run", left)
		}
		if err := db.DeleteModelMeasure(ctx, "Mean temperature", nil); err != nil {
			t.Fatal(err)
		}
	})
}

func modelErr[T any](_ T, err error) error { return err }

func TestCreateModelRunsErrors(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	if err := db.CreateModel(ctx, "M"); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateModelScenario(ctx, "M", ptr("S")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []dtbase.ModelMeasure{
		{Name: "f", Units: "u", Datatype: dtbase.Float},
		{Name: "i", Units: "u", Datatype: dtbase.Integer},
		{Name: "dup", Units: "a", Datatype: dtbase.Float},
		{Name: "dup", Units: "b", Datatype: dtbase.Float},
	} {
		if err := db.CreateModelMeasure(ctx, &m); err != nil {
			t.Fatal(err)
		}
	}
	modelFixtureSensor(t, db, "S1", "Temperature", nil, dtbase.Float)
	one := func(name string, v ...dtbase.Value) []dtbase.NewModelSeries {
		return []dtbase.NewModelSeries{{MeasureName: name, Values: v, Timestamps: modelHours(modelT0, len(v))}}
	}
	tests := []struct {
		name string
		run  dtbase.NewModelRun
		code string
	}{
		{"unknown model", dtbase.NewModelRun{ModelName: "X", ScenarioDescription: "S", Series: one("f", dtbase.FloatValue(1))}, dtbase.ENOTFOUND},
		{"unknown scenario", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "T", Series: one("f", dtbase.FloatValue(1))}, dtbase.ENOTFOUND},
		{"unknown measure", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S", Series: one("g", dtbase.FloatValue(1))}, dtbase.ENOTFOUND},
		{"ambiguous measure", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S", Series: one("dup", dtbase.FloatValue(1))}, dtbase.EINVALID},
		{"unknown sensor", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S", SensorUniqueID: ptr("nope"), Series: one("f", dtbase.FloatValue(1))}, dtbase.ENOTFOUND},
		{"unknown sensor measure units", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S",
			SensorMeasure: &dtbase.ModelSensorMeasure{Name: "Temperature", Units: ptr("C")}, Series: one("f", dtbase.FloatValue(1))}, dtbase.ENOTFOUND},
		{"string for float", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S", Series: one("f", dtbase.FloatValue(1), dtbase.StringValue("x"))}, dtbase.EINVALID},
		{"bool for integer", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S", Series: one("i", dtbase.IntValue(1), dtbase.BoolValue(true))}, dtbase.EINVALID},
		{"integer out of range", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S", Series: one("i", dtbase.IntValue(1<<40))}, dtbase.EINVALID},
		{"lengths differ", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S",
			Series: []dtbase.NewModelSeries{{MeasureName: "f", Values: modelFloats(1, 2), Timestamps: modelHours(modelT0, 1)}}}, dtbase.EINVALID},
		{"measure twice", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S",
			Series: append(one("f", dtbase.FloatValue(1)), one("f", dtbase.FloatValue(2))...)}, dtbase.EINVALID},
		{"details not an object", dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S", Details: json.RawMessage(`[1]`)}, dtbase.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.run
			r.TimeCreated = modelT0
			expectCode(t, db.CreateModelRuns(ctx, []*dtbase.NewModelRun{&r}), tt.code)
		})
	}
	// Nothing was written by the failures above.
	var n int
	db.SQL().QueryRow(`SELECT count(*) FROM model_run`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d runs written by failed requests", n)
	}

	t.Run("all or nothing", func(t *testing.T) {
		good := &dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S", TimeCreated: modelT0, Series: one("f", dtbase.FloatValue(1))}
		bad := &dtbase.NewModelRun{ModelName: "M", ScenarioDescription: "S", TimeCreated: modelT0.Add(time.Second), Series: one("nope", dtbase.FloatValue(1))}
		expectCode(t, db.CreateModelRuns(ctx, []*dtbase.NewModelRun{good, bad}), dtbase.ENOTFOUND)
		db.SQL().QueryRow(`SELECT count(*) FROM model_run`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d runs written by a failed batch", n)
		}
	})

	t.Run("create scenario, model and measures", func(t *testing.T) {
		r := &dtbase.NewModelRun{ModelName: "New", ScenarioDescription: "Fresh", CreateModel: true, CreateScenario: true, CreateMeasures: true,
			TimeCreated: modelT0, Details: json.RawMessage(`{"aic":1.5}`),
			Series: []dtbase.NewModelSeries{{MeasureName: "Mean x", MeasureUnits: ptr("C"), Datatype: dtbase.Float, Values: modelFloats(1), Timestamps: modelHours(modelT0, 1)}}}
		for i := 0; i < 2; i++ { // a second time reuses all three
			r.TimeCreated = modelT0.Add(time.Duration(i) * time.Second)
			if err := db.CreateModelRuns(ctx, []*dtbase.NewModelRun{r}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.FindModelRun(ctx, r.ID)
		if err != nil || string(got.Details) != `{"aic":1.5}` || got.SensorMeasure != nil || got.SensorUniqueID != nil {
			t.Fatalf("FindModelRun = %+v, %v", got, err)
		}
		ms, _ := db.ListModelMeasures(ctx)
		if last := ms[len(ms)-1]; len(ms) != 5 || last.Name != "Mean x" || last.Units != "C" || last.Datatype != dtbase.Float {
			t.Fatalf("measures = %+v", ms)
		}
		sc, _ := db.ListModelScenarios(ctx)
		if len(sc) != 2 {
			t.Fatalf("scenarios = %+v", sc)
		}
	})
}

func TestCompareModelRun(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	modelFixtureSensor(t, db, "TRH1", "Temperature", ptr("Degrees C"), dtbase.Float)
	// Observations: exactly at 15:00, 5 minutes after 16:00, two around
	// 17:00 (averaged to 20.0) and one at 18:30 that pairs with no hour.
	modelFixtureReadings(t, db, "TRH1", "Temperature",
		[]time.Time{modelT0.Add(-time.Hour), modelT0, modelT0.Add(65 * time.Minute), modelT0.Add(115 * time.Minute), modelT0.Add(125 * time.Minute), modelT0.Add(210 * time.Minute)},
		[]float64{99, 10, 12, 19, 21, 50})
	run := &dtbase.NewModelRun{
		ModelName: "Arima", ScenarioDescription: "Business as usual", CreateModel: true, CreateScenario: true, CreateMeasures: true,
		TimeCreated: modelT0, SensorUniqueID: ptr("TRH1"), SensorMeasure: &dtbase.ModelSensorMeasure{Name: "Temperature", Units: ptr("Degrees C")},
		Series: []dtbase.NewModelSeries{
			{MeasureName: "Mean Temperature", MeasureUnits: ptr("Degrees C"), Datatype: dtbase.Float, Values: modelFloats(11, 11, 18, 30), Timestamps: modelHours(modelT0, 4)},
			{MeasureName: "Upper Bound Temperature", MeasureUnits: ptr("Degrees C"), Datatype: dtbase.Float, Values: modelFloats(12, 13, 19, 31), Timestamps: modelHours(modelT0, 4)},
			{MeasureName: "Lower Bound Temperature", MeasureUnits: ptr("Degrees C"), Datatype: dtbase.Float, Values: modelFloats(10, 9, 17, 29), Timestamps: modelHours(modelT0, 4)},
		},
	}
	if err := db.CreateModelRuns(ctx, []*dtbase.NewModelRun{run}); err != nil {
		t.Fatal(err)
	}
	c, err := db.CompareModelRun(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tolerance != 15*time.Minute || len(c.Outputs) != 3 {
		t.Fatalf("comparison = %+v", c)
	}
	// The observed window is 14:45 to 18:15: the 14:00 and 18:30 readings
	// are outside it.
	if len(c.Observed) != 4 || c.Observed[0].Time != modelT0 || c.Observed[3].Time != modelT0.Add(125*time.Minute) {
		t.Fatalf("observed = %+v", c.Observed)
	}
	// Pairs (observed, mean, lower, upper): 15:00 (10, 11, 10, 12),
	// 16:00 (12, 11, 9, 13), 17:00 ((19+21)/2 = 20, 18, 17, 19); 18:00 has
	// no observation. Errors 1, 1, 2: MAE 4/3, RMSE sqrt(6/3), coverage 2/3
	// (20 lies above 19).
	want := []dtbase.ForecastSkill{{Measure: "Mean Temperature", Lower: ptr("Lower Bound Temperature"), Upper: ptr("Upper Bound Temperature"),
		N: 3, MAE: ptr(4.0 / 3), RMSE: ptr(math.Sqrt(2)), Coverage: ptr(2.0 / 3)}}
	if diff := cmp.Diff(want, c.Skill, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-12 })); diff != "" {
		t.Fatalf("skill (-want +got):\n%s", diff)
	}

	// A zero-width pairing only takes exact timestamps: 15:00 alone.
	c, err = db.CompareModelRun(ctx, run.ID, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	if sk := c.Skill[0]; sk.N != 1 || *sk.MAE != 1 || *sk.Coverage != 1 {
		t.Fatalf("exact skill = %+v", sk)
	}

	expectCode(t, modelErr(db.CompareModelRun(ctx, run.ID+1, 0)), dtbase.ENOTFOUND)

	// A run without a sensor has no observations and unscored outputs.
	free := &dtbase.NewModelRun{ModelName: "Arima", ScenarioDescription: "Business as usual", TimeCreated: modelT0.Add(time.Second),
		Series: []dtbase.NewModelSeries{{MeasureName: "Mean Temperature", Values: modelFloats(1), Timestamps: modelHours(modelT0, 1)}}}
	if err := db.CreateModelRuns(ctx, []*dtbase.NewModelRun{free}); err != nil {
		t.Fatal(err)
	}
	c, err = db.CompareModelRun(ctx, free.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Observed) != 0 || len(c.Skill) != 1 || c.Skill[0].N != 0 || c.Skill[0].MAE != nil || c.Skill[0].Lower != nil {
		t.Fatalf("comparison without a sensor = %+v", c)
	}
}

func TestFindModelInputSeries(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	modelFixtureSensor(t, db, "TRH1", "Temperature", ptr("Degrees C"), dtbase.Float)
	modelFixtureReadings(t, db, "TRH1", "Temperature", modelHours(modelT0, 3), []float64{1, 2, 3})
	modelFixtureSensor(t, db, "DOOR", "open", nil, dtbase.Boolean)

	got, err := db.FindModelInputSeries(ctx, "TRH1", "Temperature", nil, modelT0.Add(time.Hour), modelT0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := &dtbase.ModelInputSeries{SensorUniqueID: "TRH1", Measure: dtbase.ModelSensorMeasure{Name: "Temperature", Units: ptr("Degrees C")},
		Datatype: dtbase.Float, Points: []dtbase.ModelPoint{{Time: modelT0.Add(time.Hour), Value: dtbase.FloatValue(2)}, {Time: modelT0.Add(2 * time.Hour), Value: dtbase.FloatValue(3)}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("series (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		sensor, measure string
		units           *string
		code            string
	}{
		{"nope", "Temperature", nil, dtbase.ENOTFOUND},
		{"TRH1", "Humidity", nil, dtbase.ENOTFOUND},
		{"TRH1", "Temperature", ptr("K"), dtbase.ENOTFOUND},
		{"DOOR", "open", nil, dtbase.EINVALID},
	} {
		expectCode(t, modelErr(db.FindModelInputSeries(ctx, tt.sensor, tt.measure, tt.units, modelT0, modelT0)), tt.code)
	}
}
