package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
)

// alertSpan is the time range of readings just written to one numeric
// series, with the batch written when it is at hand.
type alertSpan struct {
	sensorID, measureID int64
	datatype            dtbase.Datatype
	from, to            int64
	batch               *readingBatch // nil: read the series back
	vals                []float64     // the batch's values as numbers, made once
}

// values returns the batch's values as numbers.
func (sp *alertSpan) values() []float64 {
	if sp.vals == nil && sp.batch != nil {
		if sp.batch.f != nil {
			sp.vals = sp.batch.f
		} else {
			sp.vals = make([]float64, len(sp.batch.i))
			for i, v := range sp.batch.i {
				sp.vals[i] = float64(v)
			}
		}
	}
	return sp.vals
}

// alertSpans returns the numeric series the transaction wrote, in a fixed
// order (so that concurrent writers lock alert states in the same order);
// each is read back from the table, which holds the batch merged with what
// was stored before.
func (rt *readingTx) alertSpans() []alertSpan {
	var out []alertSpan
	for k, sp := range rt.touched {
		if sp.dt == dtbase.Float || sp.dt == dtbase.Integer {
			out = append(out, alertSpan{sensorID: k.sensor, measureID: k.measure, datatype: sp.dt, from: sp.lo, to: sp.hi})
		}
	}
	slices.SortFunc(out, func(a, b alertSpan) int {
		return cmp.Or(cmp.Compare(a.sensorID, b.sensorID), cmp.Compare(a.measureID, b.measureID))
	})
	return out
}

// evaluateAlerts decides the threshold and rate rules on the series just
// written, in the inserting transaction, so an alert and its readings
// commit together.
func (db *DB) evaluateAlerts(ctx context.Context, rt *readingTx, touched []alertSpan) error {
	if len(touched) == 0 {
		return nil
	}
	tx := rt.tx
	rules, err := evalRules(ctx, rt, touched)
	if err != nil || len(rules) == 0 {
		return wrapEval(err)
	}
	for i := range touched {
		sp := &touched[i]
		var tgt *sensorTargets
		var matched []*ruleRow
		for _, r := range rules {
			if r.MeasureID != sp.measureID {
				continue
			}
			if tgt == nil {
				if tgt, err = targetsOf(ctx, tx, sp.sensorID); err != nil {
					return wrapEval(err)
				}
			}
			if tgt.matches(r) {
				matched = append(matched, r)
			}
		}
		if len(matched) == 0 {
			continue
		}
		states, err := db.lockSeries(ctx, tx, matched, sp.sensorID)
		if err != nil {
			return wrapEval(err)
		}
		for _, r := range matched {
			if err := db.evaluateSeries(ctx, tx, r, sp, states[r.ID]); err != nil {
				return wrapEval(err)
			}
		}
		if err := saveSeries(ctx, tx, sp.sensorID, matched, states); err != nil {
			return wrapEval(err)
		}
	}
	return nil
}

