package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/ingest/weather"
	"github.com/dtbase/dtbase/servicerun"
)

// newServiceEnv is a test environment with a service runner, reachable at
// a real address so that services with a path URL (the built-ins) can be
// called through it.
func newServiceEnv(t *testing.T, builtins ...dtbase.BuiltinService) (*testEnv, *servicerun.Runner) {
	e, runner, _ := serviceEnv(t, nil, builtins...)
	return e, runner
}

// serviceEnv is newServiceEnv with runner options edited by edit; it also
// returns the server's address.
func serviceEnv(t *testing.T, edit func(*servicerun.Options), builtins ...dtbase.BuiltinService) (*testEnv, *servicerun.Runner, string) {
	t.Helper()
	var runner *servicerun.Runner
	e := newEnv(t, func(c *Config) {
		sealer, err := servicerun.NewSealer([]byte("test secret key"))
		if err != nil {
			t.Fatal(err)
		}
		// The test services listen on loopback, which only an allow-list opens.
		o := servicerun.Options{Store: c.Store, Sealer: sealer, TokenSecret: c.Secret,
			Logger: slog.New(slog.DiscardHandler), AllowedHosts: []string{"127.0.0.1"}}
		if edit != nil {
			edit(&o)
		}
		runner, err = servicerun.NewRunner(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range builtins {
			runner.RegisterBuiltin(b)
		}
		c.Services = runner
	})
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	if err := runner.SetSelfURL(ts.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangAfter)
		defer cancel()
		runner.Stop(ctx)
	})
	return e, runner, ts.URL
}

