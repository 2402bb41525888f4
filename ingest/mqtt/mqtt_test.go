package mqtt

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/internal/testwait"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func TestParsePattern(t *testing.T) {
	units := func(s string) *string { return &s }
	tests := []struct {
		pattern string
		topic   string
		want    *Target // nil: no match
		filter  string
	}{
		{"site/+sensor/+measure", "site/s1/temperature", &Target{Sensor: "s1", Measure: "temperature"}, "site/+/+"},
		{"site/+sensor/+measure", "site/s1/temperature/x", nil, "site/+/+"},
		{"site/+sensor/+measure", "site/s1", nil, "site/+/+"},
		{"site/+sensor/+measure", "other/s1/t", nil, "site/+/+"},
		{"+/+sensor/+measure/+units", "farm/s2/temp/C", &Target{Sensor: "s2", Measure: "temp", Units: units("C")}, "+/+/+/+"},
		{"plant/boiler/temp?sensor=boiler-1&measure=temperature&units=C", "plant/boiler/temp",
			&Target{Sensor: "boiler-1", Measure: "temperature", Units: units("C")}, "plant/boiler/temp"},
		{"dev/+sensor/#?measure=power", "dev/m1/a/b", &Target{Sensor: "m1", Measure: "power"}, "dev/+/#"},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.topic, func(t *testing.T) {
			p, err := ParsePattern(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if p.Filter != tc.filter {
				t.Errorf("filter %q, want %q", p.Filter, tc.filter)
			}
			got, ok := p.Match(tc.topic)
			if tc.want == nil {
				if ok {
					t.Fatalf("matched %+v, want no match", got)
				}
				return
			}
			if !ok {
				t.Fatal("no match")
			}
			if got.Sensor != tc.want.Sensor || got.Measure != tc.want.Measure ||
				(got.Units == nil) != (tc.want.Units == nil) || (got.Units != nil && *got.Units != *tc.want.Units) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "a/b/c", "a/+sensor", "a/#/+sensor/+measure", "a/+foo/+measure?sensor=x",
		"a/x+/+sensor/+measure", "a/+sensor/+sensor/+measure", "a/b?sensor=x&measure=y&colour=red"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q) succeeded, want an error", bad)
		}
	}
}