// evalRules loads the enabled threshold and rate rules on the touched
// measures, with only what matching and deciding need; the names of the
// measure and rule are looked up when an alert is recorded.
func evalRules(ctx context.Context, tx readingQuerier, touched []alertSpan) ([]*ruleRow, error) {
	args := []any{true, dtbase.CondThreshold, dtbase.CondRate}
	var in []string
	seen := map[int64]bool{}
	for _, sp := range touched {
		if !seen[sp.measureID] {
			seen[sp.measureID] = true
			args = append(args, sp.measureID)
			in = append(in, fmt.Sprintf("$%d", len(args)))
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, sensor_id, type_id, location_id, measure_id, condition FROM alert_rule
		WHERE enabled = $1 AND kind IN ($2, $3) AND measure_id IN (`+strings.Join(in, ", ")+`) ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ruleRow
	for rows.Next() {
		var r ruleRow
		var loc sql.NullInt64
		var cond string
		if err := rows.Scan(&r.ID, &r.sensorID, &r.typeID, &loc, &r.MeasureID, &cond); err != nil {
			return nil, err
		}
		if loc.Valid {
			r.Target.LocationID = &loc.Int64
		}
		if err := parseCondition(cond, &r.Condition); err != nil {
			return nil, fmt.Errorf("rule %d: condition: %w", r.ID, err)
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}

// sensorTargets is what rules can target a sensor by.
type sensorTargets struct {
	sensorID, typeID int64
	locations        map[int64]bool
}

func targetsOf(ctx context.Context, tx *sql.Tx, sensorID int64) (*sensorTargets, error) {
	t := &sensorTargets{sensorID: sensorID, locations: map[int64]bool{}}
	if err := tx.QueryRowContext(ctx, `SELECT type_id FROM sensor WHERE id = $1`, sensorID).Scan(&t.typeID); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT location_id FROM sensor_location WHERE sensor_id = $1`, sensorID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		t.locations[id] = true
	}
	return t, rows.Err()
}

// matches reports whether a rule targets the sensor.
func (t *sensorTargets) matches(r *ruleRow) bool {
	switch {
	case r.sensorID.Valid:
		return r.sensorID.Int64 == t.sensorID
	case r.typeID.Valid:
		return r.typeID.Int64 == t.typeID
	case r.Target.LocationID != nil:
		return t.locations[*r.Target.LocationID]
	}
	return false
}

func wrapEval(err error) error {
	if err != nil {
		return fmt.Errorf("evaluate alerts: %w", err)
	}
	return nil
}

// seriesState is the stored replay state of a rule on a sensor: the
// state after the reading at lastTS; ok is false when none is stored.
type seriesState struct {
	alert.State
	lastTS int64
	ok     bool
	dirty  bool // to be saved
}

// lockSeries serialises the decisions on (rule, sensor) pairs across
// replicas and returns their stored states by rule id. On PostgreSQL the
// state rows are locked until commit, in rule order so that two
// transactions cannot deadlock on them; SQLite's one writer serialises
// the decisions already.
func (db *DB) lockSeries(ctx context.Context, tx *sql.Tx, rules []*ruleRow, sensorID int64) (map[int64]*seriesState, error) {
	ids := make([]any, 0, len(rules)+1)
	ids = append(ids, sensorID)
	in := make([]string, len(rules))
	values := make([]string, len(rules))
	for i, r := range rules {
		ids = append(ids, r.ID)
		in[i] = fmt.Sprintf("$%d", i+2)
		values[i] = fmt.Sprintf("($%d, $1)", i+2)
	}
	q := `SELECT rule_id, last_ts, pending, since, firing, prev_ts, prev_value FROM alert_series WHERE sensor_id = $1 AND rule_id IN (` +
		strings.Join(in, ", ") + `) ORDER BY rule_id` + db.forUpdate()
	out := make(map[int64]*seriesState, len(rules))
	read := func() error {
		rows, err := tx.QueryContext(ctx, q, ids...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var st seriesState
			var last, since, prevTS sql.NullInt64
			var prevV sql.NullFloat64
			if err := rows.Scan(&id, &last, &st.Pending, &since, &st.Firing, &prevTS, &prevV); err != nil {
				return err
			}
			st.ok, st.lastTS = last.Valid, last.Int64
			if since.Valid {
				st.Since = fromMicros(since.Int64)
			}
			if prevTS.Valid {
				st.HasPrev, st.Prev = true, alert.Point{T: fromMicros(prevTS.Int64), V: prevV.Float64}
			}
			out[id] = &st
		}
		return rows.Err()
	}
	if err := read(); err != nil {
		return nil, err
	}
	if len(out) < len(rules) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_series (rule_id, sensor_id) VALUES `+strings.Join(values, ", ")+` ON CONFLICT DO NOTHING`, ids...); err != nil {
			return nil, err
		}
		if err := read(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// saveSeries stores the states that changed, in one statement.
func saveSeries(ctx context.Context, tx *sql.Tx, sensorID int64, rules []*ruleRow, states map[int64]*seriesState) error {
	var rows []string
	var args []any
	for _, r := range rules {
		st := states[r.ID]
		if !st.dirty {
			continue
		}
		var since, prevTS, prevV any
		if st.Pending || st.Firing {
			since = micros(st.Since)
		}
		if st.HasPrev {
			prevTS, prevV = micros(st.Prev.T), st.Prev.V
		}
		n := len(args)
		rows = append(rows, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8))
		args = append(args, r.ID, sensorID, st.lastTS, st.Pending, since, st.Firing, prevTS, prevV)
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_series (rule_id, sensor_id, last_ts, pending, since, firing, prev_ts, prev_value) VALUES `+
		strings.Join(rows, ", ")+` ON CONFLICT (rule_id, sensor_id) DO UPDATE SET last_ts = excluded.last_ts, pending = excluded.pending,
		since = excluded.since, firing = excluded.firing, prev_ts = excluded.prev_ts, prev_value = excluded.prev_value`, args...)
	return err
}

// points reads a numeric series in time order between from and to
// inclusive; desc reverses it, and limit > 0 bounds it.
func points(ctx context.Context, tx *sql.Tx, sp *alertSpan, where string, desc bool, limit int, args ...any) ([]alert.Point, error) {
	q := fmt.Sprintf(`SELECT ts, value FROM %s WHERE sensor_id = $1 AND measure_id = $2 AND %s ORDER BY ts`, readingTable(sp.datatype), where)
	if desc {
		q += " DESC"
	}
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := tx.QueryContext(ctx, q, append([]any{sp.sensorID, sp.measureID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alert.Point
	for rows.Next() {
		var ts int64
		var v float64
		if err := rows.Scan(&ts, &v); err != nil {
			return nil, err
		}
		out = append(out, alert.Point{T: fromMicros(ts), V: v})
	}
	return out, rows.Err()
}

const scanPage = 256

// quietBefore returns the time of the last reading before ts at which the
// rule is known quiet (a clear value: nothing firing, no breach under
// way), or math.MinInt64 when there is none, scanning back a page at a
// time. For a rate it is the earlier reading of the clear pair.
func quietBefore(ctx context.Context, tx *sql.Tx, c dtbase.AlertCondition, sp *alertSpan, ts int64) (int64, error) {
	for {
		page, err := points(ctx, tx, sp, "ts < $3", true, scanPage, ts)
		if err != nil {
			return 0, err
		}
		for i, p := range page {
			if c.Kind == dtbase.CondRate {
				if i+1 < len(page) {
					if v, ok := alert.Slope(c, page[i+1], p); ok && alert.Clear(c, v) {
						return micros(page[i+1].T), nil
					}
				}
				continue
			}
			if alert.Clear(c, p.V) {
				return micros(p.T), nil
			}
		}
		if len(page) < scanPage {
			return -1 << 63, nil
		}
		// Overlap one point so a rate sees every pair.
		ts = micros(page[len(page)-1].T) + 1
		if c.Kind != dtbase.CondRate {
			ts--
		}
	}
}

// quietAfter returns the time of the first reading after ts at which the
// rule is quiet, or math.MaxInt64 when there is none.
func quietAfter(ctx context.Context, tx *sql.Tx, c dtbase.AlertCondition, sp *alertSpan, ts int64) (int64, error) {
	prev := []alert.Point(nil)
	for {
		page, err := points(ctx, tx, sp, "ts > $3", false, scanPage, ts)
		if err != nil {
			return 0, err
		}
		for _, p := range page {
			if c.Kind == dtbase.CondRate {
				if prev != nil {
					if v, ok := alert.Slope(c, prev[0], p); ok && alert.Clear(c, v) {
						return micros(p.T), nil
					}
				}
				prev = []alert.Point{p}
				continue
			}
			if alert.Clear(c, p.V) {
				return micros(p.T), nil
			}
		}
		if len(page) < scanPage {
			return 1<<63 - 1, nil
		}
		ts = micros(page[len(page)-1].T)
	}
}

// evaluateSeries decides a rule on the series just written. When the
// batch follows everything the rule has seen of the series, the stored
// replay state steps over the batch in memory. Otherwise (late or
// out-of-order readings, a new or edited rule) the rule is replayed over
// the stored series around the written range, from the last quiet reading
// before it to the first quiet reading after it, so the readings are
// judged with their neighbours. An alert is found again by the data time
// its breach began, so a replay that meets an episode again records
// nothing new.
func (db *DB) evaluateSeries(ctx context.Context, tx *sql.Tx, r *ruleRow, sp *alertSpan, st *seriesState) error {
	c := r.Condition
	if st.ok && sp.from > st.lastTS && sp.batch != nil {
		for _, ep := range st.StepMicros(c, sp.batch.ts, sp.values()) {
			if err := db.applyStep(ctx, tx, r, sp.sensorID, ep); err != nil {
				return err
			}
		}
		st.lastTS, st.dirty = sp.to, true
		return nil
	}
	start, err := quietBefore(ctx, tx, c, sp, sp.from)
	if err != nil {
		return err
	}
	end := int64(1<<63 - 1)
	if st.ok {
		if end, err = quietAfter(ctx, tx, c, sp, sp.to); err != nil {
			return err
		}
	}
	pts, err := points(ctx, tx, sp, "ts >= $3 AND ts <= $4", false, 0, start, end)
	if err != nil {
		return err
	}
	var replay alert.State
	kept := map[int64]bool{}
	for _, ep := range replay.Step(c, pts) {
		id, err := db.recordEpisode(ctx, tx, r, sp.sensorID, ep)
		if err != nil {
			return err
		}
		kept[id] = true
	}
	if err := db.resolveOrphans(ctx, tx, r, sp, start, end, kept); err != nil {
		return err
	}
	// A replay that ended at a quiet reading leaves the state after it as
	// it was; one that reached the end of the series is the new state.
	if end == 1<<63-1 && len(pts) > 0 {
		st.State, st.lastTS, st.ok, st.dirty = replay, micros(pts[len(pts)-1].T), true, true
	}
	return nil
}

// applyStep records what a resumed replay found: an episode that fired
// (and maybe resolved), or the resolution of the alert firing before.
func (db *DB) applyStep(ctx context.Context, tx *sql.Tx, r *ruleRow, sensorID int64, ep alert.Episode) error {
	if !ep.FiredAt.IsZero() {
		_, err := db.recordEpisode(ctx, tx, r, sensorID, ep)
		return err
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM alert WHERE rule_id = $1 AND sensor_id = $2 AND state <> $3 ORDER BY since DESC LIMIT 1`,
		r.ID, sensorID, dtbase.AlertResolved).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // resolved meanwhile by a replay
	}
	if err != nil {
		return err
	}
	return db.resolveAlert(ctx, tx, r.ID, id, *ep.ResolvedAt, db.Now())
}

// recordEpisode stores an episode: the alert with its fired event when it
// is new, and the resolved event when it resolved and was not yet. An
// alert whose breach began within the episode is the episode: a late
// reading that moves the start of a breach earlier does not fire again.
// It returns the alert's id.
func (db *DB) recordEpisode(ctx context.Context, tx *sql.Tx, r *ruleRow, sensorID int64, ep alert.Episode) (int64, error) {
	now := db.Now()
	end := int64(1<<63 - 1)
	if ep.ResolvedAt != nil {
		end = micros(*ep.ResolvedAt)
	}
	var id int64
	var state string
	err := tx.QueryRowContext(ctx, `SELECT id, state FROM alert WHERE rule_id = $1 AND sensor_id = $2 AND since >= $3 AND since <= $4 ORDER BY since LIMIT 1`,
		r.ID, sensorID, micros(ep.Since), end).Scan(&id, &state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if r.Measure == "" {
			if err := tx.QueryRowContext(ctx, `SELECT name FROM sensor_measure WHERE id = $1`, r.MeasureID).Scan(&r.Measure); err != nil {
				return 0, err
			}
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO alert (rule_id, sensor_id, since, fired_at, state, value, message) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			r.ID, sensorID, micros(ep.Since), micros(ep.FiredAt), dtbase.AlertFiring, ep.Value, message(r, ep.Value)).Scan(&id)
		if err != nil {
			return 0, err
		}
		state = dtbase.AlertFiring
		if err := db.recordEvent(ctx, tx, r.ID, id, dtbase.EventFired, now, ep.FiredAt, nil, nil); err != nil {
			return 0, err
		}
	case err != nil:
		return 0, err
	}
	if ep.ResolvedAt == nil || state == dtbase.AlertResolved {
		return id, nil
	}
	return id, db.resolveAlert(ctx, tx, r.ID, id, *ep.ResolvedAt, now)
}

// resolveOrphans resolves the alerts still open in the replayed range
// that no episode of the replay holds: a late clear reading cut their
// breach short of the condition's duration. Each resolves at the first
// quiet reading after its start.
func (db *DB) resolveOrphans(ctx context.Context, tx *sql.Tx, r *ruleRow, sp *alertSpan, start, end int64, kept map[int64]bool) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, since FROM alert WHERE rule_id = $1 AND sensor_id = $2 AND state <> $3 AND since >= $4 AND since <= $5`,
		r.ID, sp.sensorID, dtbase.AlertResolved, start, end)
	if err != nil {
		return err
	}
	type open struct{ id, since int64 }
	var orphans []open
	for rows.Next() {
		var o open
		if err := rows.Scan(&o.id, &o.since); err != nil {
			rows.Close()
			return err
		}
		if !kept[o.id] {
			orphans = append(orphans, o)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range orphans {
		at, err := quietAfter(ctx, tx, r.Condition, sp, o.since)
		if err != nil {
			return err
		}
		if at == 1<<63-1 {
			continue
		}
		if err := db.resolveAlert(ctx, tx, r.ID, o.id, fromMicros(at), db.Now()); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) resolveAlert(ctx context.Context, tx *sql.Tx, ruleID, id int64, at, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE alert SET state = $1, resolved_at = $2 WHERE id = $3`, dtbase.AlertResolved, micros(at), id); err != nil {
		return err
	}
	return db.recordEvent(ctx, tx, ruleID, id, dtbase.EventResolved, now, at, nil, nil)
}

// message describes what a rule saw, for notifications.
func message(r *ruleRow, v float64) string {
	c := r.Condition
	switch c.Kind {
	case dtbase.CondThreshold:
		switch c.Op {
		case dtbase.OpOutside:
			return fmt.Sprintf("%s outside %g..%g: %g", r.Measure, *c.Low, *c.High, v)
		default:
			return fmt.Sprintf("%s %s %g: %g", r.Measure, c.Op, *c.Value, v)
		}
	case dtbase.CondRate:
		return fmt.Sprintf("%s changing at %g per %s (limit %g)", r.Measure, v, c.Per(), *c.Value)
	case dtbase.CondStaleness:
		return fmt.Sprintf("no %s reading for over %s", r.Measure, c.MaxAge())
	}
	return r.Measure
}

// EvaluateScheduledAlerts decides the staleness and forecast rules at now; see
// dtbase.AlertStore. Each (rule, sensor) is decided in its own
// transaction under the series lock.
func (db *DB) EvaluateScheduledAlerts(ctx context.Context, now time.Time) (int, error) {
	rules, err := queryRules(ctx, db.read, `WHERE r.enabled = $1 AND r.kind IN ($2, $3)`, true, dtbase.CondStaleness, dtbase.CondForecast)
	if err != nil {
		return 0, fmt.Errorf("scheduled alerts: %w", err)
	}
	n := 0
	for _, r := range rules {
		sensors, datatype, err := db.ruleSensors(ctx, r)
		if err != nil {
			return n, fmt.Errorf("scheduled alerts: %w", err)
		}
		for _, sensorID := range sensors {
			err := db.withTx(ctx, func(tx *sql.Tx) error {
				if _, err := db.lockSeries(ctx, tx, []*ruleRow{r}, sensorID); err != nil {
					return err
				}
				if r.Condition.Kind == dtbase.CondForecast {
					k, err := db.evaluateForecast(ctx, tx, r, sensorID, now)
					n += k
					return err
				}
				var latest sql.NullInt64
				if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT max(ts) FROM %s WHERE sensor_id = $1 AND measure_id = $2`, readingTable(datatype)),
					sensorID, r.MeasureID).Scan(&latest); err != nil || !latest.Valid {
					return err
				}
				last := fromMicros(latest.Int64)
				var usual time.Duration
				if r.Condition.IntervalMultiple > 0 {
					rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT ts FROM %s WHERE sensor_id = $1 AND measure_id = $2 ORDER BY ts DESC LIMIT 21`, readingTable(datatype)),
						sensorID, r.MeasureID)
					if err != nil {
						return err
					}
					var ts []time.Time
					for rows.Next() {
						var us int64
						if err := rows.Scan(&us); err != nil {
							rows.Close()
							return err
						}
						ts = append(ts, fromMicros(us))
					}
					rows.Close()
					if err := rows.Err(); err != nil {
						return err
					}
					usual = alert.UsualInterval(ts)
				}
				// Resolve the alerts of earlier gaps: a reading came since.
				rows, err := tx.QueryContext(ctx, `SELECT id FROM alert WHERE rule_id = $1 AND sensor_id = $2 AND state <> $3 AND since < $4`,
					r.ID, sensorID, dtbase.AlertResolved, latest.Int64)
				if err != nil {
					return err
				}
				var open []int64
				for rows.Next() {
					var id int64
					if err := rows.Scan(&id); err != nil {
						rows.Close()
						return err
					}
					open = append(open, id)
				}
				rows.Close()
				for _, id := range open {
					if err := db.resolveAlert(ctx, tx, r.ID, id, last, now); err != nil {
						return err
					}
					n++
				}
				if !alert.Stale(r.Condition, last, now, usual) {
					return nil
				}
				ep := alert.Episode{Since: last, FiredAt: last.Add(alert.MaxAge(r.Condition, usual))}
				var exists int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM alert WHERE rule_id = $1 AND sensor_id = $2 AND since = $3`, r.ID, sensorID, latest.Int64).Scan(&exists); err != nil || exists > 0 {
					return err
				}
				var id int64
				if err := tx.QueryRowContext(ctx, `INSERT INTO alert (rule_id, sensor_id, since, fired_at, state, message) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
					r.ID, sensorID, latest.Int64, micros(ep.FiredAt), dtbase.AlertFiring,
					fmt.Sprintf("no %s reading for over %s", r.Measure, alert.MaxAge(r.Condition, usual))).Scan(&id); err != nil {
					return err
				}
				n++
				return db.recordEvent(ctx, tx, r.ID, id, dtbase.EventFired, now, ep.FiredAt, nil, nil)
			})
			if err != nil {
				return n, fmt.Errorf("scheduled alerts: rule %q: %w", r.Name, err)
			}
		}
	}
	return n, nil
}

