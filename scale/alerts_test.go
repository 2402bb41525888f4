package scale

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
	"github.com/dtbase/dtbase/internal/testwait"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// hookCounter is a webhook receiver that counts deliveries per event.
type hookCounter struct {
	mu  sync.Mutex
	got map[string]int
}

func (h *hookCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p alert.Payload
	body, _ := io.ReadAll(r.Body)
	if json.Unmarshal(body, &p) != nil || p.EventID == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.got[p.EventID]++
	h.mu.Unlock()
}

func (h *hookCounter) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

// TestReplicaAlerts writes readings that cross a threshold through three
// replicas at once, from writers whose timestamps interleave (so each
// replica's inserts arrive out of order against the others'), and stops
// the replica sending notifications half-way. Every state change must be
// one event, as a replay of the final series says, and every event one
// webhook call.
func TestReplicaAlerts(t *testing.T) {
	if sqldbtest.PostgresURL() == "" {
		t.Skip("SKIPPED: the scale-out test needs PostgreSQL, which replicas share; set DT_TEST_POSTGRES_URL")
	}
	rs := startReplicas(t, replicas, sqldbtest.DSN(t))
	c := &client{http: &http.Client{Timeout: testwait.HangAfter}}
	c.login(t, rs[0])
	hook := &hookCounter{got: map[string]int{}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	c.must(t, rs[1], "/sensor/insert-sensor-type", map[string]any{"name": "scale", "measures": []map[string]any{{"name": "value", "units": "u", "datatype": "float"}}})
	c.must(t, rs[2], "/sensor/insert-sensor", map[string]string{"type_name": "scale", "unique_identifier": "a-0"})
	c.must(t, rs[0], "/alert/insert-channel", map[string]any{"name": "hook", "kind": "webhook", "url": srv.URL, "secret": "s"})
	cond := dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: ptr(50.0)}
	c.must(t, rs[1], "/alert/insert-rule", map[string]any{"name": "high", "target": map[string]any{"sensor": "a-0"}, "measure": "value",
		"condition": cond, "channels": []string{"hook"}})

	const writers, perBatch = 3, 10
	seconds := 8
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for k := 0; time.Now().Before(deadline); k++ {
				values := make([]float64, perBatch)
				stamps := make([]string, perBatch)
				for j := range perBatch {
					values[j] = float64(rng.IntN(100))
					stamps[j] = base.Add(time.Duration((k*perBatch+j)*writers+w) * time.Second).Format(time.RFC3339)
				}
				for attempt := 0; attempt < replicas; attempt++ {
					r := rs[(w+k+attempt)%replicas]
					if r.stopped.Load() {
						continue
					}
					if _, err := c.post(r.url, "/sensor/insert-sensor-readings", map[string]any{"unique_identifier": "a-0", "measure_name": "value",
						"readings": values, "timestamps": stamps}, nil); err == nil {
						break
					} else if !r.stopped.Load() {
						t.Errorf("insert: %v", err)
						return
					}
				}
			}
		})
	}
	// Half-way, stop the replica that sends the notifications.
	time.Sleep(time.Duration(seconds) * time.Second / 2)
	leader := lastLogging(rs, "alerts: this replica now evaluates")
	if leader < 0 {
		t.Fatal("no replica reports sending notifications")
	}
	if code := rs[leader].stop(); code != 0 {
		t.Errorf("replica %d exited with %d", leader, code)
	}
	wg.Wait()
	up := rs[(leader+1)%replicas]

	// What the final series says: replay it whole.
	var got []reading
	if _, err := c.post(up.url, "/sensor/sensor-readings", map[string]string{"unique_identifier": "a-0", "measure_name": "value",
		"dt_from": base.Format(time.RFC3339), "dt_to": base.AddDate(1, 0, 0).Format(time.RFC3339)}, &got); err != nil {
		t.Fatal(err)
	}
	pts := make([]alert.Point, len(got))
	for i, r := range got {
		pts[i] = alert.Point{T: r.Timestamp, V: r.Value}
	}
	want := 0
	for _, ep := range alert.Episodes(cond, pts) {
		want++
		if ep.ResolvedAt != nil {
			want++
		}
	}
	var events []struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	}
	if _, err := c.post(up.url, "/alert/list-events", map[string]any{"rule": "high", "limit": 10000}, &events); err != nil {
		t.Fatal(err)
	}
	if len(events) != want || want == 0 {
		t.Errorf("%d events recorded; a replay of the %d readings has %d state changes", len(events), len(got), want)
	}
	// Every event reaches the webhook once, the failover included.
	testwait.For(t, "every event delivered", func() bool { return hook.count() >= len(events) })
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for _, e := range events {
		if n := hook.got[e.ID]; n != 1 {
			t.Errorf("event %s (%s) delivered %d times, want once", e.ID, e.Kind, n)
		}
	}
	if len(hook.got) != len(events) {
		t.Errorf("webhook got %d distinct events, %d recorded", len(hook.got), len(events))
	}
	t.Logf("%d readings through %d replicas, %d events each delivered once; replica %d stopped as the sender", len(got), replicas, len(events), leader)
}

func ptr[T any](v T) *T { return &v }
