// Package servicerun calls dtbase services (the domain's registered HTTP
// endpoints, dtbase.Service); it is named for what it does to them, so that
// "service" alone always means the domain type. Its Runner calls services
// and its Scheduler starts their cron schedules.
//
// Services are called on request (synchronously, as the
// original does, or in the background), and on cron schedules that run
// exactly once across replicas sharing a database. Every call goes through
// the guarded outbound client (no loopback, private or metadata addresses
// unless allow-listed), is bounded by a timeout, honours the standard proxy
// variables, follows at most ten redirects and stores at most a bounded
// amount of the answer; every call, failed or not, is recorded in the run
// log. Runs are bounded per service (in flight, per minute), in nesting
// depth, and can be cancelled from any replica.
package servicerun

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/outbound"
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
	// for built-in services, whose URL is a path. It can be set later with
	// SetSelfURL.
	SelfURL string
	// InternalPaths are the endpoints of this server that built-in
	// services may name as their URL, besides /service/builtin/<name> of
	// each registered built-in. No other path is ever called.
	InternalPaths []string

	// AllowedHosts may be called although they are loopback, private,
	// link-local or other special-purpose addresses, which are refused by
	// default: names, "*.example.com" suffixes, IP addresses and CIDR
	// ranges.
	AllowedHosts []string
	// MaxRunsInFlight bounds the runs of one service pending or running at
	// once, across replicas; 0 does not limit.
	MaxRunsInFlight int
	// RunsPerMinute bounds the runs of one service started in a minute,
	// across replicas; 0 does not limit.
	RunsPerMinute int
	// MaxDepth is how deeply runs may nest (a service run starting another
	// through run-service); DefaultMaxDepth when zero.
	MaxDepth int
	// CancelPoll is how often the runner looks in the run log for
	// cancellations of its runs requested on other replicas; 2 s when zero.
	CancelPoll time.Duration
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
	guard        *outbound.Guard
	internal     map[string]bool // paths built-in services may call
	limits       dtbase.RunLimits
	maxDepth     int
	origin       string // HeaderRunOrigin of this deployment
	timeout      time.Duration
	maxBody      int64
	client       *http.Client
	selfClient   *http.Client
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

	cancelPoll time.Duration
	activeMu   sync.Mutex
	active     map[int64]context.CancelCauseFunc // runs of this process that can be cancelled
	polling    bool
}

// DefaultMaxDepth is how deeply service runs may nest by default: a run
// started by a person or a schedule has depth 1.
const DefaultMaxDepth = 3

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
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.CancelPoll <= 0 {
		o.CancelPoll = 2 * time.Second
	}
	guard, err := outbound.New(outbound.Options{AllowedHosts: o.AllowedHosts, Setting: "DT_SERVICE_ALLOWED_HOSTS"})
	if err != nil {
		return nil, err
	}
	r := &Runner{store: o.Store, sealer: o.Sealer, tokenSecret: o.TokenSecret, guard: guard, internal: map[string]bool{},
		limits: dtbase.RunLimits{InFlight: o.MaxRunsInFlight, PerMinute: o.RunsPerMinute}, maxDepth: o.MaxDepth,
		origin: runOrigin(o.TokenSecret), timeout: o.DefaultTimeout, maxBody: o.MaxResponseBytes, userAgent: o.UserAgent,
		clock: o.Clock, log: o.Logger, slots: make(chan struct{}, o.MaxConcurrent), selfKnown: make(chan struct{}),
		cancelPoll: o.CancelPoll, active: map[int64]context.CancelCauseFunc{}}
	for _, p := range o.InternalPaths {
		r.internal[p] = true
	}
	r.bgCtx, r.cancelBg = context.WithCancel(context.Background())
	r.client = newClient(guard, o.Proxy)
	r.selfClient = newSelfClient()
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

