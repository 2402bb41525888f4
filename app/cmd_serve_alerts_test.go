package app

import (
	"context"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/demo"
	"github.com/dtbase/dtbase/demo/demotest"
)

// TestForecastBreachOnDemo runs the demo's ARIMA forecasts and checks that
// a forecast rule fires once while the latest forecast crosses its
// threshold within the horizon, and resolves when it no longer does.
func TestForecastBreachOnDemo(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	db, sum := demotest.Open(t, now)
	if n, err := demoForecasts(ctx, db, sum); err != nil || n == 0 {
		t.Fatalf("demo forecasts: %d %v", n, err)
	}
	if err := addDemoAlertRules(ctx, db); err != nil {
		t.Fatal(err)
	}
	sensors, err := demoForecastSensors(ctx, db)
	if err != nil || len(sensors) == 0 {
		t.Fatalf("forecast sensors: %v %v", sensors, err)
	}
	// The highest mean the forecast predicts within the next 24 hours.
	var peak float64
	err = db.SQL().QueryRowContext(ctx, `SELECT max(v.value) FROM model_value_float v JOIN model_product p ON p.id = v.product_id
		JOIN model_measure mm ON mm.id = p.measure_id JOIN model_run r ON r.id = p.run_id JOIN sensor s ON s.id = r.sensor_id
		WHERE s.unique_identifier = $1 AND mm.name = $2 AND v.ts BETWEEN $3 AND $4`,
		sensors[0], "Mean "+demo.MeasureTemp, now.UnixMicro(), now.Add(24*time.Hour).UnixMicro()).Scan(&peak)
	if err != nil {
		t.Fatal(err)
	}
	rule := &dtbase.AlertRule{Name: "too warm soon", Target: dtbase.AlertTarget{Sensor: &sensors[0]}, Measure: demo.MeasureTemp, Severity: dtbase.SeverityWarning,
		Enabled: true, Condition: dtbase.AlertCondition{Kind: dtbase.CondForecast, Op: dtbase.OpAbove, Value: ptr(peak - 0.01), HorizonHours: 24}}
	if err := db.CreateAlertRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second pass finds the alert already firing
		if _, err := db.EvaluateScheduledAlerts(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	alerts, err := db.ListAlerts(ctx, dtbase.AlertFilter{RuleName: &rule.Name})
	if err != nil || len(alerts) != 1 || alerts[0].State != dtbase.AlertFiring || *alerts[0].Value < peak-0.01 {
		t.Fatalf("alerts: %+v %v", alerts, err)
	}
	t.Log(alerts[0].Message)
	rule.Condition.Value = ptr(peak + 100)
	if err := db.UpdateAlertRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EvaluateScheduledAlerts(ctx, now); err != nil {
		t.Fatal(err)
	}
	events, err := db.ListAlertEvents(ctx, dtbase.AlertFilter{RuleName: &rule.Name})
	if err != nil || len(events) != 2 || events[0].Kind == events[1].Kind {
		t.Fatalf("events: %+v %v", events, err)
	}
	// The demo's rules are there, and the staleness rule is quiet on
	// fresh data.
	rules, err := db.ListAlertRules(ctx)
	if err != nil || len(rules) != 3 {
		t.Fatalf("rules: %d %v", len(rules), err)
	}
	band, err := db.ListAlerts(ctx, dtbase.AlertFilter{RuleName: ptr("humidity band")})
	if err != nil {
		t.Fatal(err)
	}
	silent, err := db.ListAlerts(ctx, dtbase.AlertFilter{RuleName: ptr("sensor silent")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo: %d humidity band alerts, %d sensor silent alerts", len(band), len(silent))
	if len(band) == 0 {
		t.Error("the demo's humidity band never fired on the demo's data")
	}
}
