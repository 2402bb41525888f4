package servicerun

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/internal/testwait"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func ptr[T any](v T) *T { return &v }

var quiet = slog.New(slog.DiscardHandler)

func newRunner(t *testing.T, db *sqldb.DB, edit ...func(*Options)) *Runner {
	t.Helper()
	sealer, err := NewSealer([]byte("test key"))
	if err != nil {
		t.Fatal(err)
	}
	// The test services listen on loopback, which only an allow-list opens.
	o := Options{Store: db, Sealer: sealer, TokenSecret: []byte("jwt secret"), Logger: quiet, AllowedHosts: []string{"127.0.0.1"}}
	for _, e := range edit {
		e(&o)
	}
	r, err := NewRunner(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testwait.HangAfter)
		defer cancel()
		r.Stop(ctx)
	})
	return r
}

func addService(t *testing.T, db *sqldb.DB, s dtbase.Service) {
	t.Helper()
	if s.HTTPMethod == "" {
		s.HTTPMethod = "POST"
	}
	if err := db.CreateService(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
}

// faultServer serves the misbehaving services of the faults tests.
func faultServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		body, _ := io.ReadAll(r.Body)
		w.Write([]byte(`{"got": ` + orNull(string(body)) + `, "method": "` + r.Method + `"}`))
	})
	mux.HandleFunc("/array", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("[1, 2.0, \"x\"]\n")) })
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<html><body>Hello</body></html>"))
	})
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		w.Write([]byte(`{"error":"boom"}`))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the caller hanging up.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat("[1,2,3,4,5,6,7,8]", 4096))
		w.Write([]byte("["))
		for written := 0; written < 50<<20; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the runner hung up, as it should
			}
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/to-ok", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// refusedURL returns an address nothing listens on.
func refusedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

