package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dtbase/dtbase"
)

// CreateAlertChannel adds a channel; see dtbase.AlertStore.
func (db *DB) CreateAlertChannel(ctx context.Context, c *dtbase.AlertChannel) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.Created = db.Now()
	return db.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO alert_channel (name, kind, url, smtp_host, smtp_port, smtp_security, smtp_user, mail_from, recipients, secret_sealed, time_created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			c.Name, c.Kind, nullString(c.URL), nullString(c.SMTPHost), c.SMTPPort, nullString(c.SMTPSecurity), nullString(c.SMTPUser),
			nullString(c.From), nullString(strings.Join(c.Recipients, ",")), c.Secret, micros(c.Created)).Scan(&c.ID)
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "Alert channel already exists."), "create alert channel")
	})
}

const channelSelect = `SELECT c.id, c.name, c.kind, coalesce(c.url, ''), coalesce(c.smtp_host, ''), coalesce(c.smtp_port, 0), coalesce(c.smtp_security, ''),
 coalesce(c.smtp_user, ''), coalesce(c.mail_from, ''), coalesce(c.recipients, ''), c.secret_sealed, c.time_created FROM alert_channel c`

func scanChannel(row scanner) (dtbase.AlertChannel, error) {
	var c dtbase.AlertChannel
	var recipients string
	var created int64
	err := row.Scan(&c.ID, &c.Name, &c.Kind, &c.URL, &c.SMTPHost, &c.SMTPPort, &c.SMTPSecurity, &c.SMTPUser, &c.From, &recipients, &c.Secret, &created)
	if recipients != "" {
		c.Recipients = strings.Split(recipients, ",")
	}
	c.Created = fromMicros(created)
	return c, err
}

// ListAlertChannels returns the channels, without secrets.
func (db *DB) ListAlertChannels(ctx context.Context) ([]dtbase.AlertChannel, error) {
	return queryAll(ctx, db.read, "list alert channels", func(rows *sql.Rows, c *dtbase.AlertChannel) (err error) {
		*c, err = scanChannel(rows)
		c.Secret = nil
		return err
	}, channelSelect+` ORDER BY c.id`)
}

