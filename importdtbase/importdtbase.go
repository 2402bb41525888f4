// Package importdtbase copies an original DTBase database (the Python
// backend's PostgreSQL schema) into a dtbase store: the dtbase import-dtbase
// command. docs/compatibility.md says what changes on the way. It writes
// the store's tables directly, in one transaction of the store's
// (sqldb.DB.WithTx), because it keeps the original's ids.
//
// The whole import is one transaction on our side: it either commits
// everything or leaves the database as it was. The source is read in one
// REPEATABLE READ, READ ONLY transaction, so the copy is a consistent
// snapshot even while the original backend keeps running. Every query
// streams its rows; readings and model values are written in batches, so
// memory stays flat whatever the size of the source.
//
// Ids are kept: a row keeps its original id unless that id is already used
// in our table (only possible when importing with Force into a database
// that holds data), in which case it gets a fresh one above every id of
// both databases, and every reference to it is mapped. Rows whose identity
// already exists (same email, same sensor type name, same measure name and
// units, …) are merged into the existing row; this is also how the
// original's duplicated null-units measures (its bug B5) become one.
package importdtbase

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

// Options configures Import.
type Options struct {
	// Force allows importing into a database that already holds data. Rows
	// with the identity of an existing row are merged into it; the others
	// are added.
	Force bool
	// BatchSize is the number of readings or model values written per
	// statement; zero means DefaultBatchSize.
	BatchSize int
	// Progress, when set, is called after each batch and each table.
	Progress func(Progress)
}

// DefaultBatchSize is the batch of readings written per statement.
const DefaultBatchSize = 10_000

// Progress reports how far an import is.
type Progress struct {
	Table      string // the source table being copied
	TableDone  int64  // rows of Table read so far
	TableTotal int64  // rows of Table in the source
	Done       int64  // rows read so far over every table
	Total      int64  // rows in every source table
}

// TableCount is what happened to one source table.
type TableCount struct {
	Source  string // the original's table
	Target  string // ours
	Read    int64  // rows read from the source
	Written int64  // rows added to our database
	// Merged counts rows that matched a row already there (the same name,
	// the same measure, a duplicate reading) and were merged into it.
	Merged int64
	// Skipped counts rows left out, with the reason in the summary's Notes.
	Skipped int64
}

// Summary reports a finished import.
type Summary struct {
	Tables  []TableCount // in the order they were copied
	Notes   []string     // merges and skips worth reading
	Read    int64
	Written int64
	Elapsed time.Duration
}

// The original's tables, in the order they are copied (parents first).
var dtbaseSourceTables = []string{
	`"User"`,
	"location_identifier", "location_schema", "location_schema_identifier_relation", "location",
	"location_string_value", "location_integer_value", "location_float_value", "location_boolean_value",
	"sensor_type", "sensor_measure", "sensor_type_measure_relation", "sensor", "sensor_location",
	"sensor_string_reading", "sensor_integer_reading", "sensor_float_reading", "sensor_boolean_reading",
	"model", "model_scenario", "model_measure", "model_run", "model_product",
	"model_string_value", "model_integer_value", "model_float_value", "model_booleanvalue",
	"service", "service_parameter_set", "service_run_log",
}

// importTarget is one of our tables whose rows get ids mapped from the
// source's.
type importTarget struct {
	table  string
	maxID  int64            // largest id in our table before the import
	next   int64            // next fresh id, above every id of both databases
	ids    map[int64]int64  // source id → our id
	keys   map[string]int64 // identity → our id
	dtypes map[int64]string // our id → datatype, for measures and identifiers
	rows   int64            // rows in our table before the import, counted for the emptiness check
}

// id returns the id a new row for source id src gets.
func (t *importTarget) id(src int64) int64 {
	if src > t.maxID {
		return src
	}
	id := t.next
	t.next++
	return id
}

