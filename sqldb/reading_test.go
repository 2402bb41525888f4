package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// readingDB is a database with sensor type 'weather' (temperature C float,
// count integer, label string, flag boolean) with sensors W1 and W2, and
// type 'other' without measures with sensor O1.
func readingDB(t *testing.T) *sqldb.DB {
	t.Helper()
	db := sqldbtest.Open(t)
	c := "C"
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "weather", Measures: []dtbase.Measure{{Name: "temperature", Units: &c, Datatype: dtbase.Float},
		{Name: "count", Datatype: dtbase.Integer}, {Name: "label", Datatype: dtbase.String}, {Name: "flag", Datatype: dtbase.Boolean}}}, "W1", "W2")
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "other"}, "O1")
	return db
}

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func scanAll(t *testing.T, db *sqldb.DB, uid, measure string) []dtbase.Reading {
	t.Helper()
	return sqldbtest.Readings(t, db, uid, measure, nil)
}

func TestReadingStoreRoundTrip(t *testing.T) {
	db := readingDB(t)
	ctx := context.Background()
	cases := []struct {
		measure string
		values  []dtbase.Value
		want    []dtbase.Value
	}{
		{"temperature", []dtbase.Value{dtbase.FloatValue(1.5), dtbase.IntValue(2), dtbase.FloatValue(-1e300)},
			[]dtbase.Value{dtbase.FloatValue(1.5), dtbase.FloatValue(2), dtbase.FloatValue(-1e300)}},
		{"count", []dtbase.Value{dtbase.IntValue(math.MinInt32), dtbase.IntValue(0), dtbase.IntValue(math.MaxInt32)}, nil},
		{"label", []dtbase.Value{dtbase.StringValue("é"), dtbase.StringValue(""), dtbase.StringValue("a\tb")}, nil},
		{"flag", []dtbase.Value{dtbase.BoolValue(true), dtbase.BoolValue(false), dtbase.BoolValue(true)}, nil},
	}
	for _, c := range cases {
		t.Run(c.measure, func(t *testing.T) {
			// Sent out of order; read back in time order.
			res, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: c.measure,
				Values: c.values, Timestamps: []time.Time{at(2), at(0), at(1)}}})
			if err != nil || res.Rows != 3 || res.Inserted != 3 {
				t.Fatalf("insert: %+v %v", res, err)
			}
			want := c.want
			if want == nil {
				want = c.values
			}
			got := scanAll(t, db, "W1", c.measure)
			order := []int{1, 2, 0}
			for i, r := range got {
				if r.Value != want[order[i]] || !r.Time.Equal(at(i)) {
					t.Errorf("reading %d = %+v, want %+v at %v", i, r, want[order[i]], at(i))
				}
			}
		})
	}
}

