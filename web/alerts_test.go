package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
)

// newRoomEnv is newEnv with one sensor, R1, of a type "room" measuring a
// float temperature in units.
func newRoomEnv(t *testing.T, units *string) *testEnv {
	t.Helper()
	e := newEnv(t)
	if err := e.db.CreateSensorType(context.Background(), &dtbase.SensorType{Name: "room", Measures: []dtbase.Measure{{Name: "temperature", Units: units, Datatype: dtbase.Float}}}); err != nil {
		t.Fatal(err)
	}
	e.createSensor(dtbase.Sensor{UniqueIdentifier: "R1", TypeName: "room"})
	return e
}

// TestAlertPages previews and saves a rule in the editor, sees its alert
// first on the dashboard, acknowledges it and silences the rule.
func TestAlertPages(t *testing.T) {
	e := newRoomEnv(t, nil)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	insert := func(end time.Time, vals ...float64) {
		s := dtbase.ReadingSeries{UniqueIdentifier: "R1", MeasureName: "temperature"}
		for i, v := range vals {
			s.Timestamps = append(s.Timestamps, end.Add(time.Duration(i-len(vals))*time.Hour))
			s.Values = append(s.Values, dtbase.FloatValue(v))
		}
		e.insert(s)
	}
	insert(now.Add(-10*time.Hour), 20, 30, 20, 31, 20) // two breaches in the last 7 days
	b := e.signIn("editor@example.com")
	form := url.Values{"name": {"warm"}, "target_kind": {"sensor"}, "target": {"R1"}, "measure": {"temperature"},
		"kind": {"threshold"}, "op": {"above"}, "value": {"28"}, "severity": {"critical"}, "preview": {"1"}}
	p := b.submit("/alerts/rule", form, "/alerts/rule")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "would have fired <strong>2</strong> times") {
		t.Fatalf("preview: %d\n%s", p.Status, p.Body)
	}
	form.Set("value", "hot")
	if p := b.submit("/alerts/rule", form, "/alerts/rule"); !strings.Contains(p.Body, "value must be a number") {
		t.Errorf("a threshold that is not a number: %s", p.Body)
	}
	form.Set("value", "28")
	form.Del("preview")
	form.Set("save", "1")
	if p := b.submit("/alerts/rule", form, "/alerts/rule"); p.Status != http.StatusSeeOther || p.Location != "/alerts" {
		t.Fatalf("save: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	insert(now, 20, 35) // a later breach fires
	home := b.get("/")
	if i, j := strings.Index(home.Body, "alerts-first"), strings.Index(home.Body, "Latest readings"); i < 0 || i > j || !strings.Contains(home.Body, "warm on") {
		t.Fatalf("the dashboard does not show the firing alert first:\n%s", home.Body)
	}
	alerts, err := e.db.ListAlerts(ctx, dtbase.AlertFilter{State: ptr(dtbase.AlertFiring)})
	if err != nil || len(alerts) != 1 {
		t.Fatalf("alerts: %+v %v", alerts, err)
	}
	// The sensor page and the explorer plot the rule's line and the
	// alerts' events, the later fired one included.
	for _, path := range []string{"/sensors/view?id=R1", "/explorer?type=room&sensor=R1"} {
		var cfg chartConfig
		chartsOf(t, b.get(path).Body, &cfg)
		if len(cfg.Charts) != 1 {
			t.Fatalf("%s: charts %+v", path, cfg.Charts)
		}
		c := cfg.Charts[0]
		want := []chartThreshold{{Rule: "warm", Severity: "critical", Label: "above 28", Values: []float64{28}}}
		if diff := cmp.Diff(want, c.Thresholds); diff != "" {
			t.Errorf("%s: thresholds (-want +got):\n%s", path, diff)
		}
		if n := len(c.Markers); n == 0 || c.Markers[0].Kind != dtbase.EventFired || c.Markers[0].T != float64(now.Add(-time.Hour).Unix()) {
			t.Errorf("%s: markers %+v, want the newest fired at %s first", path, c.Markers, now.Add(-time.Hour))
		}
	}
	list := b.get("/alerts?state=firing")
	if !strings.Contains(list.Body, `id="alert-`) {
		t.Fatalf("alerts page:\n%s", list.Body)
	}
	ack := b.post("/alerts/acknowledge", url.Values{"csrf_token": {csrf(t, list)}, "id": {strconv.FormatInt(alerts[0].ID, 10)}, "note": {"vents open"}}, "/alerts")
	if ack.Status != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d", ack.Status)
	}
	if got := b.get("/alerts?state=acknowledged"); !strings.Contains(got.Body, "vents open") {
		t.Errorf("acknowledged alert not listed with its note")
	}
	if p := b.submit("/alerts/silence", url.Values{"name": {"warm"}, "minutes": {"30"}}, "/alerts"); p.Status != http.StatusSeeOther {
		t.Fatalf("silence: %d", p.Status)
	}
	rules, err := e.db.ListAlertRules(ctx)
	if err != nil || len(rules) != 1 || rules[0].SilencedUntil == nil {
		t.Errorf("rules: %+v %v", rules, err)
	}
	viewer := e.signIn("viewer@example.com")
	if p := viewer.get("/alerts/rule"); p.Status != http.StatusForbidden {
		t.Errorf("a viewer opened the rule editor: %d", p.Status)
	}
}

