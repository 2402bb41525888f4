package docker

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// binDir holds the binary built once for the tests of this package.
var binDir string

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "dtbase-docker-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// dockerGoBuild returns the environment assignments and the arguments of the Dockerfile's
// `go build` command (the words after "go"), split and expanded as the shell in the build
// stage would, with TARGETOS and TARGETARCH set to this machine's platform.
func dockerGoBuild(t *testing.T) (env, args []string) {
	t.Helper()
	build := parseDockerfile(t)[0]
	var line string
	for _, r := range commands[*instructions.RunCommand](build) {
		if l := strings.Join(r.CmdLine, " "); strings.Contains(l, "go build") {
			line = l
		}
	}
	if line == "" {
		t.Fatal("the build stage has no RUN with go build")
	}
	words, err := shell.NewLex('\\').ProcessWords(line, shell.EnvsFromSlice([]string{
		"TARGETOS=" + runtime.GOOS, "TARGETARCH=" + runtime.GOARCH,
		"VERSION=" + stampVersion, "COMMIT=" + stampCommit,
	}))
	if err != nil {
		t.Fatalf("split %q: %v", line, err)
	}
	assign := regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`)
	i := 0
	for ; i < len(words) && assign.MatchString(words[i]); i++ {
		env = append(env, words[i])
	}
	if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
		t.Fatalf("RUN %q: want [VAR=value ...] go build ... (no other command on the line)", line)
	}
	return env, words[i+1:]
}

// stampVersion and stampCommit are the build arguments the smoke test passes, as the image
// workflow does; `dtbase version` must print them.
const stampVersion, stampCommit = "v0.0.0-smoke", "0123456789abcdef"

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// dockerBinary builds ./cmd/dtbase of the root module with exactly the Dockerfile's build
// command, only writing the binary to a temporary directory instead of /out, and returns its
// path. The build is shared by the tests of this package.
func dockerBinary(t *testing.T) string {
	t.Helper()
	env, args := dockerGoBuild(t)
	buildOnce.Do(func() {
		out := filepath.Join(binDir, "dtbase")
		args = slices.Clone(args)
		o := slices.Index(args, "-o")
		if o < 0 || o+1 >= len(args) {
			buildErr = fmt.Errorf("go build %v: no -o OUTPUT", args)
			return
		}
		args[o+1] = out
		cmd := exec.Command("go", args...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%s go %s: %v\n%s", strings.Join(env, " "), strings.Join(args, " "), err, b)
			return
		}
		built = out
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// TestDockerBuildStamp checks that the image's binary names the version and commit it was
// built from, passed as build arguments since the build context has no .git.
func TestDockerBuildStamp(t *testing.T) {
	out, err := exec.Command(dockerBinary(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("dtbase version: %v\n%s", err, out)
	}
	for _, want := range []string{stampVersion, stampCommit} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dtbase version printed %q, want it to name %s", out, want)
		}
	}
}

// TestDockerBuildStatic checks that the Dockerfile's build command gives a statically linked
// binary: distroless/static has no C library or dynamic loader to run anything else.
func TestDockerBuildStatic(t *testing.T) {
	env, args := dockerGoBuild(t)
	if !slices.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("go build runs with %v, want CGO_ENABLED=0", env)
	}
	if runtime.GOOS != "linux" {
		t.Skipf("the image is linux; this machine builds %s binaries", runtime.GOOS)
	}
	f, err := elf.Open(dockerBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary has a PT_INTERP program header: it needs a dynamic loader (built with %v go %v)", env, args)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	if s := f.Section(".symtab"); s != nil {
		t.Errorf("the binary has a symbol table: -ldflags -s not applied")
	}
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDockerSmoke runs the binary the Dockerfile builds as the image would (ENTRYPOINT, CMD
// and ENV of the final stage, with DT_DATA_DIR on a temporary directory instead of the
// volume), checks health, readiness and a login, and stops it with SIGTERM, as `docker stop`
// does.
func TestDockerSmoke(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGTERM")
	}
	bin := dockerBinary(t)
	final := parseDockerfile(t)[1]
	var args []string
	if e := commands[*instructions.EntrypointCommand](final); len(e) == 1 {
		args = append(args, e[0].CmdLine[1:]...)
	}
	if c := commands[*instructions.CmdCommand](final); len(c) == 1 {
		args = append(args, c[0].CmdLine...)
	}
	// Only the image's environment and ours: a DT_DATABASE_URL in the developer's shell must
	// not leak in.
	env := []string{}
	for _, c := range commands[*instructions.EnvCommand](final) {
		for _, kv := range c.Env {
			env = append(env, kv.Key+"="+kv.Value)
		}
	}
	const pass = "smoke-test-password"
	env = append(env, "DT_DATA_DIR="+t.TempDir(), "DT_LISTEN_ADDR=127.0.0.1:0", "DT_LOG_FORMAT=json",
		"DT_DEFAULT_USER_PASS="+pass)

	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stdout = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, logs))
		for sc.Scan() {
			var line struct{ Msg, URL string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "dtbase listening" {
				listening <- line.URL
			}
		}
		io.Copy(io.Discard, stderr)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() }) // fails harmlessly once it has exited
	var base string
	select {
	case base = <-listening:
	case err := <-exited:
		t.Fatalf("%s %v exited before listening: %v\n%s", bin, args, err, logs)
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s %v did not log \"dtbase listening\" within 2 minutes:\n%s", bin, args, logs)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("listening on %q, want http://127.0.0.1:PORT", base)
	}

	hc := &http.Client{Timeout: 2 * time.Minute}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	login, _ := json.Marshal(map[string]string{"email": "default_user@localhost", "password": pass})
	resp, err := hc.Post(base+"/auth/login", "application/json", bytes.NewReader(login))
	if err != nil {
		t.Fatalf("POST /auth/login: %v", err)
	}
	var tokens struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tokens) != nil || tokens.AccessToken == "" || tokens.RefreshToken == "" {
		t.Errorf("POST /auth/login as default_user@localhost with DT_DEFAULT_USER_PASS: %d %s, want a token pair", resp.StatusCode, body)
	} else {
		req, _ := http.NewRequest(http.MethodGet, base+"/sensor/list-sensor-types", nil)
		req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /sensor/list-sensor-types with the access token: %d %s", resp.StatusCode, body)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0\n%s", err, logs)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("still running 2 minutes after SIGTERM:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no \"stopped\" log line after SIGTERM:\n%s", logs)
	}
}

// TestComposeEnvKnown checks that every DT_* variable compose.yaml (alone and with scale.yaml)
// passes to the dtbase container is one that dtbase reads, as listed in the Environment
// section of `dtbase serve --help`: a misspelt variable would otherwise be ignored silently.
func TestComposeEnvKnown(t *testing.T) {
	var out, errb bytes.Buffer
	cmd := exec.Command(dockerBinary(t), "serve", "--help")
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("dtbase serve --help: %v\n%s", err, errb.String())
	}
	_, section, ok := strings.Cut(out.String(), "\nEnvironment")
	if !ok {
		t.Fatalf("dtbase serve --help has no Environment section:\n%s", out.String())
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(DT_[A-Z0-9_]+)\s`).FindAllStringSubmatch(section, -1) {
		known[m[1]] = true
	}
	if len(known) < 10 || !known["DT_SQL_HOST"] || !known["DT_JWT_SECRET_KEY"] {
		t.Fatalf("read %d variables from the Environment section of serve --help; the pattern is out of date:\n%s", len(known), section)
	}

	// Every optional variable set, so that none is dropped from the service's environment.
	all := map[string]string{}
	for k, v := range requiredEnv {
		all[k] = v
	}
	compose, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+(DT_[A-Z0-9_]+):\s*$`).FindAllStringSubmatch(string(compose), -1) {
		all[m[1]] = "x"
	}
	for _, files := range [][]string{{"compose.yaml"}, {"compose.yaml", "deploy/docker/scale.yaml"}} {
		app := service(t, mustLoad(t, all, files...), "dtbase")
		var passed []string
		for k := range app.Environment {
			if strings.HasPrefix(k, "DT_") {
				passed = append(passed, k)
				if !known[k] {
					t.Errorf("%v passes %s to dtbase, which does not read it (not in serve --help)", files, k)
				}
			}
		}
		if len(passed) < 7 {
			t.Errorf("%v passes only %v to dtbase", files, passed)
		}
	}
}
