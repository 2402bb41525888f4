package servicerun

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/internal/testwait"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestOutboundRefusals: with the default (no allow-list), services cannot
// reach loopback, private or metadata addresses, whether named by literal,
// by a name that resolves there, or by a redirect.
func TestOutboundRefusals(t *testing.T) {
	db := sqldbtest.Open(t)
	srv := faultServer(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	r := newRunner(t, db, func(o *Options) { o.AllowedHosts = nil })
	cases := []struct{ name, url, err string }{
		{"literal", srv.URL + "/ok", "refused: 127.0.0.1 is a loopback address: refused unless DT_SERVICE_ALLOWED_HOSTS lists it"},
		{"by-name", "http://localhost:" + port + "/ok", `refused: host "localhost" resolves to `},
		{"metadata", "http://169.254.169.254/metadata/identity/oauth2/token", "refused: 169.254.169.254 is the cloud metadata address"},
		{"file", "file:///etc/passwd", `invalid service URL "file:///etc/passwd"`},
		{"user-path", "/service/run-service", "the service URL is a path on this server, which only the built-in services may use"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addService(t, db, dtbase.Service{Name: c.name, URL: c.url})
			run, err := r.Run(context.Background(), dtbase.RunRequest{ServiceName: c.name})
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != dtbase.RunFailed || !strings.HasPrefix(run.Error, c.err) {
				t.Fatalf("got %s %q, want %q", run.Status, run.Error, c.err)
			}
		})
	}

	// A redirect from an allowed server to a name that resolves to a
	// refused address is refused when connecting.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	redirector := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, "http://localhost:"+port+"/ok", http.StatusFound)
	}))
	redirector.Listener.Close()
	redirector.Listener = ln
	redirector.Start()
	defer redirector.Close()
	r2 := newRunner(t, db, func(o *Options) { o.AllowedHosts = []string{"127.0.0.2"} })
	addService(t, db, dtbase.Service{Name: "redirected", URL: redirector.URL})
	run, _ := r2.Run(context.Background(), dtbase.RunRequest{ServiceName: "redirected"})
	if run.Status != dtbase.RunFailed || !strings.Contains(run.Error, `refused: host "localhost" resolves to`) {
		t.Fatalf("redirect to a loopback name: %+v", run)
	}

	// Built-in services reach only their own endpoints.
	r3 := newRunner(t, db, func(o *Options) { o.InternalPaths = []string{"/model/run-arima"} })
	for url, want := range map[string]string{"/model/run-arima": "", "/service/run-service": "only the built-in services may use"} {
		err := r3.CheckServiceURL(url, "arima")
		if want == "" && err != nil || want != "" && (dtbase.ErrorCode(err) != dtbase.EINVALID || !strings.Contains(dtbase.ErrorMessage(err), want)) {
			t.Errorf("built-in URL %s: %v", url, err)
		}
	}
	if err := r3.CheckServiceURL("/model/run-arima", ""); dtbase.ErrorCode(err) != dtbase.EINVALID {
		t.Errorf("a user's service took the internal path: %v", err)
	}
}

