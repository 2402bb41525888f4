// Package docker tests the container files: the Dockerfile and .dockerignore, parsed with
// BuildKit's parser, and the Compose files (compose.yaml at the repository root, scale.yaml
// here), loaded with compose-go, the loader Docker Compose itself uses, which checks them
// against the Compose Specification, interpolates variables and merges override files. No
// Docker daemon is needed.
package docker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// requiredEnv is the least environment compose.yaml loads with: its four secrets.
var requiredEnv = map[string]string{
	"DT_SQL_PASS":          "pg-secret",
	"DT_DEFAULT_USER_PASS": "user-secret",
	"DT_JWT_SECRET_KEY":    "jwt-secret",
	"DT_SECRET_KEY":        "seal-secret",
}

// load loads compose files given relative to the repository root, with exactly the variables in
// env: neither the shell's environment nor a .env file leaks into the test.
func load(t *testing.T, env map[string]string, files ...string) (*types.Project, error) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var paths, vars []string
	for _, f := range files {
		paths = append(paths, filepath.Join(root, f))
	}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(paths, cli.WithWorkingDirectory(root), cli.WithEnv(vars))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func mustLoad(t *testing.T, env map[string]string, files ...string) *types.Project {
	t.Helper()
	p, err := load(t, env, files...)
	if err != nil {
		t.Fatalf("load %v: %v", files, err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// env returns a service's environment variable and whether the container gets it at all.
func env(s types.ServiceConfig, key string) (string, bool) {
	v, ok := s.Environment[key]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

func TestComposeServices(t *testing.T) {
	p := mustLoad(t, requiredEnv, "compose.yaml")

	got := p.ServiceNames()
	slices.Sort(got)
	if !slices.Equal(got, []string{"db", "dtbase"}) {
		t.Fatalf("services = %v, want [db dtbase]", got)
	}

	db := service(t, p, "db")
	if db.Image != "postgres:16" {
		t.Errorf("db image = %q, want postgres:16", db.Image)
	}
	if db.HealthCheck == nil || !strings.Contains(strings.Join(db.HealthCheck.Test, " "), "pg_isready") {
		t.Errorf("db healthcheck = %+v, want one running pg_isready", db.HealthCheck)
	}
	if len(db.Volumes) != 1 || db.Volumes[0].Type != types.VolumeTypeVolume || db.Volumes[0].Target != "/var/lib/postgresql/data" {
		t.Errorf("db volumes = %+v, want a named volume on /var/lib/postgresql/data", db.Volumes)
	}
	if len(db.Ports) != 0 {
		t.Errorf("db publishes %+v, want no port", db.Ports)
	}

	app := service(t, p, "dtbase")
	if app.Build == nil || app.Build.Dockerfile != "Dockerfile" {
		t.Errorf("dtbase build = %+v, want the repository's Dockerfile", app.Build)
	}
	if dep, ok := app.DependsOn["db"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("dtbase depends_on = %+v, want db with condition service_healthy", app.DependsOn)
	}
	for _, s := range []types.ServiceConfig{db, app} {
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s restart = %q, want unless-stopped", s.Name, s.Restart)
		}
	}
	if len(app.Ports) != 1 || app.Ports[0].Target != 5000 || app.Ports[0].Published != "5000" {
		t.Errorf("dtbase ports = %+v, want 5000:5000", app.Ports)
	}

	for key, want := range map[string]string{
		"DT_SQL_HOST":          "db",
		"DT_SQL_PORT":          "5432",
		"DT_SQL_USER":          "dtbase",
		"DT_SQL_PASS":          "pg-secret",
		"DT_SQL_DBNAME":        "dtdb",
		"DT_DEFAULT_USER_PASS": "user-secret",
		"DT_JWT_SECRET_KEY":    "jwt-secret",
		"DT_SECRET_KEY":        "seal-secret",
	} {
		if got, _ := env(app, key); got != want {
			t.Errorf("dtbase %s = %q, want %q", key, got, want)
		}
	}
	// The database is created with the credentials dtbase uses.
	for dbKey, appKey := range map[string]string{"POSTGRES_USER": "DT_SQL_USER", "POSTGRES_PASSWORD": "DT_SQL_PASS", "POSTGRES_DB": "DT_SQL_DBNAME"} {
		d, _ := env(db, dbKey)
		a, _ := env(app, appKey)
		if d != a {
			t.Errorf("db %s = %q but dtbase %s = %q", dbKey, d, appKey, a)
		}
	}
	// Optional settings reach the container only when set, so dtbase applies its own defaults.
	if v, ok := env(app, "DT_CORS_ORIGINS"); ok {
		t.Errorf("DT_CORS_ORIGINS = %q although it is not set", v)
	}
}

func TestComposeOptionalSettings(t *testing.T) {
	e := map[string]string{"DT_CORS_ORIGINS": "https://example.org", "DT_SQL_USER": "alice", "DT_PORT": "8080"}
	for k, v := range requiredEnv {
		e[k] = v
	}
	p := mustLoad(t, e, "compose.yaml")
	app := service(t, p, "dtbase")
	if got, _ := env(app, "DT_CORS_ORIGINS"); got != "https://example.org" {
		t.Errorf("DT_CORS_ORIGINS = %q, want it passed on", got)
	}
	if got, _ := env(service(t, p, "db"), "POSTGRES_USER"); got != "alice" {
		t.Errorf("POSTGRES_USER = %q, want DT_SQL_USER", got)
	}
	if app.Ports[0].Published != "8080" {
		t.Errorf("published port = %q, want DT_PORT", app.Ports[0].Published)
	}
}

// TestComposeRequiresSecrets checks that `docker compose up` stops with a clear message, rather
// than starting with an empty password, when a secret is missing.
func TestComposeRequiresSecrets(t *testing.T) {
	for missing := range requiredEnv {
		t.Run(missing, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range requiredEnv {
				if k != missing {
					e[k] = v
				}
			}
			_, err := load(t, e, "compose.yaml")
			if err == nil || !strings.Contains(err.Error(), "set "+missing) {
				t.Errorf("load without %s: err = %v, want one asking to set it", missing, err)
			}
		})
	}
}

func TestComposeScale(t *testing.T) {
	p := mustLoad(t, requiredEnv, "compose.yaml", "deploy/docker/scale.yaml")

	app := service(t, p, "dtbase")
	if len(app.Ports) != 0 {
		t.Errorf("dtbase ports = %+v, want none: replicas cannot share a host port", app.Ports)
	}
	if got := app.GetScale(); got != 2 {
		t.Errorf("dtbase replicas = %d, want 2", got)
	}

	proxy := service(t, p, "proxy")
	if len(proxy.Ports) != 1 || proxy.Ports[0].Published != "5000" || proxy.Ports[0].Target != 5000 {
		t.Errorf("proxy ports = %+v, want 5000:5000", proxy.Ports)
	}
	if len(proxy.Volumes) != 1 {
		t.Fatalf("proxy volumes = %+v, want the Caddyfile", proxy.Volumes)
	}
	caddyfile := proxy.Volumes[0].Source
	if _, err := os.Stat(caddyfile); err != nil || proxy.Volumes[0].Target != "/etc/caddy/Caddyfile" {
		t.Errorf("proxy mounts %s on %s (%v), want Caddyfile on /etc/caddy/Caddyfile", caddyfile, proxy.Volumes[0].Target, err)
	}

	e := map[string]string{"DT_REPLICAS": "4"}
	for k, v := range requiredEnv {
		e[k] = v
	}
	app = service(t, mustLoad(t, e, "compose.yaml", "deploy/docker/scale.yaml"), "dtbase")
	if got := app.GetScale(); got != 4 {
		t.Errorf("replicas with DT_REPLICAS=4: %d", got)
	}
}

// TestEnvExample checks that .env.example, at the repository root, names every variable
// compose.yaml requires.
func TestEnvExample(t *testing.T) {
	compose, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	required := regexp.MustCompile(`\$\{(\w+):\?`).FindAllStringSubmatch(string(compose), -1)
	if len(required) == 0 {
		t.Fatal("compose.yaml requires no variable; the pattern is out of date")
	}
	for _, m := range required {
		if !regexp.MustCompile(`(?m)^` + m[1] + `=`).Match(example) {
			t.Errorf(".env.example lacks %s=, which compose.yaml requires", m[1])
		}
	}
}

// TestCaddyfile checks the proxy's configuration with caddy itself, when it is installed
// (Debian: apt-get install caddy).
func TestCaddyfile(t *testing.T) {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not installed; Caddyfile not checked")
	}
	out, err := exec.Command(caddy, "adapt", "--config", "Caddyfile", "--adapter", "caddyfile", "--validate").CombinedOutput()
	if err != nil {
		t.Errorf("caddy adapt --validate: %v\n%s", err, out)
	}
}
