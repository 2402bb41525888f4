package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
	"github.com/dtbase/dtbase/derive"
)

// Rules on derived measures. Computing a derived series in the inserting
// transaction would cost every write the reads of the other inputs, so the
// insert hook only records which input readings it wrote (markDerivedSpans)
// and the alert schedule decides the rules (evaluateDerivedAlerts). The
// guarantees are the stored rules': each (rule, sensor) is decided under
// its series lock, alerts are found again by the data time their breach
// began, and a span reaching back before the last point decided (late or
// out-of-order data) replays the series around it.

// The widest range a derived series is computed over: years 1 to 9999.
var minMicros, maxMicros = micros(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), micros(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))

// derivedKind is the kind column of a rule on a derived measure; the
// condition's own kind is in its condition.
const derivedKind = "derived"

// derivedRuleMeasure is resolveRule's answer for a measure no stored
// measure of the target has: the id of one input of the derived measure
// called r.Measure, which the rule row keeps for its foreign key. A rule
// on a derived measure is a threshold or a rate on a per-sensor measure
// whose inputs the target's sensors have. EUNPROCESSABLE naming the field.
func derivedRuleMeasure(ctx context.Context, tx *sql.Tx, r *dtbase.AlertRule, typeID *int64) (int64, error) {
	unknown := dtbase.FieldErr("measure", fmt.Sprintf("Sensor measure %q does not exist for this target", r.Measure))
	inputs, aggregated, err := derivedInputs(ctx, tx, r.Measure)
	if err != nil || inputs == nil {
		return 0, cmp.Or(err, unknown)
	}
	if aggregated {
		return 0, dtbase.FieldErr("measure", fmt.Sprintf("Derived measure %q combines the sensors under a location; a rule watches one sensor's series", r.Measure))
	}
	if k := r.Condition.Kind; k != dtbase.CondThreshold && k != dtbase.CondRate {
		return 0, dtbase.FieldErr("condition.kind", fmt.Sprintf("A rule on derived measure %q must be a threshold or a rate", r.Measure))
	}
	var first int64
	for i, name := range inputs {
		q, args := `SELECT m.id FROM sensor_measure m WHERE m.name = $1`, []any{name}
		if typeID != nil {
			q = `SELECT m.id FROM sensor_measure m JOIN sensor_type_measure tm ON tm.measure_id = m.id WHERE m.name = $1 AND tm.type_id = $2`
			args = append(args, *typeID)
		}
		var id int64
		err := tx.QueryRowContext(ctx, q+` ORDER BY m.id LIMIT 1`, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, dtbase.FieldErr("measure", fmt.Sprintf("Derived measure %q reads %q, which the sensors of this target do not have", r.Measure, name))
		}
		if err != nil {
			return 0, err
		}
		if i == 0 {
			first = id
		}
	}
	return first, nil
}

