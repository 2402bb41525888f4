package sqldb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestPlotSeriesMatchesReadings plots many series of different spans in
// one read and checks every series' points against a downsampled read of
// it alone and its summary against the readings of the range.
func TestPlotSeriesMatchesReadings(t *testing.T) {
	ctx := context.Background()
	db := readingDB(t)
	rng := rand.New(rand.NewPCG(5, 8))
	var ms []dtbase.ReadingMeasure
	for i := 0; i < 9; i++ {
		uid := fmt.Sprintf("P%d", i)
		if err := db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: uid, TypeName: "weather"}); err != nil {
			t.Fatal(err)
		}
		// Spans from an hour to a month, starting at different times.
		s := dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "temperature"}
		n, step := 200+rng.IntN(3000), 1+rng.IntN(900)
		for k, sec := 0, rng.IntN(86400); k < n; k, sec = k+1, sec+1+rng.IntN(2*step) {
			s.Timestamps = append(s.Timestamps, at(sec))
			s.Values = append(s.Values, dtbase.FloatValue(float64(rng.IntN(1601)-800)/8))
		}
		if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{s}); err != nil {
			t.Fatal(err)
		}
		m, err := db.FindReadingMeasure(ctx, uid, "temperature", nil)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	empty, err := db.FindReadingMeasure(ctx, "W1", "temperature", nil)
	if err != nil {
		t.Fatal(err)
	}
	ms = append(ms, empty)
	for _, r := range []struct{ from, to time.Time }{
		{t0.Add(-time.Hour), t0.Add(40 * 24 * time.Hour)}, // every reading
		{t0.Add(7*time.Hour + 13*time.Second), t0.Add(3*24*time.Hour + 5*time.Minute)},
	} {
		for _, points := range []int{2, 100, 1000} {
			plots, err := db.PlotSeries(ctx, ms, r.from, r.to, points)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range ms {
				want := sqldbtest.Collect(t, func(yield func(dtbase.Reading) error) error {
					return db.DownsampleReadings(ctx, m, r.from, r.to, points, yield)
				})
				if p := plots[i]; p.Measure != m || !cmp.Equal(p.Points, want, cmpEmpty) {
					t.Fatalf("%s to %d points: plot differs from its own downsampled read:\n%s", m.UniqueIdentifier, points, cmp.Diff(want, p.Points, cmpEmpty))
				}
				var total dtbase.ReadingStats
				err := db.ScanReadings(ctx, m, r.from, r.to, func(x dtbase.Reading) error {
					s := dtbase.OneReading(x.Time.UnixMicro(), x.Value.F)
					total.Add(&s)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if want := dtbase.Summary(m.Datatype, total); !cmp.Equal(plots[i].Summary, want) {
					t.Fatalf("%s: summary %+v, want %+v", m.UniqueIdentifier, plots[i].Summary, want)
				}
			}
		}
	}
}

// cmpEmpty treats a nil and an empty slice of points alike.
var cmpEmpty = cmp.Comparer(func(a, b []dtbase.Reading) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Time.Equal(b[i].Time) || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
})
