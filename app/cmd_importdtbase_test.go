package app

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase/internal/syncbuf"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// runCmd runs one dtbase command and returns its exit code and output.
func runCmd(env map[string]string, args ...string) (int, string, string) {
	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	m := &Main{Stdout: stdout, Stderr: stderr, BcryptCost: 4,
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	code := m.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func TestImportDTBaseCommand(t *testing.T) {
	if code, _, stderr := runCmd(map[string]string{"DT_DATA_DIR": t.TempDir()}, "import-dtbase"); code != 2 || !strings.Contains(stderr, "--from") {
		t.Errorf("without --from: exit %d, %s", code, stderr)
	}
	base := sqldbtest.PostgresURL()
	if base == "" {
		t.Skip("SKIPPED: import-dtbase needs a PostgreSQL server for the original database; set DT_TEST_POSTGRES_URL")
	}
	// The original database, from the sqldb package's test data.
	source := sqldbtest.DSN(t)
	u, _ := url.Parse(source)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, source)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"original_dtbase_schema.sql", "original_dtbase_sample.sql"} {
		script, err := os.ReadFile(filepath.Join("..", "importdtbase", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(script)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	conn.Close(ctx)

	// A first `dtbase serve` has created the default user and registered
	// the built-in services: that is not data, and the import goes ahead.
	env := testEnvFor(t, t.TempDir(), nil)
	start(t, env).stop()
	code, stdout, stderr := runCmd(env, "import-dtbase", "--from", source, "--batch-size", "500")
	if code != 0 {
		t.Fatalf("import-dtbase: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Imported 2,589 rows", "sensor_float_reading", "2,506", `sensor measure "humidity" with units null: source id 3 merged into id 2`,
		`service "weather-ingress" exists here as POST /service/builtin/weather; the original's POST http://example.invalid/weather was not imported`,
		"user default_user@localhost existed: it keeps its role and takes the original's password"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	// Not a terminal: progress comes as log lines.
	if !strings.Contains(stderr, `"msg":"import progress"`) {
		t.Errorf("no progress log line:\n%s", stderr)
	}

	code, _, stderr = runCmd(env, "import-dtbase", "--from", source)
	if code != 1 || !strings.Contains(stderr, "already holds data") || !strings.Contains(stderr, "nothing was imported") {
		t.Errorf("second import: exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := runCmd(env, "import-dtbase", "--from", source, "--force"); code != 0 || !strings.Contains(stdout, "0 rows written") {
		t.Errorf("forced second import: exit %d: %s %s", code, stdout, stderr)
	}
}
