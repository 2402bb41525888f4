package quality_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/quality"
)

// TestCheckFromRollupsMatchesReadings stores three days of minute data
// with short and long gaps, flat runs starting inside buckets, values out
// of range, a stretch with jittered times and one at twice the rate, and
// checks that the report computed from rollups equals the one computed
// from every reading, for ranges and options of all kinds.
func TestCheckFromRollupsMatchesReadings(t *testing.T) {
	ctx := context.Background()
	db := humidityDB(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 19))
	var ts []time.Time
	var vs []dtbase.Value
	const minutes = 3 * 1440
	for i := 0; i < minutes; i++ {
		switch {
		case i >= 100 && i < 102, i >= 500 && i < 505, i >= 1000 && i < 1130, i >= 2000 && i < 2004:
			continue // gaps of 2, 5, 130 and 4 minutes
		}
		at := t0.Add(time.Duration(i) * time.Minute)
		v := float64(rng.IntN(400)) / 8
		switch {
		case i >= 203 && i < 297: // a 94-minute flat run from inside a bucket
			v = 42
		case i >= 1503 && i < 1551: // a 48-minute one
			v = 7
		case i%997 == 0:
			v = 150 // out of range
		case i >= 3000 && i < 3100: // jittered times
			at = at.Add(time.Duration(rng.IntN(20)) * time.Second)
		}
		ts, vs = append(ts, at), append(vs, dtbase.FloatValue(v))
		if i >= 3500 && i < 3600 { // twice the rate
			ts, vs = append(ts, at.Add(30*time.Second)), append(vs, dtbase.FloatValue(v+1))
		}
	}
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "s1", MeasureName: "humidity", Timestamps: ts, Values: vs}}); err != nil {
		t.Fatal(err)
	}
	m, err := db.FindReadingMeasure(ctx, "s1", "humidity", nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		from, to time.Time
		opt      quality.Options
	}{
		{"whole range", t0.Add(-time.Hour), t0.Add(4 * 24 * time.Hour), quality.Options{}},
		{"inside buckets", t0.Add(17*time.Minute + 3*time.Second), t0.Add(2*24*time.Hour + 41*time.Minute), quality.Options{GapFactor: 1.5, Flatline: 30 * time.Minute}},
		{"with a range", t0, t0.Add(3 * 24 * time.Hour), quality.Options{Range: dtbase.MeasureRange{Min: ptr(0.0), Max: ptr(100.0)}, Flatline: 45 * time.Minute}},
		{"gap factor under one", t0.Add(9 * time.Hour), t0.Add(30 * time.Hour), quality.Options{GapFactor: 0.5}},
		{"short flatlines", t0, t0.Add(10 * time.Hour), quality.Options{Flatline: 5 * time.Minute}},
		{"empty", t0.Add(-48 * time.Hour), t0.Add(-time.Hour), quality.Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := quality.Check(ctx, db, m, c.from, c.to, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			var rs []dtbase.Reading
			if err := db.ScanReadings(ctx, m, c.from, c.to, func(r dtbase.Reading) error { rs = append(rs, r); return nil }); err != nil {
				t.Fatal(err)
			}
			want := quality.Analyze(rs, c.from, c.to, c.opt)
			if !cmp.Equal(got, want) {
				t.Fatalf("from rollups differs from the readings:\n%s", cmp.Diff(want, got))
			}
			if c.name == "whole range" && (got.GapCount != 5 || got.FlatlineCount != 1 || got.Interval != time.Minute) {
				t.Errorf("gaps %d flatlines %d interval %s; want 5 (the hours before and after, not the 2-minute one), 1, 1m", got.GapCount, got.FlatlineCount, got.Interval)
			}
		})
	}
}
