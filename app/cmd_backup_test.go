package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestBackupCommand backs up the demo database while a server runs on it:
// the copy opens as a dtbase database holding the same sensors and
// readings; an existing file is refused; on PostgreSQL the command points
// to pg_dump.
func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	env := testEnvFor(t, dir, nil)
	out := filepath.Join(t.TempDir(), "backup.db")
	if sqldbtest.PostgresURL() != "" {
		if code, msg := run(t, env, "", "backup", out); code != 2 || !strings.Contains(msg, "pg_dump") {
			t.Fatalf("exit %d, %q; want 2 and a pointer to pg_dump", code, msg)
		}
		return
	}
	if code, msg := run(t, env, "", "demo"); code != 0 {
		t.Fatalf("demo: %d %s", code, msg)
	}
	inst := start(t, env)
	code, msg := run(t, env, "", "backup", out)
	if code != 0 || !strings.Contains(msg, "integrity checked") || !strings.Contains(msg, "jwt-secret") {
		t.Fatalf("backup: exit %d, %q", code, msg)
	}
	if code := inst.stop(); code != 0 {
		t.Errorf("serve exited with %d", code)
	}

	counts := func(dsn string) (sensors, readings int) {
		t.Helper()
		db, err := sqldb.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		list, err := db.FindSensors(context.Background(), dtbase.SensorFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SQL().QueryRow(`SELECT (SELECT count(*) FROM reading_float) + (SELECT count(*) FROM reading_integer)`).Scan(&readings); err != nil {
			t.Fatal(err)
		}
		return len(list), readings
	}
	ws, wr := counts(filepath.Join(dir, "dtbase.db"))
	if gs, gr := counts(out); gs != ws || gr != wr || gs == 0 || gr == 0 {
		t.Errorf("the backup holds %d sensors and %d readings, the database %d and %d", gs, gr, ws, wr)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", out}, "exists already"},
		{[]string{"backup"}, "name the file"},
	} {
		if code, msg := run(t, env, "", c.args...); code != 2 || !strings.Contains(msg, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, msg, c.want)
		}
	}
}