func TestReadingStoreErrors(t *testing.T) {
	db := readingDB(t)
	ctx := context.Background()
	one := []time.Time{at(0)}
	units := "K"
	for _, c := range []struct {
		name   string
		series []dtbase.ReadingSeries
		code   string
		msg    string
	}{
		{"unknown sensor", []dtbase.ReadingSeries{{UniqueIdentifier: "X", MeasureName: "temperature", Values: []dtbase.Value{dtbase.FloatValue(1)}, Timestamps: one}}, dtbase.ENOTFOUND, `Sensor "X" does not exist`},
		{"unknown measure", []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "x", Values: []dtbase.Value{dtbase.FloatValue(1)}, Timestamps: one}}, dtbase.ENOTFOUND, `Sensor measure "x" does not exist`},
		{"measure of another type", []dtbase.ReadingSeries{{UniqueIdentifier: "O1", MeasureName: "temperature", Values: []dtbase.Value{dtbase.FloatValue(1)}, Timestamps: one}}, dtbase.ENOTFOUND, `The type of sensor "O1" has no measure "temperature"`},
		{"wrong units", []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "temperature", MeasureUnits: &units, Values: []dtbase.Value{dtbase.FloatValue(1)}, Timestamps: one}}, dtbase.ENOTFOUND, `with units "K"`},
		{"lengths", []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "temperature", Values: []dtbase.Value{dtbase.FloatValue(1)}, Timestamps: nil}}, dtbase.EINVALID, "different lengths (1 and 0)"},
		{"datatype", []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "count", Values: []dtbase.Value{dtbase.IntValue(1), dtbase.IntValue(1 << 40)}, Timestamps: []time.Time{at(0), at(1)}}}, dtbase.EINVALID, "readings[1]"},
		{"NUL in a string", []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "label", Values: []dtbase.Value{dtbase.StringValue("a\x00")}, Timestamps: one}}, dtbase.EINVALID, "readings[0]"},
		{"invalid UTF-8", []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "label", Values: []dtbase.Value{dtbase.StringValue("\xff")}, Timestamps: one}}, dtbase.EINVALID, "readings[0]"},
		{"NUL in a sensor name", []dtbase.ReadingSeries{{UniqueIdentifier: "W\x001", MeasureName: "label", Values: []dtbase.Value{dtbase.StringValue("a")}, Timestamps: one}}, dtbase.ENOTFOUND, "does not exist"},
		{"NUL in a measure name", []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "la\x00bel", Values: []dtbase.Value{dtbase.StringValue("a")}, Timestamps: one}}, dtbase.ENOTFOUND, "does not exist"},
		{"second series", []dtbase.ReadingSeries{
			{UniqueIdentifier: "W1", MeasureName: "count", Values: []dtbase.Value{dtbase.IntValue(1)}, Timestamps: one},
			{UniqueIdentifier: "W1", MeasureName: "flag", Values: []dtbase.Value{dtbase.IntValue(1)}, Timestamps: one}}, dtbase.EINVALID, "series[1]: readings[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.InsertReadings(ctx, c.series)
			if dtbase.ErrorCode(err) != c.code || !contains(dtbase.ErrorMessage(err), c.msg) {
				t.Fatalf("error %v, want %s mentioning %q", err, c.code, c.msg)
			}
		})
	}
	var n int
	db.SQL().QueryRow(`SELECT (SELECT count(*) FROM reading_float) + (SELECT count(*) FROM reading_integer) + (SELECT count(*) FROM reading_boolean)`).Scan(&n)
	if n != 0 {
		t.Errorf("failed inserts left %d rows", n)
	}
	// An index error carries its position.
	_, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "label",
		Values: []dtbase.Value{dtbase.StringValue("a"), dtbase.StringValue("b"), dtbase.FloatValue(1)}, Timestamps: []time.Time{at(0), at(1), at(2)}}})
	var ie *dtbase.ReadingIndexError
	if !errors.As(err, &ie) || ie.Index != 2 {
		t.Errorf("want a ReadingIndexError at 2, got %v", err)
	}
	// Unknown sensor, known measure: marked as such for sensor-readings.
	if _, err := db.FindReadingMeasure(ctx, "X", "temperature", nil); !dtbase.IsUnknownSensor(err) {
		t.Errorf("FindReadingMeasure of an unknown sensor: %v", err)
	}
	if _, err := db.FindReadingMeasure(ctx, "X", "nope", nil); dtbase.IsUnknownSensor(err) || dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("FindReadingMeasure of an unknown measure: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestReadingStoreFromRollsBack checks that an error from the source of
// InsertReadingsFrom undoes everything written before it.
func TestReadingStoreFromRollsBack(t *testing.T) {
	db := readingDB(t)
	n := 0
	_, err := db.InsertReadingsFrom(context.Background(), func() (*dtbase.ReadingSeries, error) {
		n++
		if n > 3 {
			return nil, errors.New("malformed row")
		}
		ts := make([]time.Time, 5000)
		vs := make([]dtbase.Value, 5000)
		for i := range ts {
			ts[i], vs[i] = at(n*5000+i), dtbase.FloatValue(1)
		}
		return &dtbase.ReadingSeries{UniqueIdentifier: "W1", MeasureName: "temperature", Values: vs, Timestamps: ts}, nil
	})
	if err == nil || err.Error() != "malformed row" {
		t.Fatalf("error %v", err)
	}
	if got := scanAll(t, db, "W1", "temperature"); len(got) != 0 {
		t.Errorf("%d rows survived the rollback", len(got))
	}
	res, err := db.InsertReadingsFrom(context.Background(), func() (*dtbase.ReadingSeries, error) { return nil, io.EOF })
	if err != nil || res.Rows != 0 {
		t.Errorf("empty source: %+v %v", res, err)
	}
}

// TestReadingStoreConcurrentBatches runs 8 writers whose batches touch two
// sensors in opposite orders with overlapping timestamps: on PostgreSQL
// this deadlocks unless every writer takes its row locks in one order.
func TestReadingStoreConcurrentBatches(t *testing.T) {
	db := readingDB(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for round := 0; round < 5; round++ {
				mk := func(uid string) dtbase.ReadingSeries {
					s := dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "temperature"}
					for _, i := range rng.Perm(3000) { // shuffled, overlapping
						s.Timestamps = append(s.Timestamps, at(i))
						s.Values = append(s.Values, dtbase.FloatValue(float64(i)))
					}
					return s
				}
				batch := []dtbase.ReadingSeries{mk("W1"), mk("W2")}
				if w%2 == 1 {
					batch[0], batch[1] = batch[1], batch[0]
				}
				if _, err := db.InsertReadings(context.Background(), batch); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, uid := range []string{"W1", "W2"} {
		got := scanAll(t, db, uid, "temperature")
		if len(got) != 3000 {
			t.Fatalf("%s: %d rows, want 3000", uid, len(got))
		}
		for i, r := range got {
			if r.Value.F != float64(i) {
				t.Fatalf("%s: row %d = %v", uid, i, r.Value)
			}
		}
	}
}

// TestReadingStoreAggregate compares the streamed aggregation with a
// direct computation on random data, including buckets before 1970.
func TestReadingStoreAggregate(t *testing.T) {
	db := readingDB(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	var ts []time.Time
	var vs []dtbase.Value
	base := time.Date(1969, 12, 31, 22, 0, 0, 0, time.UTC)
	for i := 0; i < 5000; i++ {
		ts = append(ts, base.Add(time.Duration(rng.IntN(4*3600e3))*time.Millisecond))
		vs = append(vs, dtbase.IntValue(int64(rng.IntN(1000)-500)))
	}
	res, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "count", Values: vs, Timestamps: ts}})
	if err != nil {
		t.Fatal(err)
	}
	stored := scanAll(t, db, "W1", "count")
	if int64(len(stored)) != res.Inserted {
		t.Fatalf("stored %d, inserted %d", len(stored), res.Inserted)
	}
	m, _ := db.FindReadingMeasure(ctx, "W1", "count", nil)
	width := 7 * time.Minute
	from, to := base.Add(13*time.Minute), base.Add(3*time.Hour)
	type agg struct {
		count, sum, min, max, first, last int64
	}
	want := map[int64]*agg{}
	var keys []int64
	for _, r := range stored {
		if r.Time.Before(from) || r.Time.After(to) {
			continue
		}
		us := r.Time.UnixMicro()
		k := us / width.Microseconds()
		if us%width.Microseconds() < 0 {
			k--
		}
		a := want[k]
		if a == nil {
			a = &agg{min: math.MaxInt64, max: math.MinInt64, first: r.Value.I}
			want[k] = a
			keys = append(keys, k)
		}
		a.count++
		a.sum += r.Value.I
		a.min, a.max, a.last = min(a.min, r.Value.I), max(a.max, r.Value.I), r.Value.I
	}
	i := 0
	err = db.AggregateReadings(ctx, m, from, to, width, func(b dtbase.ReadingBucket) error {
		if i >= len(keys) {
			return fmt.Errorf("extra bucket %v", b.Start)
		}
		k := keys[i]
		a := want[k]
		i++
		if !b.Start.Equal(time.UnixMicro(k*width.Microseconds())) || b.Count != a.count || b.Sum.I != a.sum || b.Min.I != a.min ||
			b.Max.I != a.max || b.First.I != a.first || b.Last.I != a.last || b.Mean.F != float64(a.sum)/float64(a.count) {
			return fmt.Errorf("bucket %v = %+v, want %+v", b.Start, b, *a)
		}
		return nil
	})
	if err != nil || i != len(keys) {
		t.Fatalf("%v (%d of %d buckets)", err, i, len(keys))
	}
}

