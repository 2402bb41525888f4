package sqldb

import (
	"context"
	"fmt"

	"github.com/dtbase/dtbase"
)

// Group commit: many clients (or MQTT messages) each sending a few readings
// would each pay a commit. Small inserts are queued to a committer that
// takes everything queued while its previous transaction ran (at most
// groupMax requests), writes them together, leaving out a bad request
// (see insertGroup), and commits once. A request is
// answered only after that commit, so durability is that of any write.
// The wait is bounded by one transaction.

// groupSmall is the size, in readings, up to which an insert is grouped.
const groupSmall = 100

// groupMax bounds the requests of one grouped transaction.
const groupMax = 256

type groupReq struct {
	ctx    context.Context
	series []dtbase.ReadingSeries
	res    dtbase.ReadingInsertResult
	err    error
	done   chan struct{}
}

type groupCommit struct {
	db   *DB
	reqs chan *groupReq
	stop chan struct{}
}

func smallInsert(series []dtbase.ReadingSeries) bool {
	n := 0
	for i := range series {
		n += len(series[i].Values)
	}
	return n <= groupSmall
}

// startGroupCommit starts committers: one on SQLite, which has one writer;
// two on PostgreSQL, so one collects while the other waits for its commit.
func (db *DB) startGroupCommit() {
	g := &groupCommit{db: db, reqs: make(chan *groupReq, groupMax), stop: make(chan struct{})}
	n := 1
	if db.Dialect == Postgres {
		n = 2
	}
	for range n {
		go g.run()
	}
	db.group = g
}

func (g *groupCommit) close() { close(g.stop) }

func (g *groupCommit) insert(ctx context.Context, series []dtbase.ReadingSeries) (dtbase.ReadingInsertResult, error) {
	r := &groupReq{ctx: ctx, series: series, done: make(chan struct{})}
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		return dtbase.ReadingInsertResult{}, ctx.Err()
	case <-g.stop:
		return dtbase.ReadingInsertResult{}, fmt.Errorf("insert readings: the store is closed")
	}
	// Once queued, the request is answered by the committer, whose
	// transaction it may already be part of; at Close it is left
	// unacknowledged.
	select {
	case <-r.done:
		return r.res, r.err
	case <-g.stop:
		return dtbase.ReadingInsertResult{}, fmt.Errorf("insert readings: the store is closed")
	}
}

func (g *groupCommit) run() {
	for {
		var batch []*groupReq
		select {
		case r := <-g.reqs:
			batch = append(batch, r)
		case <-g.stop:
			return
		}
	collect:
		for len(batch) < groupMax {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break collect
			}
		}
		g.commit(batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// commit writes batch in one transaction. When the transaction itself
// fails (a deadlock, a lost connection), each request is retried alone.
func (g *groupCommit) commit(batch []*groupReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// Clients that give up are answered by their own context; the shared
	// transaction must not fail with them.
	ctx := context.Background()
	err := g.db.withReadingTx(ctx, func(rt *readingTx) error { return rt.insertGroup(ctx, live) })
	if err == nil {
		return
	}
	for _, r := range live {
		if r.err != nil {
			continue // refused on its own; its answer stands
		}
		for attempt := 0; ; attempt++ {
			r.err = g.db.withReadingTx(r.ctx, func(rt *readingTx) error {
				var err error
				r.res, err = rt.insertSeries(r.ctx, r.series)
				return err
			})
			if attempt < maxDeadlockRetries && (isPGCode(r.err, "40P01") || isPGCode(r.err, "40001")) {
				continue
			}
			break
		}
	}
}

// SetGroupCommit turns group commit of small inserts on or off; off, each
// insert is its own transaction. Call it before the store is used.
func (db *DB) SetGroupCommit(on bool) {
	switch {
	case on && db.group == nil:
		db.startGroupCommit()
	case !on && db.group != nil:
		db.group.close()
		db.group = nil
	}
}