// TestRunLoopGuards: a run that a service run of this deployment asks for
// through its own API is refused, as are runs nested too deeply; both are
// recorded as failed.
func TestRunLoopGuards(t *testing.T) {
	db := sqldbtest.Open(t)
	srv := faultServer(t)
	var seen http.Header
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		seen = req.Header.Clone()
		w.Write([]byte(`{}`))
	}))
	defer echo.Close()
	r := newRunner(t, db)
	addService(t, db, dtbase.Service{Name: "ok", URL: srv.URL + "/ok"})
	addService(t, db, dtbase.Service{Name: "echo", URL: echo.URL})

	run, err := r.Run(context.Background(), dtbase.RunRequest{ServiceName: "echo", CallerDepth: 1})
	if err != nil || run.Status != dtbase.RunSucceeded {
		t.Fatalf("nested run: %+v %v", run, err)
	}
	origin := seen.Get(dtbase.HeaderRunOrigin)
	if seen.Get(dtbase.HeaderRunDepth) != "2" || len(origin) != 32 {
		t.Fatalf("loop headers: %v", seen)
	}
	for _, c := range []struct {
		req  dtbase.RunRequest
		want string
	}{
		{dtbase.RunRequest{ServiceName: "ok", CallerDepth: DefaultMaxDepth}, "runs may nest at most 3 deep"},
		{dtbase.RunRequest{ServiceName: "ok", CallerOrigin: origin}, "a service run called run-service on this server's own API"},
	} {
		for _, start := range []func(context.Context, dtbase.RunRequest) (*dtbase.ServiceRun, error){r.Run, r.Start} {
			run, err := start(context.Background(), c.req)
			if dtbase.ErrorCode(err) != dtbase.EINVALID || !strings.Contains(dtbase.ErrorMessage(err), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			stored, _ := db.FindRun(context.Background(), run.ID)
			if stored.Status != dtbase.RunFailed || !strings.Contains(stored.Error, c.want) {
				t.Fatalf("recorded %+v", stored)
			}
		}
	}
	// Another deployment's origin is not refused.
	if run, err := r.Run(context.Background(), dtbase.RunRequest{ServiceName: "ok", CallerOrigin: strings.Repeat("0", 32), CallerDepth: 2}); err != nil || run.Status != dtbase.RunSucceeded {
		t.Fatalf("another deployment: %+v %v", run, err)
	}
}

