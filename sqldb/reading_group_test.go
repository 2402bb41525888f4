package sqldb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
)

// TestReadingGroupCommit sends many small inserts at once, so that they
// share transactions: repeats across requests, repeats within one, and
// requests that must fail alone (unknown sensor, a value of the wrong
// type). Every good request is stored, counted as new exactly once per
// stored reading, each bad one stores nothing, and the rollups equal the
// readings.
func TestReadingGroupCommit(t *testing.T) {
	ctx := context.Background()
	db := readingDB(t)
	const writers, requests = 16, 40
	var inserted, bad atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for i := 0; i < requests; i++ {
				uid := []string{"W1", "W2"}[rng.IntN(2)]
				name := []string{"temperature", "count"}[rng.IntN(2)]
				s := dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: name}
				for k := 0; k < 1+rng.IntN(3); k++ {
					sec := rng.IntN(400) * 7 // repeats across writers
					s.Timestamps = append(s.Timestamps, at(sec))
					s.Values = append(s.Values, dtbase.IntValue(int64(sec)))
					if rng.IntN(10) == 0 { // a repeat within the request, another value
						s.Timestamps = append(s.Timestamps, at(sec))
						s.Values = append(s.Values, dtbase.IntValue(-1))
					}
				}
				want := ""
				switch rng.IntN(10) {
				case 0:
					s.UniqueIdentifier, want = "nope", dtbase.ENOTFOUND
				case 1:
					s.Values[0], want = dtbase.StringValue("x"), dtbase.EINVALID
				}
				res, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{s})
				if got := dtbase.ErrorCode(err); got != want || (want == "" && err != nil) {
					errs <- fmt.Errorf("writer %d request %d: %v, want code %q", w, i, err, want)
					return
				}
				if want != "" {
					bad.Add(1)
					continue
				}
				if res.Rows != int64(len(s.Values)) || res.Inserted > res.Rows {
					errs <- fmt.Errorf("writer %d request %d: %+v for %d readings", w, i, res, len(s.Values))
					return
				}
				inserted.Add(res.Inserted)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if bad.Load() == 0 {
		t.Fatal("no bad request was sent")
	}
	var stored int64
	for _, uid := range []string{"W1", "W2"} {
		for _, name := range []string{"temperature", "count"} {
			all := scanAll(t, db, uid, name)
			stored += int64(len(all))
			for _, r := range all {
				// The value sent with a timestamp is its second count;
				// -1 only ever follows it in the same request.
				if got, _ := r.Value.Float(); got != float64(r.Time.Sub(t0)/time.Second) {
					t.Fatalf("%s %s at %v: %v, want the first value sent", uid, name, r.Time, r.Value)
				}
			}
			m, err := db.FindReadingMeasure(ctx, uid, name, nil)
			if err != nil {
				t.Fatal(err)
			}
			from, to := at(-3600), at(400*7+3600)
			for _, points := range []int{4, 50, 1000} {
				if got, want := downsample(t, db, m, from, to, points, true), downsample(t, db, m, from, to, points, false); !cmp.Equal(got, want) {
					t.Fatalf("%s %s downsample to %d: rollups differ from readings:\n%s", uid, name, points, cmp.Diff(want, got))
				}
			}
			for _, w := range []time.Duration{10 * time.Minute, time.Hour} {
				if got, want := aggregate(t, db, m, from, to, w, true), aggregate(t, db, m, from, to, w, false); !cmp.Equal(got, want) {
					t.Fatalf("%s %s aggregate by %v: rollups differ from readings:\n%s", uid, name, w, cmp.Diff(want, got))
				}
			}
		}
	}
	if stored != inserted.Load() {
		t.Fatalf("%d readings stored, %d counted as new", stored, inserted.Load())
	}
}
