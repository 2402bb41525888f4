package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dtbase/dtbase"
)

var _ dtbase.LocationStore = (*DB)(nil)

// CreateLocationSchema creates a schema with its identifiers in one
// transaction; see dtbase.LocationStore.
func (db *DB) CreateLocationSchema(ctx context.Context, s *dtbase.LocationSchema) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := checkIdentifiers(s.Identifiers); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		now := micros(db.Now())
		err := tx.QueryRowContext(ctx,
			`INSERT INTO location_schema (name, description, time_created) VALUES ($1, $2, $3) RETURNING id`,
			s.Name, s.Description, now).Scan(&s.ID)
		if err := stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "LocationSchema exists already"), "create location schema"); err != nil {
			return err
		}
		ids, err := upsertIdentifiers(ctx, tx, s.Identifiers, now)
		if err != nil {
			return err
		}
		if err := linkIdentifiers(ctx, tx, s.ID, ids); err != nil {
			return err
		}
		s.Identifiers = ids
		return nil
	})
}

// checkIdentifiers validates identifiers before anything is written.
func checkIdentifiers(ids []dtbase.Identifier) error {
	seen := map[string]bool{}
	for i, id := range ids {
		if !id.Datatype.Valid() {
			return dtbase.Errorf(dtbase.EINVALID, "Unknown datatype '%s' for identifier '%s' (identifiers[%d]); use string, integer, float or boolean", id.Datatype, id.Name, i)
		}
		if slices.Contains(dtbase.ReservedIdentifierNames, id.Name) {
			return dtbase.Errorf(dtbase.EINVALID, "An identifier may not be called '%s' (identifiers[%d]): location listings use that key", id.Name, i)
		}
		if seen[id.Name] {
			return dtbase.Errorf(dtbase.ECONFLICT, "Identifier '%s' is listed twice (identifiers[%d]); a schema has one identifier per name", id.Name, i)
		}
		seen[id.Name] = true
	}
	return nil
}

