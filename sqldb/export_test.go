package sqldb

import (
	"context"
	"database/sql"

	"github.com/dtbase/dtbase"
)

// ReadStats reports the read pool's statistics (on PostgreSQL the one pool).
func (db *DB) ReadStats() sql.DBStats { return db.read.Stats() }

// QuietEdges returns, for a float series, the quiet times before and after
// ts found by paging through the stored readings and by scanning them in
// memory, in that order: (stored before, stored after, memory before,
// memory after).
func (db *DB) QuietEdges(ctx context.Context, uid, measure string, c dtbase.AlertCondition, ts int64) ([4]int64, error) {
	var out [4]int64
	tx, err := db.beginRead(ctx)
	if err != nil {
		return out, err
	}
	defer tx.Rollback()
	m, err := findReadingMeasure(ctx, tx, uid, measure, nil)
	if err != nil {
		return out, err
	}
	sp := &alertSpan{sensorID: m.SensorID, measureID: m.MeasureID, datatype: m.Datatype}
	pts, err := points(ctx, tx, sp, "true", false, 0)
	if err != nil {
		return out, err
	}
	if out[0], err = quietBefore(ctx, tx, c, sp, ts); err != nil {
		return out, err
	}
	if out[1], err = quietAfter(ctx, tx, c, sp, ts); err != nil {
		return out, err
	}
	out[2], out[3] = quietPointBefore(c, pts, ts), quietPointAfter(c, pts, ts)
	return out, nil
}
