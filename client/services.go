package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Service is a named URL and HTTP method the server calls on request.
type Service struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	HTTPMethod string `json:"http_method"`
}

// ParameterSet is a named JSON object of parameters of a service.
type ParameterSet struct {
	ServiceName string          `json:"service_name"`
	Name        string          `json:"name"`
	Parameters  json.RawMessage `json:"parameters"`
}

// ServiceRun is an entry of a service's run log. Parameters and
// ResponseJSON are any JSON, kept as received. The fields after Timestamp
// are dtbase's: ResponseStatusCode is 202 while a run is pending or
// running, 504 after a timeout and 502 for a call that got no answer;
// Status ("pending", "running", "succeeded", "failed") and Error say
// exactly what happened.
type ServiceRun struct {
	ServiceName        string          `json:"service_name"`
	ParameterSetName   *string         `json:"parameter_set_name"`
	Parameters         json.RawMessage `json:"parameters"`
	ResponseJSON       json.RawMessage `json:"response_json"`
	ResponseStatusCode int             `json:"response_status_code"`
	Timestamp          time.Time       `json:"timestamp"`

	RunID        int64      `json:"run_id"`
	Status       string     `json:"status"`
	Error        *string    `json:"error"`
	Note         *string    `json:"note"`
	DurationMS   *int64     `json:"duration_ms"`
	ScheduleName *string    `json:"schedule_name"`
	TriggeredBy  *string    `json:"triggered_by"`
	Answered     bool       `json:"answered"`
	Finished     *time.Time `json:"finished"`
}

// NewService is the body of InsertService. HTTPMethod is GET, POST, PUT or
// DELETE. The other fields are dtbase's, all optional: the call timeout,
// and a header (such as "Authorization" or "x-functions-key") sent with
// every call, whose value is stored encrypted and never listed.
type NewService struct {
	Name             string  `json:"name"`
	URL              string  `json:"url"`
	HTTPMethod       string  `json:"http_method"`
	TimeoutSeconds   *int    `json:"timeout_seconds,omitempty"`
	CredentialHeader *string `json:"credential_header,omitempty"`
	CredentialValue  *string `json:"credential_value,omitempty"`
}

// InsertService registers a service (/service/insert-service). An existing
// name is a 409.
func (c *Client) InsertService(ctx context.Context, s NewService) error {
	return c.call(ctx, http.MethodPost, "/service/insert-service", s, http.StatusCreated, nil)
}

// ListServices lists every service (/service/list-services).
func (c *Client) ListServices(ctx context.Context) ([]Service, error) {
	return list[Service](ctx, c, http.MethodGet, "/service/list-services", nil)
}

// DeleteService deletes a service with its parameter sets and run log
// (/service/delete-service).
func (c *Client) DeleteService(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, "/service/delete-service", map[string]string{"name": name}, http.StatusOK, nil)
}

// InsertParameterSet stores a named parameter object for a service
// (/service/insert-parameter-set). parameters must encode as a JSON object.
func (c *Client) InsertParameterSet(ctx context.Context, serviceName, name string, parameters any) error {
	req := parameterSetBody{serviceName, name, parameters}
	return c.call(ctx, http.MethodPost, "/service/insert-parameter-set", req, http.StatusCreated, nil)
}

// EditParameterSet replaces a parameter set's object
// (/service/edit-parameter-set).
func (c *Client) EditParameterSet(ctx context.Context, serviceName, name string, parameters any) error {
	req := parameterSetBody{serviceName, name, parameters}
	return c.call(ctx, http.MethodPost, "/service/edit-parameter-set", req, http.StatusOK, nil)
}

// parameterSetBody is the body of the parameter set writes; Parameters may
// be any value that encodes as a JSON object.
type parameterSetBody struct {
	ServiceName string `json:"service_name"`
	Name        string `json:"name"`
	Parameters  any    `json:"parameters"`
}