// importer carries one import.
type importer struct {
	db      *sqldb.DB
	tx      *sql.Tx
	src     pgx.Tx
	opt     Options
	targets map[string]*importTarget
	counts  map[string]int64 // source table → rows
	sum     *Summary
	cur     *TableCount
	done    int64
	total   int64
	stmts   map[string]*sql.Stmt
	now     time.Time
}

// Import copies the original DTBase database at sourceURL (a
// postgres:// URL) into db, in one transaction. It returns EINVALID when
// sourceURL is not a PostgreSQL URL or does not hold the original's schema,
// and ECONFLICT when db already holds data and opt.Force is not set. Users
// become admins (the original had no roles) and keep their bcrypt hashes,
// so they log in with their passwords.
func Import(ctx context.Context, db *sqldb.DB, sourceURL string, opt Options) (*Summary, error) {
	start := time.Now()
	if !sqldb.IsPostgresURL(sourceURL) {
		return nil, dtbase.Errorf(dtbase.EINVALID, "the source must be a postgres:// URL, got %q", redactDSN(sourceURL))
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultBatchSize
	}
	conn, err := pgx.Connect(ctx, sourceURL)
	if err != nil {
		return nil, fmt.Errorf("connect to the source database %s: %w", redactDSN(sourceURL), err)
	}
	defer conn.Close(context.Background())
	src, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("read the source database: %w", err)
	}
	defer src.Rollback(context.Background())

	im := &importer{db: db, src: src, opt: opt, targets: map[string]*importTarget{}, counts: map[string]int64{},
		sum: &Summary{}, stmts: map[string]*sql.Stmt{}, now: db.Now()}
	if err := im.checkSource(ctx); err != nil {
		return nil, err
	}
	// The readings' months are created first, outside the import's
	// transaction (each in a transaction of its own, as the leader does),
	// so that the rows are copied straight into their partitions instead
	// of the default one.
	if err := im.createMonths(ctx); err != nil {
		return nil, err
	}
	err = db.WithTx(ctx, func(tx *sql.Tx) error {
		im.tx = tx
		defer im.closeStmts()
		if err := im.loadTargets(ctx); err != nil {
			return err
		}
		if err := im.checkEmpty(); err != nil {
			return err
		}
		if err := im.copyAll(ctx); err != nil {
			return err
		}
		return db.RebuildAllRollups(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	im.sum.Elapsed = time.Since(start)
	return im.sum, nil
}

// createMonths creates, on PostgreSQL, the partitions of the months the
// source's readings span.
func (im *importer) createMonths(ctx context.Context) error {
	var parts []string
	for _, dt := range dtbase.Datatypes {
		parts = append(parts, `SELECT min(timestamp) AS lo, max(timestamp) AS hi FROM sensor_`+string(dt)+`_reading`)
	}
	var lo, hi *time.Time
	err := im.src.QueryRow(ctx, `SELECT min(lo), max(hi) FROM (`+strings.Join(parts, " UNION ALL ")+`) AS spans`).Scan(&lo, &hi)
	if err != nil {
		return fmt.Errorf("read the span of the source's readings: %w", err)
	}
	if lo == nil || hi == nil {
		return nil // no readings
	}
	if _, err := im.db.CreatePartitions(ctx, *lo, *hi); err != nil {
		return fmt.Errorf("create the partitions of the readings' months: %w", err)
	}
	return nil
}

// redactDSN hides the password of a database URL.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.LastIndex(dsn[i+3:], "@"); j >= 0 {
			if user, _, ok := strings.Cut(dsn[i+3:i+3+j], ":"); ok {
				return dsn[:i+3] + user + ":***" + dsn[i+3+j:]
			}
		}
	}
	return dsn
}