// upsertIdentifiers creates or reuses each identifier and returns them with
// their IDs and stored datatypes, sorted by name as the original orders a
// schema's identifiers.
func upsertIdentifiers(ctx context.Context, tx *sql.Tx, ids []dtbase.Identifier, now int64) ([]dtbase.Identifier, error) {
	out := make([]dtbase.Identifier, len(ids))
	for i, id := range ids {
		var err error
		id.ID, id.Datatype, err = upsertNamedUnits(ctx, tx, "location_identifier", id.Name, id.Units, id.Datatype, now)
		if err != nil {
			return nil, fmt.Errorf("create identifier %s: %w", id.Name, err)
		}
		out[i] = id
	}
	slices.SortStableFunc(out, func(a, b dtbase.Identifier) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func linkIdentifiers(ctx context.Context, tx *sql.Tx, schemaID int64, ids []dtbase.Identifier) error {
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO location_schema_identifier (schema_id, identifier_id) VALUES ($1, $2)`, schemaID, id.ID); err != nil {
			return fmt.Errorf("link identifier %s: %w", id.Name, err)
		}
	}
	return nil
}

// upsertNamedUnits returns the id and datatype of the row of table (a
// location_identifier or sensor_measure) identified by (name, units),
// creating it with datatype dt if it does not exist. The lookup matches the
// identity index on name, units IS NULL and units with NULL read as the
// empty string, under which a NULL units equals another NULL units.
func upsertNamedUnits(ctx context.Context, tx *sql.Tx, table, name string, units *string, dt dtbase.Datatype, now int64) (int64, dtbase.Datatype, error) {
	var id int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO `+table+` (name, units, datatype, time_created) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id`,
		name, units, string(dt), now).Scan(&id)
	if err == nil {
		return id, dt, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, "", err
	}
	isNull, coalesced := nameUnitsArgs(units)
	var stored string
	err = tx.QueryRowContext(ctx,
		`SELECT id, datatype FROM `+table+` WHERE name = $1 AND (units IS NULL) = $2 AND coalesce(units, '') = $3`,
		name, isNull, coalesced).Scan(&id, &stored)
	if err != nil {
		return 0, "", err
	}
	return id, dtbase.Datatype(stored), nil
}

// nameUnitsArgs returns the two parameters that compare units under the
// identity index: whether it is NULL, and its value with NULL as "". They
// avoid an untyped NULL parameter, which PostgreSQL cannot compare.
func nameUnitsArgs(units *string) (isNull bool, coalesced string) {
	if units == nil {
		return true, ""
	}
	return false, *units
}

// FindLocationSchema returns a schema with its identifiers; ENOTFOUND "No
// such schema" if there is none.
func (db *DB) FindLocationSchema(ctx context.Context, name string) (*dtbase.LocationSchema, error) {
	var s *dtbase.LocationSchema
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = db.findSchema(ctx, tx, name, false, dtbase.Errorf(dtbase.ENOTFOUND, "No such schema"))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// schemaByName loads a schema and its identifiers. With lock set, on
// PostgreSQL, the schema row stays locked until the transaction ends, which
// serialises the check-then-insert of locations in one schema (SQLite has a
// single writer already).
func (db *DB) schemaByName(ctx context.Context, tx *sql.Tx, name string, lock bool) (*dtbase.LocationSchema, bool, error) {
	q := `SELECT id, name, description FROM location_schema WHERE name = $1`
	if lock && db.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var s dtbase.LocationSchema
	err := tx.QueryRowContext(ctx, q, name).Scan(&s.ID, &s.Name, &s.Description)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("find location schema %s: %w", name, err)
	}
	if s.Identifiers, err = schemaIdentifiers(ctx, tx, s.ID); err != nil {
		return nil, false, err
	}
	return &s, true, nil
}

// findSchema is schemaByName answering notFound when there is no schema.
func (db *DB) findSchema(ctx context.Context, tx *sql.Tx, name string, lock bool, notFound error) (*dtbase.LocationSchema, error) {
	s, ok, err := db.schemaByName(ctx, tx, name, lock)
	if err == nil && !ok {
		return nil, notFound
	}
	return s, err
}

// schemaByID loads a schema by id, through cache.
func schemaByID(ctx context.Context, tx *sql.Tx, cache map[int64]*dtbase.LocationSchema, id int64) (*dtbase.LocationSchema, error) {
	if s, ok := cache[id]; ok {
		return s, nil
	}
	var s dtbase.LocationSchema
	err := tx.QueryRowContext(ctx, `SELECT id, name, description FROM location_schema WHERE id = $1`, id).
		Scan(&s.ID, &s.Name, &s.Description)
	if err != nil {
		return nil, fmt.Errorf("find location schema %d: %w", id, err)
	}
	if s.Identifiers, err = schemaIdentifiers(ctx, tx, id); err != nil {
		return nil, err
	}
	cache[id] = &s
	return &s, nil
}

func schemaIdentifiers(ctx context.Context, tx *sql.Tx, schemaID int64) ([]dtbase.Identifier, error) {
	return queryAll(ctx, tx, "list schema identifiers", func(rows *sql.Rows, id *dtbase.Identifier) error {
		var dt string
		err := rows.Scan(&id.ID, &id.Name, &id.Units, &dt)
		id.Datatype = dtbase.Datatype(dt)
		return err
	}, `
		SELECT i.id, i.name, i.units, i.datatype
		FROM location_schema_identifier r JOIN location_identifier i ON i.id = r.identifier_id
		WHERE r.schema_id = $1 ORDER BY r.id`, schemaID)
}

// ListLocationSchemas returns every schema in id order, each with its
// identifiers in order; schemas without identifiers are included.
func (db *DB) ListLocationSchemas(ctx context.Context) ([]dtbase.LocationSchema, error) {
	schemas, err := queryWithFields(ctx, db.read, "list location schemas", `
		SELECT s.id, s.name, s.description, i.id, i.name, i.units, i.datatype
		FROM location_schema s
		LEFT JOIN location_schema_identifier r ON r.schema_id = s.id
		LEFT JOIN location_identifier i ON i.id = r.identifier_id
		ORDER BY s.id, r.id`)
	if err != nil {
		return nil, err
	}
	out := make([]dtbase.LocationSchema, len(schemas))
	for i, s := range schemas {
		ids := make([]dtbase.Identifier, len(s.Fields))
		for k, f := range s.Fields {
			ids[k] = dtbase.Identifier(f)
		}
		out[i] = dtbase.LocationSchema{ID: s.ID, Name: s.Name, Description: s.Description, Identifiers: ids}
	}
	return out, nil
}

// ListLocationIdentifiers returns every identifier in id order.
func (db *DB) ListLocationIdentifiers(ctx context.Context) ([]dtbase.Identifier, error) {
	return listNamedUnits[dtbase.Identifier](ctx, db.read, "location_identifier", func(id int64, name string, units *string, dt dtbase.Datatype) dtbase.Identifier {
		return dtbase.Identifier{ID: id, Name: name, Units: units, Datatype: dt}
	})
}

// listNamedUnits lists a table of (name, units, datatype) rows in id order.
func listNamedUnits[T any](ctx context.Context, q *sql.DB, table string, mk func(int64, string, *string, dtbase.Datatype) T) ([]T, error) {
	return queryAll(ctx, q, "list "+table, func(rows *sql.Rows, v *T) error {
		var id int64
		var name, dt string
		var units *string
		if err := rows.Scan(&id, &name, &units, &dt); err != nil {
			return err
		}
		*v = mk(id, name, units, dtbase.Datatype(dt))
		return nil
	}, `SELECT id, name, units, datatype FROM `+table+` ORDER BY id`)
}

// DeleteLocationSchema deletes a schema and its identifier links.
func (db *DB) DeleteLocationSchema(ctx context.Context, name string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		s, err := db.siteSchema(ctx, tx, name, true)
		if err != nil {
			return err
		}
		if err := refuseInUse(ctx, tx, "count locations", `SELECT count(*) FROM location WHERE schema_id = $1`, s.ID, func(n int64) error {
			return dtbase.Errorf(dtbase.ECONFLICT, "Location schema '%s' has %d location(s); delete them first", name, n)
		}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM location_schema WHERE id = $1`, s.ID)
		return stmtErr(err, isForeignKeyViolation, dtbase.Errorf(dtbase.ECONFLICT, "Location schema '%s' is in use", name), "delete location schema")
	})
}

// CreateLocation adds a location to a schema.
func (db *DB) CreateLocation(ctx context.Context, schema string, coords dtbase.Coordinates) (*dtbase.Location, error) {
	var loc *dtbase.Location
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		s, err := db.findSchema(ctx, tx, schema, true, dtbase.Errorf(dtbase.ENOTFOUND, "Location schema does not exist"))
		if err != nil {
			return err
		}
		vals, _, err := fitCoordinates(s, coords, true)
		if err != nil {
			return err
		}
		loc, err = db.insertLocation(ctx, tx, s, vals, "Location exists already")
		return err
	})
	if err != nil {
		return nil, err
	}
	return loc, nil
}

// insertLocation adds the location with values vals (aligned with the
// schema's identifiers) unless one with the same values exists, in which
// case it answers ECONFLICT with the text exists.
func (db *DB) insertLocation(ctx context.Context, tx *sql.Tx, s *dtbase.LocationSchema, vals []dtbase.Value, exists string) (*dtbase.Location, error) {
	ids, err := matchLocations(ctx, tx, s, vals, nil)
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		return nil, dtbase.Errorf(dtbase.ECONFLICT, "%s", exists)
	}
	loc := &dtbase.Location{Schema: s.Name, Identifiers: s.Identifiers, Values: vals}
	if err := tx.QueryRowContext(ctx, `INSERT INTO location (schema_id, time_created) VALUES ($1, $2) RETURNING id`,
		s.ID, micros(db.Now())).Scan(&loc.ID); err != nil {
		return nil, fmt.Errorf("create location: %w", err)
	}
	for i, id := range s.Identifiers {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO location_value (location_id, identifier_id, `+locValueColumn(id.Datatype)+`) VALUES ($1, $2, $3)`,
			loc.ID, id.ID, sqlArg(vals[i])); err != nil {
			return nil, fmt.Errorf("create location value %s: %w", id.Name, err)
		}
	}
	return loc, nil
}

