package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
)

// alertSpan is the time range of readings just written to one numeric
// series.
type alertSpan struct {
	sensorID, measureID int64
	datatype            dtbase.Datatype
	from, to            int64
}

// span returns the range a batch covers; ok is false for a series no
// rule can watch (not a number).
func (rb *readingBatch) span() (alertSpan, bool) {
	if rb.len() == 0 || (rb.m.Datatype != dtbase.Float && rb.m.Datatype != dtbase.Integer) {
		return alertSpan{}, false
	}
	return alertSpan{rb.m.SensorID, rb.m.MeasureID, rb.m.Datatype, rb.ts[0], rb.ts[len(rb.ts)-1]}, true
}

// spansOf returns the numeric spans of batches.
func spansOf(batches []*readingBatch) []alertSpan {
	var out []alertSpan
	for _, rb := range batches {
		if s, ok := rb.span(); ok {
			out = append(out, s)
		}
	}
	return out
}

// evaluateAlerts decides the threshold and rate rules on the series just
// written, in the inserting transaction, so an alert and its readings
// commit together.
func (db *DB) evaluateAlerts(ctx context.Context, tx *sql.Tx, touched []alertSpan) error {
	if len(touched) == 0 {
		return nil
	}
	rules, err := queryRules(ctx, tx, `WHERE r.enabled = $1 AND r.kind IN ($2, $3)`, true, dtbase.CondThreshold, dtbase.CondRate)
	if err != nil || len(rules) == 0 {
		return wrapEval(err)
	}
	for _, sp := range touched {
		for _, r := range rules {
			if r.MeasureID != sp.measureID {
				continue
			}
			ok, err := ruleMatches(ctx, tx, r, sp.sensorID)
			if err != nil {
				return wrapEval(err)
			}
			if !ok {
				continue
			}
			if err := db.evaluateSeries(ctx, tx, r, sp); err != nil {
				return wrapEval(err)
			}
		}
	}
	return nil
}

func wrapEval(err error) error {
	if err != nil {
		return fmt.Errorf("evaluate alerts: %w", err)
	}
	return nil
}

// ruleMatches reports whether a rule targets a sensor.
func ruleMatches(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, r *ruleRow, sensorID int64) (bool, error) {
	var n int
	switch {
	case r.sensorID.Valid:
		return r.sensorID.Int64 == sensorID, nil
	case r.typeID.Valid:
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM sensor WHERE id = $1 AND type_id = $2`, sensorID, r.typeID.Int64).Scan(&n)
		return n > 0, err
	case r.Target.LocationID != nil:
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM sensor_location WHERE sensor_id = $1 AND location_id = $2`, sensorID, *r.Target.LocationID).Scan(&n)
		return n > 0, err
	}
	return false, nil
}

// lockSeries serialises the decisions on one (rule, sensor) across
// replicas: on PostgreSQL the state row is locked until commit.
func (db *DB) lockSeries(ctx context.Context, tx *sql.Tx, ruleID, sensorID int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_series (rule_id, sensor_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, ruleID, sensorID); err != nil {
		return err
	}
	if db.Dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT 1 FROM alert_series WHERE rule_id = $1 AND sensor_id = $2 FOR UPDATE`, ruleID, sensorID)
	return err
}

// points reads a numeric series in time order between from and to
// inclusive; desc reverses it, and limit > 0 bounds it.
func points(ctx context.Context, tx *sql.Tx, sp alertSpan, where string, desc bool, limit int, args ...any) ([]alert.Point, error) {
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
func quietBefore(ctx context.Context, tx *sql.Tx, c dtbase.AlertCondition, sp alertSpan, ts int64) (int64, error) {
	for {
		page, err := points(ctx, tx, sp, "ts < $3", true, scanPage, ts)
		if err != nil {
			return 0, err
		}
		for i, p := range page {
			if c.Kind == dtbase.CondRate {
				if i+1 < len(page) {
					d := alert.Derive(c, []alert.Point{page[i+1], p})
					if len(d) == 1 && alert.Clear(c, d[0].V) {
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
func quietAfter(ctx context.Context, tx *sql.Tx, c dtbase.AlertCondition, sp alertSpan, ts int64) (int64, error) {
	prev := []alert.Point(nil)
	for {
		page, err := points(ctx, tx, sp, "ts > $3", false, scanPage, ts)
		if err != nil {
			return 0, err
		}
		for _, p := range page {
			if c.Kind == dtbase.CondRate {
				if prev != nil {
					d := alert.Derive(c, []alert.Point{prev[0], p})
					if len(d) == 1 && alert.Clear(c, d[0].V) {
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

// evaluateSeries replays a rule over the stored series around the written
// range, from the last quiet reading before it to the first quiet reading
// after it, so late and out-of-order readings are judged with their
// neighbours. Alerts are keyed by the data time their breach began, so a
// replay that finds an episode again records nothing new.
func (db *DB) evaluateSeries(ctx context.Context, tx *sql.Tx, r *ruleRow, sp alertSpan) error {
	if err := db.lockSeries(ctx, tx, r.ID, sp.sensorID); err != nil {
		return err
	}
	c := r.Condition
	start, err := quietBefore(ctx, tx, c, sp, sp.from)
	if err != nil {
		return err
	}
	end, err := quietAfter(ctx, tx, c, sp, sp.to)
	if err != nil {
		return err
	}
	pts, err := points(ctx, tx, sp, "ts >= $3 AND ts <= $4", false, 0, start, end)
	if err != nil {
		return err
	}
	kept := map[int64]bool{}
	for _, ep := range alert.Episodes(c, alert.Derive(c, pts)) {
		id, err := db.recordEpisode(ctx, tx, r, sp.sensorID, ep)
		if err != nil {
			return err
		}
		kept[id] = true
	}
	return db.resolveOrphans(ctx, tx, r, sp, start, end, kept)
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
func (db *DB) resolveOrphans(ctx context.Context, tx *sql.Tx, r *ruleRow, sp alertSpan, start, end int64, kept map[int64]bool) error {
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
				if err := db.lockSeries(ctx, tx, r.ID, sensorID); err != nil {
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
				if !alert.Stale(r.Condition, last, now) {
					return nil
				}
				ep := alert.Episode{Since: last, FiredAt: last.Add(r.Condition.MaxAge())}
				var exists int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM alert WHERE rule_id = $1 AND sensor_id = $2 AND since = $3`, r.ID, sensorID, latest.Int64).Scan(&exists); err != nil || exists > 0 {
					return err
				}
				var id int64
				if err := tx.QueryRowContext(ctx, `INSERT INTO alert (rule_id, sensor_id, since, fired_at, state, message) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
					r.ID, sensorID, latest.Int64, micros(ep.FiredAt), dtbase.AlertFiring, message(r, 0)).Scan(&id); err != nil {
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
