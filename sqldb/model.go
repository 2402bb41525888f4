package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

var _ dtbase.ModelStore = (*DB)(nil)

// modelUnitsEq returns a condition that col equals parameter $n, where a
// NULL parameter matches a NULL column: the identity of measures treats
// NULL units as one value. PostgreSQL spells it IS NOT DISTINCT FROM and
// infers the parameter's type from the column; SQLite's IS does the same.
func (db *DB) modelUnitsEq(col string, n int) string {
	if db.Dialect == Postgres {
		return fmt.Sprintf("%s IS NOT DISTINCT FROM $%d", col, n)
	}
	return fmt.Sprintf("%s IS $%d", col, n)
}

// modelQuote renders a name for an error message.
func modelQuote(s string) string { return "'" + s + "'" }

func modelDescribeUnits(units *string) string {
	if units == nil {
		return "no units"
	}
	return "units " + modelQuote(*units)
}

func modelDescribeScenario(modelName string, description *string) string {
	if description == nil {
		return "Scenario with no description of model " + modelQuote(modelName)
	}
	return "Scenario " + modelQuote(*description) + " of model " + modelQuote(modelName)
}

// CreateModel adds a model; ECONFLICT "Model exists already" if the name is
// taken.
func (db *DB) CreateModel(ctx context.Context, name string) error {
	if err := (&dtbase.Model{Name: name}).Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO model (name, time_created) VALUES ($1, $2)`, name, micros(db.Now()))
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "Model exists already"), "create model")
	})
}

// ListModels returns every model in id order.
func (db *DB) ListModels(ctx context.Context) ([]dtbase.Model, error) {
	return queryAll(ctx, db.read, "list models", func(rows *sql.Rows, m *dtbase.Model) error {
		var created int64
		err := rows.Scan(&m.ID, &m.Name, &created)
		m.Created = fromMicros(created)
		return err
	}, `SELECT id, name, time_created FROM model ORDER BY id`)
}

// modelID returns the id of the named model; ENOTFOUND if there is none.
func modelID(ctx context.Context, q queryer, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM model WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, dtbase.Errorf(dtbase.ENOTFOUND, "Model %s does not exist", modelQuote(name))
	}
	if err != nil {
		return 0, fmt.Errorf("find model %q: %w", name, err)
	}
	return id, nil
}

// DeleteModel deletes a model and its scenarios; ENOTFOUND if there is none,
// ECONFLICT while it has runs.
func (db *DB) DeleteModel(ctx context.Context, name string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		id, err := modelID(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := refuseInUse(ctx, tx, "delete model", `SELECT count(*) FROM model_run WHERE model_id = $1`, id, func(runs int64) error {
			return dtbase.Errorf(dtbase.ECONFLICT, "Model %s has %d runs; delete them first", modelQuote(name), runs)
		}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM model WHERE id = $1`, id)
		// A foreign-key violation means a run was inserted concurrently.
		return stmtErr(err, isForeignKeyViolation, dtbase.Errorf(dtbase.ECONFLICT, "Model %s has runs; delete them first", modelQuote(name)), "delete model")
	})
}

// modelScenarioID returns the id of a model's scenario, or 0 if the model
// has no such scenario.
func (db *DB) modelScenarioID(ctx context.Context, q queryer, modelID int64, description *string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM model_scenario WHERE model_id = $1 AND `+db.modelUnitsEq("description", 2),
		modelID, description).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find scenario: %w", err)
	}
	return id, nil
}

// CreateModelScenario adds a scenario to a model; ENOTFOUND for an unknown
// model, ECONFLICT "Scenario exists already" for a duplicate.
func (db *DB) CreateModelScenario(ctx context.Context, modelName string, description *string) error {
	if err := (&dtbase.ModelScenario{ModelName: modelName, Description: description}).Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		id, err := modelID(ctx, tx, modelName)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO model_scenario (model_id, description, time_created) VALUES ($1, $2, $3)`,
			id, description, micros(db.Now()))
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "Scenario exists already"), "create scenario")
	})
}

