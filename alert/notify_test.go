package alert_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
	"github.com/dtbase/dtbase/internal/testtool"
	"github.com/dtbase/dtbase/outbound"
	"github.com/dtbase/dtbase/servicerun"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// webhook is a real HTTP listener that checks each request's signature
// and fails the first failFirst requests.
type webhook struct {
	srv       *httptest.Server
	secret    []byte
	mu        sync.Mutex
	failFirst int
	got       []alert.Payload
	badSig    int
}

func newWebhook(t *testing.T, secret string, failFirst int) *webhook {
	w := &webhook{secret: []byte(secret), failFirst: failFirst}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		// The receiver's check, as docs/alerts.md shows it.
		if len(w.secret) > 0 && !hmac.Equal([]byte(r.Header.Get(alert.HeaderSignature)), []byte(alert.Sign(w.secret, body))) {
			w.badSig++
			http.Error(rw, "bad signature", http.StatusUnauthorized)
			return
		}
		if w.failFirst > 0 {
			w.failFirst--
			http.Error(rw, "try later", http.StatusServiceUnavailable)
			return
		}
		var p alert.Payload
		if err := json.Unmarshal(body, &p); err != nil || p.EventID != r.Header.Get(alert.HeaderEventID) {
			http.Error(rw, "bad body", http.StatusBadRequest)
			return
		}
		w.got = append(w.got, p)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// smtpServer runs Debian's aiosmtpd on a free loopback port and collects
// the messages it prints.
type smtpServer struct {
	port int
	mu   sync.Mutex
	msgs []string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import aiosmtpd").Run(); err != nil {
		testtool.Missing(t, "python3-aiosmtpd, the SMTP server of the e-mail tests (apt-get install -y python3-aiosmtpd): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{port: ln.Addr().(*net.TCPAddr).Port}
	ln.Close()
	cmd := exec.Command(py, "-u", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:"+strconv.Itoa(s.port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		var cur []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.Contains(line, "MESSAGE FOLLOWS"):
				cur = nil
			case strings.Contains(line, "END MESSAGE"):
				s.mu.Lock()
				s.msgs = append(s.msgs, strings.Join(cur, "\n"))
				s.mu.Unlock()
			default:
				cur = append(cur, line)
			}
		}
	}()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("aiosmtpd did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

func (s *smtpServer) messages(n int) []string {
	for i := 0; i < 200; i++ {
		s.mu.Lock()
		got := append([]string(nil), s.msgs...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

func ptr[T any](v T) *T { return &v }

// roomDB opens a test store holding sensor R1 of a type room with one
// float measure, temperature.
func roomDB(t *testing.T) *sqldb.DB {
	t.Helper()
	db := sqldbtest.Open(t)
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "room", Measures: []dtbase.Measure{{Name: "temperature", Datatype: dtbase.Float}}}, "R1")
	return db
}

// TestNotifications fires and resolves a threshold alert and delivers both
// events to a signed webhook (which fails once, so the retry is seen) and
// by e-mail through a real SMTP server.
func TestNotifications(t *testing.T) {
	ctx := context.Background()
	db := roomDB(t)
	sealer, err := servicerun.NewSealer([]byte("test key"))
	if err != nil {
		t.Fatal(err)
	}
	hook := newWebhook(t, "hook secret", 1)
	mail := startSMTP(t)
	for _, c := range []*dtbase.AlertChannel{
		{Name: "hook", Kind: dtbase.ChannelWebhook, URL: hook.srv.URL + "/in", Secret: sealer.Seal([]byte("hook secret"))},
		{Name: "mail", Kind: dtbase.ChannelEmail, SMTPHost: "127.0.0.1", SMTPPort: mail.port, SMTPSecurity: "none", From: "twin@example.org", Recipients: []string{"ops@example.org"}},
	} {
		if err := db.CreateAlertChannel(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	rule := &dtbase.AlertRule{Name: "too warm", Target: dtbase.AlertTarget{Sensor: ptr("R1")}, Measure: "temperature", Severity: dtbase.SeverityCritical,
		Enabled: true, Channels: []string{"hook", "mail"}, Condition: dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: ptr(28.0)}}
	if err := db.CreateAlertRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	insert(t, db, "R1", t0, 20, 30, 31, 20)

	guard, err := outbound.New(outbound.Options{AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	r := alert.NewRunner(alert.Options{Store: db, Sender: alert.NewSender(guard, sealer.Open, "https://twin.example.org"),
		Now: func() time.Time { return now }, Backoff: time.Minute})
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute) // past the webhook's retry
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}

	events, err := db.ListAlertEvents(ctx, dtbase.AlertFilter{RuleName: ptr("too warm")})
	if err != nil || len(events) != 2 {
		t.Fatalf("events: %v %v", events, err)
	}
	ids := map[string]string{}
	for _, e := range events {
		ids[e.ID] = e.Kind
	}
	hook.mu.Lock()
	if len(hook.got) != 2 || hook.badSig != 0 {
		t.Errorf("webhook got %d payloads (%d with a bad signature), want 2", len(hook.got), hook.badSig)
	}
	for _, p := range hook.got {
		if ids[p.EventID] != p.Kind || p.Rule != "too warm" || p.Sensor != "R1" || p.Severity != "critical" || !strings.HasPrefix(p.URL, "https://twin.example.org/alerts") {
			t.Errorf("payload %+v does not match the events %v", p, ids)
		}
	}
	hook.mu.Unlock()
	msgs := mail.messages(2)
	if len(msgs) != 2 {
		t.Fatalf("SMTP server got %d messages, want 2", len(msgs))
	}
	for _, kind := range []string{"fired", "resolved"} {
		found := false
		for _, m := range msgs {
			if strings.Contains(m, "Subject: [dtbase critical] too warm "+kind+" on R1") && strings.Contains(m, "See https://twin.example.org/alerts?alert=") {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s message among:\n%s", kind, strings.Join(msgs, "\n---\n"))
		}
	}
	log, err := db.ListDeliveries(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, d := range log {
		if !d.OK {
			failed++
		}
	}
	if len(log) != 5 || failed != 1 {
		t.Errorf("delivery log: %d attempts, %d failed; want 5 and 1: %+v", len(log), failed, log)
	}
	// Nothing is left to send.
	if n, err := r.Deliver(ctx); n != 0 || err != nil {
		t.Errorf("sent again: %d %v", n, err)
	}
}

// insert stores one reading a minute from t0.
func insert(t *testing.T, db *sqldb.DB, uid string, t0 time.Time, vals ...float64) {
	t.Helper()
	s := dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "temperature"}
	for i, v := range vals {
		s.Timestamps = append(s.Timestamps, t0.Add(time.Duration(i)*time.Minute))
		s.Values = append(s.Values, dtbase.FloatValue(v))
	}
	if _, err := db.InsertReadings(context.Background(), []dtbase.ReadingSeries{s}); err != nil {
		t.Fatal(err)
	}
}

// TestStalenessNotification: the runner's scheduled pass fires a
// staleness alert for a silent sensor and resolves it when a reading
// arrives, and each event reaches the webhook once.
func TestStalenessNotification(t *testing.T) {
	ctx := context.Background()
	db := roomDB(t)
	hook := newWebhook(t, "", 0)
	if err := db.CreateAlertChannel(ctx, &dtbase.AlertChannel{Name: "hook", Kind: dtbase.ChannelWebhook, URL: hook.srv.URL}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAlertRule(ctx, &dtbase.AlertRule{Name: "silent", Target: dtbase.AlertTarget{SensorType: ptr("room")}, Measure: "temperature",
		Severity: dtbase.SeverityWarning, Enabled: true, Channels: []string{"hook"},
		Condition: dtbase.AlertCondition{Kind: dtbase.CondStaleness, MaxAgeSeconds: 600}}); err != nil {
		t.Fatal(err)
	}
	guard, err := outbound.New(outbound.Options{AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	r := alert.NewRunner(alert.Options{Store: db, Sender: alert.NewSender(guard, nil, ""), Now: func() time.Time { return now }})
	insert(t, db, "R1", now.Add(-30*time.Minute), 20)
	for range 2 {
		if err := r.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	insert(t, db, "R1", now, 21)
	now = now.Add(time.Minute)
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	var kinds []string
	for _, p := range hook.got {
		kinds = append(kinds, p.Kind)
	}
	if strings.Join(kinds, ",") != "fired,resolved" {
		t.Errorf("webhook got %v, want fired then resolved", kinds)
	}
}

// TestSendTestEmail sends a test notification through an e-mail channel to
// a real SMTP server: one message whose subject says it is a test.
func TestSendTestEmail(t *testing.T) {
	mail := startSMTP(t)
	guard, err := outbound.New(outbound.Options{AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	c := dtbase.AlertChannel{Name: "mail", Kind: dtbase.ChannelEmail, SMTPHost: "127.0.0.1", SMTPPort: mail.port, SMTPSecurity: "none",
		From: "twin@example.org", Recipients: []string{"ops@example.org"}}
	if _, err := alert.NewSender(guard, nil, "").SendTest(context.Background(), c, time.Now()); err != nil {
		t.Fatal(err)
	}
	msgs := mail.messages(1)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: [dtbase] A test notification from dtbase: channel mail works.") {
		t.Errorf("the SMTP server got:\n%s", strings.Join(msgs, "\n---\n"))
	}
}
