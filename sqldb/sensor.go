package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

var _ dtbase.SensorStore = (*DB)(nil)

// CreateSensorType creates a type and links its measures, creating or
// reusing each measure, in one transaction.
func (db *DB) CreateSensorType(ctx context.Context, t *dtbase.SensorType) error {
	if err := t.Validate(); err != nil {
		return err
	}
	type key struct {
		name   string
		isNull bool
		units  string
	}
	seen := map[key]bool{}
	for i, m := range t.Measures {
		if !m.Datatype.Valid() {
			return dtbase.Errorf(dtbase.EINVALID, "Unknown datatype '%s' for measure '%s' (measures[%d]); use string, integer, float or boolean", m.Datatype, m.Name, i)
		}
		isNull, units := nameUnitsArgs(m.Units)
		k := key{m.Name, isNull, units}
		if seen[k] {
			return dtbase.Errorf(dtbase.ECONFLICT, "Measure '%s' with %s is listed twice (measures[%d])", m.Name, describeUnits(m.Units), i)
		}
		seen[k] = true
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		now := micros(db.Now())
		err := tx.QueryRowContext(ctx,
			`INSERT INTO sensor_type (name, description, time_created) VALUES ($1, $2, $3) RETURNING id`,
			t.Name, t.Description, now).Scan(&t.ID)
		if err := stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "Sensor type exists already"), "create sensor type"); err != nil {
			return err
		}
		for i := range t.Measures {
			m := &t.Measures[i]
			m.ID, m.Datatype, err = upsertNamedUnits(ctx, tx, "sensor_measure", m.Name, m.Units, m.Datatype, now)
			if err != nil {
				return fmt.Errorf("create sensor measure %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO sensor_type_measure (type_id, measure_id) VALUES ($1, $2)`, t.ID, m.ID); err != nil {
				return fmt.Errorf("link sensor measure %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

func describeUnits(units *string) string {
	if units == nil {
		return "no units"
	}
	return "units '" + *units + "'"
}

// ListSensorTypes returns every type in id order with its measures.
func (db *DB) ListSensorTypes(ctx context.Context) ([]dtbase.SensorType, error) {
	var out []dtbase.SensorType
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = sensorTypesWhere(ctx, tx, `1 = 1`)
		return err
	})
	return out, err
}

// sensorTypesWhere loads the sensor types (alias t) satisfying cond.
func sensorTypesWhere(ctx context.Context, tx *sql.Tx, cond string, args ...any) ([]dtbase.SensorType, error) {
	types, err := queryWithFields(ctx, tx, "list sensor types", `
		SELECT t.id, t.name, t.description, m.id, m.name, m.units, m.datatype
		FROM sensor_type t
		LEFT JOIN sensor_type_measure r ON r.type_id = t.id
		LEFT JOIN sensor_measure m ON m.id = r.measure_id
		WHERE `+cond+`
		ORDER BY t.id, r.id`, args...)
	if err != nil {
		return nil, err
	}
	out := make([]dtbase.SensorType, len(types))
	for i, t := range types {
		out[i] = dtbase.SensorType{ID: t.ID, Name: t.Name, Description: t.Description, Measures: t.Fields}
	}
	return out, nil
}

// withFields is a sensor type or a location schema with the fields it
// lists: its measures or its identifiers, which have one shape.
type withFields struct {
	ID          int64
	Name        string
	Description *string
	Fields      []dtbase.Measure
}

// queryWithFields runs query, whose rows are an id, name and description
// left-joined with the id, name, units and datatype of one of its fields,
// in order. It returns each id once with its fields in row order, an empty
// list for none; what names the read in errors.
func queryWithFields(ctx context.Context, q queryer, what, query string, args ...any) ([]withFields, error) {
	type row struct {
		withFields
		field    sql.NullInt64
		name, dt sql.NullString
		units    *string
	}
	rows, err := queryAll(ctx, q, what, func(rows *sql.Rows, r *row) error {
		return rows.Scan(&r.ID, &r.Name, &r.Description, &r.field, &r.name, &r.units, &r.dt)
	}, query, args...)
	if err != nil {
		return nil, err
	}
	out := []withFields{}
	for _, r := range rows {
		if n := len(out); n == 0 || out[n-1].ID != r.ID {
			r.Fields = []dtbase.Measure{}
			out = append(out, r.withFields)
		}
		if r.field.Valid {
			last := &out[len(out)-1]
			last.Fields = append(last.Fields, dtbase.Measure{ID: r.field.Int64, Name: r.name.String, Units: r.units, Datatype: dtbase.Datatype(r.dt.String)})
		}
	}
	return out, nil
}

// DeleteSensorType deletes a type and its measure links.
func (db *DB) DeleteSensorType(ctx context.Context, name string) error {
	return db.deleteUnreferenced(ctx, "Sensor type", "sensor_type", "name", name,
		"sensor", "type_id", "Sensor type '%s' has %d sensor(s); delete them first")
}

// ListMeasures returns every sensor measure in id order.
func (db *DB) ListMeasures(ctx context.Context) ([]dtbase.Measure, error) {
	return listNamedUnits[dtbase.Measure](ctx, db.read, "sensor_measure", func(id int64, name string, units *string, dt dtbase.Datatype) dtbase.Measure {
		return dtbase.Measure{ID: id, Name: name, Units: units, Datatype: dt}
	})
}

// CreateSensor adds a sensor of the type named by s.TypeName.
func (db *DB) CreateSensor(ctx context.Context, s *dtbase.Sensor) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		typeID, err := idOf(ctx, tx, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor type '%s' does not exist", s.TypeName), "find sensor type",
			`SELECT id FROM sensor_type WHERE name = $1`, s.TypeName)
		if err != nil {
			return err
		}
		s.Created = db.Now()
		err = tx.QueryRowContext(ctx,
			`INSERT INTO sensor (type_id, unique_identifier, name, notes, time_created) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			typeID, s.UniqueIdentifier, s.Name, s.Notes, micros(s.Created)).Scan(&s.ID)
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "Sensor exists already"), "create sensor")
	})
}

const sensorColumns = `s.id, s.unique_identifier, s.name, s.notes, t.name, s.time_created`

func scanSensor(row interface{ Scan(...any) error }) (dtbase.Sensor, error) {
	var s dtbase.Sensor
	var created int64
	err := row.Scan(&s.ID, &s.UniqueIdentifier, &s.Name, &s.Notes, &s.TypeName, &created)
	s.Created = fromMicros(created)
	return s, err
}

// FindSensors returns the sensors matching f in id order.
func (db *DB) FindSensors(ctx context.Context, f dtbase.SensorFilter) ([]dtbase.Sensor, error) {
	out := []dtbase.Sensor{}
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		q := `SELECT ` + sensorColumns + ` FROM sensor s JOIN sensor_type t ON t.id = s.type_id`
		var args []any
		if f.TypeName != nil {
			q += ` WHERE t.name = $1`
			args = append(args, *f.TypeName)
		}
		var err error
		out, err = queryAll(ctx, tx, "list sensors", func(rows *sql.Rows, s *dtbase.Sensor) (err error) {
			*s, err = scanSensor(rows)
			return err
		}, q+` ORDER BY s.id`, args...)
		if err != nil {
			return err
		}
		if !f.WithLocation || len(out) == 0 {
			return nil
		}
		current, err := db.currentPlacements(ctx, tx, f.TypeName)
		if err != nil {
			return err
		}
		for i := range out {
			if p, ok := current[out[i].ID]; ok {
				out[i].Location = p
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// currentPlacements returns, by sensor id, the newest placement installed
// no later than now of every sensor (of the type, when typeName is set).
func (db *DB) currentPlacements(ctx context.Context, tx *sql.Tx, typeName *string) (map[int64]*dtbase.SensorPlacement, error) {
	cond := `sl.installation_datetime = (SELECT max(x.installation_datetime) FROM sensor_location x
		WHERE x.sensor_id = sl.sensor_id AND x.installation_datetime <= $1)`
	args := []any{micros(db.Now())}
	if typeName != nil {
		cond += ` AND sl.sensor_id IN (SELECT s.id FROM sensor s JOIN sensor_type t ON t.id = s.type_id WHERE t.name = $2)`
		args = append(args, *typeName)
	}
	return placementsWhere(ctx, tx, cond, args...)
}

// placementsWhere loads the placements (alias sl) satisfying cond, keyed by
// sensor id; cond must select at most one placement per sensor.
func placementsWhere(ctx context.Context, tx *sql.Tx, cond string, args ...any) (map[int64]*dtbase.SensorPlacement, error) {
	type row struct{ sensor, loc, installed int64 }
	raw, err := queryAll(ctx, tx, "find placements", func(rows *sql.Rows, r *row) error {
		return rows.Scan(&r.sensor, &r.loc, &r.installed)
	}, `SELECT sl.sensor_id, sl.location_id, sl.installation_datetime FROM sensor_location sl WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*dtbase.SensorPlacement, len(raw))
	if len(raw) == 0 {
		return out, nil
	}
	byID, err := locationsByID(ctx, tx, `l.id IN (SELECT sl.location_id FROM sensor_location sl WHERE `+cond+`)`, args...)
	if err != nil {
		return nil, err
	}
	for _, r := range raw {
		out[r.sensor] = &dtbase.SensorPlacement{Location: byID[r.loc], Installed: fromMicros(r.installed)}
	}
	return out, nil
}

// FindSensorDetails returns a sensor with its type and location history.
func (db *DB) FindSensorDetails(ctx context.Context, uniqueIdentifier string) (*dtbase.SensorDetails, error) {
	var d dtbase.SensorDetails
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		d.Sensor, err = scanSensor(tx.QueryRowContext(ctx,
			`SELECT `+sensorColumns+` FROM sensor s JOIN sensor_type t ON t.id = s.type_id WHERE s.unique_identifier = $1`, uniqueIdentifier))
		if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor '%s' does not exist", uniqueIdentifier), "find sensor"); err != nil {
			return err
		}
		types, err := sensorTypesWhere(ctx, tx, `t.id = (SELECT type_id FROM sensor WHERE id = $1)`, d.ID)
		if err != nil {
			return err
		}
		if len(types) == 1 {
			d.Type = types[0]
		}
		if d.History, err = sensorHistory(ctx, tx, d.ID); err != nil {
			return err
		}
		now := db.Now()
		for i := range d.History {
			if !d.History[i].Installed.After(now) {
				d.Location = &d.History[i]
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// locationsByID loads the locations (alias l) satisfying cond, keyed by id.
func locationsByID(ctx context.Context, tx *sql.Tx, cond string, args ...any) (map[int64]dtbase.Location, error) {
	locs, err := locationsWhere(ctx, tx, map[int64]*dtbase.LocationSchema{}, cond, args...)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]dtbase.Location, len(locs))
	for _, l := range locs {
		byID[l.ID] = l
	}
	return byID, nil
}

// sensorHistory returns a sensor's placements, newest first.
func sensorHistory(ctx context.Context, tx *sql.Tx, sensorID int64) ([]dtbase.SensorPlacement, error) {
	type row struct{ loc, installed int64 }
	raw, err := queryAll(ctx, tx, "list sensor locations", func(rows *sql.Rows, r *row) error {
		return rows.Scan(&r.loc, &r.installed)
	}, `SELECT location_id, installation_datetime FROM sensor_location WHERE sensor_id = $1 ORDER BY installation_datetime DESC`, sensorID)
	if err != nil {
		return nil, err
	}
	out := []dtbase.SensorPlacement{}
	if len(raw) == 0 {
		return out, nil
	}
	byID, err := locationsByID(ctx, tx, `l.id IN (SELECT location_id FROM sensor_location WHERE sensor_id = $1)`, sensorID)
	if err != nil {
		return nil, err
	}
	for _, r := range raw {
		out = append(out, dtbase.SensorPlacement{Location: byID[r.loc], Installed: fromMicros(r.installed)})
	}
	return out, nil
}

// UpdateSensor sets the non-nil fields of upd.
func (db *DB) UpdateSensor(ctx context.Context, uniqueIdentifier string, upd dtbase.SensorUpdate) error {
	if err := upd.Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var p params
		if upd.Name != nil {
			p.add("name = $%d", *upd.Name)
		}
		if upd.Notes != nil {
			p.add("notes = $%d", *upd.Notes)
		}
		p.add("time_updated = $%d", micros(db.Now()))
		args := append(p.args, uniqueIdentifier)
		res, err := tx.ExecContext(ctx,
			`UPDATE sensor SET `+strings.Join(p.clauses, ", ")+fmt.Sprintf(` WHERE unique_identifier = $%d`, len(args)), args...)
		if err != nil {
			return fmt.Errorf("edit sensor: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor does not exist")
		}
		return nil
	})
}

