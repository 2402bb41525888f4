package sqldb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
	"github.com/dtbase/dtbase/demo"
	"github.com/dtbase/dtbase/demo/demotest"
)

// TestAlertOnDerivedMeasure watches the demo's VPD of one T&RH sensor on
// the alert schedule: it fires and resolves once however often the
// schedule runs, a late reading inside an episode fires nothing new, a
// late breach between readings fires and resolves, and a point whose
// inputs arrive in two writes is decided once both are in.
func TestAlertOnDerivedMeasure(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	db, sum := demotest.Open(t, now)
	const uid = "c4:93:00:10:0d:03"
	for _, tc := range []struct {
		name, measure string
		cond          dtbase.AlertCondition
		field         string
	}{
		{"unknown measure", "no such measure", dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(1)}, "measure"},
		{"aggregated measure", demo.FarmMeanTemp, dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(1)}, "measure"},
		{"staleness of a derived measure", demo.VPDName, dtbase.AlertCondition{Kind: dtbase.CondStaleness, MaxAgeSeconds: 60}, "condition.kind"},
	} {
		err := db.CreateAlertRule(ctx, &dtbase.AlertRule{Name: tc.name, Target: dtbase.AlertTarget{Sensor: ptr(uid)}, Measure: tc.measure,
			Condition: tc.cond, Severity: dtbase.SeverityWarning, Enabled: true})
		var fe *dtbase.FieldError
		if dtbase.ErrorCode(err) != dtbase.EUNPROCESSABLE || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want EUNPROCESSABLE naming %s", tc.name, err, tc.field)
		}
	}

	// Above 3 kPa: 30 °C at 20 % is 3.39 kPa, 20 °C at 80 % is 0.47 kPa.
	rule := &dtbase.AlertRule{Name: "dry air", Target: dtbase.AlertTarget{SensorType: ptr(demo.TypeTRH)}, Measure: demo.VPDName,
		Condition: dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(3), Hysteresis: 0.1},
		Severity:  dtbase.SeverityWarning, Enabled: true}
	if err := db.CreateAlertRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	rules, err := db.ListAlertRules(ctx)
	if err != nil || len(rules) != 1 || rules[0].Measure != demo.VPDName {
		t.Fatalf("rules %+v (%v), want the one on %s", rules, err, demo.VPDName)
	}
	base := sum.To.Truncate(time.Hour).Add(2 * time.Hour)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	write := func(name string, mins []int, vals []float64) {
		t.Helper()
		s := dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: name}
		for i, m := range mins {
			s.Timestamps = append(s.Timestamps, at(m))
			s.Values = append(s.Values, dtbase.FloatValue(vals[i]))
		}
		if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{s}); err != nil {
			t.Fatal(err)
		}
	}
	both := func(mins []int, temp, rh []float64) {
		t.Helper()
		write("temperature", mins, temp)
		write("relative humidity", mins, rh)
	}
	runner := alert.NewRunner(alert.Options{Store: db, Sender: &alert.Sender{}, Now: func() time.Time { return now }})
	tick := func() {
		t.Helper()
		if err := runner.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	history := func() []string {
		t.Helper()
		return eventsSince(t, db, uid, base, time.Minute)
	}
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"a breach fires on the schedule, once for two passes at once", func() {
			both([]int{0, 10}, []float64{20, 30}, []float64{80, 20})
			errs := concurrently(2, func(int) error { return runner.Tick(ctx) })
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
		}, []string{"fired@10"}},
		{"another pass records nothing", tick, []string{"fired@10"}},
		{"a clear point resolves", func() { both([]int{20}, []float64{20}, []float64{80}); tick(); tick() },
			[]string{"fired@10", "resolved@20"}},
		{"a late breach inside the episode fires nothing new", func() { both([]int{5}, []float64{31}, []float64{15}); tick() },
			[]string{"fired@10", "resolved@20"}},
		{"clear points later", func() { both([]int{30, 50}, []float64{20, 20}, []float64{80, 80}); tick() },
			[]string{"fired@10", "resolved@20"}},
		{"half a late point decides nothing", func() { write("temperature", []int{40}, []float64{30}); tick() },
			[]string{"fired@10", "resolved@20"}},
		{"the other half fires and resolves the late breach", func() { write("relative humidity", []int{40}, []float64{20}); tick(); tick() },
			[]string{"fired@10", "resolved@20", "fired@40", "resolved@50"}},
		{"a two-day episode", func() {
			var mins []int
			var temp, rh []float64
			for m := 60; m <= 60+48*60; m += 60 {
				mins, temp, rh = append(mins, m), append(temp, 30), append(rh, 20)
			}
			both(append(mins, 3000), append(temp, 20), append(rh, 80))
			tick()
		}, []string{"fired@10", "resolved@20", "fired@40", "resolved@50", "fired@60", "resolved@3000"}},
		// The quiet point before it lies over a day back: the replay widens
		// the series it computes until it finds it.
		{"a late breach deep inside it fires nothing new", func() { both([]int{60 + 30*60 + 5}, []float64{31}, []float64{15}); tick() },
			[]string{"fired@10", "resolved@20", "fired@40", "resolved@50", "fired@60", "resolved@3000"}},
	}
	for _, s := range steps {
		s.do()
		if diff := cmp.Diff(s.want, history()); diff != "" {
			t.Fatalf("%s: events (-want +got):\n%s", s.name, diff)
		}
	}
	alerts, err := db.ListAlerts(ctx, dtbase.AlertFilter{Sensor: ptr(uid)})
	if err != nil || len(alerts) != 3 || alerts[0].Measure != demo.VPDName {
		t.Fatalf("alerts %+v (%v), want three on %s", alerts, err, demo.VPDName)
	}

	// A preview replays the derived series too.
	prev, err := db.PreviewAlertRule(ctx, &dtbase.AlertRule{Name: "preview", Target: dtbase.AlertTarget{Sensor: ptr(uid)}, Measure: demo.VPDName,
		Condition: rule.Condition, Severity: dtbase.SeverityInfo}, at(0), at(59))
	if err != nil || len(prev) != 2 || !prev[0].FiredAt.Equal(at(5)) || !prev[1].FiredAt.Equal(at(40)) {
		t.Fatalf("preview %+v (%v), want episodes firing at +5 and +40 min", prev, err)
	}
}