// DeleteParameterSet deletes a parameter set (/service/delete-parameter-set).
func (c *Client) DeleteParameterSet(ctx context.Context, serviceName, name string) error {
	return c.call(ctx, http.MethodPost, "/service/delete-parameter-set",
		map[string]string{"service_name": serviceName, "name": name}, http.StatusOK, nil)
}

// ListParameterSets lists parameter sets, of one service when serviceName
// is not "" (/service/list-parameter-sets).
func (c *Client) ListParameterSets(ctx context.Context, serviceName string) ([]ParameterSet, error) {
	return list[ParameterSet](ctx, c, http.MethodPost, "/service/list-parameter-sets", serviceFilter{serviceName})
}

// RunServiceRequest is the body of RunService: the service, and either a
// stored parameter set, explicit parameters (any JSON), or neither. Async
// (dtbase's) answers at once; poll GetRun with the returned run id.
type RunServiceRequest struct {
	ServiceName      string  `json:"service_name"`
	ParameterSetName *string `json:"parameter_set_name,omitempty"`
	Parameters       any     `json:"parameters,omitempty"`
	Async            bool    `json:"async,omitempty"`
}

// RunServiceResponse is the answer of RunService; RunID is dtbase's.
type RunServiceResponse struct {
	Detail string `json:"detail"`
	RunID  int64  `json:"run_id"`
}

// RunService calls a service and records the call in its run log
// (/service/run-service). It succeeds whatever the service answered; the
// answer is in the run log (GetRun).
func (c *Client) RunService(ctx context.Context, r RunServiceRequest) (RunServiceResponse, error) {
	return fetch[RunServiceResponse](ctx, c, http.MethodPost, "/service/run-service", r, 0)
}

// RunsQuery filters the run log; empty fields do not filter. Limit
// (dtbase's) keeps only the newest runs.
type RunsQuery struct {
	ServiceName      string `json:"service_name,omitempty"`
	ParameterSetName string `json:"parameter_set_name,omitempty"`
	Limit            int    `json:"limit,omitempty"`
}

// ListRuns lists the run log, oldest first (/service/list-runs).
func (c *Client) ListRuns(ctx context.Context, q RunsQuery) ([]ServiceRun, error) {
	return list[ServiceRun](ctx, c, http.MethodPost, "/service/list-runs", q)
}

// GetRun returns one run of the log by id (/service/get-run, an extension).
func (c *Client) GetRun(ctx context.Context, runID int64) (ServiceRun, error) {
	return fetch[ServiceRun](ctx, c, http.MethodPost, "/service/get-run", map[string]int64{"run_id": runID}, http.StatusOK)
}

// CancelRun stops a pending or running run, on whichever replica runs it
// (/service/cancel-run, an extension); the run is recorded as failed,
// cancelled by the caller. An unknown run is an error with status 400, a
// finished one 409.
func (c *Client) CancelRun(ctx context.Context, runID int64) error {
	return c.call(ctx, http.MethodPost, "/service/cancel-run", map[string]int64{"run_id": runID}, http.StatusOK, nil)
}

// ServiceDetails is an entry of ListServicesDetails.
type ServiceDetails struct {
	Name             string    `json:"name"`
	URL              string    `json:"url"`
	HTTPMethod       string    `json:"http_method"`
	TimeoutSeconds   int64     `json:"timeout_seconds"`
	CredentialHeader *string   `json:"credential_header"`
	Builtin          *string   `json:"builtin"`
	TimeCreated      time.Time `json:"time_created"`
}

// ListServicesDetails lists services with their timeouts and credential
// header names, never values (/service/list-services-details, an extension).
func (c *Client) ListServicesDetails(ctx context.Context) ([]ServiceDetails, error) {
	return list[ServiceDetails](ctx, c, http.MethodPost, "/service/list-services-details", nil)
}

