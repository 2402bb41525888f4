package sqldb_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/internal/testtool"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestReadReplica starts a real streaming replica of the test server
// (pg_basebackup -R) and checks that range reads of readings go to it
// while everything else stays on the primary: with replay paused on the
// replica, new readings are visible to latest-readings (primary) and not
// yet to scans and plots (replica); resumed, they are.
func TestReadReplica(t *testing.T) {
	base := sqldbtest.NeedPostgres(t, "the replica is made from that server")
	bin, err := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if err != nil || len(bin) == 0 {
		testtool.Missing(t, "PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/pg_ctl)")
	}
	pgbin := filepath.Dir(bin[len(bin)-1])
	ctx := context.Background()
	db := readingDB(t)
	w1 := func(sec int, v float64) []dtbase.ReadingSeries {
		return []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "temperature",
			Values: []dtbase.Value{dtbase.FloatValue(v)}, Timestamps: []time.Time{at(sec)}}}
	}
	for i := 0; i < 100; i++ {
		if _, err := db.InsertReadings(ctx, w1(i*60, float64(i))); err != nil {
			t.Fatal(err)
		}
	}

	replicaURL := startReplica(t, pgbin, base)
	u, _ := url.Parse(replicaURL)
	// The same database as the test's, on the replica.
	var name string
	if err := db.SQL().QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	if err := db.UseReadReplica(ctx, u.String()); err != nil {
		t.Fatal(err)
	}
	rep, err := pgx.Connect(ctx, replicaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close(ctx)
	m, err := db.FindReadingMeasure(ctx, "W1", "temperature", nil)
	if err != nil {
		t.Fatal(err)
	}
	counts := func() (scan, plot, latest int) {
		if err := db.ScanReadings(ctx, m, at(0), at(1e6), func(dtbase.Reading) error { scan++; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := db.AggregateReadings(ctx, m, at(0), at(1e6), time.Hour, func(b dtbase.ReadingBucket) error { plot += int(b.Count); return nil }); err != nil {
			t.Fatal(err)
		}
		l, err := db.LatestReadings(ctx, dtbase.LatestReadingFilter{UniqueIdentifiers: []string{"W1"}})
		if err != nil || len(l) != 1 {
			t.Fatalf("latest: %v %v", l, err)
		}
		return scan, plot, int(l[0].Value.F)
	}
	waitFor := func(want int) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute) // replication lag on a busy machine, not a hang
		for {
			scan, plot, _ := counts()
			if scan == want && plot == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replica serves %d readings (%d in rollups), want %d", scan, plot, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(100)
	if _, err := rep.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	// A pause takes effect at the next record; make sure it has.
	for {
		var state string
		if err := rep.QueryRow(ctx, `SELECT pg_get_wal_replay_pause_state()`).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == "paused" {
			break
		}
		if _, err := db.InsertReadings(ctx, w1(-60, -1)); err != nil { // WAL to replay, outside the ranges read
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := db.InsertReadings(ctx, w1(100*60, 100)); err != nil {
		t.Fatal(err)
	}
	scan, plot, latest := counts()
	if latest != 100 || scan != 100 && scan != 101 || plot != scan {
		t.Fatalf("with replay paused: latest %d (want 100, from the primary), scan %d and rollups %d", latest, scan, plot)
	}
	if scan == 101 {
		t.Fatal("range reads saw a reading the paused replica has not replayed: they went to the primary")
	}
	if _, err := rep.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	waitFor(101)
}

// startReplica makes a streaming replica of the server at primary in a
// new directory, as the postgres user when run as root (as
// scripts/start-postgres.sh runs the primary), starts it on a free port
// and returns its URL. It is stopped when the test ends.
func startReplica(t *testing.T, pgbin, primary string) string {
	t.Helper()
	pu, err := url.Parse(primary)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "dtbase-replica-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	asPG := func(name string, args ...string) *exec.Cmd {
		if os.Getuid() == 0 {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgbin, name)}, args...)...)
		}
		return exec.Command(filepath.Join(pgbin, name), args...)
	}
	if os.Getuid() == 0 {
		if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	data := filepath.Join(dir, "data")
	// A replication slot keeps the WAL the copy and the replica need
	// however busy the primary is; it is dropped at the end.
	slot := "dtbase_test_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), primary); err == nil {
			c.Exec(context.Background(), `SELECT pg_drop_replication_slot($1)`, slot)
			c.Close(context.Background())
		}
	})
	if out, err := asPG("pg_basebackup", "-h", pu.Hostname(), "-p", pu.Port(), "-U", "postgres", "-D", data, "-R", "-X", "stream",
		"-C", "-S", slot).CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// A standby needs at least the primary's connection limit.
	var maxConns string
	pc, err := pgx.Connect(context.Background(), primary)
	if err != nil {
		t.Fatal(err)
	}
	err = pc.QueryRow(context.Background(), `SHOW max_connections`).Scan(&maxConns)
	pc.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c hot_standby=on -c max_connections=%s", port, dir, maxConns)
	if out, err := asPG("pg_ctl", "-D", data, "-w", "-l", filepath.Join(dir, "log"), "-o", opts, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("start replica: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() { asPG("pg_ctl", "-D", data, "-m", "immediate", "stop").Run() })
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/postgres?sslmode=disable"
}