// TestDerivedRuleFollowsRedefinition: a rule on a derived measure watches
// the inputs of the measure's definitions as they are now, not as they were
// when the rule was saved: a definition added later, reading another
// measure, fires the rule on that measure's readings.
func TestDerivedRuleFollowsRedefinition(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	db, sum := demotest.Open(t, now)
	const uid = "c4:93:00:10:0d:03"
	base := sum.To.Truncate(time.Hour).Add(2 * time.Hour)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	switchAt := at(30)
	define := func(expr string, from, to *time.Time) {
		t.Helper()
		d := &dtbase.DerivedMeasure{Name: "signal", Units: ptr("u"), Expression: expr, UniqueIdentifier: ptr(uid), ValidFrom: from, ValidTo: to}
		if err := db.CreateDerivedMeasure(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	define("temperature", nil, &switchAt)
	rule := &dtbase.AlertRule{Name: "signal high", Target: dtbase.AlertTarget{Sensor: ptr(uid)}, Measure: "signal",
		Condition: dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: f64(50)},
		Severity:  dtbase.SeverityWarning, Enabled: true}
	if err := db.CreateAlertRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	// From the switch on, the signal is the relative humidity.
	define("[relative humidity]", &switchAt, nil)

	s := dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "relative humidity",
		Timestamps: []time.Time{at(40), at(50)}, Values: []dtbase.Value{dtbase.FloatValue(80), dtbase.FloatValue(20)}}
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{s}); err != nil {
		t.Fatal(err)
	}
	runner := alert.NewRunner(alert.Options{Store: db, Sender: &alert.Sender{}, Now: func() time.Time { return now }})
	for range 2 {
		if err := runner.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"fired@40", "resolved@50"}, eventsSince(t, db, uid, base, time.Minute)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}

	// Without definitions the rule watches nothing, and ingest goes on.
	if err := db.DeleteDerivedMeasure(ctx, "signal"); err != nil {
		t.Fatal(err)
	}
	s.Timestamps, s.Values = []time.Time{at(60)}, []dtbase.Value{dtbase.FloatValue(90)}
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{s}); err != nil {
		t.Fatal(err)
	}
	if err := runner.Tick(ctx); err != nil {
		t.Fatal(err)
	}
}
