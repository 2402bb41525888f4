package quality

import (
	"context"
	"time"

	"github.com/dtbase/dtbase"
)

// maxRounds bounds the rounds that settle the interval; after them every
// bucket left that is not evenly spaced is read.
const maxRounds = 4

// fromStats measures quality from the store's finest rollup buckets (ten
// minutes), which give counts per day, the times of the first and last
// reading and the extremes. A bucket stands for its readings when the
// figures need nothing more: its readings are evenly spaced at the
// series' interval (its span is N-1 intervals), so it holds no gap; its
// extremes are in the physical range; and it holds one value, or no run
// through its edges could last as long as a reportable flatline. Every
// other bucket is replaced by its readings. For series sampled at a
// steady rate this reads only the buckets around gaps, values out of
// range and long flat runs; a series whose spacing varies within buckets
// is read whole, as it would be without rollups. The one assumption: a
// bucket whose span is exactly N-1 intervals holds them evenly, rather
// than a gap made up for by readings closer than the interval.
func fromStats(ctx context.Context, store dtbase.ReadingStore, sr dtbase.ReadingStatsReader, m dtbase.ReadingMeasure, from, to time.Time, opt Options) (*Report, error) {
	opt = opt.withDefaults()
	var items []dtbase.ReadingStats
	err := sr.ScanStats(ctx, m, from, to, func(s *dtbase.ReadingStats) error {
		items = append(items, *s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The interval: buckets not evenly spaced at it are read until it
	// settles.
	var iv time.Duration
	for round := 0; ; round++ {
		iv = medianInterval(items)
		us := iv.Microseconds()
		mark := make([]bool, len(items))
		n := 0
		for k := range items {
			if s := &items[k]; s.N > 1 && (round >= maxRounds || s.LastTs-s.FirstTs != (s.N-1)*us) {
				mark[k] = true
				n++
			}
		}
		if n == 0 {
			break
		}
		if items, err = readMarked(ctx, store, m, items, mark); err != nil {
			return nil, err
		}
	}
	numeric := m.Datatype == dtbase.Float || m.Datatype == dtbase.Integer
	limit := time.Duration(opt.GapFactor * float64(iv))
	constant := func(s *dtbase.ReadingStats) bool { return s.Min == s.Max }
	mark := make([]bool, len(items))
	for k := range items {
		s := &items[k]
		if s.N < 2 {
			continue
		}
		mark[k] = iv > limit || // every spacing in it is a gap
			numeric && (!opt.Range.Contains(s.Min) || !opt.Range.Contains(s.Max)) ||
			numeric && !constant(s) && span(s) >= opt.Flatline // a flatline inside it
	}
	if numeric {
		// Chains of items joined by equal values at their edges, through
		// items of one value: a run long enough to report may pass the
		// edge of a bucket at either end, which is then read.
		for i := 0; i < len(items); {
			j := i
			for j+1 < len(items) && items[j].Last == items[j+1].First && (j == i || constant(&items[j])) {
				j++
			}
			if j > i && time.Duration(items[j].LastTs-items[i].FirstTs)*time.Microsecond >= opt.Flatline {
				mark[i] = mark[i] || !constant(&items[i])
				mark[j] = mark[j] || !constant(&items[j])
			}
			if j > i && !constant(&items[j]) {
				i = j
			} else {
				i = j + 1
			}
		}
	}
	if items, err = readMarked(ctx, store, m, items, mark); err != nil {
		return nil, err
	}
	return analyze(items, m.Datatype, from, to, opt), nil
}

// readMarked returns items with each marked bucket replaced by its
// readings, one read per run of marked buckets.
func readMarked(ctx context.Context, store dtbase.ReadingStore, m dtbase.ReadingMeasure, items []dtbase.ReadingStats, mark []bool) ([]dtbase.ReadingStats, error) {
	out := make([]dtbase.ReadingStats, 0, len(items))
	for i := 0; i < len(items); {
		if !mark[i] || items[i].N < 2 {
			out = append(out, items[i])
			i++
			continue
		}
		j := i
		for j+1 < len(items) && mark[j+1] {
			j++
		}
		err := store.ScanReadings(ctx, m, at(items[i].FirstTs), at(items[j].LastTs), func(r dtbase.Reading) error {
			v, _ := r.Value.Number()
			out = append(out, dtbase.OneReading(r.Time.UnixMicro(), v))
			return nil
		})
		if err != nil {
			return nil, err
		}
		i = j + 1
	}
	return out, nil
}
