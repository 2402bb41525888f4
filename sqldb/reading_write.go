package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dtbase/dtbase"
)

// Readings are written without per-row foreign keys. A write transaction
// resolves each series' sensor and measure once and, on PostgreSQL, holds
// a key-share lock on every sensor it writes to until commit; DeleteSensor
// takes the row lock first and deletes the readings in its own
// transaction, so a reading can never outlive its sensor. On SQLite the one
// writer serialises both.

// readingKey identifies a measure request for the per-transaction cache.
type readingKey struct {
	uid, name string
	units     string
	hasUnits  bool
}

// seriesKey identifies a stored series.
type seriesKey struct{ sensor, measure int64 }

// timeSpan is the closed range [lo, hi] of timestamps (µs) a transaction
// wrote to one series.
type timeSpan struct {
	lo, hi int64
	dt     dtbase.Datatype
	// For a series written by one batch: its distinct timestamps, how
	// many rows were new, and its finest rollup buckets computed from the
	// batch, which are exact when the range held no other rows.
	batches            int
	distinct, inserted int64
	pre                []rollupRow
	batch              *readingBatch // kept for alerts, see alertBatch
}

// readingTx is one write transaction of readings.
type readingTx struct {
	db   *DB
	tx   *sql.Tx
	conn *sql.Conn // the transaction's connection, for COPY and SQLite's bulk inserts
	// SQLite: the driver's statements of the bulk inserts, by query.
	driverStmts map[string]driver.Stmt
	cache       map[readingKey]dtbase.ReadingMeasure
	locked      map[int64]bool
	stmts       map[string]*sql.Stmt      // SQLite: the transaction's prepared statements by query
	uncached    []string                  // SQLite: queries to add to the statement cache after the transaction
	staged      map[dtbase.Datatype]int64 // rows staged and not yet moved
	// direct lets a large batch into an empty range of its series be
	// copied straight into the table, skipping the duplicate check; a
	// concurrent writer of the same timestamps makes the transaction fail
	// with a unique violation, and it is retried without.
	direct bool
	ord    int64 // the next staging ordinal
	moved  int64 // staged rows with ord below this are moved
	// Touched is every series written, with the span of timestamps: what
	// the rollups, and anything else that reacts to new readings, need.
	touched map[seriesKey]timeSpan
}

