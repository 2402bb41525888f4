package sqldb_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestRollupsMatchReadings writes random series (late, out of order,
// duplicated, in small grouped inserts and in bulk) and checks that every
// downsampled and aggregated read from rollups equals the same read
// computed from the readings alone, and, for downsampling, a reference
// computed here from a plain scan. Values are multiples of 1/8, so that
// float sums are exact in any order.
func TestRollupsMatchReadings(t *testing.T) {
	ctx := context.Background()
	db := readingDB(t)
	rng := rand.New(rand.NewPCG(17, 23))
	start := at(0)
	const span = 3 * 24 * 3600 // seconds
	for _, name := range []string{"temperature", "count", "flag"} {
		var ts []time.Time
		var vs []dtbase.Value
		add := func(sec int) {
			ts = append(ts, start.Add(time.Duration(sec)*time.Second+time.Duration(rng.IntN(1000))*time.Millisecond))
			switch name {
			case "temperature":
				vs = append(vs, dtbase.FloatValue(float64(rng.IntN(1601)-800)/8))
			case "count":
				vs = append(vs, dtbase.IntValue(int64(rng.IntN(2001)-1000)))
			default:
				vs = append(vs, dtbase.BoolValue(rng.IntN(2) == 0))
			}
		}
		// Bursts of one-second data and sparse stretches.
		for sec := 0; sec < span; {
			if rng.IntN(8) == 0 {
				for k := 0; k < 300 && sec < span; k++ {
					add(sec)
					sec++
				}
			} else {
				add(sec)
				sec += 1 + rng.IntN(900)
			}
		}
		// Send in random order, in chunks of random size, with repeats.
		perm := rng.Perm(len(ts))
		for i := 0; i < len(perm); {
			n := 1 + rng.IntN(3)
			if rng.IntN(3) == 0 {
				n = 1000 + rng.IntN(1000)
			}
			chunk := perm[i:min(i+n, len(perm))]
			if rng.IntN(2) == 0 {
				slices.Sort(chunk)
			}
			s := dtbase.ReadingSeries{UniqueIdentifier: "W1", MeasureName: name}
			for _, k := range chunk {
				s.Timestamps, s.Values = append(s.Timestamps, ts[k]), append(s.Values, vs[k])
				if rng.IntN(50) == 0 { // a duplicate with another value: the first stored wins
					s.Timestamps, s.Values = append(s.Timestamps, ts[k]), append(s.Values, vs[rng.IntN(len(vs))])
				}
			}
			if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{s}); err != nil {
				t.Fatal(err)
			}
			i += len(chunk)
		}
	}
	for _, name := range []string{"temperature", "count", "flag"} {
		m, err := db.FindReadingMeasure(ctx, "W1", name, nil)
		if err != nil {
			t.Fatal(err)
		}
		all := scanAll(t, db, "W1", name)
		for q := 0; q < 15; q++ {
			from := start.Add(time.Duration(rng.Int64N(span*1e6)-3600e6) * time.Microsecond)
			to := from.Add(time.Duration(rng.Int64N(span*1e6)) * time.Microsecond)
			if q == 0 {
				from, to = start.Add(-time.Hour), start.Add(span*time.Second+time.Hour)
			}
			points := 2 + rng.IntN(2000)
			got := downsample(t, db, m, from, to, points, true)
			if want := downsample(t, db, m, from, to, points, false); !cmp.Equal(got, want) {
				t.Fatalf("%s downsample %v..%v to %d: rollups differ from readings:\n%s", name, from, to, points, cmp.Diff(want, got))
			}
			if want := referenceDownsample(all, from, to, points); !cmp.Equal(got, want) {
				t.Fatalf("%s downsample %v..%v to %d: differs from the reference:\n%s", name, from, to, points, cmp.Diff(want, got))
			}
			for _, w := range []time.Duration{time.Minute, 2 * time.Minute, 90 * time.Second, time.Hour, 6 * time.Hour, 24 * time.Hour} {
				got := aggregate(t, db, m, from, to, w, true)
				if want := aggregate(t, db, m, from, to, w, false); !cmp.Equal(got, want) {
					t.Fatalf("%s aggregate %v..%v by %v: rollups differ from readings:\n%s", name, from, to, w, cmp.Diff(want, got))
				}
			}
		}
	}
	// Deleting the sensor deletes its rollups with its readings.
	if err := db.DeleteSensor(ctx, "W1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM reading_rollup`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rollups left after deleting the sensor: %d %v", n, err)
	}
}

