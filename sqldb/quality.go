package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dtbase/dtbase"
)

var _ dtbase.MeasureRangeStore = (*DB)(nil)

// SetMeasureRange sets or clears the physical range of a measure; see
// dtbase.MeasureRangeStore.
func (db *DB) SetMeasureRange(ctx context.Context, name string, units *string, r dtbase.MeasureRange) error {
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		return dtbase.Errorf(dtbase.EINVALID, "min (%g) is above max (%g)", *r.Min, *r.Max)
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		id, err := measureIDByName(ctx, tx, name, units)
		if err != nil {
			return err
		}
		if r.Min == nil && r.Max == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM measure_range WHERE measure_id = $1`, id)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO measure_range (measure_id, min_value, max_value) VALUES ($1, $2, $3)
				ON CONFLICT (measure_id) DO UPDATE SET min_value = excluded.min_value, max_value = excluded.max_value`, id, r.Min, r.Max)
		}
		if err != nil {
			return fmt.Errorf("set range of measure %q: %w", name, err)
		}
		return nil
	})
}

// measureIDByName resolves a sensor measure by name and, when not nil,
// units: ENOTFOUND if none matches, EINVALID if the name alone is
// ambiguous.
func measureIDByName(ctx context.Context, tx *sql.Tx, name string, units *string) (int64, error) {
	if !storableText(name) || units != nil && !storableText(*units) {
		return 0, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor measure %q does not exist", name)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, units FROM sensor_measure WHERE name = $1 ORDER BY id`, name)
	if err != nil {
		return 0, fmt.Errorf("find measure %q: %w", name, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		var u *string
		if err := rows.Scan(&id, &u); err != nil {
			return 0, fmt.Errorf("find measure %q: %w", name, err)
		}
		if units == nil || sameUnits(units, u) {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find measure %q: %w", name, err)
	}
	switch len(ids) {
	case 0:
		return 0, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor measure %q does not exist", name)
	case 1:
		return ids[0], nil
	}
	return 0, dtbase.Errorf(dtbase.EINVALID, "Measure name %q is ambiguous: give measure_units", name)
}

// FindMeasureRange returns the range of a measure; see
// dtbase.MeasureRangeStore.
func (db *DB) FindMeasureRange(ctx context.Context, measureID int64) (dtbase.MeasureRange, error) {
	var r dtbase.MeasureRange
	var lo, hi sql.NullFloat64
	err := db.read.QueryRowContext(ctx, `SELECT min_value, max_value FROM measure_range WHERE measure_id = $1`, measureID).Scan(&lo, &hi)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("find range of measure %d: %w", measureID, err)
	}
	if lo.Valid {
		r.Min = &lo.Float64
	}
	if hi.Valid {
		r.Max = &hi.Float64
	}
	return r, nil
}
