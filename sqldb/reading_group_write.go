package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/dtbase/dtbase"
)

// A grouped transaction writes its requests set-wise: every request is
// checked first (its measures resolved, its values converted); a request
// that fails is answered alone and left out, and the rows of the others
// are inserted together, in one statement per table on PostgreSQL. The
// rows are ordered by series and time, so concurrent writers take their
// locks in one order; of equal rows the one of the earliest request wins,
// as it would in separate transactions. A database failure fails the
// whole transaction, and the committer retries each request alone.

// groupRow is one reading of a grouped transaction: row k of batch rb,
// sent by request req.
type groupRow struct {
	rb       *readingBatch
	k        int
	req      int
	inserted bool
}

func (r *groupRow) key() rowKey { return rowKey{r.rb.m.SensorID, r.rb.m.MeasureID, r.rb.ts[r.k]} }

type rowKey struct{ sensor, measure, ts int64 }

// insertGroup writes the requests of one grouped transaction and sets the
// answer of each. It returns an error only for a failure of the
// transaction itself.
func (rt *readingTx) insertGroup(ctx context.Context, reqs []*groupReq) error {
	all := make([][]dtbase.ReadingSeries, len(reqs))
	for i, r := range reqs {
		all[i] = r.series
	}
	if err := rt.prefetchMeasures(ctx, all...); err != nil {
		return err
	}
	rows := map[dtbase.Datatype][]groupRow{}
	for i, r := range reqs {
		batches, err := rt.groupBatches(ctx, r)
		var de *dtbase.Error
		switch {
		case errors.As(err, &de):
			r.res, r.err = dtbase.ReadingInsertResult{}, err
			continue
		case err != nil:
			return err
		}
		r.res = dtbase.ReadingInsertResult{}
		for _, rb := range batches {
			r.res.Rows += int64(rb.len())
			for k := range rb.ts {
				rows[rb.m.Datatype] = append(rows[rb.m.Datatype], groupRow{rb: rb, k: k, req: i})
			}
		}
	}
	for _, d := range dtbase.Datatypes {
		rs := rows[d]
		if len(rs) == 0 {
			continue
		}
		// Stable: of equal rows, the earliest request's comes first.
		slices.SortStableFunc(rs, func(a, b groupRow) int {
			ka, kb := a.key(), b.key()
			return cmp.Or(cmp.Compare(ka.sensor, kb.sensor), cmp.Compare(ka.measure, kb.measure), cmp.Compare(ka.ts, kb.ts))
		})
		var err error
		if rt.db.Dialect == Postgres {
			err = rt.insertGroupPostgres(ctx, d, rs)
		} else {
			err = rt.insertGroupSQLite(ctx, d, rs)
		}
		if err != nil {
			return fmt.Errorf("insert readings: %w", err)
		}
		for i := range rs {
			if rs[i].inserted {
				reqs[rs[i].req].res.Inserted++
			}
		}
		rt.touchGroup(rs)
	}
	return nil
}

// groupBatches resolves and converts the series of one request. A
// *dtbase.Error is the request's own fault.
func (rt *readingTx) groupBatches(ctx context.Context, r *groupReq) ([]*readingBatch, error) {
	var out []*readingBatch
	for j := range r.series {
		s := &r.series[j]
		if len(s.Values) == 0 {
			continue // an empty series is a no-op, whatever it names (B14)
		}
		m, err := rt.resolve(ctx, s)
		if err != nil {
			return nil, seriesPrefix(len(r.series), j, err)
		}
		rb, err := newReadingBatch(m, s, j)
		if err != nil {
			return nil, seriesPrefix(len(r.series), j, err)
		}
		out = append(out, rb)
	}
	return out, nil
}

// insertGroupSQLite inserts rows one by one through one prepared
// statement: in process, that costs less than building a statement per
// group.
func (rt *readingTx) insertGroupSQLite(ctx context.Context, d dtbase.Datatype, rs []groupRow) error {
	q := SQLiteReadingInsert(readingTable(d), 1)
	for i := range rs {
		r := &rs[i]
		res, err := rt.ExecContext(ctx, q, r.rb.m.SensorID, r.rb.m.MeasureID, r.rb.ts[r.k], r.rb.value(r.k))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		r.inserted = n == 1
	}
	return nil
}

// groupColumn gathers the values of rows, each from its batch's column.
func groupColumn[T any](rs []groupRow, col func(*readingBatch) []T) []T {
	v := make([]T, len(rs))
	for i := range rs {
		v[i] = col(rs[i].rb)[rs[i].k]
	}
	return v
}