func TestRunOutcomes(t *testing.T) {
	db := sqldbtest.Open(t)
	r := newRunner(t, db, func(o *Options) { o.MaxResponseBytes = 1 << 20 })
	srv := faultServer(t)
	cases := []struct {
		name, url, method string
		timeout           time.Duration
		params            string
		status            dtbase.RunStatus
		code              int // 0: none
		response          string
		errText, note     string
		timedOut          bool
	}{
		{name: "ok", url: srv.URL + "/ok", params: `{"a": 1.0}`, status: dtbase.RunSucceeded, code: 200, response: `{"got": {"a": 1.0}, "method": "POST"}`},
		{name: "get-with-body", url: srv.URL + "/ok", method: "GET", params: `{"a":1}`, status: dtbase.RunSucceeded, code: 200, response: `{"got": {"a":1}, "method": "GET"}`},
		{name: "no-body", url: srv.URL + "/ok", method: "DELETE", status: dtbase.RunSucceeded, code: 200, response: `{"got": null, "method": "DELETE"}`},
		{name: "array", url: srv.URL + "/array", status: dtbase.RunSucceeded, code: 200, response: `[1, 2.0, "x"]`},
		{name: "html", url: srv.URL + "/html", status: dtbase.RunSucceeded, code: 200, note: "the answer is not JSON (text/html, 31 bytes); its body is not stored"},
		{name: "500", url: srv.URL + "/500", status: dtbase.RunFailed, code: 500, response: `{"error":"boom"}`, errText: "the service answered 500 Internal Server Error"},
		{name: "hang", url: srv.URL + "/hang", timeout: time.Second, status: dtbase.RunFailed, errText: "timed out after 1s", timedOut: true},
		{name: "refused", url: refusedURL(t), status: dtbase.RunFailed, errText: "cannot connect: "},
		{name: "big", url: srv.URL + "/big", status: dtbase.RunSucceeded, code: 200, note: "the answer is larger than 1 MiB and was cut off there; its body is not stored"},
		{name: "loop", url: srv.URL + "/loop", status: dtbase.RunFailed, errText: "too many redirects (stopped after 10)"},
		{name: "redirect", url: srv.URL + "/to-ok", params: `{"b":2}`, status: dtbase.RunSucceeded, code: 200, response: `{"got": {"b":2}, "method": "POST"}`},
		{name: "bad-url", url: "not a url", status: dtbase.RunFailed, errText: `invalid service URL "not a url"`},
		{name: "no-such-host", url: "http://no-such-host.invalid/", status: dtbase.RunFailed, errText: `cannot resolve host "no-such-host.invalid"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "POST"
			}
			addService(t, db, dtbase.Service{Name: c.name, URL: c.url, HTTPMethod: method, Timeout: c.timeout})
			var params json.RawMessage
			if c.params != "" {
				params = json.RawMessage(c.params)
			}
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			run, err := r.Run(context.Background(), dtbase.RunRequest{ServiceName: c.name, Parameters: params, TriggeredBy: "test"})
			if err != nil {
				t.Fatal(err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			// Reading the whole 50 MB answer would allocate well over 50 MiB;
			// the bound leaves room for whatever else the process does.
			if grown := after.TotalAlloc - before.TotalAlloc; c.name == "big" && grown > 40<<20 {
				t.Errorf("the call allocated %d MiB; a stored answer is bounded by 1 MiB", grown>>20)
			}
			stored, err := db.FindRun(context.Background(), run.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range []*dtbase.ServiceRun{run, stored} {
				if got.Status != c.status {
					t.Errorf("status %s, want %s (error %q)", got.Status, c.status, got.Error)
				}
				if c.code == 0 && got.StatusCode != nil || c.code != 0 && (got.StatusCode == nil || *got.StatusCode != c.code) {
					t.Errorf("status code %v, want %d", got.StatusCode, c.code)
				}
				if string(got.ResponseJSON) != c.response {
					t.Errorf("response %q, want %q", got.ResponseJSON, c.response)
				}
				if !strings.HasPrefix(got.Error, c.errText) || (c.errText == "") != (got.Error == "") {
					t.Errorf("error %q, want prefix %q", got.Error, c.errText)
				}
				if got.Note != c.note {
					t.Errorf("note %q, want %q", got.Note, c.note)
				}
				if got.TimedOut != c.timedOut {
					t.Errorf("timed out %v", got.TimedOut)
				}
				if got.Duration == nil {
					t.Errorf("no duration")
				}
			}
		})
	}
}

func TestCredentialsAndHeaders(t *testing.T) {
	db := sqldbtest.Open(t)
	r := newRunner(t, db)
	var mu sync.Mutex
	seen := map[string]http.Header{}
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			seen[name] = req.Header.Clone()
			mu.Unlock()
			w.Write([]byte(`{}`))
		}
	}
	other := httptest.NewServer(record("other"))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/svc", record("svc"))
	mux.HandleFunc("/away", func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/x", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	sealed, err := r.SealCredential("s3cret-key")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "s3cret") {
		t.Fatal("the credential is stored in clear")
	}
	cred := &dtbase.ServiceCredential{Header: "x-functions-key", Sealed: sealed}
	addService(t, db, dtbase.Service{Name: "svc", URL: srv.URL + "/svc", Credential: cred})
	addService(t, db, dtbase.Service{Name: "away", URL: srv.URL + "/away", Credential: cred})
	for _, name := range []string{"svc", "away"} {
		run, err := r.Run(context.Background(), dtbase.RunRequest{ServiceName: name})
		if err != nil || run.Status != dtbase.RunSucceeded {
			t.Fatalf("%s: %+v %v", name, run, err)
		}
	}
	if got := seen["svc"].Get("x-functions-key"); got != "s3cret-key" {
		t.Errorf("credential header %q", got)
	}
	if seen["svc"].Get(HeaderRunID) == "" || seen["svc"].Get("User-Agent") != "dtbase-service-runner" {
		t.Errorf("headers %v", seen["svc"])
	}
	if got := seen["other"].Get("x-functions-key"); got != "" {
		t.Errorf("the credential followed a redirect to another host: %q", got)
	}

	// A credential sealed with another key is a failed run, not a leak or a crash.
	other2, _ := NewSealer([]byte("another key"))
	addService(t, db, dtbase.Service{Name: "wrongkey", URL: srv.URL + "/svc",
		Credential: &dtbase.ServiceCredential{Header: "Authorization", Sealed: other2.Seal([]byte("Bearer x"))}})
	run, _ := r.Run(context.Background(), dtbase.RunRequest{ServiceName: "wrongkey"})
	if run.Status != dtbase.RunFailed || !strings.Contains(run.Error, "cannot be opened") {
		t.Errorf("wrong key: %+v", run)
	}
}

func TestSealer(t *testing.T) {
	s, _ := NewSealer([]byte("k"))
	a, b := s.Seal([]byte("v")), s.Seal([]byte("v"))
	if string(a) == string(b) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	if got, err := s.Open(a); err != nil || string(got) != "v" {
		t.Fatalf("open: %q %v", got, err)
	}
	a[len(a)-1] ^= 1
	if _, err := s.Open(a); err == nil {
		t.Fatal("a damaged value opened")
	}
	if _, err := s.Open([]byte{1, 2}); err == nil {
		t.Fatal("garbage opened")
	}
	if _, err := NewSealer(nil); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestInternalCalls(t *testing.T) {
	db := sqldbtest.Open(t)
	var got atomic.Pointer[http.Request]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got.Store(req)
		w.Write([]byte(`{"detail":"ok"}`))
	}))
	defer srv.Close()
	r := newRunner(t, db, func(o *Options) { o.InternalPaths = []string{"/service/builtin/x"} })
	addService(t, db, dtbase.Service{Name: "builtin", URL: "/service/builtin/x?y=1", Builtin: "x"})
	run, _ := r.Run(context.Background(), dtbase.RunRequest{ServiceName: "builtin"})
	if run.Status != dtbase.RunFailed || !strings.Contains(run.Error, "own address is not known") {
		t.Fatalf("without a self URL: %+v", run)
	}
	if err := r.SetSelfURL(srv.URL); err != nil {
		t.Fatal(err)
	}
	run, _ = r.Run(context.Background(), dtbase.RunRequest{ServiceName: "builtin"})
	if run.Status != dtbase.RunSucceeded {
		t.Fatalf("internal call: %+v", run)
	}
	req := got.Load()
	if req.URL.Path != "/service/builtin/x" || req.URL.RawQuery != "y=1" {
		t.Errorf("called %s", req.URL)
	}
	token := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return []byte("jwt secret"), nil },
		jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatalf("internal token: %v", err)
	}
	exp, _ := claims.GetExpirationTime()
	if claims["sub"] != dtbase.ServiceRunnerPrincipal || claims["token_type"] != dtbase.ServiceTokenType ||
		time.Until(exp.Time) > 2*time.Minute || time.Until(exp.Time) < time.Minute {
		t.Errorf("claims %v", claims)
	}
}

func TestProxyAndAllowList(t *testing.T) {
	db := sqldbtest.Open(t)
	var proxied atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		proxied.Store(req.URL.String()) // a proxy sees the absolute URL
		w.Write([]byte(`{"via":"proxy"}`))
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	srv := faultServer(t)
	r := newRunner(t, db, func(o *Options) {
		o.Proxy = http.ProxyURL(proxyURL)
		o.AllowedHosts = []string{"*.example.org", "127.0.0.0/8"}
	})
	addService(t, db, dtbase.Service{Name: "far", URL: "http://api.example.org/run"})
	run, _ := r.Run(context.Background(), dtbase.RunRequest{ServiceName: "far"})
	if run.Status != dtbase.RunSucceeded || string(run.ResponseJSON) != `{"via":"proxy"}` || proxied.Load() != "http://api.example.org/run" {
		t.Fatalf("through the proxy: %+v %v", run, proxied.Load())
	}
	addService(t, db, dtbase.Service{Name: "blocked", URL: "http://10.1.2.3/"})
	run, _ = r.Run(context.Background(), dtbase.RunRequest{ServiceName: "blocked"})
	if run.Status != dtbase.RunFailed || run.Error != `refused: 10.1.2.3 is a private address (RFC 1918): refused unless DT_SERVICE_ALLOWED_HOSTS lists it` {
		t.Fatalf("blocked host: %+v", run)
	}

	// A redirect to a refused address is refused too.
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, "http://169.254.169.254/metadata/identity/oauth2/token", http.StatusFound)
	})
	redirector := httptest.NewServer(mux)
	defer redirector.Close()
	r2 := newRunner(t, db, func(o *Options) { o.AllowedHosts = []string{"127.0.0.1"} })
	addService(t, db, dtbase.Service{Name: "redirector", URL: redirector.URL})
	run, _ = r2.Run(context.Background(), dtbase.RunRequest{ServiceName: "redirector"})
	if run.Status != dtbase.RunFailed || !strings.Contains(run.Error, `refused: 169.254.169.254 is the cloud metadata address`) {
		t.Fatalf("redirect off the list: %+v", run)
	}
	addService(t, db, dtbase.Service{Name: "local", URL: srv.URL + "/ok"})
	run, _ = r2.Run(context.Background(), dtbase.RunRequest{ServiceName: "local"})
	if run.Status != dtbase.RunSucceeded {
		t.Fatalf("allowed host: %+v", run)
	}

}

func TestAsyncRunAndStop(t *testing.T) {
	db := sqldbtest.Open(t)
	srv := faultServer(t)
	r := newRunner(t, db)
	addService(t, db, dtbase.Service{Name: "ok", URL: srv.URL + "/ok"})
	addService(t, db, dtbase.Service{Name: "hang", URL: srv.URL + "/hang", Timeout: time.Hour})
	run, err := r.Start(context.Background(), dtbase.RunRequest{ServiceName: "ok", Parameters: json.RawMessage(`{"x":1}`)})
	if err != nil || run.Status != dtbase.RunPending || run.ID == 0 {
		t.Fatalf("start: %+v %v", run, err)
	}
	_, err = r.Start(context.Background(), dtbase.RunRequest{ServiceName: "nope"})
	if dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("unknown service: %v", err)
	}
	r.Wait()
	got, _ := db.FindRun(context.Background(), run.ID)
	if got.Status != dtbase.RunSucceeded || string(got.ResponseJSON) != `{"got": {"x":1}, "method": "POST"}` {
		t.Fatalf("async run: %+v", got)
	}

	hung, _ := r.Start(context.Background(), dtbase.RunRequest{ServiceName: "hang"})
	syncDone := make(chan *dtbase.ServiceRun, 1)
	go func() {
		run, _ := r.Run(context.Background(), dtbase.RunRequest{ServiceName: "hang"})
		syncDone <- run
	}()
	testwait.For(t, "both hanging runs in flight", func() bool { return r.InFlight() >= 2 })
	// Stop's context expires while the runs hang: Stop must cancel them and
	// return rather than wait for them (a hang, not a slow machine, fails).
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	stopped := make(chan struct{})
	go func() { r.Stop(ctx); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(testwait.HangAfter):
		t.Fatalf("Stop did not return in %v after its context expired", testwait.HangAfter)
	}
	got, _ = db.FindRun(context.Background(), hung.ID)
	if got.Status != dtbase.RunFailed || got.Error != "interrupted: the server stopped during the run" {
		t.Fatalf("interrupted run: %+v", got)
	}
	if run := <-syncDone; run.Status != dtbase.RunFailed || run.Error != "interrupted: the server stopped during the run" {
		t.Fatalf("interrupted synchronous run: %+v", run)
	}
	if _, err := r.Start(context.Background(), dtbase.RunRequest{ServiceName: "ok"}); dtbase.ErrorCode(err) != dtbase.EUNAVAILABLE {
		t.Fatalf("start after stop: %v", err)
	}
	if _, err := r.Run(context.Background(), dtbase.RunRequest{ServiceName: "ok"}); dtbase.ErrorCode(err) != dtbase.EUNAVAILABLE {
		t.Fatalf("run after stop: %v", err)
	}
}

func TestCheckCron(t *testing.T) {
	after := time.Date(2024, 7, 1, 10, 0, 30, 0, time.UTC)
	cases := []struct {
		cron, tz         string
		wantCron, wantTZ string
		next             time.Time
		err              string
	}{
		{cron: "*/5 * * * *", wantCron: "*/5 * * * *", wantTZ: "UTC", next: time.Date(2024, 7, 1, 10, 5, 0, 0, time.UTC)},
		{cron: " */1  * * * * * ", wantCron: "*/1 * * * * *", wantTZ: "UTC", next: after.Add(time.Second)},
		{cron: "@hourly", wantCron: "@hourly", wantTZ: "UTC", next: time.Date(2024, 7, 1, 11, 0, 0, 0, time.UTC)},
		{cron: "@every 90s", wantCron: "@every 90s", wantTZ: "UTC", next: after.Add(90 * time.Second)},
		{cron: "0 9 * * *", tz: "Europe/London", wantCron: "0 9 * * *", wantTZ: "Europe/London", next: time.Date(2024, 7, 2, 8, 0, 0, 0, time.UTC)},
		{cron: "CRON_TZ=Asia/Tokyo 30 4 * * *", wantCron: "30 4 * * *", wantTZ: "Asia/Tokyo", next: time.Date(2024, 7, 1, 19, 30, 0, 0, time.UTC)},
		{cron: "TZ=Asia/Tokyo 30 4 * * *", tz: "Asia/Tokyo", wantCron: "30 4 * * *", wantTZ: "Asia/Tokyo", next: time.Date(2024, 7, 1, 19, 30, 0, 0, time.UTC)},
		{cron: "", err: "Invalid cron expression: it is empty"},
		{cron: "every day", err: `Invalid cron expression "every day": expected 5 to 6 fields, found 2: [every day]`},
		{cron: "61 * * * *", err: `Invalid cron expression "61 * * * *": end of range (61) above maximum (59): 61`},
		{cron: "0 * * * *", tz: "Mars/Olympus", err: `Unknown time zone "Mars/Olympus": use an IANA name such as UTC or Europe/London`},
		{cron: "0 * * * *", tz: "Local", err: `Unknown time zone "Local": use an IANA name such as UTC or Europe/London`},
		{cron: "CRON_TZ=Nowhere/Land 0 * * * *", err: `Unknown time zone "Nowhere/Land": use an IANA name such as UTC or Europe/London`},
		{cron: "CRON_TZ=Asia/Tokyo 0 * * * *", tz: "UTC", err: `The cron expression names time zone "Asia/Tokyo" and timezone is "UTC": give one`},
		{cron: "0 0 30 2 *", err: `Cron expression "0 0 30 2 *" never fires`},
	}
	for _, c := range cases {
		t.Run(c.cron, func(t *testing.T) {
			spec, err := CheckCron(c.cron, c.tz, after)
			if c.err != "" {
				if dtbase.ErrorCode(err) != dtbase.EINVALID || dtbase.ErrorMessage(err) != c.err {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Cron != c.wantCron || spec.TimeZone != c.wantTZ || !spec.Next.Equal(c.next) {
				t.Fatalf("got %+v, want %q %q %v", spec, c.wantCron, c.wantTZ, c.next)
			}
		})
	}
}
