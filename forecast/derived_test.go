package forecast_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/derive"
	"github.com/dtbase/dtbase/forecast"
	"github.com/dtbase/dtbase/forecast/arima"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestForecastDerivedMeasure forecasts a derived VPD and, in the same run,
// the same VPD computed here and stored as a measure: the forecasts are
// the same, the derived one's run names its measure, and each run is
// compared with observations alike, the derived one with the derived
// series.
func TestForecastDerivedMeasure(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	sqldbtest.Sensors(t, f.db, dtbase.SensorType{Name: "TRHV", Measures: []dtbase.Measure{
		{Name: "Temperature", Units: ptr("Degrees C"), Datatype: dtbase.Float},
		{Name: "Humidity", Units: ptr("Percent"), Datatype: dtbase.Float},
		{Name: "Direct VPD", Units: ptr("kPa"), Datatype: dtbase.Float},
	}}, "V1")
	f.synthetic("V1", 10, 0, 3)
	temp, err := f.db.FindReadingMeasure(ctx, "V1", "Temperature", nil)
	if err != nil {
		t.Fatal(err)
	}
	hum, err := f.db.FindReadingMeasure(ctx, "V1", "Humidity", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ts []time.Time
	var vpd []dtbase.Value
	rh := map[time.Time]float64{}
	f.db.ScanReadings(ctx, hum, time.Time{}, end, func(r dtbase.Reading) error { rh[r.Time] = r.Value.F; return nil })
	f.db.ScanReadings(ctx, temp, time.Time{}, end, func(r dtbase.Reading) error {
		ts = append(ts, r.Time)
		vpd = append(vpd, dtbase.FloatValue(derive.SaturationVapourPressure(r.Value.F)*(1-rh[r.Time]/100)))
		return nil
	})
	f.readings("V1", "Direct VPD", ts, vpd)
	if err := derive.Define(ctx, f.db, &dtbase.DerivedMeasure{Name: "vpd", Units: ptr("kPa"), Expression: "vpd(Temperature, Humidity)", SensorType: ptr("TRHV")}); err != nil {
		t.Fatal(err)
	}

	svc := &forecast.Service{Store: derive.WithDerived(f.db), Families: map[string]forecast.ModelFamily{arima.Family: arima.NewForecaster}}
	p := params([]string{"V1"}, "vpd", "Direct VPD")
	p.TrainingDays = 10
	p.PredictFrom = end.Add(-24 * time.Hour) // the forecast's first day has readings to compare with
	runs, err := svc.RunForecasts(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].SensorMeasure.Name != "vpd" || runs[0].Spec != runs[1].Spec || runs[0].AIC != runs[1].AIC || runs[0].Hours != runs[1].Hours {
		t.Fatalf("runs %+v, want the same fit of vpd and Direct VPD", runs)
	}
	values := func(id int64, name string) []dtbase.ModelPoint {
		outs, err := f.db.FindModelRunOutputs(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range outs {
			if o.Measure.Name == name {
				return o.Points
			}
		}
		t.Fatalf("run %d has no %s", id, name)
		return nil
	}
	for _, b := range []string{"Mean ", "Upper Bound ", "Lower Bound "} {
		if diff := cmp.Diff(values(runs[1].RunID, b+"Direct VPD"), values(runs[0].RunID, b+"vpd")); diff != "" {
			t.Errorf("%svpd differs from the direct computation (-direct +derived):\n%s", b, diff)
		}
	}
	run, err := f.db.FindModelRun(ctx, runs[0].RunID)
	if err != nil {
		t.Fatal(err)
	}
	var details struct {
		Derived string `json:"derived_measure"`
	}
	if err := json.Unmarshal(run.Details, &details); err != nil || details.Derived != "vpd" || *run.SensorUniqueID != "V1" {
		t.Errorf("run details %s, sensor %v: want derived_measure vpd on V1", run.Details, run.SensorUniqueID)
	}

	store := derive.WithDerived(f.db)
	direct, err := store.CompareModelRun(ctx, runs[1].RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	derived, err := store.CompareModelRun(ctx, runs[0].RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sm := derived.Run.SensorMeasure; sm == nil || sm.Name != "vpd" || *sm.Units != "kPa" || derived.Run.SensorMeasureDatatype != dtbase.Float {
		t.Errorf("the derived run is compared as measure %+v (%s), want vpd in kPa", sm, derived.Run.SensorMeasureDatatype)
	}
	approx := cmpopts.EquateApprox(1e-12, 0)
	if len(direct.Observed) == 0 {
		t.Fatal("the direct run has no observations to compare with")
	}
	if diff := cmp.Diff(direct.Observed, derived.Observed, approx); diff != "" {
		t.Errorf("the derived run's observations differ from the stored VPD (-direct +derived):\n%s", diff)
	}
	skill := func(s []dtbase.ForecastSkill) []dtbase.ForecastSkill {
		out := slices.Clone(s)
		for i := range out {
			out[i].Measure, out[i].Lower, out[i].Upper = "", nil, nil // named after each run's measure
		}
		return out
	}
	if len(direct.Skill) == 0 || direct.Skill[0].N == 0 {
		t.Fatalf("the direct run has no skill scores: %+v", direct.Skill)
	}
	if diff := cmp.Diff(skill(direct.Skill), skill(derived.Skill), approx); diff != "" {
		t.Errorf("the derived run's skill differs (-direct +derived):\n%s", diff)
	}
}
