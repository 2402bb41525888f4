package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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
	ts                  []int64       // the written range's readings, made once
	vals                []float64
	sum                 *alert.Summary // of ts and vals, made once
	// The stored points last read between readFrom and readTo, which the
	// rules replaying the same span mostly share.
	read             []alert.Point
	readFrom, readTo int64
}

// between returns the stored points from start to end inclusive, reading
// them only when the last read does not cover them.
func (sp *alertSpan) between(ctx context.Context, tx *sql.Tx, start, end int64) ([]alert.Point, error) {
	if sp.read == nil || start < sp.readFrom || end > sp.readTo {
		pts, err := points(ctx, tx, sp, "ts >= $3 AND ts <= $4", false, 0, start, end)
		if err != nil {
			return nil, err
		}
		sp.read, sp.readFrom, sp.readTo = pts, start, end
	}
	i := sort.Search(len(sp.read), func(k int) bool { return micros(sp.read[k].T) >= start })
	j := sort.Search(len(sp.read), func(k int) bool { return micros(sp.read[k].T) > end })
	return sp.read[i:j], nil
}

// written returns the stored readings of the written range: the batch's
// when it is at hand, else read back; made once for all the rules.
func (sp *alertSpan) written(ctx context.Context, tx *sql.Tx) ([]int64, []float64, error) {
	if sp.vals != nil {
		return sp.ts, sp.vals, nil
	}
	if b := sp.batch; b != nil {
		sp.ts, sp.vals = b.ts, b.f
		if b.f == nil {
			sp.vals = make([]float64, len(b.i))
			for i, v := range b.i {
				sp.vals[i] = float64(v)
			}
		}
		return sp.ts, sp.vals, nil
	}
	pts, err := sp.between(ctx, tx, sp.from, sp.to)
	if err != nil {
		return nil, nil, err
	}
	sp.ts, sp.vals = make([]int64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		sp.ts[i], sp.vals[i] = micros(p.T), p.V
	}
	return sp.ts, sp.vals, nil
}

// alertSpans returns the numeric series the transaction wrote, in a fixed
// order (so that concurrent writers lock alert states in the same order).
// A series written by one batch whose rows were all new keeps the batch:
// the rows it added to the table are exactly the batch's.
func (rt *readingTx) alertSpans() []alertSpan {
	var out []alertSpan
	for k, sp := range rt.touched {
		if sp.dt != dtbase.Float && sp.dt != dtbase.Integer {
			continue
		}
		a := alertSpan{sensorID: k.sensor, measureID: k.measure, datatype: sp.dt, from: sp.lo, to: sp.hi}
		if b := sp.batch; b != nil && sp.batches == 1 && sp.inserted == int64(b.len()) && sp.distinct == int64(b.len()) {
			a.batch = b
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b alertSpan) int {
		return cmp.Or(cmp.Compare(a.sensorID, b.sensorID), cmp.Compare(a.measureID, b.measureID))
	})
	return out
}

// alertBatch returns rb when the rules last loaded watch its measure, for
// the write path to keep until the alerts are decided; nil otherwise, so
// that ingest without rules holds no batch longer than it did. A stale
// answer costs only speed: a span without its batch is read back.
func (db *DB) alertBatch(rb *readingBatch) *readingBatch {
	if rb.m.Datatype != dtbase.Float && rb.m.Datatype != dtbase.Integer {
		return nil
	}
	if rs := db.alertRules.last.Load(); rs != nil && len(rs.byMeasure[rb.m.MeasureID]) > 0 {
		return rb
	}
	return nil
}

// evaluateAlerts decides the threshold and rate rules on the series just
// written, in the inserting transaction, so an alert and its readings
// commit together.
func (db *DB) evaluateAlerts(ctx context.Context, rt *readingTx, touched []alertSpan) error {
	if len(touched) == 0 {
		return nil
	}
	tx := rt.tx
	rules, err := db.alertRules.get(ctx, rt)
	if err != nil {
		return wrapEval(err)
	}
	if slices.ContainsFunc(touched, func(sp alertSpan) bool { return rules.derivedInputs[sp.measureID] }) {
		if err := markDerivedSpans(ctx, tx, touched); err != nil {
			return wrapEval(err)
		}
	}
	for i := range touched {
		sp := &touched[i]
		onMeasure := rules.byMeasure[sp.measureID]
		if len(onMeasure) == 0 {
			continue
		}
		tgt := sensorTargets{sensorID: sp.sensorID}
		var matched []*ruleRow
		for _, r := range onMeasure {
			ok, err := tgt.matches(ctx, rt, r, sp)
			if err != nil {
				return wrapEval(err)
			}
			if ok {
				matched = append(matched, r)
			}
		}
		if len(matched) == 0 {
			continue
		}
		states, err := db.lockSeries(ctx, rt, matched, sp.sensorID)
		if err != nil {
			return wrapEval(err)
		}
		for _, r := range matched {
			if err := db.evaluateSeries(ctx, tx, r, sp, states[r.ID]); err != nil {
				return wrapEval(err)
			}
		}
		if err := saveSeries(ctx, rt, sp.sensorID, matched, states); err != nil {
			return wrapEval(err)
		}
	}
	return nil
}

