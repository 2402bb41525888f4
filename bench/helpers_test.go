// Package bench measures the reading paths of dtbase end to end (a real
// HTTP server on loopback) against raw database baselines taken in the same
// run, and holds the crash test of ingest. It has no non-test code.
//
//	go test ./bench -run '^$' -bench . -benchtime 1x          # SQLite
//	DT_TEST_POSTGRES_URL=postgres://… go test ./bench -run '^$' -bench . -benchtime 1x
package bench

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// The fixture: one sensor type with a float measure, and sensors
// S0…S15 with ids 1…16 and measure id 1.
const (
	fixtureSensors = 16
	measureID      = 1
)

func sensorUID(i int) string { return "S" + strconv.Itoa(i) }

// fixtureDB opens a fresh test database holding the fixture and returns
// it, its DSN and an API key; the caller closes it.
func fixtureDB(tb testing.TB) (*sqldb.DB, string, string) {
	tb.Helper()
	dsn := sqldbtest.DSN(tb)
	db, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	setupFixture(tb, db)
	return db, dsn, apiKey(tb, db)
}

func setupFixture(tb testing.TB, db *sqldb.DB) {
	tb.Helper()
	ctx := context.Background()
	units := "u"
	st := &dtbase.SensorType{Name: "bench", Measures: []dtbase.Measure{{Name: "value", Units: &units, Datatype: dtbase.Float}}}
	if err := db.CreateSensorType(ctx, st); err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	// The raw baselines address rows by id: a fresh database numbers them
	// from 1.
	if st.Measures[0].ID != measureID {
		tb.Fatalf("fixture: measure id %d, want %d", st.Measures[0].ID, measureID)
	}
	for i := 0; i < fixtureSensors; i++ {
		s := &dtbase.Sensor{UniqueIdentifier: sensorUID(i), TypeName: st.Name}
		if err := db.CreateSensor(ctx, s); err != nil {
			tb.Fatalf("fixture: %v", err)
		}
		if s.ID != int64(i+1) {
			tb.Fatalf("fixture: sensor %s has id %d, want %d", s.UniqueIdentifier, s.ID, i+1)
		}
	}
}

// apiKey stores an admin API key and returns its secret.
func apiKey(tb testing.TB, db *sqldb.DB) string {
	tb.Helper()
	secret, hash := api.NewAPIKeySecret()
	k := &dtbase.APIKey{Name: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36), Role: dtbase.RoleAdmin, Prefix: secret[:10], CreatedBy: "bench"}
	if err := db.CreateAPIKey(context.Background(), k, hash); err != nil {
		tb.Fatalf("create API key: %v", err)
	}
	return secret
}

// series returns n timestamps (µs, one second apart from start) and values.
func series(start int64, n int) ([]int64, []float64) {
	ts := make([]int64, n)
	vs := make([]float64, n)
	for i := range ts {
		ts[i] = start + int64(i)*1e6
		vs[i] = float64(i%1000)*0.125 + 20
	}
	return ts, vs
}

// rawInsert is the baseline bulk load of one batch into reading_float, in
// its own transaction: pgx CopyFrom on PostgreSQL, multi-row INSERTs of
// sqldb.SQLiteReadingChunk rows on SQLite.
func rawInsert(tb testing.TB, db *sqldb.DB, sensorID int64, ts []int64, vs []float64) {
	tb.Helper()
	ctx := context.Background()
	if db.Dialect == sqldb.Postgres {
		copyRows(tb, db, "reading_float", sensorID, [][]int64{ts}, vs)
		return
	}
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	stmts := map[int]*sql.Stmt{}
	args := make([]any, 0, 4*sqldb.SQLiteReadingChunk)
	for start := 0; start < len(ts); start += sqldb.SQLiteReadingChunk {
		end := min(start+sqldb.SQLiteReadingChunk, len(ts))
		st := stmts[end-start]
		if st == nil {
			if st, err = tx.Prepare(sqldb.SQLiteReadingInsert("reading_float", end-start)); err != nil {
				tb.Fatal(err)
			}
			stmts[end-start] = st
		}
		args = args[:0]
		for i := start; i < end; i++ {
			args = append(args, sensorID, int64(measureID), ts[i], vs[i])
		}
		if _, err := st.Exec(args...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// readingBody is an insert-sensor-readings body.
func readingBody(uid string, ts []int64, vs []float64) []byte {
	b := fmt.Appendf(nil, `{"measure_name":"value","unique_identifier":%q,"readings":[`, uid)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = dtbase.AppendFloat(b, v)
	}
	b = append(b, `],"timestamps":[`...)
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = dtbase.AppendTime(b, time.UnixMicro(t))
		b = append(b, '"')
	}
	return append(b, "]}"...)
}

// client is a loopback HTTP client with a bearer token.
type client struct {
	base  string
	token string
	http  *http.Client
}

func newClient(base, token string) *client {
	return &client{base: base, token: token, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// do sends a request and drains the answer, returning its size.
func (c *client) do(tb testing.TB, method, path, ctype string, body []byte, want int) int64 {
	tb.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(string(body)))
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		tb.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, msg)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return n
}

// insertReadings posts an insert-sensor-readings body and returns the
// status; the answer is drained, so that the connection is kept alive.
func (c *client) insertReadings(body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+"/sensor/insert-sensor-readings", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// childEnv names the database a child server process serves.
const childEnv = "DTBASE_BENCH_CHILD_DSN"

// TestChildServer is not a test: run in a subprocess with DTBASE_BENCH_CHILD_DSN
// set, it serves the API on a loopback port, prints "LISTEN host:port" and
// runs until killed. The RSS measurement and the crash test use it.
func TestChildServer(t *testing.T) {
	dsn := os.Getenv(childEnv)
	if dsn == "" {
		t.Skip("only run as a child process")
	}
	db, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	srv := api.New(api.Config{Store: db, Secret: []byte("bench-secret"), Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("LISTEN", ln.Addr().String())
	http.Serve(ln, srv)
}

// child is a server subprocess.
type child struct {
	cmd  *exec.Cmd
	base string
}

// startChild runs TestChildServer on dsn in a new process.
func startChild(tb testing.TB, dsn string) *child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildServer$")
	cmd.Env = append(os.Environ(), childEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: cmd}
	tb.Cleanup(func() { c.kill() })
	lines := bufio.NewScanner(out)
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), "LISTEN "); ok {
			c.base = "http://" + addr
			go io.Copy(io.Discard, out)
			return c
		}
		if strings.HasPrefix(lines.Text(), "ERROR") {
			tb.Fatalf("child server: %s", lines.Text())
		}
	}
	tb.Fatalf("child server exited before listening")
	return nil
}

// kill ends the child with SIGKILL, as a crash would.
func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
	}
}

// peakRSS returns the child's peak resident set (VmHWM) in bytes.
func (c *child) peakRSS(tb testing.TB) int64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM in /proc status")
	return 0
}