// ServiceEdit changes a service; nil fields stay as they are. A
// TimeoutSeconds of 0 restores the default.
type ServiceEdit struct {
	Name             string  `json:"name"`
	URL              *string `json:"url,omitempty"`
	HTTPMethod       *string `json:"http_method,omitempty"`
	TimeoutSeconds   *int    `json:"timeout_seconds,omitempty"`
	CredentialHeader *string `json:"credential_header,omitempty"`
	CredentialValue  *string `json:"credential_value,omitempty"`
	ClearCredential  bool    `json:"clear_credential,omitempty"`
}

// EditService changes a service (/service/edit-service, an extension).
func (c *Client) EditService(ctx context.Context, e ServiceEdit) error {
	return c.call(ctx, http.MethodPost, "/service/edit-service", e, http.StatusOK, nil)
}

// Schedule runs a service on a cron expression (an extension). TimeZone
// (default UTC) interprets the expression; ParameterSetName picks the
// parameters; Enabled defaults to true.
type Schedule struct {
	ServiceName      string  `json:"service_name"`
	Name             string  `json:"name"`
	Cron             string  `json:"cron"`
	TimeZone         *string `json:"timezone,omitempty"`
	ParameterSetName *string `json:"parameter_set_name,omitempty"`
	Enabled          *bool   `json:"enabled,omitempty"`
}

// ScheduleInfo is an entry of ListSchedules.
type ScheduleInfo struct {
	ServiceName      string     `json:"service_name"`
	Name             string     `json:"name"`
	Cron             string     `json:"cron"`
	TimeZone         string     `json:"timezone"`
	ParameterSetName *string    `json:"parameter_set_name"`
	Enabled          bool       `json:"enabled"`
	NextRun          *time.Time `json:"next_run"`
	LastRun          *time.Time `json:"last_run"`
}

// ScheduleResult is the answer of the schedule writes: the next run, nil
// when the schedule is disabled.
type ScheduleResult struct {
	Detail  string     `json:"detail"`
	NextRun *time.Time `json:"next_run"`
}

// InsertSchedule creates a schedule (/service/insert-schedule).
func (c *Client) InsertSchedule(ctx context.Context, s Schedule) (ScheduleResult, error) {
	return fetch[ScheduleResult](ctx, c, http.MethodPost, "/service/insert-schedule", s, http.StatusCreated)
}

// EditSchedule replaces a schedule's settings (/service/edit-schedule).
func (c *Client) EditSchedule(ctx context.Context, s Schedule) (ScheduleResult, error) {
	return fetch[ScheduleResult](ctx, c, http.MethodPost, "/service/edit-schedule", s, http.StatusOK)
}

// ListSchedules lists the schedules, of one service when serviceName is
// not "" (/service/list-schedules).
func (c *Client) ListSchedules(ctx context.Context, serviceName string) ([]ScheduleInfo, error) {
	return list[ScheduleInfo](ctx, c, http.MethodPost, "/service/list-schedules", serviceFilter{serviceName})
}

// EnableSchedule turns a schedule on (/service/enable-schedule).
func (c *Client) EnableSchedule(ctx context.Context, serviceName, name string) (ScheduleResult, error) {
	return fetch[ScheduleResult](ctx, c, http.MethodPost, "/service/enable-schedule",
		map[string]string{"service_name": serviceName, "name": name}, http.StatusOK)
}

// DisableSchedule turns a schedule off (/service/disable-schedule).
func (c *Client) DisableSchedule(ctx context.Context, serviceName, name string) (ScheduleResult, error) {
	return fetch[ScheduleResult](ctx, c, http.MethodPost, "/service/disable-schedule",
		map[string]string{"service_name": serviceName, "name": name}, http.StatusOK)
}

// DeleteSchedule deletes a schedule; its runs stay in the log
// (/service/delete-schedule).
func (c *Client) DeleteSchedule(ctx context.Context, serviceName, name string) error {
	return c.call(ctx, http.MethodPost, "/service/delete-schedule",
		map[string]string{"service_name": serviceName, "name": name}, http.StatusOK, nil)
}

// serviceFilter selects the parameter sets or schedules of one service; ""
// selects all.
type serviceFilter struct {
	ServiceName string `json:"service_name,omitempty"`
}
