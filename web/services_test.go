package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
)

// TestRunOutcomeWhereClicked checks that a run started from a service page
// shows how it ended next to the button that started it: a failure with
// the service's own explanation, a success, and a run still going that
// refreshes itself.
func TestRunOutcomeWhereClicked(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	e.serviceAt(dtbase.Service{Name: "strict"}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"detail": "Sensor 'TRH1' does not exist"}`))
	})
	if err := e.db.CreateParameterSet(ctx, &dtbase.ParameterSet{ServiceName: "strict", Name: "trh1", Parameters: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	b := e.signIn("editor@example.com")
	run := func(form url.Values) (string, page) {
		t.Helper()
		res := b.mustSubmit("/services/run", form, "/services/view?name="+form.Get("service"))
		if !strings.HasSuffix(res.Location, "#run-result") {
			t.Fatalf("run: to %q", res.Location)
		}
		return res.Location, b.get(strings.TrimSuffix(res.Location, "#run-result"))
	}

	t.Run("a failure, at the set's Run button", func(t *testing.T) {
		to, p := run(url.Values{"service": {"strict"}, "set": {"trh1"}})
		if !strings.Contains(to, "at=trh1") {
			t.Errorf("to %q", to)
		}
		box := p.Body[max(0, strings.Index(p.Body, `id="run-result"`)):]
		for _, want := range []string{`class="flash flash-error" role="alert"`, "failed</strong>: 400 Bad Request", "Sensor &#39;TRH1&#39; does not exist"} {
			if !strings.Contains(box, want) {
				t.Errorf("result lacks %q:\n%s", want, box[:min(len(box), 600)])
			}
		}
		// In the set's row, not in the Run now card above.
		if row, res := strings.Index(p.Body, "<td>trh1</td>"), strings.Index(p.Body, `id="run-result"`); row < 0 || res < row {
			t.Errorf("result at %d, the set's row at %d", res, row)
		}
		if strings.Contains(box[:min(len(box), 600)], "data-refresh") {
			t.Error("a finished run refreshes itself")
		}
	})
	t.Run("a success, at the Run now form", func(t *testing.T) {
		to, p := run(url.Values{"service": {"echo"}, "set": {""}, "parameters": {`{"x": 1}`}})
		if strings.Contains(to, "at=") {
			t.Errorf("to %q", to)
		}
		if !strings.Contains(p.Body, `class="flash flash-success" role="status"`) || !strings.Contains(p.Body, "of echo succeeded</strong>: 200 OK") {
			t.Errorf("no success shown:\n%s", p.Body)
		}
		if form, res := strings.Index(p.Body, `id="run-form"`), strings.Index(p.Body, `id="run-result"`); res < 0 || res > form {
			t.Errorf("result at %d, the Run now form at %d", res, form)
		}
	})
	t.Run("a run still going refreshes itself", func(t *testing.T) {
		pending, _, err := e.db.StartRun(ctx, dtbase.RunStart{ServiceName: "echo", Status: dtbase.RunPending, TriggeredBy: "editor@example.com", Timestamp: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		p := b.get("/services/view?name=echo&run=" + strconv.FormatInt(pending.ID, 10))
		box := p.Body[max(0, strings.Index(p.Body, `id="run-result"`)):]
		if !strings.Contains(box, `class="flash flash-info" role="status" data-refresh="1500"`) || !strings.Contains(box, "is pending") {
			t.Errorf("pending run:\n%s", box[:min(len(box), 600)])
		}
		if !strings.Contains(p.Body, `id="runlog" data-refresh=`) {
			t.Error("the run log does not refresh itself")
		}
		// Another service's run is not shown.
		if p := b.get("/services/view?name=strict&run=" + strconv.FormatInt(pending.ID, 10)); strings.Contains(p.Body, `id="run-result"`) {
			t.Error("another service's run shown")
		}
	})
}

// TestCancelRunButton: a running run has a Cancel button in the run log,
// which stops it; a service URL the runner may not call is refused when
// created.
func TestCancelRunButton(t *testing.T) {
	e := newSeededEnv(t)
	ctx := context.Background()
	e.serviceAt(dtbase.Service{Name: "hang", Timeout: time.Hour}, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	b := e.signIn("editor@example.com")
	back := "/services/view?name=hang"
	b.mustSubmit("/services/run", url.Values{"service": {"hang"}}, back)
	runs, _ := e.db.ListRuns(ctx, dtbase.RunFilter{ServiceName: ptr("hang")})
	if len(runs) != 1 {
		t.Fatalf("runs: %+v", runs)
	}
	id := strconv.FormatInt(runs[0].ID, 10)
	if body := b.get(back).Body; !strings.Contains(body, `action="/services/runs/cancel"`) || !strings.Contains(body, `name="run" value="`+id+`"`) {
		t.Fatal("no Cancel button for the running run")
	}
	b.mustSubmit("/services/runs/cancel", url.Values{"service": {"hang"}, "run": {id}}, back)
	var run *dtbase.ServiceRun
	// Two minutes: only a hang, not a busy machine, reaches it.
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		run, _ = e.db.FindRun(ctx, runs[0].ID)
		if run.Status.Done() {
			break
		}
	}
	if run.Status != dtbase.RunFailed || run.Error != "cancelled by editor@example.com" {
		t.Fatalf("cancelled run: %+v", run)
	}
	if body := b.get(back).Body; strings.Contains(body, `action="/services/runs/cancel"`) {
		t.Fatal("a Cancel button for a finished run")
	}
	// Viewers see no button and cannot cancel.
	vb := e.signIn("viewer@example.com")
	if res := vb.submit("/services/runs/cancel", url.Values{"service": {"hang"}, "run": {id}}, back); res.Status != http.StatusForbidden {
		t.Fatalf("viewer cancel: %d", res.Status)
	}

	b.mustSubmit("/services/create", url.Values{"name": {"meta"}, "url": {"http://169.254.169.254/metadata/identity/oauth2/token"}, "http_method": {"GET"}}, back)
	if _, err := e.db.FindService(ctx, "meta"); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("metadata service created: %v", err)
	}
	if body := b.get("/services").Body; !strings.Contains(body, "169.254.169.254 is the cloud metadata address") {
		t.Error("no flash saying why the URL was refused")
	}
}