func TestDecodePayload(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	at := time.Date(2024, 1, 5, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		payload string
		want    []point
		bad     bool
	}{
		{"21.5", []point{{dtbase.FloatValue(21.5), now, true}}, false},
		{" 21 ", []point{{dtbase.IntValue(21), now, true}}, false},
		{"true", []point{{dtbase.BoolValue(true), now, true}}, false},
		{`"on"`, []point{{dtbase.StringValue("on"), now, true}}, false},
		{`{"value": 1.0, "timestamp": "2024-01-05T15:00:00Z"}`, []point{{dtbase.FloatValue(1), at, false}}, false},
		{`{"value": 1.0, "timestamp": 1704466800}`, []point{{dtbase.FloatValue(1), at, false}}, false},
		{`{"value": 1.0, "timestamp": 1704466800000}`, []point{{dtbase.FloatValue(1), at, false}}, false},
		{`{"value": 2}`, []point{{dtbase.IntValue(2), now, true}}, false},
		{`[{"value": 1, "timestamp": "2024-01-05T15:00:00"}, {"value": 2}]`,
			[]point{{dtbase.IntValue(1), at, false}, {dtbase.IntValue(2), now, true}}, false},
		{"", nil, true},
		{"abc", nil, true},
		{"null", nil, true},
		{"NaN", nil, true},
		{`{"value": null}`, nil, true},
		{`{"val": 1}`, nil, true},
		{`{"value": 1, "timestamp": "yesterday"}`, nil, true},
		{`{"value": 1`, nil, true},
		{`[]`, nil, true},
		{`[1, 2]`, nil, true},
		{`{"value": [1]}`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.payload, func(t *testing.T) {
			got, err := decodePayload([]byte(tc.payload), now)
			if tc.bad {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d points, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i].value != tc.want[i].value || !got[i].ts.Equal(tc.want[i].ts) || got[i].stamped != tc.want[i].stamped {
					t.Errorf("point %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// fixture is a database with a sensor type "thermo" measuring
// temperature (float, C) and status (string), and sensors s0…s(n-1).
func fixture(t testing.TB, sensors int) *sqldb.DB {
	t.Helper()
	db := sqldbtest.Open(t)
	c := "C"
	uids := make([]string, sensors)
	for i := range uids {
		uids[i] = fmt.Sprintf("s%d", i)
	}
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "thermo", Measures: []dtbase.Measure{
		{Name: "temperature", Units: &c, Datatype: dtbase.Float},
		{Name: "status", Datatype: dtbase.String},
	}}, uids...)
	return db
}

// readings returns a sensor measure's stored readings.
func readings(t testing.TB, db *sqldb.DB, sensor, measure string) []dtbase.Reading {
	t.Helper()
	m, err := db.FindReadingMeasure(context.Background(), sensor, measure, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dtbase.CollectReadings(context.Background(), db, m, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

func newSubscriber(t testing.TB, db Store, addr, clientID string, reg prometheus.Registerer, mod func(*Config)) *Subscriber {
	t.Helper()
	pats, err := ParsePatterns("test/+sensor/+measure")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Brokers: []string{addr}, Patterns: pats, ClientID: clientID, BatchSize: 100,
		BatchDelay: 20 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Logger: testLogger(t), Registerer: reg}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	t.Cleanup(s.Abort)
	return s
}

// connectedSubscriber starts a subscriber as newSubscriber does and waits
// until it is connected.
func connectedSubscriber(t testing.TB, db Store, addr, clientID string, reg prometheus.Registerer, mod func(*Config)) *Subscriber {
	t.Helper()
	s := newSubscriber(t, db, addr, clientID, reg, mod)
	testwait.For(t, "the subscriber to connect", func() bool { return s.Connected() == 1 })
	return s
}

// publishValues publishes n readings, the i-th (from 0) with the value i
// at 1700000000+i seconds on topic(i).
func publishValues(t testing.TB, p *publisher, n int, topic func(i int) string) {
	t.Helper()
	for i := range n {
		if err := p.publish(context.Background(), topic(i), []byte(fmt.Sprintf(`{"value": %d.0, "timestamp": %d}`, i, 1700000000+i))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNoLossAcrossRestarts publishes N timestamped readings while the
// broker is restarted and the subscriber crashes and comes back; every
// reading must be stored exactly once.
func TestNoLossAcrossRestarts(t *testing.T) {
	for _, proto := range []string{"5", "3.1.1"} {
		t.Run("MQTT "+proto, func(t *testing.T) { testNoLoss(t, proto) })
	}
}

func testNoLoss(t *testing.T, proto string) {
	const n = 3000
	const sensors = 3
	db := fixture(t, sensors)
	b := startBroker(t)
	addr := b.addr() + "?protocol=" + proto
	sub := connectedSubscriber(t, db, addr, "dtbase-noloss", nil, nil)

	ctx, cancel := context.WithTimeout(context.Background(), testwait.HangAfter)
	defer cancel()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var sent atomic.Int64
	pubErr := make(chan error, 1)
	go func() {
		p := newPublisher(b.addr(), "device-1")
		defer p.close()
		for i := 0; i < n; i++ {
			payload := fmt.Sprintf(`{"value": %d.5, "timestamp": %q}`, i, dtbase.FormatTime(base.Add(time.Duration(i)*time.Second)))
			if err := p.publish(ctx, fmt.Sprintf("test/s%d/temperature", i%sensors), []byte(payload)); err != nil {
				pubErr <- err
				return
			}
			sent.Add(1)
			if i%10 == 0 {
				time.Sleep(time.Millisecond) // a stream, not a burst: restarts land mid-stream
			}
		}
		pubErr <- nil
	}()

	testwait.For(t, "a third of the stream", func() bool { return sent.Load() >= n/3 })
	t.Logf("restarting the broker after %d messages", sent.Load())
	b.restart()

	testwait.For(t, "two thirds of the stream", func() bool { return sent.Load() >= 2*n/3 })
	t.Logf("crashing the subscriber after %d messages (stats %+v)", sent.Load(), sub.Stats())
	sub.Abort()
	time.Sleep(200 * time.Millisecond) // the stream goes on while dtbase is down
	sub2 := newSubscriber(t, db, addr, "dtbase-noloss", nil, nil)

	if err := <-pubErr; err != nil {
		t.Fatal(err)
	}
	total := func() int {
		c := 0
		for s := 0; s < sensors; s++ {
			c += len(readings(t, db, fmt.Sprintf("s%d", s), "temperature"))
		}
		return c
	}
	testwait.For(t, fmt.Sprintf("%d readings stored", n), func() bool { return total() >= n })
	time.Sleep(300 * time.Millisecond) // let stragglers (redeliveries) land, to catch any extra row
	if got := total(); got != n {
		t.Fatalf("stored %d readings, want exactly %d", got, n)
	}
	for s := 0; s < sensors; s++ {
		rs := readings(t, db, fmt.Sprintf("s%d", s), "temperature")
		for j, r := range rs {
			i := s + j*sensors
			want := dtbase.FloatValue(float64(i) + 0.5)
			if r.Value != want || !r.Time.Equal(base.Add(time.Duration(i)*time.Second)) {
				t.Fatalf("sensor s%d reading %d: got %v at %v, want %v at %v", s, j, r.Value, r.Time, want, base.Add(time.Duration(i)*time.Second))
			}
		}
	}
	st1, st2 := sub.Stats(), sub2.Stats()
	t.Logf("first subscriber %+v; second %+v", st1, st2)
	if st1.Rejected+st2.Rejected != 0 {
		t.Errorf("rejected %d messages, want none", st1.Rejected+st2.Rejected)
	}
	if err := sub2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput sends malformed payloads, wrong types, unknown sensors and
// measures among good readings: the bad ones are counted and dropped, the
// good ones stored, and nothing stalls.
func TestBadInput(t *testing.T) {
	db := fixture(t, 2)
	b := startBroker(t)
	reg := prometheus.NewRegistry()
	sub := connectedSubscriber(t, db, b.addr(), "dtbase-bad", reg, func(c *Config) {
		pats, _ := ParsePatterns("test/+sensor/+measure, other/#?sensor=s1&measure=temperature")
		c.Patterns = pats
	})
	ctx, cancel := context.WithTimeout(context.Background(), testwait.HangAfter)
	defer cancel()
	p := newPublisher(b.addr(), "device-bad")
	defer p.close()
	at := func(i int) string {
		return dtbase.FormatTime(time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC))
	}
	msgs := []struct{ topic, payload, reason string }{
		{"test/s0/temperature", `{"value": 1.5, "timestamp": "` + at(1) + `"}`, ""},
		{"test/s0/temperature", `not json`, rejectPayload},
		{"test/s0/temperature", `{"value": "hot", "timestamp": "` + at(2) + `"}`, rejectDatatype},
		{"test/s0/temperature", `{"value": true}`, rejectDatatype},
		{"test/s0/temperature", `{"value": 1e999}`, rejectPayload},
		{"test/nosuch/temperature", `{"value": 1.5}`, rejectUnknownSensor},
		{"test/s0/humidity", `{"value": 1.5}`, rejectMeasure},
		{"test/s0/temperature", `7`, ""}, // an integer literal is fine for a float measure
		{"test/s1/status", `"ok"`, ""},
		{"test/s1/status", `{"value": "ok", "timestamp": "` + at(3) + `"}`, ""},
		{"test/s1/status", `[{"value": "a", "timestamp": "` + at(4) + `"}, {"value": "b", "timestamp": "` + at(5) + `"}]`, ""},
		{"other/x/y", `{"value": 2.5, "timestamp": "` + at(6) + `"}`, ""},
		{"test/s0/temperature", `{"value": 3.5, "timestamp": "` + at(7) + `"}`, ""},
	}
	want := map[string]int{}
	for _, m := range msgs {
		if err := p.publish(ctx, m.topic, []byte(m.payload)); err != nil {
			t.Fatal(err)
		}
		if m.reason != "" {
			want[m.reason]++
		}
	}
	testwait.For(t, "every message to be handled", func() bool {
		st := sub.Stats()
		return st.Stored+st.Rejected >= int64(len(msgs))+1 // the array message stores two readings
	})
	for reason, n := range want {
		var m dto.Metric
		if err := sub.m.rejected.WithLabelValues(reason).Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); int(got) != n {
			t.Errorf("rejected[%s] = %v, want %d", reason, got, n)
		}
	}
	if got := len(readings(t, db, "s0", "temperature")); got != 3 {
		t.Errorf("s0 temperature has %d readings, want 3", got)
	}
	if got := len(readings(t, db, "s1", "temperature")); got != 1 {
		t.Errorf("s1 temperature has %d readings, want 1 (from the fixed-target pattern)", got)
	}
	if got := len(readings(t, db, "s1", "status")); got != 4 {
		t.Errorf("s1 status has %d readings, want 4", got)
	}
	st := sub.Stats()
	if st.Received != int64(len(msgs)) {
		t.Errorf("received %d, want %d", st.Received, len(msgs))
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, name := range []string{"dtbase_mqtt_messages_received_total", "dtbase_mqtt_readings_stored_total",
		"dtbase_mqtt_messages_rejected_total", "dtbase_mqtt_connected"} {
		if !names[name] {
			t.Errorf("metric %s not registered", name)
		}
	}
}

// TestCreateSensorsFromTemplate stores readings of unknown sensors by
// creating them with the configured type.
func TestCreateSensorsFromTemplate(t *testing.T) {
	db := fixture(t, 0)
	b := startBroker(t)
	sub := connectedSubscriber(t, db, b.addr(), "dtbase-template", nil, func(c *Config) { c.CreateSensorsOfType = "thermo" })
	p := newPublisher(b.addr(), "device-new")
	defer p.close()
	publishValues(t, p, 5, func(i int) string { return fmt.Sprintf("test/new%d/temperature", i%2) })
	testwait.For(t, "five readings", func() bool { return sub.Stats().Stored == 5 })
	if got := len(readings(t, db, "new0", "temperature")) + len(readings(t, db, "new1", "temperature")); got != 5 {
		t.Fatalf("stored %d, want 5", got)
	}
}

// TestFallbackTo311 connects through a proxy that answers an MQTT 5 CONNECT
// as a 3.1.1-only broker does; the subscriber falls back to 3.1.1 and
// stores what is published.
func TestFallbackTo311(t *testing.T) {
	db := fixture(t, 1)
	b := startBroker(t)
	proxy := v311OnlyProxy(t, fmt.Sprintf("127.0.0.1:%d", b.port))
	sub := connectedSubscriber(t, db, "mqtt://"+proxy, "dtbase-fallback", nil, nil)
	p := newPublisher(b.addr(), "device-fb")
	defer p.close()
	publishValues(t, p, 20, func(int) string { return "test/s0/temperature" })
	testwait.For(t, "twenty readings", func() bool { return sub.Stats().Stored == 20 })
}

// v311OnlyProxy forwards MQTT connections to target, except that it
// refuses protocol level 5 the way a 3.1.1 broker does: CONNACK with
// return code 1, then close.
func v311OnlyProxy(t *testing.T, target string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				// CONNECT: fixed header, remaining length, "MQTT" string, level.
				head := make([]byte, 2)
				if _, err := io.ReadFull(c, head); err != nil {
					return
				}
				lenBytes := []byte{head[1]}
				for lenBytes[len(lenBytes)-1]&0x80 != 0 {
					b := make([]byte, 1)
					if _, err := io.ReadFull(c, b); err != nil {
						return
					}
					lenBytes = append(lenBytes, b[0])
				}
				n, mult := 0, 1
				for _, d := range lenBytes {
					n += int(d&0x7f) * mult
					mult *= 128
				}
				body := make([]byte, n)
				if _, err := io.ReadFull(c, body); err != nil {
					return
				}
				if len(body) > 6 && body[6] == 5 {
					c.Write([]byte{0x20, 0x02, 0x00, 0x01})
					return
				}
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				up.Write(append(append([]byte{head[0]}, lenBytes...), body...))
				go io.Copy(up, c)
				io.Copy(c, up)
			}(c)
		}
	}()
	return ln.Addr().String()
}

// flakyStore fails its first inserts as a database that is down does.
type flakyStore struct {
	Store
	failures atomic.Int64
}

func (f *flakyStore) InsertReadings(ctx context.Context, s []dtbase.ReadingSeries) (dtbase.ReadingInsertResult, error) {
	if f.failures.Add(-1) >= 0 {
		return dtbase.ReadingInsertResult{}, &dtbase.Error{Code: dtbase.EUNAVAILABLE, Message: "database unavailable"}
	}
	return f.Store.InsertReadings(ctx, s)
}

// TestDatabaseOutage: while inserts fail, nothing is acknowledged or
// dropped; once the database is back everything is stored.
func TestDatabaseOutage(t *testing.T) {
	db := fixture(t, 1)
	b := startBroker(t)
	fs := &flakyStore{Store: db}
	fs.failures.Store(4)
	sub := connectedSubscriber(t, fs, b.addr(), "dtbase-outage", nil, nil)
	p := newPublisher(b.addr(), "device-outage")
	defer p.close()
	publishValues(t, p, 50, func(int) string { return "test/s0/temperature" })
	testwait.For(t, "fifty readings", func() bool { return sub.Stats().Stored == 50 })
	if st := sub.Stats(); st.Rejected != 0 || fs.failures.Load() >= 0 {
		t.Fatalf("stats %+v, failures left %d", st, fs.failures.Load())
	}
}
