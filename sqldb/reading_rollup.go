package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/dtbase/dtbase"
)

// Rollups are pre-aggregated buckets per series at a few fixed widths, so
// that a plot or an aggregate of any range reads O(buckets) rows instead of
// every reading. They are rewritten in the readings' own transaction, from
// the rows of the touched buckets: a reader never sees readings without
// their rollups or the reverse, a late reading or a duplicate needs no
// special case, and no queue or background worker has to be run, watched
// and drained on exactly one replica. The cost is paid by the writer, in
// proportion to the buckets it touches: the finest width is recomputed
// from readings, each coarser one from the width below it.

// rollupWidths are the bucket widths in seconds, finest first; each
// divides the next, by at most 6, so that a downsampled read of n pixels
// reads at most about 6n rows. The finest is 10 minutes: minute data gains
// a tenth of its rows in rollups, not as many again.
var rollupWidths = dtbase.RollupWidths

// rollupRow is one bucket of a series: the summary of its readings, with
// values as doubles (exact for the 32-bit integers and booleans stored).
type rollupRow = dtbase.ReadingStats

// rolledUp reports whether a datatype has rollups: strings have no order
// a plot could use.
func rolledUp(d dtbase.Datatype) bool { return d != dtbase.String }

// readingAsDouble is the value column of a readings table as a double.
func readingAsDouble(d dtbase.Datatype) string {
	if d == dtbase.Boolean {
		return "CASE WHEN value THEN 1.0 ELSE 0.0 END"
	}
	return "CAST(value AS DOUBLE PRECISION)"
}

// rawRowsSQL reads the readings of a series of datatype d in a range
// (sensor, measure, from, to) as (ts, value as a double), in time order.
func rawRowsSQL(d dtbase.Datatype) string {
	return "SELECT ts, " + readingAsDouble(d) + " FROM " + readingTable(d) +
		" WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts"
}

// scanRawAsRows calls fn with each reading of m in [lo, hi] as a bucket of
// one, in time order.
func scanRawAsRows(ctx context.Context, q queryer, m dtbase.ReadingMeasure, lo, hi int64, fn func(*rollupRow) error) error {
	rows, err := q.QueryContext(ctx, rawRowsSQL(m.Datatype), m.SensorID, m.MeasureID, lo, hi)
	if err != nil {
		return fmt.Errorf("read readings of sensor %q: %w", m.UniqueIdentifier, err)
	}
	defer rows.Close()
	var ts int64
	var v float64
	for rows.Next() {
		if err := rows.Scan(&ts, &v); err != nil {
			return fmt.Errorf("read readings of sensor %q: %w", m.UniqueIdentifier, err)
		}
		r := dtbase.OneReading(ts, v)
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read readings of sensor %q: %w", m.UniqueIdentifier, err)
	}
	return nil
}

const rollupColumns = "bucket, n, vsum, vmin, min_ts, vmax, max_ts, first_v, first_ts, last_v, last_ts"

// rollupRowsSQL reads the buckets of a series of one width whose start is
// in a range (sensor, measure, width, from, to), in time order.
const rollupRowsSQL = "SELECT " + rollupColumns + " FROM reading_rollup" +
	" WHERE sensor_id = $1 AND measure_id = $2 AND width = $3 AND bucket >= $4 AND bucket <= $5 ORDER BY bucket"

// plotBucketsSQL is rollupRowsSQL without the values of the first and
// last reading, which a plot needs only of buckets of up to two readings
// (see endsFromExtremes).
const plotBucketsSQL = "SELECT bucket, n, vsum, vmin, min_ts, vmax, max_ts, first_ts, last_ts FROM reading_rollup" +
	" WHERE sensor_id = $1 AND measure_id = $2 AND width = $3 AND bucket >= $4 AND bucket <= $5 ORDER BY bucket"

