package dtbase

import (
	"context"
	"encoding/json"
	"time"
)

// ServiceMethods are the HTTP methods a service may be called with, exactly
// as the original's enum spells them.
var ServiceMethods = []string{"GET", "POST", "PUT", "DELETE"}

// ValidServiceMethod reports whether m is one of ServiceMethods. Case
// matters: "get" is not valid, as in the original.
func ValidServiceMethod(m string) bool {
	for _, v := range ServiceMethods {
		if m == v {
			return true
		}
	}
	return false
}

// DefaultServiceTimeout bounds a call to a service that sets no timeout.
const DefaultServiceTimeout = 30 * time.Second

// MaxServiceTimeout is the longest timeout a service may ask for.
const MaxServiceTimeout = time.Hour

// Service is an HTTP endpoint that dtbase calls on request or on a
// schedule. A URL that is a path ("/service/builtin/weather") names an
// endpoint of dtbase itself, which the runner calls with an internal
// credential.
type Service struct {
	ID         int64
	Name       string
	URL        string
	HTTPMethod string
	// Timeout bounds each call; zero means DefaultServiceTimeout.
	Timeout time.Duration
	// Credential is sent as a header with every call; nil for none.
	Credential *ServiceCredential
	// Builtin names the built-in service this row was registered for, ""
	// for services users registered.
	Builtin string
	Created time.Time
}

// ServiceCredential is a header sent with every call to a service, such as
// "Authorization: Bearer …" or "x-functions-key: …". Only its header name
// is ever shown; the value is kept sealed (encrypted) and is opened by the
// runner just before a call. Listings leave Sealed empty.
type ServiceCredential struct {
	Header string
	Sealed []byte
}

// ServiceUpdate changes a service. Nil fields are left as they are.
type ServiceUpdate struct {
	URL        *string
	HTTPMethod *string
	Timeout    *time.Duration // zero restores the default
	Credential *ServiceCredential
	// ClearCredential removes the credential (Credential must be nil).
	ClearCredential bool
}

// ParameterSet is a named JSON object stored for a service and sent as the
// body of a call.
type ParameterSet struct {
	ID          int64
	ServiceID   int64
	ServiceName string
	Name        string
	Parameters  json.RawMessage // a JSON object, byte for byte as received
	Created     time.Time
	Updated     *time.Time
}

// RunStatus is where a service run stands.
type RunStatus string

// Run statuses. A run is succeeded when the service answered with a 2xx
// status, and failed when it answered otherwise or did not answer at all
// (network error, timeout, too many redirects, a refused URL).
const (
	RunPending   RunStatus = "pending"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
)

// Done reports whether the run has finished.
func (s RunStatus) Done() bool { return s == RunSucceeded || s == RunFailed }

// ServiceRun is one call of a service, as recorded in the run log.
type ServiceRun struct {
	ID               int64
	ServiceID        int64
	ServiceName      string
	ParameterSetID   *int64
	ParameterSetName *string // kept when the set is deleted
	ScheduleID       *int64
	ScheduleName     *string         // nil when the run was not scheduled, or its schedule was deleted
	Parameters       json.RawMessage // the JSON body sent; "null" when none
	Status           RunStatus
	// StatusCode is the HTTP status the service answered with; nil when it
	// did not answer or the run has not finished.
	StatusCode *int
	// ResponseJSON is the service's answer when it was JSON of at most the
	// stored size, byte for byte; nil otherwise.
	ResponseJSON json.RawMessage
	Error        string    // why the run failed, "" if it did not
	Note         string    // remarks on the answer: not JSON, truncated
	TimedOut     bool      // the call was cut off by its timeout
	TriggeredBy  string    // who or what started the run
	Timestamp    time.Time // when the run was requested
	Duration     *time.Duration
}

// RunFilter selects runs. Nil fields do not filter.
type RunFilter struct {
	ServiceName      *string
	ParameterSetName *string
	// Limit keeps only the newest Limit runs (still returned oldest first);
	// zero keeps all.
	Limit int
}

// RunLimits bound the runs of one service, counted in the run log so that
// they hold across replicas. Zero fields do not limit.
type RunLimits struct {
	InFlight  int // runs pending or running at once
	PerMinute int // runs started in the last minute
}

