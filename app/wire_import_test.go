package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase/sqldb"
)

// TestImportReadings runs 'dtbase import readings' against a database with
// one sensor: a good file is loaded with a summary line, a repeat counts
// duplicates, and a malformed row names its line and writes nothing.
func TestImportReadings(t *testing.T) {
	dir := t.TempDir()
	env := testEnvFor(t, dir, nil)
	dsn := env["DT_DATABASE_URL"]
	if dsn == "" {
		dsn = filepath.Join(dir, "dtbase.db")
	}
	db, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO sensor_type (id, name, time_created) VALUES (1, 'weather', 0)`,
		`INSERT INTO sensor_measure (id, name, units, datatype, time_created) VALUES (1, 'temperature', 'C', 'float', 0), (2, 'count', NULL, 'integer', 0)`,
		`INSERT INTO sensor_type_measure (id, type_id, measure_id) VALUES (1, 1, 1), (2, 1, 2)`,
		`INSERT INTO sensor (id, type_id, unique_identifier, time_created) VALUES (1, 1, 'W1', 0)`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		var n, m int
		db.SQL().QueryRow(`SELECT count(*) FROM reading_float`).Scan(&n)
		db.SQL().QueryRow(`SELECT count(*) FROM reading_integer`).Scan(&m)
		return n + m
	}
	defer db.Close()

	run := func(file string, content string) (int, string, string) {
		path := filepath.Join(dir, file)
		os.WriteFile(path, []byte(content), 0o644)
		var out, errb bytes.Buffer
		e := env
		m := &Main{Stdout: &out, Stderr: &errb, BcryptCost: 4, Getenv: func(k string) (string, bool) { v, ok := e[k]; return v, ok }}
		code := m.Run(context.Background(), []string{"import", "readings", path, "--progress-interval", "1ns"})
		return code, out.String(), errb.String()
	}
	var good strings.Builder
	good.WriteString("unique_identifier,measure_name,timestamp,value\n")
	for i := 0; i < 25000; i++ {
		good.WriteString("W1,temperature,")
		good.WriteString(fmtTime(i))
		good.WriteString(",1.5\n")
	}
	good.WriteString("W1,count,2024-01-01T00:00:00Z,3\n")
	code, out, errs := run("good.csv", good.String())
	if code != 0 {
		t.Fatalf("import: exit %d: %s %s", code, out, errs)
	}
	if !regexp.MustCompile(`^imported .*good.csv: 25001 readings read, 25001 inserted, 0 duplicates skipped in \S+ \(\d+ readings/s\)\n$`).MatchString(out) {
		t.Errorf("summary %q", out)
	}
	if !strings.Contains(errs, "readings read (") {
		t.Errorf("no progress lines on a non-terminal: %q", errs)
	}
	if n := count(); n != 25001 {
		t.Fatalf("%d rows stored", n)
	}
	code, out, _ = run("good.csv", good.String())
	if code != 0 || !strings.Contains(out, "25001 readings read, 0 inserted, 25001 duplicates skipped") {
		t.Errorf("re-import: exit %d: %s", code, out)
	}
	// A malformed row deep in the file: nothing of it is written.
	bad := strings.Replace(good.String(), "W1,temperature,2024-01-01T05:33:20Z,1.5", "W1,temperature,2024-01-01T05:33:20Z,1.5\nW1,temperature,2024-01-09T00:00:00Z,oops", 1)
	bad = strings.ReplaceAll(bad, "2024-01-01", "2025-01-01") // all new rows
	code, _, errs = run("bad.csv", bad)
	if code != 1 || !strings.Contains(errs, "line 20003") || !strings.Contains(errs, "nothing was written") {
		t.Errorf("malformed file: exit %d: %s", code, errs)
	}
	if n := count(); n != 25001 {
		t.Errorf("a failed import wrote %d rows", n-25001)
	}
	code, _, errs = run("nope.csv", "unique_identifier,measure_name,timestamp,value\nZZ,temperature,2024-01-01T00:00:00Z,1\n")
	if code != 1 || !strings.Contains(errs, `line 2: Sensor "ZZ" does not exist`) {
		t.Errorf("unknown sensor: exit %d: %s", code, errs)
	}
	var out2 bytes.Buffer
	m := &Main{Stdout: &out2, Stderr: &out2, Getenv: func(string) (string, bool) { return "", false }}
	if code := m.Run(context.Background(), []string{"import", "readings", "--help"}); code != 0 || !strings.Contains(out2.String(), "unique_identifier,measure_name,timestamp,value") {
		t.Errorf("--help: exit %d: %s", code, out2.String())
	}
}

func fmtTime(i int) string {
	return time2024.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05Z")
}

var time2024 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
