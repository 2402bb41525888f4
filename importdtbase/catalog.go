package importdtbase

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

func (im *importer) copyUsers(ctx context.Context) error {
	t := im.targets["app_user"]
	return im.copyTable(ctx, `"User"`, "app_user", `SELECT id, email, password, coalesce(time_created, now()), time_updated FROM "User" ORDER BY id`, func(r pgx.Rows) error {
		var id int64
		var email string
		var hash []byte
		var created time.Time
		var updated *time.Time
		if err := r.Scan(&id, &email, &hash, &created, &updated); err != nil {
			return fmt.Errorf("read \"User\": %w", err)
		}
		if existing, ok := t.keys[email]; ok {
			// The same person: they keep logging in with the password they
			// used on the original.
			t.ids[id] = existing
			im.cur.Merged++
			_, err := im.exec(ctx, `UPDATE app_user SET password_hash = $1 WHERE id = $2`, hash, existing)
			if err != nil {
				return fmt.Errorf("import user %s: %w", email, err)
			}
			im.note("user %s existed: it keeps its role and takes the original's password", email)
			return nil
		}
		if err := checkRow(`"User"`, id, &dtbase.User{Email: email, Role: dtbase.RoleAdmin}); err != nil {
			return err
		}
		_, err := im.insertRow(ctx, t, id, email, "email, password_hash, role, time_created, time_updated",
			email, hash, string(dtbase.RoleAdmin), sqldb.Micros(created), sqldb.OptionalMicros(updated))
		return err
	})
}

// checkRow applies the domain's rules to a source row, so the import
// stores nothing the API would refuse; EINVALID naming the row and field.
func checkRow(source string, id int64, v validator) error {
	if err := v.Validate(); err != nil {
		return dtbase.Errorf(dtbase.EINVALID, "%s id %d: %s Shorten it in the source and import again.", source, id, dtbase.ErrorMessage(err))
	}
	return nil
}

// copyMeasures copies a table of (name, units, datatype) rows, merging rows
// with the same name and units (NULL units being one value).
func (im *importer) copyMeasures(ctx context.Context, source, target, what string) error {
	t := im.targets[target]
	return im.copyTable(ctx, source, target, `SELECT id, name, units, datatype::text, coalesce(time_created, now()) FROM `+source+` ORDER BY id`, func(r pgx.Rows) error {
		var id int64
		var name *string
		var units *string
		var dtype string
		var created time.Time
		if err := r.Scan(&id, &name, &units, &dtype, &created); err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		if name == nil { // only model_measure allows it; its API never wrote one
			empty := ""
			name = &empty
			im.note("%s id %d has no name; imported with an empty name", source, id)
		}
		if target == "model_measure" && units == nil {
			empty := ""
			units = &empty
		}
		if err := checkRow(source, id, &dtbase.Measure{Name: *name, Units: units}); err != nil {
			return err
		}
		key := unitsKey(*name, units)
		if existing, ok := t.keys[key]; ok {
			if t.dtypes[existing] != dtype {
				return dtbase.Errorf(dtbase.EINVALID, "%s %q with units %s is of datatype %s, but the source's id %d, with the same name and units, is of datatype %s; make them agree in the source first",
					what, *name, quoteUnits(units), t.dtypes[existing], id, dtype)
			}
			im.mapExisting(t, id, key)
			im.note("%s %q with units %s: source id %d merged into id %d", what, *name, quoteUnits(units), id, existing)
			return nil
		}
		newID, err := im.insertRow(ctx, t, id, key, "name, units, datatype, time_created", *name, units, dtype, sqldb.Micros(created))
		t.dtypes[newID] = dtype
		return err
	})
}

// copyNamed copies a table whose rows are identified by a unique name.
func (im *importer) copyNamed(ctx context.Context, source, target, query, cols string, scan func(pgx.Rows) (int64, string, []any, error)) error {
	t := im.targets[target]
	return im.copyTable(ctx, source, target, query, func(r pgx.Rows) error {
		id, name, args, err := scan(r)
		if err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		if im.mapExisting(t, id, name) {
			return nil
		}
		_, err = im.insertRow(ctx, t, id, name, cols, args...)
		return err
	})
}

// copyLinks copies a relation table of (parent, child) pairs into ours,
// whose own ids nothing refers to.
func (im *importer) copyLinks(ctx context.Context, source, target, a, b, aTable, bTable string) error {
	return im.copyTable(ctx, source, target, `SELECT `+a+`, `+b+` FROM `+source+` ORDER BY id`, func(r pgx.Rows) error {
		var x, y int64
		if err := r.Scan(&x, &y); err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		nx, ny, err := im.refPair(aTable, x, bTable, y)
		if err != nil {
			return err
		}
		res, err := im.exec(ctx, `INSERT INTO `+target+` (`+a+`, `+b+`) VALUES ($1, $2) ON CONFLICT DO NOTHING`, nx, ny)
		if err != nil {
			return fmt.Errorf("import %s: %w", source, err)
		}
		im.countInsert(res, 1)
		return nil
	})
}