// ListModelScenarios returns every scenario in id order.
func (db *DB) ListModelScenarios(ctx context.Context) ([]dtbase.ModelScenario, error) {
	return queryAll(ctx, db.read, "list scenarios", func(rows *sql.Rows, s *dtbase.ModelScenario) error {
		return rows.Scan(&s.ID, &s.ModelID, &s.ModelName, &s.Description)
	}, `SELECT s.id, s.model_id, m.name, s.description FROM model_scenario s JOIN model m ON m.id = s.model_id ORDER BY s.id`)
}

// DeleteModelScenario deletes a scenario; ENOTFOUND for an unknown model or
// scenario, ECONFLICT while it has runs.
func (db *DB) DeleteModelScenario(ctx context.Context, modelName string, description *string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		mid, err := modelID(ctx, tx, modelName)
		if err != nil {
			return err
		}
		sid, err := db.modelScenarioID(ctx, tx, mid, description)
		if err != nil {
			return err
		}
		if sid == 0 {
			return dtbase.Errorf(dtbase.ENOTFOUND, "%s does not exist", modelDescribeScenario(modelName, description))
		}
		if err := refuseInUse(ctx, tx, "delete scenario", `SELECT count(*) FROM model_run WHERE scenario_id = $1`, sid, func(runs int64) error {
			return dtbase.Errorf(dtbase.ECONFLICT, "%s has %d runs; delete them first", modelDescribeScenario(modelName, description), runs)
		}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM model_scenario WHERE id = $1`, sid)
		return stmtErr(err, isForeignKeyViolation, dtbase.Errorf(dtbase.ECONFLICT, "%s has runs; delete them first", modelDescribeScenario(modelName, description)), "delete scenario")
	})
}

// modelCheckDatatype returns EINVALID for a datatype that is not one of the
// four.
func modelCheckDatatype(d dtbase.Datatype) error {
	if !d.Valid() {
		return dtbase.Errorf(dtbase.EINVALID, "Unknown datatype %s: must be one of string, integer, float, boolean", modelQuote(string(d)))
	}
	return nil
}

// CreateModelMeasure adds a measure and sets its ID; EINVALID for an unknown
// datatype, ECONFLICT "Model measure exists already" if (name, units) is
// taken.
func (db *DB) CreateModelMeasure(ctx context.Context, m *dtbase.ModelMeasure) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := modelCheckDatatype(m.Datatype); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO model_measure (name, units, datatype, time_created) VALUES ($1, $2, $3, $4) RETURNING id`,
			m.Name, m.Units, string(m.Datatype), micros(db.Now())).Scan(&m.ID)
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "Model measure exists already"), "create model measure")
	})
}

// ListModelMeasures returns every model measure in id order.
func (db *DB) ListModelMeasures(ctx context.Context) ([]dtbase.ModelMeasure, error) {
	return queryAll(ctx, db.read, "list model measures", scanModelMeasure, `SELECT id, name, units, datatype FROM model_measure ORDER BY id`)
}

// scanModelMeasure scans a row of id, name, units and datatype into m, for
// queryAll.
func scanModelMeasure(rows *sql.Rows, m *dtbase.ModelMeasure) error {
	var dt string
	err := rows.Scan(&m.ID, &m.Name, &m.Units, &dt)
	m.Datatype = dtbase.Datatype(dt)
	return err
}

// findModelMeasures returns the model measures named name, with the given
// units unless units is nil, in id order.
func findModelMeasures(ctx context.Context, q queryer, name string, units *string) ([]dtbase.ModelMeasure, error) {
	query, args := `SELECT id, name, units, datatype FROM model_measure WHERE name = $1`, []any{name}
	if units != nil {
		query += ` AND units = $2`
		args = append(args, *units)
	}
	return queryAll(ctx, q, fmt.Sprintf("find model measure %q", name), scanModelMeasure, query+` ORDER BY id`, args...)
}