// insertGroupPostgres inserts rows in one statement from arrays, in their
// order, and marks those that were new.
func (rt *readingTx) insertGroupPostgres(ctx context.Context, d dtbase.Datatype, rs []groupRow) error {
	sensors, measures, ts := make([]int64, len(rs)), make([]int64, len(rs)), make([]int64, len(rs))
	var vals any
	switch d {
	case dtbase.Float:
		vals = groupColumn(rs, func(rb *readingBatch) []float64 { return rb.f })
	case dtbase.Integer:
		vals = groupColumn(rs, func(rb *readingBatch) []int64 { return rb.i })
	case dtbase.String:
		vals = groupColumn(rs, func(rb *readingBatch) []string { return rb.s })
	case dtbase.Boolean:
		vals = groupColumn(rs, func(rb *readingBatch) []bool { return rb.b })
	}
	for i := range rs {
		k := rs[i].key()
		sensors[i], measures[i], ts[i] = k.sensor, k.measure, k.ts
	}
	rows, err := rt.tx.QueryContext(ctx, `INSERT INTO `+readingTable(d)+` (sensor_id, measure_id, ts, value)
		SELECT s, m, t, v FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::`+postgresType[d]+`[]) WITH ORDINALITY AS u(s, m, t, v, o)
		ORDER BY o ON CONFLICT DO NOTHING RETURNING sensor_id, measure_id, ts`, sensors, measures, ts, vals)
	if err != nil {
		return err
	}
	defer rows.Close()
	added := map[rowKey]bool{}
	for rows.Next() {
		var k rowKey
		if err := rows.Scan(&k.sensor, &k.measure, &k.ts); err != nil {
			return err
		}
		added[k] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range rs {
		k := rs[i].key()
		if added[k] {
			rs[i].inserted = true
			delete(added, k) // a later equal row was the duplicate
		}
	}
	return nil
}

// touchGroup records the series the rows (sorted by series and time)
// wrote: their span, and the finest rollups of the rows that were new,
// which is exactly what the rollups gain.
func (rt *readingTx) touchGroup(rs []groupRow) {
	for start := 0; start < len(rs); {
		m := rs[start].rb.m
		end := start + 1
		for end < len(rs) && rs[end].rb.m.SensorID == m.SensorID && rs[end].rb.m.MeasureID == m.MeasureID {
			end++
		}
		added := &readingBatch{m: m}
		for i := start; i < end; i++ {
			r := &rs[i]
			if !r.inserted {
				continue
			}
			added.ts = append(added.ts, r.rb.ts[r.k])
			switch m.Datatype {
			case dtbase.Float:
				added.f = append(added.f, r.rb.f[r.k])
			case dtbase.Integer:
				added.i = append(added.i, r.rb.i[r.k])
			case dtbase.Boolean:
				added.b = append(added.b, r.rb.b[r.k])
			}
		}
		sp := timeSpan{lo: rs[start].rb.ts[rs[start].k], hi: rs[end-1].rb.ts[rs[end-1].k], dt: m.Datatype, batches: 1, inserted: int64(added.len())}
		if rolledUp(m.Datatype) {
			sp.pre, sp.distinct = added.finestRollups()
			if sp.pre == nil {
				sp.pre = []rollupRow{} // nothing new: nothing to fold in
			}
		}
		rt.touched[seriesKey{m.SensorID, m.MeasureID}] = sp
		start = end
	}
}

// prefetchMeasures resolves the measures the series name in one query
// (on PostgreSQL taking the key-share lock of their sensors, see resolve),
// and caches those that match exactly one measure. The others are resolved
// one by one, which also words their errors. On SQLite the query costs no
// round trip but saves a statement per series of a grouped transaction;
// the keys go in one JSON parameter, so that its text, and its prepared
// statement, are the same for any number of them.
func (rt *readingTx) prefetchMeasures(ctx context.Context, series ...[]dtbase.ReadingSeries) error {
	var uids, names []string
	var keys []readingKey
	seen := map[readingKey]bool{}
	for _, ss := range series {
		for j := range ss {
			s := &ss[j]
			k := readingKey{uid: s.UniqueIdentifier, name: s.MeasureName}
			if s.MeasureUnits != nil {
				k.units, k.hasUnits = *s.MeasureUnits, true
			}
			if len(s.Values) == 0 || seen[k] || !storableText(k.uid) || !storableText(k.name) || !storableText(k.units) {
				continue
			}
			seen[k] = true
			keys, uids, names = append(keys, k), append(uids, k.uid), append(names, k.name)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	var rows *sql.Rows
	var err error
	if rt.db.Dialect == Postgres {
		rows, err = rt.tx.QueryContext(ctx, `SELECT k.i, s.id, m.id, m.units, m.datatype
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(uid, name, i)
		JOIN sensor s ON s.unique_identifier = k.uid
		JOIN sensor_type_measure tm ON tm.type_id = s.type_id
		JOIN sensor_measure m ON m.id = tm.measure_id AND m.name = k.name
		ORDER BY s.id FOR KEY SHARE OF s`, uids, names)
	} else {
		var keysJSON []byte
		if keysJSON, err = json.Marshal([2][]string{uids, names}); err != nil {
			return fmt.Errorf("find measures: %w", err)
		}
		// k.key is the 0-based index of the key in the uid array.
		rows, err = rt.QueryContext(ctx, `SELECT k.key + 1, s.id, m.id, m.units, m.datatype
		FROM json_each($1, '$[0]') AS k
		JOIN sensor s ON s.unique_identifier = k.value
		JOIN sensor_type_measure tm ON tm.type_id = s.type_id
		JOIN sensor_measure m ON m.id = tm.measure_id AND m.name = json_extract($1, '$[1][' || k.key || ']')`, string(keysJSON))
	}
	if err != nil {
		return fmt.Errorf("find measures: %w", err)
	}
	defer rows.Close()
	match := make([][]dtbase.ReadingMeasure, len(keys))
	for rows.Next() {
		var i int64
		var units sql.NullString
		var dt string
		var m dtbase.ReadingMeasure
		if err := rows.Scan(&i, &m.SensorID, &m.MeasureID, &units, &dt); err != nil {
			return fmt.Errorf("find measures: %w", err)
		}
		k := keys[i-1]
		m.UniqueIdentifier, m.MeasureName, m.Datatype = k.uid, k.name, dtbase.Datatype(dt)
		if units.Valid {
			m.MeasureUnits = &units.String
		}
		if !k.hasUnits || sameUnits(&k.units, m.MeasureUnits) {
			match[i-1] = append(match[i-1], m)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find measures: %w", err)
	}
	for i, ms := range match {
		if len(ms) == 1 {
			rt.cache[keys[i]] = ms[0]
			rt.locked[ms[0].SensorID] = true
		}
	}
	return nil
}
