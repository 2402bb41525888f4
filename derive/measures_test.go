package derive

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
)

func sp(s string) *string { return &s }

func TestForType(t *testing.T) {
	trh := &dtbase.SensorType{Name: "T&RH", Measures: []dtbase.Measure{{ID: 1, Name: "temperature"}, {ID: 2, Name: "humidity"}, {ID: 3, Name: "dew"}}}
	var loc int64 = 7
	all := []*Measure{
		{Name: "vpd", Units: sp("kPa"), Defs: []dtbase.DerivedMeasure{{ID: 1, Expression: "vpd(temperature, humidity)", SensorType: sp("T&RH")}}},
		{Name: "co2 ppb", Defs: []dtbase.DerivedMeasure{{ID: 2, Expression: "co2 * 1000", SensorType: sp("CO2")}}},
		{Name: "warm", Defs: []dtbase.DerivedMeasure{{ID: 3, Expression: "temperature + 1", LocationID: &loc}}},
		{Name: "fixed", Defs: []dtbase.DerivedMeasure{{ID: 4, Expression: "co2 + temperature", UniqueIdentifier: sp("S1")}}},
		{Name: "mean temperature", Defs: []dtbase.DerivedMeasure{{ID: 5, Expression: "temperature", LocationID: &loc, Aggregate: sp("mean")}}},
		{Name: "dew", Defs: []dtbase.DerivedMeasure{{ID: 6, Expression: "dewpoint(temperature, humidity)", SensorType: sp("T&RH")}}},
	}
	got := ForType(all, trh)
	want := []dtbase.Measure{{ID: -1, Name: "vpd", Units: sp("kPa"), Datatype: dtbase.Float}, {ID: -3, Name: "warm", Datatype: dtbase.Float}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ForType (-want +got):\n%s", diff)
	}
	if m, err := ByID(all, -3); err != nil || m.Name != "warm" {
		t.Errorf("ByID(-3) = %v, %v", m, err)
	}
	if _, err := ByID(all, -9); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("ByID(-9): %v, want ENOTFOUND", err)
	}
}

func TestLatestFromInputs(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	vpd := dtbase.DerivedMeasure{ID: 1, Name: "vpd", Expression: "vpd(temperature, humidity)", SensorType: sp("T&RH")}
	at := func(tm time.Time, v float64) dtbase.Reading {
		return dtbase.Reading{Time: tm, Value: dtbase.FloatValue(v)}
	}
	both := map[string]dtbase.Reading{"temperature": at(t0, 25), "humidity": at(t0, 50)}
	later := t0.Add(time.Hour)
	for _, tc := range []struct {
		name   string
		defs   []dtbase.DerivedMeasure
		newest map[string]dtbase.Reading
		ok     bool
	}{
		{"inputs at one time", []dtbase.DerivedMeasure{vpd}, both, true},
		{"inputs at different times", []dtbase.DerivedMeasure{vpd}, map[string]dtbase.Reading{"temperature": at(t0, 25), "humidity": at(later, 50)}, false},
		{"an input missing", []dtbase.DerivedMeasure{vpd}, map[string]dtbase.Reading{"temperature": at(t0, 25)}, false},
		{"another type", []dtbase.DerivedMeasure{{ID: 1, Expression: vpd.Expression, SensorType: sp("other")}}, both, false},
		{"a sensor's own definition", []dtbase.DerivedMeasure{vpd, {ID: 2, Expression: "temperature", UniqueIdentifier: sp("S1")}}, both, false},
		{"not valid then", []dtbase.DerivedMeasure{{ID: 1, Expression: vpd.Expression, SensorType: sp("T&RH"), ValidFrom: &later}}, both, false},
		{"not finite", []dtbase.DerivedMeasure{{ID: 1, Expression: "log(humidity - 50)", SensorType: sp("T&RH")}}, both, false},
	} {
		r, ok := LatestFromInputs(&Measure{Name: "m", Defs: tc.defs}, "T&RH", tc.newest)
		if ok != tc.ok {
			t.Errorf("%s: ok = %v, want %v", tc.name, ok, tc.ok)
		}
		if ok && (!r.Time.Equal(t0) || r.Value.F != SaturationVapourPressure(25)*0.5) {
			t.Errorf("%s: %v, want vpd(25, 50) at %s", tc.name, r, t0)
		}
	}
}

// TestBucketMeans: buckets are aligned to multiples of the width since the
// epoch, before 1970 as after, and each holds the mean of its readings.
func TestBucketMeans(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	var rs []dtbase.Reading
	for i, s := range []int64{-90, -61, -60, -1, 0, 59, 60, 150} {
		rs = append(rs, dtbase.Reading{Time: at(s), Value: dtbase.FloatValue(float64(i))})
	}
	want := []Bucket{{at(-120), 0.5, 1}, {at(-60), 2.5, 1}, {at(0), 4.5, 1}, {at(60), 6, 1}, {at(120), 7, 1}}
	if diff := cmp.Diff(want, BucketMeans(rs, time.Minute)); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}
}
