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

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api/apitest"
	"github.com/dtbase/dtbase/client"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
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
	weatherSensor(t, db, dtbase.Measure{Name: "count", Datatype: dtbase.Integer})
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

// weatherSensor creates the sensor W1 of a type "weather" that measures
// temperature in C, and the extra measures.
func weatherSensor(t *testing.T, db *sqldb.DB, extra ...dtbase.Measure) {
	celsius := "C"
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "weather",
		Measures: append([]dtbase.Measure{{Name: "temperature", Units: &celsius, Datatype: dtbase.Float}}, extra...)}, "W1")
}

var time2024 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// TestImportReadingsRemote runs 'dtbase import readings --url' against a
// real API server: the file goes through the Go client and the server's CSV
// upload, with a login or an API key; a malformed row names its line and
// writes nothing; bad or missing credentials, a viewer's key and a file
// over the server's body limit are clear errors.
func TestImportReadingsRemote(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	const pass = "remote-import-secret"
	apitest.AddUser(t, db, client.DefaultUserEmail, pass, dtbase.RoleAdmin)
	weatherSensor(t, db)
	serve := func(maxBody int64) string {
		cfg := apitest.Config(db)
		cfg.AccessTTL, cfg.RefreshGrace, cfg.MaxBodyBytes = time.Hour, time.Hour, maxBody
		return apitest.Serve(t, cfg)
	}
	url := serve(0)
	admin := client.New(url, client.WithCredentials(client.DefaultUserEmail, pass))
	editorKey, err := admin.CreateAPIKey(ctx, "importer", client.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	viewerKey, err := admin.CreateAPIKey(ctx, "reader", client.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM reading_float`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	dir := t.TempDir()
	var good strings.Builder
	good.WriteString("unique_identifier,measure_name,timestamp,value\n")
	for i := 0; i < 5000; i++ {
		good.WriteString("W1,temperature," + fmtTime(i) + ",1.5\n")
	}
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	goodPath := write("good.csv", good.String())
	bad := strings.ReplaceAll(good.String(), "2024-01-01", "2025-01-01") + "W1,temperature,2025-02-01T00:00:00Z,oops\n"
	badPath := write("bad.csv", bad)
	run := func(env map[string]string, args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb, BcryptCost: 4, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
		code := m.Run(ctx, append([]string{"import", "readings", "--progress-interval", "1ns"}, args...))
		return code, out.String(), errb.String()
	}

	// Logged in as the default user with DT_DEFAULT_USER_PASS.
	code, out, errs := run(map[string]string{"DT_DEFAULT_USER_PASS": pass}, goodPath, "--url", url)
	if code != 0 {
		t.Fatalf("import --url: exit %d: %s %s", code, out, errs)
	}
	if !regexp.MustCompile(`^imported .*good.csv into http://\S+: 5000 readings read, 5000 inserted, 0 duplicates skipped in \S+ \(\d+ readings/s\)\n$`).MatchString(out) {
		t.Errorf("summary %q", out)
	}
	if !strings.Contains(errs, "rows sent (") {
		t.Errorf("no progress lines: %q", errs)
	}
	if n := count(); n != 5000 {
		t.Fatalf("%d readings stored", n)
	}
	// With an API key from DT_API_KEY, again: everything is a duplicate.
	code, out, errs = run(map[string]string{"DT_API_KEY": editorKey.Key}, "--url", url+"/", goodPath)
	if code != 0 || !strings.Contains(out, "5000 readings read, 0 inserted, 5000 duplicates skipped") {
		t.Errorf("re-import with DT_API_KEY: exit %d: %s %s", code, out, errs)
	}

	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr []string
	}{
		{"malformed row", nil, []string{"--url", url, "--api-key", editorKey.Key, badPath}, 1,
			[]string{"line 5002", "oops", "nothing was written"}},
		{"wrong password", map[string]string{"DT_DEFAULT_USER_PASS": "wrong"}, []string{"--url", url, badPath}, 1,
			[]string{"rejected the credentials", "DT_DEFAULT_USER_PASS", "nothing was written"}},
		{"wrong password flag", nil, []string{"--url", url, "--email", "someone@example.com", "--password", "x", badPath}, 1,
			[]string{"rejected the credentials", "--email someone@example.com and --password"}},
		{"revoked-looking key", map[string]string{"DT_API_KEY": "dtb_not-a-key"}, []string{"--url", url, badPath}, 1,
			[]string{"rejected the credentials", "DT_API_KEY"}},
		{"viewer key", nil, []string{"--url", url, "--api-key", viewerKey.Key, badPath}, 1,
			[]string{"editor or admin role", "nothing was written"}},
		{"over the body limit", nil, []string{"--url", serve(4096), "--api-key", editorKey.Key, badPath}, 1,
			[]string{"larger than the server", "DT_MAX_BODY_BYTES", "nothing was written"}},
		{"no credentials", nil, []string{"--url", url, badPath}, 2, []string{"--url needs credentials"}},
		{"url and database", nil, []string{"--url", url, "--api-key", "k", "--database-url", "postgres://x/y", badPath}, 2,
			[]string{"give one or the other"}},
		{"not a URL", nil, []string{"--url", "localhost:5000", "--api-key", "k", badPath}, 2, []string{"want http://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s %s", code, tc.code, out, errs)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q: %s", want, errs)
				}
			}
			if n := count(); n != 5000 {
				t.Errorf("a failed import wrote %d readings", n-5000)
			}
		})
	}

	var help bytes.Buffer
	m := &Main{Stdout: &help, Stderr: &help, Getenv: func(string) (string, bool) { return "", false }}
	if code := m.Run(ctx, []string{"import", "readings", "--help"}); code != 0 || !strings.Contains(help.String(), "-url") ||
		!strings.Contains(help.String(), "DT_MAX_BODY_BYTES") {
		t.Errorf("--help: exit %d: %s", code, help.String())
	}
}