// withReadingTx runs fn in a write transaction of readings and commits it.
// Before the commit it moves staged rows into the tables and brings the
// rollups of every touched series up to date, so that readings and
// rollups commit together.
func (db *DB) withReadingTx(ctx context.Context, fn func(rt *readingTx) error) error {
	// Runs last, when the transaction has given back its connection (the
	// statement cache and a split of the default partition take another).
	var rt *readingTx
	committed := false
	defer func() {
		if rt != nil {
			db.cacheStmts(ctx, rt.uncached)
		}
		if committed {
			db.placeWritten(ctx, rt.touched)
		}
	}()
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback()
	rt = &readingTx{db: db, tx: tx, conn: conn, cache: map[readingKey]dtbase.ReadingMeasure{},
		locked: map[int64]bool{}, stmts: map[string]*sql.Stmt{}, staged: map[dtbase.Datatype]int64{},
		touched: map[seriesKey]timeSpan{}}
	defer rt.close()
	if err := fn(rt); err != nil {
		return badText(err)
	}
	if _, err := rt.flush(ctx); err != nil {
		return badText(err)
	}
	if err := rt.upkeepRollups(ctx); err != nil {
		return err
	}
	// Rows written, about to commit: alerts on the touched series are decided
	// in the same transaction, so an alert commits with its readings.
	if err := db.evaluateAlerts(ctx, rt, rt.alertSpans()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	return nil
}

func (rt *readingTx) close() {
	for _, st := range rt.stmts {
		st.Close()
	}
	if len(rt.driverStmts) > 0 {
		rt.conn.Raw(func(any) error {
			for _, st := range rt.driverStmts {
				st.Close()
			}
			return nil
		})
	}
}

// resolve finds the measure a series names, once per transaction, and on
// PostgreSQL locks its sensor against deletion until commit.
func (rt *readingTx) resolve(ctx context.Context, s *dtbase.ReadingSeries) (dtbase.ReadingMeasure, error) {
	k := readingKey{uid: s.UniqueIdentifier, name: s.MeasureName}
	if s.MeasureUnits != nil {
		k.units, k.hasUnits = *s.MeasureUnits, true
	}
	if m, ok := rt.cache[k]; ok {
		return m, nil
	}
	m, err := findReadingMeasure(ctx, rt, s.UniqueIdentifier, s.MeasureName, s.MeasureUnits)
	if err != nil {
		return m, err
	}
	if rt.db.Dialect == Postgres && !rt.locked[m.SensorID] {
		// The recheck under the lock: a DeleteSensor that committed after
		// the lookup above leaves no row to lock.
		var id int64
		err := rt.tx.QueryRowContext(ctx, `SELECT id FROM sensor WHERE id = $1 FOR KEY SHARE`, m.SensorID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return m, &dtbase.Error{Code: dtbase.ENOTFOUND, Message: fmt.Sprintf("Sensor %q does not exist", m.UniqueIdentifier),
				Err: &dtbase.UnknownSensorError{UniqueIdentifier: m.UniqueIdentifier}}
		}
		if err != nil {
			return m, fmt.Errorf("lock sensor %q: %w", m.UniqueIdentifier, err)
		}
		rt.locked[m.SensorID] = true
	}
	rt.cache[k] = m
	return m, nil
}

// maxDeadlockRetries bounds the retries of an insert that PostgreSQL chose
// as a deadlock victim. Our own inserts take locks in one order; other
// writers (an import spanning many sensors) may not.
const maxDeadlockRetries = 3

// InsertReadings stores series in one transaction; see
// dtbase.ReadingStore. Small inserts arriving together share a
// transaction (see groupCommit); each is still stored whole or not at all.
func (db *DB) InsertReadings(ctx context.Context, series []dtbase.ReadingSeries) (dtbase.ReadingInsertResult, error) {
	// Cheap checks first, so a bad request never waits for the writer.
	for i := range series {
		if err := checkSeriesShape(&series[i]); err != nil {
			return dtbase.ReadingInsertResult{}, seriesPrefix(len(series), i, err)
		}
	}
	if g := db.group; g != nil && smallInsert(series) {
		return g.insert(ctx, series)
	}
	direct := true
	for attempt := 0; ; attempt++ {
		var res dtbase.ReadingInsertResult
		err := db.withReadingTx(ctx, func(rt *readingTx) error {
			rt.direct = direct
			if len(series) > 1 {
				if err := rt.prefetchMeasures(ctx, series); err != nil {
					return err
				}
			}
			var err error
			res, err = rt.insertSeries(ctx, series)
			return err
		})
		if attempt < maxDeadlockRetries && (isPGCode(err, "40P01") || isPGCode(err, "40001")) {
			continue
		}
		if direct && isPGCode(err, "23505") {
			direct = false
			continue
		}
		return res, err
	}
}

// seriesPrefix names the series an error is about when there are several.
func seriesPrefix(n, i int, err error) error {
	if n <= 1 {
		return err
	}
	var e *dtbase.Error
	if errors.As(err, &e) {
		return &dtbase.Error{Code: e.Code, Message: fmt.Sprintf("series[%d]: %s", i, e.Message), Err: e}
	}
	return fmt.Errorf("series[%d]: %w", i, err)
}

// insertSeries writes one request's series within rt and returns its
// counts: every row is in the tables (not staged) when it returns.
func (rt *readingTx) insertSeries(ctx context.Context, series []dtbase.ReadingSeries) (dtbase.ReadingInsertResult, error) {
	var res dtbase.ReadingInsertResult
	batches := make([]*readingBatch, 0, len(series))
	for i := range series {
		s := &series[i]
		if len(s.Values) == 0 {
			continue // an empty series is a no-op, whatever it names (B14)
		}
		m, err := rt.resolve(ctx, s)
		if err != nil {
			return res, seriesPrefix(len(series), i, err)
		}
		rb, err := newReadingBatch(m, s, i)
		if err != nil {
			return res, seriesPrefix(len(series), i, err)
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
	for _, rb := range batches {
		n, err := rt.write(ctx, rb)
		if err != nil {
			return res, err
		}
		res.Rows += int64(rb.len())
		res.Inserted += n
	}
	n, err := rt.flush(ctx)
	res.Inserted += n
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
	err := db.withReadingTx(ctx, func(rt *readingTx) error {
		for i := 0; ; i++ {
			s, err := next()
			if err == io.EOF {
				n, err := rt.flush(ctx)
				res.Inserted += n
				return err
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
			m, err := rt.resolve(ctx, s)
			if err != nil {
				return err
			}
			rb, err := newReadingBatch(m, s, i)
			if err != nil {
				return err
			}
			n, err := rt.write(ctx, rb)
			if err != nil {
				return err
			}
			res.Rows += int64(rb.len())
			res.Inserted += n
		}
	})
	if err != nil {
		return dtbase.ReadingInsertResult{}, err
	}
	return res, nil
}

// PostgresCopyThreshold is the batch size from which PostgreSQL writes go
// through COPY into a staging table; smaller batches are one INSERT from
// arrays, which costs fewer round trips.
const PostgresCopyThreshold = 1000

// write stores one batch, or on PostgreSQL stages it, and returns how many
// rows were new (0 for staged rows: flush counts them).
func (rt *readingTx) write(ctx context.Context, rb *readingBatch) (int64, error) {
	if rb.len() == 0 {
		return 0, nil
	}
	k := seriesKey{rb.m.SensorID, rb.m.MeasureID}
	sp, ok := rt.touched[k]
	if !ok {
		sp = timeSpan{lo: rb.ts[0], hi: rb.ts[rb.len()-1], dt: rb.m.Datatype, batch: rt.db.alertBatch(rb)}
		if rolledUp(rb.m.Datatype) {
			sp.pre, sp.distinct = rb.finestRollups()
		}
	} else {
		sp.lo, sp.hi, sp.pre, sp.batch = min(sp.lo, rb.ts[0]), max(sp.hi, rb.ts[rb.len()-1]), nil, nil
	}
	sp.batches++
	defer func() { rt.touched[k] = sp }()
	var n int64
	var err error
	switch {
	case rt.db.Dialect == Postgres && rb.len() >= PostgresCopyThreshold:
		var direct bool
		if rt.direct && !ok {
			direct, err = rt.rangeEmpty(ctx, rb)
		}
		switch {
		case err != nil:
		case direct:
			n, err = rt.copyDirect(ctx, rb)
		default:
			err = rt.stage(ctx, rb)
		}
	case rt.db.Dialect == Postgres:
		n, err = rt.writePostgres(ctx, rb)
	default:
		n, err = rt.writeSQLite(ctx, rb)
	}
	if err != nil {
		return 0, fmt.Errorf("insert readings of sensor %q: %w", rb.m.UniqueIdentifier, err)
	}
	sp.inserted += n
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
	return valuesInsert(table, " (sensor_id, measure_id, ts, value) VALUES ", "(?,?,?,?)", " ON CONFLICT DO NOTHING", n)
}

// sqliteSeriesInsert returns the INSERT of n rows of one series into
// table, ignoring duplicates, as SQLiteReadingInsert but with the series'
// sensor and measure bound once: half the parameters to convert and bind,
// which makes a bulk load about a tenth cheaper.
func sqliteSeriesInsert(table string, n int) string {
	return valuesInsert(table, " (sensor_id, measure_id, ts, value) SELECT ?, ?, column1, column2 FROM (VALUES ", "(?,?)",
		") WHERE true ON CONFLICT DO NOTHING", n)
}

// valuesInsert returns "INSERT INTO table", head, n rows separated by
// commas, and tail, built in one allocation.
func valuesInsert(table, head, row, tail string, n int) string {
	var b strings.Builder
	b.Grow(len("INSERT INTO ") + len(table) + len(head) + (len(row)+1)*n + len(tail))
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(head)
	for k := 0; k < n; k++ {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	return b.String()
}

// writeSQLite inserts a batch. A small one runs a statement of the
// store's cache. A large one runs the driver's own statements, prepared
// for the transaction: database/sql would convert every parameter and
// allocate their list anew for each statement, a tenth of the work and
// most of the garbage of a bulk load.
func (rt *readingTx) writeSQLite(ctx context.Context, rb *readingBatch) (int64, error) {
	table := readingTable(rb.m.Datatype)
	if rb.len() <= groupSmall {
		args := make([]any, 0, 2+2*rb.len())
		args = append(args, rb.m.SensorID, rb.m.MeasureID)
		for k := range rb.ts {
			args = append(args, rb.ts[k], rb.value(k))
		}
		r, err := rt.ExecContext(ctx, sqliteSeriesInsert(table, rb.len()), args...)
		if err != nil {
			return 0, err
		}
		return r.RowsAffected()
	}
	var inserted int64
	err := rt.conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot prepare", dc)
		}
		args := make([]driver.NamedValue, 2+2*min(rb.len(), SQLiteReadingChunk))
		args[0] = driver.NamedValue{Ordinal: 1, Value: rb.m.SensorID}
		args[1] = driver.NamedValue{Ordinal: 2, Value: rb.m.MeasureID}
		for start := 0; start < rb.len(); start += SQLiteReadingChunk {
			end := min(start+SQLiteReadingChunk, rb.len())
			q := sqliteSeriesInsert(table, end-start)
			st := rt.driverStmts[q]
			if st == nil {
				var err error
				if st, err = pc.PrepareContext(ctx, q); err != nil {
					return err
				}
				if rt.driverStmts == nil {
					rt.driverStmts = map[string]driver.Stmt{}
				}
				rt.driverStmts[q] = st
			}
			ex, ok := st.(driver.StmtExecContext)
			if !ok {
				return fmt.Errorf("sqlite driver statement %T cannot execute", st)
			}
			a := args[:2+2*(end-start)]
			for k := start; k < end; k++ {
				i := 2 + 2*(k-start)
				a[i] = driver.NamedValue{Ordinal: i + 1, Value: rb.ts[k]}
				a[i+1] = driver.NamedValue{Ordinal: i + 2, Value: rb.value(k)}
			}
			r, err := ex.ExecContext(ctx, a)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			if err != nil {
				return err
			}
			inserted += n
		}
		return nil
	})
	return inserted, err
}

// value returns row k's value as a database parameter.
func (rb *readingBatch) value(k int) any {
	switch rb.m.Datatype {
	case dtbase.Integer:
		return rb.i[k]
	case dtbase.String:
		return rb.s[k]
	case dtbase.Boolean:
		return rb.b[k]
	}
	return rb.f[k]
}

// values returns the batch's value column.
func (rb *readingBatch) values() any {
	switch rb.m.Datatype {
	case dtbase.Integer:
		return rb.i
	case dtbase.String:
		return rb.s
	case dtbase.Boolean:
		return rb.b
	}
	return rb.f
}

// postgresType is the column type of each datatype's value.
var postgresType = map[dtbase.Datatype]string{
	dtbase.Float: "float8", dtbase.Integer: "bigint", dtbase.String: "text", dtbase.Boolean: "boolean",
}

// postgresReadingInsert inserts a small series in one statement from two
// arrays, ignoring duplicates.
func postgresReadingInsert(d dtbase.Datatype) string {
	return "INSERT INTO " + readingTable(d) + " (sensor_id, measure_id, ts, value) SELECT $1, $2, t, v FROM unnest($3::bigint[], $4::" +
		postgresType[d] + "[]) AS u(t, v) ON CONFLICT DO NOTHING"
}

func (rt *readingTx) writePostgres(ctx context.Context, rb *readingBatch) (int64, error) {
	r, err := rt.tx.ExecContext(ctx, postgresReadingInsert(rb.m.Datatype), rb.m.SensorID, rb.m.MeasureID, rb.ts, rb.values())
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// stageTable is the session's staging table of datatype d: COPY cannot
// skip duplicates, so large batches are copied there and moved into the
// readings table by one INSERT … SELECT … ON CONFLICT DO NOTHING, in the
// order they were staged (the first of two equal rows wins). It empties at
// every commit, and a rollback (to a savepoint, too) discards its rows.
func stageTable(d dtbase.Datatype) string { return "reading_stage_" + string(d) }

// stage copies a batch into its staging table.
func (rt *readingTx) stage(ctx context.Context, rb *readingBatch) error {
	d := rb.m.Datatype
	table := stageTable(d)
	if _, ok := rt.staged[d]; !ok {
		if _, err := rt.tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+table+
			` (ord bigint, sensor_id bigint, measure_id bigint, ts bigint, value `+postgresType[d]+`) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		rt.staged[d] = 0
	}
	base := rt.ord
	err := rt.conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		_, err := pc.CopyFrom(ctx, pgx.Identifier{table}, []string{"ord", "sensor_id", "measure_id", "ts", "value"},
			pgx.CopyFromSlice(rb.len(), func(k int) ([]any, error) {
				return []any{base + int64(k), rb.m.SensorID, rb.m.MeasureID, rb.ts[k], rb.value(k)}, nil
			}))
		return err
	})
	if err != nil {
		return fmt.Errorf("copy into staging table: %w", err)
	}
	rt.ord += int64(rb.len())
	rt.staged[d] += int64(rb.len())
	return nil
}

// flush moves staged rows into the readings tables and returns how many
// were new.
func (rt *readingTx) flush(ctx context.Context) (int64, error) {
	var inserted int64
	for _, d := range dtbase.Datatypes {
		if rt.staged[d] == 0 {
			continue
		}
		table := stageTable(d)
		rows, err := rt.tx.QueryContext(ctx, `WITH ins AS (INSERT INTO `+readingTable(d)+` (sensor_id, measure_id, ts, value)
			SELECT sensor_id, measure_id, ts, value FROM `+table+` WHERE ord >= $1 ORDER BY ord ON CONFLICT DO NOTHING
			RETURNING sensor_id, measure_id)
			SELECT sensor_id, measure_id, count(*) FROM ins GROUP BY sensor_id, measure_id`, rt.moved)
		if err != nil {
			return 0, fmt.Errorf("insert staged readings: %w", err)
		}
		for rows.Next() {
			var k seriesKey
			var n int64
			if err := rows.Scan(&k.sensor, &k.measure, &n); err != nil {
				rows.Close()
				return 0, fmt.Errorf("insert staged readings: %w", err)
			}
			sp := rt.touched[k]
			sp.inserted += n
			rt.touched[k] = sp
			inserted += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("insert staged readings: %w", err)
		}
		rt.staged[d] = 0
	}
	rt.moved = rt.ord
	return inserted, nil
}

// deleteSensorReadings deletes the readings and rollups of a sensor, in
// the transaction that deletes it. On PostgreSQL it first takes the
// sensor's row lock, which waits for every insert holding a key-share
// lock on it: their readings are committed, and seen, before the deletes
// run, and later inserts find no sensor.
func deleteSensorReadings(ctx context.Context, d Dialect, tx *sql.Tx, sensorID int64) error {
	if d == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM sensor WHERE id = $1 FOR UPDATE`, sensorID); err != nil {
			return fmt.Errorf("lock sensor: %w", err)
		}
	}
	for _, dt := range dtbase.Datatypes {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+readingTable(dt)+` WHERE sensor_id = $1`, sensorID); err != nil {
			return fmt.Errorf("delete readings: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM reading_rollup WHERE sensor_id = $1`, sensorID); err != nil {
		return fmt.Errorf("delete rollups: %w", err)
	}
	return nil
}

// prepared returns the transaction's prepared statement of q on SQLite:
// modernc's SQLite would otherwise compile every statement of the rollup
// upkeep anew, which costs more than running it. A statement of the
// store's cache is reused; another is prepared for this transaction and
// cached after it.
func (rt *readingTx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := rt.stmts[q]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if cached := rt.db.stmts.get(rt.db.write, q); cached != nil {
		st = rt.tx.StmtContext(ctx, cached)
	} else {
		var err error
		if st, err = rt.tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		rt.uncached = append(rt.uncached, q)
	}
	rt.stmts[q] = st
	return st, nil
}

// cacheStmts adds the writer's statements of queries to the cache, once no
// transaction holds the writer.
func (db *DB) cacheStmts(ctx context.Context, queries []string) {
	if db.Dialect != SQLite {
		return
	}
	for _, q := range queries {
		db.stmts.prepare(ctx, db.write, q)
	}
}

// QueryContext runs a query in the transaction, prepared on SQLite. On
// PostgreSQL pgx caches statements per connection, and preparing one per
// transaction would cost two round trips.
func (rt *readingTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if rt.db.Dialect == Postgres {
		return rt.tx.QueryContext(ctx, q, args...)
	}
	st, err := rt.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs a single-row query in the transaction, prepared on
// SQLite.
func (rt *readingTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if rt.db.Dialect == Postgres {
		return rt.tx.QueryRowContext(ctx, q, args...)
	}
	st, err := rt.prepared(ctx, q)
	if err != nil {
		return rt.tx.QueryRowContext(ctx, q, args...) // reports the error
	}
	return st.QueryRowContext(ctx, args...)
}

// ExecContext runs a statement in the transaction, prepared on SQLite.
func (rt *readingTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if rt.db.Dialect == Postgres {
		return rt.tx.ExecContext(ctx, q, args...)
	}
	st, err := rt.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// rangeEmpty reports whether the series of rb has no reading in the span
// of rb: one descent of the primary key.
func (rt *readingTx) rangeEmpty(ctx context.Context, rb *readingBatch) (bool, error) {
	var found bool
	err := rt.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+readingTable(rb.m.Datatype)+
		` WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4)`,
		rb.m.SensorID, rb.m.MeasureID, rb.ts[0], rb.ts[rb.len()-1]).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("probe readings: %w", err)
	}
	return !found, nil
}

// copyDirect copies a batch into its empty range with COPY, the first of
// equal timestamps kept, and returns the rows written.
func (rt *readingTx) copyDirect(ctx context.Context, rb *readingBatch) (int64, error) {
	keep := make([]int, 0, rb.len())
	for k := range rb.ts {
		if k == 0 || rb.ts[k] != rb.ts[k-1] {
			keep = append(keep, k)
		}
	}
	var n int64
	err := rt.conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		var err error
		n, err = pc.CopyFrom(ctx, pgx.Identifier{readingTable(rb.m.Datatype)}, []string{"sensor_id", "measure_id", "ts", "value"},
			pgx.CopyFromSlice(len(keep), func(i int) ([]any, error) {
				k := keep[i]
				return []any{rb.m.SensorID, rb.m.MeasureID, rb.ts[k], rb.value(k)}, nil
			}))
		return err
	})
	return n, err
}
