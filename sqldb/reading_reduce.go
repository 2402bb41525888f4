package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
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

// rankOf orders values of a numeric or boolean measure.
func rankOf(v dtbase.Value) float64 {
	switch v.Kind {
	case dtbase.KindFloat:
		return v.F
	case dtbase.KindInteger:
		return float64(v.I)
	case dtbase.KindBoolean:
		if v.B {
			return 1
		}
	}
	return 0
}

// readingExtent returns the first and last timestamps of m in [from, to],
// each one descent of the primary key; ok is false for an empty range.
func (db *DB) readingExtent(ctx context.Context, m dtbase.ReadingMeasure, from, to int64) (first, last int64, ok bool, err error) {
	t := readingTable(m.Datatype)
	where := " WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts"
	err = db.read.QueryRowContext(ctx, "SELECT ts FROM "+t+where+" LIMIT 1", m.SensorID, m.MeasureID, from, to).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("read extent of sensor %q: %w", m.UniqueIdentifier, err)
	}
	err = db.read.QueryRowContext(ctx, "SELECT ts FROM "+t+where+" DESC LIMIT 1", m.SensorID, m.MeasureID, from, to).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, fmt.Errorf("read extent of sensor %q: %w", m.UniqueIdentifier, err)
	}
	if errors.Is(err, sql.ErrNoRows) { // deleted in between
		last = first
	}
	return first, last, true, nil
}

// DownsampleReadings returns at most maxPoints readings of m in [from, to]
// keeping each bucket's extremes; see dtbase.ReadingStore.
func (db *DB) DownsampleReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, maxPoints int, fn func(dtbase.Reading) error) error {
	if m.Datatype == dtbase.String {
		return dtbase.Errorf(dtbase.EINVALID, "Measure %q holds strings, which cannot be downsampled; read them with sensor-readings", m.MeasureName)
	}
	if maxPoints < 2 {
		return dtbase.Errorf(dtbase.EINVALID, "max_points must be at least 2, got %d", maxPoints)
	}
	f, t := micros(from), micros(to)
	first, last, ok, err := db.readingExtent(ctx, m, f, t)
	if err != nil || !ok {
		return err
	}
	buckets := int64(maxPoints / 2)
	// width > span/buckets, so every timestamp falls in [0, buckets).
	width := (last-first)/buckets + 1
	var (
		bucket   int64
		count    int
		head     [2]dtbase.Reading // the first two readings of the bucket
		lo, hi   dtbase.Reading
		loR, hiR float64
	)
	flush := func() error {
		switch {
		case count == 0:
			return nil
		case count <= 2:
			for k := 0; k < count; k++ {
				if err := fn(head[k]); err != nil {
					return err
				}
			}
			return nil
		}
		a, b := lo, hi
		if b.Time.Before(a.Time) {
			a, b = b, a
		}
		if err := fn(a); err != nil {
			return err
		}
		if a.Time.Equal(b.Time) {
			return nil
		}
		return fn(b)
	}
	err = db.scanReadings(ctx, m, first, math.MaxInt64, func(r dtbase.Reading) error {
		us := r.Time.UnixMicro()
		if us > last {
			return errStopScan // rows written after the extent was read
		}
		b := (us - first) / width
		if count > 0 && b != bucket {
			if err := flush(); err != nil {
				return err
			}
			count = 0
		}
		bucket = b
		rank := rankOf(r.Value)
		if count < 2 {
			head[count] = r
		}
		if count == 0 || rank < loR {
			lo, loR = r, rank
		}
		if count == 0 || rank > hiR {
			hi, hiR = r, rank
		}
		count++
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return err
	}
	return flush()
}

// errStopScan ends a scan early without an error.
var errStopScan = errors.New("stop scan")