// derivedInputs returns the input names of the derived measure called
// name (nil when there is none) and whether it is aggregated.
func derivedInputs(ctx context.Context, tx *sql.Tx, name string) (inputs []string, aggregated bool, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT expression, aggregate FROM derived_measure WHERE name = $1 ORDER BY id`, name)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var expr string
		var agg sql.NullString
		if err := rows.Scan(&expr, &agg); err != nil {
			return nil, false, err
		}
		aggregated = aggregated || agg.Valid
		e, err := derive.Parse(expr)
		if err != nil {
			return nil, false, fmt.Errorf("derived measure %q: %w", name, err)
		}
		if inputs == nil {
			inputs = []string{}
		}
		for _, in := range e.Inputs() {
			if !slices.Contains(inputs, in.Name) {
				inputs = append(inputs, in.Name)
			}
		}
	}
	return inputs, aggregated, rows.Err()
}

// isDerivedRule reports whether a resolved rule watches a derived measure:
// its measure id then names an input, not the measure itself.
func isDerivedRule(ctx context.Context, tx *sql.Tx, r *dtbase.AlertRule) (bool, error) {
	var stored string
	err := tx.QueryRowContext(ctx, `SELECT name FROM sensor_measure WHERE id = $1`, r.MeasureID).Scan(&stored)
	return err == nil && stored != r.Measure, err
}

// writeDerivedRule records, after a rule is written, whether it watches a
// derived measure and which input measures feed it, and forgets the spans
// of its previous version (its replay states are dropped too, so the next
// span replays the series).
func writeDerivedRule(ctx context.Context, tx *sql.Tx, r *dtbase.AlertRule) error {
	for _, q := range []string{`DELETE FROM alert_rule_derived WHERE rule_id = $1`, `DELETE FROM alert_rule_input WHERE rule_id = $1`,
		`DELETE FROM alert_derived_span WHERE rule_id = $1`} {
		if _, err := tx.ExecContext(ctx, q, r.ID); err != nil {
			return err
		}
	}
	derived, err := isDerivedRule(ctx, tx, r)
	if err != nil || !derived {
		return err
	}
	inputs, _, err := derivedInputs(ctx, tx, r.Measure)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE alert_rule SET kind = $1 WHERE id = $2`, derivedKind, r.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_rule_derived (rule_id, name) VALUES ($1, $2)`, r.ID, r.Measure); err != nil {
		return err
	}
	return insertRuleInputs(ctx, tx, r.ID, inputs)
}

// insertRuleInputs records the measures called inputs as the inputs of
// rule ruleID.
func insertRuleInputs(ctx context.Context, tx *sql.Tx, ruleID int64, inputs []string) error {
	if len(inputs) == 0 {
		return nil
	}
	args := []any{ruleID}
	in := make([]string, len(inputs))
	for i, name := range inputs {
		args = append(args, name)
		in[i] = fmt.Sprintf("$%d", i+2)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_rule_input (rule_id, measure_id) SELECT $1, id FROM sensor_measure WHERE name IN (`+
		strings.Join(in, ", ")+`)`, args...)
	return err
}

// refreshDerivedRules gives the rules on the derived measure called name
// the inputs of its definitions as they are now, after a definition was
// added or deleted. Touching the rules bumps the rule version, so that
// every replica's ingest reloads which measures feed derived rules.
func refreshDerivedRules(ctx context.Context, tx *sql.Tx, name string) error {
	ids, err := queryAll(ctx, tx, "find rules on derived measure", scanColumn[int64], `SELECT rule_id FROM alert_rule_derived WHERE name = $1`, name)
	if err != nil || len(ids) == 0 {
		return err
	}
	inputs, _, err := derivedInputs(ctx, tx, name)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_rule_input WHERE rule_id = $1`, id); err != nil {
			return fmt.Errorf("refresh rule inputs: %w", err)
		}
		if err := insertRuleInputs(ctx, tx, id, inputs); err != nil {
			return fmt.Errorf("refresh rule inputs: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert_rule SET kind = kind WHERE id = $1`, id); err != nil {
			return fmt.Errorf("refresh rule inputs: %w", err)
		}
	}
	return nil
}

