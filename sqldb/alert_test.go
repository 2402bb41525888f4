package sqldb_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func f64(v float64) *float64 { return &v }

// insertAt stores temperature readings of W1 at the given seconds.
func insertAt(t *testing.T, db *sqldb.DB, uid string, secs []int, vals []float64) {
	t.Helper()
	s := dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "temperature"}
	for i := range secs {
		s.Timestamps = append(s.Timestamps, at(secs[i]))
		s.Values = append(s.Values, dtbase.FloatValue(vals[i]))
	}
	if _, err := db.InsertReadings(context.Background(), []dtbase.ReadingSeries{s}); err != nil {
		t.Fatal(err)
	}
}

// alertDB is readingDB with a webhook channel and one rule.
func alertDB(t *testing.T, cond dtbase.AlertCondition) *sqldb.DB {
	t.Helper()
	db := readingDB(t)
	ctx := context.Background()
	if err := db.CreateAlertChannel(ctx, &dtbase.AlertChannel{Name: "hook", Kind: dtbase.ChannelWebhook, URL: "https://example.org/hook"}); err != nil {
		t.Fatal(err)
	}
	r := &dtbase.AlertRule{Name: "rule", Target: dtbase.AlertTarget{SensorType: ptr("weather")}, Measure: "temperature",
		Condition: cond, Severity: dtbase.SeverityWarning, Channels: []string{"hook"}, Enabled: true}
	if err := db.CreateAlertRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	return db
}

// history is the events of W1 as "kind@second" in data order.
func history(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	return historyOf(t, db, "W1")
}

// historyOf is the events of a sensor as "kind@second" in data order.
func historyOf(t *testing.T, db *sqldb.DB, uid string) []string {
	t.Helper()
	return eventsSince(t, db, uid, t0, time.Second)
}

// eventsSince is the events of a sensor as "kind@n" in data order, n the
// number of units from base to the event's data.
func eventsSince(t *testing.T, db *sqldb.DB, uid string, base time.Time, unit time.Duration) []string {
	t.Helper()
	evs, err := db.ListAlertEvents(context.Background(), dtbase.AlertFilter{Sensor: &uid})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Kind+"@"+itoa(int(evs[i].DataAt.Sub(base)/unit)))
	}
	return out
}

