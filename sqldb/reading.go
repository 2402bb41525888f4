package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dtbase/dtbase"
)

var _ dtbase.ReadingStore = (*DB)(nil)

// readingQuerier is what measure resolution needs: a transaction or a pool.
type readingQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

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

func findReadingMeasure(ctx context.Context, q readingQuerier, uid, name string, units *string) (dtbase.ReadingMeasure, error) {
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
		var us []string
		for _, m := range match {
			us = append(us, quoteUnits(m.MeasureUnits))
		}
		return dtbase.ReadingMeasure{}, dtbase.Errorf(dtbase.EINVALID,
			"Measure name %q is ambiguous for sensor %q: its type has %q measures with units %s; give measure_units",
			name, uid, name, strings.Join(us, ", "))
	case len(all) > 0: // the name exists for this sensor, the units do not
		var us []string
		for _, m := range all {
			us = append(us, quoteUnits(m.MeasureUnits))
		}
		return dtbase.ReadingMeasure{}, dtbase.Errorf(dtbase.ENOTFOUND,
			"Sensor %q has no measure %q with units %s (its %q measures have units %s)",
			uid, name, quoteUnits(units), name, strings.Join(us, ", "))
	}
	// Nothing matched: say whether the measure or the sensor is unknown.
	return dtbase.ReadingMeasure{}, unknownSensorOrMeasure(ctx, q, uid, name, units)
}

// unknownSensorOrMeasure explains why a measure of a sensor did not
// resolve: the measure does not exist at all (checked first, as the
// original does), the sensor does not exist, or the sensor's type lacks
// the measure.
func unknownSensorOrMeasure(ctx context.Context, q readingQuerier, uid, name string, units *string) error {
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

// readingKey identifies a measure request for the per-transaction cache.
type readingKey struct {
	uid, name string
	units     string
	hasUnits  bool
}

// readingResolver resolves measures once per transaction.
type readingResolver struct {
	tx    *sql.Tx
	cache map[readingKey]dtbase.ReadingMeasure
}

func (r *readingResolver) resolve(ctx context.Context, s *dtbase.ReadingSeries) (dtbase.ReadingMeasure, error) {
	k := readingKey{uid: s.UniqueIdentifier, name: s.MeasureName}
	if s.MeasureUnits != nil {
		k.units, k.hasUnits = *s.MeasureUnits, true
	}
	if m, ok := r.cache[k]; ok {
		return m, nil
	}
	m, err := findReadingMeasure(ctx, r.tx, s.UniqueIdentifier, s.MeasureName, s.MeasureUnits)
	if err != nil {
		return m, err
	}
	r.cache[k] = m
	return m, nil
}

// maxDeadlockRetries bounds the retries of an insert that PostgreSQL chose
// as a deadlock victim. Our own inserts take locks in one order; other
// writers (an import spanning many sensors) may not.
const maxDeadlockRetries = 3

// InsertReadings stores series in one transaction; see
// dtbase.ReadingStore.
func (db *DB) InsertReadings(ctx context.Context, series []dtbase.ReadingSeries) (dtbase.ReadingInsertResult, error) {
	for attempt := 0; ; attempt++ {
		res, err := db.insertReadingSlice(ctx, series)
		if attempt < maxDeadlockRetries && (isPGCode(err, "40P01") || isPGCode(err, "40001")) {
			continue
		}
		return res, err
	}
}

func (db *DB) insertReadingSlice(ctx context.Context, series []dtbase.ReadingSeries) (dtbase.ReadingInsertResult, error) {
	var res dtbase.ReadingInsertResult
	prefix := func(i int, err error) error {
		if len(series) <= 1 {
			return err
		}
		var e *dtbase.Error
		if errors.As(err, &e) {
			return &dtbase.Error{Code: e.Code, Message: fmt.Sprintf("series[%d]: %s", i, e.Message), Err: e}
		}
		return fmt.Errorf("series[%d]: %w", i, err)
	}
	// Cheap checks first, so a bad request never waits for the writer.
	for i := range series {
		if err := checkSeriesShape(&series[i]); err != nil {
			return res, prefix(i, err)
		}
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res = dtbase.ReadingInsertResult{}
		r := &readingResolver{tx: tx, cache: map[readingKey]dtbase.ReadingMeasure{}}
		batches := make([]*readingBatch, 0, len(series))
		for i := range series {
			s := &series[i]
			if len(s.Values) == 0 {
				continue // an empty series is a no-op, whatever it names (B14)
			}
			m, err := r.resolve(ctx, s)
			if err != nil {
				return prefix(i, err)
			}
			rb, err := newReadingBatch(m, s, i)
			if err != nil {
				return prefix(i, err)
			}
			batches = append(batches, rb)
		}
		// One lock order for every writer: table, sensor, measure, time.
		slices.SortStableFunc(batches, func(a, b *readingBatch) int {
			if c := strings.Compare(string(a.m.Datatype), string(b.m.Datatype)); c != 0 {
				return c
			}
			if c := cmp.Compare(a.m.SensorID, b.m.SensorID); c != 0 {
				return c
			}
			return cmp.Compare(a.m.MeasureID, b.m.MeasureID)
		})
		w := db.newReadingWriter(tx)
		defer w.close()
		for _, rb := range batches {
			n, err := w.write(ctx, rb)
			if err != nil {
				return err
			}
			res.Rows += int64(rb.len())
			res.Inserted += n
		}
		return db.evaluateAlerts(ctx, tx, spansOf(batches))
	})
	return res, err
}