// TestReadingStoreDownsample checks the bound on points and that every
// bucket's extremes survive.
func TestReadingStoreDownsample(t *testing.T) {
	db := readingDB(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 3))
	const n = 30000
	ts := make([]time.Time, n)
	vs := make([]dtbase.Value, n)
	for i := range ts {
		ts[i] = at(i * 60)
		vs[i] = dtbase.FloatValue(rng.NormFloat64())
	}
	vs[4242] = dtbase.FloatValue(99)
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "temperature", Values: vs, Timestamps: ts}}); err != nil {
		t.Fatal(err)
	}
	m, _ := db.FindReadingMeasure(ctx, "W1", "temperature", nil)
	for _, points := range []int{2, 3, 100, 1001, 60000} {
		got := sqldbtest.Collect(t, func(yield func(dtbase.Reading) error) error {
			return db.DownsampleReadings(ctx, m, at(0), at(n*60), points, yield)
		})
		if len(got) > points || (points >= n && len(got) != n) {
			t.Errorf("max %d: %d points", points, len(got))
		}
		peak := false
		for i, r := range got {
			peak = peak || r.Value.F == 99
			if i > 0 && !got[i-1].Time.Before(r.Time) {
				t.Fatalf("max %d: out of order at %d", points, i)
			}
		}
		if !peak {
			t.Errorf("max %d: the peak was lost", points)
		}
	}
	if err := db.DownsampleReadings(ctx, m, at(0), at(1), 1, func(dtbase.Reading) error { return nil }); dtbase.ErrorCode(err) != dtbase.EINVALID {
		t.Errorf("max_points 1: %v", err)
	}
}

func TestReadingStoreLatest(t *testing.T) {
	db := readingDB(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{
			{UniqueIdentifier: "W2", MeasureName: "temperature", Values: []dtbase.Value{dtbase.FloatValue(float64(i))}, Timestamps: []time.Time{at(i)}},
			{UniqueIdentifier: "W1", MeasureName: "label", Values: []dtbase.Value{dtbase.StringValue(fmt.Sprint(i))}, Timestamps: []time.Time{at(-i)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.LatestReadings(ctx, dtbase.LatestReadingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].UniqueIdentifier != "W1" || got[0].Value.S != "0" || !got[0].Time.Equal(at(0)) ||
		got[1].UniqueIdentifier != "W2" || got[1].Value.F != 2 || !got[1].Time.Equal(at(2)) {
		t.Errorf("latest: %+v", got)
	}
	other := "other"
	if got, err := db.LatestReadings(ctx, dtbase.LatestReadingFilter{TypeName: &other}); err != nil || len(got) != 0 {
		t.Errorf("type other: %+v %v", got, err)
	}
	if _, err := db.LatestReadings(ctx, dtbase.LatestReadingFilter{UniqueIdentifiers: []string{"nope"}}); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("unknown sensor: %v", err)
	}
}