// CreateLocationWithIdentifiers is the original's insert-location.
func (db *DB) CreateLocationWithIdentifiers(ctx context.Context, identifiers []dtbase.Identifier, values []dtbase.Value) (*dtbase.Location, error) {
	// The schema's own name is made of these; the identifiers are checked
	// as a schema's, naming the one at fault.
	if err := (&dtbase.LocationSchema{Identifiers: identifiers}).Validate(); err != nil {
		return nil, err
	}
	if len(values) != len(identifiers) {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Got %d value(s) for %d identifier(s); give one value per identifier, in the same order", len(values), len(identifiers))
	}
	if len(identifiers) == 0 {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Give at least one identifier: the schema is named after them")
	}
	if err := checkIdentifiers(identifiers); err != nil {
		return nil, err
	}
	names := make([]string, len(identifiers))
	for i, id := range identifiers {
		names[i] = id.Name
	}
	slices.Sort(names)
	name := strings.Join(names, "-")
	if dtbase.TooLong(name, dtbase.MaxNameLen) {
		return nil, dtbase.Errorf(dtbase.EINVALID, "The schema name '%s' made of the identifier names would be longer than %d characters", name, dtbase.MaxNameLen)
	}
	var loc *dtbase.Location
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		now := micros(db.Now())
		ids, err := upsertIdentifiers(ctx, tx, identifiers, now)
		if err != nil {
			return err
		}
		// A concurrent request may create the same schema; ON CONFLICT waits
		// for it and then reuses its schema.
		var schemaID int64
		err = tx.QueryRowContext(ctx,
			`INSERT INTO location_schema (name, description, time_created) VALUES ($1, $1, $2) ON CONFLICT (name) DO NOTHING RETURNING id`,
			name, now).Scan(&schemaID)
		var s *dtbase.LocationSchema
		switch {
		case err == nil:
			if err := linkIdentifiers(ctx, tx, schemaID, ids); err != nil {
				return err
			}
			desc := name
			s = &dtbase.LocationSchema{ID: schemaID, Name: name, Description: &desc, Identifiers: ids}
		case errors.Is(err, sql.ErrNoRows):
			s, _, err = db.schemaByName(ctx, tx, name, true)
			if err != nil {
				return err
			}
			if !sameIdentifiers(s.Identifiers, ids) {
				return dtbase.Errorf(dtbase.ECONFLICT, "Location or schema exists already: schema '%s' has the identifiers %s", name, describeIdentifiers(s.Identifiers))
			}
		default:
			return fmt.Errorf("create location schema: %w", err)
		}
		vals := make([]dtbase.Value, len(s.Identifiers))
		for i, given := range identifiers {
			j := slices.IndexFunc(s.Identifiers, func(id dtbase.Identifier) bool { return id.Name == given.Name })
			v, msg := values[i].Coerce(s.Identifiers[j].Datatype)
			if msg != "" {
				return dtbase.Errorf(dtbase.EINVALID, "values[%d] for identifier '%s': %s", i, given.Name, msg)
			}
			vals[j] = v
		}
		loc, err = db.insertLocation(ctx, tx, s, vals, "Location or schema exists already")
		return err
	})
	if err != nil {
		return nil, err
	}
	return loc, nil
}