// FindAlertChannel returns a channel with its sealed secret; see
// dtbase.AlertStore.
func (db *DB) FindAlertChannel(ctx context.Context, name string) (dtbase.AlertChannel, error) {
	c, err := scanChannel(db.read.QueryRowContext(ctx, channelSelect+` WHERE c.name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return c, dtbase.Errorf(dtbase.ENOTFOUND, "Alert channel does not exist.")
	}
	if err != nil {
		return c, fmt.Errorf("find alert channel: %w", err)
	}
	return c, nil
}

// DeleteAlertChannel removes a channel that no rule uses.
func (db *DB) DeleteAlertChannel(ctx context.Context, name string) error {
	err := db.execOne(ctx, "delete alert channel", "Alert channel does not exist.", `DELETE FROM alert_channel WHERE name = $1`, name)
	if isForeignKeyViolation(err) {
		return dtbase.Errorf(dtbase.ECONFLICT, "Alert channel is used by a rule.")
	}
	return err
}

// resolveRule finds the ids a rule names; EUNPROCESSABLE naming the field
// of an unknown sensor, type, location, measure or channel.
func resolveRule(ctx context.Context, tx *sql.Tx, r *dtbase.AlertRule) (sensorID, typeID, locationID *int64, channels []int64, err error) {
	var id int64
	switch {
	case r.Target.Sensor != nil:
		var tid int64
		err = tx.QueryRowContext(ctx, `SELECT id, type_id FROM sensor WHERE unique_identifier = $1`, *r.Target.Sensor).Scan(&id, &tid)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, nil, nil, dtbase.FieldErr("target.sensor", fmt.Sprintf("Sensor %q does not exist", *r.Target.Sensor))
		}
		sensorID, typeID = &id, &tid
	case r.Target.SensorType != nil:
		err = tx.QueryRowContext(ctx, `SELECT id FROM sensor_type WHERE name = $1`, *r.Target.SensorType).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, nil, nil, dtbase.FieldErr("target.sensor_type", fmt.Sprintf("Sensor type %q does not exist", *r.Target.SensorType))
		}
		typeID = &id
	default:
		err = tx.QueryRowContext(ctx, `SELECT id FROM location WHERE id = $1`, *r.Target.LocationID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, nil, nil, dtbase.FieldErr("target.location_id", fmt.Sprintf("Location %d does not exist", *r.Target.LocationID))
		}
		locationID = &id
	}
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// The measure must be numeric and, for a sensor or a type, one of the
	// type's measures.
	q := `SELECT m.id, m.datatype FROM sensor_measure m WHERE m.name = $1`
	args := []any{r.Measure}
	if typeID != nil {
		q = `SELECT m.id, m.datatype FROM sensor_measure m JOIN sensor_type_measure tm ON tm.measure_id = m.id WHERE m.name = $1 AND tm.type_id = $2`
		args = append(args, *typeID)
	}
	var datatype string
	err = tx.QueryRowContext(ctx, q+` ORDER BY m.id LIMIT 1`, args...).Scan(&r.MeasureID, &datatype)
	if errors.Is(err, sql.ErrNoRows) {
		datatype = string(dtbase.Float)
		r.MeasureID, err = derivedRuleMeasure(ctx, tx, r, typeID) // alert_derived.go
	}
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if r.Condition.Kind != dtbase.CondStaleness && datatype != string(dtbase.Float) && datatype != string(dtbase.Integer) {
		return nil, nil, nil, nil, dtbase.FieldErr("measure", fmt.Sprintf("Sensor measure %q is %s; this condition needs a number", r.Measure, datatype))
	}
	if sensorID != nil {
		typeID = nil // a sensor rule matches by sensor
	}
	for i, name := range r.Channels {
		var cid int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM alert_channel WHERE name = $1`, name).Scan(&cid)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, nil, nil, dtbase.FieldErr(fmt.Sprintf("channels[%d]", i), fmt.Sprintf("Alert channel %q does not exist", name))
		}
		if err != nil {
			return nil, nil, nil, nil, err
		}
		channels = append(channels, cid)
	}
	return sensorID, typeID, locationID, channels, nil
}

// CreateAlertRule adds a rule; see dtbase.AlertStore.
func (db *DB) CreateAlertRule(ctx context.Context, r *dtbase.AlertRule) error {
	return db.writeAlertRule(ctx, r, false)
}

// UpdateAlertRule replaces a rule found by name; see dtbase.AlertStore.
func (db *DB) UpdateAlertRule(ctx context.Context, r *dtbase.AlertRule) error {
	return db.writeAlertRule(ctx, r, true)
}

func (db *DB) writeAlertRule(ctx context.Context, r *dtbase.AlertRule, update bool) error {
	if err := r.Validate(); err != nil {
		return err
	}
	cond, err := json.Marshal(r.Condition)
	if err != nil {
		return fmt.Errorf("write alert rule: %w", err)
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		sensorID, typeID, locationID, channels, err := resolveRule(ctx, tx, r)
		if err != nil {
			return err
		}
		now := micros(db.Now())
		if update {
			err = tx.QueryRowContext(ctx, `UPDATE alert_rule SET kind = $1, sensor_id = $2, type_id = $3, location_id = $4, measure_id = $5, condition = $6,
				severity = $7, enabled = $8, time_updated = $9 WHERE name = $10 RETURNING id`,
				r.Condition.Kind, sensorID, typeID, locationID, r.MeasureID, string(cond), r.Severity, r.Enabled, now, r.Name).Scan(&r.ID)
			if errors.Is(err, sql.ErrNoRows) {
				return dtbase.Errorf(dtbase.ENOTFOUND, "Alert rule does not exist.")
			}
			if err == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM alert_rule_channel WHERE rule_id = $1`, r.ID)
			}
			if err == nil {
				// The stored replay states were of the old condition: the
				// next readings replay the series.
				_, err = tx.ExecContext(ctx, `DELETE FROM alert_series WHERE rule_id = $1`, r.ID)
			}
		} else {
			r.Created = fromMicros(now)
			err = tx.QueryRowContext(ctx, `INSERT INTO alert_rule (name, kind, sensor_id, type_id, location_id, measure_id, condition, severity, enabled, time_created)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
				r.Name, r.Condition.Kind, sensorID, typeID, locationID, r.MeasureID, string(cond), r.Severity, r.Enabled, now).Scan(&r.ID)
			if isUniqueViolation(err) {
				return dtbase.Errorf(dtbase.ECONFLICT, "Alert rule already exists.")
			}
		}
		if err == nil {
			err = writeDerivedRule(ctx, tx, r)
		}
		if err != nil {
			return fmt.Errorf("write alert rule: %w", err)
		}
		for _, cid := range channels {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_rule_channel (rule_id, channel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, r.ID, cid); err != nil {
				return fmt.Errorf("write alert rule: %w", err)
			}
		}
		return nil
	})
}