// target is a remote service: it echoes what it gets and misbehaves on
// request.
func target(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if len(body) == 0 {
			body = []byte("null")
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"method":%q,"body":%s,"key":%q}`, r.Method, body, r.Header.Get("x-functions-key"))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the caller hanging up.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><p>Not an API</p>"))
	})
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
		for n := 0; n < 50<<20; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func wantBody(t *testing.T, r response, status int, body string) {
	t.Helper()
	if r.Status != status || string(r.Body) != body {
		t.Fatalf("got %d %s\nwant %d %s", r.Status, r.Body, status, body)
	}
}

func wantDetail(t *testing.T, r response, status int, detail string) {
	t.Helper()
	if r.Status != status || r.Detail() != detail {
		t.Fatalf("got %d %s\nwant %d %q", r.Status, r.Body, status, detail)
	}
}

func TestServiceAPIWire(t *testing.T) {
	e, _ := newServiceEnv(t)
	tgt := target(t)
	s1 := fmt.Sprintf(`{"name":"S1","url":%q,"http_method":"POST"}`, tgt.URL+"/ok")
	s2 := fmt.Sprintf(`{"name":"S2","url":%q,"http_method":"GET"}`, tgt.URL+"/ok")
	wantBody(t, e.post("/service/insert-service", s1), 201, `{"detail":"Service created successfully."}`)
	wantBody(t, e.post("/service/insert-service", s2), 201, `{"detail":"Service created successfully."}`)
	wantBody(t, e.post("/service/insert-service", s1), 409, `{"detail":"Service already exists."}`)
	wantBody(t, e.get("/service/list-services"), 200, fmt.Sprintf(`[{"name":"S1","url":%q,"http_method":"POST"},{"name":"S2","url":%q,"http_method":"GET"}]`,
		tgt.URL+"/ok", tgt.URL+"/ok"))
	wantDetail(t, e.post("/service/insert-service", `{"name":"S3","url":"http://x","http_method":"get"}`), 400,
		`Invalid http_method "get": use one of GET, POST, PUT, DELETE (upper case)`)

	p1 := `{"service_name":"S1","name":"P1","parameters":{"a":1.0,"b":[1,2]}}`
	wantBody(t, e.post("/service/insert-parameter-set", p1), 201, `{"detail":"Parameter set created successfully."}`)
	wantBody(t, e.post("/service/insert-parameter-set", `{"service_name":"S1","name":"P2","parameters":{}}`), 201, `{"detail":"Parameter set created successfully."}`)
	wantBody(t, e.post("/service/insert-parameter-set", `{"service_name":"S2","name":"P1","parameters":{"z":null}}`), 201, `{"detail":"Parameter set created successfully."}`)
	wantBody(t, e.post("/service/insert-parameter-set", p1), 409, `{"detail":"Parameter set already exists."}`)
	wantBody(t, e.post("/service/insert-parameter-set", `{"service_name":"nope","name":"P1","parameters":{}}`), 400, `{"detail":"Service does not exist."}`)
	for _, bad := range []string{`[1]`, `null`, `"x"`} {
		if r := e.post("/service/insert-parameter-set", `{"service_name":"S1","name":"P9","parameters":`+bad+`}`); r.Status != 422 {
			t.Fatalf("parameters %s: %d %s", bad, r.Status, r.Body)
		}
	}
	all := `[{"service_name":"S1","name":"P1","parameters":{"a":1.0,"b":[1,2]}},{"service_name":"S1","name":"P2","parameters":{}},{"service_name":"S2","name":"P1","parameters":{"z":null}}]`
	wantBody(t, e.do(http.MethodPost, "/service/list-parameter-sets", nil, e.token), 200, all)
	wantBody(t, e.post("/service/list-parameter-sets", `{}`), 200, all)
	wantBody(t, e.post("/service/list-parameter-sets", `{"service_name":null}`), 200, all)
	wantBody(t, e.post("/service/list-parameter-sets", `{"service_name":"S2"}`), 200, `[{"service_name":"S2","name":"P1","parameters":{"z":null}}]`)
	wantBody(t, e.post("/service/list-parameter-sets", `{"service_name":"unknown"}`), 200, `[]`)
	wantBody(t, e.post("/service/edit-parameter-set", `{"service_name":"S1","name":"P2","parameters":{"n":2}}`), 200, `{"detail":"Parameter set edited successfully."}`)
	wantBody(t, e.post("/service/edit-parameter-set", `{"service_name":"S1","name":"P9","parameters":{}}`), 400, `{"detail":"Parameter set does not exist."}`)

	// Runs: with a set, with explicit parameters (which win, as in the
	// original), with both, with neither.
	beforeRuns := time.Now().Truncate(time.Millisecond)
	wantBody(t, e.post("/service/run-service", `{"service_name":"S1","parameter_set_name":"P1"}`), 200, `{"detail":"Service called successfully.","run_id":1}`)
	wantBody(t, e.post("/service/run-service", `{"service_name":"S1","parameters":[1,2]}`), 200, `{"detail":"Service called successfully.","run_id":2}`)
	wantBody(t, e.post("/service/run-service", `{"service_name":"S2","parameter_set_name":"P1","parameters":{"x":1}}`), 200, `{"detail":"Service called successfully.","run_id":3}`)
	wantBody(t, e.post("/service/run-service", `{"service_name":"S2"}`), 200, `{"detail":"Service called successfully.","run_id":4}`)
	wantBody(t, e.post("/service/run-service", `{"service_name":"S1","parameter_set_name":"P9"}`), 400, `{"detail":"Service or parameter set does not exist."}`)
	wantBody(t, e.post("/service/run-service", `{"service_name":"S9"}`), 400, `{"detail":"Service or parameter set does not exist."}`)
	if r := e.post("/service/run-service", `{"service_name":"S1","parameters":5}`); r.Status != 422 {
		t.Fatalf("scalar parameters: %d %s", r.Status, r.Body)
	}

	var runs []map[string]any
	r := e.post("/service/list-runs", `{}`)
	r.JSON(t, &runs)
	if len(runs) != 4 {
		t.Fatalf("runs: %s", r.Body)
	}
	first := string(r.Body[:strings.Index(string(r.Body), `"timestamp"`)])
	if want := `[{"service_name":"S1","parameter_set_name":"P1","parameters":{"a":1.0,"b":[1,2]},"response_json":{"method":"POST","body":{"a":1.0,"b":[1,2]},"key":""},"response_status_code":200,`; first != want {
		t.Fatalf("first run:\n got  %s\n want %s", first, want)
	}
	for i, want := range []struct {
		set, params, response string
	}{
		{"P1", `{"a":1.0,"b":[1,2]}`, `{"method":"POST","body":{"a":1.0,"b":[1,2]},"key":""}`},
		{"", `[1,2]`, `{"method":"POST","body":[1,2],"key":""}`},
		{"P1", `{"x":1}`, `{"method":"GET","body":{"x":1},"key":""}`},
		{"", `null`, `{"method":"GET","body":null,"key":""}`},
	} {
		got := runs[i]
		params, _ := json.Marshal(got["parameters"])
		resp, _ := json.Marshal(got["response_json"])
		var wp, wr any
		json.Unmarshal([]byte(want.params), &wp)
		json.Unmarshal([]byte(want.response), &wr)
		wpb, _ := json.Marshal(wp)
		wrb, _ := json.Marshal(wr)
		set, _ := got["parameter_set_name"].(string)
		if set != want.set || string(params) != string(wpb) || string(resp) != string(wrb) || got["status"] != "succeeded" ||
			got["run_id"] != float64(i+1) || got["triggered_by"] != testAdmin || got["answered"] != true {
			t.Errorf("run %d: %v", i, got)
		}
		if ts, ok := dtbase.ParseTime(got["timestamp"].(string)); !ok || ts.Before(beforeRuns) || ts.After(time.Now()) {
			t.Errorf("run %d timestamp %v", i, got["timestamp"])
		}
	}
	countRuns := func(body string) int {
		var out []any
		e.must(200, "/service/list-runs", body).JSON(t, &out)
		return len(out)
	}
	if n := countRuns(`{"service_name":"S2"}`); n != 2 {
		t.Errorf("S2 runs: %d", n)
	}
	if n := countRuns(`{"parameter_set_name":"P1"}`); n != 2 { // across services, not a 500
		t.Errorf("P1 runs: %d", n)
	}
	if n := countRuns(`{"service_name":"S1","parameter_set_name":"P1"}`); n != 1 {
		t.Errorf("S1/P1 runs: %d", n)
	}
	if n := countRuns(`{"limit":1}`); n != 1 {
		t.Errorf("limit: %d", n)
	}
	var none []any
	if r := e.do(http.MethodPost, "/service/list-runs", nil, e.token); r.Status != 200 {
		t.Fatalf("list-runs without a body: %d", r.Status)
	} else if r.JSON(t, &none); len(none) != 4 {
		t.Fatalf("list-runs without a body: %d runs", len(none))
	}

	// Deleting a parameter set keeps its runs.
	wantBody(t, e.post("/service/delete-parameter-set", `{"service_name":"S1","name":"P1"}`), 200, `{"detail":"Parameter set deleted successfully."}`)
	wantBody(t, e.post("/service/delete-parameter-set", `{"service_name":"S1","name":"P1"}`), 400, `{"detail":"Parameter set does not exist."}`)
	if n := countRuns(`{"service_name":"S1","parameter_set_name":"P1"}`); n != 1 {
		t.Errorf("runs of a deleted set: %d", n)
	}

	wantBody(t, e.post("/service/delete-service", `{"name":"S1"}`), 200, `{"detail":"Service deleted successfully."}`)
	wantBody(t, e.post("/service/delete-service", `{"name":"S1"}`), 400, `{"detail":"Service does not exist."}`)
	if n := countRuns(`{}`); n != 2 {
		t.Errorf("runs after deleting S1: %d", n)
	}

	// A URL services cannot call is refused when registered, saying why.
	wantBody(t, e.post("/service/insert-service", `{"name":"S3","url":"ftp://x/y","http_method":"GET"}`), 422,
		`{"detail":[{"type":"value_error","loc":["body","url"],"msg":"The service URL cannot be called: only http:// and https:// URLs can be called, not ftp://","input":"ftp://x/y"}]}`)
}

// TestRunServiceFaults calls services that hang, refuse connections,
// answer HTML, answer 500, answer 50 MB and redirect in a loop, all at
// once, while other requests are served; each call is a recorded run with
// a clear outcome and other requests are served meanwhile.
func TestRunServiceFaults(t *testing.T) {
	e, _ := newServiceEnv(t)
	tgt := target(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()
	cases := []struct {
		name, url     string
		status        int
		detail        string
		runStatus     string
		code          int
		errText, note string
	}{
		{"hang", tgt.URL + "/hang", 504, "Service call failed: timed out after 2s", "failed", 504, "timed out after 2s", ""},
		{"refused", refused, 502, "Service call failed: cannot connect: ", "failed", 502, "cannot connect: ", ""},
		{"html", tgt.URL + "/html", 200, "Service called successfully.", "succeeded", 200, "", "the answer is not JSON (text/html, 32 bytes); its body is not stored"},
		{"e500", tgt.URL + "/500", 200, "Service called successfully.", "failed", 500, "the service answered 500 Internal Server Error", "the answer is not JSON (text/plain, 4 bytes); its body is not stored"},
		{"big", tgt.URL + "/big", 200, "Service called successfully.", "succeeded", 200, "", "the answer is larger than 1 MiB and was cut off there; its body is not stored"},
		{"loop", tgt.URL + "/loop", 502, "Service call failed: too many redirects (stopped after 10)", "failed", 502, "too many redirects (stopped after 10)", ""},
	}
	for _, c := range cases {
		e.must(201, "/service/insert-service", fmt.Sprintf(`{"name":%q,"url":%q,"http_method":"POST","timeout_seconds":2}`, c.name, c.url))
	}

	done := make(chan struct{})
	var latencies []time.Duration
	var probes sync.WaitGroup
	probes.Add(1)
	go func() {
		defer probes.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			start := time.Now()
			r1 := e.get("/service/list-services")
			r2 := e.post("/service/list-runs", `{"limit":5}`)
			if r1.Status != 200 || r2.Status != 200 {
				t.Errorf("probe: %d %d", r1.Status, r2.Status)
			}
			latencies = append(latencies, time.Since(start))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	results := make([]response, len(cases))
	var calls sync.WaitGroup
	for i, c := range cases {
		calls.Add(1)
		go func() {
			defer calls.Done()
			results[i] = e.post("/service/run-service", fmt.Sprintf(`{"service_name":%q,"parameters":{"i":%d}}`, c.name, i))
		}()
	}
	calls.Wait()
	close(done)
	probes.Wait()

	for i, c := range cases {
		r := results[i]
		if r.Status != c.status || !strings.HasPrefix(r.Detail(), c.detail) {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
		var ans runServiceResponse
		r.JSON(t, &ans)
		var run runJSON
		e.must(200, "/service/get-run", fmt.Sprintf(`{"run_id":%d}`, ans.RunID)).JSON(t, &run)
		errText, note := "", ""
		if run.Error != nil {
			errText = *run.Error
		}
		if run.Note != nil {
			note = *run.Note
		}
		if run.ServiceName != c.name || run.Status != c.runStatus || run.ResponseStatusCode != c.code || !strings.HasPrefix(errText, c.errText) ||
			(c.errText == "") != (errText == "") || note != c.note || run.DurationMS == nil || run.Finished == nil {
			t.Errorf("%s: run %+v (error %q, note %q)", c.name, run, errText, note)
		}
	}
	// The hanging call lasts its 2 s timeout: a server that served nothing
	// else meanwhile would answer a probe or two, not several. How fast the
	// probes were depends on the machine, so it is logged, not asserted.
	slices.Sort(latencies)
	if len(latencies) < 4 {
		t.Fatalf("only %d probe requests were served during the faults", len(latencies))
	}
	p50, worst := latencies[len(latencies)/2], latencies[len(latencies)-1]
	t.Logf("%d probe requests during the faults: median %v, worst %v", len(latencies), p50, worst)
}

func TestAsyncRunAPI(t *testing.T) {
	e, _ := newServiceEnv(t)
	tgt := target(t)
	e.must(201, "/service/insert-service", fmt.Sprintf(`{"name":"S","url":%q,"http_method":"PUT"}`, tgt.URL+"/ok"))
	r := e.post("/service/run-service", `{"service_name":"S","parameters":{"q":1},"async":true}`)
	wantBody(t, r, 202, `{"detail":"Service run started.","run_id":1}`)
	var run runJSON
	deadline := time.Now().Add(hangAfter)
	for {
		e.must(200, "/service/get-run", `{"run_id":1}`).JSON(t, &run)
		if run.Status == "succeeded" || time.Now().After(deadline) {
			break
		}
		if run.Status != "pending" && run.Status != "running" || run.ResponseStatusCode != 202 {
			t.Fatalf("in flight: %+v", run)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if run.Status != "succeeded" || run.ResponseStatusCode != 200 || string(run.ResponseJSON) != `{"method":"PUT","body":{"q":1},"key":""}` {
		t.Fatalf("async run: %+v", run)
	}
	wantBody(t, e.post("/service/get-run", `{"run_id":99}`), 400, `{"detail":"Service run does not exist."}`)
	wantBody(t, e.post("/service/run-service", `{"service_name":"nope","async":true}`), 400, `{"detail":"Service or parameter set does not exist."}`)
	if r := e.post("/service/get-run", `{"run_id":"x"}`); r.Status != 422 {
		t.Fatalf("bad run id: %d", r.Status)
	}
}

func TestScheduleAPI(t *testing.T) {
	e, _ := newServiceEnv(t)
	e.must(201, "/service/insert-service", `{"name":"S","url":"http://127.0.0.1:9/","http_method":"POST"}`)
	e.must(201, "/service/insert-parameter-set", `{"service_name":"S","name":"P","parameters":{}}`)
	r := e.post("/service/insert-schedule", `{"service_name":"S","name":"nightly","cron":"0 2 * * *","timezone":"Europe/London","parameter_set_name":"P"}`)
	var created struct {
		Detail  string `json:"detail"`
		NextRun string `json:"next_run"`
	}
	r.JSON(t, &created)
	next, ok := dtbase.ParseTime(created.NextRun)
	if r.Status != 201 || created.Detail != "Schedule created successfully." || !ok || time.Until(next) > 25*time.Hour || next.Before(time.Now()) {
		t.Fatalf("insert-schedule: %d %s", r.Status, r.Body)
	}
	if loc, _ := time.LoadLocation("Europe/London"); next.In(loc).Hour() != 2 {
		t.Fatalf("next run %v is not 02:00 in London", next)
	}
	e.must(201, "/service/insert-schedule", `{"service_name":"S","name":"fast","cron":"CRON_TZ=Asia/Tokyo */10 * * * * *"}`)
	wantBody(t, e.post("/service/insert-schedule", `{"service_name":"S","name":"nightly","cron":"0 2 * * *"}`), 409, `{"detail":"Schedule already exists."}`)
	for body, detail := range map[string]string{
		`{"service_name":"S","name":"x","cron":"0 25 * * *"}`:                          `Invalid cron expression "0 25 * * *": end of range (25) above maximum (23): 25`,
		`{"service_name":"S","name":"x","cron":"whenever"}`:                            `Invalid cron expression "whenever": expected 5 to 6 fields, found 1: [whenever]`,
		`{"service_name":"S","name":"x","cron":"0 2 * * *","timezone":"Mars/Olympus"}`: `Unknown time zone "Mars/Olympus": use an IANA name such as UTC or Europe/London`,
		`{"service_name":"S","name":"x","cron":""}`:                                    `Invalid cron expression: it is empty`,
		`{"service_name":"S9","name":"x","cron":"0 2 * * *"}`:                          `Service does not exist.`,
		`{"service_name":"S","name":"x","cron":"0 2 * * *","parameter_set_name":"P9"}`: `Parameter set does not exist.`,
	} {
		wantDetail(t, e.post("/service/insert-schedule", body), 400, detail)
	}
	if r := e.post("/service/insert-schedule", `{"service_name":"S","name":"","cron":"* * * * *"}`); r.Status != 422 {
		t.Fatalf("empty name: %d", r.Status)
	}

	var list []scheduleJSON
	e.must(200, "/service/list-schedules", `{"service_name":"S"}`).JSON(t, &list)
	if len(list) != 2 || list[0].Name != "nightly" || list[0].TimeZone != "Europe/London" || *list[0].ParameterSetName != "P" || !list[0].Enabled ||
		list[0].NextRun == nil || list[0].LastRun != nil || list[1].Cron != "*/10 * * * * *" || list[1].TimeZone != "Asia/Tokyo" {
		t.Fatalf("list-schedules: %+v", list)
	}
	if r := e.do(http.MethodPost, "/service/list-schedules", nil, e.token); r.Status != 200 {
		t.Fatalf("list-schedules without a body: %d", r.Status)
	}
	wantBody(t, e.post("/service/list-schedules", `{"service_name":"unknown"}`), 200, `[]`)

	wantBody(t, e.post("/service/disable-schedule", `{"service_name":"S","name":"nightly"}`), 200, `{"detail":"Schedule disabled successfully.","next_run":null}`)
	e.must(200, "/service/list-schedules", `{}`).JSON(t, &list)
	if list[0].Enabled || list[0].NextRun != nil {
		t.Fatalf("disabled: %+v", list[0])
	}
	// A set used by a schedule cannot be deleted from under it.
	if r := e.post("/service/delete-parameter-set", `{"service_name":"S","name":"P"}`); r.Status != 409 {
		t.Fatalf("delete a set in use: %d %s", r.Status, r.Body)
	}
	r = e.post("/service/enable-schedule", `{"service_name":"S","name":"nightly"}`)
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), `{"detail":"Schedule enabled successfully.","next_run":"`) {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	r = e.post("/service/edit-schedule", `{"service_name":"S","name":"nightly","cron":"30 6 * * 1-5"}`)
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), `{"detail":"Schedule edited successfully.","next_run":"`) {
		t.Fatalf("edit: %d %s", r.Status, r.Body)
	}
	e.must(200, "/service/list-schedules", `{}`).JSON(t, &list)
	if list[0].Cron != "30 6 * * 1-5" || list[0].TimeZone != "UTC" || list[0].ParameterSetName != nil || !list[0].Enabled {
		t.Fatalf("edited: %+v", list[0])
	}
	wantDetail(t, e.post("/service/edit-schedule", `{"service_name":"S","name":"nightly","cron":"61 * * * *"}`), 400,
		`Invalid cron expression "61 * * * *": end of range (61) above maximum (59): 61`)
	wantBody(t, e.post("/service/edit-schedule", `{"service_name":"S","name":"zz","cron":"* * * * *"}`), 400, `{"detail":"Schedule does not exist."}`)
	wantBody(t, e.post("/service/enable-schedule", `{"service_name":"S","name":"zz"}`), 400, `{"detail":"Schedule does not exist."}`)
	wantBody(t, e.post("/service/delete-schedule", `{"service_name":"S","name":"nightly"}`), 200, `{"detail":"Schedule deleted successfully."}`)
	wantBody(t, e.post("/service/delete-schedule", `{"service_name":"S","name":"nightly"}`), 400, `{"detail":"Schedule does not exist."}`)
	e.must(200, "/service/delete-parameter-set", `{"service_name":"S","name":"P"}`)
}

func TestServiceCredentialsAPI(t *testing.T) {
	e, _ := newServiceEnv(t)
	tgt := target(t)
	const secret = "k3y-Th4t-must-not-leak"
	e.must(201, "/service/insert-service", fmt.Sprintf(`{"name":"fn","url":%q,"http_method":"POST","timeout_seconds":5,"credential_header":"x-functions-key","credential_value":%q}`,
		tgt.URL+"/ok", secret))
	e.must(200, "/service/run-service", `{"service_name":"fn"}`)
	var run runJSON
	e.must(200, "/service/get-run", `{"run_id":1}`).JSON(t, &run)
	if !strings.Contains(string(run.ResponseJSON), secret) {
		t.Fatalf("the credential was not sent: %s", run.ResponseJSON)
	}
	for _, path := range []string{"/service/list-services", "/service/list-services-details", "/service/list-parameter-sets", "/service/list-schedules"} {
		r := e.do(map[bool]string{true: http.MethodGet, false: http.MethodPost}[path == "/service/list-services"], path, nil, e.token)
		if r.Status != 200 || strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), "k3y") {
			t.Fatalf("%s leaks the credential: %s", path, r.Body)
		}
	}
	r := e.post("/service/list-services-details", nil)
	wantBody(t, r, 200, fmt.Sprintf(`[{"name":"fn","url":%q,"http_method":"POST","timeout_seconds":5,"credential_header":"x-functions-key","builtin":null,"time_created":"%s"}]`,
		tgt.URL+"/ok", strings.Split(strings.Split(string(r.Body), `"time_created":"`)[1], `"`)[0]))

	for body, field := range map[string]string{
		`{"name":"x","url":"http://a","http_method":"GET","credential_header":"Authorization"}`:                        "credential_value",
		`{"name":"x","url":"http://a","http_method":"GET","credential_value":"v"}`:                                     "credential_header",
		`{"name":"x","url":"http://a","http_method":"GET","credential_header":"Bad Header","credential_value":"v"}`:    "credential_header",
		`{"name":"x","url":"http://a","http_method":"GET","credential_header":"Host","credential_value":"v"}`:          "credential_header",
		`{"name":"x","url":"http://a","http_method":"GET","credential_header":"X-Key","credential_value":"a\r\nb: c"}`: "credential_value",
		`{"name":"x","url":"http://a","http_method":"GET","timeout_seconds":0}`:                                        "timeout_seconds",
		`{"name":"x","url":"http://a","http_method":"GET","timeout_seconds":3601}`:                                     "timeout_seconds",
		`{"name":"","url":"http://a","http_method":"GET"}`:                                                             "name",
		`{"name":"x","url":"","http_method":"GET"}`:                                                                    "url",
	} {
		r := e.post("/service/insert-service", body)
		if r.Status != 422 || !strings.Contains(string(r.Body), `"loc":["body","`+field+`"]`) || strings.Contains(string(r.Body), "a\\r\\nb") {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}

	// Rotate, then remove, the credential.
	wantBody(t, e.post("/service/edit-service", `{"name":"fn","credential_header":"x-functions-key","credential_value":"new"}`), 200, `{"detail":"Service edited successfully."}`)
	e.must(200, "/service/run-service", `{"service_name":"fn"}`)
	e.must(200, "/service/get-run", `{"run_id":2}`).JSON(t, &run)
	if !strings.Contains(string(run.ResponseJSON), `"key":"new"`) {
		t.Fatalf("rotated credential: %s", run.ResponseJSON)
	}
	e.must(200, "/service/edit-service", `{"name":"fn","clear_credential":true,"timeout_seconds":0,"http_method":"PUT"}`)
	e.must(200, "/service/run-service", `{"service_name":"fn"}`)
	e.must(200, "/service/get-run", `{"run_id":3}`).JSON(t, &run)
	if !strings.Contains(string(run.ResponseJSON), `"method":"PUT","body":null,"key":""`) {
		t.Fatalf("cleared credential: %s", run.ResponseJSON)
	}
	e.must(200, "/service/list-services-details", nil)
	wantBody(t, e.post("/service/edit-service", `{"name":"nope","url":"http://a"}`), 400, `{"detail":"Service does not exist."}`)
	if r := e.post("/service/edit-service", `{"name":"fn","clear_credential":true,"credential_header":"a","credential_value":"b"}`); r.Status != 422 {
		t.Fatalf("clear and set: %d", r.Status)
	}
}