// modelMeasureNotFound and modelMeasureAmbiguous are the errors of a model
// measure lookup.
func modelMeasureNotFound(name string, units *string) error {
	if units == nil {
		return dtbase.Errorf(dtbase.ENOTFOUND, "Model measure %s does not exist", modelQuote(name))
	}
	return dtbase.Errorf(dtbase.ENOTFOUND, "Model measure %s with units %s does not exist", modelQuote(name), modelQuote(*units))
}

func modelMeasureAmbiguous(name string, found []dtbase.ModelMeasure, unitsField string) error {
	var units []string
	for _, m := range found {
		units = append(units, modelQuote(m.Units))
	}
	return dtbase.Errorf(dtbase.EINVALID, "Model measure name %s is ambiguous: it exists with units %s; give %s",
		modelQuote(name), strings.Join(units, ", "), unitsField)
}

// DeleteModelMeasure deletes the measure named name with the given units, or
// the only measure of that name when units is nil. ENOTFOUND if there is
// none, EINVALID if units is nil and several share the name, ECONFLICT while
// a run has outputs for it.
func (db *DB) DeleteModelMeasure(ctx context.Context, name string, units *string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		found, err := findModelMeasures(ctx, tx, name, units)
		if err != nil {
			return err
		}
		switch {
		case len(found) == 0:
			return modelMeasureNotFound(name, units)
		case len(found) > 1:
			return modelMeasureAmbiguous(name, found, "units")
		}
		if err := refuseInUse(ctx, tx, "delete model measure", `SELECT count(*) FROM model_product WHERE measure_id = $1`, found[0].ID, func(used int64) error {
			return dtbase.Errorf(dtbase.ECONFLICT, "Model measure %s is used by %d model runs", modelQuote(name), used)
		}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM model_measure WHERE id = $1`, found[0].ID)
		return stmtErr(err, isForeignKeyViolation, dtbase.Errorf(dtbase.ECONFLICT, "Model measure %s is used by model runs", modelQuote(name)), "delete model measure")
	})
}

// CreateModelRuns creates the runs with their outputs in one transaction
// and sets their IDs; see dtbase.ModelStore for the rules and errors.
func (db *DB) CreateModelRuns(ctx context.Context, runs []*dtbase.NewModelRun) error {
	// Check what needs no database first, so a bad request costs nothing.
	for _, r := range runs {
		if err := checkNewModelRun(r); err != nil {
			return err
		}
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		for _, r := range runs {
			if err := db.createModelRun(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func checkNewModelRun(r *dtbase.NewModelRun) error {
	if err := r.Validate(); err != nil {
		return err
	}
	for i, s := range r.Series {
		if len(s.Values) != len(s.Timestamps) {
			return dtbase.Errorf(dtbase.EINVALID, "Measure %s (series %d) has %d values but %d timestamps",
				modelQuote(s.MeasureName), i, len(s.Values), len(s.Timestamps))
		}
		for j := 0; j < i; j++ {
			if r.Series[j].MeasureName == s.MeasureName {
				return dtbase.Errorf(dtbase.EINVALID, "Measure %s is listed twice in one run (series %d and %d)",
					modelQuote(s.MeasureName), j, i)
			}
		}
		if r.CreateMeasures {
			if err := modelCheckDatatype(s.Datatype); err != nil {
				return err
			}
		}
	}
	if len(r.Details) > 0 {
		var obj map[string]json.RawMessage
		if json.Unmarshal(r.Details, &obj) != nil {
			return dtbase.Errorf(dtbase.EINVALID, "Run details must be a JSON object")
		}
	}
	return nil
}

func (db *DB) createModelRun(ctx context.Context, tx *sql.Tx, r *dtbase.NewModelRun) error {
	now := micros(db.Now())
	if r.CreateModel {
		if _, err := tx.ExecContext(ctx, `INSERT INTO model (name, time_created) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			r.ModelName, now); err != nil {
			return fmt.Errorf("create model: %w", err)
		}
	}
	mid, err := modelID(ctx, tx, r.ModelName)
	if err != nil {
		return err
	}
	desc := &r.ScenarioDescription
	sid, err := db.modelScenarioID(ctx, tx, mid, desc)
	if err != nil {
		return err
	}
	if sid == 0 {
		if !r.CreateScenario {
			return dtbase.Errorf(dtbase.ENOTFOUND, "%s does not exist; create it or set create_scenario", modelDescribeScenario(r.ModelName, desc))
		}
		// ON CONFLICT: a concurrent request may create it first.
		if _, err := tx.ExecContext(ctx, `INSERT INTO model_scenario (model_id, description, time_created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			mid, r.ScenarioDescription, now); err != nil {
			return fmt.Errorf("create scenario: %w", err)
		}
		if sid, err = db.modelScenarioID(ctx, tx, mid, desc); err != nil {
			return err
		}
	}
	var sensorID, sensorMeasureID sql.NullInt64
	if r.SensorUniqueID != nil {
		err := tx.QueryRowContext(ctx, `SELECT id FROM sensor WHERE unique_identifier = $1`, *r.SensorUniqueID).Scan(&sensorID)
		if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor %s does not exist", modelQuote(*r.SensorUniqueID)), "find sensor"); err != nil {
			return err
		}
	}
	if sm := r.SensorMeasure; sm != nil {
		err := tx.QueryRowContext(ctx, `SELECT id FROM sensor_measure WHERE name = $1 AND `+db.modelUnitsEq("units", 2),
			sm.Name, sm.Units).Scan(&sensorMeasureID)
		if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor measure %s with %s does not exist", modelQuote(sm.Name), modelDescribeUnits(sm.Units)), "find sensor measure"); err != nil {
			return err
		}
	}
	created := r.TimeCreated
	if created.IsZero() {
		created = db.Now()
	}
	var details sql.NullString
	if len(r.Details) > 0 {
		details = sql.NullString{String: string(r.Details), Valid: true}
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO model_run (model_id, scenario_id, time_created, sensor_id, sensor_measure_id, details)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		mid, sid, micros(created), sensorID, sensorMeasureID, details).Scan(&r.ID)
	if err := stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "Model run exists already: model %s has a run under scenario %s created at %s",
		modelQuote(r.ModelName), modelQuote(r.ScenarioDescription), dtbase.FormatTime(created)), "create model run"); err != nil {
		return err
	}
	for i := range r.Series {
		if err := db.createModelOutput(ctx, tx, r, &r.Series[i], now); err != nil {
			return err
		}
	}
	return nil
}

// createModelOutput resolves a series' measure, checks every value against
// its datatype and writes the product and its values.
func (db *DB) createModelOutput(ctx context.Context, tx *sql.Tx, r *dtbase.NewModelRun, s *dtbase.NewModelSeries, now int64) error {
	found, err := findModelMeasures(ctx, tx, s.MeasureName, s.MeasureUnits)
	if err != nil {
		return err
	}
	if len(found) == 0 && r.CreateMeasures {
		units := ""
		if s.MeasureUnits != nil {
			units = *s.MeasureUnits
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO model_measure (name, units, datatype, time_created) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			s.MeasureName, units, string(s.Datatype), now); err != nil {
			return fmt.Errorf("create model measure: %w", err)
		}
		if found, err = findModelMeasures(ctx, tx, s.MeasureName, &units); err != nil {
			return err
		}
	}
	switch {
	case len(found) == 0:
		return modelMeasureNotFound(s.MeasureName, s.MeasureUnits)
	case len(found) > 1:
		return modelMeasureAmbiguous(s.MeasureName, found, "measure_units")
	}
	m := found[0]
	values := make([]any, len(s.Values))
	for i, v := range s.Values {
		c, msg := v.Coerce(m.Datatype)
		if msg != "" {
			return dtbase.Errorf(dtbase.EINVALID, "Measure %s is of datatype %s: values[%d]: %s", modelQuote(m.Name), m.Datatype, i, msg)
		}
		values[i] = sqlArg(c)
	}
	if len(values) == 0 { // an empty series is a no-op (B14)
		return nil
	}
	var pid int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO model_product (run_id, measure_id) VALUES ($1, $2) RETURNING id`, r.ID, m.ID).Scan(&pid); err != nil {
		return fmt.Errorf("create model product: %w", err)
	}
	return insertModelValues(ctx, tx, modelValueTable(m.Datatype), pid, s.Timestamps, values)
}

