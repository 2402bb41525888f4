package sqldb_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/internal/testwait"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if dtbase.ErrorCode(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	if msg != "" && dtbase.ErrorMessage(err) != msg {
		t.Fatalf("message %q, want %q", dtbase.ErrorMessage(err), msg)
	}
}

func mustService(t *testing.T, db *sqldb.DB, name string) *dtbase.Service {
	t.Helper()
	s := &dtbase.Service{Name: name, URL: "http://127.0.0.1:1/" + name, HTTPMethod: "POST"}
	if err := db.CreateService(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServiceCRUD(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	s1 := &dtbase.Service{Name: "s1", URL: "http://a", HTTPMethod: "GET", Timeout: 5 * time.Second,
		Credential: &dtbase.ServiceCredential{Header: "x-functions-key", Sealed: []byte{1, 2, 3}}}
	if err := db.CreateService(ctx, s1); err != nil {
		t.Fatal(err)
	}
	mustService(t, db, "s2")
	wantCode(t, db.CreateService(ctx, &dtbase.Service{Name: "s1", URL: "x", HTTPMethod: "GET"}), dtbase.ECONFLICT, "Service already exists.")

	list, err := db.ListServices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "s1" || list[1].Name != "s2" {
		t.Fatalf("list %+v", list)
	}
	if list[0].Credential == nil || list[0].Credential.Header != "x-functions-key" || list[0].Credential.Sealed != nil {
		t.Fatalf("listing must show the header only: %+v", list[0].Credential)
	}
	if list[0].Timeout != 5*time.Second || list[1].Timeout != 0 {
		t.Fatalf("timeouts %v %v", list[0].Timeout, list[1].Timeout)
	}
	found, err := db.FindService(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if string(found.Credential.Sealed) != "\x01\x02\x03" {
		t.Fatalf("sealed credential %v", found.Credential.Sealed)
	}
	_, err = db.FindService(ctx, "nope")
	wantCode(t, err, dtbase.ENOTFOUND, "Service does not exist.")

	if err := db.UpdateService(ctx, "s1", dtbase.ServiceUpdate{URL: ptr("http://b"), Timeout: ptr(time.Duration(0)), ClearCredential: true}); err != nil {
		t.Fatal(err)
	}
	found, _ = db.FindService(ctx, "s1")
	if found.URL != "http://b" || found.Timeout != 0 || found.Credential != nil || found.HTTPMethod != "GET" {
		t.Fatalf("after update %+v", found)
	}
	wantCode(t, db.UpdateService(ctx, "nope", dtbase.ServiceUpdate{URL: ptr("x")}), dtbase.ENOTFOUND, "Service does not exist.")

	wantCode(t, db.DeleteService(ctx, "nope"), dtbase.ENOTFOUND, "Service does not exist.")
	if err := db.DeleteService(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	list, _ = db.ListServices(ctx)
	if len(list) != 1 {
		t.Fatalf("after delete %+v", list)
	}
}

func TestParameterSetsAndRuns(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	mustService(t, db, "a")
	mustService(t, db, "b")
	wantCode(t, db.CreateParameterSet(ctx, &dtbase.ParameterSet{ServiceName: "zz", Name: "p", Parameters: json.RawMessage(`{}`)}),
		dtbase.ENOTFOUND, "Service does not exist.")
	for _, p := range []dtbase.ParameterSet{
		{ServiceName: "a", Name: "p1", Parameters: json.RawMessage(`{"x": 1.0, "a": [1]}`)},
		{ServiceName: "a", Name: "p2", Parameters: json.RawMessage(`{}`)},
		{ServiceName: "b", Name: "p1", Parameters: json.RawMessage(`{"b":true}`)},
	} {
		if err := db.CreateParameterSet(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, db.CreateParameterSet(ctx, &dtbase.ParameterSet{ServiceName: "a", Name: "p1", Parameters: json.RawMessage(`{}`)}),
		dtbase.ECONFLICT, "Parameter set already exists.")
	sets, err := db.ListParameterSets(ctx, ptr("a"))
	if err != nil || len(sets) != 2 || sets[0].Name != "p1" || string(sets[0].Parameters) != `{"x": 1.0, "a": [1]}` {
		t.Fatalf("sets %+v %v", sets, err)
	}
	all, _ := db.ListParameterSets(ctx, nil)
	none, _ := db.ListParameterSets(ctx, ptr("unknown"))
	if len(all) != 3 || len(none) != 0 {
		t.Fatalf("all %d none %d", len(all), len(none))
	}
	wantCode(t, db.UpdateParameterSet(ctx, "a", "zz", json.RawMessage(`{}`)), dtbase.ENOTFOUND, "Parameter set does not exist.")
	wantCode(t, db.UpdateParameterSet(ctx, "zz", "p1", json.RawMessage(`{}`)), dtbase.ENOTFOUND, "Parameter set does not exist.")
	if err := db.UpdateParameterSet(ctx, "a", "p2", json.RawMessage(`{"y":2}`)); err != nil {
		t.Fatal(err)
	}

	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	start := func(s dtbase.RunStart) *dtbase.ServiceRun {
		t.Helper()
		s.Status, s.Timestamp = dtbase.RunRunning, now
		run, svc, err := db.StartRun(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if svc.Name != s.ServiceName {
			t.Fatalf("service %q", svc.Name)
		}
		return run
	}
	r1 := start(dtbase.RunStart{ServiceName: "a", ParameterSetName: ptr("p2")})
	r2 := start(dtbase.RunStart{ServiceName: "a", ParameterSetName: ptr("p1"), Parameters: json.RawMessage(`[1,2]`)})
	r3 := start(dtbase.RunStart{ServiceName: "a"})
	r4 := start(dtbase.RunStart{ServiceName: "b", ParameterSetName: ptr("p1")})
	if string(r1.Parameters) != `{"y":2}` || string(r2.Parameters) != `[1,2]` || string(r3.Parameters) != `null` {
		t.Fatalf("payloads %s %s %s", r1.Parameters, r2.Parameters, r3.Parameters)
	}
	_, _, err = db.StartRun(ctx, dtbase.RunStart{ServiceName: "a", ParameterSetName: ptr("zz"), Status: dtbase.RunRunning})
	wantCode(t, err, dtbase.ENOTFOUND, "Service or parameter set does not exist.")
	_, _, err = db.StartRun(ctx, dtbase.RunStart{ServiceName: "zz", Status: dtbase.RunRunning})
	wantCode(t, err, dtbase.ENOTFOUND, "Service or parameter set does not exist.")

	code := 201
	if err := db.FinishRun(ctx, r1.ID, dtbase.RunOutcome{Status: dtbase.RunSucceeded, StatusCode: &code,
		ResponseJSON: json.RawMessage(`[1, "x"]`), Note: "n", Duration: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(ctx, r3.ID, dtbase.RunOutcome{Status: dtbase.RunFailed, Error: "timed out", TimedOut: true}); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindRun(ctx, r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != dtbase.RunSucceeded || *got.StatusCode != 201 || string(got.ResponseJSON) != `[1, "x"]` || got.Note != "n" ||
		*got.Duration != 1500*time.Millisecond || *got.ParameterSetName != "p2" || !got.Timestamp.Equal(now) {
		t.Fatalf("run %+v", got)
	}
	got, _ = db.FindRun(ctx, r3.ID)
	if got.Status != dtbase.RunFailed || got.StatusCode != nil || got.ResponseJSON != nil || !got.TimedOut || got.Error != "timed out" {
		t.Fatalf("failed run %+v", got)
	}
	_, err = db.FindRun(ctx, 99999)
	wantCode(t, err, dtbase.ENOTFOUND, "Service run does not exist.")

	ids := func(f dtbase.RunFilter) []int64 {
		runs, err := db.ListRuns(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return mapped(runs, func(r dtbase.ServiceRun) int64 { return r.ID })
	}
	eq := func(got []int64, want ...int64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("ids %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("ids %v, want %v", got, want)
			}
		}
	}
	eq(ids(dtbase.RunFilter{}), r1.ID, r2.ID, r3.ID, r4.ID)
	eq(ids(dtbase.RunFilter{ServiceName: ptr("a")}), r1.ID, r2.ID, r3.ID)
	eq(ids(dtbase.RunFilter{ParameterSetName: ptr("p1")}), r2.ID, r4.ID)
	eq(ids(dtbase.RunFilter{ServiceName: ptr("a"), ParameterSetName: ptr("p1")}), r2.ID)
	eq(ids(dtbase.RunFilter{Limit: 2}), r3.ID, r4.ID)
	eq(ids(dtbase.RunFilter{ServiceName: ptr("nope")}))

	// Deleting a set keeps its runs, with the name and without the id.
	if err := db.DeleteParameterSet(ctx, "a", "p1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteParameterSet(ctx, "a", "p1"), dtbase.ENOTFOUND, "Parameter set does not exist.")
	got, _ = db.FindRun(ctx, r2.ID)
	if got.ParameterSetID != nil || got.ParameterSetName == nil || *got.ParameterSetName != "p1" {
		t.Fatalf("run after set deletion %+v", got)
	}
	eq(ids(dtbase.RunFilter{ServiceName: ptr("a"), ParameterSetName: ptr("p1")}), r2.ID)

	// Runs left pending or running by a stopped process are failed.
	n, err := db.FailStaleRuns(ctx, now.Add(time.Second), "interrupted")
	if err != nil || n != 2 { // r2 and r4 are still running
		t.Fatalf("stale %d %v", n, err)
	}
	got, _ = db.FindRun(ctx, r4.ID)
	if got.Status != dtbase.RunFailed || got.Error != "interrupted" {
		t.Fatalf("stale run %+v", got)
	}

	// Deleting a service deletes its log.
	if err := db.DeleteService(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	eq(ids(dtbase.RunFilter{}), r4.ID)
}

func TestSchedules(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	mustService(t, db, "a")
	if err := db.CreateParameterSet(ctx, &dtbase.ParameterSet{ServiceName: "a", Name: "p", Parameters: json.RawMessage(`{"k":"v"}`)}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	sc := &dtbase.Schedule{ServiceName: "a", Name: "hourly", Cron: "0 * * * *", TimeZone: "UTC", ParameterSetName: ptr("p"), Enabled: true, NextRun: t0}
	if err := db.CreateSchedule(ctx, sc); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.CreateSchedule(ctx, &dtbase.Schedule{ServiceName: "a", Name: "hourly", Cron: "x", TimeZone: "UTC", NextRun: t0}),
		dtbase.ECONFLICT, "Schedule already exists.")
	wantCode(t, db.CreateSchedule(ctx, &dtbase.Schedule{ServiceName: "zz", Name: "x", Cron: "x", TimeZone: "UTC", NextRun: t0}),
		dtbase.ENOTFOUND, "Service does not exist.")
	wantCode(t, db.CreateSchedule(ctx, &dtbase.Schedule{ServiceName: "a", Name: "x", Cron: "x", TimeZone: "UTC", ParameterSetName: ptr("zz"), NextRun: t0}),
		dtbase.ENOTFOUND, "Parameter set does not exist.")
	off := &dtbase.Schedule{ServiceName: "a", Name: "off", Cron: "* * * * *", TimeZone: "Europe/London", Enabled: false, NextRun: t0}
	if err := db.CreateSchedule(ctx, off); err != nil {
		t.Fatal(err)
	}
	later := &dtbase.Schedule{ServiceName: "a", Name: "later", Cron: "0 0 * * *", TimeZone: "UTC", Enabled: true, NextRun: t0.Add(time.Hour)}
	if err := db.CreateSchedule(ctx, later); err != nil {
		t.Fatal(err)
	}

	list, err := db.ListSchedules(ctx, ptr("a"))
	if err != nil || len(list) != 3 || list[0].Name != "hourly" || *list[0].ParameterSetName != "p" || list[1].TimeZone != "Europe/London" || list[1].Enabled {
		t.Fatalf("schedules %+v %v", list, err)
	}
	if none, _ := db.ListSchedules(ctx, ptr("zz")); len(none) != 0 {
		t.Fatalf("unknown service has schedules")
	}

	// A set in use by a schedule cannot be deleted.
	wantCode(t, db.DeleteParameterSet(ctx, "a", "p"), dtbase.ECONFLICT, "")

	due, next, err := db.DueSchedules(ctx, t0, 10)
	if err != nil || len(due) != 1 || due[0].Name != "hourly" || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("due %+v next %v err %v", due, next, err)
	}
	claim := dtbase.ScheduleClaim{ScheduleID: sc.ID, Due: t0, Next: t0.Add(time.Hour), Timestamp: t0.Add(time.Millisecond)}
	run, svc, err := db.ClaimScheduledRun(ctx, claim)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Name != "a" || string(run.Parameters) != `{"k":"v"}` || *run.ScheduleName != "hourly" || run.TriggeredBy != "schedule:hourly" {
		t.Fatalf("claimed run %+v", run)
	}
	_, _, err = db.ClaimScheduledRun(ctx, claim)
	wantCode(t, err, dtbase.ECONFLICT, "")
	got, _ := db.FindSchedule(ctx, "a", "hourly")
	if !got.NextRun.Equal(t0.Add(time.Hour)) || got.LastRun == nil || !got.LastRun.Equal(t0) {
		t.Fatalf("after claim %+v", got)
	}
	logged, _ := db.FindRun(ctx, run.ID)
	if logged.ScheduleName == nil || *logged.ScheduleName != "hourly" || logged.Status != dtbase.RunRunning {
		t.Fatalf("logged %+v", logged)
	}

	// Skip, edit, disable, delete.
	wantCode(t, db.SkipScheduledRun(ctx, later.ID, t0, t0.Add(2*time.Hour)), dtbase.ECONFLICT, "")
	if err := db.SkipScheduledRun(ctx, later.ID, t0.Add(time.Hour), t0.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got.Cron, got.TimeZone, got.ParameterSetName, got.Enabled, got.NextRun = "*/5 * * * *", "Asia/Tokyo", nil, false, t0.Add(5*time.Minute)
	if err := db.UpdateSchedule(ctx, got); err != nil {
		t.Fatal(err)
	}
	got, _ = db.FindSchedule(ctx, "a", "hourly")
	if got.Cron != "*/5 * * * *" || got.TimeZone != "Asia/Tokyo" || got.ParameterSetName != nil || got.Enabled {
		t.Fatalf("after update %+v", got)
	}
	_, _, err = db.ClaimScheduledRun(ctx, dtbase.ScheduleClaim{ScheduleID: sc.ID, Due: got.NextRun, Next: got.NextRun.Add(time.Hour)})
	wantCode(t, err, dtbase.ECONFLICT, "") // disabled
	wantCode(t, db.UpdateSchedule(ctx, &dtbase.Schedule{ServiceName: "a", Name: "zz"}), dtbase.ENOTFOUND, "Schedule does not exist.")
	wantCode(t, db.UpdateSchedule(ctx, &dtbase.Schedule{ServiceName: "a", Name: "hourly", ParameterSetName: ptr("zz")}), dtbase.ENOTFOUND, "Parameter set does not exist.")
	_, err = db.FindSchedule(ctx, "a", "zz")
	wantCode(t, err, dtbase.ENOTFOUND, "Schedule does not exist.")

	if err := db.DeleteSchedule(ctx, "a", "hourly"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteSchedule(ctx, "a", "hourly"), dtbase.ENOTFOUND, "Schedule does not exist.")
	logged, _ = db.FindRun(ctx, run.ID)
	if logged.ScheduleID != nil || logged.ScheduleName != nil {
		t.Fatalf("run keeps a deleted schedule: %+v", logged)
	}
	if err := db.DeleteParameterSet(ctx, "a", "p"); err != nil {
		t.Fatal(err)
	}
}

// TestClaimRace claims one due time from many goroutines (and, on
// PostgreSQL, many pools): exactly one claim wins.
func TestClaimRace(t *testing.T) {
	ctx := context.Background()
	dsn := sqldbtest.DSN(t)
	var dbs []*sqldb.DB
	for range 3 {
		dbs = append(dbs, sqldbtest.OpenDSN(t, dsn))
	}
	mustService(t, dbs[0], "a")
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	sc := &dtbase.Schedule{ServiceName: "a", Name: "s", Cron: "* * * * * *", TimeZone: "UTC", Enabled: true, NextRun: t0}
	if err := dbs[0].CreateSchedule(ctx, sc); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		due := t0.Add(time.Duration(round) * time.Second)
		wins := winners(t, concurrently(12, func(i int) error {
			_, _, err := dbs[i%len(dbs)].ClaimScheduledRun(ctx, dtbase.ScheduleClaim{ScheduleID: sc.ID, Due: due, Next: due.Add(time.Second), Timestamp: due})
			return err
		}))
		if wins != 1 {
			t.Fatalf("round %d: %d claims won, want 1", round, wins)
		}
	}
	runs, _ := dbs[1].ListRuns(ctx, dtbase.RunFilter{})
	if len(runs) != 5 {
		t.Fatalf("%d runs logged, want 5", len(runs))
	}
}

func TestSchedulerLock(t *testing.T) {
	ctx := context.Background()
	dsn := sqldbtest.DSN(t)
	a, b := sqldbtest.OpenDSN(t, dsn), sqldbtest.OpenDSN(t, dsn)
	la, lb := a.SchedulerLock(), b.SchedulerLock()
	if ok, err := la.TryLock(ctx); !ok || err != nil {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if a.Dialect != sqldb.Postgres {
		t.Log("SQLite: the scheduler lock is always held (one process owns the file)")
		return
	}
	if ok, err := lb.TryLock(ctx); ok || err != nil {
		t.Fatalf("second replica got the lock: %v %v", ok, err)
	}
	if ok, err := la.TryLock(ctx); !ok || err != nil {
		t.Fatalf("holder lost the lock: %v %v", ok, err)
	}
	if err := la.Unlock(); err != nil {
		t.Fatal(err)
	}
	if ok, err := lb.TryLock(ctx); !ok || err != nil {
		t.Fatalf("lock not handed over: %v %v", ok, err)
	}
	// Killing the holder's session (as a network failure would) frees the
	// lock: the holder notices and stops, the other replica takes over.
	if _, err := a.SQL().ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, int64(7_362_200_005&0xffffffff)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := lb.TryLock(ctx); ok {
		t.Fatal("replica still believes it holds a lock whose session was killed")
	}
	// pg_terminate_backend only signals the backend: its lock is released
	// when it has exited, which a busy server may take a while to do.
	testwait.For(t, "the other replica to take over the lock of a terminated session", func() bool {
		ok, err := la.TryLock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	la.Unlock()
}
