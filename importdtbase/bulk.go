package importdtbase

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

// bulk buffers rows of (ids…, ts, value) for one of our tables and writes
// them in batches: one INSERT … SELECT FROM unnest(arrays) per batch on
// PostgreSQL, multi-row INSERTs on SQLite. Duplicates are skipped, as the
// original's ON CONFLICT DO NOTHING does.
type bulk struct {
	im     *importer
	table  string
	idCols []string // the leading id columns, e.g. sensor_id, measure_id
	dt     dtbase.Datatype
	ids    [][]int64 // per id column
	ts     []int64
	vals   []any // typed slice: []float64, []int64, []string or []bool
	n      int
}

func (im *importer) newBulk(table string, dt dtbase.Datatype, idCols ...string) *bulk {
	b := &bulk{im: im, table: table, idCols: idCols, dt: dt, ids: make([][]int64, len(idCols))}
	b.reset()
	return b
}

func (b *bulk) reset() {
	for i := range b.ids {
		b.ids[i] = b.ids[i][:0]
	}
	b.ts = b.ts[:0]
	b.n = 0
	switch b.dt {
	case dtbase.Float:
		b.vals = []any{make([]float64, 0, b.im.opt.BatchSize)}
	case dtbase.Integer:
		b.vals = []any{make([]int64, 0, b.im.opt.BatchSize)}
	case dtbase.Boolean:
		b.vals = []any{make([]bool, 0, b.im.opt.BatchSize)}
	default:
		b.vals = []any{make([]string, 0, b.im.opt.BatchSize)}
	}
}

// add buffers a row and writes the batch when it is full.
func (b *bulk) add(ctx context.Context, ids []int64, ts int64, v any) error {
	for i, id := range ids {
		b.ids[i] = append(b.ids[i], id)
	}
	b.ts = append(b.ts, ts)
	switch vs := b.vals[0].(type) {
	case []float64:
		b.vals[0] = append(vs, v.(float64))
	case []int64:
		b.vals[0] = append(vs, v.(int64))
	case []bool:
		b.vals[0] = append(vs, v.(bool))
	case []string:
		b.vals[0] = append(vs, v.(string))
	}
	b.n++
	if b.n >= b.im.opt.BatchSize {
		return b.flush(ctx)
	}
	return nil
}

// flush writes the buffered rows.
func (b *bulk) flush(ctx context.Context) error {
	if b.n == 0 {
		return nil
	}
	cols := strings.Join(b.idCols, ", ") + ", ts, value"
	if b.im.db.Dialect == sqldb.Postgres {
		var q strings.Builder
		q.WriteString("INSERT INTO " + b.table + " (" + cols + ") SELECT * FROM unnest(")
		args := make([]any, 0, len(b.idCols)+2)
		for i := range b.idCols {
			q.WriteString("$" + strconv.Itoa(i+1) + "::bigint[], ")
			args = append(args, b.ids[i])
		}
		k := len(b.idCols)
		q.WriteString("$" + strconv.Itoa(k+1) + "::bigint[], $" + strconv.Itoa(k+2) + "::" + sqldb.PostgresType(b.dt) + "[]) ON CONFLICT DO NOTHING")
		args = append(args, b.ts, b.vals[0])
		res, err := b.im.exec(ctx, q.String(), args...)
		if err != nil {
			return fmt.Errorf("import %s into %s: %w", b.im.cur.Source, b.table, err)
		}
		b.im.countInsert(res, int64(b.n))
	} else {
		width := len(b.idCols) + 2
		chunk := 4000 / width // parameters per statement stay far below SQLite's limit
		args := make([]any, 0, width*min(chunk, b.n))
		for start := 0; start < b.n; start += chunk {
			end := min(start+chunk, b.n)
			args = args[:0]
			for k := start; k < end; k++ {
				for i := range b.idCols {
					args = append(args, b.ids[i][k])
				}
				args = append(args, b.ts[k])
				switch vs := b.vals[0].(type) {
				case []float64:
					args = append(args, vs[k])
				case []int64:
					args = append(args, vs[k])
				case []bool:
					args = append(args, vs[k])
				case []string:
					args = append(args, vs[k])
				}
			}
			row := "(" + strings.TrimSuffix(strings.Repeat("?,", width), ",") + ")"
			q := "INSERT INTO " + b.table + " (" + cols + ") VALUES " +
				strings.TrimSuffix(strings.Repeat(row+",", end-start), ",") + " ON CONFLICT DO NOTHING"
			res, err := b.im.exec(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("import %s into %s: %w", b.im.cur.Source, b.table, err)
			}
			b.im.countInsert(res, int64(end-start))
		}
	}
	b.reset()
	b.im.report()
	return ctx.Err()
}

// scanValue reads the value column of a reading or model value row.
func scanValue(dt dtbase.Datatype, r pgx.Rows, dest ...any) (any, error) {
	var v any
	var err error
	switch dt {
	case dtbase.Float:
		var f float64
		err = r.Scan(append(dest, &f)...)
		v = f
	case dtbase.Integer:
		var i int64
		err = r.Scan(append(dest, &i)...)
		v = i
	case dtbase.Boolean:
		var b bool
		err = r.Scan(append(dest, &b)...)
		v = b
	default:
		var s string
		err = r.Scan(append(dest, &s)...)
		v = s
	}
	return v, err
}
