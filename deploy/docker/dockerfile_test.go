package docker

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// parseDockerfile parses the repository's Dockerfile with BuildKit's own parser, failing the
// test on any parser or lint warning (the rules `docker build --check` applies at parse time).
func parseDockerfile(t *testing.T) []instructions.Stage {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, w := range ast.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, url, msg string, _ []parser.Range) {
		t.Errorf("Dockerfile: %s: %s (%s)", rule, msg, url)
	}})
	stages, _, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile instructions: %v", err)
	}
	return stages
}

// commands returns the commands of one type in a stage.
func commands[C instructions.Command](s instructions.Stage) []C {
	var cs []C
	for _, c := range s.Commands {
		if c, ok := c.(C); ok {
			cs = append(cs, c)
		}
	}
	return cs
}

func TestDockerfileBuildStage(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(stages))
	}
	build := stages[0]
	if build.BaseName != "golang:1.26" || build.Platform != "$BUILDPLATFORM" {
		t.Errorf("build stage FROM --platform=%s %s, want --platform=$BUILDPLATFORM golang:1.26", build.Platform, build.BaseName)
	}
	var goBuild string
	for _, r := range commands[*instructions.RunCommand](build) {
		if line := strings.Join(r.CmdLine, " "); strings.Contains(line, "go build") {
			goBuild = line
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w `, "app.Version=$VERSION", "app.Commit=$COMMIT", "./cmd/dtbase", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("go build command %q lacks %s", goBuild, want)
		}
	}
}

func TestDockerfileFinalStage(t *testing.T) {
	stages := parseDockerfile(t)
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s, want distroless static (CA certificates, no shell)", final.BaseName)
	}

	users := commands[*instructions.UserCommand](final)
	if len(users) == 0 {
		t.Error("final stage has no USER: the server would run as root")
	} else if u := users[len(users)-1].User; u == "root" || u == "0" || strings.HasPrefix(u, "0:") {
		t.Errorf("USER %s, want a non-root user", u)
	}

	var exposed, volumes []string
	for _, c := range commands[*instructions.ExposeCommand](final) {
		exposed = append(exposed, c.Ports...)
	}
	for _, c := range commands[*instructions.VolumeCommand](final) {
		volumes = append(volumes, c.Volumes...)
	}
	if !slices.Equal(exposed, []string{"5000"}) {
		t.Errorf("EXPOSE %v, want 5000", exposed)
	}
	if !slices.Equal(volumes, []string{"/data"}) {
		t.Errorf("VOLUME %v, want /data", volumes)
	}
	env := map[string]string{}
	for _, c := range commands[*instructions.EnvCommand](final) {
		for _, kv := range c.Env {
			env[kv.Key] = kv.Value
		}
	}
	if env["DT_DATA_DIR"] != "/data" {
		t.Errorf("DT_DATA_DIR = %q, want /data", env["DT_DATA_DIR"])
	}

	entry := commands[*instructions.EntrypointCommand](final)
	if len(entry) != 1 || entry[0].PrependShell || !slices.Equal(entry[0].CmdLine, []string{"/dtbase"}) {
		t.Errorf("ENTRYPOINT = %+v, want exec form [\"/dtbase\"]", entry)
	}
	cmd := commands[*instructions.CmdCommand](final)
	if len(cmd) != 1 || cmd[0].PrependShell || !slices.Equal(cmd[0].CmdLine, []string{"serve"}) {
		t.Errorf("CMD = %+v, want exec form [\"serve\"]", cmd)
	}
	// The base image has no shell to run a HEALTHCHECK; orchestrators probe /healthz and /readyz.
	if hc := commands[*instructions.HealthCheckCommand](final); len(hc) != 0 {
		t.Errorf("HEALTHCHECK present, but distroless has no shell or curl to run it")
	}
}

// TestDockerignore checks that the build context keeps what `go build` needs and drops the rest.
func TestDockerignore(t *testing.T) {
	f, err := os.Open("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	for path, wantIgnored := range map[string]bool{
		"go.mod":                           false,
		"go.sum":                           false,
		"cmd/dtbase/main.go":               false,
		"sqldb/migrations/0001_init.sql":   false,
		"web/static/app.js":                false,
		"web/templates/index.html":         false,
		"api/docs/swagger-ui-bundle.js":    false,
		".git/config":                      true,
		"web/ui/node_modules/x/index.js":   true,
		"dtbase-data/dtbase.db":            true,
		"deploy/azure/main.go":             true,
		".env":                             true,
		"sqldb/sqldb.test":                 true,
		"compose.yaml":                     true,
		".github/workflows/ci.yml":         true,
		"client/python/dtbase/__init__.py": false,
	} {
		ignored, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatal(err)
		}
		if ignored != wantIgnored {
			t.Errorf("%s: ignored = %v, want %v", path, ignored, wantIgnored)
		}
	}
}

// TestBuildsWithoutCgo checks that the server's packages build with CGO_ENABLED=0, as in the
// Dockerfile: a dependency that needs cgo would otherwise break only the image build. It lists
// packages rather than compiling them, so it is fast and independent of work in progress.
func TestBuildsWithoutCgo(t *testing.T) {
	if _, err := os.Stat("../../cmd/dtbase"); err != nil {
		t.Skip("no cmd/dtbase yet")
	}
	cmd := exec.Command("go", "list", "-deps", "-e", "-f", "{{with .Error}}{{$.ImportPath}}: {{.}}{{end}}", "./cmd/dtbase")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("CGO_ENABLED=0 go list -deps ./cmd/dtbase: %v\n%s", err, out)
	}
}