// runOrigin derives this deployment's HeaderRunOrigin from the secret its
// replicas share, so that each recognises the others' calls; without one,
// it is random (one process).
func runOrigin(secret []byte) string {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("dtbase service run origin"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// RegisterBuiltin adds a service dtbase provides itself. Call it before the
// API server is built, which serves the built-ins it finds.
func (r *Runner) RegisterBuiltin(b dtbase.BuiltinService) {
	r.builtins = append(r.builtins, b)
	r.internal["/service/builtin/"+b.Name()] = true
}

// CheckServiceURL checks a URL before it is stored for a service: an
// absolute http(s) URL that the guard does not refuse, or, for a built-in
// service only, one of this server's built-in endpoints. EINVALID says why.
func (r *Runner) CheckServiceURL(raw, builtin string) error {
	raw = strings.TrimSpace(raw)
	if isPath(raw) {
		if builtin != "" && r.isInternal(raw) {
			return nil
		}
		return dtbase.Errorf(dtbase.EINVALID, "%s", msgPathURL)
	}
	if err := r.guard.CheckURL(raw); err != nil {
		return dtbase.Errorf(dtbase.EINVALID, "The service URL cannot be called: %v", err)
	}
	return nil
}

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
// ended. The caller hanging up (ctx cancelled) stops the call, as does
// Cancel from any replica; the run is recorded as failed saying why.
func (r *Runner) Run(ctx context.Context, req dtbase.RunRequest) (*dtbase.ServiceRun, error) {
	if !r.track() {
		return nil, errShuttingDown
	}
	defer r.wg.Done()
	run, svc, depth, err := r.record(ctx, req, dtbase.RunRunning)
	if err != nil {
		return run, err
	}
	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(r.bgCtx, func() { cancel(errStopped) })()
	r.activate(run.ID, cancel)
	defer r.deactivate(run.ID)
	r.execute(callCtx, run, svc, nil, depth)
	return run, nil
}

// record stores a requested run with status, or as refused (the run and
// an EINVALID error) when refusal says so.
func (r *Runner) record(ctx context.Context, req dtbase.RunRequest, status dtbase.RunStatus) (*dtbase.ServiceRun, *dtbase.Service, int, error) {
	depth, refused := r.refusal(req)
	run, svc, err := r.store.StartRun(ctx, dtbase.RunStart{ServiceName: req.ServiceName, ParameterSetName: req.ParameterSetName,
		Parameters: req.Parameters, Status: status, TriggeredBy: req.TriggeredBy, Timestamp: r.clock.Now(),
		Limits: r.limits, Refused: refused})
	if err != nil {
		return nil, nil, 0, err
	}
	if refused != "" {
		r.log.Warn("service run refused", "service", svc.Name, "run_id", run.ID, "error", refused)
		return run, nil, depth, dtbase.Errorf(dtbase.EINVALID, "Service run %d refused: %s", run.ID, refused)
	}
	return run, svc, depth, nil
}

// refusal returns the depth of a requested run, and why it is refused
// ("" when it is not): a run of this deployment calling its own
// run-service, or runs nested too deeply.
func (r *Runner) refusal(req dtbase.RunRequest) (int, string) {
	depth := max(req.CallerDepth, 0) + 1
	switch {
	case req.CallerOrigin != "" && hmac.Equal([]byte(req.CallerOrigin), []byte(r.origin)):
		return depth, "a service run called run-service on this server's own API; services cannot start runs of this server (this stops loops)"
	case depth > r.maxDepth:
		return depth, fmt.Sprintf("started by a service run nested %d deep; runs may nest at most %d deep (this stops loops)", depth-1, r.maxDepth)
	}
	return depth, ""
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
	run, svc, depth, err := r.record(ctx, req, dtbase.RunPending)
	if err != nil {
		return run, err
	}
	copied := *run
	r.background(run, svc, nil, depth)
	return &copied, nil
}

// background calls a recorded run's service in a goroutine, when a slot is
// free, and records the outcome.
func (r *Runner) background(run *dtbase.ServiceRun, svc *dtbase.Service, extra http.Header, depth int) {
	if !r.track() {
		r.finish(run, dtbase.RunOutcome{Status: dtbase.RunFailed, Error: "interrupted: the server stopped before the run started"})
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	stopOnStop := context.AfterFunc(r.bgCtx, func() { cancel(errStopped) })
	r.activate(run.ID, cancel)
	go func() {
		defer r.wg.Done()
		defer r.deactivate(run.ID)
		defer cancel(nil)
		defer stopOnStop()
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			r.finish(run, dtbase.RunOutcome{Status: dtbase.RunFailed, Error: describeCancel(ctx, "before the run started")})
			return
		}
		defer func() { <-r.slots }()
		if ctx.Err() != nil {
			r.finish(run, dtbase.RunOutcome{Status: dtbase.RunFailed, Error: describeCancel(ctx, "before the run started")})
			return
		}
		if run.Status == dtbase.RunPending {
			if err := r.store.SetRunRunning(ctx, run.ID); err != nil {
				r.log.Warn("service run: mark running", "run_id", run.ID, "err", err)
			}
		}
		r.execute(ctx, run, svc, extra, depth)
	}()
}

// errStopped is why runs are interrupted when the runner stops.
var errStopped = errors.New("the server stopped")

// cancelledError is why a run cancelled with Cancel stopped.
type cancelledError struct{ by string }

func (e *cancelledError) Error() string { return "cancelled by " + e.by }

// describeCancel says why ctx ended, for a run stopped when (e.g. "during
// the run").
func describeCancel(ctx context.Context, when string) string {
	cause := context.Cause(ctx)
	var c *cancelledError
	switch {
	case errors.As(cause, &c):
		return c.Error()
	case errors.Is(cause, errStopped):
		return "interrupted: the server stopped " + when
	}
	return "cancelled: the caller hung up " + when
}

// Cancel asks that a run stop, wherever it runs: the request is recorded
// in the run log, which the replica running it polls, and a run of this
// process stops at once.
func (r *Runner) Cancel(ctx context.Context, runID int64, by string) error {
	if err := r.store.RequestCancel(ctx, runID, by); err != nil {
		return err
	}
	r.activeMu.Lock()
	cancel := r.active[runID]
	r.activeMu.Unlock()
	if cancel != nil {
		cancel(&cancelledError{by})
	}
	return nil
}

// activate makes a run of this process cancellable, and starts polling
// the run log for cancellations requested elsewhere.
func (r *Runner) activate(id int64, cancel context.CancelCauseFunc) {
	r.activeMu.Lock()
	defer r.activeMu.Unlock()
	r.active[id] = cancel
	if !r.polling {
		r.polling = true
		go r.pollCancels()
	}
}

func (r *Runner) deactivate(id int64) {
	r.activeMu.Lock()
	delete(r.active, id)
	r.activeMu.Unlock()
}

// pollCancels looks in the run log for cancellations of this process's
// runs until it has none left.
func (r *Runner) pollCancels() {
	t := time.NewTicker(r.cancelPoll)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-r.bgCtx.Done():
		}
		r.activeMu.Lock()
		if len(r.active) == 0 || r.bgCtx.Err() != nil {
			r.polling = false
			r.activeMu.Unlock()
			return
		}
		ids := make([]int64, 0, len(r.active))
		for id := range r.active {
			ids = append(ids, id)
		}
		r.activeMu.Unlock()
		ctx, cancel := context.WithTimeout(r.bgCtx, 10*time.Second)
		requested, err := r.store.CancelRequested(ctx, ids)
		cancel()
		if err != nil {
			r.log.Warn("service runs: look for cancellations", "err", err)
			continue
		}
		r.activeMu.Lock()
		for id, by := range requested {
			if c := r.active[id]; c != nil {
				c(&cancelledError{by})
			}
		}
		r.activeMu.Unlock()
	}
}

// execute calls the service and records the outcome on run.
func (r *Runner) execute(ctx context.Context, run *dtbase.ServiceRun, svc *dtbase.Service, extra http.Header, depth int) {
	r.inFlightRuns.Add(1)
	defer r.inFlightRuns.Add(-1)
	o := r.call(ctx, svc, run, extra, depth)
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