// findSensorID returns the id of the sensor uniqueIdentifier; ENOTFOUND
// when there is none.
func findSensorID(ctx context.Context, q queryer, uniqueIdentifier string) (int64, error) {
	return idOf(ctx, q, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor '%s' does not exist", uniqueIdentifier), "find sensor",
		`SELECT id FROM sensor WHERE unique_identifier = $1`, uniqueIdentifier)
}

// DeleteSensor deletes a sensor with its readings and placements.
func (db *DB) DeleteSensor(ctx context.Context, uniqueIdentifier string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		id, err := findSensorID(ctx, tx, uniqueIdentifier)
		if err != nil {
			return err
		}
		if err := refuseInUse(ctx, tx, "count model runs", `SELECT count(*) FROM model_run WHERE sensor_id = $1`, id, func(runs int64) error {
			return dtbase.Errorf(dtbase.ECONFLICT, "Sensor '%s' is referenced by %d model run(s); it cannot be deleted", uniqueIdentifier, runs)
		}); err != nil {
			return err
		}
		if err := deleteSensorReadings(ctx, db.Dialect, tx, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sensor WHERE id = $1`, id)
		return stmtErr(err, isForeignKeyViolation, dtbase.Errorf(dtbase.ECONFLICT, "Sensor '%s' is in use", uniqueIdentifier), "delete sensor")
	})
}

// CreateSensorPlacement records that a sensor is at a location from
// installed on.
func (db *DB) CreateSensorPlacement(ctx context.Context, uniqueIdentifier, schema string, coords dtbase.Coordinates, installed time.Time) (*dtbase.SensorPlacement, error) {
	var p *dtbase.SensorPlacement
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		sensorID, err := findSensorID(ctx, tx, uniqueIdentifier)
		if err != nil {
			return err
		}
		s, err := db.findSchema(ctx, tx, schema, false, dtbase.Errorf(dtbase.ENOTFOUND, "Location schema '%s' does not exist", schema))
		if err != nil {
			return err
		}
		vals, mask, err := fitCoordinates(s, coords, false)
		if err != nil {
			return err
		}
		ids, err := matchLocations(ctx, tx, s, vals, mask)
		if err != nil {
			return err
		}
		switch {
		case len(ids) == 0:
			return dtbase.Errorf(dtbase.ENOTFOUND, "No location of schema '%s' has these coordinates", schema)
		case len(ids) > 1:
			return dtbase.Errorf(dtbase.EINVALID, "The coordinates match %d locations of schema '%s'; give more of its identifiers (%s) to pick one",
				len(ids), schema, strings.Join(s.IdentifierNames(), ", "))
		}
		if installed.IsZero() {
			installed = db.Now()
		}
		installed = fromMicros(micros(installed))
		_, err = tx.ExecContext(ctx,
			`INSERT INTO sensor_location (sensor_id, location_id, installation_datetime) VALUES ($1, $2, $3)`,
			sensorID, ids[0], micros(installed))
		if err := stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "Sensor location exists already: sensor '%s' has a location installed at %s",
			uniqueIdentifier, dtbase.FormatTime(installed)), "create sensor location"); err != nil {
			return err
		}
		locs, err := locationsWhere(ctx, tx, map[int64]*dtbase.LocationSchema{s.ID: s}, `l.id = $1`, ids[0])
		if err != nil {
			return err
		}
		p = &dtbase.SensorPlacement{Location: locs[0], Installed: installed}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ListSensorPlacements returns a sensor's location history, newest first;
// none for an unknown sensor.
func (db *DB) ListSensorPlacements(ctx context.Context, uniqueIdentifier string) ([]dtbase.SensorPlacement, error) {
	out := []dtbase.SensorPlacement{}
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM sensor WHERE unique_identifier = $1`, uniqueIdentifier).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find sensor: %w", err)
		}
		out, err = sensorHistory(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deleteUnreferenced deletes the row of table whose keyColumn is key, a
// kind ("Sensor") the user knows by that key, unless rows of refTable
// point at it through refColumn: then ECONFLICT with refMsg (formatted
// with the key and their number). ENOTFOUND when there is no such row.
// The table and column names are constants of the callers.
func (db *DB) deleteUnreferenced(ctx context.Context, kind, table, keyColumn, key, refTable, refColumn, refMsg string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		id, err := idOf(ctx, tx, dtbase.Errorf(dtbase.ENOTFOUND, "%s '%s' does not exist", kind, key), "find "+table,
			`SELECT id FROM `+table+` WHERE `+keyColumn+` = $1`, key)
		if err != nil {
			return err
		}
		if err := refuseInUse(ctx, tx, "count "+refTable+" rows", `SELECT count(*) FROM `+refTable+` WHERE `+refColumn+` = $1`, id, func(n int64) error {
			return dtbase.Errorf(dtbase.ECONFLICT, refMsg, key, n)
		}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id)
		if isForeignKeyViolation(err) {
			return dtbase.Errorf(dtbase.ECONFLICT, "%s '%s' is in use", kind, key)
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", table, err)
		}
		return nil
	})
}