// modelValuesPerInsert bounds the rows of one multi-row INSERT: three
// parameters a row stays far below both engines' limits.
const modelValuesPerInsert = 1000

// insertModelValues writes (ts, value) rows for a product. A duplicate
// timestamp keeps the first value, as the original's ON CONFLICT DO NOTHING
// does.
func insertModelValues(ctx context.Context, tx *sql.Tx, table string, productID int64, ts []time.Time, values []any) error {
	var sb strings.Builder
	args := make([]any, 0, 3*min(len(values), modelValuesPerInsert))
	for start := 0; start < len(values); start += modelValuesPerInsert {
		end := min(start+modelValuesPerInsert, len(values))
		sb.Reset()
		args = args[:0]
		sb.WriteString("INSERT INTO " + table + " (product_id, ts, value) VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteByte(',')
			}
			n := len(args)
			sb.WriteString("($" + strconv.Itoa(n+1) + ",$" + strconv.Itoa(n+2) + ",$" + strconv.Itoa(n+3) + ")")
			args = append(args, productID, micros(ts[i]), values[i])
		}
		sb.WriteString(" ON CONFLICT DO NOTHING")
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("insert model values: %w", err)
		}
	}
	return nil
}

// modelValueTable is the table of a datatype's model values.
func modelValueTable(d dtbase.Datatype) string { return "model_value_" + string(d) }