// ruleSensors returns the sensors a rule targets and its measure's
// datatype.
func (db *DB) ruleSensors(ctx context.Context, r *ruleRow) ([]int64, dtbase.Datatype, error) {
	var ids []int64
	var datatype dtbase.Datatype
	err := db.withReadTx(ctx, func(tx *sql.Tx) (err error) {
		ids, datatype, err = ruleSensorsQ(ctx, tx, r)
		return err
	})
	return ids, datatype, err
}

func ruleSensorsQ(ctx context.Context, tx *sql.Tx, r *ruleRow) ([]int64, dtbase.Datatype, error) {
	var datatype string
	if err := tx.QueryRowContext(ctx, `SELECT datatype FROM sensor_measure WHERE id = $1`, r.MeasureID).Scan(&datatype); err != nil {
		return nil, "", err
	}
	var q string
	var arg int64
	switch {
	case r.sensorID.Valid:
		return []int64{r.sensorID.Int64}, dtbase.Datatype(datatype), nil
	case r.typeID.Valid:
		q, arg = `SELECT id FROM sensor WHERE type_id = $1 ORDER BY id`, r.typeID.Int64
	default:
		q, arg = `SELECT DISTINCT sensor_id FROM sensor_location WHERE location_id = $1 ORDER BY sensor_id`, *r.Target.LocationID
	}
	rows, err := tx.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, "", err
		}
		ids = append(ids, id)
	}
	return ids, dtbase.Datatype(datatype), rows.Err()
}