// checkSeriesShape checks what needs no database: the names' limits and
// equal lengths.
func checkSeriesShape(s *dtbase.ReadingSeries) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if len(s.Values) != len(s.Timestamps) {
		return dtbase.Errorf(dtbase.EINVALID, "readings and timestamps have different lengths (%d and %d)", len(s.Values), len(s.Timestamps))
	}
	return nil
}

// InsertReadingsFrom stores the series next returns in one transaction;
// see dtbase.ReadingStore.
func (db *DB) InsertReadingsFrom(ctx context.Context, next func() (*dtbase.ReadingSeries, error)) (dtbase.ReadingInsertResult, error) {
	var res dtbase.ReadingInsertResult
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		r := &readingResolver{tx: tx, cache: map[readingKey]dtbase.ReadingMeasure{}}
		w := db.newReadingWriter(tx)
		defer w.close()
		var touched []*readingBatch
		for i := 0; ; i++ {
			s, err := next()
			if err == io.EOF {
				return db.evaluateAlerts(ctx, tx, spansOf(touched))
			}
			if err != nil {
				return err
			}
			if err := checkSeriesShape(s); err != nil {
				return err
			}
			if len(s.Values) == 0 {
				continue
			}
			m, err := r.resolve(ctx, s)
			if err != nil {
				return err
			}
			rb, err := newReadingBatch(m, s, i)
			if err != nil {
				return err
			}
			n, err := w.write(ctx, rb)
			if err != nil {
				return err
			}
			touched = append(touched, &readingBatch{m: rb.m, ts: []int64{rb.ts[0], rb.ts[len(rb.ts)-1]}})
			res.Rows += int64(rb.len())
			res.Inserted += n
		}
	})
	if err != nil {
		return dtbase.ReadingInsertResult{}, err
	}
	return res, nil
}

// readingWriter writes batches within one transaction, with the bulk path
// of the dialect: multi-row INSERT on SQLite, array unnest on PostgreSQL.
type readingWriter struct {
	db    *DB
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // SQLite: prepared multi-row statements by table and row count
}

func (db *DB) newReadingWriter(tx *sql.Tx) *readingWriter {
	return &readingWriter{db: db, tx: tx, stmts: map[string]*sql.Stmt{}}
}

func (w *readingWriter) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

// write stores one batch and returns how many rows were new.
func (w *readingWriter) write(ctx context.Context, rb *readingBatch) (int64, error) {
	var n int64
	var err error
	if w.db.Dialect == Postgres {
		n, err = w.writePostgres(ctx, rb)
	} else {
		n, err = w.writeSQLite(ctx, rb)
	}
	if isForeignKeyViolation(err) {
		// The sensor was deleted by another transaction after we resolved it.
		return 0, &dtbase.Error{Code: dtbase.ENOTFOUND, Message: fmt.Sprintf("Sensor %q does not exist", rb.m.UniqueIdentifier), Err: err}
	}
	if err != nil {
		return 0, fmt.Errorf("insert readings of sensor %q: %w", rb.m.UniqueIdentifier, err)
	}
	return n, nil
}

// SQLiteReadingChunk is the number of rows per multi-row INSERT on SQLite:
// 4 parameters each, far below SQLite's 32766 limit. Larger statements gain
// nothing measurable.
const SQLiteReadingChunk = 1000

// SQLiteReadingInsert returns the multi-row INSERT of n rows into table,
// ignoring duplicates. It uses '?' placeholders: modernc's SQLite looks up
// "$N" parameters by name, which costs O(N) each and makes a 1000-row
// statement ten times slower.
func SQLiteReadingInsert(table string, n int) string {
	var b strings.Builder
	b.Grow(80 + 10*n)
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (sensor_id, measure_id, ts, value) VALUES ")
	for k := 0; k < n; k++ {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?)")
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	return b.String()
}

func (w *readingWriter) stmt(ctx context.Context, table string, n int) (*sql.Stmt, error) {
	key := table + "/" + strconv.Itoa(n)
	if st, ok := w.stmts[key]; ok {
		return st, nil
	}
	st, err := w.tx.PrepareContext(ctx, SQLiteReadingInsert(table, n))
	if err != nil {
		return nil, err
	}
	w.stmts[key] = st
	return st, nil
}

