package app

import (
	"strings"
	"testing"

	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestGeneratedPasswordOnlyOnBanner covers finding 8: the first admin's
// generated password is printed once, on the banner, and never in a log
// line (logs are collected where more people can read them).
func TestGeneratedPasswordOnlyOnBanner(t *testing.T) {
	inst := start(t, testEnvFor(t, t.TempDir(), nil))
	defer inst.stop()
	out := inst.stderr.String()
	m := printedPassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no password printed:\n%s", out)
	}
	if n := strings.Count(out, m[1]); n != 1 {
		t.Errorf("the password appears %d times in the output, want once:\n%s", n, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "{") && strings.Contains(line, m[1]) {
			t.Errorf("a log line carries the password: %s", line)
		}
	}
}

// TestMetricsNeedACredential covers finding 8 end to end.
func TestMetricsNeedACredential(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), map[string]string{"DT_DEFAULT_USER_PASS": "metrics admin password"})
	inst := start(t, env)
	if code := getStatus(t, inst.url+"/metrics", ""); code != 401 {
		t.Errorf("anonymous /metrics: %d, want 401", code)
	}
	_, pair := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "metrics admin password"})
	if code := getStatus(t, inst.url+"/metrics", pair["access_token"].(string)); code != 200 {
		t.Errorf("admin /metrics: %d, want 200", code)
	}
	inst.stop()
	env["DT_METRICS_PUBLIC"] = "true"
	inst = start(t, env)
	defer inst.stop()
	if code := getStatus(t, inst.url+"/metrics", ""); code != 200 {
		t.Errorf("DT_METRICS_PUBLIC=true: %d, want 200", code)
	}
}

// TestWarnings: secrets kept in a PostgreSQL database (finding 9) and a
// weak DT_DEFAULT_USER_PASS are warned about, and the server still starts.
func TestWarnings(t *testing.T) {
	const secretsWarning = "anyone who can read the database can forge tokens"
	const weakWarning = "DT_DEFAULT_USER_PASS does not meet the password policy"
	onPostgres := sqldbtest.PostgresURL() != ""
	tests := []struct {
		name        string
		env         map[string]string
		wantSecrets bool
		wantWeak    bool
	}{
		{"generated secrets, weak default password", map[string]string{"DT_DEFAULT_USER_PASS": "pw"}, onPostgres, true},
		{"secrets from the environment", map[string]string{"DT_JWT_SECRET_KEY": "jwt-from-vault", "DT_SECRET_KEY": "sealing-key-from-vault", "DT_DEFAULT_USER_PASS": "a strong default"}, false, false},
		{"one secret missing", map[string]string{"DT_JWT_SECRET_KEY": "jwt-from-vault"}, onPostgres, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := start(t, testEnvFor(t, t.TempDir(), tt.env))
			defer inst.stop()
			out := inst.stderr.String()
			if got := strings.Contains(out, secretsWarning); got != tt.wantSecrets {
				t.Errorf("secrets warning %v, want %v (PostgreSQL: %v):\n%s", got, tt.wantSecrets, onPostgres, out)
			}
			if got := strings.Contains(out, weakWarning); got != tt.wantWeak {
				t.Errorf("weak password warning %v, want %v:\n%s", got, tt.wantWeak, out)
			}
		})
	}
}
