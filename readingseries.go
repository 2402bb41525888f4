package dtbase

import (
	"context"
	"sync"
	"time"
)

// Reading series: the one downsampler and the one aggregator of readings,
// which the store feeds from its rollups or its readings and derived
// measures from their computed series, so that every plot and aggregate
// cuts a range the same way.

// RollupWidths are the bucket widths, in seconds, finest first, at which
// the store keeps rollups. Downsampled pixels are whole buckets of the
// coarsest of them that fits the requested number of pixels in the span,
// so a plot of any range reads O(pixels) rollups. Each divides the next by
// at most 6, so a plot reads at most about 6 buckets per pixel.
var RollupWidths = []int64{600, 3600, 21600, 86400}

// ReadingStats summarises readings of a float, integer or boolean series
// (booleans as 0 and 1) in time order: one reading, a stored rollup
// bucket, or a fold of them. Times are Unix microseconds.
type ReadingStats struct {
	Start           int64 // the bucket's start, or the reading's time
	N               int64
	Sum             float64
	Min, Max        float64
	MinTs, MaxTs    int64 // the earliest reading holding Min, Max
	First, Last     float64
	FirstTs, LastTs int64
}

// OneReading is the stats of the reading v at ts.
func OneReading(ts int64, v float64) ReadingStats {
	return ReadingStats{Start: ts, N: 1, Sum: v, Min: v, Max: v, MinTs: ts, MaxTs: ts, First: v, FirstTs: ts, Last: v, LastTs: ts}
}

// Add folds o, which holds only later readings, into r, keeping r.Start.
// Of equal extremes the earlier one is kept, as a scan of the readings
// keeps it.
func (r *ReadingStats) Add(o *ReadingStats) {
	if r.N == 0 {
		start := r.Start
		*r = *o
		r.Start = start
		return
	}
	r.N += o.N
	r.Sum += o.Sum
	if o.Min < r.Min {
		r.Min, r.MinTs = o.Min, o.MinTs
	}
	if o.Max > r.Max {
		r.Max, r.MaxTs = o.Max, o.MaxTs
	}
	r.Last, r.LastTs = o.Last, o.LastTs
}

// ValueOf converts a value summarised as a double back to datatype d.
func ValueOf(d Datatype, v float64) Value {
	switch d {
	case Integer:
		return IntValue(int64(v))
	case Boolean:
		return BoolValue(v != 0)
	}
	return FloatValue(v)
}

// CheckDownsample returns the EINVALID error of a downsampled read of m to
// maxPoints, if any: strings cannot be downsampled and a pixel needs two
// points.
func CheckDownsample(m ReadingMeasure, maxPoints int) error {
	if m.Datatype == String {
		return Errorf(EINVALID, "Measure %q holds strings, which cannot be downsampled; read them with sensor-readings", m.MeasureName)
	}
	if maxPoints < 2 {
		return Errorf(EINVALID, "max_points must be at least 2, got %d", maxPoints)
	}
	return nil
}

// Downsampler reduces the readings of one series between its first and
// last reading to at most maxPoints that keep its shape (see
// ReadingStore.DownsampleReadings): each pixel gives its earliest minimum
// and maximum in time order, or its one or two readings as they are.
// Stats are added in time order; each must lie in one pixel, which whole
// buckets of Width do. Total sums up everything added.
type Downsampler struct {
	origin, pixel, width int64
	datatype             Datatype
	cur                  ReadingStats
	at                   int64 // the pixel of cur
	emit                 func(Reading) error
	Total                ReadingStats
}

// NewDownsampler cuts [first, last] (µs) into maxPoints/2 pixels made of
// whole buckets of the coarsest rollup width that fits that many times in
// the span; below the finest width, into equal parts of the span.
func NewDownsampler(d Datatype, first, last int64, maxPoints int, emit func(Reading) error) *Downsampler {
	n := int64(max(maxPoints/2, 1))
	ds := &Downsampler{datatype: d, emit: emit, origin: first, pixel: (last-first)/n + 1}
	for i := len(RollupWidths) - 1; i >= 0; i-- {
		w := RollupWidths[i] * 1e6
		if w*n > last-first {
			continue
		}
		ds.width, ds.origin = RollupWidths[i], FloorDiv(first, w)*w
		// pixel > (floor(last)-origin)/n, so every bucket falls in [0, n).
		ds.pixel = (FloorDiv(last, w)*w-ds.origin)/n + 1
		break
	}
	return ds
}