func TestConditionText(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	for _, tt := range []struct {
		c     dtbase.AlertCondition
		units string
		want  string
	}{
		{dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: v(28), ForSeconds: 600, Hysteresis: 0.5}, "°C",
			"above 28 °C for 10 min, hysteresis 0.5"},
		{dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpOutside, Low: v(50), High: v(90), ForSeconds: 1800}, "%", "outside 50–90 % for 30 min"},
		{dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpBelow, Value: v(-1.5), ForSeconds: 90}, "", "below -1.5 for 90 s"},
		{dtbase.AlertCondition{Kind: dtbase.CondRate, Op: dtbase.OpRise, Value: v(5)}, "°C", "rises faster than 5 °C per hour"},
		{dtbase.AlertCondition{Kind: dtbase.CondRate, Op: dtbase.OpEither, Value: v(2), PerSeconds: 600}, "", "rises or falls faster than 2 per 10 min"},
		{dtbase.AlertCondition{Kind: dtbase.CondStaleness, MaxAgeSeconds: 6 * 3600, IntervalMultiple: 3}, "", "no reading for over 6 h or 3 × the usual interval"},
		{dtbase.AlertCondition{Kind: dtbase.CondForecast, Op: dtbase.OpAbove, Value: v(30), HorizonHours: 24, Bound: "upper"}, "°C", "forecast upper above 30 °C within 24 h"},
	} {
		if got := conditionText(tt.c, tt.units); got != tt.want {
			t.Errorf("conditionText(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

// TestAlertsPagePages lists alerts a page at a time, keeping the filter,
// and says what each rule watches in words.
func TestAlertsPagePages(t *testing.T) {
	e := newRoomEnv(t, ptr("°C"))
	ctx := context.Background()
	limit := 28.0
	r := &dtbase.AlertRule{Name: "warm", Target: dtbase.AlertTarget{Sensor: ptr("R1")}, Measure: "temperature", Severity: dtbase.SeverityWarning, Enabled: true,
		Condition: dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: &limit, ForSeconds: 600, Hysteresis: 0.5}}
	if err := e.db.CreateAlertRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	// 30 breaches of 10 minutes: 30 alerts, fired and resolved.
	s := dtbase.ReadingSeries{UniqueIdentifier: "R1", MeasureName: "temperature"}
	start := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour)
	for i := range 90 {
		s.Timestamps = append(s.Timestamps, start.Add(time.Duration(i)*10*time.Minute))
		s.Values = append(s.Values, dtbase.FloatValue([]float64{20, 30, 30}[i%3]))
	}
	e.insert(s)
	b := e.signIn("viewer@example.com")
	rows := func(body string) int { return strings.Count(body, `<tr id="alert-`) }
	first := b.get("/alerts?rule=warm")
	if n := rows(first.Body); n != alertsPageSize || !strings.Contains(first.Body, `href="/alerts?page=2&amp;rule=warm"`) || strings.Contains(first.Body, `rel="prev" href`) {
		t.Errorf("first page: %d alerts, want %d with a link to the next page only", n, alertsPageSize)
	}
	if !strings.Contains(first.Body, "temperature above 28 °C for 10 min, hysteresis 0.5") {
		t.Error("the rule's condition is not in words")
	}
	second := b.get("/alerts?page=2&rule=warm")
	if n := rows(second.Body); n != 30-alertsPageSize || !strings.Contains(second.Body, `href="/alerts?rule=warm"`) || !strings.Contains(second.Body, "Alerts 26–30") {
		t.Errorf("second page: %d alerts, want %d with a link back", n, 30-alertsPageSize)
	}
}

// TestChannelsOnAlertsPage: an editor adds a webhook and an e-mail channel
// on the alerts page, under the API's rules (the outbound guard, sealed
// secrets, names once), sees them listed and offered to rules, and deletes
// one no rule uses; a viewer sees the list only.
func TestChannelsOnAlertsPage(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	b := e.signIn("editor@example.com")
	add := func(form url.Values) string {
		t.Helper()
		b.mustSubmit("/alerts/channels/create", form, "/alerts")
		return flashOf(b.get("/alerts").Body)
	}
	webhook := url.Values{"name": {"hook"}, "kind": {"webhook"}, "url": {"http://127.0.0.1:9/hook"}, "secret": {"s3cret"},
		"smtp_port": {"587"}, "smtp_security": {"starttls"}}
	mail := url.Values{"name": {"ops mail"}, "kind": {"email"}, "smtp_host": {"127.0.0.1"}, "smtp_port": {"2525"}, "smtp_security": {"none"},
		"from": {"dtbase@example.org"}, "recipients": {"a@example.org, b@example.org"}}
	for _, c := range []struct {
		name string
		form url.Values
		want string
	}{
		{"webhook", webhook, "Channel hook added."},
		{"e-mail", mail, "Channel ops mail added."},
		{"same name", webhook, "A channel named hook exists already."},
		{"guarded address", url.Values{"name": {"meta"}, "kind": {"webhook"}, "url": {"http://169.254.169.254/latest"}}, "flash-error"},
		{"no url", url.Values{"name": {"empty"}, "kind": {"webhook"}}, "url: Required for a webhook"},
		{"bad port", url.Values{"name": {"m2"}, "kind": {"email"}, "smtp_port": {"many"}}, "The SMTP port must be a number"},
	} {
		if got := add(c.form); !strings.Contains(got, c.want) {
			t.Errorf("%s: flash %q, want %q", c.name, got, c.want)
		}
	}
	chans, err := e.db.ListAlertChannels(ctx)
	if err != nil || len(chans) != 2 {
		t.Fatalf("channels %+v (%v), want hook and ops mail", chans, err)
	}
	hook, mailCh := chans[0], chans[1]
	var sealed []byte
	if err := e.db.SQL().QueryRow(`SELECT secret_sealed FROM alert_channel WHERE name = 'hook'`).Scan(&sealed); err != nil ||
		len(sealed) == 0 || strings.Contains(string(sealed), "s3cret") {
		t.Errorf("the webhook's secret is stored as %q (%v), want it sealed", sealed, err)
	}
	if hook.Name != "hook" || hook.SMTPPort != 0 || hook.SMTPSecurity != "" {
		t.Errorf("webhook stored as %+v: want no SMTP fields", hook)
	}
	if mailCh.SMTPPort != 2525 || mailCh.SMTPSecurity != "none" || !cmp.Equal(mailCh.Recipients, []string{"a@example.org", "b@example.org"}) {
		t.Errorf("e-mail channel stored as %+v", mailCh)
	}
	page := b.get("/alerts").Body
	for _, want := range []string{"http://127.0.0.1:9/hook", "a@example.org, b@example.org", `action="/alerts/channels/create"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the alerts page lacks %q", want)
		}
	}
	if !strings.Contains(b.get("/alerts/rule").Body, `value="ops mail"`) {
		t.Error("the rule editor does not offer the new channel")
	}

	// "Send a test" goes out at once: through a live receiver, signed with
	// the channel's secret; through one that cannot be reached, it says so.
	var signature, body string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		signature, body = r.Header.Get(alert.HeaderSignature), string(b)
	}))
	defer receiver.Close()
	add(url.Values{"name": {"live"}, "kind": {"webhook"}, "url": {receiver.URL}, "secret": {"k3y"}})
	for name, want := range map[string]string{"live": "Test notification sent through live: webhook answered 200 OK.",
		"hook": "Test notification through hook failed: "} {
		b.mustSubmit("/alerts/channels/test", url.Values{"name": {name}}, "/alerts")
		if got := flashOf(b.get("/alerts").Body); !strings.Contains(got, want) {
			t.Errorf("test of %s: flash %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(body, `"kind":"test"`) || signature != alert.Sign([]byte("k3y"), []byte(body)) {
		t.Errorf("the receiver got %s signed %q, want a test event signed with the channel's secret", body, signature)
	}

	// A channel a rule uses stays; one no rule uses goes.
	if err := e.db.CreateAlertRule(ctx, &dtbase.AlertRule{Name: "hot", Target: dtbase.AlertTarget{Sensor: strPtr("sensor-a")}, Measure: "temperature",
		Condition: dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: new(40.0)}, Severity: dtbase.SeverityWarning,
		Channels: []string{"ops mail"}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"ops mail": "Channel ops mail is used by a rule", "hook": "Channel hook deleted."} {
		b.mustSubmit("/alerts/channels/delete", url.Values{"name": {name}}, "/alerts")
		if got := flashOf(b.get("/alerts").Body); !strings.Contains(got, want) {
			t.Errorf("delete %s: flash %q, want %q", name, got, want)
		}
	}

	v := e.signIn("viewer@example.com")
	if page := v.get("/alerts").Body; !strings.Contains(page, "ops mail") || strings.Contains(page, "/alerts/channels/") {
		t.Error("a viewer's alerts page lacks the channel or shows the forms")
	}
	if res := v.submit("/alerts/channels/create", webhook, "/alerts"); res.Status != http.StatusForbidden {
		t.Errorf("a viewer's post: %d", res.Status)
	}
}