// checkSource verifies that the source holds the original's tables and
// counts their rows for the progress report.
func (im *importer) checkSource(ctx context.Context) error {
	rows, err := im.src.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		return fmt.Errorf("list the source's tables: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list the source's tables: %w", err)
	}
	present := map[string]bool{}
	for _, name := range names {
		present[name] = true
	}
	if present["schema_migration"] && present["reading_float"] {
		return dtbase.Errorf(dtbase.EINVALID, "the source is a database of this dtbase, not of the original DTBase; copy it with pg_dump instead")
	}
	var missing []string
	for _, t := range dtbaseSourceTables {
		if !present[strings.Trim(t, `"`)] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return dtbase.Errorf(dtbase.EINVALID, "the source does not hold an original DTBase database: missing tables %s", strings.Join(missing, ", "))
	}
	for _, t := range dtbaseSourceTables {
		var n int64
		if err := im.src.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return fmt.Errorf("count the rows of %s: %w", t, err)
		}
		im.counts[t] = n
		im.total += n
	}
	return nil
}

// unitsKey renders (name, units) with NULL units as a value of its own,
// as our unique indexes do.
func unitsKey(name string, units *string) string {
	if units == nil {
		return name + "\x00n"
	}
	return name + "\x00v" + *units
}

func nullableKey(s *string) string {
	if s == nil {
		return "\x00n"
	}
	return "\x00v" + *s
}

func idKey(ids ...int64) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte('/')
	}
	return b.String()
}

