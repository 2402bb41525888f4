package sqldb

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/dtbase/dtbase"
)

// AuthCacheTTL bounds how long a replica answers a request's session or
// API key check from memory. Every request checks its session (or key);
// on a busy ingest path that lookup costs as much as the write. A
// revocation made through this process (sign out, password or role
// change, user deletion, key revocation) clears the cache at once; one
// made through another replica takes effect here within AuthCacheTTL
// (docs/security.md). Only found, unexpired entries are kept, and a
// refresh token is always checked against the database.
const AuthCacheTTL = time.Second

// authCache holds recent session and API key lookups.
type authCache struct {
	epoch atomic.Int64 // moved on by every local revocation
	mu    sync.Mutex
	sess  map[string]cachedSession
	keys  map[string]cachedKey
}

type cachedSession struct {
	s       dtbase.Session
	u       dtbase.User
	fetched time.Time
}

type cachedKey struct {
	k       dtbase.APIKey
	fetched time.Time
}

// maxAuthCache bounds each map; past it the map starts afresh.
const maxAuthCache = 10_000

func (c *authCache) session(id string, now time.Time) (*dtbase.Session, *dtbase.User, bool) {
	c.mu.Lock()
	e, ok := c.sess[id]
	c.mu.Unlock()
	// An entry past its session's expiry is checked again: the session
	// may have been extended elsewhere.
	if !ok || time.Since(e.fetched) >= AuthCacheTTL || !now.Before(e.s.Expires) {
		return nil, nil, false
	}
	s, u := e.s, e.u
	return &s, &u, true
}

// putSession stores a lookup made while the epoch was epoch; a revocation
// since then may have raced it, and it is dropped.
func (c *authCache) putSession(epoch int64, s *dtbase.Session, u *dtbase.User) {
	cachePut(c, &c.sess, epoch, s.ID, cachedSession{s: *s, u: *u, fetched: time.Now()})
}

func (c *authCache) key(hash []byte) (*dtbase.APIKey, bool) {
	c.mu.Lock()
	e, ok := c.keys[string(hash)]
	c.mu.Unlock()
	if !ok || time.Since(e.fetched) >= AuthCacheTTL {
		return nil, false
	}
	k := e.k
	return &k, true
}

func (c *authCache) putKey(epoch int64, hash []byte, k *dtbase.APIKey) {
	cachePut(c, &c.keys, epoch, string(hash), cachedKey{k: *k, fetched: time.Now()})
}

// cachePut stores e under key in the map *m of c, unless the epoch has
// moved on since epoch; a full map starts afresh.
func cachePut[E any](c *authCache, m *map[string]E, epoch int64, key string, e E) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load() != epoch {
		return
	}
	if *m == nil || len(*m) >= maxAuthCache {
		*m = map[string]E{}
	}
	(*m)[key] = e
}

// invalidate forgets every entry; called after a revocation commits.
func (c *authCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch.Add(1)
	c.sess, c.keys = nil, nil
}
