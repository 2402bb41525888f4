package bench

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestReadingCrashDuringIngest kills the server (SIGKILL) while clients
// send large insert requests, then reopens the database: it must open
// cleanly, and every request must be stored whole or not at all. Each
// request writes its own timestamp range, so each is checked on its own;
// every request the server acknowledged must be there.
func TestReadingCrashDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	const (
		perRequest = 20_000
		clients    = 3
	)
	dsn, ch, c := crashServer(t)
	var (
		next    atomic.Int64 // the next request number
		acked   sync.Map     // request number → true once answered 201
		sent    atomic.Int64
		started = make(chan struct{})
		once    sync.Once
		wg      sync.WaitGroup
	)
	_, vals := series(0, perRequest)
	for w := 0; w < clients; w++ {
		wg.Go(func() {
			for {
				r := next.Add(1) - 1
				ts, _ := series(1_700_000_000_000_000+r*perRequest*1e6, perRequest)
				body := readingBody(sensorUID(0), ts, vals)
				sent.Add(1)
				status, err := c.insertReadings(body)
				if err != nil {
					return // the server is gone
				}
				if status == http.StatusCreated {
					acked.Store(r, true)
					once.Do(func() { close(started) })
				} else {
					t.Errorf("request %d: status %d", r, status)
					return
				}
			}
		})
	}
	// Let a few more requests get under way, then kill mid-ingest.
	db := killWhenStarted(t, dsn, ch, started, &wg, 700*time.Millisecond, "no request succeeded within a minute")
	if db.Dialect == sqldb.SQLite {
		var res string
		if err := db.SQL().QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
			t.Fatalf("integrity_check: %q %v", res, err)
		}
	}
	total := next.Load()
	var whole, none int
	for r := int64(0); r < total; r++ {
		from := 1_700_000_000_000_000 + r*perRequest*1e6
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM reading_float WHERE sensor_id = 1 AND ts >= $1 AND ts < $2`,
			from, from+perRequest*1e6).Scan(&n); err != nil {
			t.Fatal(err)
		}
		_, ok := acked.Load(r)
		switch {
		case n == perRequest:
			whole++
		case n == 0 && !ok:
			none++
		case n == 0:
			t.Errorf("request %d was acknowledged but is missing", r)
		default:
			t.Errorf("request %d is partly stored: %d of %d rows", r, n, perRequest)
		}
	}
	t.Logf("%d requests started, %d sent: %d stored whole, %d not at all (in flight at the kill)", total, sent.Load(), whole, none)
	if none == 0 {
		t.Log("no request was in flight at the kill; the all-or-none check was not exercised this run")
	}
}

// TestReadingCrashDuringGroupCommit kills the server (SIGKILL) while 16
// clients send one reading per request, which the server commits in
// groups: every reading it acknowledged must be there after the restart.
func TestReadingCrashDuringGroupCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	const clients = 16
	dsn, ch, c := crashServer(t)
	var (
		acked   [clients][]int64 // per client, the timestamps answered 201
		total   atomic.Int64
		started = make(chan struct{})
		once    sync.Once
		wg      sync.WaitGroup
	)
	for w := 0; w < clients; w++ {
		wg.Go(func() {
			for i := int64(0); ; i++ {
				ts := 1_700_000_000_000_000 + i*1e6
				body := readingBody(sensorUID(w), []int64{ts}, []float64{float64(i)})
				status, err := c.insertReadings(body)
				if err != nil {
					return // the server is gone
				}
				if status != http.StatusCreated {
					t.Errorf("client %d: status %d", w, status)
					return
				}
				acked[w] = append(acked[w], ts)
				if total.Add(1) == 200 {
					once.Do(func() { close(started) })
				}
			}
		})
	}
	db := killWhenStarted(t, dsn, ch, started, &wg, 300*time.Millisecond, "200 requests did not succeed within a minute")
	var missing int
	for w := range acked {
		for _, ts := range acked[w] {
			var n int
			if err := db.SQL().QueryRow(`SELECT count(*) FROM reading_float WHERE sensor_id = $1 AND measure_id = $2 AND ts = $3`,
				w+1, measureID, ts).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				missing++
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged readings are missing after the crash", missing, total.Load())
	}
	t.Logf("%d acknowledged readings from %d clients, all stored", total.Load(), clients)
}

// crashServer stores the fixture in a fresh database and starts a server
// process on it, returning the database, the process and a client of it.
func crashServer(t *testing.T) (string, *child, *client) {
	t.Helper()
	db, dsn, token := fixtureDB(t)
	db.Close()
	ch := startChild(t, dsn)
	c := newClient(ch.base, token)
	c.http.Timeout = 30 * time.Second
	return dsn, ch, c
}

// killWhenStarted waits for started (failing with msg after a minute), lets
// the requests under way go on for settle, kills the server and waits for
// the clients, then reopens the database, closed at the end of the test.
func killWhenStarted(t *testing.T, dsn string, ch *child, started <-chan struct{}, wg *sync.WaitGroup, settle time.Duration, msg string) *sqldb.DB {
	t.Helper()
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatal(msg)
	}
	time.Sleep(settle)
	ch.kill()
	wg.Wait()
	return sqldbtest.OpenDSN(t, dsn) // reopened after the crash
}
