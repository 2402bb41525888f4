// Package sqldb is the one storage implementation of dtbase, over
// database/sql, for SQLite (embedded, the default) and PostgreSQL. The SQL is
// shared where the two agree; per-dialect code is limited to DDL, bulk loads
// and the few spots that say so.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dtbase/dtbase"
)

// Dialect names the database engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a dtbase store. On SQLite it holds two pools: one connection for
// writes, whose transactions start IMMEDIATE so concurrent writers queue
// instead of failing, and a pool of read-only connections that WAL lets run
// beside the writer. On PostgreSQL both are the same pool.
type DB struct {
	Dialect Dialect
	write   *sql.DB
	read    *sql.DB
	group   *groupCommit // small inserts, committed together
	replica *sql.DB      // reads of reading ranges and rollups, when set
	stmts   *stmtCache   // SQLite: prepared statements of hot queries; shared by copies
	series  *seriesReads // SQLite: the connections of plot and aggregate reads
	auth    *authCache   // recent session and API key lookups

	// noRollupReads makes reads compute from the readings alone: the
	// reference the rollup tests compare against.
	noRollupReads bool

	alertRules *ruleCache // the rules ingest evaluates; shared by copies of the DB

	months *partitionCache // PostgreSQL: the monthly partitions that exist; shared by copies

	// Now returns the current instant; tests replace it.
	Now func() time.Time
}

// Open connects to the database named by dsn and applies pending
// migrations. A dsn starting with postgres:// or postgresql:// selects
// PostgreSQL (the database is created when it does not exist); anything else
// is the path of a SQLite file, created with its directory when missing.
func Open(ctx context.Context, dsn string) (*DB, error) {
	db, err := open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenNoMigrate connects without applying migrations.
func OpenNoMigrate(ctx context.Context, dsn string) (*DB, error) { return open(ctx, dsn) }

func open(ctx context.Context, dsn string) (*DB, error) {
	if IsPostgresURL(dsn) {
		db, err := openPostgres(ctx, dsn)
		if err != nil {
			return nil, err
		}
		db.startGroupCommit()
		return db, nil
	}
	db, err := openSQLite(ctx, dsn)
	if err != nil {
		return nil, err
	}
	db.startGroupCommit()
	return db, nil
}

// IsPostgresURL reports whether dsn names a PostgreSQL database.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	const pragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(DefaultSQLiteReaders)
	// Kept open: a new connection costs its open and its statements'
	// preparation again.
	r.SetMaxIdleConns(DefaultSQLiteReaders)
	db := &DB{Dialect: SQLite, write: w, read: r, alertRules: &ruleCache{}, stmts: &stmtCache{}, series: &seriesReads{path: path}, auth: &authCache{}, Now: utcNow}
	// The writer creates the file and sets WAL before any reader opens it.
	if err := w.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	if err := createDatabaseIfMissing(ctx, dsn); err != nil {
		return nil, err
	}
	p, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	p.SetMaxOpenConns(DefaultPostgresMaxConns)
	p.SetMaxIdleConns(DefaultPostgresMaxConns)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return &DB{Dialect: Postgres, write: p, read: p, alertRules: &ruleCache{}, stmts: &stmtCache{}, auth: &authCache{}, months: &partitionCache{}, Now: utcNow}, nil
}