// countInsert adds the rows an INSERT … ON CONFLICT DO NOTHING wrote, and
// counts the others as merged.
func (im *importer) countInsert(res sql.Result, attempted int64) {
	n, err := res.RowsAffected()
	if err != nil {
		n = attempted
	}
	im.cur.Written += n
	im.cur.Merged += attempted - n
}

// locValue is one coordinate of a location.
type locValue struct {
	ident int64 // our identifier id
	dt    dtbase.Datatype
	v     any
}

// locationKey is the identity of a location: its schema and coordinates.
func locationKey(schema int64, vals []locValue) string {
	sorted := slices.Clone(vals)
	slices.SortFunc(sorted, func(a, b locValue) int { return cmp.Compare(a.ident, b.ident) })
	var k strings.Builder
	k.WriteString(strconv.FormatInt(schema, 10))
	for _, v := range sorted {
		fmt.Fprintf(&k, "/%d=%s:%#v", v.ident, v.dt, v.v)
	}
	return k.String()
}

// loadLocationKeys adds the identities of the locations already in our
// database, so a forced import merges a location with the same schema and
// coordinates instead of adding it twice.
func (im *importer) loadLocationKeys(ctx context.Context) error {
	t := im.targets["location"]
	if t.maxID == 0 {
		return nil
	}
	schemas := map[int64]int64{}
	vals := map[int64][]locValue{}
	rows, err := im.tx.QueryContext(ctx, `SELECT l.id, l.schema_id, v.identifier_id, i.datatype, v.string_value, v.integer_value, v.float_value, v.boolean_value
		FROM location l LEFT JOIN location_value v ON v.location_id = l.id LEFT JOIN location_identifier i ON i.id = v.identifier_id`)
	if err != nil {
		return fmt.Errorf("read locations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, schema int64
		var ident sql.NullInt64
		var dt, sv sql.NullString
		var iv sql.NullInt64
		var fv sql.NullFloat64
		var bv sql.NullBool
		if err := rows.Scan(&id, &schema, &ident, &dt, &sv, &iv, &fv, &bv); err != nil {
			return fmt.Errorf("read locations: %w", err)
		}
		schemas[id] = schema
		if !ident.Valid {
			continue
		}
		lv := locValue{ident: ident.Int64, dt: dtbase.Datatype(dt.String)}
		switch lv.dt {
		case dtbase.String:
			lv.v = sv.String
		case dtbase.Integer:
			lv.v = iv.Int64
		case dtbase.Float:
			lv.v = fv.Float64
		case dtbase.Boolean:
			lv.v = bv.Bool
		}
		vals[id] = append(vals[id], lv)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read locations: %w", err)
	}
	for id, schema := range schemas {
		t.keys[locationKey(schema, vals[id])] = id
	}
	return nil
}

func (im *importer) copyLocations(ctx context.Context) error {
	if err := im.copyMeasures(ctx, "location_identifier", "location_identifier", "location identifier"); err != nil {
		return err
	}
	err := im.copyDescribed(ctx, "location_schema", func(name string, desc *string) validator {
		return &dtbase.LocationSchema{Name: name, Description: desc}
	})
	if err != nil {
		return err
	}
	if err := im.copyLinks(ctx, "location_schema_identifier_relation", "location_schema_identifier",
		"schema_id", "identifier_id", "location_schema", "location_identifier"); err != nil {
		return err
	}

	// A location is identified by its schema and coordinates, so its values
	// are read first. Locations are few; the values are held in memory.
	if err := im.loadLocationKeys(ctx); err != nil {
		return err
	}
	datatypes := []dtbase.Datatype{dtbase.String, dtbase.Integer, dtbase.Float, dtbase.Boolean}
	values := map[int64][]locValue{} // source location id → coordinates with our identifier ids
	nonFinite := map[dtbase.Datatype]int64{}
	for _, dt := range datatypes {
		source := "location_" + string(dt) + "_value"
		rows, err := im.src.Query(ctx, `SELECT location_id, identifier_id, value FROM `+source+` ORDER BY id`)
		if err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		for rows.Next() {
			var loc, ident int64
			v, err := scanValue(dt, rows, &loc, &ident)
			if err != nil {
				rows.Close()
				return fmt.Errorf("read %s: %w", source, err)
			}
			if f, ok := v.(float64); ok && !isFinite(f) {
				nonFinite[dt]++
				continue
			}
			ni, ok := im.targets["location_identifier"].ids[ident]
			if !ok {
				rows.Close()
				return fmt.Errorf("import %s: the source refers to location_identifier id %d, which it does not hold", source, ident)
			}
			values[loc] = append(values[loc], locValue{ident: ni, dt: dt, v: v})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
	}

	t := im.targets["location"]
	var order []int64 // source location ids in id order
	err = im.copyTable(ctx, "location", "location", `SELECT id, schema_id, coalesce(time_created, now()) FROM location ORDER BY id`, func(r pgx.Rows) error {
		var id, schema int64
		var created time.Time
		if err := r.Scan(&id, &schema, &created); err != nil {
			return fmt.Errorf("read location: %w", err)
		}
		order = append(order, id)
		ns, err := im.ref("location_schema", schema)
		if err != nil {
			return err
		}
		// Only locations that were there before the import are matched:
		// two of the source's locations with the same coordinates stay two.
		if im.mapExisting(t, id, locationKey(ns, values[id])) {
			return nil
		}
		_, err = im.insertRow(ctx, t, id, "", "schema_id, time_created", ns, sqldb.Micros(created))
		return err
	})
	if err != nil {
		return err
	}
	for _, dt := range datatypes {
		source := "location_" + string(dt) + "_value"
		im.begin(source, "location_value")
		for _, loc := range order {
			for _, v := range values[loc] {
				if v.dt != dt {
					continue
				}
				im.read()
				res, err := im.exec(ctx, `INSERT INTO location_value (location_id, identifier_id, `+sqldb.LocationValueColumn(dt)+`) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
					t.ids[loc], v.ident, v.v)
				if err != nil {
					return fmt.Errorf("import %s: %w", source, err)
				}
				im.countInsert(res, 1)
			}
		}
		if n := nonFinite[dt]; n > 0 {
			im.cur.Read += n
			im.done += n
			im.cur.Skipped += n
			im.note("%s: %d values that are NaN or infinite left out", source, n)
		}
		im.end()
	}
	return nil
}

// quoteUnits renders optional units for a note, as the store's messages do.
func quoteUnits(u *string) string {
	if u == nil {
		return "null"
	}
	return strconv.Quote(*u)
}

// validator is a domain value that checks itself.
type validator interface{ Validate() error }

// copyDescribed copies a table of named, described rows (sensor types,
// location schemas) to the table of the same name; check builds the
// domain value that validates a row.
func (im *importer) copyDescribed(ctx context.Context, table string, check func(name string, desc *string) validator) error {
	return im.copyNamed(ctx, table, table,
		`SELECT id, name, description, coalesce(time_created, now()) FROM `+table+` ORDER BY id`,
		"name, description, time_created",
		func(r pgx.Rows) (int64, string, []any, error) {
			var id int64
			var name string
			var desc *string
			var created time.Time
			if err := r.Scan(&id, &name, &desc, &created); err != nil {
				return 0, "", nil, err
			}
			return id, name, []any{name, desc, sqldb.Micros(created)}, checkRow(table, id, check(name, desc))
		})
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (im *importer) copySensors(ctx context.Context) error {
	err := im.copyDescribed(ctx, "sensor_type", func(name string, desc *string) validator {
		return &dtbase.SensorType{Name: name, Description: desc}
	})
	if err != nil {
		return err
	}
	if err := im.copyMeasures(ctx, "sensor_measure", "sensor_measure", "sensor measure"); err != nil {
		return err
	}
	if err := im.copyLinks(ctx, "sensor_type_measure_relation", "sensor_type_measure",
		"type_id", "measure_id", "sensor_type", "sensor_measure"); err != nil {
		return err
	}
	t := im.targets["sensor"]
	err = im.copyTable(ctx, "sensor", "sensor", `SELECT id, type_id, unique_identifier, name, notes, coalesce(time_created, now()), time_updated FROM sensor ORDER BY id`, func(r pgx.Rows) error {
		var id, typ int64
		var uid string
		var name, notes *string
		var created time.Time
		var updated *time.Time
		if err := r.Scan(&id, &typ, &uid, &name, &notes, &created, &updated); err != nil {
			return fmt.Errorf("read sensor: %w", err)
		}
		if im.mapExisting(t, id, uid) {
			return nil
		}
		if err := checkRow("sensor", id, &dtbase.Sensor{UniqueIdentifier: uid, Name: name, Notes: notes}); err != nil {
			return err
		}
		nt, err := im.ref("sensor_type", typ)
		if err != nil {
			return err
		}
		_, err = im.insertRow(ctx, t, id, uid, "type_id, unique_identifier, name, notes, time_created, time_updated",
			nt, uid, name, notes, sqldb.Micros(created), sqldb.OptionalMicros(updated))
		return err
	})
	if err != nil {
		return err
	}

	err = im.copyTable(ctx, "sensor_location", "sensor_location", `SELECT sensor_id, location_id, installation_datetime FROM sensor_location ORDER BY id`, func(r pgx.Rows) error {
		var sensor, loc int64
		var installed time.Time
		if err := r.Scan(&sensor, &loc, &installed); err != nil {
			return fmt.Errorf("read sensor_location: %w", err)
		}
		ns, nl, err := im.refPair("sensor", sensor, "location", loc)
		if err != nil {
			return err
		}
		res, err := im.exec(ctx, `INSERT INTO sensor_location (sensor_id, location_id, installation_datetime) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			ns, nl, sqldb.Micros(installed))
		if err != nil {
			return fmt.Errorf("import sensor_location: %w", err)
		}
		im.countInsert(res, 1)
		return nil
	})
	if err != nil {
		return err
	}
	return nil
}
