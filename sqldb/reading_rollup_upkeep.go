package sqldb

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/dtbase/dtbase"
)

// upkeepRollups brings the rollups of every series the transaction wrote
// up to date, in a constant number of statements: one folds the new
// buckets of every series whose rows were all new and computed from its
// one batch into the stored buckets, at every width, without reading
// anything. That is exact when every stored bucket it meets ends before
// the new readings in it (live data, an import in time order); a missing
// bucket held no readings, since rollups follow every write. A series
// whose fold is refused (late data: only the buckets merged exactly have
// changed) or that was written by several batches is recomputed alone
// over the span written.
//
// On PostgreSQL, two transactions writing one series would each compute
// its buckets without the other's uncommitted readings; a transaction
// lock per series, taken first and in one order (one statement for all),
// makes the second wait and then read what the first committed.
func (rt *readingTx) upkeepRollups(ctx context.Context) error {
	keys := make([]seriesKey, 0, len(rt.touched))
	for k, sp := range rt.touched {
		if rolledUp(sp.dt) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b seriesKey) int {
		return cmp.Or(cmp.Compare(a.sensor, b.sensor), cmp.Compare(a.measure, b.measure))
	})
	if rt.db.Dialect == Postgres {
		sensors, measures := make([]int32, len(keys)), make([]int32, len(keys))
		for i, k := range keys {
			sensors[i], measures[i] = int32(k.sensor), int32(k.measure)
		}
		if _, err := rt.tx.ExecContext(ctx, `SELECT count(pg_advisory_xact_lock(s, m)) FROM
			(SELECT s, m FROM unnest($1::int4[], $2::int4[]) WITH ORDINALITY AS u(s, m, o) ORDER BY o) AS q`, sensors, measures); err != nil {
			return fmt.Errorf("lock series for rollups: %w", err)
		}
	}
	var appendable []seriesKey
	for _, k := range keys {
		if sp := rt.touched[k]; sp.batches == 1 && sp.pre != nil && sp.inserted == sp.distinct {
			appendable = append(appendable, k)
		}
	}
	done, err := rt.appendRollupsAll(ctx, appendable)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if done[k] {
			continue
		}
		sp := rt.touched[k]
		m := dtbase.ReadingMeasure{SensorID: k.sensor, MeasureID: k.measure, Datatype: sp.dt, UniqueIdentifier: strconv.FormatInt(k.sensor, 10)}
		pre, err := rt.exactPre(ctx, m, sp)
		if err != nil {
			return err
		}
		if err := rebuildRollups(ctx, rt.db.Dialect, rt, m, sp.lo, sp.hi, pre); err != nil {
			return err
		}
	}
	return nil
}

// rollupUpkeepChunk bounds the buckets of one statement (14 parameters
// each, under SQLite's 32766).
const rollupUpkeepChunk = 2000

// appendRollupsAll folds the finest buckets of each series in keys (its
// span's pre), and the coarser ones made from them, into the stored
// buckets (see rollupAppend), and reports the series whose every bucket
// was merged.
func (rt *readingTx) appendRollupsAll(ctx context.Context, keys []seriesKey) (map[seriesKey]bool, error) {
	type bucket struct {
		k  seriesKey
		ws int64
		r  rollupRow
	}
	var all []bucket
	want := map[seriesKey]int{}
	for _, k := range keys {
		rows := rt.touched[k].pre
		for i, ws := range rollupWidths {
			if i > 0 {
				w := ws * 1e6
				var out []rollupRow
				for j := range rows {
					b := dtbase.FloorDiv(rows[j].Start, w) * w
					if len(out) == 0 || out[len(out)-1].Start != b {
						out = append(out, rollupRow{Start: b})
					}
					out[len(out)-1].Add(&rows[j])
				}
				rows = out
			}
			for _, r := range rows {
				all = append(all, bucket{k, ws, r})
			}
			want[k] += len(rows)
		}
	}
	got := map[seriesKey]int{}
	for start := 0; start < len(all); start += rollupUpkeepChunk {
		chunk := all[start:min(start+rollupUpkeepChunk, len(all))]
		q, args := rollupInsert(rt.db.Dialect, len(chunk), func(i int) (sensorID, measureID, width int64, r *rollupRow) {
			return chunk[i].k.sensor, chunk[i].k.measure, chunk[i].ws, &chunk[i].r
		})
		if rt.db.Dialect == SQLite {
			all, err := rt.foldWhole(ctx, q+rollupAppend, args, len(chunk))
			if err != nil {
				return nil, fmt.Errorf("write rollups: %w", err)
			}
			if all {
				for i := range chunk {
					got[chunk[i].k]++
				}
				continue
			}
		}
		rows, err := rt.QueryContext(ctx, q+rollupAppend+" RETURNING sensor_id, measure_id", args...)
		if err != nil {
			return nil, fmt.Errorf("write rollups: %w", err)
		}
		for rows.Next() {
			var k seriesKey
			if err := rows.Scan(&k.sensor, &k.measure); err != nil {
				rows.Close()
				return nil, fmt.Errorf("write rollups: %w", err)
			}
			got[k]++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("write rollups: %w", err)
		}
	}
	done := make(map[seriesKey]bool, len(keys))
	for _, k := range keys {
		done[k] = got[k] == want[k]
	}
	return done, nil
}

// foldWhole runs the fold q of n buckets on SQLite and keeps it when every
// bucket was merged, the usual case, which spares returning a row per
// bucket; otherwise it undoes it, and the caller runs it again returning
// the series of the buckets merged.
func (rt *readingTx) foldWhole(ctx context.Context, q string, args []any, n int) (bool, error) {
	if _, err := rt.ExecContext(ctx, `SAVEPOINT rollup_fold`); err != nil {
		return false, err
	}
	r, err := rt.ExecContext(ctx, q, args...)
	var affected int64
	if err == nil {
		affected, err = r.RowsAffected()
	}
	if err != nil {
		return false, err
	}
	if affected == int64(n) {
		_, err := rt.ExecContext(ctx, `RELEASE rollup_fold`)
		return err == nil, err
	}
	if _, err := rt.ExecContext(ctx, `ROLLBACK TO rollup_fold`); err != nil {
		return false, err
	}
	_, err = rt.ExecContext(ctx, `RELEASE rollup_fold`)
	return false, err
}
