// Package quality measures the data quality of one measure of one sensor
// over a time range: the expected interval between readings (learned from
// the data), coverage, gaps, values outside the measure's physical range
// and flatlines. It reads through dtbase.ReadingStore, so the API, the web
// pages and the CLI share one computation.
package quality

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dtbase/dtbase"
)

// Options tune a check. Zero values take the defaults.
type Options struct {
	// GapFactor is k: a gap is a stretch without readings longer than k
	// times the expected interval. Default 3.
	GapFactor float64
	// Flatline is the shortest run of one unchanged value that is reported.
	// Default one hour.
	Flatline time.Duration
	// Range is the measure's physical range; open by default.
	Range dtbase.MeasureRange
}

// Defaults of Options.
const (
	DefaultGapFactor = 3
	DefaultFlatline  = time.Hour
	// MaxListed bounds the gaps, flatlines and out-of-range readings listed
	// in a report; the counts stay exact.
	MaxListed = 1000
)

// Gap is a stretch of the range without readings.
type Gap struct {
	Start, End time.Time
}

// Length is the gap's duration.
func (g Gap) Length() time.Duration { return g.End.Sub(g.Start) }

// Flatline is a run of readings with one value.
type Flatline struct {
	Start, End time.Time
	Value      float64
	Readings   int
}

// Day is the coverage of one UTC calendar day of the range.
type Day struct {
	Date     time.Time // midnight UTC
	Readings int
	// Coverage is the percentage of the expected readings of the day (the
	// part of it inside the range) that are there, at most 100.
	Coverage float64
}

// Report is the data quality of one series over [From, To].
type Report struct {
	From, To time.Time
	Readings int
	// Interval is the (lower) median time between consecutive readings; 0 with
	// fewer than two readings.
	Interval time.Duration
	// Coverage is the percentage of the expected readings, one per
	// Interval over the range both ends included, that are there, at most
	// 100; 0 without an interval.
	Coverage float64
	Gaps     []Gap
	GapCount int
	// Duplicates is always 0: the store refuses a second reading at the
	// same timestamp, so none can be stored.
	Duplicates      int
	OutOfRange      []dtbase.Reading
	OutOfRangeCount int
	Flatlines       []Flatline
	FlatlineCount   int
	Days            []Day
}

// Check measures the quality of the readings of m in [from, to]. A store
// that keeps rollups (dtbase.ReadingStatsReader) answers from its finest
// buckets, reading the readings only of the buckets that need them (see
// fromStats); others are read reading by reading. EINVALID for a range
// that ends before it starts.
func Check(ctx context.Context, store dtbase.ReadingStore, m dtbase.ReadingMeasure, from, to time.Time, opt Options) (*Report, error) {
	if to.Before(from) {
		return nil, dtbase.Errorf(dtbase.EINVALID, "dt_to (%s) is before dt_from (%s)", dtbase.FormatTime(to), dtbase.FormatTime(from))
	}
	var (
		rep *Report
		err error
	)
	if sr, ok := store.(dtbase.ReadingStatsReader); ok && m.Datatype != dtbase.String {
		rep, err = fromStats(ctx, store, sr, m, from, to, opt)
	} else {
		var rs []dtbase.Reading
		err = store.ScanReadings(ctx, m, from, to, func(r dtbase.Reading) error {
			rs = append(rs, r)
			return nil
		})
		rep = Analyze(rs, from, to, opt)
	}
	if err != nil {
		return nil, fmt.Errorf("data quality of %s %s: %w", m.UniqueIdentifier, m.MeasureName, err)
	}
	return rep, nil
}

// Analyze measures the quality of readings rs, in time order without
// repeated timestamps, over [from, to].
func Analyze(rs []dtbase.Reading, from, to time.Time, opt Options) *Report {
	d := dtbase.String
	if len(rs) > 0 {
		switch rs[0].Value.Kind {
		case dtbase.KindFloat:
			d = dtbase.Float
		case dtbase.KindInteger:
			d = dtbase.Integer
		}
	}
	items := make([]dtbase.ReadingStats, len(rs))
	for i, r := range rs {
		v, _ := r.Value.Number()
		items[i] = dtbase.OneReading(r.Time.UnixMicro(), v)
	}
	return analyze(items, d, from, to, opt)
}

// analyze measures the quality of items: single readings, and buckets of
// readings (N > 1) that hold no gap, flatline edge or value out of range
// the report must list, evenly spaced at the interval the items give.
// Values are only checked for float and integer series.
func analyze(items []dtbase.ReadingStats, d dtbase.Datatype, from, to time.Time, opt Options) *Report {
	opt = opt.withDefaults()
	rep := &Report{From: from, To: to, Gaps: []Gap{}, OutOfRange: []dtbase.Reading{}, Flatlines: []Flatline{}, Days: []Day{}}
	for k := range items {
		rep.Readings += int(items[k].N)
	}
	rep.Interval = medianInterval(items)
	span := to.Sub(from)
	if rep.Interval > 0 {
		expected := float64(span/rep.Interval) + 1
		rep.Coverage = min(100, 100*float64(rep.Readings)/expected)
	}
	rep.gaps(items, opt.GapFactor)
	if d == dtbase.Float || d == dtbase.Integer {
		rep.values(items, d, opt)
	}
	rep.days(items)
	return rep
}