func waitStatus(t *testing.T, db interface {
	FindRun(context.Context, int64) (*dtbase.ServiceRun, error)
}, id int64, want func(*dtbase.ServiceRun) bool) *dtbase.ServiceRun {
	t.Helper()
	deadline := time.Now().Add(testwait.HangAfter)
	for {
		run, err := db.FindRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if want(run) {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d after %v: %+v", id, testwait.HangAfter, run)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCancel: a synchronous run stops when its caller hangs up; an
// asynchronous one when an editor cancels it, here through another
// runner sharing the database (another replica).
func TestCancel(t *testing.T) {
	db := sqldbtest.Open(t)
	srv := faultServer(t)
	addService(t, db, dtbase.Service{Name: "hang", URL: srv.URL + "/hang", Timeout: time.Hour})
	r := newRunner(t, db, func(o *Options) { o.CancelPoll = 20 * time.Millisecond })
	other := newRunner(t, db)

	ctx, hangUp := context.WithCancel(context.Background())
	done := make(chan *dtbase.ServiceRun, 1)
	go func() {
		run, _ := r.Run(ctx, dtbase.RunRequest{ServiceName: "hang"})
		done <- run
	}()
	testwait.For(t, "the run in flight", func() bool { return r.InFlight() > 0 })
	hangUp()
	if run := <-done; run.Status != dtbase.RunFailed || run.Error != "cancelled: the caller hung up during the run" {
		t.Fatalf("sync run: %+v", run)
	}

	run, err := r.Start(context.Background(), dtbase.RunRequest{ServiceName: "hang"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, db, run.ID, func(r *dtbase.ServiceRun) bool { return r.Status == dtbase.RunRunning })
	if err := other.Cancel(context.Background(), run.ID, "editor@example.org"); err != nil {
		t.Fatal(err)
	}
	got := waitStatus(t, db, run.ID, func(r *dtbase.ServiceRun) bool { return r.Status.Done() })
	if got.Status != dtbase.RunFailed || got.Error != "cancelled by editor@example.org" {
		t.Fatalf("async run: %+v", got)
	}
	if err := other.Cancel(context.Background(), run.ID, "x"); dtbase.ErrorCode(err) != dtbase.ECONFLICT || dtbase.ErrorMessage(err) != "Service run has already finished." {
		t.Fatalf("cancel a finished run: %v", err)
	}
	if err := other.Cancel(context.Background(), 999999, "x"); dtbase.ErrorCode(err) != dtbase.ENOTFOUND || dtbase.ErrorMessage(err) != "Service run does not exist." {
		t.Fatalf("cancel an unknown run: %v", err)
	}
}

// TestRunLimits: runs of one service in flight and per minute are bounded,
// for on-demand and scheduled runs alike.
func TestRunLimits(t *testing.T) {
	db := sqldbtest.Open(t)
	srv := faultServer(t)
	addService(t, db, dtbase.Service{Name: "hang", URL: srv.URL + "/hang", Timeout: time.Hour})
	addService(t, db, dtbase.Service{Name: "ok", URL: srv.URL + "/ok"})
	// A clock that stands still keeps every run in the rate's minute however
	// long the test takes.
	clock := &fakeClock{now: time.Now()}
	r := newRunner(t, db, func(o *Options) { o.Clock = clock; o.MaxRunsInFlight = 2; o.RunsPerMinute = 4 })
	var ids []int64
	for range 2 {
		run, err := r.Start(context.Background(), dtbase.RunRequest{ServiceName: "hang"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	_, err := r.Start(context.Background(), dtbase.RunRequest{ServiceName: "hang"})
	if dtbase.ErrorCode(err) != dtbase.ERATELIMIT || !strings.Contains(dtbase.ErrorMessage(err), "already has 2 runs in flight") {
		t.Fatalf("third run: %v", err)
	}
	if _, err := r.Run(context.Background(), dtbase.RunRequest{ServiceName: "hang"}); dtbase.ErrorCode(err) != dtbase.ERATELIMIT {
		t.Fatalf("third synchronous run: %v", err)
	}
	// Another service is not held up.
	if run, err := r.Run(context.Background(), dtbase.RunRequest{ServiceName: "ok"}); err != nil || run.Status != dtbase.RunSucceeded {
		t.Fatalf("other service: %+v %v", run, err)
	}
	if err := r.Cancel(context.Background(), ids[0], "test"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, db, ids[0], func(r *dtbase.ServiceRun) bool { return r.Status.Done() })
	run, err := r.Start(context.Background(), dtbase.RunRequest{ServiceName: "hang"})
	if err != nil {
		t.Fatalf("after a cancel: %v", err)
	}
	ids = append(ids, run.ID)
	if err := r.Cancel(context.Background(), ids[1], "test"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, db, ids[1], func(r *dtbase.ServiceRun) bool { return r.Status.Done() })
	if _, err := r.Start(context.Background(), dtbase.RunRequest{ServiceName: "hang"}); err != nil {
		t.Fatalf("fourth run: %v", err)
	}
	if err := r.Cancel(context.Background(), ids[2], "test"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, db, ids[2], func(r *dtbase.ServiceRun) bool { return r.Status.Done() })
	// Four runs of hang in this minute, one in flight: the fifth is over
	// the rate.
	_, err = r.Start(context.Background(), dtbase.RunRequest{ServiceName: "hang"})
	if dtbase.ErrorCode(err) != dtbase.ERATELIMIT || !strings.Contains(dtbase.ErrorMessage(err), "4 times in the last minute") {
		t.Fatalf("fifth run: %v", err)
	}
	runs, _ := db.ListRuns(context.Background(), dtbase.RunFilter{})
	for _, run := range runs {
		if !run.Status.Done() {
			r.Cancel(context.Background(), run.ID, "test")
		}
	}
}

// TestScheduledRunLimits: a scheduled run over its service's limit is
// recorded as failed and not called.
func TestScheduledRunLimits(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	srv := faultServer(t)
	clock := &fakeClock{now: time.Date(2024, 7, 1, 10, 0, 30, 0, time.UTC)}
	r := newRunner(t, db, func(o *Options) { o.Clock = clock; o.MaxRunsInFlight = 1 })
	addService(t, db, dtbase.Service{Name: "hang", URL: srv.URL + "/hang", Timeout: time.Hour})
	addSchedule(t, db, "hang", "minutely", "* * * * *", "", nil, clock.Now())
	s := NewScheduler(r, SchedulerOptions{CatchUp: true})
	for _, at := range []time.Time{time.Date(2024, 7, 1, 10, 1, 0, 0, time.UTC), time.Date(2024, 7, 1, 10, 2, 0, 0, time.UTC)} {
		clock.Set(at)
		if _, err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	runs, _ := db.ListRuns(ctx, dtbase.RunFilter{})
	if len(runs) != 2 || runs[0].Status.Done() || runs[1].Status != dtbase.RunFailed ||
		!strings.HasPrefix(runs[1].Error, "not run: Service hang already has 1 runs in flight") {
		t.Fatalf("runs: %+v", runs)
	}
	r.Cancel(ctx, runs[0].ID, "test")
}
