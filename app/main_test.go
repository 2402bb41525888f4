package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase/internal/syncbuf"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// instance is a running `dtbase serve`.
type instance struct {
	url    string
	stderr *syncbuf.Buffer
	stop   func() int
}

// testEnvFor returns an environment for a fresh database: SQLite in dataDir,
// or a new PostgreSQL database when the suite runs on PostgreSQL.
func testEnvFor(t *testing.T, dataDir string, extra map[string]string) map[string]string {
	env := map[string]string{"DT_DATA_DIR": dataDir, "DT_LOG_FORMAT": "json"}
	if sqldbtest.PostgresURL() != "" {
		env["DT_DATABASE_URL"] = sqldbtest.DSN(t)
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func start(t *testing.T, env map[string]string, args ...string) *instance {
	t.Helper()
	ready := make(chan string, 1)
	stderr := &syncbuf.Buffer{}
	m := &Main{Stdout: stderr, Stderr: stderr, BcryptCost: 4, Listening: ready,
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- m.Run(ctx, append([]string{"serve", "--listen-addr", "127.0.0.1:0"}, args...)) }()
	select {
	case addr := <-ready:
		return &instance{url: "http://" + addr, stderr: stderr, stop: func() int { cancel(); return <-done }}
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d: %s", code, stderr)
	case <-time.After(2 * time.Minute): // only a hang, not a busy machine, reaches it
		cancel()
		t.Fatalf("serve did not start: %s", stderr)
	}
	return nil
}

// apiCall sends method to url with body as JSON (none when nil) and token
// as the bearer (none when empty), and returns the status and the answer.
func apiCall(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, answer
}

func postJSON(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	status, answer := apiCall(t, http.MethodPost, url, token, body)
	var out map[string]any
	json.Unmarshal(answer, &out)
	return status, out
}

func getStatus(t *testing.T, url, token string) int {
	t.Helper()
	status, _ := apiCall(t, http.MethodGet, url, token, nil)
	return status
}

var printedPassword = regexp.MustCompile(`log in as default_user@localhost with password (\S+)`)

// TestFreshServeAndRestart is the quick start: a fresh serve prints the
// default admin's password once, login works, and after a restart the user
// and the JWT secret are kept, so earlier tokens stay valid.
func TestFreshServeAndRestart(t *testing.T) {
	dir := t.TempDir()
	env := testEnvFor(t, dir, nil)
	first := start(t, env)
	m := printedPassword.FindStringSubmatch(first.stderr.String())
	if m == nil {
		first.stop()
		t.Fatalf("no password printed:\n%s", first.stderr)
	}
	if !strings.Contains(first.stderr.String(), `"msg":"dtbase listening"`) {
		t.Errorf("no startup line in %s", first.stderr)
	}
	if code := getStatus(t, first.url+"/docs", ""); code != 200 {
		t.Errorf("/docs: %d", code)
	}
	if code := getStatus(t, first.url+"/readyz", ""); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	status, pair := postJSON(t, first.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": m[1]})
	if status != 200 || pair["access_token"] == nil || pair["refresh_token"] == nil {
		t.Fatalf("login: %d %v", status, pair)
	}
	token := pair["access_token"].(string)
	if code := first.stop(); code != 0 {
		t.Fatalf("stop: exit %d: %s", code, first.stderr)
	}

	second := start(t, env)
	defer second.stop()
	if printedPassword.MatchString(second.stderr.String()) {
		t.Error("password printed again on restart")
	}
	if code := getStatus(t, second.url+"/user/list-users", token); code != 200 {
		t.Errorf("token from before the restart: %d", code)
	}
	if status, _ := postJSON(t, second.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": m[1]}); status != 200 {
		t.Errorf("login after restart: %d", status)
	}
}

func TestDefaultUserPassword(t *testing.T) {
	dir := t.TempDir()
	env := testEnvFor(t, dir, map[string]string{"DT_DEFAULT_USER_PASS": "s3cret"})
	inst := start(t, env)
	status, pair := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "s3cret"})
	if status != 200 {
		t.Fatalf("login: %d", status)
	}
	token := pair["access_token"].(string)
	// A second admin, so the default user may be removed.
	if status, body := postJSON(t, inst.url+"/user/create-user", token, map[string]string{"email": "boss@example.com", "password": "boss password"}); status != 201 {
		t.Fatalf("create user: %d %v", status, body)
	}
	inst.stop()

	// Restart with another password: it is reset.
	env["DT_DEFAULT_USER_PASS"] = "changed"
	inst = start(t, env)
	if status, _ := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "changed"}); status != 200 {
		t.Errorf("login with reset password: %d", status)
	}
	inst.stop()

	// Restart with it unset: the default user is removed (another admin exists).
	delete(env, "DT_DEFAULT_USER_PASS")
	inst = start(t, env)
	defer inst.stop()
	if status, _ := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "changed"}); status != 401 {
		t.Errorf("default user still logs in after DT_DEFAULT_USER_PASS was unset: %d", status)
	}
	if status, _ := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "boss@example.com", "password": "boss password"}); status != 200 {
		t.Errorf("other admin: %d", status)
	}
}

func TestDefaultUserKeptWhenOnlyAdmin(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), map[string]string{"DT_DEFAULT_USER_PASS": "pw"})
	start(t, env).stop()
	delete(env, "DT_DEFAULT_USER_PASS")
	inst := start(t, env)
	defer inst.stop()
	if status, _ := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "pw"}); status != 200 {
		t.Errorf("the only admin was removed: login %d", status)
	}
}