// loadTargets reads the ids and identities already in our tables, so rows
// of the source can be merged into them and fresh ids chosen above them.
func (im *importer) loadTargets(ctx context.Context) error {
	type spec struct {
		table, query string
		key          func(vals []any) (string, bool) // identity, and whether the row counts as data
		srcTable     string
	}
	str := func(v any) string { return v.(sql.NullString).String }
	ptr := func(v any) *string {
		if s := v.(sql.NullString); s.Valid {
			return &s.String
		}
		return nil
	}
	num := func(v any) int64 { return v.(sql.NullInt64).Int64 }
	specs := []spec{
		{"app_user", "SELECT id, email FROM app_user", func(v []any) (string, bool) {
			// A fresh `dtbase serve` creates the default user: that alone
			// does not make the database hold data.
			return str(v[1]), str(v[1]) != dtbase.DefaultUserEmail
		}, `"User"`},
		{"location_identifier", "SELECT id, name, units, datatype FROM location_identifier", func(v []any) (string, bool) {
			return unitsKey(str(v[1]), ptr(v[2])), true
		}, "location_identifier"},
		{"location_schema", "SELECT id, name FROM location_schema", func(v []any) (string, bool) { return str(v[1]), true }, "location_schema"},
		{"location", "SELECT id FROM location", nil, "location"},
		{"sensor_type", "SELECT id, name FROM sensor_type", func(v []any) (string, bool) { return str(v[1]), true }, "sensor_type"},
		{"sensor_measure", "SELECT id, name, units, datatype FROM sensor_measure", func(v []any) (string, bool) {
			return unitsKey(str(v[1]), ptr(v[2])), true
		}, "sensor_measure"},
		{"sensor", "SELECT id, unique_identifier FROM sensor", func(v []any) (string, bool) { return str(v[1]), true }, "sensor"},
		{"model", "SELECT id, name FROM model", func(v []any) (string, bool) { return str(v[1]), true }, "model"},
		{"model_scenario", "SELECT id, model_id, description FROM model_scenario", func(v []any) (string, bool) {
			return idKey(num(v[1])) + nullableKey(ptr(v[2])), true
		}, "model_scenario"},
		{"model_measure", "SELECT id, name, units, datatype FROM model_measure", func(v []any) (string, bool) {
			u := str(v[2])
			return unitsKey(str(v[1]), &u), true
		}, "model_measure"},
		{"model_run", "SELECT id, model_id, scenario_id, time_created FROM model_run", func(v []any) (string, bool) {
			return idKey(num(v[1]), num(v[2]), num(v[3])), true
		}, "model_run"},
		{"model_product", "SELECT id, run_id, measure_id FROM model_product", func(v []any) (string, bool) {
			return idKey(num(v[1]), num(v[2])), true
		}, "model_product"},
		{"service", "SELECT id, name, builtin FROM service", func(v []any) (string, bool) {
			// Built-in services are registered by dtbase itself.
			return str(v[1]), !v[2].(sql.NullString).Valid
		}, "service"},
		{"service_parameter_set", "SELECT id, service_id, name FROM service_parameter_set", func(v []any) (string, bool) {
			return idKey(num(v[1])) + str(v[2]), true
		}, "service_parameter_set"},
		{"service_run_log", "SELECT id, service_id, timestamp FROM service_run_log", func(v []any) (string, bool) {
			return idKey(num(v[1]), num(v[2])), true
		}, "service_run_log"},
	}
	for _, s := range specs {
		t := &importTarget{table: s.table, ids: map[int64]int64{}, keys: map[string]int64{}, dtypes: map[int64]string{}}
		rows, err := im.tx.QueryContext(ctx, s.query)
		if err != nil {
			return fmt.Errorf("read %s: %w", s.table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			var id int64
			ptrs[0] = &id
			for i := 1; i < len(cols); i++ {
				switch cols[i] {
				case "model_id", "scenario_id", "time_created", "run_id", "measure_id", "service_id", "timestamp":
					ptrs[i] = new(sql.NullInt64)
				default:
					ptrs[i] = new(sql.NullString)
				}
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("read %s: %w", s.table, err)
			}
			for i := 1; i < len(cols); i++ {
				switch p := ptrs[i].(type) {
				case *sql.NullInt64:
					vals[i] = *p
				case *sql.NullString:
					vals[i] = *p
				}
			}
			t.maxID = max(t.maxID, id)
			counts := true
			if s.key != nil {
				var key string
				key, counts = s.key(vals)
				t.keys[key] = id
			}
			if counts {
				t.rows++
			}
			if len(cols) > 3 && cols[3] == "datatype" {
				t.dtypes[id] = str(vals[3])
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read %s: %w", s.table, err)
		}
		var srcMax int64
		if err := im.src.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM "+s.srcTable).Scan(&srcMax); err != nil {
			return fmt.Errorf("read %s: %w", s.srcTable, err)
		}
		t.next = max(t.maxID, srcMax) + 1
		im.targets[s.table] = t
	}
	return nil
}

// checkEmpty refuses to import into a database that holds data, unless
// forced.
func (im *importer) checkEmpty() error {
	if im.opt.Force {
		return nil
	}
	var found []string
	for _, name := range []string{"app_user", "location_schema", "location", "sensor_type", "sensor_measure", "sensor",
		"model", "model_measure", "model_run", "service", "service_run_log"} {
		if n := im.targets[name].rows; n > 0 {
			found = append(found, fmt.Sprintf("%s: %d", name, n))
		}
	}
	if len(found) > 0 {
		return dtbase.Errorf(dtbase.ECONFLICT, "the database already holds data (%s); import into an empty database, or use --force to merge into it",
			strings.Join(found, ", "))
	}
	return nil
}

func (im *importer) closeStmts() {
	for _, st := range im.stmts {
		st.Close()
	}
}

// copyTable copies source into target: it calls fn for each row of query
// and counts them as the table's.
func (im *importer) copyTable(ctx context.Context, source, target, query string, fn func(pgx.Rows) error) error {
	im.begin(source, target)
	if err := im.query(ctx, query, fn); err != nil {
		return err
	}
	im.end()
	return nil
}

// begin starts the count of a source table.
func (im *importer) begin(source, target string) {
	im.sum.Tables = append(im.sum.Tables, TableCount{Source: source, Target: target})
	im.cur = &im.sum.Tables[len(im.sum.Tables)-1]
	im.report()
}

// end finishes the count of the current table.
func (im *importer) end() {
	im.sum.Read += im.cur.Read
	im.sum.Written += im.cur.Written
	im.report()
}

func (im *importer) report() {
	if im.opt.Progress != nil && im.cur != nil {
		im.opt.Progress(Progress{Table: im.cur.Source, TableDone: im.cur.Read, TableTotal: im.counts[im.cur.Source],
			Done: im.done, Total: im.total})
	}
}

// read counts one source row, reporting progress now and then for the
// tables that are not written in batches.
func (im *importer) read() {
	im.cur.Read++
	im.done++
	if im.cur.Read%progressEvery == 0 {
		im.report()
	}
}

// progressEvery is how many rows of a table are read between reports.
const progressEvery = 5000

func (im *importer) note(format string, args ...any) {
	im.sum.Notes = append(im.sum.Notes, fmt.Sprintf(format, args...))
}

// exec runs a statement in the import transaction, preparing it once.
func (im *importer) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ok := im.stmts[query]
	if !ok {
		var err error
		if st, err = im.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		im.stmts[query] = st
	}
	return st.ExecContext(ctx, args...)
}