// mapped is f of each of xs, in order; nil for none.
func mapped[T, U any](xs []T, f func(T) U) []U {
	var out []U
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestAlertThreshold(t *testing.T) {
	above := dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(28), Hysteresis: 1, ForSeconds: 600}
	type batch struct {
		secs []int
		vals []float64
	}
	tests := []struct {
		name    string
		cond    dtbase.AlertCondition
		batches []batch
		want    []string
	}{
		{"short breach does not fire", above, []batch{{[]int{0, 300, 600, 900}, []float64{20, 29, 29, 20}}}, []string{}},
		{"fires after the duration, resolves below the hysteresis", above,
			[]batch{{[]int{0, 300, 600, 900, 1200, 1500}, []float64{20, 29, 29, 29, 27.5, 26}}}, []string{"fired@900", "resolved@1500"}},
		{"one reading at a time, same answer", above,
			[]batch{{[]int{0}, []float64{20}}, {[]int{300}, []float64{29}}, {[]int{600}, []float64{29}}, {[]int{900}, []float64{29}},
				{[]int{1200}, []float64{27.5}}, {[]int{1500}, []float64{26}}}, []string{"fired@900", "resolved@1500"}},
		{"late reading completes a breach", above,
			[]batch{{[]int{0, 300, 900, 1200}, []float64{20, 29, 29, 20}}, {[]int{600}, []float64{29}}}, []string{"fired@900", "resolved@1200"}},
		{"late reading re-sent does not fire twice", above,
			[]batch{{[]int{0, 300, 600, 900}, []float64{20, 29, 29, 29}}, {[]int{600, 900}, []float64{29, 29}}, {[]int{300}, []float64{29}}}, []string{"fired@900"}},
		{"late breach before an alert's start is the same alert", above,
			[]batch{{[]int{0, 300, 600, 900}, []float64{20, 29, 29, 29}}, {[]int{150}, []float64{29}}}, []string{"fired@900"}},
		{"late clear reading cuts a breach short: the alert resolves there", above,
			[]batch{{[]int{0, 300, 600, 900}, []float64{20, 29, 29, 29}}, {[]int{450}, []float64{20}}}, []string{"fired@900", "resolved@450"}},
		{"out of order batch", above,
			[]batch{{[]int{900, 0, 600, 300, 1200}, []float64{29, 20, 29, 29, 20}}}, []string{"fired@900", "resolved@1200"}},
		{"outside a band", dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpOutside, Low: f64(40), High: f64(80)},
			[]batch{{[]int{0, 60, 120, 180}, []float64{50, 85, 60, 30}}}, []string{"fired@60", "resolved@120", "fired@180"}},
		{"rate of rise", dtbase.AlertCondition{Kind: dtbase.CondRate, Op: dtbase.OpRise, Value: f64(10), PerSeconds: 3600},
			[]batch{{[]int{0, 3600, 7200, 10800}, []float64{20, 25, 40, 41}}}, []string{"fired@7200", "resolved@10800"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := alertDB(t, tt.cond)
			for _, b := range tt.batches {
				insertAt(t, db, "W1", b.secs, b.vals)
			}
			if diff := cmp.Diff(tt.want, history(t, db)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			// Every event has one notification for the rule's channel.
			ns, err := db.ClaimNotifications(context.Background(), time.Now(), time.Minute, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(ns) != len(tt.want) {
				t.Errorf("claimed %d notifications, want %d", len(ns), len(tt.want))
			}
			again, err := db.ClaimNotifications(context.Background(), time.Now(), time.Minute, 100)
			if err != nil || len(again) != 0 {
				t.Errorf("claimed again: %d, %v", len(again), err)
			}
		})
	}
}

func TestAlertStaleness(t *testing.T) {
	db := alertDB(t, dtbase.AlertCondition{Kind: dtbase.CondStaleness, MaxAgeSeconds: 600})
	ctx := context.Background()
	insertAt(t, db, "W1", []int{0}, []float64{20})
	for _, sec := range []int{300, 700, 800} { // fires once
		if _, err := db.EvaluateScheduledAlerts(ctx, at(sec)); err != nil {
			t.Fatal(err)
		}
	}
	insertAt(t, db, "W1", []int{900}, []float64{20})
	if _, err := db.EvaluateScheduledAlerts(ctx, at(1000)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"fired@600", "resolved@900"}, history(t, db)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestAlertRuleErrors(t *testing.T) {
	db := alertDB(t, dtbase.AlertCondition{Kind: dtbase.CondStaleness, MaxAgeSeconds: 600})
	ctx := context.Background()
	ok := dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(1)}
	tests := []struct {
		name  string
		rule  dtbase.AlertRule
		field string
	}{
		{"unknown sensor", dtbase.AlertRule{Target: dtbase.AlertTarget{Sensor: ptr("nope")}, Measure: "temperature", Condition: ok}, "target.sensor"},
		{"unknown measure", dtbase.AlertRule{Target: dtbase.AlertTarget{Sensor: ptr("W1")}, Measure: "nope", Condition: ok}, "measure"},
		{"string measure", dtbase.AlertRule{Target: dtbase.AlertTarget{Sensor: ptr("W1")}, Measure: "label", Condition: ok}, "measure"},
		{"unknown channel", dtbase.AlertRule{Target: dtbase.AlertTarget{Sensor: ptr("W1")}, Measure: "temperature", Condition: ok, Channels: []string{"hook", "x"}}, "channels[1]"},
		{"impossible duration", dtbase.AlertRule{Target: dtbase.AlertTarget{Sensor: ptr("W1")}, Measure: "temperature",
			Condition: dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(1), ForSeconds: -5}}, "condition.for_seconds"},
		{"no threshold", dtbase.AlertRule{Target: dtbase.AlertTarget{Sensor: ptr("W1")}, Measure: "temperature",
			Condition: dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove}}, "condition.value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rule.Name, tt.rule.Severity = "r2", dtbase.SeverityInfo
			err := db.CreateAlertRule(ctx, &tt.rule)
			var fe *dtbase.FieldError
			if dtbase.ErrorCode(err) != dtbase.EUNPROCESSABLE || !errorsAs(err, &fe) || fe.Field != tt.field {
				t.Errorf("got %v, want 422 on %s", err, tt.field)
			}
		})
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestAlertStalenessInterval(t *testing.T) {
	// Readings every 60 s; stale after 5 usual intervals (300 s).
	db := alertDB(t, dtbase.AlertCondition{Kind: dtbase.CondStaleness, IntervalMultiple: 5})
	ctx := context.Background()
	insertAt(t, db, "W1", []int{0, 60, 120, 180}, []float64{20, 20, 20, 20})
	for _, sec := range []int{400, 481, 500} {
		if _, err := db.EvaluateScheduledAlerts(ctx, at(sec)); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"fired@480"}, history(t, db)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// A location rule covers the sensors placed in the location or under it
// when the readings were taken; staleness, the sensors under it now.
func TestAlertLocationSubtree(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	ids := farmTree(t, db)
	mustSensorType(t, db, "th", dtbase.Measure{Name: "temperature", Units: ptr("C"), Datatype: dtbase.Float})
	for _, uid := range []string{"s1", "s2", "s3"} {
		mustSensor(t, db, "th", uid)
	}
	day := 24 * 3600
	place := func(uid, room string, sec int) {
		t.Helper()
		if _, err := db.CreateSensorPlacement(ctx, uid, "area", dtbase.Coordinates{"room": dtbase.StringValue(room)}, at(sec)); err != nil {
			t.Fatal(err)
		}
	}
	place("s1", "shelf1", 0)    // under zone1, under tunnel1
	place("s2", "zone2", 0)     // under tunnel2
	place("s3", "zone1", 0)     // under tunnel1
	place("s1", "tunnel2", day) // s1 leaves tunnel1's subtree
	tunnel1 := ids["tunnel1"]
	for _, r := range []*dtbase.AlertRule{
		{Name: "hot", Condition: dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(28)}},
		{Name: "quiet", Condition: dtbase.AlertCondition{Kind: dtbase.CondStaleness, MaxAgeSeconds: 3600}},
	} {
		r.Target, r.Measure, r.Severity, r.Enabled = dtbase.AlertTarget{LocationID: &tunnel1}, "temperature", dtbase.SeverityWarning, true
		if err := db.CreateAlertRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	insertAt(t, db, "s1", []int{3600, 7200}, []float64{30, 20}) // in shelf1: fires and resolves
	insertAt(t, db, "s2", []int{3600}, []float64{30})           // elsewhere
	insertAt(t, db, "s1", []int{2 * day}, []float64{30})        // moved away: not watched
	insertAt(t, db, "s1", []int{3 * 3600}, []float64{31})       // late, from when it was in shelf1
	insertAt(t, db, "s3", []int{2 * day}, []float64{20})
	insertAt(t, db, "s2", []int{2*day + 3600}, []float64{20})
	// At 2 days and 2 hours only s3, placed under tunnel1 now, is stale.
	if _, err := db.EvaluateScheduledAlerts(ctx, at(2*day+2*3600)); err != nil {
		t.Fatal(err)
	}
	for uid, want := range map[string][]string{
		"s1": {"fired@3600", "resolved@7200", "fired@10800"},
		"s2": {},
		"s3": {"fired@" + itoa(2*day+3600)},
	} {
		if diff := cmp.Diff(want, historyOf(t, db, uid)); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", uid, diff)
		}
	}
}