const ruleSelect = `SELECT r.id, r.name, r.kind, s.unique_identifier, t.name, r.location_id, r.measure_id, coalesce(d.name, m.name), r.condition, r.severity, r.enabled, r.silenced_until, r.time_created,
 r.sensor_id, r.type_id
 FROM alert_rule r JOIN sensor_measure m ON m.id = r.measure_id LEFT JOIN sensor s ON s.id = r.sensor_id LEFT JOIN sensor_type t ON t.id = r.type_id
 LEFT JOIN alert_rule_derived d ON d.rule_id = r.id`

// ruleRow is a rule with the ids evaluation matches on.
type ruleRow struct {
	dtbase.AlertRule
	sensorID, typeID sql.NullInt64
}

func scanRule(row scanner) (*ruleRow, error) {
	var r ruleRow
	var kind, cond string
	var sensor, typ sql.NullString
	var loc, silenced sql.NullInt64
	var created int64
	if err := row.Scan(&r.ID, &r.Name, &kind, &sensor, &typ, &loc, &r.MeasureID, &r.Measure, &cond, &r.Severity, &r.Enabled, &silenced, &created,
		&r.sensorID, &r.typeID); err != nil {
		return nil, err
	}
	if err := parseCondition(cond, &r.Condition); err != nil {
		return nil, fmt.Errorf("rule %d: condition: %w", r.ID, err)
	}
	switch {
	case sensor.Valid:
		r.Target.Sensor = &sensor.String
	case typ.Valid:
		r.Target.SensorType = &typ.String
	case loc.Valid:
		r.Target.LocationID = &loc.Int64
	}
	r.SilencedUntil, r.Created = nullMicros(silenced), fromMicros(created)
	return &r, nil
}

func queryRules(ctx context.Context, q queryer, where string, args ...any) ([]*ruleRow, error) {
	return queryAll(ctx, q, "read alert rules", func(rows *sql.Rows, r **ruleRow) (err error) {
		*r, err = scanRule(rows)
		return err
	}, ruleSelect+" "+where+" ORDER BY r.id", args...)
}

// ListAlertRules returns every rule with its channels, in id order.
func (db *DB) ListAlertRules(ctx context.Context) ([]dtbase.AlertRule, error) {
	var out []dtbase.AlertRule
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		rules, err := queryRules(ctx, tx, "")
		if err != nil {
			return err
		}
		type link struct {
			rule    int64
			channel string
		}
		links, err := queryAll(ctx, tx, "read rule channels", func(rows *sql.Rows, l *link) error {
			return rows.Scan(&l.rule, &l.channel)
		}, `SELECT rc.rule_id, c.name FROM alert_rule_channel rc JOIN alert_channel c ON c.id = rc.channel_id ORDER BY c.name`)
		if err != nil {
			return err
		}
		chans := map[int64][]string{}
		for _, l := range links {
			chans[l.rule] = append(chans[l.rule], l.channel)
		}
		for _, r := range rules {
			r.Channels = chans[r.ID]
			if r.Channels == nil {
				r.Channels = []string{}
			}
			out = append(out, r.AlertRule)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list alert rules: %w", err)
	}
	return out, nil
}