// ruleSet is the enabled threshold and rate rules by measure, as of one
// version of the rules. It is shared and never changed once loaded.
type ruleSet struct {
	version   int64
	byMeasure map[int64][]*ruleRow
	// derivedInputs are the measures enabled rules on derived measures
	// read, whose writes markDerivedSpans records.
	derivedInputs map[int64]bool
}

// ruleCache keeps the rules ingest evaluates, reloaded when the version
// the database keeps (bumped by a trigger on every change of a rule, on
// any replica) moved: one one-row read per transaction instead of loading
// and parsing every rule.
type ruleCache struct {
	mu   sync.Mutex // one reload at a time
	last atomic.Pointer[ruleSet]
}

func (c *ruleCache) get(ctx context.Context, tx queryer) (*ruleSet, error) {
	var v int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM alert_rule_version WHERE id = 1`).Scan(&v); err != nil {
		return nil, err
	}
	if rs := c.last.Load(); rs != nil && rs.version == v {
		return rs, nil
	}
	rules, err := queryRules(ctx, tx, `WHERE r.enabled = $1 AND r.kind IN ($2, $3)`, true, dtbase.CondThreshold, dtbase.CondRate)
	if err != nil {
		return nil, err
	}
	rs := &ruleSet{version: v, byMeasure: map[int64][]*ruleRow{}, derivedInputs: map[int64]bool{}}
	for _, r := range rules {
		rs.byMeasure[r.MeasureID] = append(rs.byMeasure[r.MeasureID], r)
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT i.measure_id FROM alert_rule_input i
		JOIN alert_rule r ON r.id = i.rule_id WHERE r.enabled = $1`, true)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		rs.derivedInputs[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Of two transactions reloading at once, the newer version stays.
	if old := c.last.Load(); old == nil || old.version <= v {
		c.last.Store(rs)
	}
	return rs, nil
}

// sensorTargets is what rules can target a sensor by, looked up once per
// span and only when a rule needs it.
type sensorTargets struct {
	sensorID  int64
	typeID    int64 // 0: not looked up
	locations map[int64]bool
}

// matches reports whether a rule targets the sensor for readings in the
// span. A location rule covers the sensors placed in the location or any
// location under it when the readings were taken: placed there at the
// start of the span or moved there within it.
func (t *sensorTargets) matches(ctx context.Context, tx queryer, r *ruleRow, sp *alertSpan) (bool, error) {
	switch {
	case r.sensorID.Valid:
		return r.sensorID.Int64 == t.sensorID, nil
	case r.typeID.Valid:
		if t.typeID == 0 {
			if err := tx.QueryRowContext(ctx, `SELECT type_id FROM sensor WHERE id = $1`, t.sensorID).Scan(&t.typeID); err != nil {
				return false, err
			}
		}
		return r.typeID.Int64 == t.typeID, nil
	case r.Target.LocationID != nil:
		if t.locations == nil {
			var err error
			if t.locations, err = placedUnder(ctx, tx, t.sensorID, sp.from, sp.to); err != nil {
				return false, err
			}
		}
		return t.locations[*r.Target.LocationID], nil
	}
	return false, nil
}

