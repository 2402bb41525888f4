package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/servicerun"
)

// hangAfter bounds a wait for something that must happen: long enough
// that only a hang, never a busy machine, reaches it.
const hangAfter = 2 * time.Minute

// getRun reads a run through the API.
func getRun(t *testing.T, e *testEnv, id int64) runJSON {
	t.Helper()
	var run runJSON
	e.must(200, "/service/get-run", fmt.Sprintf(`{"run_id":%d}`, id)).JSON(t, &run)
	return run
}

// waitRun polls a run until it has finished.
func waitRun(t *testing.T, e *testEnv, id int64) runJSON {
	t.Helper()
	deadline := time.Now().Add(hangAfter)
	for {
		run := getRun(t, e, id)
		if run.Status == "succeeded" || run.Status == "failed" {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d still %s after %v", id, run.Status, hangAfter)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServiceSelfLoop is the loop an editor could start: a service whose
// URL is this server's own run-service (reachable here because loopback is
// allow-listed, as the server's public name would be), with a parameter
// set that runs itself asynchronously. The first nested run is refused and
// recorded; the run log stays at two runs.
func TestServiceSelfLoop(t *testing.T) {
	e, runner, base := serviceEnv(t, nil)
	editor := e.as(dtbase.RoleEditor)
	e.must(201, "/service/insert-service", map[string]any{"name": "loop", "url": base + "/service/run-service", "http_method": "POST",
		"credential_header": "Authorization", "credential_value": "Bearer " + editor})
	e.must(201, "/service/insert-parameter-set", `{"service_name":"loop","name":"self","parameters":{"service_name":"loop","parameter_set_name":"self","async":true}}`)
	r := e.do(http.MethodPost, "/service/run-service", `{"service_name":"loop","parameter_set_name":"self","async":true}`, editor)
	if r.Status != 202 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	runner.Wait()
	time.Sleep(200 * time.Millisecond) // room for runs a loop would start
	runner.Wait()
	var runs []runJSON
	e.must(200, "/service/list-runs", `{"service_name":"loop"}`).JSON(t, &runs)
	if len(runs) != 2 {
		t.Fatalf("%d runs of the looping service, want 2", len(runs))
	}
	if runs[0].Status != "failed" || runs[0].ResponseStatusCode != 400 || runs[1].Status != "failed" ||
		!strings.Contains(*runs[1].Error, "a service run called run-service on this server's own API") {
		t.Fatalf("runs: %+v %q %q", runs, *runs[0].Error, *runs[1].Error)
	}
}

// TestServiceRunDepth: a run asked for by a service run nested at the
// limit is refused (400) and recorded as failed; one below runs.
func TestServiceRunDepth(t *testing.T) {
	e, _, _ := serviceEnv(t, nil)
	tgt := target(t)
	e.must(201, "/service/insert-service", map[string]any{"name": "S", "url": tgt.URL + "/ok", "http_method": "POST"})
	nested := func(depth int) response {
		req := newRequest(http.MethodPost, "/service/run-service", `{"service_name":"S"}`)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set(dtbase.HeaderRunDepth, fmt.Sprint(depth))
		return e.serve(req)
	}
	wantBody(t, nested(servicerun.DefaultMaxDepth-1), 200, `{"detail":"Service called successfully.","run_id":1}`)
	wantDetail(t, nested(servicerun.DefaultMaxDepth), 400,
		"Service run 2 refused: started by a service run nested 3 deep; runs may nest at most 3 deep (this stops loops)")
	if run := getRun(t, e, 2); run.Status != "failed" || !strings.Contains(*run.Error, "nested 3 deep") {
		t.Fatalf("refused run: %+v", run)
	}
}

// TestServiceURLRefusals: URLs that lead into the host, its networks or
// its cloud are refused at registration with a 422 saying why, unless the
// allow-list opens them.
func TestServiceURLRefusals(t *testing.T) {
	e, _, _ := serviceEnv(t, func(o *servicerun.Options) { o.AllowedHosts = []string{"10.9.0.0/16", "internal.example.org"} })
	cases := []struct{ url, msg string }{
		{"http://169.254.169.254/metadata/identity/oauth2/token", "The service URL cannot be called: 169.254.169.254 is the cloud metadata address: refused unless DT_SERVICE_ALLOWED_HOSTS lists it"},
		{"http://127.0.0.1:5000/service/run-service", "The service URL cannot be called: 127.0.0.1 is a loopback address: refused unless DT_SERVICE_ALLOWED_HOSTS lists it"},
		{"http://[::1]:5000/", "The service URL cannot be called: ::1 is a loopback address: refused unless DT_SERVICE_ALLOWED_HOSTS lists it"},
		{"http://10.0.0.4/", "The service URL cannot be called: 10.0.0.4 is a private address (RFC 1918): refused unless DT_SERVICE_ALLOWED_HOSTS lists it"},
		{"http://100.64.1.2/", "The service URL cannot be called: 100.64.1.2 is a carrier-grade NAT address (100.64.0.0/10): refused unless DT_SERVICE_ALLOWED_HOSTS lists it"},
		{"http://[fd00:ec2::254]/latest/meta-data/", "The service URL cannot be called: fd00:ec2::254 is the cloud metadata address: refused unless DT_SERVICE_ALLOWED_HOSTS lists it"},
		{"http://localhost:8080/", "The service URL cannot be called: localhost is a loopback name: refused unless DT_SERVICE_ALLOWED_HOSTS lists it"},
		{"file:///etc/passwd", "The service URL cannot be called: only http:// and https:// URLs can be called, not file://"},
		{"gopher://127.0.0.1:6379/_FLUSHALL", "The service URL cannot be called: only http:// and https:// URLs can be called, not gopher://"},
		{"/service/run-service", "The service URL is a path on this server, which only the built-in services may use: give an absolute http:// or https:// URL"},
		{"http://10.9.1.1/", ""},
		{"http://internal.example.org/", ""},
		{"https://api.example.org/", ""},
	}
	for i, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			name := fmt.Sprintf("S%d", i)
			r := e.post("/service/insert-service", map[string]any{"name": name, "url": c.url, "http_method": "POST"})
			if c.msg == "" {
				wantBody(t, r, 201, `{"detail":"Service created successfully."}`)
				return
			}
			want := fmt.Sprintf(`{"detail":[{"type":"value_error","loc":["body","url"],"msg":%q,"input":%q}]}`, c.msg, c.url)
			wantBody(t, r, 422, want)
			// Edits are checked the same way.
			e.must(201, "/service/insert-service", map[string]any{"name": name, "url": "https://api.example.org/", "http_method": "POST"})
			wantBody(t, e.post("/service/edit-service", map[string]any{"name": name, "url": c.url}), 422, want)
		})
	}
	r := e.post("/service/insert-service", `{"name":"C","url":"https://api.example.org/","http_method":"POST","credential_header":"X-DTBase-Run-Depth","credential_value":"0"}`)
	if r.Status != 422 || !strings.Contains(string(r.Body), "X-DTBase- headers are the service runner's own") {
		t.Fatalf("credential in a runner header: %d %s", r.Status, r.Body)
	}
}