func downsample(t *testing.T, db *sqldb.DB, m dtbase.ReadingMeasure, from, to time.Time, points int, rollups bool) []dtbase.Reading {
	t.Helper()
	db.SetRollupReads(rollups)
	defer db.SetRollupReads(true)
	out := sqldbtest.Collect(t, func(yield func(dtbase.Reading) error) error {
		return db.DownsampleReadings(context.Background(), m, from, to, points, yield)
	})
	if len(out) > points {
		t.Fatalf("downsample to %d gave %d points", points, len(out))
	}
	return out
}

func aggregate(t *testing.T, db *sqldb.DB, m dtbase.ReadingMeasure, from, to time.Time, width time.Duration, rollups bool) []dtbase.ReadingBucket {
	t.Helper()
	db.SetRollupReads(rollups)
	defer db.SetRollupReads(true)
	return sqldbtest.Collect(t, func(yield func(dtbase.ReadingBucket) error) error {
		return db.AggregateReadings(context.Background(), m, from, to, width, yield)
	})
}

// referenceDownsample is the documented downsampling computed from all
// readings: points/2 pixels made of whole buckets of the coarsest rollup
// width (10 min, 1 h, 6 h, 1 day) that fits points/2 times in the
// span, each giving its
// earliest minimum and maximum in time order, or its one or two readings.
func referenceDownsample(all []dtbase.Reading, from, to time.Time, points int) []dtbase.Reading {
	var in []dtbase.Reading
	for _, r := range all {
		if !r.Time.Before(from) && !r.Time.After(to) {
			in = append(in, r)
		}
	}
	if len(in) == 0 {
		return nil
	}
	first, last := in[0].Time.UnixMicro(), in[len(in)-1].Time.UnixMicro()
	n := int64(points / 2)
	origin, pixel, w := first, (last-first)/n+1, int64(1)
	for _, ws := range []int64{86400e6, 21600e6, 3600e6, 600e6} {
		if ws*n <= last-first {
			w = ws
			origin = floor(first, w)
			pixel = (floor(last, w)-origin)/n + 1
			break
		}
	}
	pixelOf := func(r dtbase.Reading) int64 { return (floor(r.Time.UnixMicro(), w) - origin) / pixel }
	rank := func(v dtbase.Value) float64 {
		switch v.Kind {
		case dtbase.KindInteger:
			return float64(v.I)
		case dtbase.KindBoolean:
			if v.B {
				return 1
			}
			return 0
		}
		return v.F
	}
	var out []dtbase.Reading
	for i := 0; i < len(in); {
		p := pixelOf(in[i])
		j := i
		lo, hi := i, i
		for j < len(in) && pixelOf(in[j]) == p {
			if rank(in[j].Value) < rank(in[lo].Value) {
				lo = j
			}
			if rank(in[j].Value) > rank(in[hi].Value) {
				hi = j
			}
			j++
		}
		switch {
		case j-i <= 2:
			out = append(out, in[i:j]...)
		case lo == hi:
			out = append(out, in[lo])
		default:
			out = append(out, in[min(lo, hi)], in[max(lo, hi)])
		}
		i = j
	}
	return out
}

func floor(ts, w int64) int64 { return ts - ((ts%w)+w)%w }

// TestRollupMigrationFillsExistingReadings: readings stored before the
// rollups existed get theirs when the migration that creates them runs.
func TestRollupMigrationFillsExistingReadings(t *testing.T) {
	ctx := context.Background()
	dsn := sqldbtest.DSN(t)
	db := sqldbtest.OpenDSN(t, dsn)
	c := "C"
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "t", Measures: []dtbase.Measure{{Name: "temperature", Units: &c, Datatype: dtbase.Float}}}, "W1")
	s := dtbase.ReadingSeries{UniqueIdentifier: "W1", MeasureName: "temperature"}
	for i := 0; i < 5000; i++ {
		s.Timestamps, s.Values = append(s.Timestamps, at(i*60)), append(s.Values, dtbase.FloatValue(float64(i%97)))
	}
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{s}); err != nil {
		t.Fatal(err)
	}
	// Back to the schema before the rollups, with the readings.
	for _, q := range []string{`DROP TABLE reading_rollup`, `DELETE FROM schema_migration WHERE version = 23`} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := db.FindReadingMeasure(ctx, "W1", "temperature", nil)
	if err != nil {
		t.Fatal(err)
	}
	from, to := at(0), at(5000*60)
	got := downsample(t, db, m, from, to, 200, true)
	if want := downsample(t, db, m, from, to, 200, false); len(got) < 100 || !cmp.Equal(got, want) {
		t.Fatalf("after the migration, rollups give %d points, readings %d:\n%s", len(got), len(want), cmp.Diff(want, got))
	}
}