func run(t *testing.T, env map[string]string, stdin string, args ...string) (int, string) {
	t.Helper()
	var out syncbuf.Buffer
	m := &Main{Stdout: &out, Stderr: &out, BcryptCost: 4, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	old := stdinReader
	stdinReader = strings.NewReader(stdin)
	defer func() { stdinReader = old }()
	code := m.Run(context.Background(), args)
	return code, out.String()
}

func TestUserCommands(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), nil)
	steps := []struct {
		args  []string
		stdin string
		code  int
		out   string
	}{
		{[]string{"user", "create", "a@b.c", "--role", "viewer", "--password", "pw"}, "", 1, "Password must have at least 8 characters"},
		{[]string{"user", "create", "a@b.c", "--role", "viewer", "--password", "password1"}, "", 1, "Password is one of the most common passwords"},
		{[]string{"user", "create", "a@b.c", "--role", "viewer", "--password", "pw-long-enough"}, "", 0, "created a@b.c (viewer)"},
		{[]string{"user", "create", "a@b.c", "--password", "pw"}, "", 1, "User already exists"},
		{[]string{"user", "create", "bad", "--password", "pw"}, "", 1, "invalid email"},
		{[]string{"user", "create", "x@b.c", "--role", "king", "--password", "pw"}, "", 2, "invalid role"},
		{[]string{"user", "create", "e@b.c"}, "from-stdin\n", 0, "created e@b.c (admin)"},
		{[]string{"user", "list"}, "", 0, "a@b.c"},
		{[]string{"user", "set-password", "a@b.c"}, "newpw\n", 1, "Password must have at least 8 characters"},
		{[]string{"user", "set-password", "a@b.c"}, "new password\n", 0, "password changed"},
		{[]string{"user", "set-role", "a@b.c", "editor"}, "", 0, "a@b.c is now editor"},
		{[]string{"user", "delete", "nobody@b.c"}, "", 1, "User doesn't exist"},
		{[]string{"user", "delete", "a@b.c"}, "", 0, "deleted a@b.c"},
		{[]string{"user", "frobnicate"}, "", 2, "unknown subcommand"},
		{[]string{"user", "--help"}, "", 0, "Usage: dtbase user"},
		{[]string{"serve", "--help"}, "", 0, "DT_DATABASE_URL"},
		{[]string{"migrate"}, "", 0, ""},
		{[]string{"version"}, "", 0, "dtbase"},
		{[]string{"nonsense"}, "", 2, "unknown command"},
	}
	for _, s := range steps {
		t.Run(strings.Join(s.args, " "), func(t *testing.T) {
			code, out := run(t, env, s.stdin, s.args...)
			if code != s.code || !strings.Contains(out, s.out) {
				t.Fatalf("exit %d, want %d; output:\n%s\nwant it to contain %q", code, s.code, out, s.out)
			}
		})
	}
	_, out := run(t, env, "", "user", "list")
	if strings.Contains(out, "a@b.c") || !strings.Contains(out, "e@b.c") {
		t.Errorf("list after delete:\n%s", out)
	}
}

func TestConfigDSN(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "dtbase-data/dtbase.db"},
		{map[string]string{"DT_DATA_DIR": "/srv/x"}, "/srv/x/dtbase.db"},
		{map[string]string{"DT_DATABASE_URL": "postgres://u@h/db"}, "postgres://u@h/db"},
		{map[string]string{"DT_SQL_HOST": "db", "DT_SQL_USER": " u ", "DT_SQL_PASS": "p@ss/w:rd", "DT_SQL_DBNAME": " MyDB "},
			"postgres://u:p%40ss%2Fw%3Ard@db:5432/mydb"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			m := &Main{Stderr: &bytes.Buffer{}, Stdout: &bytes.Buffer{}, Getenv: func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }}
			fs, load := m.flags("serve", "", true)
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			c, err := load()
			if err != nil {
				t.Fatal(err)
			}
			if got := c.DSN(); got != tt.want {
				t.Errorf("DSN %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCommandHelp checks that each command's --help lists its own flags
// and the database flags, not every server setting, and that secrets from
// the environment are not printed.
func TestCommandHelp(t *testing.T) {
	env := map[string]string{"DT_SQL_PASS": "hunter2", "DT_JWT_SECRET_KEY": "s3cret-jwt"}
	db := []string{"--database-url", "--data-dir", "--sql-host"}
	server := []string{"--mqtt-broker", "--cors-origins", "--jwt-secret-key", "--listen-addr", "--max-body-bytes", "--secret-key"}
	tests := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"forecast", "arima", "--help"}, append([]string{"--sensor value", "--measure", "--seasonal-order string"}, db...), server},
		{[]string{"migrate", "--help"}, db, server},
		{[]string{"demo", "--help"}, db, server},
		{[]string{"user", "create", "--help"}, append([]string{"--role", "--password", "--new-user-role"}, db...), server},
		{[]string{"import", "readings", "--help"}, append([]string{"--url", "--api-key", "--progress-interval"}, db...), append(server, "--default-user-pass")},
		{[]string{"import-dtbase", "--help"}, append([]string{"--from", "--force", "--log-level"}, db...), server},
		{[]string{"serve", "--help"}, append(append([]string{"--demo", "--default-user-pass", "--mqtt-topics", "--builtin-services", "DT_MQTT_BROKER"}, db...), server...), nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out := run(t, env, "", tt.args...)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
			for _, n := range append(tt.not, "hunter2", "s3cret-jwt") {
				if strings.Contains(out, n) {
					t.Errorf("help shows %q:\n%s", n, out)
				}
			}
		})
	}
}
