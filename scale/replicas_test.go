// Package scale holds the scale-out test: several dtbase replicas serving
// one PostgreSQL database, as a deployment behind a load balancer runs them.
package scale

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtbase/dtbase/app"
	"github.com/dtbase/dtbase/internal/syncbuf"
	"github.com/dtbase/dtbase/internal/testwait"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// Shape of the load. The duration can be raised with DT_SCALE_SECONDS.
const (
	replicas      = 3
	writers       = 6  // goroutines inserting readings
	readers       = 3  // goroutines reading them back
	sensors       = 2  // writers share sensors, so writes to one series interleave
	batch         = 25 // readings per insert request
	defaultSecond = 12
)

// replica is a running `dtbase serve`.
type replica struct {
	url     string
	log     *syncbuf.Buffer
	stop    func() int
	stopped atomic.Bool
}

// startReplicas starts n `dtbase serve` processes (in this process, each
// with its own app.Main) on one database, at the same time, as a
// deployment scaling out does: they race to create the database, migrate
// it, create the default user and the JWT secret.
func startReplicas(t *testing.T, n int, dsn string) []*replica {
	t.Helper()
	out := make([]*replica, n)
	errs := make(chan error, n)
	for i := range out {
		go func() {
			env := map[string]string{
				"DT_DATABASE_URL":      dsn,
				"DT_DATA_DIR":          t.TempDir(),
				"DT_DEFAULT_USER_PASS": "scale-pw",
				"DT_LOG_FORMAT":        "json",
				// The scheduled test service listens on loopback.
				"DT_SERVICE_ALLOWED_HOSTS": "127.0.0.1",
			}
			ready := make(chan string, 1)
			log := &syncbuf.Buffer{}
			m := &app.Main{Stdout: log, Stderr: log, BcryptCost: 4, Listening: ready,
				Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int, 1)
			go func() { done <- m.Run(ctx, []string{"serve", "--listen-addr", "127.0.0.1:0"}) }()
			select {
			case addr := <-ready:
				r := &replica{url: "http://" + addr, log: log}
				var code int
				var once sync.Once
				r.stop = func() int {
					once.Do(func() { r.stopped.Store(true); cancel(); code = <-done })
					return code
				}
				out[i] = r
				errs <- nil
			case code := <-done:
				cancel()
				errs <- fmt.Errorf("replica %d exited with %d:\n%s", i, code, log)
			case <-time.After(testwait.HangAfter):
				cancel()
				errs <- fmt.Errorf("replica %d did not start:\n%s", i, log)
			}
		}()
	}
	for range out {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, r := range out {
		if r != nil {
			t.Cleanup(func() { r.stop() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// client calls replicas with one token.
type client struct {
	http  *http.Client
	token string
}

// login signs in as the default user on r, for the requests that follow.
func (c *client) login(t *testing.T, r *replica) {
	t.Helper()
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	if _, err := c.post(r.url, "/auth/login", map[string]string{"email": "default_user@localhost", "password": "scale-pw"}, &pair); err != nil {
		t.Fatal(err)
	}
	c.token = pair.AccessToken
}

// must posts body to r and fails the test on an error.
func (c *client) must(t *testing.T, r *replica, path string, body any) {
	t.Helper()
	if _, err := c.post(r.url, path, body, nil); err != nil {
		t.Fatal(err)
	}
}

// post sends a JSON body and decodes a JSON answer into out (when not nil).
func (c *client) post(base, path string, body, out any) (int, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("POST %s%s: %d %s", base, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("POST %s%s: decode %s: %w", base, path, data, err)
		}
	}
	return resp.StatusCode, nil
}

// reading is one written reading, as the API returns it.
type reading struct {
	Value     float64   `json:"value"`
	Timestamp time.Time `json:"timestamp"`
}

// base is the first timestamp of the test's readings.
var base = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// point is reading number n of the test: every writer's readings have
// distinct n, so distinct timestamps, and the value says which n it is.
func point(n int) reading {
	return reading{Value: float64(n) + 0.25, Timestamp: base.Add(time.Duration(n)*time.Millisecond + 7*time.Microsecond)}
}

// ackedBatch is a batch a replica acknowledged with 201.
type ackedBatch struct {
	sensor int
	points []reading
}

// latencies collects request durations of one kind.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return "none"
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	q := func(p float64) time.Duration {
		return s[min(len(s)-1, int(p*float64(len(s))))].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("%d requests, p50 %s, p99 %s, max %s", len(s), q(0.5), q(0.99), s[len(s)-1].Round(time.Millisecond))
}

// lastLogging returns the index of the last replica in rs whose log holds
// line, or -1 when none does.
func lastLogging(rs []*replica, line string) int {
	leader := -1
	for i, r := range rs {
		if strings.Contains(r.log.String(), line) {
			leader = i
		}
	}
	return leader
}

// callCounter is a service that counts its calls per scheduled due time.
type callCounter struct {
	mu     sync.Mutex
	perDue map[string]int
	runIDs map[string]int
	first  map[string]time.Time // when each due time was first called
}

func (c *callCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	due := r.Header.Get("X-DTBase-Scheduled-For")
	c.perDue[due]++
	c.runIDs[r.Header.Get("X-DTBase-Run-Id")]++
	if _, ok := c.first[due]; !ok {
		c.first[due] = time.Now()
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`)
}

// TestReplicas runs three replicas on one PostgreSQL database and drives
// writes and reads through all of them at once. It checks that a reading
// acknowledged by one replica is read back by every other one at once
// (read-after-write across replicas), that at the end every replica returns
// exactly the acknowledged readings, and that a schedule firing every second
// calls its service exactly once per due time, also when the replica
// running the schedules stops.
func TestReplicas(t *testing.T) {
	if sqldbtest.PostgresURL() == "" {
		t.Skip("SKIPPED: the scale-out test needs PostgreSQL, which replicas share; set DT_TEST_POSTGRES_URL")
	}
	seconds := defaultSecond
	if v, err := strconv.Atoi(os.Getenv("DT_SCALE_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	rs := startReplicas(t, replicas, sqldbtest.DSN(t))
	c := &client{http: &http.Client{Timeout: testwait.HangAfter, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}

	// A token issued by one replica works on the others: they share the
	// JWT secret through the database.
	c.login(t, rs[0])
	// Set up through different replicas.
	c.must(t, rs[1], "/sensor/insert-sensor-type", map[string]any{"name": "scale", "measures": []map[string]any{{"name": "value", "units": "u", "datatype": "float"}}})
	for s := range sensors {
		c.must(t, rs[(2+s)%replicas], "/sensor/insert-sensor", map[string]string{"type_name": "scale", "unique_identifier": "s-" + strconv.Itoa(s)})
	}
	counter := &callCounter{perDue: map[string]int{}, runIDs: map[string]int{}, first: map[string]time.Time{}}
	svc := httptest.NewServer(counter)
	defer svc.Close()
	c.must(t, rs[2], "/service/insert-service", map[string]string{"name": "tick", "url": svc.URL, "http_method": "POST"})
	c.must(t, rs[0], "/service/insert-schedule", map[string]string{"service_name": "tick", "name": "every-second", "cron": "* * * * * *"})

	var (
		acked       []ackedBatch
		ackedMu     sync.Mutex
		ackedCount  [sensors]atomic.Int64
		writeLat    latencies
		readLat     latencies
		failures    atomic.Int64
		deadline    = time.Now().Add(time.Duration(seconds) * time.Second)
		wg          sync.WaitGroup
		stopReaders = make(chan struct{})
	)
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 20 { // enough to diagnose, not a flood
			t.Errorf(format, args...)
		}
	}
	live := func(i int) *replica { // round robin over the replicas still up
		for k := range replicas {
			if r := rs[(i+k)%replicas]; !r.stopped.Load() {
				return r
			}
		}
		return rs[0]
	}

	for w := range writers {
		wg.Go(func() {
			sensor := w % sensors
			uid := "s-" + strconv.Itoa(sensor)
			for k := 0; time.Now().Before(deadline); k++ {
				pts := make([]reading, batch)
				values := make([]float64, batch)
				stamps := make([]string, batch)
				for j := range batch {
					pts[j] = point((k*batch+j)*writers + w)
					values[j] = pts[j].Value
					stamps[j] = pts[j].Timestamp.Format(time.RFC3339Nano)
				}
				var err error
				for attempt := 0; ; attempt++ {
					r := live(w + k + attempt)
					start := time.Now()
					var status int
					status, err = c.post(r.url, "/sensor/insert-sensor-readings", map[string]any{"unique_identifier": uid, "measure_name": "value",
						"readings": values, "timestamps": stamps}, nil)
					writeLat.add(time.Since(start))
					// A replica being stopped refuses new connections: the
					// request never reached it, so it goes to another one.
					if status != 0 || !r.stopped.Load() || attempt == 2 {
						break
					}
				}
				if err != nil {
					fail("writer %d: %v", w, err)
					return
				}
				ackedMu.Lock()
				acked = append(acked, ackedBatch{sensor: sensor, points: pts})
				ackedMu.Unlock()
				ackedCount[sensor].Add(batch)
			}
		})
	}
	var readsDone atomic.Int64
	var rwg sync.WaitGroup
	for rd := range readers {
		rwg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(rd), 1))
			for k := 0; ; k++ {
				select {
				case <-stopReaders:
					return
				default:
				}
				r := live(rd + k)
				retry := func(status int, err error) bool { return err != nil && status == 0 && r.stopped.Load() }
				// read asks r for the readings of one sensor in a range,
				// timing the request.
				read := func(sensor int, from, to string) (got []reading, status int, err error) {
					start := time.Now()
					status, err = c.post(r.url, "/sensor/sensor-readings", map[string]string{"unique_identifier": "s-" + strconv.Itoa(sensor),
						"measure_name": "value", "dt_from": from, "dt_to": to}, &got)
					readLat.add(time.Since(start))
					return got, status, err
				}
				if k%10 == 9 {
					// A whole series: at least every reading acknowledged
					// before the request was sent, in time order.
					sensor := rng.IntN(sensors)
					want := ackedCount[sensor].Load()
					got, status, err := read(sensor, base.Format(time.RFC3339), base.AddDate(1, 0, 0).Format(time.RFC3339))
					if retry(status, err) {
						continue
					}
					if err != nil {
						fail("reader %d: %v", rd, err)
						return
					}
					if int64(len(got)) < want {
						fail("reader %d on %s: %d readings of s-%d, but %d were acknowledged before the read", rd, r.url, len(got), sensor, want)
					}
					if !slices.IsSortedFunc(got, func(a, b reading) int { return a.Timestamp.Compare(b.Timestamp) }) {
						fail("reader %d: readings not in time order", rd)
					}
					readsDone.Add(1)
					continue
				}
				// One acknowledged batch, read back from a replica picked
				// independently of the one that wrote it.
				ackedMu.Lock()
				if len(acked) == 0 {
					ackedMu.Unlock()
					time.Sleep(10 * time.Millisecond)
					continue
				}
				b := acked[rng.IntN(len(acked))]
				ackedMu.Unlock()
				got, status, err := read(b.sensor, b.points[0].Timestamp.Format(time.RFC3339Nano), b.points[batch-1].Timestamp.Format(time.RFC3339Nano))
				if retry(status, err) {
					continue
				}
				if err != nil {
					fail("reader %d: %v", rd, err)
					return
				}
				if missing := missingFrom(got, b.points); len(missing) > 0 {
					fail("reader %d on %s: %d of an acknowledged batch missing or wrong, e.g. %+v", rd, r.url, len(missing), missing[0])
				}
				readsDone.Add(1)
			}
		})
	}

	// Half-way, stop the replica running the schedules: another takes over.
	time.Sleep(time.Duration(seconds) * time.Second / 2)
	leader := lastLogging(rs, "now runs the schedules")
	if leader < 0 {
		t.Errorf("no replica reports running the schedules")
		leader = 0
	}
	stoppedAt := time.Now()
	if code := rs[leader].stop(); code != 0 {
		t.Errorf("replica %d (the scheduler) exited with %d", leader, code)
	}
	wg.Wait()
	close(stopReaders)
	rwg.Wait()
	// Another replica takes over: wait for a few scheduled runs after the
	// failover (a busy machine makes them late, not absent).
	runsAfter := func() int {
		counter.mu.Lock()
		defer counter.mu.Unlock()
		n := 0
		for _, at := range counter.first {
			if at.After(stoppedAt.Add(time.Second)) {
				n++
			}
		}
		return n
	}
	testwait.For(t, fmt.Sprintf("three scheduled runs after the scheduling replica %d stopped (another replica takes over)", leader), func() bool { return runsAfter() >= 3 })
	var up []*replica
	for _, r := range rs {
		if !r.stopped.Load() {
			up = append(up, r)
		}
	}
	c.must(t, up[0], "/service/delete-schedule", map[string]string{"service_name": "tick", "name": "every-second"})
	// Runs already started finish.
	testwait.For(t, "every scheduled run finished", func() bool {
		var runs []struct {
			Status string `json:"status"`
		}
		if _, err := c.post(up[0].url, "/service/list-runs", map[string]string{"service_name": "tick"}, &runs); err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Status == "pending" || r.Status == "running" {
				return false
			}
		}
		return true
	})

	// Every replica still up returns exactly the acknowledged readings.
	want := make([][]reading, sensors)
	for _, b := range acked {
		want[b.sensor] = append(want[b.sensor], b.points...)
	}
	total := 0
	for s := range sensors {
		slices.SortFunc(want[s], func(a, b reading) int { return a.Timestamp.Compare(b.Timestamp) })
		total += len(want[s])
		for _, r := range up {
			var got []reading
			if _, err := c.post(r.url, "/sensor/sensor-readings", map[string]string{"unique_identifier": "s-" + strconv.Itoa(s),
				"measure_name": "value", "dt_from": base.Format(time.RFC3339), "dt_to": base.AddDate(1, 0, 0).Format(time.RFC3339)}, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want[s]) || len(missingFrom(got, want[s])) > 0 {
				t.Errorf("%s: s-%d has %d readings, want exactly the %d acknowledged", r.url, s, len(got), len(want[s]))
			}
		}
	}
	if total == 0 {
		t.Fatal("no reading was written")
	}

	// The schedule ran exactly once per due time, before and after the
	// failover, and the run log on every replica says the same.
	counter.mu.Lock()
	defer counter.mu.Unlock()
	var dues []string
	for due, n := range counter.perDue {
		dues = append(dues, due)
		if n != 1 {
			t.Errorf("due time %s: service called %d times, want exactly once", due, n)
		}
	}
	for id, n := range counter.runIDs {
		if n != 1 {
			t.Errorf("run %s: called %d times", id, n)
		}
	}
	slices.Sort(dues)
	after := 0
	for _, at := range counter.first {
		if at.After(stoppedAt.Add(time.Second)) {
			after++
		}
	}
	// How many seconds the every-second schedule missed (a late pass runs
	// the seconds it missed once) depends on the machine's load: it is
	// logged, not asserted.
	if len(dues) == 0 {
		t.Fatal("the schedule never ran")
	}
	first, _ := time.Parse(time.RFC3339Nano, dues[0])
	last, _ := time.Parse(time.RFC3339Nano, dues[len(dues)-1])
	missed := int(last.Sub(first)/time.Second) + 1 - len(dues)
	for _, r := range up {
		var runs []struct {
			ServiceName string `json:"service_name"`
		}
		if _, err := c.post(r.url, "/service/list-runs", map[string]string{"service_name": "tick"}, &runs); err != nil {
			t.Fatal(err)
		}
		if len(runs) != len(counter.runIDs) {
			t.Errorf("%s: %d runs in the log, but the service was called %d times", r.url, len(runs), len(counter.runIDs))
		}
	}

	t.Logf("%d replicas, %d s of load: %d readings written by %d writers (%.0f readings/s), %d reads by %d readers",
		replicas, seconds, total, writers, float64(total)/float64(seconds), readsDone.Load(), readers)
	t.Logf("writes: %s", writeLat.summary())
	t.Logf("reads: %s", readLat.summary())
	t.Logf("schedule: %d due times each run once, %d seconds missed; replica %d stopped as scheduler, %d runs after the failover",
		len(dues), missed, leader, after)
}

// missingFrom returns the points of want that got lacks or holds with
// another value.
func missingFrom(got, want []reading) []reading {
	have := make(map[int64]float64, len(got))
	for _, r := range got {
		have[r.Timestamp.UnixMicro()] = r.Value
	}
	var missing []reading
	for _, w := range want {
		if v, ok := have[w.Timestamp.UnixMicro()]; !ok || v != w.Value {
			missing = append(missing, w)
		}
	}
	return missing
}