// Width is the rollup width (seconds) whose buckets the pixels are made
// of, 0 when they are finer than every rollup.
func (ds *Downsampler) Width() int64 { return ds.width }

// Add folds r into its pixel, first giving out the previous pixel's
// points when r starts a new one.
func (ds *Downsampler) Add(r *ReadingStats) error {
	ts := r.Start
	if ds.width > 0 {
		w := ds.width * 1e6
		ts = FloorDiv(ts, w) * w
	}
	p := (ts - ds.origin) / ds.pixel
	if ds.cur.N > 0 && p != ds.at {
		if err := ds.Flush(); err != nil {
			return err
		}
	}
	ds.at = p
	ds.cur.Add(r)
	ds.Total.Add(r)
	return nil
}

// Flush gives out the points of the pixel being filled.
func (ds *Downsampler) Flush() error {
	c := ds.cur
	ds.cur = ReadingStats{}
	switch {
	case c.N == 0:
		return nil
	case c.N <= 2:
		if err := ds.point(c.FirstTs, c.First); err != nil || c.N == 1 {
			return err
		}
		return ds.point(c.LastTs, c.Last)
	}
	aTs, a, bTs, b := c.MinTs, c.Min, c.MaxTs, c.Max
	if bTs < aTs {
		aTs, a, bTs, b = bTs, b, aTs, a
	}
	if err := ds.point(aTs, a); err != nil || aTs == bTs {
		return err
	}
	return ds.point(bTs, b)
}

func (ds *Downsampler) point(ts int64, v float64) error {
	return ds.emit(Reading{Time: time.UnixMicro(ts).UTC(), Value: ValueOf(ds.datatype, v)})
}

// Aggregator folds stats into buckets of a width aligned to multiples of
// it since the Unix epoch, as ReadingStore.AggregateReadings answers them.
// Stats are added in time order; each must lie in one bucket.
type Aggregator struct {
	width    int64
	datatype Datatype
	cur      ReadingStats
	bucket   int64
	emit     func(ReadingBucket) error
}

// NewAggregator returns an aggregator of a d series into buckets of width
// µs (at least 1), giving each to emit.
func NewAggregator(d Datatype, width int64, emit func(ReadingBucket) error) *Aggregator {
	return &Aggregator{width: width, datatype: d, emit: emit}
}

// Add folds r into its bucket, first giving out the previous bucket when
// r starts a new one.
func (a *Aggregator) Add(r *ReadingStats) error {
	b := FloorDiv(r.Start, a.width)
	if a.cur.N > 0 && b != a.bucket {
		if err := a.Flush(); err != nil {
			return err
		}
	}
	a.bucket = b
	a.cur.Add(r)
	return nil
}

// Flush gives out the bucket being filled.
func (a *Aggregator) Flush() error {
	c := a.cur
	a.cur = ReadingStats{}
	if c.N == 0 {
		return nil
	}
	d := a.datatype
	b := ReadingBucket{Start: time.UnixMicro(a.bucket * a.width).UTC(), Count: c.N, First: ValueOf(d, c.First), Last: ValueOf(d, c.Last)}
	if d == Float || d == Integer {
		b.Sum, b.Mean = ValueOf(d, c.Sum), FloatValue(c.Sum/float64(c.N))
		b.Min, b.Max = ValueOf(d, c.Min), ValueOf(d, c.Max)
	}
	return a.emit(b)
}

// FloorDiv divides rounding toward negative infinity, so buckets before
// 1970 are aligned like those after.
func FloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ReadingSummary sums up the readings of a measure over a range. Min, Max
// and Mean are set for float and integer measures that have readings; a
// chart receives it as JSON.
type ReadingSummary struct {
	Count int64    `json:"count"`
	Min   *float64 `json:"min"`
	Max   *float64 `json:"max"`
	Mean  *float64 `json:"mean"`
}

