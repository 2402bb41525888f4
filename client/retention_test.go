package client

import (
	"context"
	"testing"

	"github.com/dtbase/dtbase"
)

func TestSensorTypeRetentionClient(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	must(t, s.DB.CreateSensorType(ctx, &dtbase.SensorType{Name: "th"}))
	c := adminClient(t, s)
	days := 90
	must(t, c.SetSensorTypeRetention(ctx, "th", &days))
	got, err := c.ListSensorTypeRetentions(ctx)
	if err != nil || len(got) != 1 || got[0] != (SensorTypeRetention{Name: "th", RetentionDays: 90}) {
		t.Fatalf("list = %+v, %v", got, err)
	}
	if err := c.SetSensorTypeRetention(ctx, "nope", &days); err == nil {
		t.Error("an unknown type was accepted")
	}
	must(t, c.SetSensorTypeRetention(ctx, "th", nil))
	if got, err := c.ListSensorTypeRetentions(ctx); err != nil || len(got) != 0 {
		t.Fatalf("after clearing: %+v, %v", got, err)
	}
}