// runJSON is a decoded entry of list-runs or get-run.
type runJSON struct {
	ServiceName        string          `json:"service_name"`
	ParameterSetName   *string         `json:"parameter_set_name"`
	Parameters         json.RawMessage `json:"parameters"`
	ResponseJSON       json.RawMessage `json:"response_json"`
	ResponseStatusCode int             `json:"response_status_code"`
	Timestamp          string          `json:"timestamp"`
	RunID              int64           `json:"run_id"`
	Status             string          `json:"status"`
	Error              *string         `json:"error"`
	Note               *string         `json:"note"`
	DurationMS         *int64          `json:"duration_ms"`
	ScheduleName       *string         `json:"schedule_name"`
	TriggeredBy        *string         `json:"triggered_by"`
	Answered           bool            `json:"answered"`
	Finished           *string         `json:"finished"`
}

// scheduleJSON is a decoded entry of list-schedules.
type scheduleJSON struct {
	ServiceName      string  `json:"service_name"`
	Name             string  `json:"name"`
	Cron             string  `json:"cron"`
	TimeZone         string  `json:"timezone"`
	ParameterSetName *string `json:"parameter_set_name"`
	Enabled          bool    `json:"enabled"`
	NextRun          *string `json:"next_run"`
	LastRun          *string `json:"last_run"`
}