// Summary is the summary of readings of datatype d whose stats are s.
func Summary(d Datatype, s ReadingStats) ReadingSummary {
	sum := ReadingSummary{Count: s.N}
	if (d == Float || d == Integer) && s.N > 0 {
		lo, hi, mean := s.Min, s.Max, s.Sum/float64(s.N)
		sum.Min, sum.Max, sum.Mean = &lo, &hi, &mean
	}
	return sum
}

// SummarizeReadings counts the readings of m in [from, to] and, for a
// numeric measure, finds their minimum, maximum and mean: one aggregated
// read with buckets as wide as the range.
func SummarizeReadings(ctx context.Context, store ReadingStore, m ReadingMeasure, from, to time.Time) (ReadingSummary, error) {
	var total ReadingStats
	width := max(to.Sub(from)+time.Microsecond, time.Microsecond)
	// Buckets align to the epoch, so the range may straddle a few of them.
	err := store.AggregateReadings(ctx, m, from, to, width, func(b ReadingBucket) error {
		s := ReadingStats{N: b.Count}
		s.Sum, _ = b.Sum.Float()
		s.Min, _ = b.Min.Float()
		s.Max, _ = b.Max.Float()
		total.Add(&s)
		return nil
	})
	if err != nil {
		return ReadingSummary{}, err
	}
	return Summary(m.Datatype, total), nil
}

// Plot is what a chart of one series needs: its downsampled points and the
// summary of every reading in the range.
type Plot struct {
	Measure ReadingMeasure
	Points  []Reading
	Summary ReadingSummary
}

// SeriesPlotter is implemented by stores that plot several series in one
// read: PlotSeries then uses it.
type SeriesPlotter interface {
	// PlotSeries returns, for each of ms, at most maxPoints readings in
	// [from, to] downsampled as ReadingStore.DownsampleReadings does, and
	// the summary of every reading of the range. EINVALID as
	// CheckDownsample.
	PlotSeries(ctx context.Context, ms []ReadingMeasure, from, to time.Time, maxPoints int) ([]Plot, error)
}

// PlotReadings returns what a chart of m over [from, to] needs: at most
// maxPoints readings that keep its peaks (ReadingStore.DownsampleReadings)
// and the summary of every reading in the range. EINVALID for a string
// measure or maxPoints < 2.
func PlotReadings(ctx context.Context, store ReadingStore, m ReadingMeasure, from, to time.Time, maxPoints int) ([]Reading, ReadingSummary, error) {
	ps, err := PlotSeries(ctx, store, []ReadingMeasure{m}, from, to, maxPoints)
	if err != nil {
		return nil, ReadingSummary{}, err
	}
	return ps[0].Points, ps[0].Summary, nil
}

// PlotSeries returns the plots of several series over one range, as
// PlotReadings does for one: in one read of them all when the store is a
// SeriesPlotter; otherwise with a downsampled and a summarising read of
// each, the two at once.
func PlotSeries(ctx context.Context, store ReadingStore, ms []ReadingMeasure, from, to time.Time, maxPoints int) ([]Plot, error) {
	if sp, ok := store.(SeriesPlotter); ok {
		return sp.PlotSeries(ctx, ms, from, to, maxPoints)
	}
	out := make([]Plot, len(ms))
	for i, m := range ms {
		out[i].Measure = m
		var (
			sumErr error
			wg     sync.WaitGroup
		)
		wg.Go(func() {
			out[i].Summary, sumErr = SummarizeReadings(ctx, store, m, from, to)
		})
		err := store.DownsampleReadings(ctx, m, from, to, maxPoints, func(r Reading) error {
			out[i].Points = append(out[i].Points, r)
			return nil
		})
		wg.Wait()
		if err != nil {
			return nil, err
		}
		if sumErr != nil {
			return nil, sumErr
		}
	}
	return out, nil
}

// ReadingStatsReader is implemented by stores that keep rollups.
type ReadingStatsReader interface {
	// ScanStats calls fn, in time order, with stats that hold every
	// reading of m in [from, to] exactly once: the buckets of the finest
	// rollup width that lie wholly in the range, and the readings of the
	// partial buckets at either end as stats of one. EINVALID for a
	// string measure.
	ScanStats(ctx context.Context, m ReadingMeasure, from, to time.Time, fn func(*ReadingStats) error) error
}