func sameIdentifiers(a, b []dtbase.Identifier) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y dtbase.Identifier) bool { return y.ID == x.ID }) {
			return false
		}
	}
	return true
}

func describeIdentifiers(ids []dtbase.Identifier) string {
	if len(ids) == 0 {
		return "(none)"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		units := "no units"
		if id.Units != nil {
			units = "units '" + *id.Units + "'"
		}
		parts[i] = fmt.Sprintf("'%s' (%s, %s)", id.Name, id.Datatype, units)
	}
	return strings.Join(parts, ", ")
}

// FindLocations returns the locations of a schema matching filter.
func (db *DB) FindLocations(ctx context.Context, schema string, filter dtbase.Coordinates) ([]dtbase.Location, error) {
	out := []dtbase.Location{}
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		s, ok, err := db.schemaByName(ctx, tx, schema, false)
		if err != nil || !ok {
			return err
		}
		vals, mask, err := fitCoordinates(s, filter, false)
		if err != nil {
			return err
		}
		cond, args := matchCondition(s, vals, mask, 2)
		out, err = locationsWhere(ctx, tx, map[int64]*dtbase.LocationSchema{s.ID: s},
			`l.schema_id = $1`+cond, append([]any{s.ID}, args...)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteLocation deletes the location with exactly these coordinates.
func (db *DB) DeleteLocation(ctx context.Context, schema string, coords dtbase.Coordinates) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		s, id, err := db.locationByFullCoordinates(ctx, tx, schema, coords)
		if err != nil {
			return err
		}
		users, err := placementSensors(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return dtbase.Errorf(dtbase.ECONFLICT, "The location is in the location history of sensor(s) %s; delete or move those sensors first", locQuoteList(users))
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM location WHERE id = $1 AND schema_id = $2`, id, s.ID)
		return stmtErr(err, isForeignKeyViolation, dtbase.Errorf(dtbase.ECONFLICT, "The location is in use"), "delete location")
	})
}

// locationByFullCoordinates locks the schema and finds the one location
// with exactly coords.
func (db *DB) locationByFullCoordinates(ctx context.Context, tx *sql.Tx, schema string, coords dtbase.Coordinates) (*dtbase.LocationSchema, int64, error) {
	s, err := db.findSchema(ctx, tx, schema, true, dtbase.Errorf(dtbase.ENOTFOUND, "Location schema '%s' does not exist", schema))
	if err != nil {
		return nil, 0, err
	}
	vals, _, err := fitCoordinates(s, coords, true)
	if err != nil {
		return nil, 0, err
	}
	ids, err := matchLocations(ctx, tx, s, vals, nil)
	if err != nil {
		return nil, 0, err
	}
	switch len(ids) {
	case 0:
		return nil, 0, dtbase.Errorf(dtbase.ENOTFOUND, "Location not found")
	case 1:
		return s, ids[0], nil
	}
	// Only a database written around our checks can hold duplicates.
	return nil, 0, dtbase.Errorf(dtbase.EINVALID, "The coordinates match %d locations of schema '%s'", len(ids), schema)
}

// placementSensors returns the unique identifiers of the sensors whose
// location history includes location id (at most five, for a message).
func placementSensors(ctx context.Context, tx *sql.Tx, locationID int64) ([]string, error) {
	return queryAll(ctx, tx, "find sensors at location", func(rows *sql.Rows, uid *string) error {
		var id int64
		return rows.Scan(&id, uid)
	}, `
		SELECT DISTINCT s.id, s.unique_identifier FROM sensor_location sl JOIN sensor s ON s.id = sl.sensor_id
		WHERE sl.location_id = $1 ORDER BY s.id LIMIT 5`, locationID)
}

// UpdateLocation changes some values of one location.
func (db *DB) UpdateLocation(ctx context.Context, schema string, coords, update dtbase.Coordinates) (*dtbase.Location, error) {
	var loc *dtbase.Location
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		s, id, err := db.locationByFullCoordinates(ctx, tx, schema, coords)
		if err != nil {
			return err
		}
		old, _, _ := fitCoordinates(s, coords, true)
		upd, mask, err := fitCoordinates(s, update, false)
		if err != nil {
			return err
		}
		vals := slices.Clone(old)
		for i := range vals {
			if mask[i] {
				vals[i] = upd[i]
			}
		}
		clash, err := matchLocations(ctx, tx, s, vals, nil)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(clash, func(other int64) bool { return other != id }) {
			return dtbase.Errorf(dtbase.ECONFLICT, "Location exists already")
		}
		for i, ident := range s.Identifiers {
			if vals[i] == old[i] {
				continue
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE location_value SET `+locValueColumn(ident.Datatype)+` = $1 WHERE location_id = $2 AND identifier_id = $3`,
				sqlArg(vals[i]), id, ident.ID); err != nil {
				return fmt.Errorf("update location value %s: %w", ident.Name, err)
			}
		}
		loc = &dtbase.Location{ID: id, Schema: s.Name, Identifiers: s.Identifiers, Values: vals}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loc, nil
}

