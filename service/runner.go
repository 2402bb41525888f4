// Package service calls dtbase services: on request (synchronously, as the
// original does, or in the background), and on cron schedules that run
// exactly once across replicas sharing a database. Every call is bounded
// by a timeout, honours the standard proxy variables, follows at most ten
// redirects and stores at most a bounded amount of the answer; every call,
// failed or not, is recorded in the run log.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dtbase/dtbase"
)

// Options configure a Runner. Store is required; everything else has a
// default.
type Options struct {
	Store dtbase.ServiceStore

	// Sealer encrypts service credentials; without one, services cannot
	// have credentials.
	Sealer *Sealer
	// TokenSecret signs the short-lived internal tokens the runner sends to
	// dtbase's own endpoints (services whose URL is a path). It is the
	// server's JWT secret, so the API accepts them.
	TokenSecret []byte
	// SelfURL is the base URL of this server (http://127.0.0.1:5000), used
	// for services whose URL is a path. It can be set later with SetSelfURL.
	SelfURL string

	// AllowedHosts restricts the hosts services may be called on: exact
	// names, "*.example.com" suffixes and CIDR ranges for IP addresses.
	// Empty allows every host, private and loopback addresses included.
	AllowedHosts []string
	// DefaultTimeout bounds calls to services without their own timeout;
	// dtbase.DefaultServiceTimeout when zero.
	DefaultTimeout time.Duration
	// MaxResponseBytes is the largest answer stored; 1 MiB when zero.
	// Longer answers are cut off there and recorded without their body.
	MaxResponseBytes int64
	// Proxy chooses the proxy of each call; http.ProxyFromEnvironment when
	// nil, so HTTP_PROXY, HTTPS_PROXY and NO_PROXY apply.
	Proxy func(*http.Request) (*url.URL, error)
	// MaxConcurrent bounds background runs (asynchronous and scheduled)
	// in flight at once; 32 when zero. Further runs wait as pending.
	MaxConcurrent int
	// UserAgent is sent with every call.
	UserAgent string

	Clock  Clock
	Logger *slog.Logger
}

// Runner calls services and records their runs. It implements
// dtbase.ServiceRunner.
type Runner struct {
	store        dtbase.ServiceStore
	sealer       *Sealer
	tokenSecret  []byte
	selfURL      atomic.Pointer[url.URL]
	selfKnown    chan struct{}
	selfOnce     sync.Once
	allowed      hostList
	timeout      time.Duration
	maxBody      int64
	client       *http.Client
	userAgent    string
	clock        Clock
	log          *slog.Logger
	slots        chan struct{}
	builtins     []dtbase.BuiltinService
	wg           sync.WaitGroup
	bgCtx        context.Context
	cancelBg     context.CancelFunc
	mu           sync.Mutex // guards stopped and the start of every tracked run
	stopped      bool
	inFlightRuns atomic.Int64
}

var _ dtbase.ServiceRunner = (*Runner)(nil)

// NewRunner returns a runner. It fails only on an invalid AllowedHosts
// entry or SelfURL.
func NewRunner(o Options) (*Runner, error) {
	if o.Store == nil {
		return nil, errors.New("service runner: no store")
	}
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = dtbase.DefaultServiceTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 1 << 20
	}
	if o.Proxy == nil {
		o.Proxy = http.ProxyFromEnvironment
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 32
	}
	if o.UserAgent == "" {
		o.UserAgent = "dtbase-service-runner"
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	allowed, err := parseHostList(o.AllowedHosts)
	if err != nil {
		return nil, err
	}
	r := &Runner{store: o.Store, sealer: o.Sealer, tokenSecret: o.TokenSecret, allowed: allowed,
		timeout: o.DefaultTimeout, maxBody: o.MaxResponseBytes, userAgent: o.UserAgent, clock: o.Clock,
		log: o.Logger, slots: make(chan struct{}, o.MaxConcurrent), selfKnown: make(chan struct{})}
	r.bgCtx, r.cancelBg = context.WithCancel(context.Background())
	r.client = newClient(o.Proxy, allowed)
	if o.SelfURL != "" {
		if err := r.SetSelfURL(o.SelfURL); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// SetSelfURL sets the base URL of this server, for services whose URL is a
// path. The server calls it once it knows the address it listens on.
func (r *Runner) SetSelfURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("service runner: self URL %q must be an absolute http(s) URL", base)
	}
	u.Path, u.RawQuery = "", ""
	r.selfURL.Store(u)
	r.selfOnce.Do(func() { close(r.selfKnown) })
	return nil
}

// SelfURLKnown is closed once the server's own address is set, so that
// schedules of built-in services do not run before it can be called.
func (r *Runner) SelfURLKnown() <-chan struct{} { return r.selfKnown }

// RegisterBuiltin adds a service dtbase provides itself. Call it before the
// API server is built, which serves the built-ins it finds.
func (r *Runner) RegisterBuiltin(b dtbase.BuiltinService) { r.builtins = append(r.builtins, b) }

// Builtins returns the services dtbase provides itself.
func (r *Runner) Builtins() []dtbase.BuiltinService { return r.builtins }

// SealCredential encrypts a credential value for storage.
func (r *Runner) SealCredential(value string) ([]byte, error) {
	if r.sealer == nil {
		return nil, dtbase.Errorf(dtbase.EUNAVAILABLE, "Service credentials are not available: this server has no secret key")
	}
	return r.sealer.Seal([]byte(value)), nil
}