// RunStart asks the store to record a new run and look up what to call.
type RunStart struct {
	ServiceName      string
	ParameterSetName *string
	// Parameters, when not nil, is the JSON body to send instead of the
	// set's stored parameters.
	Parameters  json.RawMessage
	Status      RunStatus // RunRunning, or RunPending for an asynchronous run
	TriggeredBy string
	Timestamp   time.Time
	// Limits refuse the run (ERATELIMIT, nothing recorded) when the
	// service has too many runs in flight or in the last minute.
	Limits RunLimits
	// Refused, when set, records the run as failed with this error
	// instead; Limits do not apply.
	Refused string
}

// RunOutcome is how a run ended.
type RunOutcome struct {
	Status       RunStatus
	StatusCode   *int
	ResponseJSON json.RawMessage
	Error        string
	Note         string
	TimedOut     bool
	Duration     time.Duration
}

// Schedule runs a service on a cron expression, in a time zone, with an
// optional parameter set.
type Schedule struct {
	ID               int64
	ServiceID        int64
	ServiceName      string
	Name             string
	Cron             string
	TimeZone         string // an IANA name; "UTC" by default
	ParameterSetID   *int64
	ParameterSetName *string
	Enabled          bool
	NextRun          time.Time // when the schedule is next due
	LastRun          *time.Time
	Created          time.Time
}

// ScheduleClaim claims a due run of a schedule: it succeeds only while the
// schedule is still enabled and due at Due, so across replicas exactly one
// claim of each due time wins.
type ScheduleClaim struct {
	ScheduleID int64
	Due        time.Time // the schedule's next_run as read
	Next       time.Time // its next run after this one
	Timestamp  time.Time // when the run starts
	// Limits, when exceeded, record the claimed run as failed saying why.
	Limits RunLimits
}

// SchedulerLock elects the one process that runs schedules among replicas
// that share a database.
type SchedulerLock interface {
	// TryLock reports whether this process holds the lock, taking it when
	// it is free. While held it checks the lock's connection; a process
	// that lost it no longer holds the lock.
	TryLock(ctx context.Context) (bool, error)
	// Unlock releases the lock if held.
	Unlock() error
}