// TestCancelRunAPI cancels an asynchronous run through cancel-run, and a
// synchronous one by hanging up.
func TestCancelRunAPI(t *testing.T) {
	e, runner, base := serviceEnv(t, nil)
	tgt := target(t)
	e.must(201, "/service/insert-service", map[string]any{"name": "hang", "url": tgt.URL + "/hang", "http_method": "POST", "timeout_seconds": 3600})
	editor, viewer := e.as(dtbase.RoleEditor), e.as(dtbase.RoleViewer)
	wantBody(t, e.do(http.MethodPost, "/service/run-service", `{"service_name":"hang","async":true}`, editor), 202, `{"detail":"Service run started.","run_id":1}`)
	if r := e.do(http.MethodPost, "/service/cancel-run", `{"run_id":1}`, viewer); r.Status != 403 {
		t.Fatalf("viewer: %d %s", r.Status, r.Body)
	}
	wantBody(t, e.do(http.MethodPost, "/service/cancel-run", `{"run_id":1}`, editor), 200, `{"detail":"Service run cancellation requested.","run_id":1}`)
	if run := waitRun(t, e, 1); run.Status != "failed" || *run.Error != "cancelled by editor@example.com" {
		t.Fatalf("cancelled run: %+v", run)
	}
	wantDetail(t, e.post("/service/cancel-run", `{"run_id":1}`), 409, "Service run has already finished.")
	wantDetail(t, e.post("/service/cancel-run", `{"run_id":99}`), 400, "Service run does not exist.")
	if r := e.post("/service/cancel-run", `{"run_id":"x"}`); r.Status != 422 {
		t.Fatalf("bad body: %d %s", r.Status, r.Body)
	}

	// A synchronous run whose caller hangs up stops.
	ctx, hangUp := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/service/run-service", strings.NewReader(`{"service_name":"hang"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+editor)
	go func() {
		for runner.InFlight() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		hangUp()
	}()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the run answered %d", resp.StatusCode)
	}
	if run := waitRun(t, e, 2); run.Status != "failed" || *run.Error != "cancelled: the caller hung up during the run" {
		t.Fatalf("hung-up run: %+v", run)
	}
}

// TestServiceRunLimitAPI: over a service's limit of runs in flight, a run
// is refused with 429.
func TestServiceRunLimitAPI(t *testing.T) {
	e, _, _ := serviceEnv(t, func(o *servicerun.Options) { o.MaxRunsInFlight = 1 })
	tgt := target(t)
	e.must(201, "/service/insert-service", map[string]any{"name": "hang", "url": tgt.URL + "/hang", "http_method": "POST", "timeout_seconds": 3600})
	e.must(202, "/service/run-service", `{"service_name":"hang","async":true}`)
	wantDetail(t, e.post("/service/run-service", `{"service_name":"hang","async":true}`), 429,
		"Service hang already has 1 runs in flight, its limit (DT_SERVICE_MAX_CONCURRENT_RUNS); try again when one has finished")
	e.must(200, "/service/cancel-run", `{"run_id":1}`)
	waitRun(t, e, 1)
	e.must(202, "/service/run-service", `{"service_name":"hang","async":true}`)
	e.must(200, "/service/cancel-run", `{"run_id":2}`)
}