// markDerivedSpans records, in the inserting transaction, the spans of
// input readings just written for the enabled derived rules that target
// their sensors. Without such rules it is one indexed query.
func markDerivedSpans(ctx context.Context, tx *sql.Tx, touched []alertSpan) error {
	args := []any{true}
	var in []string
	seen := map[int64]bool{}
	for _, sp := range touched {
		if !seen[sp.measureID] {
			seen[sp.measureID] = true
			args = append(args, sp.measureID)
			in = append(in, fmt.Sprintf("$%d", len(args)))
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.id, r.sensor_id, r.type_id, r.location_id, i.measure_id FROM alert_rule_input i
		JOIN alert_rule r ON r.id = i.rule_id WHERE r.enabled = $1 AND i.measure_id IN (`+strings.Join(in, ", ")+`) ORDER BY r.id`, args...)
	if err != nil {
		return err
	}
	var rules []*ruleRow
	for rows.Next() {
		var r ruleRow
		var loc sql.NullInt64
		if err := rows.Scan(&r.ID, &r.sensorID, &r.typeID, &loc, &r.MeasureID); err != nil {
			rows.Close()
			return err
		}
		if loc.Valid {
			r.Target.LocationID = &loc.Int64
		}
		rules = append(rules, &r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(rules) == 0 {
		return err
	}
	type key struct{ rule, sensor int64 }
	spans := map[key][2]int64{}
	for i := range touched {
		sp := &touched[i]
		tgt := sensorTargets{sensorID: sp.sensorID}
		for _, r := range rules {
			if r.MeasureID != sp.measureID {
				continue
			}
			ok, err := tgt.matches(ctx, tx, r, sp)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			k := key{r.ID, sp.sensorID}
			if s, ok := spans[k]; ok {
				spans[k] = [2]int64{min(s[0], sp.from), max(s[1], sp.to)}
			} else {
				spans[k] = [2]int64{sp.from, sp.to}
			}
		}
	}
	if len(spans) == 0 {
		return nil
	}
	keys := make([]key, 0, len(spans))
	for k := range spans {
		keys = append(keys, k)
	}
	// In a fixed order, so concurrent writers lock the rows alike.
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.rule, b.rule), cmp.Compare(a.sensor, b.sensor)) })
	var values []string
	args = args[:0]
	for _, k := range keys {
		n := len(args)
		values = append(values, fmt.Sprintf("($%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4))
		args = append(args, k.rule, k.sensor, spans[k][0], spans[k][1])
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO alert_derived_span (rule_id, sensor_id, lo, hi) VALUES `+strings.Join(values, ", ")+`
		ON CONFLICT (rule_id, sensor_id) DO UPDATE SET
		lo = CASE WHEN excluded.lo < alert_derived_span.lo THEN excluded.lo ELSE alert_derived_span.lo END,
		hi = CASE WHEN excluded.hi > alert_derived_span.hi THEN excluded.hi ELSE alert_derived_span.hi END`, args...)
	return err
}

// primary is db reading everything from the primary: a decision must see
// the readings whose span it clears, which a lagging replica may not have.
func (db *DB) primary() *DB {
	if db.replica == nil {
		return db
	}
	p := *db
	p.replica = nil
	return &p
}

// evaluateDerivedAlerts decides the derived rules on the spans recorded
// since the last pass, each (rule, sensor) in its own transaction under
// its series lock. A rule whose derived measure was deleted waits for it
// to be defined again.
func (db *DB) evaluateDerivedAlerts(ctx context.Context) error {
	rules, err := queryRules(ctx, db.read, `WHERE r.enabled = $1 AND r.kind = $2`, true, derivedKind)
	if err != nil || len(rules) == 0 {
		return err
	}
	src := db.primary()
	for _, r := range rules {
		m, err := derive.Find(ctx, src, r.Measure)
		if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		var sensors []int64
		err = db.withReadTx(ctx, func(tx *sql.Tx) error {
			var err error
			sensors, err = queryAll(ctx, tx, "read derived rule sensors", scanColumn[int64],
				`SELECT sensor_id FROM alert_derived_span WHERE rule_id = $1 ORDER BY sensor_id`, r.ID)
			return err
		})
		if err != nil {
			return err
		}
		for _, sensorID := range sensors {
			if err := db.withTx(ctx, func(tx *sql.Tx) error { return db.evaluateDerivedSeries(ctx, tx, src, r, m, sensorID) }); err != nil {
				return fmt.Errorf("rule %q: %w", r.Name, err)
			}
		}
	}
	return nil
}

// evaluateDerivedSeries decides a derived rule on one sensor's span, as
// evaluateSeries does a stored rule's batch: a span after the last point
// decided steps the stored state over the new points; any other replays
// the series from the last quiet point before the span to the first quiet
// point after it.
func (db *DB) evaluateDerivedSeries(ctx context.Context, tx *sql.Tx, src *DB, r *ruleRow, m *derive.Measure, sensorID int64) error {
	states, err := db.lockSeries(ctx, tx, []*ruleRow{r}, sensorID)
	if err != nil {
		return err
	}
	st := states[r.ID]
	var lo, hi int64
	err = tx.QueryRowContext(ctx, `SELECT lo, hi FROM alert_derived_span WHERE rule_id = $1 AND sensor_id = $2`+db.forUpdate(), r.ID, sensorID).Scan(&lo, &hi)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // decided by another pass meanwhile
	}
	if err != nil {
		return err
	}
	var uid string
	if err := tx.QueryRowContext(ctx, `SELECT unique_identifier FROM sensor WHERE id = $1`, sensorID).Scan(&uid); err != nil {
		return err
	}
	series := func(from, to int64) ([]alert.Point, error) {
		var pts []alert.Point
		err := derive.Readings(ctx, src, m, uid, fromMicros(from), fromMicros(to), func(rd dtbase.Reading) error {
			pts = append(pts, alert.Point{T: rd.Time, V: rd.Value.F})
			return nil
		})
		if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			err = nil // the measure does not apply to the sensor (now)
		}
		return pts, err
	}
	c := r.Condition
	if st.ok && lo > st.lastTS {
		pts, err := series(st.lastTS+1, hi)
		if err != nil {
			return err
		}
		for _, ep := range st.Step(c, pts) {
			if err := db.applyStep(ctx, tx, r, sensorID, ep); err != nil {
				return err
			}
		}
		if len(pts) > 0 {
			st.lastTS, st.dirty = micros(pts[len(pts)-1].T), true
		}
	} else if err := db.replayDerived(ctx, tx, r, sensorID, st, lo, hi, series); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_derived_span WHERE rule_id = $1 AND sensor_id = $2`, r.ID, sensorID); err != nil {
		return err
	}
	return saveSeries(ctx, tx, sensorID, []*ruleRow{r}, states)
}

// replayDerived is evaluateSeries's replay over a derived series. The
// quiet points around the span may lie anywhere, so the series is computed
// over a window around the span that widens (a day each side, then four
// times as wide each time) until it holds both, or the whole series.
func (db *DB) replayDerived(ctx context.Context, tx *sql.Tx, r *ruleRow, sensorID int64, st *seriesState, lo, hi int64,
	series func(from, to int64) ([]alert.Point, error)) error {
	c := r.Condition
	var all []alert.Point
	var start, end int64
	for w := int64(24 * time.Hour / time.Microsecond); ; w *= 4 {
		from, to := max(lo-w, minMicros), min(hi+w, maxMicros)
		if !st.ok {
			to = maxMicros // the replay runs to the series' end
		}
		var err error
		if all, err = series(from, to); err != nil {
			return err
		}
		start, end = quietPointBefore(c, all, lo), int64(math.MaxInt64)
		if st.ok {
			end = quietPointAfter(c, all, hi)
		}
		if (start != math.MinInt64 || from == minMicros) && (end != math.MaxInt64 || to == maxMicros) {
			break
		}
	}
	i := sortSearchPoints(all, start)
	j := sortSearchPoints(all, end)
	if j < len(all) && micros(all[j].T) == end {
		j++
	}
	pts := all[i:j]
	var replay alert.State
	kept := map[int64]bool{}
	for _, ep := range replay.Step(c, pts) {
		id, err := db.recordEpisode(ctx, tx, r, sensorID, ep)
		if err != nil {
			return err
		}
		kept[id] = true
	}
	quiet := func(since int64) (int64, error) { return quietPointAfter(c, all, since), nil }
	if err := db.resolveOrphans(ctx, tx, r.ID, sensorID, start, end, kept, quiet); err != nil {
		return err
	}
	// The replay decided everything up to its last point: when that is the
	// end of the series or past what the stored state had seen, its state
	// is the new one.
	if len(pts) > 0 && (end == math.MaxInt64 || micros(pts[len(pts)-1].T) >= st.lastTS) {
		st.State, st.lastTS, st.ok, st.dirty = replay, micros(pts[len(pts)-1].T), true, true
	}
	return nil
}

// sortSearchPoints returns the index of the first point at or after us.
func sortSearchPoints(pts []alert.Point, us int64) int {
	i, _ := slices.BinarySearchFunc(pts, us, func(p alert.Point, us int64) int { return cmp.Compare(micros(p.T), us) })
	return i
}

// quietPointBefore is quietBefore over points in memory: the time of the
// last point before ts at which the rule is quiet (for a rate, the earlier
// point of the last clear pair), or math.MinInt64.
func quietPointBefore(c dtbase.AlertCondition, pts []alert.Point, ts int64) int64 {
	q := quietScan{c: c, backward: true}
	for i := sortSearchPoints(pts, ts) - 1; i >= 0; i-- {
		if t, ok := q.next(pts[i]); ok {
			return t
		}
	}
	return q.none()
}

// quietPointAfter is quietAfter over points in memory: the time of the
// first point after ts at which the rule is quiet, or math.MaxInt64.
func quietPointAfter(c dtbase.AlertCondition, pts []alert.Point, ts int64) int64 {
	q := quietScan{c: c}
	for _, p := range pts[sortSearchPoints(pts, ts+1):] {
		if t, ok := q.next(p); ok {
			return t
		}
	}
	return q.none()
}

// rulePoints reads a rule's series on one sensor in [from, to] for a
// preview: the stored readings, or the derived series computed.
func (db *DB) rulePoints(ctx context.Context, tx *sql.Tx, r *dtbase.AlertRule, sp *alertSpan, uid string, from, to time.Time) ([]alert.Point, error) {
	derived, err := isDerivedRule(ctx, tx, r)
	if err != nil {
		return nil, err
	}
	if !derived {
		return points(ctx, tx, sp, "ts >= $3 AND ts <= $4", false, 0, micros(from), micros(to))
	}
	m, err := derive.Find(ctx, db.primary(), r.Measure)
	if err != nil {
		return nil, err
	}
	var pts []alert.Point
	err = derive.Readings(ctx, db.primary(), m, uid, from, to, func(rd dtbase.Reading) error {
		pts = append(pts, alert.Point{T: rd.Time, V: rd.Value.F})
		return nil
	})
	if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
		err = nil
	}
	return pts, err
}

// replayDerivedRule is ReplayAlertRule for a rule on a derived measure:
// every sensor it targets is decided over its whole series. It reports
// false for a rule on a stored measure, which it leaves alone.
func (db *DB) replayDerivedRule(ctx context.Context, r *ruleRow) (bool, error) {
	var derived bool
	err := db.withReadTx(ctx, func(tx *sql.Tx) (err error) {
		derived, err = isDerivedRule(ctx, tx, &r.AlertRule)
		return err
	})
	if err != nil || !derived {
		return false, err
	}
	m, err := derive.Find(ctx, db.primary(), r.Measure)
	if err != nil {
		return true, err
	}
	sensors, _, err := db.ruleSensors(ctx, r, -1<<63, 1<<63-1)
	if err != nil {
		return true, err
	}
	for _, id := range sensors {
		err := db.withTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM alert_series WHERE rule_id = $1 AND sensor_id = $2`, r.ID, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_derived_span (rule_id, sensor_id, lo, hi) VALUES ($1, $2, $3, $4)
				ON CONFLICT (rule_id, sensor_id) DO UPDATE SET lo = excluded.lo, hi = excluded.hi`, r.ID, id, minMicros, maxMicros); err != nil {
				return err
			}
			return db.evaluateDerivedSeries(ctx, tx, db.primary(), r, m, id)
		})
		if err != nil {
			return true, fmt.Errorf("replay alert rule %q: %w", r.Name, err)
		}
	}
	return true, nil
}