// scanRollups calls fn with the stored buckets of width w (seconds) of m
// whose start is in [lo, hi], in time order.
func scanRollups(ctx context.Context, q queryer, m dtbase.ReadingMeasure, w, lo, hi int64, fn func(*rollupRow) error) error {
	rows, err := q.QueryContext(ctx, rollupRowsSQL, m.SensorID, m.MeasureID, w, lo, hi)
	if err != nil {
		return fmt.Errorf("read rollups of sensor %q: %w", m.UniqueIdentifier, err)
	}
	defer rows.Close()
	var r rollupRow
	for rows.Next() {
		if err := rows.Scan(&r.Start, &r.N, &r.Sum, &r.Min, &r.MinTs, &r.Max, &r.MaxTs, &r.First, &r.FirstTs, &r.Last, &r.LastTs); err != nil {
			return fmt.Errorf("read rollups of sensor %q: %w", m.UniqueIdentifier, err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read rollups of sensor %q: %w", m.UniqueIdentifier, err)
	}
	return nil
}

// rollupWindow is the number of buckets rebuilt per statement, so that
// memory stays bounded for a write spanning years.
const rollupWindow = 1000

// rebuildRollups rewrites the buckets of m that overlap [lo, hi] at every
// width: the finest from the readings, each coarser from the one below.
// Every bucket it reads holds readings, so it replaces each one it finds
// and needs to delete none.
//
// pre, when not nil, is the finest level already computed.
func rebuildRollups(ctx context.Context, d Dialect, tx *readingTx, m dtbase.ReadingMeasure, lo, hi int64, pre []rollupRow) error {
	var prev int64
	for _, ws := range rollupWidths {
		w := ws * 1e6
		if prev == 0 && pre != nil {
			if err := insertRollups(ctx, d, tx, m, ws, pre); err != nil {
				return err
			}
			prev = ws
			continue
		}
		for blo, last := dtbase.FloorDiv(lo, w)*w, dtbase.FloorDiv(hi, w)*w; blo <= last; blo += rollupWindow * w {
			bhi := min(blo+(rollupWindow-1)*w, last)
			var out []rollupRow
			fold := func(r *rollupRow) error {
				b := dtbase.FloorDiv(r.Start, w) * w
				if len(out) == 0 || out[len(out)-1].Start != b {
					out = append(out, rollupRow{Start: b})
				}
				out[len(out)-1].Add(r)
				return nil
			}
			var err error
			if prev == 0 {
				err = scanRawAsRows(ctx, tx, m, blo, bhi+w-1, fold)
			} else {
				err = scanRollups(ctx, tx, m, prev, blo, bhi+w-1, fold)
			}
			if err != nil {
				return err
			}
			if err := insertRollups(ctx, d, tx, m, ws, out); err != nil {
				return err
			}
		}
		prev = ws
	}
	return nil
}

// rollupUpsert replaces a stored bucket. Writes only add readings, so a
// bucket never empties but by deleting its sensor, which deletes its
// rollups too.
const rollupUpsert = ` ON CONFLICT (sensor_id, measure_id, width, bucket) DO UPDATE SET n = excluded.n, vsum = excluded.vsum,
	vmin = excluded.vmin, min_ts = excluded.min_ts, vmax = excluded.vmax, max_ts = excluded.max_ts,
	first_v = excluded.first_v, first_ts = excluded.first_ts, last_v = excluded.last_v, last_ts = excluded.last_ts`

// rollupInsertChunk bounds the rows of one INSERT (14 parameters each).
const rollupInsertChunk = 500

func insertRollups(ctx context.Context, d Dialect, tx *readingTx, m dtbase.ReadingMeasure, ws int64, rows []rollupRow) error {
	_, err := writeRollups(ctx, d, tx, m, ws, rows, rollupUpsert)
	return err
}

// rollupAppend folds a bucket of later readings into a stored one, and
// leaves it alone (no row affected) when the stored bucket has readings
// at or after the new ones: the merge is only exact for an append.
const rollupAppend = ` ON CONFLICT (sensor_id, measure_id, width, bucket) DO UPDATE SET
	n = reading_rollup.n + excluded.n, vsum = reading_rollup.vsum + excluded.vsum,
	vmin = CASE WHEN excluded.vmin < reading_rollup.vmin THEN excluded.vmin ELSE reading_rollup.vmin END,
	min_ts = CASE WHEN excluded.vmin < reading_rollup.vmin THEN excluded.min_ts ELSE reading_rollup.min_ts END,
	vmax = CASE WHEN excluded.vmax > reading_rollup.vmax THEN excluded.vmax ELSE reading_rollup.vmax END,
	max_ts = CASE WHEN excluded.vmax > reading_rollup.vmax THEN excluded.max_ts ELSE reading_rollup.max_ts END,
	last_v = excluded.last_v, last_ts = excluded.last_ts
	WHERE reading_rollup.last_ts < excluded.first_ts`

// writeRollups writes rows of width ws with the given conflict clause and
// returns the rows affected.
func writeRollups(ctx context.Context, d Dialect, tx *readingTx, m dtbase.ReadingMeasure, ws int64, rows []rollupRow, onConflict string) (int64, error) {
	var affected int64
	for start := 0; start < len(rows); start += rollupInsertChunk {
		chunk := rows[start:min(start+rollupInsertChunk, len(rows))]
		q, args := rollupInsert(d, len(chunk), func(i int) (sensorID, measureID, width int64, r *rollupRow) {
			return m.SensorID, m.MeasureID, ws, &chunk[i]
		})
		r, err := tx.ExecContext(ctx, q+onConflict, args...)
		if err != nil {
			return 0, fmt.Errorf("write rollups: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("write rollups: %w", err)
		}
		affected += n
	}
	return affected, nil
}

// rollupInsert builds the INSERT of n rollup rows, row(i) giving the i-th
// row's series, width and bucket, and its arguments; the caller appends the
// conflict clause.
func rollupInsert(d Dialect, n int, row func(i int) (sensorID, measureID, width int64, r *rollupRow)) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO reading_rollup (sensor_id, measure_id, width, " + rollupColumns + ") VALUES ")
	args := make([]any, 0, 14*n)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		// '?' on SQLite, whose numbered parameters are looked up by
		// name at a cost that grows with their number.
		b.WriteByte('(')
		for k := range 14 {
			if k > 0 {
				b.WriteByte(',')
			}
			if d == Postgres {
				b.WriteString("$" + strconv.Itoa(len(args)+k+1))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
		sensorID, measureID, width, r := row(i)
		args = append(args, sensorID, measureID, width, r.Start, r.N, r.Sum, r.Min, r.MinTs, r.Max, r.MaxTs, r.First, r.FirstTs, r.Last, r.LastTs)
	}
	return b.String(), args
}

// SetRollupReads turns reading from rollups on (the default) or off; off,
// downsampled and aggregated reads compute from the readings alone, as the
// rollup tests and benchmarks compare. Call it while no read runs.
func (db *DB) SetRollupReads(on bool) { db.noRollupReads = !on }

// finestRollups computes the finest rollup buckets of the batch alone,
// the first of equal timestamps winning, and counts its distinct
// timestamps.
func (rb *readingBatch) finestRollups() ([]rollupRow, int64) {
	w := rollupWidths[0] * 1e6
	var out []rollupRow
	var distinct int64
	for k, ts := range rb.ts {
		if k > 0 && ts == rb.ts[k-1] {
			continue // sorted stably: the first sent is the one stored
		}
		distinct++
		var v float64
		switch rb.m.Datatype {
		case dtbase.Float:
			v = rb.f[k]
		case dtbase.Integer:
			v = float64(rb.i[k])
		case dtbase.Boolean:
			if rb.b[k] {
				v = 1
			}
		}
		b := dtbase.FloorDiv(ts, w) * w
		if len(out) == 0 || out[len(out)-1].Start != b {
			out = append(out, rollupRow{Start: b})
		}
		r := dtbase.OneReading(ts, v)
		out[len(out)-1].Add(&r)
	}
	return out, distinct
}

// exactPre returns the finest buckets computed from the one batch that
// wrote a series, when they are exact: every row of the batch was new and
// the buckets' range holds no other row (one count, instead of reading
// every row back). Otherwise nil.
func (rt *readingTx) exactPre(ctx context.Context, m dtbase.ReadingMeasure, sp timeSpan) ([]rollupRow, error) {
	if sp.batches != 1 || sp.pre == nil || sp.inserted != sp.distinct {
		return nil, nil
	}
	w := rollupWidths[0] * 1e6
	var n int64
	err := rt.QueryRowContext(ctx, `SELECT count(*) FROM `+readingTable(m.Datatype)+
		` WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4`,
		m.SensorID, m.MeasureID, dtbase.FloorDiv(sp.lo, w)*w, dtbase.FloorDiv(sp.hi, w)*w+w-1).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("count readings for rollups: %w", err)
	}
	if n != sp.distinct {
		return nil, nil
	}
	return sp.pre, nil
}

// RebuildAllRollups computes the rollups of every series from its
// readings, in tx: for readings written by other means than InsertReadings
// (the import of an original database).
func (db *DB) RebuildAllRollups(ctx context.Context, tx *sql.Tx) error {
	rt := &readingTx{db: db, tx: tx, stmts: map[string]*sql.Stmt{}}
	defer rt.close()
	for _, d := range dtbase.Datatypes {
		if !rolledUp(d) {
			continue
		}
		type span struct{ sensor, measure, lo, hi int64 }
		spans, err := queryAll(ctx, tx, "rebuild rollups", func(rows *sql.Rows, s *span) error {
			return rows.Scan(&s.sensor, &s.measure, &s.lo, &s.hi)
		}, `SELECT CAST(sensor_id AS BIGINT), CAST(measure_id AS BIGINT), min(ts), max(ts) FROM `+readingTable(d)+` GROUP BY sensor_id, measure_id`)
		if err != nil {
			return err
		}
		for _, s := range spans {
			m := dtbase.ReadingMeasure{SensorID: s.sensor, MeasureID: s.measure, Datatype: d, UniqueIdentifier: strconv.FormatInt(s.sensor, 10)}
			if err := rebuildRollups(ctx, db.Dialect, rt, m, s.lo, s.hi, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