// DeleteAlertRule removes a rule with its alerts.
func (db *DB) DeleteAlertRule(ctx context.Context, name string) error {
	return db.execOne(ctx, "delete alert rule", "Alert rule does not exist.", `DELETE FROM alert_rule WHERE name = $1`, name)
}

// SilenceAlertRule sets or clears the silence of a rule.
func (db *DB) SilenceAlertRule(ctx context.Context, name string, until *time.Time) error {
	var v any
	if until != nil {
		v = micros(*until)
	}
	return db.execOne(ctx, "silence alert rule", "Alert rule does not exist.", `UPDATE alert_rule SET silenced_until = $1 WHERE name = $2`, v, name)
}

const alertSelect = `SELECT a.id, a.rule_id, r.name, r.severity, s.unique_identifier, coalesce(d.name, m.name), a.state, a.since, a.fired_at, a.resolved_at, a.ack_by, a.ack_note, a.value, a.message
 FROM alert a JOIN alert_rule r ON r.id = a.rule_id JOIN sensor s ON s.id = a.sensor_id JOIN sensor_measure m ON m.id = r.measure_id
 LEFT JOIN alert_rule_derived d ON d.rule_id = r.id`

// alertWhere builds the filter of alerts and events; col is the time
// column filtered by From and To.
func alertWhere(f dtbase.AlertFilter, col string) (string, []any) {
	var p params
	if f.RuleName != nil {
		p.add("r.name = $%d", *f.RuleName)
	}
	if f.Sensor != nil {
		p.add("s.unique_identifier = $%d", *f.Sensor)
	}
	if f.State != nil {
		p.add("a.state = $%d", *f.State)
	}
	if f.From != nil {
		p.add(col+" >= $%d", micros(*f.From))
	}
	if f.To != nil {
		p.add(col+" <= $%d", micros(*f.To))
	}
	if len(p.clauses) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(p.clauses, " AND "), p.args
}

func limitOf(f dtbase.AlertFilter) int {
	if f.Limit <= 0 || f.Limit > 10000 {
		return 1000
	}
	return f.Limit
}

// ListAlerts returns alerts, firing first, then newest first.
func (db *DB) ListAlerts(ctx context.Context, f dtbase.AlertFilter) ([]dtbase.Alert, error) {
	where, args := alertWhere(f, "a.fired_at")
	return queryAll(ctx, db.read, "list alerts", func(rows *sql.Rows, a *dtbase.Alert) error {
		var since, fired int64
		var resolved sql.NullInt64
		err := rows.Scan(&a.ID, &a.RuleID, &a.RuleName, &a.Severity, &a.Sensor, &a.Measure, &a.State, &since, &fired, &resolved, &a.AckBy, &a.AckNote, &a.Value, &a.Message)
		a.Since, a.FiredAt, a.ResolvedAt = fromMicros(since), fromMicros(fired), nullMicros(resolved)
		return err
	}, alertSelect+where+fmt.Sprintf(` ORDER BY CASE a.state WHEN 'firing' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END, a.fired_at DESC, a.id DESC LIMIT %d OFFSET %d`, limitOf(f), max(f.Offset, 0)), args...)
}

const eventSelect = `SELECT e.id, e.alert_id, r.name, r.severity, s.unique_identifier, coalesce(d.name, m.name), e.kind, e.at, e.data_at, a.value, e.by_user, e.note, a.message
 FROM alert_event e JOIN alert a ON a.id = e.alert_id JOIN alert_rule r ON r.id = a.rule_id JOIN sensor s ON s.id = a.sensor_id JOIN sensor_measure m ON m.id = r.measure_id
 LEFT JOIN alert_rule_derived d ON d.rule_id = r.id`

func scanEvent(row scanner) (dtbase.AlertEvent, error) {
	var e dtbase.AlertEvent
	var at, dataAt int64
	// NULL columns scan into nil pointers.
	err := row.Scan(&e.ID, &e.AlertID, &e.RuleName, &e.Severity, &e.Sensor, &e.Measure, &e.Kind, &at, &dataAt, &e.Value, &e.By, &e.Note, &e.Message)
	e.At, e.DataAt = fromMicros(at), fromMicros(dataAt)
	return e, err
}

