package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
	"github.com/dtbase/dtbase/outbound"
)

// alertEnv is a test server with sensor type "room" (temperature float,
// label string), sensor R1 and a webhook channel "hook".
func alertEnv(t *testing.T) *testEnv {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.db.CreateSensorType(ctx, &dtbase.SensorType{Name: "room", Measures: []dtbase.Measure{
		{Name: "temperature", Datatype: dtbase.Float}, {Name: "label", Datatype: dtbase.String}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: "R1", TypeName: "room"}); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusCreated, "/alert/insert-channel", map[string]any{"name": "hook", "kind": "webhook", "url": "https://example.org/hook"})
	return e
}

func TestAlertRuleValidation(t *testing.T) {
	e := alertEnv(t)
	rule := func(edit func(r map[string]any)) map[string]any {
		r := map[string]any{"name": "warm", "target": map[string]any{"sensor": "R1"}, "measure": "temperature",
			"condition": map[string]any{"kind": "threshold", "op": "above", "value": 28, "for_seconds": 600}, "channels": []string{"hook"}}
		edit(r)
		return r
	}
	cond := func(k string, v any) func(map[string]any) {
		return func(r map[string]any) { r["condition"].(map[string]any)[k] = v }
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		loc    string // the field the 422 names
	}{
		{"unknown sensor", rule(func(r map[string]any) { r["target"] = map[string]any{"sensor": "nope"} }), 422, `["body","target","sensor"]`},
		{"unknown type", rule(func(r map[string]any) { r["target"] = map[string]any{"sensor_type": "nope"} }), 422, `["body","target","sensor_type"]`},
		{"two targets", rule(func(r map[string]any) { r["target"] = map[string]any{"sensor": "R1", "sensor_type": "room"} }), 422, `["body","target"]`},
		{"unknown measure", rule(func(r map[string]any) { r["measure"] = "nope" }), 422, `["body","measure"]`},
		{"text measure", rule(func(r map[string]any) { r["measure"] = "label" }), 422, `["body","measure"]`},
		{"unknown channel", rule(func(r map[string]any) { r["channels"] = []string{"hook", "nope"} }), 422, `["body","channels[1]"]`},
		{"negative duration", rule(cond("for_seconds", -1)), 422, `["body","condition","for_seconds"]`},
		{"duration over a year", rule(cond("for_seconds", 1e9)), 422, `["body","condition","for_seconds"]`},
		{"threshold of the wrong type", rule(cond("value", "hot")), 422, `["body","condition","value"]`},
		{"unknown kind", rule(cond("kind", "vibes")), 422, `["body","condition","kind"]`},
		{"bad severity", rule(func(r map[string]any) { r["severity"] = "panic" }), 422, `["body","severity"]`},
		{"ok", rule(func(map[string]any) {}), 201, ""},
		{"duplicate", rule(func(map[string]any) {}), 409, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post("/alert/insert-rule", tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.loc != "" && !strings.Contains(string(r.Body), `"loc":`+tt.loc) {
				t.Errorf("body %s does not name %s", r.Body, tt.loc)
			}
		})
	}
}

