package client

import (
	"context"
	"testing"

	"github.com/dtbase/dtbase"
)

func TestSensorTypeRetentionClient(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	if err := s.DB.CreateSensorType(ctx, &dtbase.SensorType{Name: "th"}); err != nil {
		t.Fatal(err)
	}
	c := adminClient(t, s)
	days := 90
	if err := c.SetSensorTypeRetention(ctx, "th", &days); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListSensorTypeRetentions(ctx)
	if err != nil || len(got) != 1 || got[0] != (SensorTypeRetention{Name: "th", RetentionDays: 90}) {
		t.Fatalf("list = %+v, %v", got, err)
	}
	if err := c.SetSensorTypeRetention(ctx, "nope", &days); err == nil {
		t.Error("an unknown type was accepted")
	}
	if err := c.SetSensorTypeRetention(ctx, "th", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ListSensorTypeRetentions(ctx); err != nil || len(got) != 0 {
		t.Fatalf("after clearing: %+v, %v", got, err)
	}
}
