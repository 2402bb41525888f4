package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api/apitest"
	"github.com/dtbase/dtbase/client"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func TestIngress(t *testing.T) {
	db := sqldbtest.Open(t)
	apitest.AddUser(t, db, "svc@example.com", "pw", dtbase.RoleEditor)
	c := client.New(apitest.Serve(t, apitest.Config(db)), client.WithCredentials("svc@example.com", "pw"))
	ctx := context.Background()
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	p := Params{Sensor: "w1", From: from, To: from.Add(24 * time.Hour), Interval: time.Hour}
	for run := 0; run < 2; run++ { // the second run finds everything declared already
		if _, err := Run(ctx, c, p, nil); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	got, err := c.SensorReadings(ctx, client.ReadingsQuery{UniqueIdentifier: "w1", MeasureName: "temperature", From: from, To: p.To})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 25 {
		t.Fatalf("%d readings, want 25", len(got))
	}

	// As a service: dtbase's run-service posts the parameters.
	h := httptest.NewServer(Handler(c, Params{Sensor: "w2"}, nil))
	defer h.Close()
	resp, err := http.Post(h.URL, "application/json", strings.NewReader(`{"from": "2024-01-02", "to": "2024-01-02T06:00:00", "interval_minutes": 60}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got, err = c.SensorReadings(ctx, client.ReadingsQuery{UniqueIdentifier: "w2", MeasureName: "relative humidity",
		From: from, To: from.Add(48 * time.Hour)})
	if err != nil || len(got) != 7 {
		t.Fatalf("%d readings (%v), want 7", len(got), err)
	}
}
