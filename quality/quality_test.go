package quality_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/quality"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func ptr[T any](v T) *T { return &v }

// humidityDB opens a test store holding sensor s1 of a type th with one
// float measure, humidity in %.
func humidityDB(t *testing.T) *sqldb.DB {
	t.Helper()
	db := sqldbtest.Open(t)
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "th", Measures: []dtbase.Measure{{Name: "humidity", Units: ptr("%"), Datatype: dtbase.Float}}}, "s1")
	return db
}

// TestCheckHandComputed stores a ten-minute series with a 50-minute gap,
// two flat runs, a reading over the physical range and a duplicate, and
// compares the report with figures worked out by hand.
func TestCheckHandComputed(t *testing.T) {
	ctx := context.Background()
	db := humidityDB(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	minutes := []int{0, 10, 20, 30, 80, 90, 100, 110, 120}
	values := []float64{20, 20, 20, 20, 21, 21, 21, 21, 150}
	s := dtbase.ReadingSeries{UniqueIdentifier: "s1", MeasureName: "humidity"}
	for i, m := range minutes {
		s.Timestamps = append(s.Timestamps, at(m))
		s.Values = append(s.Values, dtbase.FloatValue(values[i]))
	}
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{s}); err != nil {
		t.Fatal(err)
	}
	// A duplicate timestamp is refused by the store: nothing is written.
	res, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "s1", MeasureName: "humidity",
		Timestamps: []time.Time{at(10)}, Values: []dtbase.Value{dtbase.FloatValue(99)}}})
	if err != nil || res.Inserted != 0 {
		t.Fatalf("duplicate: %+v %v", res, err)
	}
	if err := db.SetMeasureRange(ctx, "humidity", nil, dtbase.MeasureRange{Min: ptr(0.0), Max: ptr(100.0)}); err != nil {
		t.Fatal(err)
	}
	m, err := db.FindReadingMeasure(ctx, "s1", "humidity", nil)
	if err != nil {
		t.Fatal(err)
	}
	rng, err := db.FindMeasureRange(ctx, m.MeasureID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := quality.Check(ctx, db, m, t0, at(120), quality.Options{GapFactor: 3, Flatline: 30 * time.Minute, Range: rng})
	if err != nil {
		t.Fatal(err)
	}
	// Deltas 10,10,10,50,10,10,10,10: median 10 min. 13 readings expected
	// over two hours both ends included, 9 there.
	if rep.Readings != 9 || rep.Interval != 10*time.Minute || math.Abs(rep.Coverage-100*9.0/13) > 1e-9 {
		t.Errorf("readings %d interval %s coverage %g; want 9, 10m, %g", rep.Readings, rep.Interval, rep.Coverage, 100*9.0/13)
	}
	if want := []quality.Gap{{at(30), at(80)}}; !cmp.Equal(rep.Gaps, want) || rep.GapCount != 1 {
		t.Errorf("gaps %v, want %v", rep.Gaps, want)
	}
	if rep.Duplicates != 0 {
		t.Errorf("duplicates %d", rep.Duplicates)
	}
	if rep.OutOfRangeCount != 1 || !rep.OutOfRange[0].Time.Equal(at(120)) {
		t.Errorf("out of range %v", rep.OutOfRange)
	}
	wantFlat := []quality.Flatline{{at(0), at(30), 20, 4}, {at(80), at(110), 21, 4}}
	if !cmp.Equal(rep.Flatlines, wantFlat) {
		t.Errorf("flatlines %v, want %v", rep.Flatlines, wantFlat)
	}
	// The day holds two hours of the range: 12 expected, 9 there.
	if len(rep.Days) != 1 || rep.Days[0].Readings != 9 || rep.Days[0].Coverage != 75 {
		t.Errorf("days %+v", rep.Days)
	}

	// A stricter gap factor and a longer flatline threshold.
	rep, _ = quality.Check(ctx, db, m, t0.Add(-time.Hour), at(120), quality.Options{GapFactor: 1.5, Flatline: time.Hour})
	if want := []quality.Gap{{t0.Add(-time.Hour), t0}, {at(30), at(80)}}; !cmp.Equal(rep.Gaps, want) {
		t.Errorf("gaps with a leading hour %v, want %v", rep.Gaps, want)
	}
	if rep.FlatlineCount != 0 || rep.OutOfRangeCount != 0 {
		t.Errorf("flatlines %v, out of range %d (no range set)", rep.Flatlines, rep.OutOfRangeCount)
	}
	if _, err := quality.Check(ctx, db, m, at(10), t0, quality.Options{}); dtbase.ErrorCode(err) != dtbase.EINVALID {
		t.Errorf("reversed range: %v", err)
	}
}

func TestAnalyzeEdges(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, c := range []struct {
		name      string
		rs        []dtbase.Reading
		wantGaps  int
		wantCover float64
		wantDays  int
	}{
		{"empty range is one gap", nil, 1, 0, 3},
		{"one reading has no interval", []dtbase.Reading{{Time: t0, Value: dtbase.IntValue(1)}}, 0, 0, 3},
		{"every hour", hourly(t0, 49), 0, 100, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := quality.Analyze(c.rs, t0, t0.Add(2*day), quality.Options{})
			if rep.GapCount != c.wantGaps || math.Abs(rep.Coverage-c.wantCover) > 1e-9 || len(rep.Days) != c.wantDays {
				t.Errorf("gaps %d coverage %g days %d; want %d %g %d", rep.GapCount, rep.Coverage, len(rep.Days), c.wantGaps, c.wantCover, c.wantDays)
			}
		})
	}
}

func hourly(t0 time.Time, n int) []dtbase.Reading {
	out := make([]dtbase.Reading, n)
	for i := range out {
		out[i] = dtbase.Reading{Time: t0.Add(time.Duration(i) * time.Hour), Value: dtbase.FloatValue(float64(i))}
	}
	return out
}
