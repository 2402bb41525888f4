package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dtbase/dtbase"
)

var _ dtbase.DerivedMeasureStore = (*DB)(nil)

// CreateDerivedMeasure stores a derived measure; see
// dtbase.DerivedMeasureStore.
func (db *DB) CreateDerivedMeasure(ctx context.Context, d *dtbase.DerivedMeasure) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if (d.SensorType == nil) == (d.LocationID == nil) {
		return dtbase.Errorf(dtbase.EINVALID, "Give exactly one of sensor_type and location_id")
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var typeID *int64
		if d.SensorType != nil {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM sensor_type WHERE name = $1`, *d.SensorType).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor type %q does not exist", *d.SensorType)
			}
			if err != nil {
				return fmt.Errorf("create derived measure: %w", err)
			}
			typeID = &id
		} else if err := locationExists(ctx, tx, *d.LocationID, "location_id"); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO derived_measure (name, units, expression, sensor_type_id, location_id, aggregate, time_created)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			d.Name, d.Units, d.Expression, typeID, d.LocationID, d.Aggregate, micros(db.Now())).Scan(&d.ID)
		if isUniqueViolation(err) {
			return dtbase.Errorf(dtbase.ECONFLICT, "A derived measure called %q exists already", d.Name)
		}
		if err != nil {
			return fmt.Errorf("create derived measure: %w", badText(err))
		}
		return nil
	})
}

// ListDerivedMeasures returns every derived measure; see
// dtbase.DerivedMeasureStore.
func (db *DB) ListDerivedMeasures(ctx context.Context) ([]dtbase.DerivedMeasure, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT d.id, d.name, d.units, d.expression, t.name, d.location_id, d.aggregate
		FROM derived_measure d LEFT JOIN sensor_type t ON t.id = d.sensor_type_id ORDER BY d.id`)
	if err != nil {
		return nil, fmt.Errorf("list derived measures: %w", err)
	}
	defer rows.Close()
	out := []dtbase.DerivedMeasure{}
	for rows.Next() {
		var d dtbase.DerivedMeasure
		if err := rows.Scan(&d.ID, &d.Name, &d.Units, &d.Expression, &d.SensorType, &d.LocationID, &d.Aggregate); err != nil {
			return nil, fmt.Errorf("list derived measures: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list derived measures: %w", err)
	}
	return out, nil
}

// DeleteDerivedMeasure deletes a derived measure; see
// dtbase.DerivedMeasureStore.
func (db *DB) DeleteDerivedMeasure(ctx context.Context, name string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM derived_measure WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete derived measure: %w", badText(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return dtbase.Errorf(dtbase.ENOTFOUND, "No derived measure called %q", name)
	}
	return nil
}