// ListAlertEvents returns events, newest first.
func (db *DB) ListAlertEvents(ctx context.Context, f dtbase.AlertFilter) ([]dtbase.AlertEvent, error) {
	where, args := alertWhere(f, "e.data_at")
	return queryAll(ctx, db.read, "list alert events", func(rows *sql.Rows, e *dtbase.AlertEvent) (err error) {
		*e, err = scanEvent(rows)
		return err
	}, eventSelect+where+fmt.Sprintf(` ORDER BY e.at DESC, e.data_at DESC LIMIT %d`, limitOf(f)), args...)
}

// AcknowledgeAlert records who acknowledged a firing alert.
func (db *DB) AcknowledgeAlert(ctx context.Context, id int64, by, note string) error {
	if err := checkText("by", by, dtbase.MaxEmailLen); err != nil {
		return err
	}
	if err := checkText("note", note, dtbase.MaxDescriptionLen); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var state string
		var ruleID int64
		err := tx.QueryRowContext(ctx, `SELECT state, rule_id FROM alert WHERE id = $1`+db.forUpdate(), id).Scan(&state, &ruleID)
		if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, "Alert does not exist."), "acknowledge alert"); err != nil {
			return err
		}
		if state != dtbase.AlertFiring {
			return dtbase.Errorf(dtbase.ECONFLICT, "Alert is %s, not firing.", state)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert SET state = $1, ack_by = $2, ack_note = $3 WHERE id = $4`, dtbase.AlertAcknowledged, by, nullString(note), id); err != nil {
			return fmt.Errorf("acknowledge alert: %w", err)
		}
		now := db.Now()
		return db.recordEvent(ctx, tx, ruleID, id, dtbase.EventAcknowledged, now, now, &by, &note)
	})
}

// checkText is EINVALID when s is over max characters.
func checkText(field, s string, max int) error {
	if dtbase.TooLong(s, max) {
		return dtbase.Errorf(dtbase.EINVALID, "%s is too long: at most %d characters.", field, max)
	}
	return nil
}

// forUpdate locks the rows a query reads, on PostgreSQL; SQLite's one
// writer already serialises write transactions.
func (db *DB) forUpdate() string {
	if db.Dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// newEventID returns a random, stable event id.
func newEventID() string {
	var b [16]byte
	rand.Read(b[:])
	return "evt_" + hex.EncodeToString(b[:])
}

// recordEvent stores one state change of an alert and, unless its rule is
// silenced at at, one outbox row per channel of the rule, in the caller's
// transaction. A second record of the same change is a no-op (unique on
// alert and kind), so the change is recorded exactly once.
func (db *DB) recordEvent(ctx context.Context, tx *sql.Tx, ruleID, alertID int64, kind string, at, dataAt time.Time, by, note *string) error {
	id := newEventID()
	res, err := tx.ExecContext(ctx, `INSERT INTO alert_event (id, alert_id, kind, at, data_at, by_user, note) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		id, alertID, kind, micros(at), micros(dataAt), by, note)
	if err != nil {
		return fmt.Errorf("record alert event: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO alert_outbox (event_id, channel_id, status, due)
		SELECT $1, rc.channel_id, 'pending', $2 FROM alert_rule_channel rc JOIN alert_rule r ON r.id = rc.rule_id
		WHERE rc.rule_id = $3 AND (r.silenced_until IS NULL OR r.silenced_until < $2)`, id, micros(at), ruleID)
	if err != nil {
		return fmt.Errorf("record alert event: %w", err)
	}
	return nil
}

// conditions caches decoded conditions by their stored text: every
// readings transaction loads the rules, and decoding dominated that.
var conditions sync.Map

func parseCondition(text string, c *dtbase.AlertCondition) error {
	if v, ok := conditions.Load(text); ok {
		*c = v.(dtbase.AlertCondition)
		return nil
	}
	if err := json.Unmarshal([]byte(text), c); err != nil {
		return err
	}
	conditions.Store(text, *c)
	return nil
}