// placedUnder returns the locations a sensor was under between from and
// to: those it was placed in (its placement at from and any installed
// until to) and every location above them.
func placedUnder(ctx context.Context, tx queryer, sensorID, from, to int64) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, `WITH RECURSIVE up(id) AS (
		SELECT sl.location_id FROM sensor_location sl WHERE sl.sensor_id = $1 AND sl.installation_datetime <= $3
			AND sl.installation_datetime >= COALESCE((SELECT max(x.installation_datetime) FROM sensor_location x
				WHERE x.sensor_id = $1 AND x.installation_datetime <= $2), $4)
		UNION SELECT p.parent_id FROM location_parent p JOIN up ON p.location_id = up.id)
		SELECT id FROM up`, sensorID, from, to, int64(-1<<63))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
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
func (db *DB) lockSeries(ctx context.Context, tx execQueryer, rules []*ruleRow, sensorID int64) (map[int64]*seriesState, error) {
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
func saveSeries(ctx context.Context, tx execQueryer, sensorID int64, rules []*ruleRow, states map[int64]*seriesState) error {
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
	return queryAll(ctx, tx, "read alert series", scanPoint, q, append([]any{sp.sensorID, sp.measureID}, args...)...)
}

// scanPoint scans a row of a time in microseconds and a float value into
// p, for queryAll.
func scanPoint(rows *sql.Rows, p *alert.Point) error {
	var ts int64
	err := rows.Scan(&ts, &p.V)
	p.T = fromMicros(ts)
	return err
}

const scanPage = 256

// quietScan finds where a rule is quiet, fed a series' points in scan
// order: back in time from before a reading, or on from after one.
type quietScan struct {
	c        dtbase.AlertCondition
	backward bool
	prev     alert.Point // the point fed before, for a rate
	started  bool        // whether prev is set
}

// next takes the next point and reports whether the rule is quiet there:
// at a clear value or, for a rate, at the clear pair of p and the point
// before it in scan order (p is the earlier of the two going back and the
// later going on, and its time is the answer either way).
func (q *quietScan) next(p alert.Point) (int64, bool) {
	if q.c.Kind != dtbase.CondRate {
		return micros(p.T), alert.Clear(q.c, p.V)
	}
	prev, started := q.prev, q.started
	q.prev, q.started = p, true
	if !started {
		return 0, false
	}
	first, second := prev, p
	if q.backward {
		first, second = p, prev
	}
	v, ok := alert.Slope(q.c, first, second)
	return micros(p.T), ok && alert.Clear(q.c, v)
}

// none is the answer when the rule is quiet nowhere in the scan:
// math.MinInt64 going back, math.MaxInt64 going on.
func (q *quietScan) none() int64 {
	if q.backward {
		return -1 << 63
	}
	return 1<<63 - 1
}

// quietBefore returns the time of the last reading before ts at which the
// rule is known quiet (a clear value: nothing firing, no breach under
// way), or math.MinInt64 when there is none, scanning back a page at a
// time. For a rate it is the earlier reading of the clear pair.
func quietBefore(ctx context.Context, tx *sql.Tx, c dtbase.AlertCondition, sp *alertSpan, ts int64) (int64, error) {
	return quietStored(ctx, tx, &quietScan{c: c, backward: true}, sp, ts)
}

// quietAfter returns the time of the first reading after ts at which the
// rule is quiet, or math.MaxInt64 when there is none.
func quietAfter(ctx context.Context, tx *sql.Tx, c dtbase.AlertCondition, sp *alertSpan, ts int64) (int64, error) {
	return quietStored(ctx, tx, &quietScan{c: c}, sp, ts)
}

// quietStored runs q over the stored series from ts on, a page at a time.
func quietStored(ctx context.Context, tx *sql.Tx, q *quietScan, sp *alertSpan, ts int64) (int64, error) {
	where := "ts > $3"
	if q.backward {
		where = "ts < $3"
	}
	for {
		page, err := points(ctx, tx, sp, where, q.backward, scanPage, ts)
		if err != nil {
			return 0, err
		}
		for _, p := range page {
			if t, ok := q.next(p); ok {
				return t, nil
			}
		}
		if len(page) < scanPage {
			return q.none(), nil
		}
		ts = micros(page[len(page)-1].T)
	}
}

// evaluateSeries decides a rule on the series just written. When the
// written range follows everything the rule has seen of the series, the
// stored replay state steps over it: over the batch in memory when the
// batch is what the range holds, else over the range read back (readings
// stored while the rule was disabled are not judged either way).
// Otherwise (late or
// out-of-order readings, a new or edited rule) the rule is replayed over
// the stored series around the written range, from the last quiet reading
// before it to the first quiet reading after it, so the readings are
// judged with their neighbours. An alert is found again by the data time
// its breach began, so a replay that meets an episode again records
// nothing new.
func (db *DB) evaluateSeries(ctx context.Context, tx *sql.Tx, r *ruleRow, sp *alertSpan, st *seriesState) error {
	c := r.Condition
	if st.ok && sp.from > st.lastTS {
		ts, vs, err := sp.written(ctx, tx)
		if err != nil {
			return err
		}
		// Most batches leave a quiet rule quiet: decided from the
		// batch's summary, without a pass per rule.
		if sp.sum == nil {
			sum := alert.Summarize(ts, vs)
			sp.sum = &sum
		}
		if !st.StepQuiet(c, sp.sum) {
			for _, ep := range st.StepMicros(c, ts, vs) {
				if err := db.applyStep(ctx, tx, r, sp.sensorID, ep); err != nil {
					return err
				}
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
	pts, err := sp.between(ctx, tx, start, end)
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
	quiet := func(since int64) (int64, error) { return quietAfter(ctx, tx, r.Condition, sp, since) }
	if err := db.resolveOrphans(ctx, tx, r.ID, sp.sensorID, start, end, kept, quiet); err != nil {
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

// resolveOrphans resolves the alerts of one rule and sensor still open in
// the replayed range that no episode of the replay holds: a late clear
// reading cut their breach short of the condition's duration. Each resolves
// at the first quiet reading after its start, which quiet finds (1<<63-1
// when there is none yet, and the alert stays open).
func (db *DB) resolveOrphans(ctx context.Context, tx *sql.Tx, ruleID, sensorID, start, end int64, kept map[int64]bool, quiet func(since int64) (int64, error)) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, since FROM alert WHERE rule_id = $1 AND sensor_id = $2 AND state <> $3 AND since >= $4 AND since <= $5`,
		ruleID, sensorID, dtbase.AlertResolved, start, end)
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
		at, err := quiet(o.since)
		if err != nil {
			return err
		}
		if at == 1<<63-1 {
			continue
		}
		if err := db.resolveAlert(ctx, tx, ruleID, o.id, fromMicros(at), db.Now()); err != nil {
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
		return fmt.Sprintf("%s %g, %s", r.Measure, v, threshold(c))
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
		sensors, datatype, err := db.ruleSensors(ctx, r, micros(now), micros(now))
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
					ts, err := queryAll(ctx, tx, "read latest times", scanMicros,
						fmt.Sprintf(`SELECT ts FROM %s WHERE sensor_id = $1 AND measure_id = $2 ORDER BY ts DESC LIMIT 21`, readingTable(datatype)),
						sensorID, r.MeasureID)
					if err != nil {
						return err
					}
					usual = alert.UsualInterval(ts)
				}
				// Resolve the alerts of earlier gaps: a reading came since.
				open, err := queryAll(ctx, tx, "read open gap alerts", scanColumn[int64],
					`SELECT id FROM alert WHERE rule_id = $1 AND sensor_id = $2 AND state <> $3 AND since < $4`,
					r.ID, sensorID, dtbase.AlertResolved, latest.Int64)
				if err != nil {
					return err
				}
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
	if err := db.evaluateDerivedAlerts(ctx); err != nil {
		return n, fmt.Errorf("scheduled alerts: %w", err)
	}
	return n, nil
}

// ruleSensors returns the sensors a rule targets between from and to
// (µs) and its measure's datatype.
func (db *DB) ruleSensors(ctx context.Context, r *ruleRow, from, to int64) ([]int64, dtbase.Datatype, error) {
	var ids []int64
	var datatype dtbase.Datatype
	err := db.withReadTx(ctx, func(tx *sql.Tx) (err error) {
		ids, datatype, err = ruleSensorsQ(ctx, tx, r, from, to)
		return err
	})
	return ids, datatype, err
}

// ruleSensorsQ is ruleSensors in tx. A location rule targets the sensors
// placed in the location or under it at some time between from and to:
// placed there at from, or installed there until to.
func ruleSensorsQ(ctx context.Context, tx *sql.Tx, r *ruleRow, from, to int64) ([]int64, dtbase.Datatype, error) {
	var datatype string
	if err := tx.QueryRowContext(ctx, `SELECT datatype FROM sensor_measure WHERE id = $1`, r.MeasureID).Scan(&datatype); err != nil {
		return nil, "", err
	}
	var q string
	var args []any
	switch {
	case r.sensorID.Valid:
		return []int64{r.sensorID.Int64}, dtbase.Datatype(datatype), nil
	case r.typeID.Valid:
		q, args = `SELECT id FROM sensor WHERE type_id = $1 ORDER BY id`, []any{r.typeID.Int64}
	default:
		q = subtreeCTE + ` SELECT DISTINCT sl.sensor_id FROM sensor_location sl WHERE sl.location_id IN (SELECT id FROM sub)
			AND sl.installation_datetime <= $3 AND sl.installation_datetime >= COALESCE((SELECT max(x.installation_datetime)
				FROM sensor_location x WHERE x.sensor_id = sl.sensor_id AND x.installation_datetime <= $2), $4) ORDER BY sl.sensor_id`
		args = []any{*r.Target.LocationID, from, to, int64(-1 << 63)}
	}
	ids, err := queryAll(ctx, tx, "read rule sensors", scanColumn[int64], q, args...)
	return ids, dtbase.Datatype(datatype), err
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
	if done, err := db.replayDerivedRule(ctx, r); done || err != nil {
		return err
	}
	sensors, datatype, err := db.ruleSensors(ctx, r, -1<<63, 1<<63-1)
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