func (o Options) withDefaults() Options {
	if o.GapFactor <= 0 {
		o.GapFactor = DefaultGapFactor
	}
	if o.Flatline <= 0 {
		o.Flatline = DefaultFlatline
	}
	return o
}

func at(us int64) time.Time { return time.UnixMicro(us).UTC() }

// span is the time from an item's first reading to its last.
func span(s *dtbase.ReadingStats) time.Duration {
	return time.Duration(s.LastTs-s.FirstTs) * time.Microsecond
}

// medianInterval is the lower median of the times between consecutive
// readings, a bucket counting as N-1 intervals of its mean spacing.
func medianInterval(items []dtbase.ReadingStats) time.Duration {
	type weighted struct{ d, n int64 }
	var ds []weighted
	var total int64
	for k := range items {
		s := &items[k]
		if k > 0 {
			ds = append(ds, weighted{s.FirstTs - items[k-1].LastTs, 1})
			total++
		}
		if s.N > 1 {
			ds = append(ds, weighted{(s.LastTs - s.FirstTs) / (s.N - 1), s.N - 1})
			total += s.N - 1
		}
	}
	if total == 0 {
		return 0
	}
	slices.SortFunc(ds, func(a, b weighted) int { return cmp.Compare(a.d, b.d) })
	// The lower median: with few readings, the tighter interval finds more gaps.
	rank := (total - 1) / 2
	for _, w := range ds {
		if rank < w.n {
			return time.Duration(w.d) * time.Microsecond
		}
		rank -= w.n
	}
	return 0
}

// gaps lists the stretches longer than k intervals without readings,
// counting the range's ends as boundaries. Without an interval, only an
// empty range is one gap.
func (rep *Report) gaps(items []dtbase.ReadingStats, k float64) {
	add := func(a, b time.Time) {
		rep.GapCount++
		if len(rep.Gaps) < MaxListed {
			rep.Gaps = append(rep.Gaps, Gap{a, b})
		}
	}
	if len(items) == 0 {
		if rep.To.After(rep.From) {
			add(rep.From, rep.To)
		}
		return
	}
	if rep.Interval == 0 {
		return
	}
	limit := time.Duration(k * float64(rep.Interval))
	prev := rep.From
	for i := range items {
		t := at(items[i].FirstTs)
		if t.Sub(prev) > limit {
			add(prev, t)
		}
		prev = at(items[i].LastTs)
	}
	if rep.To.Sub(prev) > limit {
		add(prev, rep.To)
	}
}

// values counts readings outside the physical range and runs of one value
// lasting at least opt.Flatline. A bucket of readings is in range, and
// either holds one value or ends any run (one long enough to report has
// been read reading by reading).
func (rep *Report) values(items []dtbase.ReadingStats, d dtbase.Datatype, opt Options) {
	var run struct {
		on         bool
		v          float64
		start, end int64
		n          int
	}
	flush := func() {
		if run.on && run.n >= 2 && time.Duration(run.end-run.start)*time.Microsecond >= opt.Flatline {
			rep.FlatlineCount++
			if len(rep.Flatlines) < MaxListed {
				rep.Flatlines = append(rep.Flatlines, Flatline{at(run.start), at(run.end), run.v, run.n})
			}
		}
		run.on = false
	}
	for k := range items {
		s := &items[k]
		if s.N == 1 && !opt.Range.Contains(s.First) {
			rep.OutOfRangeCount++
			if len(rep.OutOfRange) < MaxListed {
				rep.OutOfRange = append(rep.OutOfRange, dtbase.Reading{Time: at(s.FirstTs), Value: dtbase.ValueOf(d, s.First)})
			}
		}
		switch {
		case s.Min != s.Max:
			flush()
		case run.on && s.First == run.v:
			run.end, run.n = s.LastTs, run.n+int(s.N)
		default:
			flush()
			run.on, run.v, run.start, run.end, run.n = true, s.First, s.FirstTs, s.LastTs, int(s.N)
		}
	}
	flush()
}

// days gives the coverage of every UTC day that meets the range. A bucket
// of readings lies within one day.
func (rep *Report) days(items []dtbase.ReadingStats) {
	const day = 24 * time.Hour
	first := rep.From.UTC().Truncate(day)
	i := 0
	for d := first; !d.After(rep.To); d = d.Add(day) {
		n := 0
		end := d.Add(day).UnixMicro()
		for i < len(items) && items[i].FirstTs < end {
			if items[i].FirstTs >= d.UnixMicro() {
				n += int(items[i].N)
			}
			i++
		}
		cov := 0.0
		if rep.Interval > 0 {
			lo, hi := maxTime(d, rep.From), minTime(d.Add(day), rep.To)
			if exp := float64(hi.Sub(lo)) / float64(rep.Interval); exp > 0 {
				cov = min(100, 100*float64(n)/exp)
			} else if n > 0 {
				cov = 100
			}
		}
		rep.Days = append(rep.Days, Day{d, n, cov})
		if len(rep.Days) > 3660 { // ten years: enough for a calendar
			break
		}
	}
}
func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
