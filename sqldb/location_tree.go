package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/dtbase/dtbase"
)

var _ dtbase.LocationTreeStore = (*DB)(nil)

// subtreeCTE selects, as sub(id), the location $1 and every location under
// it. UNION (not UNION ALL) ends the recursion even on a cycle, which the
// writes refuse anyway.
const subtreeCTE = `WITH RECURSIVE sub(id) AS (
	SELECT CAST($1 AS BIGINT)
	UNION SELECT p.location_id FROM location_parent p JOIN sub ON p.parent_id = sub.id)`

// SetLocationParent moves a location, with its subtree, under parent or to
// the root; see dtbase.LocationTreeStore.
func (db *DB) SetLocationParent(ctx context.Context, id int64, parent *int64) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if err := locationExists(ctx, tx, id, "location_id"); err != nil {
			return err
		}
		if parent == nil {
			if _, err := tx.ExecContext(ctx, `DELETE FROM location_parent WHERE location_id = $1`, id); err != nil {
				return fmt.Errorf("make location %d a root: %w", id, err)
			}
			return nil
		}
		if err := locationExists(ctx, tx, *parent, "parent_id"); err != nil {
			return err
		}
		sub, err := subtree(ctx, tx, id)
		if err != nil {
			return err
		}
		if slices.Contains(sub, *parent) {
			if *parent == id {
				return dtbase.FieldErrorf("parent_id", -1, "A location cannot be its own parent (location %d)", id)
			}
			return dtbase.FieldErrorf("parent_id", -1, "Location %d is under location %d: moving %d there would make a cycle", *parent, id, id)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO location_parent (location_id, parent_id) VALUES ($1, $2)
			ON CONFLICT (location_id) DO UPDATE SET parent_id = excluded.parent_id`, id, *parent); err != nil {
			return fmt.Errorf("set parent of location %d: %w", id, err)
		}
		return nil
	})
}

// locationExists is ENOTFOUND naming field unless location id exists.
func locationExists(ctx context.Context, tx *sql.Tx, id int64, field string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM location WHERE id = $1`, id).Scan(&one)
	return stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, "No location with id %d (%s)", id, field), fmt.Sprintf("find location %d", id))
}

func subtree(ctx context.Context, tx *sql.Tx, id int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, subtreeCTE+` SELECT id FROM sub ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("subtree of location %d: %w", id, err)
	}
	defer rows.Close()
	out := []int64{id}
	for rows.Next() {
		var x int64
		if err := rows.Scan(&x); err != nil {
			return nil, fmt.Errorf("subtree of location %d: %w", id, err)
		}
		if x != id {
			out = append(out, x)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("subtree of location %d: %w", id, err)
	}
	return out, nil
}

// LocationSubtree returns the ids of a location and of everything under
// it; see dtbase.LocationTreeStore.
func (db *DB) LocationSubtree(ctx context.Context, id int64) ([]int64, error) {
	var out []int64
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		if err := locationExists(ctx, tx, id, "location_id"); err != nil {
			return err
		}
		var err error
		out, err = subtree(ctx, tx, id)
		return err
	})
	return out, err
}

// LocationTree returns every location with its parent and its current
// sensors; see dtbase.LocationTreeStore.
func (db *DB) LocationTree(ctx context.Context) ([]dtbase.LocationNode, error) {
	var out []dtbase.LocationNode
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		locs, err := locationsWhere(ctx, tx, map[int64]*dtbase.LocationSchema{}, `1 = 1`)
		if err != nil {
			return err
		}
		parents := map[int64]int64{}
		rows, err := tx.QueryContext(ctx, `SELECT location_id, parent_id FROM location_parent`)
		if err != nil {
			return fmt.Errorf("location tree: %w", err)
		}
		for rows.Next() {
			var c, p int64
			if err := rows.Scan(&c, &p); err != nil {
				rows.Close()
				return fmt.Errorf("location tree: %w", err)
			}
			parents[c] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("location tree: %w", err)
		}
		placed, err := placedWhere(ctx, tx, micros(db.Now()), "")
		if err != nil {
			return err
		}
		sensors := map[int64][]string{}
		for _, p := range placed {
			sensors[p.LocationID] = append(sensors[p.LocationID], p.UniqueIdentifier)
		}
		out = make([]dtbase.LocationNode, len(locs))
		for i, l := range locs {
			out[i] = dtbase.LocationNode{Location: l, Sensors: sensors[l.ID]}
			if out[i].Sensors == nil {
				out[i].Sensors = []string{}
			}
			if p, ok := parents[l.ID]; ok {
				out[i].ParentID = &p
			}
		}
		slices.SortFunc(out, func(a, b dtbase.LocationNode) int { return cmp.Compare(a.ID, b.ID) })
		return nil
	})
	return out, err
}

// SensorsUnder returns the sensors placed in a subtree at a time; see
// dtbase.LocationTreeStore.
func (db *DB) SensorsUnder(ctx context.Context, id int64, at time.Time) ([]dtbase.PlacedSensor, error) {
	var out []dtbase.PlacedSensor
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		if err := locationExists(ctx, tx, id, "location_id"); err != nil {
			return err
		}
		var err error
		out, err = placedWhere(ctx, tx, micros(at), `sl.location_id IN (SELECT id FROM sub)`, id)
		return err
	})
	return out, err
}

// placedWhere returns every sensor's newest placement installed no later
// than at (as $2 after the subtree root $1 when cond is set), keeping those
// that satisfy cond, ordered by unique identifier.
func placedWhere(ctx context.Context, tx *sql.Tx, at int64, cond string, root ...int64) ([]dtbase.PlacedSensor, error) {
	q := `SELECT s.unique_identifier, t.name, sl.location_id, sl.installation_datetime
		FROM sensor_location sl JOIN sensor s ON s.id = sl.sensor_id JOIN sensor_type t ON t.id = s.type_id
		WHERE sl.installation_datetime = (SELECT max(x.installation_datetime) FROM sensor_location x
			WHERE x.sensor_id = sl.sensor_id AND x.installation_datetime <= $%d)`
	var args []any
	if cond != "" {
		q = subtreeCTE + " " + fmt.Sprintf(q, 2) + " AND " + cond
		args = []any{root[0], at}
	} else {
		q = fmt.Sprintf(q, 1)
		args = []any{at}
	}
	return queryAll(ctx, tx, "sensors placed", func(rows *sql.Rows, p *dtbase.PlacedSensor) error {
		var inst int64
		err := rows.Scan(&p.UniqueIdentifier, &p.TypeName, &p.LocationID, &inst)
		p.Installed = fromMicros(inst)
		return err
	}, q+` ORDER BY s.unique_identifier`, args...)
}
