package client

import (
	"context"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

func TestAlerts(t *testing.T) {
	s := newServer(t)
	c := adminClient(t, s)
	ctx := context.Background()
	must(t, s.DB.CreateSensorType(ctx, &dtbase.SensorType{Name: "room", Measures: []dtbase.Measure{{Name: "temperature", Datatype: dtbase.Float}}}))
	must(t, s.DB.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: "R1", TypeName: "room"}))
	must(t, c.InsertAlertChannel(ctx, AlertChannel{Name: "hook", Kind: "webhook", URL: "https://example.org/hook"}))
	sensor, limit := "R1", 28.0
	rule := AlertRule{Name: "warm", Target: AlertTarget{Sensor: &sensor}, Measure: "temperature", Channels: []string{"hook"},
		Condition: AlertCondition{Kind: "threshold", Op: "above", Value: &limit}}
	must(t, c.InsertAlertRule(ctx, rule))
	bad := rule
	bad.Name, bad.Measure = "bad", "nope"
	if err := c.InsertAlertRule(ctx, bad); err == nil {
		t.Error("a rule on an unknown measure was accepted")
	}
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := s.DB.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "R1", MeasureName: "temperature",
		Timestamps: []time.Time{now.Add(-2 * time.Minute), now.Add(-time.Minute)}, Values: []dtbase.Value{dtbase.FloatValue(20), dtbase.FloatValue(30)}}}); err != nil {
		t.Fatal(err)
	}
	alerts, err := c.ListAlerts(ctx, AlertQuery{Sensor: &sensor})
	if err != nil || len(alerts) != 1 || alerts[0].State != "firing" {
		t.Fatalf("alerts: %+v %v", alerts, err)
	}
	must(t, c.AcknowledgeAlert(ctx, alerts[0].ID, "on it"))
	events, err := c.ListAlertEvents(ctx, AlertQuery{})
	if err != nil || len(events) != 2 {
		t.Fatalf("events: %+v %v", events, err)
	}
	p, err := c.PreviewAlertRule(ctx, rule, 1)
	if err != nil || p.Fired != 1 {
		t.Fatalf("preview: %+v %v", p, err)
	}
	must(t, c.SilenceAlertRule(ctx, "warm", time.Hour))
	rules, err := c.ListAlertRules(ctx)
	if err != nil || len(rules) != 1 || rules[0].SilencedUntil == nil {
		t.Fatalf("rules: %+v %v", rules, err)
	}
	if _, err := c.ListAlertChannels(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListAlertDeliveries(ctx, 10); err != nil {
		t.Fatal(err)
	}
	must(t, c.EditAlertRule(ctx, rule))
	must(t, c.DeleteAlertRule(ctx, "warm"))
	must(t, c.DeleteAlertChannel(ctx, "hook"))
}
