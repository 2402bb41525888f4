package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCancelRun(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	s := newServer(t, withRunner(t, nil))
	ctx := context.Background()
	c := adminClient(t, s)
	timeout := 3600
	must(t, c.InsertService(ctx, NewService{Name: "hang", URL: hang.URL, HTTPMethod: "POST", TimeoutSeconds: &timeout}))
	res, err := c.RunService(ctx, RunServiceRequest{ServiceName: "hang", Async: true})
	if err != nil {
		t.Fatal(err)
	}
	must(t, c.CancelRun(ctx, res.RunID))
	waitRun(t, c, res.RunID, "failed")
	if err, ok := c.CancelRun(ctx, res.RunID).(*Error); !ok || err.Status != http.StatusConflict || err.Detail != "Service run has already finished." {
		t.Fatalf("cancel a finished run: %v", err)
	}
}
