package dtbase

import (
	"context"
	"math"
	"sync"
	"time"
)

// ReadingSummary sums up the readings of a measure over a range. Min, Max
// and Mean are set for float and integer measures that have readings; a
// chart receives it as JSON.
type ReadingSummary struct {
	Count int64    `json:"count"`
	Min   *float64 `json:"min"`
	Max   *float64 `json:"max"`
	Mean  *float64 `json:"mean"`
}

// SummarizeReadings counts the readings of m in [from, to] and, for a
// numeric measure, finds their minimum, maximum and mean: one aggregated
// read with buckets as wide as the range.
func SummarizeReadings(ctx context.Context, store ReadingStore, m ReadingMeasure, from, to time.Time) (ReadingSummary, error) {
	var (
		s        ReadingSummary
		sum      float64
		lo, hi   = math.Inf(1), math.Inf(-1)
		width    = max(to.Sub(from)+time.Microsecond, time.Microsecond)
		numerics = m.Datatype == Float || m.Datatype == Integer
	)
	// Buckets align to the epoch, so the range may straddle a few of them.
	err := store.AggregateReadings(ctx, m, from, to, width, func(b ReadingBucket) error {
		s.Count += b.Count
		if numerics {
			f, _ := b.Sum.Float()
			sum += f
			f, _ = b.Min.Float()
			lo = math.Min(lo, f)
			f, _ = b.Max.Float()
			hi = math.Max(hi, f)
		}
		return nil
	})
	if err != nil {
		return ReadingSummary{}, err
	}
	if numerics && s.Count > 0 {
		mean := sum / float64(s.Count)
		s.Min, s.Max, s.Mean = &lo, &hi, &mean
	}
	return s, nil
}

// PlotReadings returns what a chart of m over [from, to] needs: at most
// maxPoints readings that keep its peaks (ReadingStore.DownsampleReadings)
// and the summary of every reading in the range. The two reads run at
// once, so they take the time of one on a machine with two cores. EINVALID
// for a string measure or maxPoints < 2.
func PlotReadings(ctx context.Context, store ReadingStore, m ReadingMeasure, from, to time.Time, maxPoints int) ([]Reading, ReadingSummary, error) {
	var (
		points  []Reading
		summary ReadingSummary
		sumErr  error
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		summary, sumErr = SummarizeReadings(ctx, store, m, from, to)
	}()
	err := store.DownsampleReadings(ctx, m, from, to, maxPoints, func(r Reading) error {
		points = append(points, r)
		return nil
	})
	wg.Wait()
	if err != nil {
		return nil, ReadingSummary{}, err
	}
	if sumErr != nil {
		return nil, ReadingSummary{}, sumErr
	}
	return points, summary, nil
}
