package sqldb

// Import of an original DTBase database (the Python backend's PostgreSQL
// schema) into ours; docs/compatibility.md says what changes on the way.
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

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
)

// ImportDTBaseOptions configures ImportDTBase.
type ImportDTBaseOptions struct {
	// Force allows importing into a database that already holds data. Rows
	// with the identity of an existing row are merged into it; the others
	// are added.
	Force bool
	// BatchSize is the number of readings or model values written per
	// statement; zero means DefaultImportBatchSize.
	BatchSize int
	// Progress, when set, is called after each batch and each table.
	Progress func(ImportProgress)
}

// DefaultImportBatchSize is the batch of readings written per statement.
const DefaultImportBatchSize = 10_000

// ImportProgress reports how far an import is.
type ImportProgress struct {
	Table      string // the source table being copied
	TableDone  int64  // rows of Table read so far
	TableTotal int64  // rows of Table in the source
	Done       int64  // rows read so far over every table
	Total      int64  // rows in every source table
}

// ImportTableCount is what happened to one source table.
type ImportTableCount struct {
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

// ImportSummary reports a finished import.
type ImportSummary struct {
	Tables  []ImportTableCount // in the order they were copied
	Notes   []string           // merges and skips worth reading
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
	db      *DB
	tx      *sql.Tx
	src     pgx.Tx
	opt     ImportDTBaseOptions
	targets map[string]*importTarget
	counts  map[string]int64 // source table → rows
	sum     *ImportSummary
	cur     *ImportTableCount
	done    int64
	total   int64
	stmts   map[string]*sql.Stmt
	now     time.Time
}

// ImportDTBase copies the original DTBase database at sourceURL (a
// postgres:// URL) into db, in one transaction. It returns EINVALID when
// sourceURL is not a PostgreSQL URL or does not hold the original's schema,
// and ECONFLICT when db already holds data and opt.Force is not set. Users
// become admins (the original had no roles) and keep their bcrypt hashes,
// so they log in with their passwords.
func (db *DB) ImportDTBase(ctx context.Context, sourceURL string, opt ImportDTBaseOptions) (*ImportSummary, error) {
	start := time.Now()
	if !IsPostgresURL(sourceURL) {
		return nil, dtbase.Errorf(dtbase.EINVALID, "the source must be a postgres:// URL, got %q", redactDSN(sourceURL))
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultImportBatchSize
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
		sum: &ImportSummary{}, stmts: map[string]*sql.Stmt{}, now: db.Now()}
	if err := im.checkSource(ctx); err != nil {
		return nil, err
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
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
		return db.rebuildAllRollups(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	im.sum.Elapsed = time.Since(start)
	return im.sum, nil
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
	present := map[string]bool{}
	rows, err := im.src.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		return fmt.Errorf("list the source's tables: %w", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("list the source's tables: %w", err)
		}
		present[name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list the source's tables: %w", err)
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

// begin starts the count of a source table.
func (im *importer) begin(source, target string) {
	im.sum.Tables = append(im.sum.Tables, ImportTableCount{Source: source, Target: target})
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
		im.opt.Progress(ImportProgress{Table: im.cur.Source, TableDone: im.cur.Read, TableTotal: im.counts[im.cur.Source],
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
	if im.db.Dialect != Postgres {
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

func (im *importer) copyUsers(ctx context.Context) error {
	t := im.targets["app_user"]
	im.begin(`"User"`, "app_user")
	err := im.query(ctx, `SELECT id, email, password, coalesce(time_created, now()), time_updated FROM "User" ORDER BY id`, func(r pgx.Rows) error {
		var id int64
		var email string
		var hash []byte
		var created time.Time
		var updated *time.Time
		if err := r.Scan(&id, &email, &hash, &created, &updated); err != nil {
			return fmt.Errorf("read \"User\": %w", err)
		}
		if existing, ok := t.keys[email]; ok {
			// The same person: they keep logging in with the password they
			// used on the original.
			t.ids[id] = existing
			im.cur.Merged++
			_, err := im.exec(ctx, `UPDATE app_user SET password_hash = $1 WHERE id = $2`, hash, existing)
			if err != nil {
				return fmt.Errorf("import user %s: %w", email, err)
			}
			im.note("user %s existed: it keeps its role and takes the original's password", email)
			return nil
		}
		if err := checkRow(`"User"`, id, &dtbase.User{Email: email, Role: dtbase.RoleAdmin}); err != nil {
			return err
		}
		_, err := im.insertRow(ctx, t, id, email, "email, password_hash, role, time_created, time_updated",
			email, hash, string(dtbase.RoleAdmin), micros(created), optMicros(updated))
		return err
	})
	if err != nil {
		return err
	}
	im.end()
	return nil
}

// checkRow applies the domain's rules to a source row, so the import
// stores nothing the API would refuse; EINVALID naming the row and field.
func checkRow(source string, id int64, v interface{ Validate() error }) error {
	if err := v.Validate(); err != nil {
		return dtbase.Errorf(dtbase.EINVALID, "%s id %d: %s Shorten it in the source and import again.", source, id, dtbase.ErrorMessage(err))
	}
	return nil
}

func optMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// copyMeasures copies a table of (name, units, datatype) rows, merging rows
// with the same name and units (NULL units being one value).
func (im *importer) copyMeasures(ctx context.Context, source, target, what string) error {
	t := im.targets[target]
	im.begin(source, target)
	err := im.query(ctx, `SELECT id, name, units, datatype::text, coalesce(time_created, now()) FROM `+source+` ORDER BY id`, func(r pgx.Rows) error {
		var id int64
		var name *string
		var units *string
		var dtype string
		var created time.Time
		if err := r.Scan(&id, &name, &units, &dtype, &created); err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		if name == nil { // only model_measure allows it; its API never wrote one
			empty := ""
			name = &empty
			im.note("%s id %d has no name; imported with an empty name", source, id)
		}
		if target == "model_measure" && units == nil {
			empty := ""
			units = &empty
		}
		if err := checkRow(source, id, &dtbase.Measure{Name: *name, Units: units}); err != nil {
			return err
		}
		key := unitsKey(*name, units)
		if existing, ok := t.keys[key]; ok {
			if t.dtypes[existing] != dtype {
				return dtbase.Errorf(dtbase.EINVALID, "%s %q with units %s is of datatype %s, but the source's id %d, with the same name and units, is of datatype %s; make them agree in the source first",
					what, *name, quoteUnits(units), t.dtypes[existing], id, dtype)
			}
			im.mapExisting(t, id, key)
			im.note("%s %q with units %s: source id %d merged into id %d", what, *name, quoteUnits(units), id, existing)
			return nil
		}
		newID, err := im.insertRow(ctx, t, id, key, "name, units, datatype, time_created", *name, units, dtype, micros(created))
		t.dtypes[newID] = dtype
		return err
	})
	if err != nil {
		return err
	}
	im.end()
	return nil
}

// copyNamed copies a table whose rows are identified by a unique name.
func (im *importer) copyNamed(ctx context.Context, source, target, query, cols string, scan func(pgx.Rows) (int64, string, []any, error)) error {
	t := im.targets[target]
	im.begin(source, target)
	err := im.query(ctx, query, func(r pgx.Rows) error {
		id, name, args, err := scan(r)
		if err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		if im.mapExisting(t, id, name) {
			return nil
		}
		_, err = im.insertRow(ctx, t, id, name, cols, args...)
		return err
	})
	if err != nil {
		return err
	}
	im.end()
	return nil
}

// copyLinks copies a relation table of (parent, child) pairs into ours,
// whose own ids nothing refers to.
func (im *importer) copyLinks(ctx context.Context, source, target, a, b, aTable, bTable string) error {
	im.begin(source, target)
	err := im.query(ctx, `SELECT `+a+`, `+b+` FROM `+source+` ORDER BY id`, func(r pgx.Rows) error {
		var x, y int64
		if err := r.Scan(&x, &y); err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		nx, err := im.ref(aTable, x)
		if err != nil {
			return err
		}
		ny, err := im.ref(bTable, y)
		if err != nil {
			return err
		}
		res, err := im.exec(ctx, `INSERT INTO `+target+` (`+a+`, `+b+`) VALUES ($1, $2) ON CONFLICT DO NOTHING`, nx, ny)
		if err != nil {
			return fmt.Errorf("import %s: %w", source, err)
		}
		im.countInsert(res, 1)
		return nil
	})
	if err != nil {
		return err
	}
	im.end()
	return nil
}

// countInsert adds the rows an INSERT … ON CONFLICT DO NOTHING wrote, and
// counts the others as merged.
func (im *importer) countInsert(res sql.Result, attempted int64) {
	n, err := res.RowsAffected()
	if err != nil {
		n = attempted
	}
	im.cur.Written += n
	im.cur.Merged += attempted - n
}

// locValue is one coordinate of a location.
type locValue struct {
	ident int64 // our identifier id
	dt    dtbase.Datatype
	v     any
}

// locationKey is the identity of a location: its schema and coordinates.
func locationKey(schema int64, vals []locValue) string {
	sorted := slices.Clone(vals)
	slices.SortFunc(sorted, func(a, b locValue) int { return cmp.Compare(a.ident, b.ident) })
	var k strings.Builder
	k.WriteString(strconv.FormatInt(schema, 10))
	for _, v := range sorted {
		fmt.Fprintf(&k, "/%d=%s:%#v", v.ident, v.dt, v.v)
	}
	return k.String()
}

// loadLocationKeys adds the identities of the locations already in our
// database, so a forced import merges a location with the same schema and
// coordinates instead of adding it twice.
func (im *importer) loadLocationKeys(ctx context.Context) error {
	t := im.targets["location"]
	if t.maxID == 0 {
		return nil
	}
	schemas := map[int64]int64{}
	vals := map[int64][]locValue{}
	rows, err := im.tx.QueryContext(ctx, `SELECT l.id, l.schema_id, v.identifier_id, i.datatype, v.string_value, v.integer_value, v.float_value, v.boolean_value
		FROM location l LEFT JOIN location_value v ON v.location_id = l.id LEFT JOIN location_identifier i ON i.id = v.identifier_id`)
	if err != nil {
		return fmt.Errorf("read locations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, schema int64
		var ident sql.NullInt64
		var dt, sv sql.NullString
		var iv sql.NullInt64
		var fv sql.NullFloat64
		var bv sql.NullBool
		if err := rows.Scan(&id, &schema, &ident, &dt, &sv, &iv, &fv, &bv); err != nil {
			return fmt.Errorf("read locations: %w", err)
		}
		schemas[id] = schema
		if !ident.Valid {
			continue
		}
		lv := locValue{ident: ident.Int64, dt: dtbase.Datatype(dt.String)}
		switch lv.dt {
		case dtbase.String:
			lv.v = sv.String
		case dtbase.Integer:
			lv.v = iv.Int64
		case dtbase.Float:
			lv.v = fv.Float64
		case dtbase.Boolean:
			lv.v = bv.Bool
		}
		vals[id] = append(vals[id], lv)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read locations: %w", err)
	}
	for id, schema := range schemas {
		t.keys[locationKey(schema, vals[id])] = id
	}
	return nil
}

func (im *importer) copyLocations(ctx context.Context) error {
	if err := im.copyMeasures(ctx, "location_identifier", "location_identifier", "location identifier"); err != nil {
		return err
	}
	err := im.copyNamed(ctx, "location_schema", "location_schema",
		`SELECT id, name, description, coalesce(time_created, now()) FROM location_schema ORDER BY id`,
		"name, description, time_created",
		func(r pgx.Rows) (int64, string, []any, error) {
			var id int64
			var name string
			var desc *string
			var created time.Time
			if err := r.Scan(&id, &name, &desc, &created); err != nil {
				return 0, "", nil, err
			}
			return id, name, []any{name, desc, micros(created)}, checkRow("location_schema", id, &dtbase.LocationSchema{Name: name, Description: desc})
		})
	if err != nil {
		return err
	}
	if err := im.copyLinks(ctx, "location_schema_identifier_relation", "location_schema_identifier",
		"schema_id", "identifier_id", "location_schema", "location_identifier"); err != nil {
		return err
	}

	// A location is identified by its schema and coordinates, so its values
	// are read first. Locations are few; the values are held in memory.
	if err := im.loadLocationKeys(ctx); err != nil {
		return err
	}
	datatypes := []dtbase.Datatype{dtbase.String, dtbase.Integer, dtbase.Float, dtbase.Boolean}
	values := map[int64][]locValue{} // source location id → coordinates with our identifier ids
	nonFinite := map[dtbase.Datatype]int64{}
	for _, dt := range datatypes {
		source := "location_" + string(dt) + "_value"
		rows, err := im.src.Query(ctx, `SELECT location_id, identifier_id, value FROM `+source+` ORDER BY id`)
		if err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
		for rows.Next() {
			var loc, ident int64
			v, err := scanValue(dt, rows, &loc, &ident)
			if err != nil {
				rows.Close()
				return fmt.Errorf("read %s: %w", source, err)
			}
			if f, ok := v.(float64); ok && !isFinite(f) {
				nonFinite[dt]++
				continue
			}
			ni, ok := im.targets["location_identifier"].ids[ident]
			if !ok {
				rows.Close()
				return fmt.Errorf("import %s: the source refers to location_identifier id %d, which it does not hold", source, ident)
			}
			values[loc] = append(values[loc], locValue{ident: ni, dt: dt, v: v})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
	}

	t := im.targets["location"]
	var order []int64 // source location ids in id order
	im.begin("location", "location")
	err = im.query(ctx, `SELECT id, schema_id, coalesce(time_created, now()) FROM location ORDER BY id`, func(r pgx.Rows) error {
		var id, schema int64
		var created time.Time
		if err := r.Scan(&id, &schema, &created); err != nil {
			return fmt.Errorf("read location: %w", err)
		}
		order = append(order, id)
		ns, err := im.ref("location_schema", schema)
		if err != nil {
			return err
		}
		// Only locations that were there before the import are matched:
		// two of the source's locations with the same coordinates stay two.
		if im.mapExisting(t, id, locationKey(ns, values[id])) {
			return nil
		}
		_, err = im.insertRow(ctx, t, id, "", "schema_id, time_created", ns, micros(created))
		return err
	})
	if err != nil {
		return err
	}
	im.end()
	for _, dt := range datatypes {
		source := "location_" + string(dt) + "_value"
		im.begin(source, "location_value")
		for _, loc := range order {
			for _, v := range values[loc] {
				if v.dt != dt {
					continue
				}
				im.read()
				res, err := im.exec(ctx, `INSERT INTO location_value (location_id, identifier_id, `+locValueColumn(dt)+`) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
					t.ids[loc], v.ident, v.v)
				if err != nil {
					return fmt.Errorf("import %s: %w", source, err)
				}
				im.countInsert(res, 1)
			}
		}
		if n := nonFinite[dt]; n > 0 {
			im.cur.Read += n
			im.done += n
			im.cur.Skipped += n
			im.note("%s: %d values that are NaN or infinite left out", source, n)
		}
		im.end()
	}
	return nil
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (im *importer) copySensors(ctx context.Context) error {
	err := im.copyNamed(ctx, "sensor_type", "sensor_type",
		`SELECT id, name, description, coalesce(time_created, now()) FROM sensor_type ORDER BY id`,
		"name, description, time_created",
		func(r pgx.Rows) (int64, string, []any, error) {
			var id int64
			var name string
			var desc *string
			var created time.Time
			if err := r.Scan(&id, &name, &desc, &created); err != nil {
				return 0, "", nil, err
			}
			return id, name, []any{name, desc, micros(created)}, checkRow("sensor_type", id, &dtbase.SensorType{Name: name, Description: desc})
		})
	if err != nil {
		return err
	}
	if err := im.copyMeasures(ctx, "sensor_measure", "sensor_measure", "sensor measure"); err != nil {
		return err
	}
	if err := im.copyLinks(ctx, "sensor_type_measure_relation", "sensor_type_measure",
		"type_id", "measure_id", "sensor_type", "sensor_measure"); err != nil {
		return err
	}
	t := im.targets["sensor"]
	im.begin("sensor", "sensor")
	err = im.query(ctx, `SELECT id, type_id, unique_identifier, name, notes, coalesce(time_created, now()), time_updated FROM sensor ORDER BY id`, func(r pgx.Rows) error {
		var id, typ int64
		var uid string
		var name, notes *string
		var created time.Time
		var updated *time.Time
		if err := r.Scan(&id, &typ, &uid, &name, &notes, &created, &updated); err != nil {
			return fmt.Errorf("read sensor: %w", err)
		}
		if im.mapExisting(t, id, uid) {
			return nil
		}
		if err := checkRow("sensor", id, &dtbase.Sensor{UniqueIdentifier: uid, Name: name, Notes: notes}); err != nil {
			return err
		}
		nt, err := im.ref("sensor_type", typ)
		if err != nil {
			return err
		}
		_, err = im.insertRow(ctx, t, id, uid, "type_id, unique_identifier, name, notes, time_created, time_updated",
			nt, uid, name, notes, micros(created), optMicros(updated))
		return err
	})
	if err != nil {
		return err
	}
	im.end()

	im.begin("sensor_location", "sensor_location")
	err = im.query(ctx, `SELECT sensor_id, location_id, installation_datetime FROM sensor_location ORDER BY id`, func(r pgx.Rows) error {
		var sensor, loc int64
		var installed time.Time
		if err := r.Scan(&sensor, &loc, &installed); err != nil {
			return fmt.Errorf("read sensor_location: %w", err)
		}
		ns, err := im.ref("sensor", sensor)
		if err != nil {
			return err
		}
		nl, err := im.ref("location", loc)
		if err != nil {
			return err
		}
		res, err := im.exec(ctx, `INSERT INTO sensor_location (sensor_id, location_id, installation_datetime) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			ns, nl, micros(installed))
		if err != nil {
			return fmt.Errorf("import sensor_location: %w", err)
		}
		im.countInsert(res, 1)
		return nil
	})
	if err != nil {
		return err
	}
	im.end()
	return nil
}

// pgArrayType is the PostgreSQL array element type of a datatype's values.
func pgArrayType(dt dtbase.Datatype) string {
	switch dt {
	case dtbase.Integer:
		return "bigint"
	case dtbase.Float:
		return "float8"
	case dtbase.Boolean:
		return "boolean"
	}
	return "text"
}

// bulk buffers rows of (ids…, ts, value) for one of our tables and writes
// them in batches: one INSERT … SELECT FROM unnest(arrays) per batch on
// PostgreSQL, multi-row INSERTs on SQLite. Duplicates are skipped, as the
// original's ON CONFLICT DO NOTHING does.
type bulk struct {
	im     *importer
	table  string
	idCols []string // the leading id columns, e.g. sensor_id, measure_id
	dt     dtbase.Datatype
	ids    [][]int64 // per id column
	ts     []int64
	vals   []any // typed slice: []float64, []int64, []string or []bool
	n      int
}

func (im *importer) newBulk(table string, dt dtbase.Datatype, idCols ...string) *bulk {
	b := &bulk{im: im, table: table, idCols: idCols, dt: dt, ids: make([][]int64, len(idCols))}
	b.reset()
	return b
}

func (b *bulk) reset() {
	for i := range b.ids {
		b.ids[i] = b.ids[i][:0]
	}
	b.ts = b.ts[:0]
	b.n = 0
	switch b.dt {
	case dtbase.Float:
		b.vals = []any{make([]float64, 0, b.im.opt.BatchSize)}
	case dtbase.Integer:
		b.vals = []any{make([]int64, 0, b.im.opt.BatchSize)}
	case dtbase.Boolean:
		b.vals = []any{make([]bool, 0, b.im.opt.BatchSize)}
	default:
		b.vals = []any{make([]string, 0, b.im.opt.BatchSize)}
	}
}

// add buffers a row and writes the batch when it is full.
func (b *bulk) add(ctx context.Context, ids []int64, ts int64, v any) error {
	for i, id := range ids {
		b.ids[i] = append(b.ids[i], id)
	}
	b.ts = append(b.ts, ts)
	switch vs := b.vals[0].(type) {
	case []float64:
		b.vals[0] = append(vs, v.(float64))
	case []int64:
		b.vals[0] = append(vs, v.(int64))
	case []bool:
		b.vals[0] = append(vs, v.(bool))
	case []string:
		b.vals[0] = append(vs, v.(string))
	}
	b.n++
	if b.n >= b.im.opt.BatchSize {
		return b.flush(ctx)
	}
	return nil
}

// flush writes the buffered rows.
func (b *bulk) flush(ctx context.Context) error {
	if b.n == 0 {
		return nil
	}
	cols := strings.Join(b.idCols, ", ") + ", ts, value"
	if b.im.db.Dialect == Postgres {
		var q strings.Builder
		q.WriteString("INSERT INTO " + b.table + " (" + cols + ") SELECT * FROM unnest(")
		args := make([]any, 0, len(b.idCols)+2)
		for i := range b.idCols {
			q.WriteString("$" + strconv.Itoa(i+1) + "::bigint[], ")
			args = append(args, b.ids[i])
		}
		k := len(b.idCols)
		q.WriteString("$" + strconv.Itoa(k+1) + "::bigint[], $" + strconv.Itoa(k+2) + "::" + pgArrayType(b.dt) + "[]) ON CONFLICT DO NOTHING")
		args = append(args, b.ts, b.vals[0])
		res, err := b.im.exec(ctx, q.String(), args...)
		if err != nil {
			return fmt.Errorf("import %s into %s: %w", b.im.cur.Source, b.table, err)
		}
		b.im.countInsert(res, int64(b.n))
	} else {
		width := len(b.idCols) + 2
		chunk := 4000 / width // parameters per statement stay far below SQLite's limit
		args := make([]any, 0, width*min(chunk, b.n))
		for start := 0; start < b.n; start += chunk {
			end := min(start+chunk, b.n)
			args = args[:0]
			for k := start; k < end; k++ {
				for i := range b.idCols {
					args = append(args, b.ids[i][k])
				}
				args = append(args, b.ts[k])
				switch vs := b.vals[0].(type) {
				case []float64:
					args = append(args, vs[k])
				case []int64:
					args = append(args, vs[k])
				case []bool:
					args = append(args, vs[k])
				case []string:
					args = append(args, vs[k])
				}
			}
			row := "(" + strings.TrimSuffix(strings.Repeat("?,", width), ",") + ")"
			q := "INSERT INTO " + b.table + " (" + cols + ") VALUES " +
				strings.TrimSuffix(strings.Repeat(row+",", end-start), ",") + " ON CONFLICT DO NOTHING"
			res, err := b.im.exec(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("import %s into %s: %w", b.im.cur.Source, b.table, err)
			}
			b.im.countInsert(res, int64(end-start))
		}
	}
	b.reset()
	b.im.report()
	return ctx.Err()
}

// scanValue reads the value column of a reading or model value row.
func scanValue(dt dtbase.Datatype, r pgx.Rows, dest ...any) (any, error) {
	var v any
	var err error
	switch dt {
	case dtbase.Float:
		var f float64
		err = r.Scan(append(dest, &f)...)
		v = f
	case dtbase.Integer:
		var i int64
		err = r.Scan(append(dest, &i)...)
		v = i
	case dtbase.Boolean:
		var b bool
		err = r.Scan(append(dest, &b)...)
		v = b
	default:
		var s string
		err = r.Scan(append(dest, &s)...)
		v = s
	}
	return v, err
}

func (im *importer) copyReadings(ctx context.Context) error {
	for _, dt := range []dtbase.Datatype{dtbase.String, dtbase.Integer, dtbase.Float, dtbase.Boolean} {
		source := "sensor_" + string(dt) + "_reading"
		im.begin(source, readingTable(dt))
		b := im.newBulk(readingTable(dt), dt, "sensor_id", "measure_id")
		// The order of the source's unique index: a scan without a sort,
		// and each series arrives in time order.
		var lastSensor, lastMeasure, ns, nm int64 = -1, -1, 0, 0
		err := im.query(ctx, `SELECT sensor_id, measure_id, timestamp, value FROM `+source+` ORDER BY measure_id, sensor_id, timestamp`, func(r pgx.Rows) error {
			var sensor, measure int64
			var ts time.Time
			v, err := scanValue(dt, r, &sensor, &measure, &ts)
			if err != nil {
				return fmt.Errorf("read %s: %w", source, err)
			}
			if f, ok := v.(float64); ok && !isFinite(f) {
				im.cur.Skipped++
				return nil
			}
			if sensor != lastSensor || measure != lastMeasure {
				if ns, err = im.ref("sensor", sensor); err != nil {
					return err
				}
				if nm, err = im.ref("sensor_measure", measure); err != nil {
					return err
				}
				lastSensor, lastMeasure = sensor, measure
			}
			return b.add(ctx, []int64{ns, nm}, micros(ts), v)
		})
		if err == nil {
			err = b.flush(ctx)
		}
		if err != nil {
			return err
		}
		if im.cur.Skipped > 0 {
			im.note("%s: %d readings that are NaN or infinite left out", source, im.cur.Skipped)
		}
		if im.cur.Merged > 0 {
			im.note("%s: %d readings had the sensor, measure and timestamp of a reading already written (from a merged duplicate measure, or already in the database); the first was kept", source, im.cur.Merged)
		}
		im.end()
	}
	return nil
}

func (im *importer) copyModels(ctx context.Context) error {
	err := im.copyNamed(ctx, "model", "model", `SELECT id, name, coalesce(time_created, now()) FROM model ORDER BY id`,
		"name, time_created",
		func(r pgx.Rows) (int64, string, []any, error) {
			var id int64
			var name string
			var created time.Time
			if err := r.Scan(&id, &name, &created); err != nil {
				return 0, "", nil, err
			}
			return id, name, []any{name, micros(created)}, checkRow("model", id, &dtbase.Model{Name: name})
		})
	if err != nil {
		return err
	}
	scenarios := im.targets["model_scenario"]
	im.begin("model_scenario", "model_scenario")
	err = im.query(ctx, `SELECT id, model_id, description, coalesce(time_created, now()) FROM model_scenario ORDER BY id`, func(r pgx.Rows) error {
		var id, model int64
		var desc *string
		var created time.Time
		if err := r.Scan(&id, &model, &desc, &created); err != nil {
			return fmt.Errorf("read model_scenario: %w", err)
		}
		nm, err := im.ref("model", model)
		if err != nil {
			return err
		}
		key := idKey(nm) + nullableKey(desc)
		if im.mapExisting(scenarios, id, key) {
			return nil
		}
		if err := checkRow("model_scenario", id, &dtbase.ModelScenario{Description: desc}); err != nil {
			return err
		}
		_, err = im.insertRow(ctx, scenarios, id, key, "model_id, description, time_created", nm, desc, micros(created))
		return err
	})
	if err != nil {
		return err
	}
	im.end()
	if err := im.copyMeasures(ctx, "model_measure", "model_measure", "model measure"); err != nil {
		return err
	}

	runs := im.targets["model_run"]
	im.begin("model_run", "model_run")
	var noScenario int64
	err = im.query(ctx, `SELECT id, model_id, scenario_id, sensor_id, sensor_measure_id, coalesce(time_created, now()) FROM model_run ORDER BY id`, func(r pgx.Rows) error {
		var id, model int64
		var scenario, sensor, measure *int64
		var created time.Time
		if err := r.Scan(&id, &model, &scenario, &sensor, &measure, &created); err != nil {
			return fmt.Errorf("read model_run: %w", err)
		}
		nm, err := im.ref("model", model)
		if err != nil {
			return err
		}
		var nsc int64
		if scenario != nil {
			if nsc, err = im.ref("model_scenario", *scenario); err != nil {
				return err
			}
		} else {
			// Our runs always have a scenario: one without gets its model's
			// scenario with no description.
			noScenario++
			key := idKey(nm) + nullableKey(nil)
			var ok bool
			if nsc, ok = scenarios.keys[key]; !ok {
				nsc = scenarios.next
				scenarios.next++
				if _, err := im.exec(ctx, `INSERT INTO model_scenario (id, model_id, description, time_created) VALUES ($1, $2, NULL, $3)`,
					nsc, nm, micros(im.now)); err != nil {
					return fmt.Errorf("create a scenario for model_run id %d: %w", id, err)
				}
				scenarios.keys[key] = nsc
			}
		}
		var nsensor, nmeasure any
		if sensor != nil {
			if nsensor, err = im.ref("sensor", *sensor); err != nil {
				return err
			}
		}
		if measure != nil {
			if nmeasure, err = im.ref("sensor_measure", *measure); err != nil {
				return err
			}
		}
		key := idKey(nm, nsc, micros(created))
		if im.mapExisting(runs, id, key) {
			return nil
		}
		_, err = im.insertRow(ctx, runs, id, key, "model_id, scenario_id, time_created, sensor_id, sensor_measure_id",
			nm, nsc, micros(created), nsensor, nmeasure)
		return err
	})
	if err != nil {
		return err
	}
	if noScenario > 0 {
		im.note("model_run: %d runs without a scenario were given their model's scenario with no description", noScenario)
	}
	if im.cur.Merged > 0 {
		im.note("model_run: %d runs had the model, scenario and time of another run and were merged into it", im.cur.Merged)
	}
	im.end()

	products := im.targets["model_product"]
	im.begin("model_product", "model_product")
	err = im.query(ctx, `SELECT id, run_id, measure_id FROM model_product ORDER BY id`, func(r pgx.Rows) error {
		var id, run, measure int64
		if err := r.Scan(&id, &run, &measure); err != nil {
			return fmt.Errorf("read model_product: %w", err)
		}
		nr, err := im.ref("model_run", run)
		if err != nil {
			return err
		}
		nm, err := im.ref("model_measure", measure)
		if err != nil {
			return err
		}
		key := idKey(nr, nm)
		if im.mapExisting(products, id, key) {
			return nil
		}
		_, err = im.insertRow(ctx, products, id, key, "run_id, measure_id", nr, nm)
		return err
	})
	if err != nil {
		return err
	}
	im.end()

	for _, dt := range []dtbase.Datatype{dtbase.String, dtbase.Integer, dtbase.Float, dtbase.Boolean} {
		source := "model_" + string(dt) + "_value"
		if dt == dtbase.Boolean {
			source = "model_booleanvalue" // sic
		}
		target := modelValueTable(dt)
		im.begin(source, target)
		b := im.newBulk(target, dt, "product_id")
		var lastProduct, np int64 = -1, 0
		err := im.query(ctx, `SELECT product_id, timestamp, value FROM `+source+` ORDER BY product_id, timestamp`, func(r pgx.Rows) error {
			var product int64
			var ts time.Time
			v, err := scanValue(dt, r, &product, &ts)
			if err != nil {
				return fmt.Errorf("read %s: %w", source, err)
			}
			if f, ok := v.(float64); ok && !isFinite(f) {
				im.cur.Skipped++
				return nil
			}
			if product != lastProduct {
				if np, err = im.ref("model_product", product); err != nil {
					return err
				}
				lastProduct = product
			}
			return b.add(ctx, []int64{np}, micros(ts), v)
		})
		if err == nil {
			err = b.flush(ctx)
		}
		if err != nil {
			return err
		}
		if im.cur.Skipped > 0 {
			im.note("%s: %d values that are NaN or infinite left out", source, im.cur.Skipped)
		}
		im.end()
	}
	return nil
}

func (im *importer) copyServices(ctx context.Context) error {
	services := im.targets["service"]
	im.begin("service", "service")
	err := im.query(ctx, `SELECT id, name, url, http_method::text, coalesce(time_created, now()) FROM service ORDER BY id`, func(r pgx.Rows) error {
		var id int64
		var name, url, method string
		var created time.Time
		if err := r.Scan(&id, &name, &url, &method, &created); err != nil {
			return fmt.Errorf("read service: %w", err)
		}
		if im.mapExisting(services, id, name) {
			// Such as a built-in service registered under the same name:
			// ours is kept, and the original's parameter sets and runs
			// join it.
			var ourURL, ourMethod string
			if err := im.tx.QueryRowContext(ctx, `SELECT url, http_method FROM service WHERE id = $1`, services.ids[id]).Scan(&ourURL, &ourMethod); err != nil {
				return fmt.Errorf("import service %q: %w", name, err)
			}
			if ourURL != url || ourMethod != method {
				im.note("service %q exists here as %s %s; the original's %s %s was not imported, its parameter sets and runs were", name, ourMethod, ourURL, method, url)
			}
			return nil
		}
		if err := checkRow("service", id, &dtbase.Service{Name: name, URL: url, HTTPMethod: method}); err != nil {
			return err
		}
		_, err := im.insertRow(ctx, services, id, name, "name, url, http_method, time_created", name, url, method, micros(created))
		return err
	})
	if err != nil {
		return err
	}
	im.end()
	sets := im.targets["service_parameter_set"]
	setNames := map[int64]string{} // source set id → name, for the run log
	im.begin("service_parameter_set", "service_parameter_set")
	err = im.query(ctx, `SELECT id, service_id, name, parameters::text, coalesce(time_created, now()), time_updated FROM service_parameter_set ORDER BY id`, func(r pgx.Rows) error {
		var id, service int64
		var name, params string
		var created time.Time
		var updated *time.Time
		if err := r.Scan(&id, &service, &name, &params, &created, &updated); err != nil {
			return fmt.Errorf("read service_parameter_set: %w", err)
		}
		setNames[id] = name
		ns, err := im.ref("service", service)
		if err != nil {
			return err
		}
		key := idKey(ns) + name
		if im.mapExisting(sets, id, key) {
			return nil
		}
		if err := checkRow("service_parameter_set", id, &dtbase.ParameterSet{Name: name}); err != nil {
			return err
		}
		_, err = im.insertRow(ctx, sets, id, key, "service_id, name, parameters, time_created, time_updated",
			ns, name, params, micros(created), optMicros(updated))
		return err
	})
	if err != nil {
		return err
	}
	im.end()

	runs := im.targets["service_run_log"]
	im.begin("service_run_log", "service_run_log")
	err = im.query(ctx, `SELECT id, service_id, parameter_set_id, parameters::text, response_status_code, response_json::text, timestamp FROM service_run_log ORDER BY id`, func(r pgx.Rows) error {
		var id, service int64
		var set *int64
		var params string
		var code int
		var response *string
		var ts time.Time
		if err := r.Scan(&id, &service, &set, &params, &code, &response, &ts); err != nil {
			return fmt.Errorf("read service_run_log: %w", err)
		}
		ns, err := im.ref("service", service)
		if err != nil {
			return err
		}
		var nset, setName any
		if set != nil {
			if nset, err = im.ref("service_parameter_set", *set); err != nil {
				return err
			}
			setName = setNames[*set]
		}
		// A run of the same service at the same instant that was there
		// before the import is the same run, imported before.
		if im.mapExisting(runs, id, idKey(ns, micros(ts))) {
			return nil
		}
		status := dtbase.RunFailed
		if code >= 200 && code < 300 {
			status = dtbase.RunSucceeded
		}
		_, err = im.insertRow(ctx, runs, id, "",
			"service_id, parameter_set_id, parameter_set_name, parameters, response_status_code, response_json, timestamp, status, timed_out, triggered_by",
			ns, nset, setName, params, code, response, micros(ts), string(status), false, "import-dtbase")
		return err
	})
	if err != nil {
		return err
	}
	im.end()
	return nil
}