func (w *readingWriter) writeSQLite(ctx context.Context, rb *readingBatch) (int64, error) {
	table := readingTable(rb.m.Datatype)
	var inserted int64
	args := make([]any, 0, 4*min(rb.len(), SQLiteReadingChunk))
	for start := 0; start < rb.len(); start += SQLiteReadingChunk {
		end := min(start+SQLiteReadingChunk, rb.len())
		st, err := w.stmt(ctx, table, end-start)
		if err != nil {
			return 0, err
		}
		args = args[:0]
		for k := start; k < end; k++ {
			args = append(args, rb.m.SensorID, rb.m.MeasureID, rb.ts[k])
			switch rb.m.Datatype {
			case dtbase.Float:
				args = append(args, rb.f[k])
			case dtbase.Integer:
				args = append(args, rb.i[k])
			case dtbase.String:
				args = append(args, rb.s[k])
			case dtbase.Boolean:
				args = append(args, rb.b[k])
			}
		}
		r, err := st.ExecContext(ctx, args...)
		if err != nil {
			return 0, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return 0, err
		}
		inserted += n
	}
	return inserted, nil
}

// postgresReadingInsert inserts a whole series in one statement from two
// arrays. pgx sends the arrays in binary; measured on a 2-core machine this
// is as fast as COPY into the table (both are bound by the foreign-key and
// primary-key checks) and, unlike COPY, it ignores duplicates.
var postgresReadingInsert = map[dtbase.Datatype]string{
	dtbase.Float:   postgresUnnest("reading_float", "float8"),
	dtbase.Integer: postgresUnnest("reading_integer", "bigint"),
	dtbase.String:  postgresUnnest("reading_string", "text"),
	dtbase.Boolean: postgresUnnest("reading_boolean", "boolean"),
}

func postgresUnnest(table, typ string) string {
	return "INSERT INTO " + table + " (sensor_id, measure_id, ts, value) SELECT $1, $2, t, v FROM unnest($3::bigint[], $4::" +
		typ + "[]) AS u(t, v) ON CONFLICT DO NOTHING"
}

func (w *readingWriter) writePostgres(ctx context.Context, rb *readingBatch) (int64, error) {
	var values any
	switch rb.m.Datatype {
	case dtbase.Float:
		values = rb.f
	case dtbase.Integer:
		values = rb.i
	case dtbase.String:
		values = rb.s
	case dtbase.Boolean:
		values = rb.b
	}
	r, err := w.tx.ExecContext(ctx, postgresReadingInsert[rb.m.Datatype], rb.m.SensorID, rb.m.MeasureID, rb.ts, values)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
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
	rows, err := db.read.QueryContext(ctx, readingSelect(m.Datatype), m.SensorID, m.MeasureID, from, to)
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
		var where []string
		var args []any
		if f.TypeName != nil {
			if !storableText(*f.TypeName) {
				return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor type %q does not exist", *f.TypeName)
			}
			var typeID int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM sensor_type WHERE name = $1`, *f.TypeName).Scan(&typeID)
			if errors.Is(err, sql.ErrNoRows) {
				return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor type %q does not exist", *f.TypeName)
			}
			if err != nil {
				return fmt.Errorf("latest readings: %w", err)
			}
			args = append(args, typeID)
			where = append(where, fmt.Sprintf("s.type_id = $%d", len(args)))
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
				var id int64
				err := tx.QueryRowContext(ctx, `SELECT id FROM sensor WHERE unique_identifier = $1`, uid).Scan(&id)
				if errors.Is(err, sql.ErrNoRows) {
					return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor %q does not exist", uid)
				}
				if err != nil {
					return fmt.Errorf("latest readings: %w", err)
				}
				args = append(args, id)
				ph = append(ph, fmt.Sprintf("$%d", len(args)))
			}
			where = append(where, "s.id IN ("+strings.Join(ph, ", ")+")")
		}
		cond := ""
		if len(where) > 0 {
			cond = " AND " + strings.Join(where, " AND ")
		}
		for _, d := range dtbase.Datatypes {
			t := readingTable(d)
			// For each (sensor, measure) pair the newest timestamp and its
			// value are two correlated subqueries, each one descent of the
			// primary key from its end: the cost grows with the number of
			// pairs, never with the number of readings, whatever plan the
			// engine picks for the join of sensors and measures.
			newest := ` FROM ` + t + ` r WHERE r.sensor_id = s.id AND r.measure_id = m.id ORDER BY r.ts DESC LIMIT 1)`
			q := `SELECT * FROM (
					SELECT s.id AS sensor_id, m.id AS measure_id, s.unique_identifier, m.name, m.units,
						(SELECT r.ts` + newest + ` AS ts, (SELECT r.value` + newest + ` AS value
					FROM sensor s
					JOIN sensor_type_measure tm ON tm.type_id = s.type_id
					JOIN sensor_measure m ON m.id = tm.measure_id
					WHERE m.datatype = '` + string(d) + `'` + cond + `) pairs
				WHERE ts IS NOT NULL`
			rows, err := tx.QueryContext(ctx, q, args...)
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