// fitCoordinates checks coords against the schema's identifiers and returns
// the values aligned with them, coerced to their datatypes, with a mask of
// those given. Every key must be an identifier of the schema; with full set,
// every identifier must be given. Errors are EINVALID and name the keys.
func fitCoordinates(s *dtbase.LocationSchema, coords dtbase.Coordinates, full bool) ([]dtbase.Value, []bool, error) {
	var unknown, missing []string
	for k := range coords {
		if !slices.ContainsFunc(s.Identifiers, func(id dtbase.Identifier) bool { return id.Name == k }) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	if full {
		for _, id := range s.Identifiers {
			if _, ok := coords[id.Name]; !ok {
				missing = append(missing, id.Name)
			}
		}
	}
	if len(unknown) > 0 || len(missing) > 0 {
		var problems []string
		if len(unknown) > 0 {
			problems = append(problems, "unknown "+locQuoteList(unknown))
		}
		if len(missing) > 0 {
			problems = append(problems, "missing "+locQuoteList(missing))
		}
		return nil, nil, dtbase.Errorf(dtbase.EINVALID, "Coordinates do not match the identifiers of location schema '%s' (%s): %s",
			s.Name, strings.Join(s.IdentifierNames(), ", "), strings.Join(problems, "; "))
	}
	vals := make([]dtbase.Value, len(s.Identifiers))
	mask := make([]bool, len(s.Identifiers))
	for i, id := range s.Identifiers {
		v, ok := coords[id.Name]
		if !ok {
			continue
		}
		cv, msg := v.Coerce(id.Datatype)
		if msg != "" {
			return nil, nil, dtbase.Errorf(dtbase.EINVALID, "Coordinate '%s' of location schema '%s': %s", id.Name, s.Name, msg)
		}
		vals[i], mask[i] = cv, true
	}
	return vals, mask, nil
}

func locQuoteList(xs []string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = "'" + x + "'"
	}
	return strings.Join(parts, ", ")
}