// Ingest keeps the rules in memory: a change made any way, even by SQL
// outside the store, reaches the next batch.
func TestAlertRuleChangeReachesIngest(t *testing.T) {
	db := alertDB(t, dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(28)})
	enable := func(on bool) {
		t.Helper()
		if _, err := db.SQL().Exec(`UPDATE alert_rule SET enabled = $1`, on); err != nil {
			t.Fatal(err)
		}
	}
	insertAt(t, db, "W1", []int{0, 60}, []float64{20, 30})
	enable(false)
	insertAt(t, db, "W1", []int{120}, []float64{20}) // unwatched
	enable(true)
	insertAt(t, db, "W1", []int{180, 240}, []float64{30, 20})
	if diff := cmp.Diff([]string{"fired@60", "resolved@240"}, history(t, db)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestQuietEdgesPaged checks that the quiet readings around a time found by
// paging through the stored series (more than one page apart) are those
// found by scanning it in memory.
func TestQuietEdgesPaged(t *testing.T) {
	db := readingDB(t)
	ctx := context.Background()
	var secs []int
	var level, ramp []float64
	for i := 0; i < 700; i++ {
		secs = append(secs, i)
		l, r := 100.0, float64(i)
		switch i {
		case 5, 300, 600:
			l = 0
		case 6, 301, 601:
			r = float64(i - 1)
		}
		level, ramp = append(level, l), append(ramp, r)
	}
	insertAt(t, db, "W1", secs, level)
	insertAt(t, db, "W2", secs, ramp)
	us := func(sec int) int64 { return at(sec).UnixMicro() }
	for _, tt := range []struct {
		uid        string
		cond       dtbase.AlertCondition
		at         int
		wantBefore int
	}{
		{"W1", dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(50)}, 599, 300},
		{"W2", dtbase.AlertCondition{Kind: dtbase.CondRate, Op: dtbase.OpRise, Value: f64(10), PerSeconds: 3600}, 599, 300},
	} {
		for _, ts := range []int64{us(-1), us(0), us(5), us(6), us(7), us(299), us(300), us(301), us(302),
			us(450) + 500_000, us(556), us(557), us(600), us(601), us(602), us(699), us(700)} {
			got, err := db.QuietEdges(ctx, tt.uid, "temperature", tt.cond, ts)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != got[2] || got[1] != got[3] {
				t.Errorf("%s at %d: stored before/after %d/%d, in memory %d/%d", tt.uid, ts, got[0], got[1], got[2], got[3])
			}
		}
		got, err := db.QuietEdges(ctx, tt.uid, "temperature", tt.cond, us(tt.at))
		if err != nil {
			t.Fatal(err)
		}
		if want := us(tt.wantBefore); got[0] != want {
			t.Errorf("%s: quiet before %d = %d, want %d", tt.uid, us(tt.at), got[0], want)
		}
	}
}