// echoBuiltin is a built-in service for the tests.
type echoBuiltin struct{}

func (echoBuiltin) Name() string    { return "echo" }
func (echoBuiltin) Summary() string { return "Echo the parameters" }
func (echoBuiltin) Call(_ context.Context, params json.RawMessage) (any, error) {
	var p map[string]any
	json.Unmarshal(params, &p)
	if p["fail"] == true {
		return nil, dtbase.Errorf(dtbase.EINVALID, "asked to fail")
	}
	return map[string]any{"detail": "echoed", "params": json.RawMessage(params)}, nil
}

func TestBuiltinServicesAndInternalToken(t *testing.T) {
	e, _ := newServiceEnv(t, echoBuiltin{})
	wantBody(t, e.post("/service/builtin/echo", `{"a":1}`), 200, `{"detail":"echoed","params":{"a":1}}`)
	wantDetail(t, e.post("/service/builtin/echo", `{"fail":true}`), 400, "asked to fail")
	if r := e.post("/service/builtin/echo", `[1]`); r.Status != 422 {
		t.Fatalf("non-object parameters: %d", r.Status)
	}
	if r := e.do(http.MethodPost, "/service/builtin/echo", `{}`, e.as(dtbase.RoleViewer)); r.Status != 403 {
		t.Fatalf("viewer: %d", r.Status)
	}

	// Registered as a built-in with a path URL, the runner calls it through
	// the API with its internal token. Users cannot register a path.
	if r := e.post("/service/insert-service", `{"name":"echo","url":"/service/builtin/echo","http_method":"POST"}`); r.Status != 422 {
		t.Fatalf("a user's service with a path URL: %d %s", r.Status, r.Body)
	}
	if err := e.cfg.Store.CreateService(context.Background(), &dtbase.Service{Name: "echo", URL: "/service/builtin/echo", HTTPMethod: "POST", Builtin: "echo"}); err != nil {
		t.Fatal(err)
	}
	e.must(201, "/service/insert-parameter-set", `{"service_name":"echo","name":"p","parameters":{"x":"y"}}`)
	wantBody(t, e.post("/service/run-service", `{"service_name":"echo","parameter_set_name":"p"}`), 200, `{"detail":"Service called successfully.","run_id":1}`)
	var run runJSON
	e.must(200, "/service/get-run", `{"run_id":1}`).JSON(t, &run)
	if run.Status != "succeeded" || string(run.ResponseJSON) != `{"detail":"echoed","params":{"x":"y"}}` {
		t.Fatalf("builtin run: %+v", run)
	}

	// The internal token is an editor: it cannot manage users or refresh.
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": dtbase.ServiceRunnerPrincipal, "token_type": dtbase.ServiceTokenType,
		"exp": time.Now().Add(time.Minute).Unix()}).SignedString(e.cfg.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do(http.MethodGet, "/service/list-services", nil, tok); r.Status != 200 {
		t.Fatalf("internal token read: %d", r.Status)
	}
	if r := e.do(http.MethodGet, "/user/list-users", nil, tok); r.Status != 403 {
		t.Fatalf("internal token on an admin route: %d", r.Status)
	}
	if r := e.do(http.MethodPost, "/auth/refresh", nil, tok); r.Status != 401 {
		t.Fatalf("internal token refreshed: %d", r.Status)
	}
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": dtbase.ServiceRunnerPrincipal, "token_type": dtbase.ServiceTokenType,
		"exp": time.Now().Add(time.Minute).Unix()}).SignedString([]byte("another secret"))
	if r := e.do(http.MethodGet, "/service/list-services", nil, forged); r.Status != 401 {
		t.Fatalf("forged internal token: %d", r.Status)
	}
	expired, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": dtbase.ServiceRunnerPrincipal, "token_type": dtbase.ServiceTokenType,
		"exp": time.Now().Add(-time.Minute).Unix()}).SignedString(e.cfg.Secret)
	wantDetail(t, e.do(http.MethodGet, "/service/list-services", nil, expired), 401, "Token has expired")
}