// matchCondition returns SQL conditions on the location alias l that hold
// for locations whose value equals vals[i] for each identifier with mask[i]
// set (every identifier when mask is nil), numbering its parameters from
// argN.
func matchCondition(s *dtbase.LocationSchema, vals []dtbase.Value, mask []bool, argN int) (string, []any) {
	var b strings.Builder
	var args []any
	for i, id := range s.Identifiers {
		if mask != nil && !mask[i] {
			continue
		}
		fmt.Fprintf(&b, ` AND EXISTS (SELECT 1 FROM location_value m WHERE m.location_id = l.id AND m.identifier_id = $%d AND m.%s = $%d)`,
			argN, locValueColumn(id.Datatype), argN+1)
		args = append(args, id.ID, sqlArg(vals[i]))
		argN += 2
	}
	return b.String(), args
}

// matchLocations returns the ids of the schema's locations whose values
// match vals where mask is set (everywhere when mask is nil).
func matchLocations(ctx context.Context, tx *sql.Tx, s *dtbase.LocationSchema, vals []dtbase.Value, mask []bool) ([]int64, error) {
	cond, args := matchCondition(s, vals, mask, 2)
	return queryAll(ctx, tx, "match locations", scanColumn[int64], `SELECT l.id FROM location l WHERE l.schema_id = $1`+cond+` ORDER BY l.id`,
		append([]any{s.ID}, args...)...)
}

// locationsWhere loads the locations (alias l) satisfying cond, in id
// order, with their values and schemas; cache holds schemas already loaded.
func locationsWhere(ctx context.Context, tx *sql.Tx, cache map[int64]*dtbase.LocationSchema, cond string, args ...any) ([]dtbase.Location, error) {
	type valueRow struct {
		loc, schema int64
		ident       sql.NullInt64
		s           sql.NullString
		i           sql.NullInt64
		f           sql.NullFloat64
		b           sql.NullBool
	}
	raw, err := queryAll(ctx, tx, "list locations", func(rows *sql.Rows, r *valueRow) error {
		return rows.Scan(&r.loc, &r.schema, &r.ident, &r.s, &r.i, &r.f, &r.b)
	}, `
		SELECT l.id, l.schema_id, v.identifier_id, v.string_value, v.integer_value, v.float_value, v.boolean_value
		FROM location l LEFT JOIN location_value v ON v.location_id = l.id
		WHERE `+cond+` ORDER BY l.id`, args...)
	if err != nil {
		return nil, err
	}
	// The schemas are loaded after the rows are read: one connection cannot
	// run a second query while rows are open.
	out := []dtbase.Location{}
	var positions map[int64]int
	for _, r := range raw {
		if n := len(out); n == 0 || out[n-1].ID != r.loc {
			s, err := schemaByID(ctx, tx, cache, r.schema)
			if err != nil {
				return nil, err
			}
			out = append(out, dtbase.Location{ID: r.loc, Schema: s.Name, Identifiers: s.Identifiers, Values: make([]dtbase.Value, len(s.Identifiers))})
			positions = make(map[int64]int, len(s.Identifiers))
			for i, id := range s.Identifiers {
				positions[id.ID] = i
			}
		}
		if !r.ident.Valid {
			continue
		}
		loc := &out[len(out)-1]
		i, ok := positions[r.ident.Int64]
		if !ok {
			continue
		}
		switch loc.Identifiers[i].Datatype {
		case dtbase.String:
			loc.Values[i] = dtbase.StringValue(r.s.String)
		case dtbase.Integer:
			loc.Values[i] = dtbase.IntValue(r.i.Int64)
		case dtbase.Float:
			loc.Values[i] = dtbase.FloatValue(r.f.Float64)
		case dtbase.Boolean:
			loc.Values[i] = dtbase.BoolValue(r.b.Bool)
		}
	}
	return out, nil
}

// locValueColumn names the column of location_value holding datatype dt.
func locValueColumn(dt dtbase.Datatype) string {
	switch dt {
	case dtbase.String:
		return "string_value"
	case dtbase.Integer:
		return "integer_value"
	case dtbase.Boolean:
		return "boolean_value"
	}
	return "float_value"
}