// CheckCron checks a cron expression in a time zone and returns it
// normalised with its next time after after; EINVALID naming the problem.
func (r *Runner) CheckCron(expr, timeZone string, after time.Time) (dtbase.CronSpec, error) {
	return CheckCron(expr, timeZone, after)
}

// Run calls a service now and returns the recorded run once the call has
// ended. The call is not cut short when ctx is cancelled (a client that
// hangs up): it runs to its end or its timeout and is recorded either way.
func (r *Runner) Run(ctx context.Context, req dtbase.RunRequest) (*dtbase.ServiceRun, error) {
	if !r.track() {
		return nil, errShuttingDown
	}
	defer r.wg.Done()
	run, svc, err := r.store.StartRun(ctx, dtbase.RunStart{ServiceName: req.ServiceName, ParameterSetName: req.ParameterSetName,
		Parameters: req.Parameters, Status: dtbase.RunRunning, TriggeredBy: req.TriggeredBy, Timestamp: r.clock.Now()})
	if err != nil {
		return nil, err
	}
	// The caller hanging up does not cut the call short; stopping the
	// runner does.
	callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(r.bgCtx, cancel)()
	r.execute(callCtx, run, svc, nil)
	return run, nil
}

var errShuttingDown = dtbase.Errorf(dtbase.EUNAVAILABLE, "The server is shutting down; try again on another replica or later")

// track counts a run that is starting, unless the runner is stopping.
func (r *Runner) track() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return false
	}
	r.wg.Add(1)
	return true
}

// Start records a pending run, calls the service in the background and
// returns the run at once.
func (r *Runner) Start(ctx context.Context, req dtbase.RunRequest) (*dtbase.ServiceRun, error) {
	r.mu.Lock()
	stopped := r.stopped
	r.mu.Unlock()
	if stopped {
		return nil, errShuttingDown
	}
	run, svc, err := r.store.StartRun(ctx, dtbase.RunStart{ServiceName: req.ServiceName, ParameterSetName: req.ParameterSetName,
		Parameters: req.Parameters, Status: dtbase.RunPending, TriggeredBy: req.TriggeredBy, Timestamp: r.clock.Now()})
	if err != nil {
		return nil, err
	}
	copied := *run
	r.background(run, svc, nil)
	return &copied, nil
}

// background calls a recorded run's service in a goroutine, when a slot is
// free, and records the outcome.
func (r *Runner) background(run *dtbase.ServiceRun, svc *dtbase.Service, extra http.Header) {
	if !r.track() {
		r.finish(run, dtbase.RunOutcome{Status: dtbase.RunFailed, Error: "interrupted: the server stopped before the run started"})
		return
	}
	go func() {
		defer r.wg.Done()
		select {
		case r.slots <- struct{}{}:
		case <-r.bgCtx.Done():
			r.finish(run, dtbase.RunOutcome{Status: dtbase.RunFailed, Error: "interrupted: the server stopped before the run started"})
			return
		}
		defer func() { <-r.slots }()
		if run.Status == dtbase.RunPending {
			if err := r.store.SetRunRunning(r.bgCtx, run.ID); err != nil {
				r.log.Warn("service run: mark running", "run_id", run.ID, "err", err)
			}
		}
		r.execute(r.bgCtx, run, svc, extra)
	}()
}

// execute calls the service and records the outcome on run.
func (r *Runner) execute(ctx context.Context, run *dtbase.ServiceRun, svc *dtbase.Service, extra http.Header) {
	r.inFlightRuns.Add(1)
	defer r.inFlightRuns.Add(-1)
	o := r.call(ctx, svc, run, extra)
	r.finish(run, o)
	level := slog.LevelInfo
	if o.Status == dtbase.RunFailed {
		level = slog.LevelWarn
	}
	attrs := []any{"service", svc.Name, "run_id", run.ID, "status", o.Status, "duration_ms", o.Duration.Milliseconds()}
	if o.StatusCode != nil {
		attrs = append(attrs, "response_status", *o.StatusCode)
	}
	if o.Error != "" {
		attrs = append(attrs, "error", o.Error)
	}
	r.log.Log(ctx, level, "service run", attrs...)
}

// finish records an outcome, even when the run's context has ended.
func (r *Runner) finish(run *dtbase.ServiceRun, o dtbase.RunOutcome) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.store.FinishRun(ctx, run.ID, o); err != nil && dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		r.log.Error("service run: record outcome", "run_id", run.ID, "err", err)
	}
	run.Status, run.StatusCode, run.ResponseJSON, run.Error, run.Note, run.TimedOut = o.Status, o.StatusCode, o.ResponseJSON, o.Error, o.Note, o.TimedOut
	d := o.Duration
	run.Duration = &d
}

// InFlight returns the number of runs being called right now.
func (r *Runner) InFlight() int { return int(r.inFlightRuns.Load()) }

// Wait blocks until every run started so far has been recorded.
func (r *Runner) Wait() { r.wg.Wait() }

// Stop refuses new background runs and waits for those in flight until ctx
// ends; then it cancels them, and each is recorded as interrupted.
func (r *Runner) Stop(ctx context.Context) {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.log.Warn("service runs still in flight at shutdown; interrupting them", "in_flight", r.InFlight())
		r.cancelBg()
		<-done
	}
	r.cancelBg()
}
