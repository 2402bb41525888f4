package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dtbase/dtbase"
)

// Aggregated and downsampled reads reduce the range with the one
// aggregator and downsampler of the root package, fed in time order from
// the rollups where whole buckets fit and from the readings elsewhere.

var _ dtbase.SeriesPlotter = (*DB)(nil)

// AggregateReadings summarises the readings of m in [from, to] per bucket
// of width; see dtbase.ReadingStore. When a rollup width divides width,
// whole rollup buckets are read instead of their readings.
func (db *DB) AggregateReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, width time.Duration, fn func(dtbase.ReadingBucket) error) error {
	w := width.Microseconds()
	if w < 1 {
		return dtbase.Errorf(dtbase.EINVALID, "The bucket width must be at least one microsecond")
	}
	if !rolledUp(m.Datatype) {
		return db.aggregateStrings(ctx, m, micros(from), micros(to), w, fn)
	}
	var ws int64
	for i := len(rollupWidths) - 1; i >= 0 && !db.noRollupReads; i-- {
		if w%(rollupWidths[i]*1e6) == 0 {
			ws = rollupWidths[i]
			break
		}
	}
	agg := dtbase.NewAggregator(m.Datatype, w, fn)
	if err := db.feedRange(ctx, m, micros(from), micros(to), ws, agg.Add); err != nil {
		return err
	}
	return agg.Flush()
}

// aggregateStrings counts the strings of m in [from, to] per bucket of w
// µs, with the first and last of each.
func (db *DB) aggregateStrings(ctx context.Context, m dtbase.ReadingMeasure, from, to, w int64, fn func(dtbase.ReadingBucket) error) error {
	var (
		cur    dtbase.ReadingBucket
		bucket int64
	)
	err := db.scanReadings(ctx, m, from, to, func(r dtbase.Reading) error {
		b := dtbase.FloorDiv(r.Time.UnixMicro(), w)
		if cur.Count > 0 && b != bucket {
			if err := fn(cur); err != nil {
				return err
			}
			cur.Count = 0
		}
		if cur.Count == 0 {
			bucket, cur = b, dtbase.ReadingBucket{Start: fromMicros(b * w), First: r.Value}
		}
		cur.Count++
		cur.Last = r.Value
		return nil
	})
	if err != nil || cur.Count == 0 {
		return err
	}
	return fn(cur)
}

// DownsampleReadings returns at most maxPoints readings of m in [from, to]
// keeping each pixel's extremes; see dtbase.ReadingStore and
// dtbase.Downsampler.
func (db *DB) DownsampleReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, maxPoints int, fn func(dtbase.Reading) error) error {
	_, err := db.plot(ctx, []dtbase.ReadingMeasure{m}, from, to, maxPoints, func(_ int, r dtbase.Reading) error { return fn(r) })
	return err
}

// plotParts is the number of connections a plot of many series reads on
// at once: the work is the database's, and two cores are common.
const plotParts = 2