// ServiceStore keeps services, their parameter sets, schedules and run log.
type ServiceStore interface {
	// CreateService adds a service and sets its ID; ECONFLICT "Service
	// already exists." if the name is taken.
	CreateService(ctx context.Context, s *Service) error
	// ListServices returns all services in id order, without sealed
	// credentials.
	ListServices(ctx context.Context) ([]Service, error)
	// FindService returns a service with its sealed credential; ENOTFOUND
	// "Service does not exist." if there is none.
	FindService(ctx context.Context, name string) (*Service, error)
	// UpdateService changes a service; ENOTFOUND if there is none.
	UpdateService(ctx context.Context, name string, upd ServiceUpdate) error
	// DeleteService removes a service with its parameter sets, schedules
	// and run log; ENOTFOUND "Service does not exist." if there is none.
	DeleteService(ctx context.Context, name string) error

	// CreateParameterSet adds a parameter set; ENOTFOUND "Service does not
	// exist.", ECONFLICT "Parameter set already exists.".
	CreateParameterSet(ctx context.Context, p *ParameterSet) error
	// ListParameterSets returns the sets of one service, or of all when
	// serviceName is nil, in id order. An unknown service has none.
	ListParameterSets(ctx context.Context, serviceName *string) ([]ParameterSet, error)
	// UpdateParameterSet replaces a set's parameters; ENOTFOUND "Parameter
	// set does not exist." if the service or the set is missing.
	UpdateParameterSet(ctx context.Context, serviceName, name string, parameters json.RawMessage) error
	// DeleteParameterSet removes a set; its runs stay, with the set's name
	// and no id. ENOTFOUND "Parameter set does not exist."; ECONFLICT when
	// a schedule uses the set.
	DeleteParameterSet(ctx context.Context, serviceName, name string) error

	// StartRun records a run with status s.Status and returns it with the
	// service to call, whose credential is sealed. The body is
	// s.Parameters when given, else the set's parameters, else null.
	// ENOTFOUND "Service or parameter set does not exist.".
	StartRun(ctx context.Context, s RunStart) (*ServiceRun, *Service, error)
	// SetRunRunning moves a pending run to running.
	SetRunRunning(ctx context.Context, id int64) error
	// FinishRun records how a run ended.
	FinishRun(ctx context.Context, id int64, o RunOutcome) error
	// RequestCancel asks that a pending or running run stop, recording
	// who asked; the replica executing it notices through
	// CancelRequested. ENOTFOUND "Service run does not exist.", ECONFLICT
	// "Service run has already finished.".
	RequestCancel(ctx context.Context, id int64, by string) error
	// CancelRequested returns, of the given runs, those whose cancellation
	// was requested, with who asked.
	CancelRequested(ctx context.Context, ids []int64) (map[int64]string, error)
	// FindRun returns a run; ENOTFOUND "Service run does not exist.".
	FindRun(ctx context.Context, id int64) (*ServiceRun, error)
	// ListRuns returns runs in id order.
	ListRuns(ctx context.Context, f RunFilter) ([]ServiceRun, error)
	// FailStaleRuns marks runs still pending or running that started
	// before cutoff as failed with message; they belonged to a process that
	// stopped. It returns how many it marked.
	FailStaleRuns(ctx context.Context, cutoff time.Time, message string) (int, error)

	// CreateSchedule adds a schedule and sets its ID; ENOTFOUND "Service
	// does not exist." or "Parameter set does not exist.", ECONFLICT
	// "Schedule already exists.".
	CreateSchedule(ctx context.Context, s *Schedule) error
	// FindSchedule returns a schedule; ENOTFOUND "Schedule does not exist.".
	FindSchedule(ctx context.Context, serviceName, name string) (*Schedule, error)
	// ListSchedules returns the schedules of one service, or all when
	// serviceName is nil, in id order.
	ListSchedules(ctx context.Context, serviceName *string) ([]Schedule, error)
	// UpdateSchedule stores s's cron, time zone, parameter set, enabled
	// flag and next run, finding it by service and name; ENOTFOUND
	// "Schedule does not exist." or "Parameter set does not exist.".
	UpdateSchedule(ctx context.Context, s *Schedule) error
	// DeleteSchedule removes a schedule; its runs stay. ENOTFOUND
	// "Schedule does not exist.".
	DeleteSchedule(ctx context.Context, serviceName, name string) error
	// DueSchedules returns the enabled schedules due at or before now,
	// earliest first, and the earliest next run of any enabled schedule
	// that is not yet due (zero if none).
	DueSchedules(ctx context.Context, now time.Time, limit int) ([]Schedule, time.Time, error)
	// ClaimScheduledRun advances a due schedule to c.Next and records its
	// run, in one transaction, and returns the run and the service to call.
	// ECONFLICT when the schedule is no longer due at c.Due (another
	// replica claimed it, or it was edited, disabled or deleted).
	ClaimScheduledRun(ctx context.Context, c ScheduleClaim) (*ServiceRun, *Service, error)
	// SkipScheduledRun advances a due schedule to next without running it;
	// ECONFLICT as for ClaimScheduledRun.
	SkipScheduledRun(ctx context.Context, scheduleID int64, due, next time.Time) error
	// SchedulerLock returns the lock that elects the scheduling replica.
	SchedulerLock() SchedulerLock
}

// CronSpec is a checked cron expression: the expression without any
// CRON_TZ= prefix, the time zone it runs in, and its next time.
type CronSpec struct {
	Cron     string
	TimeZone string
	Next     time.Time
}

// RunRequest asks the runner to call a service.
type RunRequest struct {
	ServiceName      string
	ParameterSetName *string
	Parameters       json.RawMessage // nil: use the set's, or send no body
	TriggeredBy      string
	// CallerDepth is the depth of the service run whose service asked for
	// this one (0 when a person or a schedule asked); runs nested deeper
	// than the runner allows are refused and recorded as failed.
	CallerDepth int
	// CallerOrigin is the HeaderRunOrigin the request carried: a service
	// run of this deployment calling run-service on its own API is refused
	// and recorded as failed.
	CallerOrigin string
}

// Headers the service runner sends with every call, so that a run started
// by a service run (through run-service) knows how deep it is nested and
// whether it loops back into the deployment that made the call.
const (
	HeaderRunDepth  = "X-DTBase-Run-Depth"
	HeaderRunOrigin = "X-DTBase-Run-Origin"
)

// BuiltinService is a service dtbase provides itself, served at
// /service/builtin/<Name> and callable by the runner like any other.
type BuiltinService interface {
	// Name is the last path segment of the endpoint.
	Name() string
	// Summary describes the endpoint and its parameters for the docs.
	Summary() string
	// Call runs the service with a JSON object of parameters and returns
	// the JSON-encodable answer. Errors carry codes as everywhere.
	Call(ctx context.Context, params json.RawMessage) (any, error)
}

