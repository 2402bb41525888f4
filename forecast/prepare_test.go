package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

// TestPrepareHourlyMeans checks the hourly grid prepareHourly builds with
// the shared aggregator against sums kept per hour in the readings' order:
// the same hours, the same readings used, and means equal to the bit.
func TestPrepareHourlyMeans(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	tolerance := 20 * time.Minute
	for trial := range 50 {
		// Readings every few minutes from before 1970 or after it, with
		// values that do not add up exactly, some of them not numbers.
		at := time.Date(1969+2*(trial%2), 12, 31, 20, 0, 0, 0, time.UTC)
		var points []dtbase.ModelPoint
		for range 400 {
			at = at.Add(time.Duration(1+rng.IntN(12)) * time.Minute).Add(time.Duration(rng.IntN(1e6)) * time.Microsecond)
			v := dtbase.FloatValue(rng.NormFloat64()*7 + 0.1)
			switch rng.IntN(20) {
			case 0:
				v = dtbase.FloatValue(math.NaN())
			case 1:
				v = dtbase.IntValue(int64(rng.IntN(40)))
			}
			points = append(points, dtbase.ModelPoint{Time: at, Value: v})
		}
		sums, counts, used := map[int64]float64{}, map[int64]int{}, 0
		var first, last int64 = math.MaxInt64, math.MinInt64
		for _, p := range points {
			f, ok := p.Value.Number()
			hour := p.Time.Round(time.Hour)
			if !ok || math.IsNaN(f) || p.Time.Sub(hour).Abs() > tolerance {
				continue
			}
			k := hour.Unix() / 3600
			sums[k] += f
			counts[k]++
			used++
			first, last = min(first, k), max(last, k)
		}
		h, err := prepareHourly(points, tolerance, dtbase.FillNone)
		if err != nil {
			t.Fatal(err)
		}
		if h.Start.Unix() != first*3600 || len(h.Values) != int(last-first+1) || h.Used != used || h.Readings != len(points) {
			t.Fatalf("trial %d: start %v, %d hours, %d of %d used; want start %v, %d hours, %d used",
				trial, h.Start, len(h.Values), h.Used, h.Readings, time.Unix(first*3600, 0).UTC(), last-first+1, used)
		}
		for i, v := range h.Values {
			k := first + int64(i)
			want := math.NaN()
			if counts[k] > 0 {
				want = sums[k] / float64(counts[k])
			}
			if h.Observed[i] != (counts[k] > 0) || math.Float64bits(v) != math.Float64bits(want) && !(math.IsNaN(v) && math.IsNaN(want)) {
				t.Fatalf("trial %d, hour %d: %v (observed %v), want %v", trial, i, v, h.Observed[i], want)
			}
		}
	}
}
