// Package quality measures the data quality of one measure of one sensor
// over a time range: the expected interval between readings (learned from
// the data), coverage, gaps, values outside the measure's physical range
// and flatlines. It reads through dtbase.ReadingStore, so the API, the web
// pages and the CLI share one computation.
package quality

import (
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

// Check reads the readings of m in [from, to] and measures their quality.
// EINVALID for a range that ends before it starts.
func Check(ctx context.Context, store dtbase.ReadingStore, m dtbase.ReadingMeasure, from, to time.Time, opt Options) (*Report, error) {
	if to.Before(from) {
		return nil, dtbase.Errorf(dtbase.EINVALID, "dt_to (%s) is before dt_from (%s)", dtbase.FormatTime(to), dtbase.FormatTime(from))
	}
	// When the store keeps rollups (count, min, max per minute), coverage,
	// days and gaps can be computed from them instead of every reading:
	// this is the one place to switch.
	var rs []dtbase.Reading
	err := store.ScanReadings(ctx, m, from, to, func(r dtbase.Reading) error {
		rs = append(rs, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data quality of %s %s: %w", m.UniqueIdentifier, m.MeasureName, err)
	}
	return Analyze(rs, from, to, opt), nil
}

// Analyze measures the quality of readings rs, in time order without
// repeated timestamps, over [from, to].
func Analyze(rs []dtbase.Reading, from, to time.Time, opt Options) *Report {
	if opt.GapFactor <= 0 {
		opt.GapFactor = DefaultGapFactor
	}
	if opt.Flatline <= 0 {
		opt.Flatline = DefaultFlatline
	}
	rep := &Report{From: from, To: to, Readings: len(rs), Gaps: []Gap{}, OutOfRange: []dtbase.Reading{}, Flatlines: []Flatline{}, Days: []Day{}}
	rep.Interval = medianInterval(rs)
	span := to.Sub(from)
	if rep.Interval > 0 {
		expected := float64(span/rep.Interval) + 1
		rep.Coverage = min(100, 100*float64(len(rs))/expected)
	}
	rep.gaps(rs, opt.GapFactor)
	rep.values(rs, opt)
	rep.days(rs)
	return rep
}

func medianInterval(rs []dtbase.Reading) time.Duration {
	if len(rs) < 2 {
		return 0
	}
	d := make([]time.Duration, 0, len(rs)-1)
	for i := 1; i < len(rs); i++ {
		if dt := rs[i].Time.Sub(rs[i-1].Time); dt > 0 {
			d = append(d, dt)
		}
	}
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[(len(d)-1)/2] // the lower median: with few readings, the tighter interval finds more gaps
}

// gaps lists the stretches longer than k intervals without readings,
// counting the range's ends as boundaries. Without an interval, only an
// empty range is one gap.
func (rep *Report) gaps(rs []dtbase.Reading, k float64) {
	add := func(a, b time.Time) {
		rep.GapCount++
		if len(rep.Gaps) < MaxListed {
			rep.Gaps = append(rep.Gaps, Gap{a, b})
		}
	}
	if len(rs) == 0 {
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
	for _, r := range rs {
		if r.Time.Sub(prev) > limit {
			add(prev, r.Time)
		}
		prev = r.Time
	}
	if rep.To.Sub(prev) > limit {
		add(prev, rep.To)
	}
}

// values counts readings outside the physical range and runs of one value
// lasting at least opt.Flatline. Strings and booleans have no range and
// are not checked for flatlines.
func (rep *Report) values(rs []dtbase.Reading, opt Options) {
	start := 0
	flush := func(end int) { // the run rs[start:end]
		if end-start < 2 {
			return
		}
		a, b := rs[start], rs[end-1]
		if b.Time.Sub(a.Time) >= opt.Flatline {
			rep.FlatlineCount++
			if len(rep.Flatlines) < MaxListed {
				v, _ := number(a.Value)
				rep.Flatlines = append(rep.Flatlines, Flatline{a.Time, b.Time, v, end - start})
			}
		}
	}
	for i, r := range rs {
		v, ok := number(r.Value)
		if !ok {
			return
		}
		if !opt.Range.Contains(v) {
			rep.OutOfRangeCount++
			if len(rep.OutOfRange) < MaxListed {
				rep.OutOfRange = append(rep.OutOfRange, r)
			}
		}
		if i > 0 && r.Value != rs[start].Value {
			flush(i)
			start = i
		}
	}
	flush(len(rs))
}

// days gives the coverage of every UTC day that meets the range.
func (rep *Report) days(rs []dtbase.Reading) {
	const day = 24 * time.Hour
	first := rep.From.UTC().Truncate(day)
	i := 0
	for d := first; !d.After(rep.To); d = d.Add(day) {
		n := 0
		for i < len(rs) && rs[i].Time.Before(d.Add(day)) {
			if !rs[i].Time.Before(d) {
				n++
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

// number returns v as a float for float and integer values.
func number(v dtbase.Value) (float64, bool) {
	switch v.Kind {
	case dtbase.KindFloat:
		return v.F, true
	case dtbase.KindInteger:
		return float64(v.I), true
	}
	return 0, false
}