func TestServiceRoles(t *testing.T) {
	e, _ := newServiceEnv(t)
	e.must(201, "/service/insert-service", `{"name":"S","url":"http://127.0.0.1:9/","http_method":"POST"}`)
	viewer := e.as(dtbase.RoleViewer)
	for _, path := range []string{"/service/list-parameter-sets", "/service/list-runs", "/service/list-schedules", "/service/list-services-details"} {
		if r := e.do(http.MethodPost, path, nil, viewer); r.Status != 200 {
			t.Errorf("viewer %s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := e.do(http.MethodGet, "/service/list-services", nil, viewer); r.Status != 200 {
		t.Errorf("viewer list-services: %d", r.Status)
	}
	for path, body := range map[string]string{
		"/service/insert-service":       `{"name":"T","url":"http://a","http_method":"GET"}`,
		"/service/delete-service":       `{"name":"S"}`,
		"/service/run-service":          `{"service_name":"S"}`,
		"/service/insert-parameter-set": `{"service_name":"S","name":"p","parameters":{}}`,
		"/service/insert-schedule":      `{"service_name":"S","name":"s","cron":"* * * * *"}`,
		"/service/edit-service":         `{"name":"S","url":"http://b"}`,
	} {
		if r := e.do(http.MethodPost, path, body, viewer); r.Status != 403 {
			t.Errorf("viewer %s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := e.do(http.MethodPost, "/service/run-service", `{"service_name":"S"}`, ""); r.Status != 401 {
		t.Errorf("no token: %d", r.Status)
	}
}

// TestServiceBadBodies sends malformed bodies to every /service endpoint
// with a runner configured (the shared scenario test runs without one), so
// that the handlers are reached: never a 500, always a JSON detail.
func TestServiceBadBodies(t *testing.T) {
	wx := &weather.Ingress{OpenMeteoURL: "http://127.0.0.1:9/v1/forecast"}
	e, _ := newServiceEnv(t, echoBuiltin{}, wx)
	wx.Store = e.db
	e.must(201, "/service/insert-service", `{"name":"name","url":"http://127.0.0.1:9/","http_method":"POST","timeout_seconds":1}`)
	e.must(201, "/service/insert-parameter-set", `{"service_name":"name","name":"name","parameters":{}}`)
	long := strings.Repeat("x", 10_000)
	for _, rt := range e.srv.order {
		if !strings.HasPrefix(rt.path, "/service/") || rt.req == nil {
			continue
		}
		bodies := map[string]string{
			"invalid JSON": `{"a": `, "array": `[1, 2]`, "string": `"text"`, "null": `null`, "empty object": `{}`, "empty": ``,
			"bad cron":      `{"service_name":"name","name":"s","cron":"* * *"}`,
			"bad method":    `{"name":"x","url":"http://a","http_method":"patch"}`,
			"odd params":    `{"service_name":"name","parameters":"a string"}`,
			"huge run id":   `{"run_id":1e300}`,
			"negative":      `{"run_id":-1,"limit":-5}`,
			"weather types": `{"latitude":"north","longitude":[1],"dt_from":5,"dt_to":{}}`,
			"weather far":   `{"latitude":1e300,"longitude":0,"dt_from":"-99999999h","dt_to":"+1e9d"}`,
			"weather down":  `{"latitude":51.5,"longitude":0,"dt_from":"-2h","dt_to":"present"}`,
		}
		if rt.req.Kind() == reflect.Struct {
			maps.Copy(bodies, fieldVariants(rt.req, long))
		}
		for name, body := range bodies {
			t.Run(rt.path+"/"+name, func(t *testing.T) {
				r := e.post(rt.path, body)
				// Upstream failures are not client mistakes: a service that does
				// not answer (502/504), a weather API that is down (503).
				upstream := rt.path == "/service/run-service" && (r.Status == 502 || r.Status == 504) ||
					rt.path == "/service/builtin/weather" && name == "weather down" && r.Status == 503
				if r.Status >= 500 && !upstream {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				wantJSONDetail(t, r)
			})
		}
	}
}
