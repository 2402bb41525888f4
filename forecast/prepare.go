package forecast

import (
	"fmt"
	"math"
	"time"

	"github.com/dtbase/dtbase"
)

// minObservedShare is the smallest share of the hours between the first and
// the last observed hour that must have readings. Below it, most of the
// series would be made up by filling, and a fit would describe the filling
// rather than the sensor.
const minObservedShare = 0.5

// hourlySeries is a sensor's readings snapped to the hour and averaged,
// on a gap-free hourly grid.
type hourlySeries struct {
	Start    time.Time // the first hour
	Values   []float64 // Values[i] is the hour Start + i h
	Observed []bool    // whether hour i had readings (false: filled)
	Readings int       // the readings read from the database
	Used     int       // the readings within tolerance of an hour
}

// ObservedHours counts the hours that had readings.
func (h *hourlySeries) ObservedHours() int {
	n := 0
	for _, o := range h.Observed {
		if o {
			n++
		}
	}
	return n
}

// End returns the last hour of the series.
func (h *hourlySeries) End() time.Time {
	return h.Start.Add(time.Duration(len(h.Values)-1) * time.Hour)
}

// prepareHourly snaps each reading to the nearest hour when it lies within
// tolerance of it (others are dropped, as in the original's clean_data),
// averages the readings of each hour, lays the hours on a regular grid from
// the first to the last observed hour and fills the gaps. points must be in
// time order with float values. It returns EINVALID when nothing is left or
// less than half the grid was observed.
func prepareHourly(points []dtbase.ModelPoint, tolerance time.Duration, fill dtbase.ForecastFill) (*hourlySeries, error) {
	var buckets []dtbase.ReadingBucket
	agg := dtbase.NewAggregator(dtbase.Float, time.Hour.Microseconds(), func(b dtbase.ReadingBucket) error {
		buckets = append(buckets, b)
		return nil
	})
	used := 0
	for _, p := range points {
		f, ok := p.Value.Number()
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		hour := p.Time.Round(time.Hour)
		if d := p.Time.Sub(hour); d > tolerance || -d > tolerance {
			continue
		}
		used++
		// The reading counts in the hour it is snapped to; readings arrive
		// in time order, so an hour's readings are adjacent.
		st := dtbase.OneReading(hour.UnixMicro(), f)
		_ = agg.Add(&st) // emit never fails
	}
	_ = agg.Flush()
	if len(buckets) == 0 {
		if len(points) == 0 {
			return nil, dtbase.Errorf(dtbase.EINVALID, "no readings in the training window")
		}
		return nil, dtbase.Errorf(dtbase.EINVALID, "none of the %d readings in the training window lies within %v of an hour", len(points), tolerance)
	}
	start, end := buckets[0].Start, buckets[len(buckets)-1].Start
	n := int(end.Sub(start)/time.Hour) + 1
	h := &hourlySeries{Start: start, Values: make([]float64, n), Observed: make([]bool, n), Readings: len(points), Used: used}
	for _, b := range buckets {
		i := int(b.Start.Sub(start) / time.Hour)
		h.Values[i], h.Observed[i] = b.Mean.F, true
	}
	if share := float64(len(buckets)) / float64(n); share < minObservedShare {
		return nil, dtbase.Errorf(dtbase.EINVALID, "only %d of the %d hours from %s to %s have readings (%.0f%%); at least %.0f%% are needed",
			len(buckets), n, dtbase.FormatTime(start), dtbase.FormatTime(end), 100*share, 100*minObservedShare)
	}
	fillGaps(h.Values, h.Observed, fill)
	return h, nil
}

// fillGaps gives the unobserved entries of values a value, or NaN with
// FillNone. The first and last entries are always observed.
func fillGaps(values []float64, observed []bool, fill dtbase.ForecastFill) {
	if fill == dtbase.FillNone {
		for i, o := range observed {
			if !o {
				values[i] = math.NaN()
			}
		}
		return
	}
	last := 0 // the index of the last observed entry
	for i := 1; i < len(values); i++ {
		if !observed[i] {
			continue
		}
		if gap := i - last; gap > 1 {
			for j := last + 1; j < i; j++ {
				if fill == dtbase.FillCarry {
					values[j] = values[last]
				} else {
					w := float64(j-last) / float64(gap)
					values[j] = values[last]*(1-w) + values[i]*w
				}
			}
		}
		last = i
	}
}

// isConstant reports whether the values of x that are not NaN are all
// equal, up to rounding relative to their size.
func isConstant(x []float64) bool {
	lo, hi, scale := math.Inf(1), math.Inf(-1), 0.0
	for _, v := range x {
		if !math.IsNaN(v) {
			lo, hi, scale = min(lo, v), max(hi, v), max(scale, math.Abs(v))
		}
	}
	return lo > hi || hi-lo <= 1e-12*(1+scale)
}

// firstNumber returns the first value of x that is not NaN.
func firstNumber(x []float64) float64 {
	for _, v := range x {
		if !math.IsNaN(v) {
			return v
		}
	}
	return math.NaN()
}

// describeHours formats a duration of whole hours.
func describeHours(n int) string {
	if n == 1 {
		return "1 hour"
	}
	return fmt.Sprintf("%d hours", n)
}