// PlotSeries downsamples several series and sums them up in one pass; see
// dtbase.SeriesPlotter. Many series are read in plotParts parts at once.
func (db *DB) PlotSeries(ctx context.Context, ms []dtbase.ReadingMeasure, from, to time.Time, maxPoints int) ([]dtbase.Plot, error) {
	out := make([]dtbase.Plot, len(ms))
	parts := plotParts
	if len(ms) < 2*plotParts || db.Dialect != Postgres {
		parts = 1
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(ms)/parts, (p+1)*len(ms)/parts
		wg.Go(func() {
			totals, err := db.plot(ctx, ms[lo:hi], from, to, maxPoints, func(i int, r dtbase.Reading) error {
				pl := &out[lo+i]
				if pl.Points == nil {
					pl.Points = make([]dtbase.Reading, 0, maxPoints)
				}
				pl.Points = append(pl.Points, r)
				return nil
			})
			for i, t := range totals {
				out[lo+i].Summary = dtbase.Summary(ms[lo+i].Datatype, t)
			}
			errs[p] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, m := range ms {
		out[i].Measure = m
	}
	return out, nil
}

// plotJob is one series of a plot: its extent in the range, its
// downsampler, and the buckets held back while the readings of a partial
// bucket at either end are read.
type plotJob struct {
	m           dtbase.ReadingMeasure
	first, last sql.NullInt64
	ds          *dtbase.Downsampler
	ws          int64 // rollup width read; 0 reads the readings
	guess       int64 // rollup width read with the extent, if any
	rows        int   // rollups read
	pend        rollupRow
	held        []rollupRow // set when the head bucket is partial
	head, tail  []rollupRow // readings of partial end buckets
	headB       int64       // start of a partial head bucket
	extend      bool        // the extent is to be read from the rollups too
}

// plot downsamples ms over [from, to] to maxPoints each, giving every
// point to emit with the index of its series, and returns the stats of
// every series' readings in the range. The extents (the first and last
// reading of each series, which fix its pixels) and the rollups of width
// Downsampler.Width between them (or the readings, where pixels are finer
// than rollups) are read in one round trip for all series on PostgreSQL
// when the series fill most of the range, two otherwise: O(pixels) rows
// whatever the range. Only when a rollup bucket at either end holds
// readings outside the extent is that bucket's part inside it read from
// the readings.
func (db *DB) plot(ctx context.Context, ms []dtbase.ReadingMeasure, from, to time.Time, maxPoints int, emit func(int, dtbase.Reading) error) ([]dtbase.ReadingStats, error) {
	for _, m := range ms {
		if err := dtbase.CheckDownsample(m, maxPoints); err != nil {
			return nil, err
		}
		if !m.Datatype.Valid() {
			return nil, fmt.Errorf("downsample readings: measure %d has unknown datatype %q", m.MeasureID, m.Datatype)
		}
	}
	lo, hi := micros(from), micros(to)
	jobs := make([]plotJob, len(ms))
	var r rollupRow
	rollupDest := []any{&r.Start, &r.N, &r.Sum, &r.Min, &r.MinTs, &r.Max, &r.MaxTs, &r.FirstTs, &r.LastTs}
	var ts int64
	var v float64
	rawDest := []any{&ts, &v}
	// bucketsQuery reads the rollups of width ws of j between its extent's
	// buckets (or wider: rows outside are skipped).
	bucketsQuery := func(j *plotJob, ws, from, to int64) seriesQuery {
		w := ws * 1e6
		return seriesQuery{sql: plotBucketsSQL, dest: rollupDest,
			args: []any{j.m.SensorID, j.m.MeasureID, ws, dtbase.FloorDiv(from, w) * w, dtbase.FloorDiv(to, w) * w},
			row: func() error {
				if ws != j.ws || r.Start < dtbase.FloorDiv(j.first.Int64, w)*w || r.Start > dtbase.FloorDiv(j.last.Int64, w)*w {
					return nil
				}
				endsFromExtremes(&r)
				return j.rollup(&r)
			}}
	}
	// The extents; on PostgreSQL, in the same round trip, the rollups of
	// the width the whole range would take, which is the extent's when the
	// series spans most of the range.
	qs := make([]seriesQuery, 0, 2*len(ms))
	for i, m := range ms {
		j := &jobs[i]
		j.m = m
		t := readingTable(m.Datatype)
		where := " WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts"
		qs = append(qs, seriesQuery{
			sql:  "SELECT (SELECT ts FROM " + t + where + " LIMIT 1), (SELECT ts FROM " + t + where + " DESC LIMIT 1)",
			args: []any{m.SensorID, m.MeasureID, lo, hi},
			dest: []any{&j.first, &j.last},
			row: func() error {
				if !db.noRollupReads && (!j.first.Valid || j.first.Int64-lo >= rollupWidths[0]*1e6) {
					// Readings past retention may be gone while their
					// rollups remain: see extendPastRetention.
					j.extend = true
					return nil
				}
				if !j.first.Valid || !j.last.Valid {
					return nil
				}
				j.ds = dtbase.NewDownsampler(j.m.Datatype, j.first.Int64, j.last.Int64, maxPoints, func(r dtbase.Reading) error { return emit(i, r) })
				if !db.noRollupReads {
					j.ws = j.ds.Width()
				}
				return nil
			},
		})
		if db.Dialect == Postgres && !db.noRollupReads {
			if j.guess = dtbase.NewDownsampler(m.Datatype, lo, hi, maxPoints, nil).Width(); j.guess > 0 {
				qs = append(qs, bucketsQuery(j, j.guess, lo, hi))
			}
		}
	}
	if err := db.runQueries(ctx, qs); err != nil {
		return nil, fmt.Errorf("downsample readings: %w", err)
	}
	if err := db.extendPastRetention(ctx, jobs, lo, hi, maxPoints, emit); err != nil {
		return nil, err
	}
	qs = qs[:0]
	for i := range jobs {
		switch j := &jobs[i]; {
		case j.ds == nil, j.ws > 0 && j.ws == j.guess:
		case j.ws == 0:
			qs = append(qs, seriesQuery{sql: rawRowsSQL(j.m.Datatype), args: []any{j.m.SensorID, j.m.MeasureID, j.first.Int64, j.last.Int64}, dest: rawDest,
				row: func() error { s := dtbase.OneReading(ts, v); return j.ds.Add(&s) }})
		default:
			qs = append(qs, bucketsQuery(j, j.ws, j.first.Int64, j.last.Int64))
		}
	}
	if err := db.runQueries(ctx, qs); err != nil {
		return nil, fmt.Errorf("downsample readings: %w", err)
	}
	// The readings of partial end buckets, rarely: when readings lie
	// outside the range in a bucket at either end.
	qs = qs[:0]
	for i := range jobs {
		j := &jobs[i]
		if j.ws == 0 || j.rows == 0 {
			continue
		}
		into := func(dst *[]rollupRow) func() error {
			return func() error { *dst = append(*dst, dtbase.OneReading(ts, v)); return nil }
		}
		if j.held != nil {
			qs = append(qs, seriesQuery{sql: rawRowsSQL(j.m.Datatype), dest: rawDest, row: into(&j.head),
				args: []any{j.m.SensorID, j.m.MeasureID, j.first.Int64, min(j.headB+j.ws*1e6-1, j.last.Int64)}})
			if len(j.held) > 1 {
				j.pend = j.held[len(j.held)-1]
			}
		}
		if (j.held == nil || len(j.held) > 1) && j.pend.LastTs > j.last.Int64 {
			qs = append(qs, seriesQuery{sql: rawRowsSQL(j.m.Datatype), dest: rawDest, row: into(&j.tail),
				args: []any{j.m.SensorID, j.m.MeasureID, j.pend.Start, j.last.Int64}})
		}
	}
	if err := db.runQueries(ctx, qs); err != nil {
		return nil, fmt.Errorf("downsample readings: %w", err)
	}
	totals := make([]dtbase.ReadingStats, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		if j.ds == nil {
			continue
		}
		if err := j.finish(); err != nil {
			return nil, err
		}
		totals[i] = j.ds.Total
	}
	return totals, nil
}

// endsFromExtremes sets the values of the first and last reading of r,
// which plots read without them, from its extremes: exact for up to two
// readings, the only case in which the downsampler uses them.
func endsFromExtremes(r *rollupRow) {
	r.First, r.Last = r.Max, r.Min
	if r.MinTs == r.FirstTs {
		r.First = r.Min
	}
	if r.MaxTs == r.LastTs {
		r.Last = r.Max
	}
}

// rollup takes the next stored bucket of the job, feeding the one before
// it: the last is held back until it is known whether it holds readings
// after the extent, and all of them when the first holds readings before.
func (j *plotJob) rollup(r *rollupRow) error {
	j.rows++
	switch {
	case j.held != nil:
		j.held = append(j.held, *r)
		return nil
	case j.rows == 1 && r.FirstTs < j.first.Int64:
		j.headB, j.held = r.Start, append(make([]rollupRow, 0, 64), *r)
		return nil
	case j.rows > 1:
		if err := j.ds.Add(&j.pend); err != nil {
			return err
		}
	}
	j.pend = *r
	return nil
}

// finish feeds what rollup held back, with the readings of partial end
// buckets in place of those buckets, and flushes the last pixel.
func (j *plotJob) finish() error {
	feed := func(rs []rollupRow) error {
		for k := range rs {
			if err := j.ds.Add(&rs[k]); err != nil {
				return err
			}
		}
		return nil
	}
	if j.ws > 0 && j.rows > 0 {
		middle := j.held
		if middle != nil {
			if err := feed(j.head); err != nil {
				return err
			}
			middle = middle[1:]
		} else {
			middle = []rollupRow{j.pend}
		}
		if len(middle) > 0 && middle[len(middle)-1].LastTs > j.last.Int64 {
			middle = middle[:len(middle)-1]
		} else {
			j.tail = nil
		}
		if err := feed(middle); err != nil {
			return err
		}
		if err := feed(j.tail); err != nil {
			return err
		}
	}
	return j.ds.Flush()
}

// seriesQuery is one query of a multi-series read: each row is scanned
// into dest, then row is called.
type seriesQuery struct {
	sql  string
	args []any
	dest []any
	row  func() error
}

// runQueries runs qs in order: on PostgreSQL as one pgx batch, one round
// trip for all, scanned without database/sql's per-value conversions; on
// SQLite, which has no round trips to save, one after the other on a
// connection of seriesReads, which scans without the driver's per-value
// costs.
func (db *DB) runQueries(ctx context.Context, qs []seriesQuery) error {
	if len(qs) == 0 {
		return nil
	}
	if db.Dialect != Postgres {
		return db.series.run(ctx, qs)
	}
	conn, err := db.readings().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		var b pgx.Batch
		for _, q := range qs {
			b.Queue(q.sql, q.args...)
		}
		br := dc.(*stdlib.Conn).Conn().SendBatch(ctx, &b)
		for _, q := range qs {
			rows, err := br.Query()
			if err != nil {
				br.Close()
				return err
			}
			for rows.Next() {
				if err := rows.Scan(q.dest...); err != nil {
					rows.Close()
					br.Close()
					return err
				}
				if err := q.row(); err != nil {
					rows.Close()
					br.Close()
					return err
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
}

// feedRange calls fn, in time order, with buckets that hold every reading
// of m in [from, to] exactly once: with ws = 0 each reading as a bucket of
// one; otherwise the stored rollups of width ws (seconds) that lie wholly
// in the range, and the readings of the partial buckets at either end.
// One round trip on PostgreSQL.
func (db *DB) feedRange(ctx context.Context, m dtbase.ReadingMeasure, from, to, ws int64, fn func(*rollupRow) error) error {
	var ts int64
	var v float64
	raw := func(lo, hi int64) seriesQuery {
		return seriesQuery{sql: rawRowsSQL(m.Datatype), args: []any{m.SensorID, m.MeasureID, lo, hi}, dest: []any{&ts, &v},
			row: func() error { s := dtbase.OneReading(ts, v); return fn(&s) }}
	}
	var qs []seriesQuery
	if ws == 0 {
		qs = append(qs, raw(from, to))
	} else {
		w := ws * 1e6
		lo := dtbase.FloorDiv(from, w) * w
		if lo < from { // the head bucket starts before the range
			qs = append(qs, raw(from, min(lo+w-1, to)))
			lo += w
		}
		hi := dtbase.FloorDiv(to, w) * w
		tail := hi+w-1 > to // the tail bucket ends after the range
		full := hi
		if tail {
			full -= w
		}
		if lo <= full {
			var r rollupRow
			qs = append(qs, seriesQuery{sql: rollupRowsSQL, args: []any{m.SensorID, m.MeasureID, ws, lo, full},
				dest: []any{&r.Start, &r.N, &r.Sum, &r.Min, &r.MinTs, &r.Max, &r.MaxTs, &r.First, &r.FirstTs, &r.Last, &r.LastTs},
				row:  func() error { return fn(&r) }})
		}
		if tail && hi >= lo {
			qs = append(qs, raw(hi, to))
		}
	}
	if err := db.runQueries(ctx, qs); err != nil {
		return fmt.Errorf("read readings of sensor %q: %w", m.UniqueIdentifier, err)
	}
	return nil
}

var _ dtbase.ReadingStatsReader = (*DB)(nil)

// ScanStats feeds the finest rollups of m in [from, to]; see
// dtbase.ReadingStatsReader. With rollup reads off, every reading.
func (db *DB) ScanStats(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, fn func(*dtbase.ReadingStats) error) error {
	if !rolledUp(m.Datatype) {
		return dtbase.Errorf(dtbase.EINVALID, "Measure %q holds strings, which have no rollups", m.MeasureName)
	}
	var ws int64
	if !db.noRollupReads {
		ws = rollupWidths[0]
	}
	return db.feedRange(ctx, m, micros(from), micros(to), ws, fn)
}

// extendPastRetention sets the extent of the series whose readings leave
// a whole finest rollup bucket at the start of the range uncovered (or are
// none) from their rollups too: readings past retention may be gone while
// their rollups remain. Their rollups are then read for that extent.
func (db *DB) extendPastRetention(ctx context.Context, jobs []plotJob, lo, hi int64, maxPoints int, emit func(int, dtbase.Reading) error) error {
	for i := range jobs {
		j := &jobs[i]
		if !j.extend {
			continue
		}
		first, last, ok, err := db.extendToRollups(ctx, j.m, lo, hi, j.first.Int64, j.last.Int64, j.first.Valid)
		if err != nil {
			return fmt.Errorf("downsample readings: %w", err)
		}
		if !ok {
			continue
		}
		j.first, j.last = sql.NullInt64{Int64: first, Valid: true}, sql.NullInt64{Int64: last, Valid: true}
		j.ds = dtbase.NewDownsampler(j.m.Datatype, first, last, maxPoints, func(r dtbase.Reading) error { return emit(i, r) })
		j.ws, j.guess = j.ds.Width(), 0
	}
	return nil
}