// ReplayAlertRule evaluates a threshold or rate rule over the whole stored
// series of each sensor it targets, as if the readings had arrived with
// the rule in place; the demo uses it so its rules have a history. Other
// kinds are left to the schedule. ENOTFOUND for an unknown rule.
func (db *DB) ReplayAlertRule(ctx context.Context, name string) error {
	rules, err := queryRules(ctx, db.read, `WHERE r.name = $1`, name)
	if err != nil {
		return fmt.Errorf("replay alert rule: %w", err)
	}
	if len(rules) == 0 {
		return dtbase.Errorf(dtbase.ENOTFOUND, "Alert rule does not exist.")
	}
	r := rules[0]
	if k := r.Condition.Kind; k != dtbase.CondThreshold && k != dtbase.CondRate {
		return nil
	}
	sensors, datatype, err := db.ruleSensors(ctx, r)
	if err != nil {
		return fmt.Errorf("replay alert rule: %w", err)
	}
	for _, id := range sensors {
		err := db.withTx(ctx, func(tx *sql.Tx) error {
			states, err := db.lockSeries(ctx, tx, []*ruleRow{r}, id)
			if err != nil {
				return err
			}
			st := states[r.ID]
			st.ok = false // replay everything
			sp := &alertSpan{sensorID: id, measureID: r.MeasureID, datatype: datatype, from: -1 << 63, to: 1<<63 - 1}
			if err := db.evaluateSeries(ctx, tx, r, sp, st); err != nil {
				return err
			}
			return saveSeries(ctx, tx, id, []*ruleRow{r}, states)
		})
		if err != nil {
			return fmt.Errorf("replay alert rule %q: %w", name, err)
		}
	}
	return nil
}