// ServiceTokenType is the token_type of the short-lived internal tokens the
// runner signs to call dtbase's own endpoints. They act as
// ServiceRunnerPrincipal with the editor role.
const ServiceTokenType = "service"

// ServiceRunnerPrincipal is the subject of the runner's internal tokens.
const ServiceRunnerPrincipal = "service-runner"

// ServiceRunner calls services on demand and on their schedules.
type ServiceRunner interface {
	// Run calls a service now, records the run and returns it when the
	// call has ended; ctx ending (the caller hanging up) stops the call. A
	// call that fails is a recorded failed run, not an error; errors are
	// for requests that cannot start: ENOTFOUND "Service or parameter set
	// does not exist.", ERATELIMIT when the service is over its run limits
	// (nothing recorded), EINVALID when the run is refused as a loop (the
	// run is recorded as failed and returned with the error).
	Run(ctx context.Context, req RunRequest) (*ServiceRun, error)
	// Start records a pending run, calls the service in the background and
	// returns the run at once; errors as for Run.
	Start(ctx context.Context, req RunRequest) (*ServiceRun, error)
	// SealCredential encrypts a credential value for storage.
	SealCredential(value string) ([]byte, error)
	// CheckCron checks a cron expression in a time zone ("" for UTC) and
	// returns it normalised with its first time after after; EINVALID
	// naming the problem.
	CheckCron(cron, timeZone string, after time.Time) (CronSpec, error)
	// Builtins returns the services dtbase provides itself.
	Builtins() []BuiltinService
	// Cancel stops a pending or running run, on whichever replica runs it,
	// and records it as failed, cancelled by by. ENOTFOUND "Service run
	// does not exist.", ECONFLICT "Service run has already finished.".
	Cancel(ctx context.Context, runID int64, by string) error
	// CheckServiceURL checks a URL before it is stored for a service
	// (builtin names the built-in it was registered for, "" for services
	// users register); EINVALID saying why it cannot be called.
	CheckServiceURL(raw, builtin string) error
}

// Validate checks the service's text against the limits and its method
// against ServiceMethods; EINVALID naming the field. Whether the URL may be
// called is the runner's decision.
func (s *Service) Validate() error {
	err := firstErr(checkLen("name", s.Name, MaxNameLen), checkLen("url", s.URL, MaxURLLen), s.Credential.validate())
	if err != nil {
		return err
	}
	if !ValidServiceMethod(s.HTTPMethod) {
		return Errorf(EINVALID, "http_method must be one of GET, POST, PUT, DELETE, not %q.", s.HTTPMethod)
	}
	return nil
}

func (c *ServiceCredential) validate() error {
	if c == nil {
		return nil
	}
	return checkLen("credential_header", c.Header, MaxHeaderNameLen)
}

// Validate checks the changed fields as Service.Validate does.
func (u *ServiceUpdate) Validate() error {
	if err := firstErr(checkLenPtr("url", u.URL, MaxURLLen), u.Credential.validate()); err != nil {
		return err
	}
	if u.HTTPMethod != nil && !ValidServiceMethod(*u.HTTPMethod) {
		return Errorf(EINVALID, "http_method must be one of GET, POST, PUT, DELETE, not %q.", *u.HTTPMethod)
	}
	return nil
}

// Validate checks the set's names against MaxNameLen; EINVALID naming the
// field.
func (p *ParameterSet) Validate() error {
	return firstErr(checkLen("service_name", p.ServiceName, MaxNameLen), checkLen("name", p.Name, MaxNameLen))
}

// Validate checks the schedule's text against the limits; EINVALID naming
// the field. Whether the cron expression and time zone mean something is
// the runner's CheckCron.
func (s *Schedule) Validate() error {
	return firstErr(
		checkLen("service_name", s.ServiceName, MaxNameLen),
		checkLen("name", s.Name, MaxNameLen),
		checkLen("cron", s.Cron, MaxCronLen),
		checkLen("timezone", s.TimeZone, MaxTimeZoneLen),
		checkLenPtr("parameter_set_name", s.ParameterSetName, MaxNameLen),
	)
}

// ValidateCredentialValue checks a credential's header value, before it is
// sealed, against MaxCredentialLen; EINVALID naming the field.
func ValidateCredentialValue(v string) error {
	return checkLen("credential_value", v, MaxCredentialLen)
}
