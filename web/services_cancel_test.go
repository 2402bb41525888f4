package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

// TestCancelRunButton: a running run has a Cancel button in the run log,
// which stops it; a service URL the runner may not call is refused when
// created.
func TestCancelRunButton(t *testing.T) {
	e := newEnv(t)
	e.seed()
	ctx := context.Background()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	if err := e.db.CreateService(ctx, &dtbase.Service{Name: "hang", URL: hang.URL, HTTPMethod: "POST", Timeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	token := b.login("editor@example.com")
	back := "/services/view?name=hang"
	post := func(path string, v url.Values) {
		t.Helper()
		v.Set("csrf_token", token)
		if res := b.post(path, v, back); res.Status != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", path, res.Status, res.Body)
		}
	}
	post("/services/run", url.Values{"service": {"hang"}})
	runs, _ := e.db.ListRuns(ctx, dtbase.RunFilter{ServiceName: ptr("hang")})
	if len(runs) != 1 {
		t.Fatalf("runs: %+v", runs)
	}
	id := strconv.FormatInt(runs[0].ID, 10)
	if body := b.get(back).Body; !strings.Contains(body, `action="/services/runs/cancel"`) || !strings.Contains(body, `name="run" value="`+id+`"`) {
		t.Fatal("no Cancel button for the running run")
	}
	post("/services/runs/cancel", url.Values{"service": {"hang"}, "run": {id}})
	var run *dtbase.ServiceRun
	for range 500 {
		run, _ = e.db.FindRun(ctx, runs[0].ID)
		if run.Status.Done() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if run.Status != dtbase.RunFailed || run.Error != "cancelled by editor@example.com" {
		t.Fatalf("cancelled run: %+v", run)
	}
	if body := b.get(back).Body; strings.Contains(body, `action="/services/runs/cancel"`) {
		t.Fatal("a Cancel button for a finished run")
	}
	// Viewers see no button and cannot cancel.
	vb := e.browser()
	vtoken := vb.login("viewer@example.com")
	if res := vb.post("/services/runs/cancel", url.Values{"service": {"hang"}, "run": {id}, "csrf_token": {vtoken}}, back); res.Status != http.StatusForbidden {
		t.Fatalf("viewer cancel: %d", res.Status)
	}

	post("/services/create", url.Values{"name": {"meta"}, "url": {"http://169.254.169.254/metadata/identity/oauth2/token"}, "http_method": {"GET"}})
	if _, err := e.db.FindService(ctx, "meta"); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("metadata service created: %v", err)
	}
	if body := b.get("/services").Body; !strings.Contains(body, "169.254.169.254 is the cloud metadata address") {
		t.Error("no flash saying why the URL was refused")
	}
}
