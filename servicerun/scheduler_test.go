package servicerun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/internal/testwait"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// fakeClock is a clock the test sets by hand. Its timers never fire:
// scheduler tests on it call Tick themselves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) After(time.Duration) <-chan time.Time { return make(chan time.Time) }

// callLog is a service that counts its calls by schedule and due time.
type callLog struct {
	mu    sync.Mutex
	calls map[string]int // "schedule|due" → calls
	body  map[string]string
	srv   *httptest.Server
}

func newCallLog(t *testing.T) *callLog {
	l := &callLog{calls: map[string]int{}, body: map[string]string{}}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		key := r.Header.Get(HeaderSchedule) + "|" + r.Header.Get(HeaderScheduledFor)
		l.mu.Lock()
		l.calls[key]++
		l.body[key] = string(b)
		l.mu.Unlock()
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *callLog) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.calls {
		out[k] = v
	}
	return out
}

func addSchedule(t *testing.T, db *sqldb.DB, service, name, cron, tz string, set *string, now time.Time) {
	t.Helper()
	spec, err := CheckCron(cron, tz, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSchedule(context.Background(), &dtbase.Schedule{ServiceName: service, Name: name, Cron: spec.Cron,
		TimeZone: spec.TimeZone, ParameterSetName: set, Enabled: true, NextRun: spec.Next}); err != nil {
		t.Fatal(err)
	}
}

func TestSchedulerTicks(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	clock := &fakeClock{now: time.Date(2024, 7, 1, 10, 0, 30, 0, time.UTC)}
	calls := newCallLog(t)
	r := newRunner(t, db, func(o *Options) { o.Clock = clock })
	addService(t, db, dtbase.Service{Name: "svc", URL: calls.srv.URL})
	if err := db.CreateParameterSet(ctx, &dtbase.ParameterSet{ServiceName: "svc", Name: "london", Parameters: json.RawMessage(`{"city":"London"}`)}); err != nil {
		t.Fatal(err)
	}
	addSchedule(t, db, "svc", "minutely", "* * * * *", "", ptr("london"), clock.Now())
	addSchedule(t, db, "svc", "morning", "0 9 * * *", "Europe/London", nil, clock.Now())
	addSchedule(t, db, "svc", "off", "* * * * * *", "", nil, clock.Now())
	off, _ := db.FindSchedule(ctx, "svc", "off")
	off.Enabled = false
	if err := db.UpdateSchedule(ctx, off); err != nil {
		t.Fatal(err)
	}
	s := NewScheduler(r, SchedulerOptions{CatchUp: true})
	tick := func(at time.Time) time.Time {
		t.Helper()
		clock.Set(at)
		next, err := s.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r.Wait()
		return next
	}
	day := func(h, m, sec int) time.Time { return time.Date(2024, 7, 1, h, m, sec, 0, time.UTC) }
	want := map[string]int{}
	check := func(step string) {
		t.Helper()
		got := calls.snapshot()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: calls %v, want %v", step, got, want)
		}
	}

	if next := tick(day(10, 0, 30)); !next.Equal(day(10, 1, 0)) {
		t.Fatalf("next due %v", next)
	}
	check("nothing due")
	tick(day(10, 1, 0))
	want["minutely|2024-07-01T10:01:00Z"] = 1
	check("due")
	if calls.body["minutely|2024-07-01T10:01:00Z"] != `{"city":"London"}` {
		t.Fatalf("body %q", calls.body["minutely|2024-07-01T10:01:00Z"])
	}
	tick(day(10, 1, 0))
	check("the same due time twice")

	// Down from 10:01:30 to 13:00:20: the missed run runs once, and the
	// schedule waits for its next time.
	tick(day(13, 0, 20))
	want["minutely|2024-07-01T10:02:00Z"] = 1
	check("catch up")
	sc, _ := db.FindSchedule(ctx, "svc", "minutely")
	if !sc.NextRun.Equal(day(13, 1, 0)) || !sc.LastRun.Equal(day(10, 2, 0)) {
		t.Fatalf("after catch-up: next %v last %v", sc.NextRun, sc.LastRun)
	}
	morning, _ := db.FindSchedule(ctx, "svc", "morning")
	if !morning.NextRun.Equal(time.Date(2024, 7, 2, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("09:00 London is 08:00 UTC in July; next %v", morning.NextRun)
	}

	// Without catch-up, a run missed by more than a minute is skipped.
	noCatchUp := NewScheduler(r, SchedulerOptions{CatchUp: false})
	clock.Set(day(16, 0, 30))
	if _, err := noCatchUp.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	check("skip missed")
	sc, _ = db.FindSchedule(ctx, "svc", "minutely")
	if !sc.NextRun.Equal(day(16, 1, 0)) {
		t.Fatalf("after skip: next %v", sc.NextRun)
	}
	// A run that is only a little late still runs.
	clock.Set(day(16, 1, 20))
	noCatchUp.Tick(ctx)
	r.Wait()
	want["minutely|2024-07-01T16:01:00Z"] = 1
	check("slightly late")

	runs, _ := db.ListRuns(ctx, dtbase.RunFilter{})
	if len(runs) != 3 {
		t.Fatalf("%d runs logged", len(runs))
	}
	for _, run := range runs {
		if run.Status != dtbase.RunSucceeded || run.ScheduleName == nil || *run.ScheduleName != "minutely" || run.TriggeredBy != "schedule:minutely" ||
			*run.ParameterSetName != "london" {
			t.Fatalf("run %+v", run)
		}
	}

	// A run left running by a process that died is failed by the sweep.
	stale, _, err := db.StartRun(ctx, dtbase.RunStart{ServiceName: "svc", Status: dtbase.RunRunning, Timestamp: day(12, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	s2 := NewScheduler(r, SchedulerOptions{StaleAfter: time.Hour})
	clock.Set(day(16, 1, 30))
	s2.Tick(ctx)
	r.Wait()
	got, _ := db.FindRun(ctx, stale.ID)
	if got.Status != dtbase.RunFailed || got.Error == "" {
		t.Fatalf("stale run %+v", got)
	}
}

// TestSchedulerLoop runs the real loop on the real clock with an
// every-second schedule for a few seconds.
func TestSchedulerLoop(t *testing.T) {
	db := sqldbtest.Open(t)
	calls := newCallLog(t)
	r := newRunner(t, db)
	addService(t, db, dtbase.Service{Name: "svc", URL: calls.srv.URL})
	start := time.Now()
	addSchedule(t, db, "svc", "each-second", "* * * * * *", "", nil, start)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { NewScheduler(r, SchedulerOptions{CatchUp: true}).Run(ctx); close(done) }()
	// A busy machine makes passes late (and a late pass merges the seconds it
	// missed), so the test waits for three due times rather than counting
	// those of a fixed span.
	testwait.For(t, "three due times", func() bool { return len(calls.snapshot()) >= 3 })
	cancel()
	<-done
	r.Wait()
	got := calls.snapshot()
	if seconds := time.Since(start).Seconds(); float64(len(got)) > seconds+1 {
		t.Fatalf("%d due times ran in %.1f s: %v", len(got), seconds, got)
	}
	for k, n := range got {
		if n != 1 {
			t.Fatalf("%s ran %d times", k, n)
		}
	}
}

// noLock makes every scheduler believe it leads, so that the test shows
// the claims alone keep runs exactly-once.
type noLock struct{}

func (noLock) TryLock(context.Context) (bool, error) { return true, nil }
func (noLock) Unlock() error                         { return nil }

// TestExactlyOnceAcrossReplicas runs three schedulers, each on its own
// connection pool to one PostgreSQL database as three replicas would, with
// every-second schedules, and checks that every due time ran exactly once:
// first with leader election (and the leader's session killed half-way, so
// another replica takes over), then with election disabled so that all
// three race for every claim.
func TestExactlyOnceAcrossReplicas(t *testing.T) {
	if sqldbtest.PostgresURL() == "" {
		t.Skip("SKIPPED: the exactly-once test across replicas needs PostgreSQL; set DT_TEST_POSTGRES_URL (the scheduler itself is tested on SQLite above)")
	}
	for _, mode := range []string{"leader-election", "claims-only"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			dsn := sqldbtest.DSN(t)
			calls := newCallLog(t)
			type replica struct {
				db     *sqldb.DB
				runner *Runner
			}
			var replicas []replica
			for range 3 {
				db, err := sqldb.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				replicas = append(replicas, replica{db, newRunner(t, db)})
			}
			db := replicas[0].db
			addService(t, db, dtbase.Service{Name: "svc", URL: calls.srv.URL})
			schedules := []string{"a", "b", "c", "d"}
			start := time.Now()
			for _, name := range schedules {
				addSchedule(t, db, "svc", name, "*/1 * * * * *", "", nil, time.Now())
			}
			addSchedule(t, db, "svc", "every-2s", "*/2 * * * * *", "", nil, time.Now())

			runCtx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for _, rep := range replicas {
				opts := SchedulerOptions{CatchUp: true, PollInterval: 500 * time.Millisecond}
				if mode == "claims-only" {
					opts.Lock = noLock{}
				}
				s := NewScheduler(rep.runner, opts)
				wg.Add(1)
				go func() { defer wg.Done(); s.Run(runCtx) }()
			}
			// DT_TEST_SCHEDULER_SECONDS makes it a longer soak; 6 s by default.
			// Each half lasts at least half of it and until every schedule has
			// run two more due times: a busy machine makes passes late, which
			// must not fail the test.
			total := 6 * time.Second
			if v, err := strconv.Atoi(os.Getenv("DT_TEST_SCHEDULER_SECONDS")); err == nil && v >= 2 {
				total = time.Duration(v) * time.Second
			}
			dues := func() map[string]int {
				n := map[string]int{}
				for key := range calls.snapshot() {
					n[key[:strings.IndexByte(key, '|')]]++
				}
				return n
			}
			allSchedules := append([]string{"every-2s"}, schedules...)
			half := func(what string, from map[string]int) {
				t.Helper()
				end := time.Now().Add(total / 2)
				testwait.For(t, what, func() bool {
					now := dues()
					for _, name := range allSchedules {
						if now[name] < from[name]+2 {
							return false
						}
					}
					return !time.Now().Before(end)
				})
			}
			half("two due times of every schedule", nil)
			if mode == "leader-election" {
				// Kill the leader's lock session: its server-side lock goes,
				// another replica takes over.
				res, err := db.SQL().ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
					int64(7_362_200_005&0xffffffff))
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n != 1 {
					t.Fatalf("expected one leader, terminated %d sessions", n)
				}
			}
			half("two more due times of every schedule after the leader went", dues())
			stop()
			wg.Wait()
			elapsed := time.Since(start)
			for _, rep := range replicas {
				rep.runner.Wait()
			}

			got := calls.snapshot()
			perSchedule := map[string]int{}
			for key, n := range got {
				if n != 1 {
					t.Errorf("%s ran %d times", key, n)
				}
				name := key[:len(key)-len("|2024-07-01T10:00:00Z")]
				perSchedule[name]++
			}
			runs, _ := db.ListRuns(ctx, dtbase.RunFilter{})
			received := 0
			for _, n := range got {
				received += n
			}
			if len(runs) != received {
				t.Errorf("%d runs logged, %d calls received", len(runs), received)
			}
			for _, run := range runs {
				if run.Status != dtbase.RunSucceeded {
					t.Errorf("run %d: %s %s", run.ID, run.Status, run.Error)
				}
			}
			// No schedule runs more due times than the seconds it had.
			seconds := elapsed.Seconds()
			for _, name := range schedules {
				if n := perSchedule[name]; float64(n) > seconds+1 {
					t.Errorf("schedule %s ran %d distinct due times in %.1f s", name, n, seconds)
				}
			}
			if n := perSchedule["every-2s"]; float64(n) > seconds/2+1 {
				t.Errorf("schedule every-2s ran %d distinct due times in %.1f s", n, seconds)
			}
			t.Logf("%s: %d runs over %.1f s on 3 replicas, none twice", mode, received, seconds)
		})
	}
}
