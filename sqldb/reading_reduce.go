package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dtbase/dtbase"
)

// Aggregated and downsampled reads stream the range in time order and
// reduce it on the fly, in constant memory. Doing it in Go keeps one
// implementation for both engines and makes first/last exact; the scan
// itself is the same contiguous primary-key range as a plain read.

// floorDiv divides rounding toward negative infinity, so buckets before
// 1970 are aligned like those after.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// AggregateReadings summarises the readings of m in [from, to] per bucket
// of width; see dtbase.ReadingStore.
func (db *DB) AggregateReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, width time.Duration, fn func(dtbase.ReadingBucket) error) error {
	w := width.Microseconds()
	if w < 1 {
		return dtbase.Errorf(dtbase.EINVALID, "The bucket width must be at least one microsecond")
	}
	if rolledUp(m.Datatype) && !db.noRollupReads {
		for i := len(rollupWidths) - 1; i >= 0; i-- {
			if w%(rollupWidths[i]*1e6) == 0 {
				return db.aggregateRollups(ctx, m, micros(from), micros(to), w, rollupWidths[i], fn)
			}
		}
	}
	var (
		cur     dtbase.ReadingBucket
		bucket  int64
		open    bool
		fsum    float64
		isum    int64
		numeric = m.Datatype == dtbase.Float || m.Datatype == dtbase.Integer
	)
	flush := func() error {
		if !open {
			return nil
		}
		if numeric {
			if m.Datatype == dtbase.Float {
				cur.Sum = dtbase.FloatValue(fsum)
				cur.Mean = dtbase.FloatValue(fsum / float64(cur.Count))
			} else {
				cur.Sum = dtbase.IntValue(isum)
				cur.Mean = dtbase.FloatValue(float64(isum) / float64(cur.Count))
			}
		} else {
			cur.Min, cur.Max = dtbase.Value{}, dtbase.Value{}
		}
		return fn(cur)
	}
	err := db.scanReadings(ctx, m, micros(from), micros(to), func(r dtbase.Reading) error {
		b := floorDiv(r.Time.UnixMicro(), w)
		if !open || b != bucket {
			if err := flush(); err != nil {
				return err
			}
			open, bucket = true, b
			cur = dtbase.ReadingBucket{Start: fromMicros(b * w), First: r.Value, Min: r.Value, Max: r.Value}
			fsum, isum = 0, 0
		}
		cur.Count++
		cur.Last = r.Value
		switch m.Datatype {
		case dtbase.Float:
			fsum += r.Value.F
			if r.Value.F < cur.Min.F {
				cur.Min = r.Value
			}
			if r.Value.F > cur.Max.F {
				cur.Max = r.Value
			}
		case dtbase.Integer:
			isum += r.Value.I
			if r.Value.I < cur.Min.I {
				cur.Min = r.Value
			}
			if r.Value.I > cur.Max.I {
				cur.Max = r.Value
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// readingExtent returns the first and last timestamps of m in [from, to],
// each one descent of the primary key; ok is false for an empty range.
func (db *DB) readingExtent(ctx context.Context, m dtbase.ReadingMeasure, from, to int64) (first, last int64, ok bool, err error) {
	t := readingTable(m.Datatype)
	where := " WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts"
	err = db.readings().QueryRowContext(ctx, "SELECT ts FROM "+t+where+" LIMIT 1", m.SensorID, m.MeasureID, from, to).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("read extent of sensor %q: %w", m.UniqueIdentifier, err)
	}
	err = db.readings().QueryRowContext(ctx, "SELECT ts FROM "+t+where+" DESC LIMIT 1", m.SensorID, m.MeasureID, from, to).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, fmt.Errorf("read extent of sensor %q: %w", m.UniqueIdentifier, err)
	}
	if errors.Is(err, sql.ErrNoRows) { // deleted in between
		last = first
	}
	return first, last, true, nil
}

// DownsampleReadings returns at most maxPoints readings of m in [from, to]
// keeping each bucket's extremes; see dtbase.ReadingStore. When the span
// is wide enough for a rollup width to fit maxPoints/2 times, the pixels
// are whole multiples of that width aligned to it, and they are read from
// the rollups (plus the readings of the partial rollup buckets at either
// end): O(pixels) rows for any range.
func (db *DB) DownsampleReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, maxPoints int, fn func(dtbase.Reading) error) error {
	if m.Datatype == dtbase.String {
		return dtbase.Errorf(dtbase.EINVALID, "Measure %q holds strings, which cannot be downsampled; read them with sensor-readings", m.MeasureName)
	}
	if maxPoints < 2 {
		return dtbase.Errorf(dtbase.EINVALID, "max_points must be at least 2, got %d", maxPoints)
	}
	first, last, ok, err := db.readingExtent(ctx, m, micros(from), micros(to))
	if err == nil && (!ok || first-micros(from) >= rollupWidths[0]*1e6) && !db.noRollupReads {
		// Readings past retention may be gone while their rollups remain:
		// look when the readings leave a whole finest bucket uncovered.
		first, last, ok, err = db.extendToRollups(ctx, m, micros(from), micros(to), first, last, ok)
	}
	if err != nil || !ok {
		return err
	}
	g := downsampleGrid(first, last, int64(maxPoints/2))
	ws := g.width
	if db.noRollupReads {
		ws = 0
	}
	var (
		pixel int64
		cur   rollupRow
	)
	emit := func(ts int64, v float64) error {
		return fn(dtbase.Reading{Time: fromMicros(ts), Value: valueFromDouble(m.Datatype, v)})
	}
	flush := func() error {
		switch {
		case cur.n == 0:
			return nil
		case cur.n <= 2:
			if err := emit(cur.firstTs, cur.first); err != nil || cur.n == 1 {
				return err
			}
			return emit(cur.lastTs, cur.last)
		}
		aTs, a, bTs, b := cur.minTs, cur.min, cur.maxTs, cur.max
		if bTs < aTs {
			aTs, a, bTs, b = bTs, b, aTs, a
		}
		if err := emit(aTs, a); err != nil || aTs == bTs {
			return err
		}
		return emit(bTs, b)
	}
	err = db.feedRange(ctx, m, first, last, ws, func(r *rollupRow) error {
		if r.firstTs > last {
			return errStopScan // rows written after the extent was read
		}
		p := g.of(r.bucket)
		if cur.n > 0 && p != pixel {
			if err := flush(); err != nil {
				return err
			}
			cur = rollupRow{}
		}
		pixel = p
		cur.add(r)
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return err
	}
	return flush()
}

// grid is how a downsampled read cuts [first, last] into pixels: a
// reading at ts is in pixel (floor(ts, width) - origin) / pixel, where
// floor rounds down to a multiple of the rollup width (seconds), if any.
// Pixels are thus unions of whole rollup buckets.
type grid struct {
	origin, pixel, width int64
}

// downsampleGrid picks the coarsest rollup width that fits n times in the
// span, and n pixels of whole buckets of it. Below the finest width the
// pixels are n equal parts of the span, as they were before rollups.
func downsampleGrid(first, last, n int64) grid {
	for i := len(rollupWidths) - 1; i >= 0; i-- {
		w := rollupWidths[i] * 1e6
		if w*n > last-first {
			continue
		}
		origin := floorDiv(first, w) * w
		// pixel > (floor(last)-origin)/n, so every bucket falls in [0, n).
		return grid{origin: origin, pixel: (floorDiv(last, w)*w-origin)/n + 1, width: rollupWidths[i]}
	}
	return grid{origin: first, pixel: (last-first)/n + 1}
}

// of returns the pixel of a bucket or reading starting at ts.
func (g grid) of(ts int64) int64 {
	if g.width > 0 {
		w := g.width * 1e6
		ts = floorDiv(ts, w) * w
	}
	return (ts - g.origin) / g.pixel
}

// feedRange calls fn, in time order, with buckets that hold every reading
// of m in [from, to] exactly once: with ws = 0 each reading as a bucket of
// one; otherwise the stored rollups of width ws (seconds) that lie wholly
// in the range, and the readings of the partial buckets at either end.
func (db *DB) feedRange(ctx context.Context, m dtbase.ReadingMeasure, from, to, ws int64, fn func(*rollupRow) error) error {
	if ws == 0 {
		return scanRawAsRows(ctx, db.readings(), m, from, to, fn)
	}
	w := ws * 1e6
	lo := floorDiv(from, w) * w
	if lo < from { // the head bucket starts before the range
		if err := scanRawAsRows(ctx, db.readings(), m, from, min(lo+w-1, to), fn); err != nil {
			return err
		}
		lo += w
	}
	hi := floorDiv(to, w) * w
	tail := hi+w-1 > to // the tail bucket ends after the range
	full := hi
	if tail {
		full -= w
	}
	if lo <= full {
		if err := scanRollups(ctx, db.readings(), m, ws, lo, full, fn); err != nil {
			return err
		}
	}
	if tail && hi >= lo {
		return scanRawAsRows(ctx, db.readings(), m, hi, to, fn)
	}
	return nil
}

// valueFromDouble converts a value stored in a rollup back to datatype d.
func valueFromDouble(d dtbase.Datatype, v float64) dtbase.Value {
	switch d {
	case dtbase.Integer:
		return dtbase.IntValue(int64(v))
	case dtbase.Boolean:
		return dtbase.BoolValue(v != 0)
	}
	return dtbase.FloatValue(v)
}

// aggregateRollups is AggregateReadings from rollups of width ws, which
// divides width.
func (db *DB) aggregateRollups(ctx context.Context, m dtbase.ReadingMeasure, from, to, width, ws int64, fn func(dtbase.ReadingBucket) error) error {
	var (
		cur    rollupRow
		bucket int64
	)
	flush := func() error {
		if cur.n == 0 {
			return nil
		}
		b := dtbase.ReadingBucket{Start: fromMicros(bucket * width), Count: cur.n,
			First: valueFromDouble(m.Datatype, cur.first), Last: valueFromDouble(m.Datatype, cur.last)}
		if m.Datatype == dtbase.Float || m.Datatype == dtbase.Integer {
			b.Sum = valueFromDouble(m.Datatype, cur.sum)
			b.Mean = dtbase.FloatValue(cur.sum / float64(cur.n))
			b.Min, b.Max = valueFromDouble(m.Datatype, cur.min), valueFromDouble(m.Datatype, cur.max)
		}
		return fn(b)
	}
	err := db.feedRange(ctx, m, from, to, ws, func(r *rollupRow) error {
		b := floorDiv(r.bucket, width)
		if cur.n > 0 && b != bucket {
			if err := flush(); err != nil {
				return err
			}
			cur = rollupRow{}
		}
		bucket = b
		cur.add(r)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// errStopScan ends a scan early without an error.
var errStopScan = errors.New("stop scan")
