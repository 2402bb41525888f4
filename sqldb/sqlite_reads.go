package sqldb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// Plots and aggregates read many values per row (nine of a rollup
// bucket): through database/sql, modernc's driver takes the connection's
// lock twice, looks up the type and allocates for each value, which costs
// more than SQLite's own work on the row. seriesReads runs those reads
// (runQueries) on SQLite's C API under the same driver instead: on
// connections of their own, opened without a per-connection lock (each is
// used by one goroutine at a time), with their statements prepared once,
// values read straight into their destinations.

// seriesReads is the pool of those connections of one database file.
type seriesReads struct {
	path   string
	mu     sync.Mutex
	idle   []*seriesConn
	closed bool
}

// maxIdleSeriesConns bounds the idle connections kept: as many as reads
// of series run at once.
const maxIdleSeriesConns = 4

// seriesConn is a read-only connection to the database file.
type seriesConn struct {
	tls   *libc.TLS
	db    uintptr
	stmts map[string]*seriesStmt
}

// seriesStmt is a prepared statement; arg[i] is the index in a query's
// arguments of its parameter i+1 ($k names argument k-1).
type seriesStmt struct {
	p   uintptr
	arg []int
}

// run runs qs one after the other on a connection of the pool.
func (p *seriesReads) run(ctx context.Context, qs []seriesQuery) error {
	c, err := p.get()
	if err != nil {
		return err
	}
	for _, q := range qs {
		if err := c.query(ctx, q); err != nil {
			c.close()
			return err
		}
	}
	p.put(c)
	return nil
}

func (p *seriesReads) get() (*seriesConn, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	return openSeriesConn(p.path)
}

func (p *seriesReads) put(c *seriesConn) {
	p.mu.Lock()
	if !p.closed && len(p.idle) < maxIdleSeriesConns {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.close()
}

// close closes the idle connections, and those in use once they are put
// back.
func (p *seriesReads) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

func openSeriesConn(path string) (*seriesConn, error) {
	c := &seriesConn{tls: libc.NewTLS(), stmts: map[string]*seriesStmt{}}
	// Named as the driver's pools name it, so that both open the same file.
	name, err := libc.CString("file:" + path)
	if err != nil {
		c.tls.Close()
		return nil, err
	}
	defer libc.Xfree(c.tls, name)
	out := c.tls.Alloc(8)
	defer c.tls.Free(8)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, out, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX|sqlite3.SQLITE_OPEN_URI, 0)
	c.db = cPointer(out)
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 10000)
	if err := c.query(context.Background(), seriesQuery{sql: "PRAGMA query_only = 1", row: func() error { return nil }}); err != nil {
		c.close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return c, nil
}

// cPointer reads the pointer stored at p in C memory.
func cPointer(p uintptr) uintptr {
	return uintptr(binary.NativeEndian.Uint64(libc.GoBytes(p, 8)))
}

func (c *seriesConn) err(rc int32) error {
	return fmt.Errorf("sqlite: %s (%d)", libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)), rc)
}

func (c *seriesConn) close() {
	for _, s := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, s.p)
	}
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
	}
	c.tls.Close()
}

// stmt returns the prepared statement of q.
func (c *seriesConn) stmt(q string) (*seriesStmt, error) {
	if s, ok := c.stmts[q]; ok {
		return s, nil
	}
	text, err := libc.CString(q)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, text)
	out := c.tls.Alloc(8)
	defer c.tls.Free(8)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, text, -1, out, 0); rc != sqlite3.SQLITE_OK {
		return nil, c.err(rc)
	}
	s := &seriesStmt{p: cPointer(out)}
	for i := range sqlite3.Xsqlite3_bind_parameter_count(c.tls, s.p) {
		name := libc.GoString(sqlite3.Xsqlite3_bind_parameter_name(c.tls, s.p, i+1))
		k, err := strconv.Atoi(strings.TrimPrefix(name, "$"))
		if err != nil || k < 1 || !strings.HasPrefix(name, "$") {
			sqlite3.Xsqlite3_finalize(c.tls, s.p)
			return nil, fmt.Errorf("sqlite: parameter %q of %q is not $1, $2, …", name, q)
		}
		s.arg = append(s.arg, k-1)
	}
	c.stmts[q] = s
	return s, nil
}

// query runs q, whose arguments are int64, scanning each row into q.dest
// before calling q.row: *sql.NullInt64 for a column that may be NULL,
// *int64 or *float64 for NOT NULL ones (SQLite converts, as
// sqlite3_column_int64 and sqlite3_column_double do).
func (c *seriesConn) query(ctx context.Context, q seriesQuery) error {
	s, err := c.stmt(q.sql)
	if err != nil {
		return err
	}
	defer sqlite3.Xsqlite3_reset(c.tls, s.p)
	for i, k := range s.arg {
		if k >= len(q.args) {
			return fmt.Errorf("sqlite: %q has no argument %d", q.sql, k+1)
		}
		v, ok := q.args[k].(int64)
		if !ok {
			return fmt.Errorf("sqlite: argument %d of %q is a %T, not an int64", k+1, q.sql, q.args[k])
		}
		if rc := sqlite3.Xsqlite3_bind_int64(c.tls, s.p, int32(i+1), v); rc != sqlite3.SQLITE_OK {
			return c.err(rc)
		}
	}
	for n := 1; ; n++ {
		// A read of a few thousand rows takes a millisecond or two;
		// longer ones stop once the request is gone.
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch rc := sqlite3.Xsqlite3_step(c.tls, s.p); rc {
		case sqlite3.SQLITE_ROW:
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			return c.err(rc)
		}
		for k, d := range q.dest {
			col := int32(k)
			switch d := d.(type) {
			case *int64:
				*d = sqlite3.Xsqlite3_column_int64(c.tls, s.p, col)
			case *float64:
				*d = sqlite3.Xsqlite3_column_double(c.tls, s.p, col)
			case *sql.NullInt64:
				*d = sql.NullInt64{}
				if sqlite3.Xsqlite3_column_type(c.tls, s.p, col) != sqlite3.SQLITE_NULL {
					*d = sql.NullInt64{Int64: sqlite3.Xsqlite3_column_int64(c.tls, s.p, col), Valid: true}
				}
			default:
				return fmt.Errorf("sqlite: cannot scan into %T", d)
			}
		}
		if err := q.row(); err != nil {
			return err
		}
	}
}