// insertRow adds a row with the id chosen for source id srcID, records the
// mapping and returns the new id.
func (im *importer) insertRow(ctx context.Context, t *importTarget, srcID int64, key string, cols string, args ...any) (int64, error) {
	id := t.id(srcID)
	ph := make([]string, len(args)+1)
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	q := "INSERT INTO " + t.table + " (id, " + cols + ") VALUES (" + strings.Join(ph, ", ") + ")"
	if _, err := im.exec(ctx, q, append([]any{id}, args...)...); err != nil {
		return 0, fmt.Errorf("import %s id %d: %w", t.table, srcID, err)
	}
	t.ids[srcID] = id
	if key != "" {
		t.keys[key] = id
	}
	im.cur.Written++
	return id, nil
}

// mapExisting maps source id srcID to the row with identity key if there is
// one, and reports whether it did.
func (im *importer) mapExisting(t *importTarget, srcID int64, key string) bool {
	id, ok := t.keys[key]
	if ok {
		t.ids[srcID] = id
		im.cur.Merged++
	}
	return ok
}

// ref maps a source id through a target, failing on an id the source's
// foreign keys should have made impossible.
func (im *importer) ref(table string, srcID int64) (int64, error) {
	id, ok := im.targets[table].ids[srcID]
	if !ok {
		return 0, fmt.Errorf("import %s: the source refers to %s id %d, which it does not hold", im.cur.Source, table, srcID)
	}
	return id, nil
}

// refPair maps two source ids, each as ref does.
func (im *importer) refPair(aTable string, a int64, bTable string, b int64) (int64, int64, error) {
	na, err := im.ref(aTable, a)
	if err != nil {
		return 0, 0, err
	}
	nb, err := im.ref(bTable, b)
	return na, nb, err
}

// query streams the rows of a source query to fn.
func (im *importer) query(ctx context.Context, q string, fn func(pgx.Rows) error) error {
	rows, err := im.src.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("read %s: %w", im.cur.Source, err)
	}
	defer rows.Close()
	for rows.Next() {
		im.read()
		if err := fn(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", im.cur.Source, err)
	}
	return nil
}

func (im *importer) copyAll(ctx context.Context) error {
	steps := []func(context.Context) error{
		im.copyUsers, im.copyLocations, im.copySensors, im.copyReadings, im.copyModels, im.copyServices,
	}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := step(ctx); err != nil {
			return err
		}
	}
	return im.resetSequences(ctx)
}

// resetSequences moves PostgreSQL's identity sequences past the ids the
// import wrote explicitly, so the next insert does not collide. SQLite
// picks the next rowid from the table itself.
func (im *importer) resetSequences(ctx context.Context) error {
	if im.db.Dialect != sqldb.Postgres {
		return nil
	}
	names := make([]string, 0, len(im.targets))
	for name := range im.targets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := im.tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT coalesce(max(id), 0) + 1 FROM `+name+`), false)`, name); err != nil {
			return fmt.Errorf("reset the id sequence of %s: %w", name, err)
		}
	}
	return nil
}