func TestAlertLifecycle(t *testing.T) {
	e := alertEnv(t)
	e.must(http.StatusCreated, "/alert/insert-rule", map[string]any{"name": "warm", "target": map[string]any{"sensor_type": "room"}, "measure": "temperature",
		"severity": "critical", "condition": map[string]any{"kind": "threshold", "op": "above", "value": 28, "hysteresis": 1}, "channels": []string{"hook"}})
	now := time.Now().UTC().Truncate(time.Minute)
	var ts []time.Time
	var vs []dtbase.Value
	for i, v := range []float64{20, 30, 27.5, 26, 31} { // fires, stays (hysteresis), resolves, fires
		ts = append(ts, now.Add(time.Duration(i-10)*time.Minute))
		vs = append(vs, dtbase.FloatValue(v))
	}
	if _, err := e.db.InsertReadings(context.Background(), []dtbase.ReadingSeries{{UniqueIdentifier: "R1", MeasureName: "temperature", Timestamps: ts, Values: vs}}); err != nil {
		t.Fatal(err)
	}
	var alerts []alertInfo
	e.must(http.StatusOK, "/alert/list-alerts", map[string]any{"sensor": "R1"}).JSON(t, &alerts)
	if len(alerts) != 2 || alerts[0].State != "firing" || alerts[1].State != "resolved" {
		t.Fatalf("alerts, firing first: %+v", alerts)
	}
	e.must(http.StatusOK, "/alert/acknowledge", map[string]any{"alert_id": alerts[0].ID, "note": "opening the vents"})
	if r := e.post("/alert/acknowledge", map[string]any{"alert_id": alerts[0].ID}); r.Status != http.StatusConflict {
		t.Errorf("second acknowledge: %d %s", r.Status, r.Body)
	}
	var events []eventInfo
	e.must(http.StatusOK, "/alert/list-events", map[string]any{"rule": "warm"}).JSON(t, &events)
	kinds := map[string]int{}
	for _, ev := range events {
		kinds[ev.Kind]++
		if ev.Kind == "acknowledged" && (ev.By == nil || *ev.By != testAdmin || ev.Note == nil || *ev.Note != "opening the vents") {
			t.Errorf("acknowledged event: %+v", ev)
		}
	}
	if kinds["fired"] != 2 || kinds["resolved"] != 1 || kinds["acknowledged"] != 1 {
		t.Errorf("events: %v", kinds)
	}
	var preview previewResponse
	e.must(http.StatusOK, "/alert/preview-rule", map[string]any{"rule": map[string]any{"name": "p", "target": map[string]any{"sensor": "R1"}, "measure": "temperature",
		"condition": map[string]any{"kind": "threshold", "op": "above", "value": 29}}}).JSON(t, &preview)
	if preview.Fired != 2 {
		t.Errorf("preview fired %d times, want 2: %+v", preview.Fired, preview)
	}
	e.must(http.StatusOK, "/alert/silence-rule", map[string]any{"name": "warm", "minutes": 60})
	var rules []ruleInfo
	if r := e.get("/alert/list-rules"); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	} else {
		r.JSON(t, &rules)
	}
	if len(rules) != 1 || rules[0].SilencedUntil == nil || len(rules[0].Channels) != 1 {
		t.Errorf("rules: %+v", rules)
	}
	if r := e.post("/alert/delete-channel", map[string]any{"name": "hook"}); r.Status != http.StatusConflict {
		t.Errorf("deleting a channel in use: %d %s", r.Status, r.Body)
	}
	e.must(http.StatusOK, "/alert/delete-rule", map[string]any{"name": "warm"})
	e.must(http.StatusOK, "/alert/delete-channel", map[string]any{"name": "hook"})
}

// TestAlertChannelTest sends a test notification through a webhook at once:
// the receiver gets a "test" event; a channel that cannot be reached is a
// 400 that says why; an unknown channel, a viewer and a server without a
// sender are refused.
func TestAlertChannelTest(t *testing.T) {
	var got alert.Payload
	var eventID string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventID = r.Header.Get(alert.HeaderEventID)
		json.NewDecoder(r.Body).Decode(&got)
	}))
	defer receiver.Close()
	guard, err := outbound.New(outbound.Options{AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	sender := alert.NewSender(guard, nil, "")
	e := newEnv(t, func(c *Config) {
		c.TestChannel = func(ctx context.Context, ch dtbase.AlertChannel) (string, error) {
			return sender.SendTest(ctx, ch, time.Now())
		}
	})
	e.must(http.StatusCreated, "/alert/insert-channel", map[string]any{"name": "hook", "kind": "webhook", "url": receiver.URL + "/hook"})
	e.must(http.StatusCreated, "/alert/insert-channel", map[string]any{"name": "dead", "kind": "webhook", "url": "http://127.0.0.1:1/hook"})

	if r := e.post("/alert/test-channel", map[string]string{"name": "hook"}); r.Status != http.StatusOK || r.Detail() != "Test notification sent: webhook answered 200 OK" {
		t.Fatalf("test of hook: %d %s", r.Status, r.Body)
	}
	if got.Kind != dtbase.EventTest || got.Channel != "hook" || !strings.HasPrefix(eventID, "test-") || got.EventID != eventID {
		t.Errorf("the receiver got %+v (event id %q), want a test event of hook", got, eventID)
	}
	for _, c := range []struct {
		name   string
		token  string
		status int
		detail string
	}{
		{"dead", e.token, http.StatusBadRequest, "Test notification through dead failed: "},
		{"nope", e.token, http.StatusBadRequest, "Alert channel does not exist."},
		{"hook", e.as(dtbase.RoleViewer), http.StatusForbidden, ""},
	} {
		r := e.do(http.MethodPost, "/alert/test-channel", map[string]string{"name": c.name}, c.token)
		if r.Status != c.status || !strings.HasPrefix(r.Detail(), c.detail) {
			t.Errorf("test of %s: %d %s, want %d %q", c.name, r.Status, r.Body, c.status, c.detail)
		}
	}
	if r := newEnv(t).post("/alert/test-channel", map[string]string{"name": "hook"}); r.Status != http.StatusServiceUnavailable {
		t.Errorf("without a sender: %d %s", r.Status, r.Body)
	}
}