// createDatabaseIfMissing connects to the server's maintenance database and
// creates the target database, as the original does at start-up.
func createDatabaseIfMissing(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse database URL: %w", err)
	}
	name := cfg.Database
	if name == "" || name == "postgres" {
		return nil
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connect to postgres: %w", err)
	}
	u, perr := url.Parse(dsn)
	if perr != nil {
		return fmt.Errorf("parse database URL: %w", perr)
	}
	u.Path = "/postgres"
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("connect to postgres to create database %q: %w", name, err)
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	// duplicate_database, or, when two CREATE DATABASE run at the same
	// instant, a unique violation on pg_database: a replica won the race.
	if err != nil && !isPGCode(err, "42P04") && !isPGCode(err, "23505") {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

func utcNow() time.Time { return time.Now().UTC() }

// Default pool sizes: connections to PostgreSQL, read-only connections to
// SQLite (beside its one writer).
const (
	DefaultPostgresMaxConns = 20
	DefaultSQLiteReaders    = 8
)

// Pool limits a DB's connections. A zero field keeps the default.
type Pool struct {
	// MaxConns caps open connections: all of them on PostgreSQL, the
	// read-only ones on SQLite, whose single writer is not counted (SQLite
	// allows one writer at a time). Callers beyond the cap wait for a free
	// connection instead of failing.
	MaxConns int
	// MaxIdleConns caps idle connections kept open; it never exceeds MaxConns.
	MaxIdleConns int
	// ConnMaxLifetime closes connections older than this, so that they
	// spread again over servers after a failover or a scale change.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes connections idle for longer than this.
	ConnMaxIdleTime time.Duration
}

// SetPool applies p to db's connection pool: the only one on PostgreSQL, the
// readers' on SQLite (its writer stays one connection kept open).
func (db *DB) SetPool(p Pool) {
	pool := db.write
	if db.Dialect == SQLite {
		pool = db.read
	}
	if p.MaxConns > 0 {
		pool.SetMaxOpenConns(p.MaxConns)
		if p.MaxIdleConns <= 0 || p.MaxIdleConns > p.MaxConns {
			p.MaxIdleConns = p.MaxConns
		}
	}
	if p.MaxIdleConns > 0 {
		pool.SetMaxIdleConns(p.MaxIdleConns)
	}
	if p.ConnMaxLifetime > 0 {
		pool.SetConnMaxLifetime(p.ConnMaxLifetime)
	}
	if p.ConnMaxIdleTime > 0 {
		pool.SetConnMaxIdleTime(p.ConnMaxIdleTime)
	}
}

// Close releases all connections.
func (db *DB) Close() error {
	if db.group != nil {
		db.group.close()
	}
	if db.replica != nil {
		db.replica.Close()
	}
	db.stmts.close()
	if db.series != nil {
		db.series.close()
	}
	err := db.write.Close()
	if db.read != db.write {
		if e := db.read.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return &dtbase.Error{Code: dtbase.EUNAVAILABLE, Message: "database unreachable", Err: err}
	}
	return nil
}

// Stats reports the pool statistics for metrics.
func (db *DB) Stats() sql.DBStats { return db.write.Stats() }

// SQL returns the underlying pool for writes; benchmarks and tests use it to
// compare against raw SQL.
func (db *DB) SQL() *sql.DB { return db.write }

// exec runs a write statement outside a transaction; what names it in
// errors.
func (db *DB) exec(ctx context.Context, what, query string, args ...any) error {
	if _, err := db.write.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// beginWrite starts a read-write transaction.
func (db *DB) beginWrite(ctx context.Context) (*sql.Tx, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	return tx, nil
}

// beginRead starts a read-only transaction, so a multi-query read sees one
// snapshot.
func (db *DB) beginRead(ctx context.Context) (*sql.Tx, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: db.Dialect == Postgres})
	if err != nil {
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	return tx, nil
}

// withTx runs fn in a write transaction and commits it if fn succeeds.
func (db *DB) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return badText(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// badText turns PostgreSQL's refusal of a NUL character or an invalid byte
// sequence (which SQLite stores) into a client error, whichever entry point
// the text came through.
func badText(err error) error {
	if isPGCode(err, "22021") || isPGCode(err, "22P05") {
		return &dtbase.Error{Code: dtbase.EINVALID, Message: "Text must be valid UTF-8 without NUL characters", Err: err}
	}
	return err
}

// withReadTx runs fn in a read transaction.
func (db *DB) withReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return badText(fn(tx))
}

// queryer runs reads: the database (a pool) or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// execQueryer also writes: a *sql.Tx, or a readingTx whose statements are
// prepared once on SQLite.
type execQueryer interface {
	queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// queryAll runs query and scans every row with scan, closing the rows
// before it returns so that a transaction can run the next query; what
// names the read in errors. No rows is an empty slice, not nil, which JSON
// renders as [].
func queryAll[T any](ctx context.Context, q queryer, what string, scan func(*sql.Rows, *T) error, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// scanColumn scans a row of one column into v, for queryAll.
func scanColumn[T any](rows *sql.Rows, v *T) error { return rows.Scan(v) }

// scanMicros scans a row of one column of microseconds into t, for
// queryAll.
func scanMicros(rows *sql.Rows, t *time.Time) error {
	var us int64
	err := rows.Scan(&us)
	*t = fromMicros(us)
	return err
}

// params collects a query's numbered parameters and the clauses (WHERE
// conditions, SET assignments) that use them.
type params struct {
	args    []any
	clauses []string
}

// add appends v as the next parameter and clause, format with that
// parameter's number in place of its %d.
func (p *params) add(format string, v any) {
	p.args = append(p.args, v)
	p.clauses = append(p.clauses, fmt.Sprintf(format, len(p.args)))
}

// arg appends v as the next parameter and returns its placeholder.
func (p *params) arg(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(len(p.args))
}

// sqlArg is the database parameter of a value: its Go scalar.
func sqlArg(v dtbase.Value) any {
	switch v.Kind {
	case dtbase.KindInteger:
		return v.I
	case dtbase.KindFloat:
		return v.F
	case dtbase.KindBoolean:
		return v.B
	}
	return v.S
}

// valueDest sets v's kind to datatype d (float for an unknown one) and
// returns the field a column of that datatype scans into.
func valueDest(v *dtbase.Value, d dtbase.Datatype) any {
	switch d {
	case dtbase.Integer:
		v.Kind = dtbase.KindInteger
		return &v.I
	case dtbase.String:
		v.Kind = dtbase.KindString
		return &v.S
	case dtbase.Boolean:
		v.Kind = dtbase.KindBoolean
		return &v.B
	}
	v.Kind = dtbase.KindFloat
	return &v.F
}

// micros converts a time to the stored representation.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored timestamp back to a UTC time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros converts an optional stored timestamp.
func nullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// stmtErr is the outcome of a statement for its caller: known, an error for
// the client, when is reports err as the failure the caller expects (no
// row, a unique or a foreign-key violation); any other failure wrapped with
// what; nil for none.
func stmtErr(err error, is func(error) bool, known error, what string) error {
	if err == nil {
		return nil
	}
	if is(err) {
		return known
	}
	return fmt.Errorf("%s: %w", what, err)
}

// idOf returns the id that query selects from one row; notFound when it
// selects none, other failures wrapped with what.
func idOf(ctx context.Context, q queryer, notFound error, what, query string, args ...any) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, query, args...).Scan(&id)
	return id, stmtErr(err, isNoRows, notFound, what)
}

// refuseInUse counts with countQuery the rows that still refer to row id,
// about to be deleted, and returns conflict of their number when there are
// any; a failure of the count is wrapped with what.
func refuseInUse(ctx context.Context, tx *sql.Tx, what, countQuery string, id int64, conflict func(n int64) error) error {
	var n int64
	if err := tx.QueryRowContext(ctx, countQuery, id).Scan(&n); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n > 0 {
		return conflict(n)
	}
	return nil
}

// isNoRows reports whether err says a single-row query found no row.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// isUniqueViolation reports whether err is a unique-constraint failure.
func isUniqueViolation(err error) bool {
	if isPGCode(err, "23505") {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKeyViolation reports whether err is a foreign-key failure, as
// when a row still in use is deleted.
func isForeignKeyViolation(err error) bool {
	if isPGCode(err, "23503") {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

func isPGCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// UseReadReplica sends the range reads of readings and rollups (plain,
// downsampled and aggregated) to the PostgreSQL server at url, typically a
// streaming replica, so that plots and exports load it instead of the
// primary. Everything else, and every write, stays on the primary: a
// replica's lag must never hide a sensor just created. Call it before the
// store is used.
func (db *DB) UseReadReplica(ctx context.Context, url string) error {
	if db.Dialect != Postgres || !IsPostgresURL(url) {
		return fmt.Errorf("a read replica needs PostgreSQL for both the database and the replica")
	}
	p, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("open read replica: %w", err)
	}
	p.SetMaxOpenConns(20)
	p.SetMaxIdleConns(20)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return fmt.Errorf("connect to read replica: %w", err)
	}
	db.replica = p
	return nil
}

// readings is the pool that range reads of readings use.
func (db *DB) readings() *sql.DB {
	if db.replica != nil {
		return db.replica
	}
	return db.read
}
