package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dtbase/dtbase"
)

var _ dtbase.DerivedMeasureStore = (*DB)(nil)

// CreateDerivedMeasure stores a definition of a derived measure; see
// dtbase.DerivedMeasureStore.
func (db *DB) CreateDerivedMeasure(ctx context.Context, d *dtbase.DerivedMeasure) error {
	if err := d.Validate(); err != nil {
		return err
	}
	scopes := 0
	for _, set := range []bool{d.SensorType != nil, d.LocationID != nil, d.UniqueIdentifier != nil} {
		if set {
			scopes++
		}
	}
	if scopes != 1 {
		return dtbase.Errorf(dtbase.EINVALID, "Give exactly one of sensor_type, location_id and unique_identifier")
	}
	if d.ValidFrom != nil && d.ValidTo != nil && !d.ValidTo.After(*d.ValidFrom) {
		return dtbase.Errorf(dtbase.EINVALID, "valid_to must be after valid_from")
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var typeID, sensorID *int64
		lookup := func(q, what, name string) (*int64, error) {
			var id int64
			err := tx.QueryRowContext(ctx, q, name).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, dtbase.Errorf(dtbase.ENOTFOUND, "%s %q does not exist", what, name)
			}
			if err != nil {
				return nil, fmt.Errorf("create derived measure: %w", badText(err))
			}
			return &id, nil
		}
		var err error
		switch {
		case d.SensorType != nil:
			typeID, err = lookup(`SELECT id FROM sensor_type WHERE name = $1`, "Sensor type", *d.SensorType)
		case d.UniqueIdentifier != nil:
			sensorID, err = lookup(`SELECT id FROM sensor WHERE unique_identifier = $1`, "Sensor", *d.UniqueIdentifier)
		default:
			err = locationExists(ctx, tx, *d.LocationID, "location_id")
		}
		if err != nil {
			return err
		}
		if err := checkDefinitions(ctx, tx, d, typeID, sensorID); err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO derived_measure
			(name, units, expression, sensor_type_id, location_id, sensor_id, aggregate, valid_from, valid_to, time_created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			d.Name, d.Units, d.Expression, typeID, d.LocationID, sensorID, d.Aggregate,
			OptionalMicros(d.ValidFrom), OptionalMicros(d.ValidTo), micros(db.Now())).Scan(&d.ID)
		if err != nil {
			return fmt.Errorf("create derived measure: %w", badText(err))
		}
		return refreshDerivedRules(ctx, tx, d.Name)
	})
}

// checkDefinitions is ECONFLICT when d does not fit the name's other
// definitions: the same units, no aggregate beside others, and no overlap
// in time within one scope.
func checkDefinitions(ctx context.Context, tx *sql.Tx, d *dtbase.DerivedMeasure, typeID, sensorID *int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT units, sensor_type_id, location_id, sensor_id, aggregate, valid_from, valid_to
		FROM derived_measure WHERE name = $1`, d.Name)
	if err != nil {
		return fmt.Errorf("create derived measure: %w", badText(err))
	}
	defer rows.Close()
	for rows.Next() {
		var units, agg *string
		var t, l, s *int64
		var vf, vt sql.NullInt64
		if err := rows.Scan(&units, &t, &l, &s, &agg, &vf, &vt); err != nil {
			return fmt.Errorf("create derived measure: %w", err)
		}
		if !sameUnits(units, d.Units) {
			return dtbase.Errorf(dtbase.ECONFLICT, "Derived measure %q exists already with units %s; its definitions share units", d.Name, quoteUnits(units))
		}
		if agg != nil || d.Aggregate != nil {
			return dtbase.Errorf(dtbase.ECONFLICT, "A derived measure called %q exists already; an aggregate over a location has one definition", d.Name)
		}
		sameScope := eqPtr(t, typeID) && eqPtr(l, d.LocationID) && eqPtr(s, sensorID)
		// [a, b) and [c, e) overlap when a < e and c < b, open ends infinite.
		if sameScope && before(OptionalMicros(d.ValidFrom), vt) && before(vf, OptionalMicros(d.ValidTo)) {
			return dtbase.Errorf(dtbase.ECONFLICT, "A definition of %q for the same sensors exists already for part of that time; give valid_from and valid_to that do not overlap", d.Name)
		}
	}
	return rows.Err()
}

func eqPtr(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// before reports a < b for bounds where NULL a is minus infinity and NULL
// b is plus infinity.
func before(a, b any) bool {
	av, bv := nullOf(a), nullOf(b)
	return !av.Valid || !bv.Valid || av.Int64 < bv.Int64
}

func nullOf(v any) sql.NullInt64 {
	switch x := v.(type) {
	case sql.NullInt64:
		return x
	case int64:
		return sql.NullInt64{Int64: x, Valid: true}
	}
	return sql.NullInt64{}
}

// ListDerivedMeasures returns every definition; see
// dtbase.DerivedMeasureStore.
func (db *DB) ListDerivedMeasures(ctx context.Context) ([]dtbase.DerivedMeasure, error) {
	return queryAll(ctx, db.read, "list derived measures", func(rows *sql.Rows, d *dtbase.DerivedMeasure) error {
		var vf, vt sql.NullInt64
		err := rows.Scan(&d.ID, &d.Name, &d.Units, &d.Expression, &d.SensorType, &d.LocationID, &d.UniqueIdentifier, &d.Aggregate, &vf, &vt)
		d.ValidFrom, d.ValidTo = nullMicros(vf), nullMicros(vt)
		return err
	}, `SELECT d.id, d.name, d.units, d.expression, t.name, d.location_id, s.unique_identifier,
			d.aggregate, d.valid_from, d.valid_to
		FROM derived_measure d LEFT JOIN sensor_type t ON t.id = d.sensor_type_id LEFT JOIN sensor s ON s.id = d.sensor_id
		ORDER BY d.id`)
}

// DeleteDerivedMeasure deletes every definition of a name; see
// dtbase.DerivedMeasureStore.
func (db *DB) DeleteDerivedMeasure(ctx context.Context, name string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM derived_measure WHERE name = $1`, name)
		if err != nil {
			return fmt.Errorf("delete derived measure: %w", badText(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return dtbase.Errorf(dtbase.ENOTFOUND, "No derived measure called %q", name)
		}
		return refreshDerivedRules(ctx, tx, name)
	})
}
