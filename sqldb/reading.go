package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dtbase/dtbase"
)

var _ dtbase.ReadingStore = (*DB)(nil)

// readingTable names the table that stores readings of datatype d. d has
// been read from the database, so it is one of the four.
func readingTable(d dtbase.Datatype) string { return "reading_" + string(d) }

// quoteUnits renders optional units for a message.
func quoteUnits(u *string) string {
	if u == nil {
		return "null"
	}
	return strconv.Quote(*u)
}

func sameUnits(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// FindReadingMeasure resolves a measure of a sensor; see
// dtbase.ReadingStore.
func (db *DB) FindReadingMeasure(ctx context.Context, uniqueIdentifier, measureName string, units *string) (dtbase.ReadingMeasure, error) {
	return findReadingMeasure(ctx, db.read, uniqueIdentifier, measureName, units)
}

// storableText reports whether s can be stored as text on both engines:
// PostgreSQL refuses NUL characters and invalid UTF-8 outright, so no name
// that holds them can exist, and a query with one would fail.
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func findReadingMeasure(ctx context.Context, q queryer, uid, name string, units *string) (dtbase.ReadingMeasure, error) {
	if !storableText(name) || units != nil && !storableText(*units) {
		return dtbase.ReadingMeasure{}, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor measure %q does not exist", name)
	}
	if !storableText(uid) {
		return dtbase.ReadingMeasure{}, unknownSensorOrMeasure(ctx, q, uid, name, units)
	}
	rows, err := q.QueryContext(ctx, `
		SELECT s.id, m.id, m.units, m.datatype
		FROM sensor s
		JOIN sensor_type_measure tm ON tm.type_id = s.type_id
		JOIN sensor_measure m ON m.id = tm.measure_id
		WHERE s.unique_identifier = $1 AND m.name = $2
		ORDER BY m.id`, uid, name)
	if err != nil {
		return dtbase.ReadingMeasure{}, fmt.Errorf("find measure %q of sensor %q: %w", name, uid, err)
	}
	var all, match []dtbase.ReadingMeasure
	for rows.Next() {
		m := dtbase.ReadingMeasure{UniqueIdentifier: uid, MeasureName: name}
		var u sql.NullString
		var dt string
		if err := rows.Scan(&m.SensorID, &m.MeasureID, &u, &dt); err != nil {
			rows.Close()
			return m, fmt.Errorf("find measure %q of sensor %q: %w", name, uid, err)
		}
		if u.Valid {
			m.MeasureUnits = &u.String
		}
		m.Datatype = dtbase.Datatype(dt)
		all = append(all, m)
		if units == nil || sameUnits(units, m.MeasureUnits) {
			match = append(match, m)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return dtbase.ReadingMeasure{}, fmt.Errorf("find measure %q of sensor %q: %w", name, uid, err)
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) > 1:
		return dtbase.ReadingMeasure{}, dtbase.Errorf(dtbase.EINVALID,
			"Measure name %q is ambiguous for sensor %q: its type has %q measures with units %s; give measure_units",
			name, uid, name, unitsOf(match))
	case len(all) > 0: // the name exists for this sensor, the units do not
		return dtbase.ReadingMeasure{}, dtbase.Errorf(dtbase.ENOTFOUND,
			"Sensor %q has no measure %q with units %s (its %q measures have units %s)",
			uid, name, quoteUnits(units), name, unitsOf(all))
	}
	// Nothing matched: say whether the measure or the sensor is unknown.
	return dtbase.ReadingMeasure{}, unknownSensorOrMeasure(ctx, q, uid, name, units)
}

// unitsOf lists the quoted units of ms, separated by commas.
func unitsOf(ms []dtbase.ReadingMeasure) string {
	us := make([]string, len(ms))
	for i, m := range ms {
		us[i] = quoteUnits(m.MeasureUnits)
	}
	return strings.Join(us, ", ")
}

// unknownSensorOrMeasure explains why a measure of a sensor did not
// resolve: the measure does not exist at all (checked first, as the
// original does), the sensor does not exist, or the sensor's type lacks
// the measure.
func unknownSensorOrMeasure(ctx context.Context, q queryer, uid, name string, units *string) error {
	measureExists := false
	mrows, err := q.QueryContext(ctx, `SELECT units FROM sensor_measure WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("find measure %q: %w", name, err)
	}
	for mrows.Next() {
		var u sql.NullString
		if err := mrows.Scan(&u); err != nil {
			mrows.Close()
			return fmt.Errorf("find measure %q: %w", name, err)
		}
		var up *string
		if u.Valid {
			up = &u.String
		}
		measureExists = measureExists || units == nil || sameUnits(units, up)
	}
	mrows.Close()
	if err := mrows.Err(); err != nil {
		return fmt.Errorf("find measure %q: %w", name, err)
	}
	if !measureExists {
		if units != nil {
			return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor measure %q with units %s does not exist", name, quoteUnits(units))
		}
		return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor measure %q does not exist", name)
	}
	unknown := &dtbase.Error{Code: dtbase.ENOTFOUND,
		Message: fmt.Sprintf("Sensor %q does not exist", uid), Err: &dtbase.UnknownSensorError{UniqueIdentifier: uid}}
	if !storableText(uid) {
		return unknown
	}
	var sensorID int64
	err = q.QueryRowContext(ctx, `SELECT id FROM sensor WHERE unique_identifier = $1`, uid).Scan(&sensorID)
	if errors.Is(err, sql.ErrNoRows) {
		return unknown
	}
	if err != nil {
		return fmt.Errorf("find sensor %q: %w", uid, err)
	}
	return dtbase.Errorf(dtbase.ENOTFOUND, "The type of sensor %q has no measure %q", uid, name)
}

// readingBatch is one series resolved and converted to the column types of
// its table, ready to write.
type readingBatch struct {
	m  dtbase.ReadingMeasure
	ts []int64
	f  []float64 // float
	i  []int64   // integer
	s  []string  // string
	b  []bool    // boolean
}

func (rb *readingBatch) len() int { return len(rb.ts) }

// newReadingBatch checks every value of s against m's datatype and converts
// the series. The error is EINVALID with a *dtbase.ReadingIndexError cause.
func newReadingBatch(m dtbase.ReadingMeasure, s *dtbase.ReadingSeries, seriesIndex int) (*readingBatch, error) {
	n := len(s.Values)
	rb := &readingBatch{m: m, ts: make([]int64, n)}
	switch m.Datatype {
	case dtbase.Float:
		rb.f = make([]float64, n)
	case dtbase.Integer:
		rb.i = make([]int64, n)
	case dtbase.String:
		rb.s = make([]string, n)
	case dtbase.Boolean:
		rb.b = make([]bool, n)
	default:
		return nil, fmt.Errorf("measure %d has unknown datatype %q", m.MeasureID, m.Datatype)
	}
	for k, v := range s.Values {
		var msg string
		switch m.Datatype {
		case dtbase.Float:
			// The fast path of float measures: no Value copy.
			switch v.Kind {
			case dtbase.KindFloat:
				rb.f[k] = v.F
			case dtbase.KindInteger:
				rb.f[k] = float64(v.I)
			default:
				_, msg = v.Coerce(dtbase.Float)
			}
		default:
			var c dtbase.Value
			c, msg = v.Coerce(m.Datatype)
			switch m.Datatype {
			case dtbase.Integer:
				rb.i[k] = c.I
			case dtbase.String:
				rb.s[k] = c.S
				if msg == "" && !storableText(c.S) {
					msg = "strings must be valid UTF-8 without NUL characters"
				}
			case dtbase.Boolean:
				rb.b[k] = c.B
			}
		}
		if msg != "" {
			return nil, &dtbase.Error{Code: dtbase.EINVALID,
				Message: fmt.Sprintf("readings[%d] = %s does not fit the %s measure %q: %s",
					k, truncateForMessage(v.AppendJSON(nil)), m.Datatype, m.MeasureName, msg),
				Err: &dtbase.ReadingIndexError{Series: seriesIndex, Index: k}}
		}
		rb.ts[k] = micros(s.Timestamps[k])
	}
	rb.sortByTime()
	return rb, nil
}

func truncateForMessage(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// sortByTime orders the rows by timestamp, stably, so that of two rows with
// the same timestamp the first one sent is the one stored, and so that
// concurrent transactions on PostgreSQL take row locks in one order and
// cannot deadlock. Series are nearly always sent in order already.
func (rb *readingBatch) sortByTime() {
	if slices.IsSorted(rb.ts) {
		return
	}
	perm := make([]int, len(rb.ts))
	for k := range perm {
		perm[k] = k
	}
	slices.SortStableFunc(perm, func(a, b int) int {
		switch {
		case rb.ts[a] < rb.ts[b]:
			return -1
		case rb.ts[a] > rb.ts[b]:
			return 1
		}
		return 0
	})
	rb.ts = permute(rb.ts, perm)
	rb.f = permute(rb.f, perm)
	rb.i = permute(rb.i, perm)
	rb.s = permute(rb.s, perm)
	rb.b = permute(rb.b, perm)
}

func permute[T any](xs []T, perm []int) []T {
	if xs == nil {
		return nil
	}
	out := make([]T, len(xs))
	for k, p := range perm {
		out[k] = xs[p]
	}
	return out
}

// readingSelect is the range read of one measure of one sensor, in time
// order: a contiguous scan of the primary key.
func readingSelect(d dtbase.Datatype) string {
	return "SELECT ts, value FROM " + readingTable(d) +
		" WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts"
}

// ScanReadings streams the readings of m in [from, to]; see
// dtbase.ReadingStore.
func (db *DB) ScanReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, fn func(dtbase.Reading) error) error {
	if err := db.scanReadings(ctx, m, micros(from), micros(to), fn); err != nil {
		return err
	}
	return nil
}

func (db *DB) scanReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to int64, fn func(dtbase.Reading) error) error {
	if !m.Datatype.Valid() {
		return fmt.Errorf("scan readings: measure %d has unknown datatype %q", m.MeasureID, m.Datatype)
	}
	rows, err := db.readings().QueryContext(ctx, readingSelect(m.Datatype), m.SensorID, m.MeasureID, from, to)
	if err != nil {
		return fmt.Errorf("read readings of sensor %q: %w", m.UniqueIdentifier, err)
	}
	defer rows.Close()
	var ts int64
	var v dtbase.Value
	dest := valueDest(&v, m.Datatype)
	for rows.Next() {
		if err := rows.Scan(&ts, dest); err != nil {
			return fmt.Errorf("read readings of sensor %q: %w", m.UniqueIdentifier, err)
		}
		if err := fn(dtbase.Reading{Time: fromMicros(ts), Value: v}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read readings of sensor %q: %w", m.UniqueIdentifier, err)
	}
	return nil
}

// maxLatestSensors bounds the sensors one latest-readings call may name.
const maxLatestSensors = 1000

// LatestReadings returns the newest reading per sensor and measure; see
// dtbase.ReadingStore. For every (sensor, measure) pair the newest
// timestamp is one descent of the primary key (max(ts) under an equality
// prefix), so the cost grows with the number of pairs, not of readings.
func (db *DB) LatestReadings(ctx context.Context, f dtbase.LatestReadingFilter) ([]dtbase.LatestReading, error) {
	if len(f.UniqueIdentifiers) > maxLatestSensors {
		return nil, dtbase.Errorf(dtbase.EINVALID, "At most %d unique identifiers may be given, got %d", maxLatestSensors, len(f.UniqueIdentifiers))
	}
	type key struct{ sensor, measure int64 }
	type row struct {
		key
		dtbase.LatestReading
	}
	var found []row
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		var p params
		if f.TypeName != nil {
			if !storableText(*f.TypeName) {
				return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor type %q does not exist", *f.TypeName)
			}
			typeID, err := idOf(ctx, tx, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor type %q does not exist", *f.TypeName), "latest readings",
				`SELECT id FROM sensor_type WHERE name = $1`, *f.TypeName)
			if err != nil {
				return err
			}
			p.add("s.type_id = $%d", typeID)
		}
		if f.UniqueIdentifiers != nil {
			if len(f.UniqueIdentifiers) == 0 {
				return nil
			}
			var ph []string
			for _, uid := range f.UniqueIdentifiers {
				if !storableText(uid) {
					return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor %q does not exist", uid)
				}
				id, err := idOf(ctx, tx, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor %q does not exist", uid), "latest readings",
					`SELECT id FROM sensor WHERE unique_identifier = $1`, uid)
				if err != nil {
					return err
				}
				ph = append(ph, p.arg(id))
			}
			p.clauses = append(p.clauses, "s.id IN ("+strings.Join(ph, ", ")+")")
		}
		cond := ""
		if len(p.clauses) > 0 {
			cond = " AND " + strings.Join(p.clauses, " AND ")
		}
		for _, d := range dtbase.Datatypes {
			t := readingTable(d)
			// For each (sensor, measure) pair the newest timestamp and its
			// value are two correlated subqueries, each one descent of the
			// primary key from its end: the cost grows with the number of
			// pairs, never with the number of readings, whatever plan the
			// engine picks for the join of sensors and measures.
			newest := ` FROM ` + t + ` r WHERE r.sensor_id = s.id AND r.measure_id = m.id ORDER BY r.ts DESC LIMIT 1)`
			pairs := ` FROM sensor s
					JOIN sensor_type_measure tm ON tm.type_id = s.type_id
					JOIN sensor_measure m ON m.id = tm.measure_id`
			q := `SELECT * FROM (
					SELECT s.id AS sensor_id, m.id AS measure_id, s.unique_identifier, m.name, m.units,
						(SELECT r.ts` + newest + ` AS ts, (SELECT r.value` + newest + ` AS value` + pairs + `
					WHERE m.datatype = '` + string(d) + `'` + cond + `) pairs
				WHERE ts IS NOT NULL`
			if db.Dialect == Postgres {
				// PostgreSQL reads both columns in one descent (SQLite
				// has no LATERAL).
				q = `SELECT s.id, m.id, s.unique_identifier, m.name, m.units, r.ts, r.value` + pairs + `
					CROSS JOIN LATERAL (SELECT r.ts, r.value` + strings.TrimSuffix(newest, ")") + `) r
					WHERE m.datatype = '` + string(d) + `'` + cond
			}
			rows, err := tx.QueryContext(ctx, q, p.args...)
			if err != nil {
				return fmt.Errorf("latest readings: %w", err)
			}
			for rows.Next() {
				var k key
				var lr dtbase.LatestReading
				var units sql.NullString
				var ts int64
				dest := []any{&k.sensor, &k.measure, &lr.UniqueIdentifier, &lr.MeasureName, &units, &ts, valueDest(&lr.Value, d)}
				if err := rows.Scan(dest...); err != nil {
					rows.Close()
					return fmt.Errorf("latest readings: %w", err)
				}
				if units.Valid {
					lr.MeasureUnits = &units.String
				}
				lr.Datatype, lr.Time = d, fromMicros(ts)
				found = append(found, row{k, lr})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("latest readings: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, func(a, b row) int {
		if c := cmp.Compare(a.sensor, b.sensor); c != 0 {
			return c
		}
		return cmp.Compare(a.measure, b.measure)
	})
	out := make([]dtbase.LatestReading, len(found))
	for k, r := range found {
		out[k] = r.LatestReading
	}
	return out, nil
}
