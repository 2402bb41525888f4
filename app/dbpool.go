package app

import (
	"fmt"
	"strconv"
	"strings"
)

// dbPoolSettingList are the connection pool settings. They matter on PostgreSQL, where every replica's pool counts
// against the server's connection limit (docs/operations.md has the sizing
// formula); on SQLite DT_DB_MAX_CONNS caps the read-only connections.
var dbPoolSettingList = []setting{
	{"DT_DB_MAX_CONNS", "", "most open database connections per process; callers beyond it wait for a free one (unset: 20 on PostgreSQL, 8 readers beside the one writer on SQLite)", func(c *Config, v string) (err error) {
		c.DBPool.MaxConns, err = optionalCount(v)
		return
	}},
	{"DT_DB_MAX_IDLE_CONNS", "", "most idle database connections kept open (unset: DT_DB_MAX_CONNS)", func(c *Config, v string) (err error) {
		c.DBPool.MaxIdleConns, err = optionalCount(v)
		return
	}},
	{"DT_DB_CONN_MAX_LIFETIME_SECONDS", "0", "close database connections older than this, so they rebalance after a failover (0: never)", func(c *Config, v string) (err error) {
		c.DBPool.ConnMaxLifetime, err = secs(v)
		return
	}},
	{"DT_DB_CONN_MAX_IDLE_SECONDS", "300", "close database connections idle for longer than this", func(c *Config, v string) (err error) {
		c.DBPool.ConnMaxIdleTime, err = secs(v)
		return
	}},
}

// optionalCount parses an optional positive number; empty is 0, the default.
func optionalCount(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("want a whole number of 1 or more, got %q", v)
	}
	return n, nil
}