// queryModelPoints reads the (ts, value) rows of a datatype's table that
// query selects, nil for none; what names the read in errors.
func queryModelPoints(ctx context.Context, q queryer, d dtbase.Datatype, what, query string, args ...any) ([]dtbase.ModelPoint, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []dtbase.ModelPoint
	for rows.Next() {
		var ts int64
		var v dtbase.Value
		if err := rows.Scan(&ts, valueDest(&v, d)); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, dtbase.ModelPoint{Time: fromMicros(ts), Value: v})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// modelRunRow is a run as stored, with the ids a comparison needs.
type modelRunRow struct {
	dtbase.ModelRun
	sensorID, sensorMeasureID sql.NullInt64
}

const modelRunSelect = `SELECT r.id, r.model_id, m.name, r.scenario_id, s.description, r.time_created,
	r.sensor_id, se.unique_identifier, r.sensor_measure_id, sm.name, sm.units, sm.datatype, r.details
	FROM model_run r
	JOIN model m ON m.id = r.model_id
	JOIN model_scenario s ON s.id = r.scenario_id
	LEFT JOIN sensor se ON se.id = r.sensor_id
	LEFT JOIN sensor_measure sm ON sm.id = r.sensor_measure_id`

func scanModelRun(row interface{ Scan(...any) error }) (*modelRunRow, error) {
	var r modelRunRow
	var created int64
	var smName, smUnits, smDatatype, details sql.NullString
	if err := row.Scan(&r.ID, &r.ModelID, &r.ModelName, &r.ScenarioID, &r.ScenarioDescription, &created,
		&r.sensorID, &r.SensorUniqueID, &r.sensorMeasureID, &smName, &smUnits, &smDatatype, &details); err != nil {
		return nil, err
	}
	r.TimeCreated = fromMicros(created)
	if smName.Valid {
		r.SensorMeasure = &dtbase.ModelSensorMeasure{Name: smName.String}
		if smUnits.Valid {
			u := smUnits.String
			r.SensorMeasure.Units = &u
		}
		r.SensorMeasureDatatype = dtbase.Datatype(smDatatype.String)
	}
	if details.Valid {
		r.Details = json.RawMessage(details.String)
	}
	return &r, nil
}

// ListModelRuns returns the runs matching f in id order; none for an unknown
// model.
func (db *DB) ListModelRuns(ctx context.Context, f dtbase.ModelRunFilter) ([]dtbase.ModelRun, error) {
	query := modelRunSelect + ` WHERE m.name = $1 AND r.time_created >= $2 AND r.time_created <= $3`
	args := []any{f.ModelName, micros(f.From), micros(f.To)}
	if f.Scenario != nil {
		query += ` AND s.description = $4`
		args = append(args, *f.Scenario)
	}
	return queryAll(ctx, db.read, "list model runs", func(rows *sql.Rows, r *dtbase.ModelRun) error {
		got, err := scanModelRun(rows)
		if err == nil {
			*r = got.ModelRun
			r.Details = nil // only FindModelRun returns details
		}
		return err
	}, query+` ORDER BY r.id`, args...)
}

func findModelRun(ctx context.Context, q queryer, id int64) (*modelRunRow, error) {
	r, err := scanModelRun(q.QueryRowContext(ctx, modelRunSelect+` WHERE r.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dtbase.Errorf(dtbase.ENOTFOUND, "No such model run")
	}
	if err != nil {
		return nil, fmt.Errorf("find model run %d: %w", id, err)
	}
	return r, nil
}

// FindModelRun returns a run with its details; ENOTFOUND "No such model run"
// if there is none.
func (db *DB) FindModelRun(ctx context.Context, id int64) (*dtbase.ModelRun, error) {
	r, err := findModelRun(ctx, db.read, id)
	if err != nil {
		return nil, err
	}
	return &r.ModelRun, nil
}

// FindModelRunOutputs returns a run's outputs in product id order, each in
// time order; none for an unknown run.
func (db *DB) FindModelRunOutputs(ctx context.Context, id int64) ([]dtbase.ModelOutput, error) {
	var out []dtbase.ModelOutput
	err := db.withReadTx(ctx, func(tx *sql.Tx) (err error) {
		out, err = findModelRunOutputs(ctx, tx, id)
		return err
	})
	return out, err
}

func findModelRunOutputs(ctx context.Context, tx *sql.Tx, runID int64) ([]dtbase.ModelOutput, error) {
	rows, err := tx.QueryContext(ctx, `SELECT p.id, mm.id, mm.name, mm.units, mm.datatype
		FROM model_product p JOIN model_measure mm ON mm.id = p.measure_id
		WHERE p.run_id = $1 ORDER BY p.id`, runID)
	if err != nil {
		return nil, fmt.Errorf("find model run outputs: %w", err)
	}
	var out []dtbase.ModelOutput
	for rows.Next() {
		var o dtbase.ModelOutput
		var dt string
		if err := rows.Scan(&o.ProductID, &o.Measure.ID, &o.Measure.Name, &o.Measure.Units, &dt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("find model run outputs: %w", err)
		}
		o.Measure.Datatype = dtbase.Datatype(dt)
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find model run outputs: %w", err)
	}
	for i := range out {
		o := &out[i]
		var err error
		o.Points, err = queryModelPoints(ctx, tx, o.Measure.Datatype, "find model run values",
			`SELECT ts, value FROM `+modelValueTable(o.Measure.Datatype)+` WHERE product_id = $1 ORDER BY ts`, o.ProductID)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteModelRun deletes a run and its outputs; ENOTFOUND if there is none.
func (db *DB) DeleteModelRun(ctx context.Context, id int64) error {
	return db.execOne(ctx, "delete model run", "No such model run", `DELETE FROM model_run WHERE id = $1`, id)
}

// CompareModelRun returns a run's outputs beside the observed readings of
// its sensor measure, with skill scores; see dtbase.ModelStore.
func (db *DB) CompareModelRun(ctx context.Context, id int64, tolerance time.Duration) (*dtbase.ModelRunComparison, error) {
	if tolerance <= 0 {
		tolerance = dtbase.DefaultComparisonTolerance
	}
	var c *dtbase.ModelRunComparison
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		r, err := findModelRun(ctx, tx, id)
		if err != nil {
			return err
		}
		outputs, err := findModelRunOutputs(ctx, tx, id)
		if err != nil {
			return err
		}
		c = &dtbase.ModelRunComparison{Run: r.ModelRun, Outputs: outputs, Observed: []dtbase.ModelPoint{}, Tolerance: tolerance}
		first, last, ok := dtbase.OutputSpan(outputs)
		if !ok || !r.sensorID.Valid || !r.sensorMeasureID.Valid {
			c.Skill = dtbase.ScoreForecast(outputs, nil, tolerance)
			return nil
		}
		obs, err := queryModelPoints(ctx, tx, r.SensorMeasureDatatype, "read observations", `SELECT ts, value FROM `+readingTable(r.SensorMeasureDatatype)+`
			WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts`,
			r.sensorID.Int64, r.sensorMeasureID.Int64, micros(first.Add(-tolerance)), micros(last.Add(tolerance)))
		if err != nil {
			return err
		}
		if obs != nil {
			c.Observed = obs
		}
		c.Skill = dtbase.ScoreForecast(outputs, c.Observed, tolerance)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FindModelInputSeries returns the readings in [from, to] of a sensor's
// numeric measure; see dtbase.ModelStore.
func (db *DB) FindModelInputSeries(ctx context.Context, sensorUID, measureName string, units *string, from, to time.Time) (*dtbase.ModelInputSeries, error) {
	var out *dtbase.ModelInputSeries
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		sensorID, err := idOf(ctx, tx, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor %s does not exist", modelQuote(sensorUID)), "find sensor",
			`SELECT id FROM sensor WHERE unique_identifier = $1`, sensorUID)
		if err != nil {
			return err
		}
		query := `SELECT m.id, m.name, m.units, m.datatype FROM sensor s
			JOIN sensor_type_measure tm ON tm.type_id = s.type_id
			JOIN sensor_measure m ON m.id = tm.measure_id
			WHERE s.id = $1 AND m.name = $2`
		args := []any{sensorID, measureName}
		if units != nil {
			query += ` AND m.units = $3`
			args = append(args, *units)
		}
		type found struct {
			id       int64
			measure  dtbase.ModelSensorMeasure
			datatype dtbase.Datatype
		}
		candidates, err := queryAll(ctx, tx, "find sensor measure", func(rows *sql.Rows, f *found) error {
			var dt string
			err := rows.Scan(&f.id, &f.measure.Name, &f.measure.Units, &dt)
			f.datatype = dtbase.Datatype(dt)
			return err
		}, query+` ORDER BY m.id`, args...)
		if err != nil {
			return err
		}
		switch {
		case len(candidates) == 0 && units == nil:
			return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor %s has no measure %s", modelQuote(sensorUID), modelQuote(measureName))
		case len(candidates) == 0:
			return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor %s has no measure %s with units %s", modelQuote(sensorUID), modelQuote(measureName), modelQuote(*units))
		case len(candidates) > 1:
			var us []string
			for _, c := range candidates {
				us = append(us, modelDescribeUnits(c.measure.Units))
			}
			sort.Strings(us)
			return dtbase.Errorf(dtbase.EINVALID, "Measure name %s of sensor %s is ambiguous (%s): give its units",
				modelQuote(measureName), modelQuote(sensorUID), strings.Join(us, "; "))
		}
		c := candidates[0]
		if c.datatype != dtbase.Float && c.datatype != dtbase.Integer {
			return dtbase.Errorf(dtbase.EINVALID, "Measure %s of sensor %s is of datatype %s; a forecast needs numbers",
				modelQuote(measureName), modelQuote(sensorUID), c.datatype)
		}
		points, err := queryModelPoints(ctx, tx, c.datatype, "read readings", `SELECT ts, value FROM `+readingTable(c.datatype)+`
			WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts`,
			sensorID, c.id, micros(from), micros(to))
		if err != nil {
			return err
		}
		for i := range points {
			if points[i].Value.Kind == dtbase.KindInteger {
				points[i].Value = dtbase.FloatValue(float64(points[i].Value.I))
			}
		}
		out = &dtbase.ModelInputSeries{SensorUniqueID: sensorUID, Measure: c.measure, Datatype: c.datatype, Points: points}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
