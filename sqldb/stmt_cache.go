package sqldb

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements of the hot queries on SQLite, where
// modernc compiles a statement anew on every call: parsing a one-row lookup
// or insert costs more than running it. PostgreSQL needs none (pgx caches
// statements per connection).
//
// Statements are added outside transactions (addLater): the writer pool has
// one connection, which a transaction holds, and preparing on the pool
// would wait for it.
type stmtCache struct {
	mu sync.Mutex
	m  map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	pool *sql.DB
	q    string
}

// maxCachedStmts bounds the cache: queries are the code's own, but the
// multi-row ones vary with their row count. Only short ones are kept (the
// hot statements of small writes and lookups): a statement of a thousand
// rows holds far more memory than its compilation costs once per
// transaction.
const (
	maxCachedStmts   = 512
	maxCachedStmtLen = 4096
)

// get returns the cached statement of q on pool, or nil.
func (c *stmtCache) get(pool *sql.DB, q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[stmtKey{pool, q}]
}

// prepare returns the statement of q on pool, preparing and caching it
// when missing; nil when the cache is full or the statement does not
// prepare (the caller then runs q directly, which reports the error).
func (c *stmtCache) prepare(ctx context.Context, pool *sql.DB, q string) *sql.Stmt {
	if st := c.get(pool, q); st != nil {
		return st
	}
	c.mu.Lock()
	full := len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if full || len(q) > maxCachedStmtLen {
		return nil
	}
	st, err := pool.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[stmtKey{pool, q}]; ok {
		st.Close()
		return old
	}
	if c.m == nil {
		c.m = map[stmtKey]*sql.Stmt{}
	}
	c.m[stmtKey{pool, q}] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// queryRow runs a single-row query on pool, through a cached statement on
// SQLite.
func (db *DB) queryRow(ctx context.Context, pool *sql.DB, q string, args ...any) *sql.Row {
	if db.Dialect == SQLite {
		if st := db.stmts.prepare(ctx, pool, q); st != nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return pool.QueryRowContext(ctx, q, args...)
}
