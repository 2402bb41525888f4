package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// The /service endpoints: the original's nine, wire-compatible, and our
// extensions (service details and edits, asynchronous runs, schedules, the
// built-in services). Success texts are the original's.

type insertServiceRequest struct {
	Name       string `json:"name" dt:"max=name"`
	URL        string `json:"url" dt:"max=url"`
	HTTPMethod string `json:"http_method"`
	// Our additions, all optional.
	TimeoutSeconds   *int    `json:"timeout_seconds" dt:"optional,range=timeout"`
	CredentialHeader *string `json:"credential_header" dt:"optional,max=header"`
	CredentialValue  *string `json:"credential_value" dt:"optional,max=credential"`
}

type editServiceRequest struct {
	Name             string  `json:"name" dt:"max=name"`
	URL              *string `json:"url" dt:"optional,max=url"`
	HTTPMethod       *string `json:"http_method" dt:"optional"`
	TimeoutSeconds   *int    `json:"timeout_seconds" dt:"optional,range=timeout_or_zero"`
	CredentialHeader *string `json:"credential_header" dt:"optional,max=header"`
	CredentialValue  *string `json:"credential_value" dt:"optional,max=credential"`
	ClearCredential  bool    `json:"clear_credential" dt:"optional"`
}

// serviceInfo is an entry of list-services, exactly the original's.
type serviceInfo struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	HTTPMethod string `json:"http_method"`
}

// serviceDetails is an entry of list-services-details: the original's
// fields, then ours. A credential's value is never shown.
type serviceDetails struct {
	Name             string      `json:"name"`
	URL              string      `json:"url"`
	HTTPMethod       string      `json:"http_method"`
	TimeoutSeconds   int64       `json:"timeout_seconds"`
	CredentialHeader *string     `json:"credential_header"`
	Builtin          *string     `json:"builtin"`
	TimeCreated      dtbase.Time `json:"time_created"`
}

type parameterSetRequest struct {
	ServiceName string     `json:"service_name" dt:"max=name"`
	Name        string     `json:"name" dt:"max=name"`
	Parameters  JSONObject `json:"parameters"`
}

type parameterSetRef struct {
	ServiceName string `json:"service_name" dt:"max=name"`
	Name        string `json:"name" dt:"max=name"`
}

type serviceFilter struct {
	ServiceName *string `json:"service_name" dt:"optional,max=name"`
}

type parameterSetInfo struct {
	ServiceName string     `json:"service_name"`
	Name        string     `json:"name"`
	Parameters  JSONObject `json:"parameters"`
}

type runServiceRequest struct {
	ServiceName      string    `json:"service_name" dt:"max=name"`
	ParameterSetName *string   `json:"parameter_set_name" dt:"optional,max=name"`
	Parameters       JSONValue `json:"parameters" dt:"optional"`
	// Async answers 202 at once with the run's id; poll get-run.
	Async bool `json:"async" dt:"optional"`
}

type runServiceResponse struct {
	Detail string `json:"detail"`
	RunID  int64  `json:"run_id"`
}

type listRunsRequest struct {
	ServiceName      *string `json:"service_name" dt:"optional,max=name"`
	ParameterSetName *string `json:"parameter_set_name" dt:"optional,max=name"`
	Limit            int     `json:"limit" dt:"optional,range=non_negative"`
}

type getRunRequest struct {
	RunID int64 `json:"run_id"`
}

// runInfo is an entry of list-runs and the answer of get-run: the
// original's fields, then ours.
//
// response_status_code stays an integer for the original's clients, which
// render it as "<code> - <reason>": it is the service's status when it
// answered, 202 while the run is pending or running, 504 when the call
// timed out and 502 when it failed without an answer. status and error say
// exactly what happened.
type runInfo struct {
	ServiceName        string       `json:"service_name"`
	ParameterSetName   *string      `json:"parameter_set_name"`
	Parameters         JSONValue    `json:"parameters"`
	ResponseJSON       JSONValue    `json:"response_json"`
	ResponseStatusCode int          `json:"response_status_code"`
	Timestamp          dtbase.Time  `json:"timestamp"`
	RunID              int64        `json:"run_id"`
	Status             string       `json:"status"`
	Error              *string      `json:"error"`
	Note               *string      `json:"note"`
	DurationMS         *int64       `json:"duration_ms"`
	ScheduleName       *string      `json:"schedule_name"`
	TriggeredBy        *string      `json:"triggered_by"`
	Answered           bool         `json:"answered"`
	Finished           *dtbase.Time `json:"finished"`
}

type scheduleRequest struct {
	ServiceName      string  `json:"service_name" dt:"max=name"`
	Name             string  `json:"name" dt:"max=name"`
	Cron             string  `json:"cron" dt:"max=cron"`
	TimeZone         *string `json:"timezone" dt:"optional,max=timezone"`
	ParameterSetName *string `json:"parameter_set_name" dt:"optional,max=name"`
	Enabled          *bool   `json:"enabled" dt:"optional"`
}

type scheduleRef struct {
	ServiceName string `json:"service_name" dt:"max=name"`
	Name        string `json:"name" dt:"max=name"`
}

type scheduleInfo struct {
	ServiceName      string       `json:"service_name"`
	Name             string       `json:"name"`
	Cron             string       `json:"cron"`
	TimeZone         string       `json:"timezone"`
	ParameterSetName *string      `json:"parameter_set_name"`
	Enabled          bool         `json:"enabled"`
	NextRun          *dtbase.Time `json:"next_run"`
	LastRun          *dtbase.Time `json:"last_run"`
}

type scheduleCreated struct {
	Detail  string       `json:"detail"`
	NextRun *dtbase.Time `json:"next_run"`
}

func (s *Server) serviceRoutes() {
	handle(s, http.MethodPost, "/service/insert-service", dtbase.RoleEditor, http.StatusCreated, "Register a service: a URL and HTTP method dtbase can call, optionally with a timeout and a credential header",
		s.insertService)
	handle(s, http.MethodGet, "/service/list-services", dtbase.RoleViewer, http.StatusOK, "List services", s.listServices)
	handle(s, http.MethodPost, "/service/delete-service", dtbase.RoleEditor, http.StatusOK, "Delete a service with its parameter sets, schedules and run log",
		s.deleteService)
	handle(s, http.MethodPost, "/service/insert-parameter-set", dtbase.RoleEditor, http.StatusCreated, "Store a named JSON object of parameters for a service",
		s.insertParameterSet)
	handle(s, http.MethodPost, "/service/delete-parameter-set", dtbase.RoleEditor, http.StatusOK, "Delete a parameter set; runs that used it keep its name",
		s.deleteParameterSet)
	handle(s, http.MethodPost, "/service/list-parameter-sets", dtbase.RoleViewer, http.StatusOK, "List the parameter sets of a service, or of all services",
		s.listParameterSets).bodyOptional = true
	handle(s, http.MethodPost, "/service/edit-parameter-set", dtbase.RoleEditor, http.StatusOK, "Replace the parameters of a parameter set",
		s.editParameterSet)
	s.runServiceRoute()
	handle(s, http.MethodPost, "/service/list-runs", dtbase.RoleViewer, http.StatusOK, "List service runs, oldest first, optionally of one service and/or parameter set (limit: only the newest n)",
		s.listRuns).bodyOptional = true

	// Our extensions.
	handle(s, http.MethodPost, "/service/cancel-run", dtbase.RoleEditor, http.StatusOK,
		"Cancel a pending or running service run, on whichever replica runs it; it is recorded as failed, cancelled by the caller",
		s.cancelRun).description = "Answers 200 at once: a run on this replica stops at once, one on another replica within a few seconds. " +
		"An unknown run is a 400 \"Service run does not exist.\", a finished one a 409 \"Service run has already finished.\"."
	handle(s, http.MethodPost, "/service/get-run", dtbase.RoleViewer, http.StatusOK, "Get one service run by id: its status (pending, running, succeeded, failed), duration and outcome",
		s.getRun)
	handle(s, http.MethodPost, "/service/list-services-details", dtbase.RoleViewer, http.StatusOK, "List services with their timeouts, credential header names (never values) and built-in markers",
		s.listServicesDetails)
	handle(s, http.MethodPost, "/service/edit-service", dtbase.RoleEditor, http.StatusOK, "Change a service's URL, method, timeout (0: the default) or credential; fields left out stay as they are",
		s.editService)
	s.scheduleRoutes()
	s.builtinRoutes()
}

func (s *Server) insertService(ctx context.Context, req *insertServiceRequest) (detail, error) {
	svc := &dtbase.Service{Name: req.Name, URL: strings.TrimSpace(req.URL), HTTPMethod: req.HTTPMethod}
	if err := checkServiceName(req.Name); err != nil {
		return detail{}, err
	}
	if err := s.checkServiceURL(svc.URL, ""); err != nil {
		return detail{}, err
	}
	if err := checkHTTPMethod(req.HTTPMethod); err != nil {
		return detail{}, err
	}
	if req.TimeoutSeconds != nil {
		d, err := checkTimeout(*req.TimeoutSeconds)
		if err != nil {
			return detail{}, err
		}
		svc.Timeout = d
	}
	cred, err := s.credential(req.CredentialHeader, req.CredentialValue)
	if err != nil {
		return detail{}, err
	}
	svc.Credential = cred
	return done(s.store.CreateService(ctx, svc), "Service created successfully.")
}

func (s *Server) listServices(ctx context.Context, _ *noBody) ([]serviceInfo, error) {
	services, err := s.store.ListServices(ctx)
	return each(services, func(svc dtbase.Service) serviceInfo {
		return serviceInfo{svc.Name, svc.URL, svc.HTTPMethod}
	}), err
}

func (s *Server) deleteService(ctx context.Context, req *nameRequest) (detail, error) {
	return done(s.store.DeleteService(ctx, req.Name), "Service deleted successfully.")
}

func (s *Server) insertParameterSet(ctx context.Context, req *parameterSetRequest) (detail, error) {
	if err := checkName([]any{"name"}, req.Name); err != nil {
		return detail{}, err
	}
	p := &dtbase.ParameterSet{ServiceName: req.ServiceName, Name: req.Name, Parameters: json.RawMessage(req.Parameters)}
	return done(s.store.CreateParameterSet(ctx, p), "Parameter set created successfully.")
}

func (s *Server) deleteParameterSet(ctx context.Context, req *parameterSetRef) (detail, error) {
	return done(s.store.DeleteParameterSet(ctx, req.ServiceName, req.Name), "Parameter set deleted successfully.")
}

func (s *Server) listParameterSets(ctx context.Context, req *serviceFilter) ([]parameterSetInfo, error) {
	sets, err := s.store.ListParameterSets(ctx, req.ServiceName)
	return each(sets, func(p dtbase.ParameterSet) parameterSetInfo {
		return parameterSetInfo{p.ServiceName, p.Name, JSONObject(p.Parameters)}
	}), err
}

func (s *Server) editParameterSet(ctx context.Context, req *parameterSetRequest) (detail, error) {
	return done(s.store.UpdateParameterSet(ctx, req.ServiceName, req.Name, json.RawMessage(req.Parameters)), "Parameter set edited successfully.")
}

func (s *Server) listRuns(ctx context.Context, req *listRunsRequest) ([]runInfo, error) {
	if req.Limit < 0 {
		return nil, invalidField([]any{"limit"}, "Input should be greater than or equal to 0", req.Limit)
	}
	runs, err := s.store.ListRuns(ctx, dtbase.RunFilter{ServiceName: req.ServiceName, ParameterSetName: req.ParameterSetName, Limit: req.Limit})
	return each(runs, func(r dtbase.ServiceRun) runInfo { return newRunInfo(&r) }), err
}

func (s *Server) cancelRun(ctx context.Context, req *getRunRequest) (runServiceResponse, error) {
	if s.cfg.Services == nil {
		return runServiceResponse{}, dtbase.Errorf(dtbase.EINVALID, "Running services is not enabled on this server")
	}
	p, _ := PrincipalFrom(ctx)
	if err := s.cfg.Services.Cancel(ctx, req.RunID, p.Email); err != nil {
		return runServiceResponse{}, err
	}
	return runServiceResponse{"Service run cancellation requested.", req.RunID}, nil
}

func (s *Server) getRun(ctx context.Context, req *getRunRequest) (runInfo, error) {
	run, err := s.store.FindRun(ctx, req.RunID)
	if err != nil {
		return runInfo{}, err
	}
	return newRunInfo(run), nil
}

func (s *Server) listServicesDetails(ctx context.Context, _ *noBody) ([]serviceDetails, error) {
	services, err := s.store.ListServices(ctx)
	return each(services, serviceDetailsOf), err
}

func serviceDetailsOf(svc dtbase.Service) serviceDetails {
	d := serviceDetails{Name: svc.Name, URL: svc.URL, HTTPMethod: svc.HTTPMethod, TimeoutSeconds: int64(dtbase.DefaultServiceTimeout / time.Second),
		TimeCreated: dtbase.Time(svc.Created)}
	if svc.Timeout > 0 {
		d.TimeoutSeconds = int64(svc.Timeout / time.Second)
	}
	if svc.Credential != nil {
		d.CredentialHeader = &svc.Credential.Header
	}
	d.Builtin = nonEmpty(svc.Builtin)
	return d
}

func (s *Server) editService(ctx context.Context, req *editServiceRequest) (detail, error) {
	var upd dtbase.ServiceUpdate
	if req.URL != nil {
		u := strings.TrimSpace(*req.URL)
		current, err := s.store.FindService(ctx, req.Name)
		if err != nil {
			return detail{}, err
		}
		if err := s.checkServiceURL(u, current.Builtin); err != nil {
			return detail{}, err
		}
		upd.URL = &u
	}
	if req.HTTPMethod != nil {
		if err := checkHTTPMethod(*req.HTTPMethod); err != nil {
			return detail{}, err
		}
		upd.HTTPMethod = req.HTTPMethod
	}
	if req.TimeoutSeconds != nil {
		var d time.Duration
		if *req.TimeoutSeconds != 0 {
			var err error
			if d, err = checkTimeout(*req.TimeoutSeconds); err != nil {
				return detail{}, err
			}
		}
		upd.Timeout = &d
	}
	if req.ClearCredential && (req.CredentialHeader != nil || req.CredentialValue != nil) {
		return detail{}, invalidField([]any{"clear_credential"}, "Give either clear_credential or a new credential, not both", true)
	}
	cred, err := s.credential(req.CredentialHeader, req.CredentialValue)
	if err != nil {
		return detail{}, err
	}
	upd.Credential, upd.ClearCredential = cred, req.ClearCredential
	return done(s.store.UpdateService(ctx, req.Name, upd), "Service edited successfully.")
}

// runServiceRoute registers run-service. It answers 200 whenever the
// service answered, whatever its status, as the original does; 502 (504 on
// a timeout) when it did not answer, where the original answered a bare
// 500 and logged nothing; and 202 at once for an asynchronous run. The run
// is recorded in every case, and every answer carries its run_id.
func (s *Server) runServiceRoute() {
	rt := s.handleRaw(http.MethodPost, "/service/run-service", dtbase.RoleEditor,
		"Call a service with a parameter set's parameters, or explicit ones, and record the run", s.serveRunService)
	rt.req = reflect.TypeFor[runServiceRequest]()
	rt.resp = reflect.TypeFor[runServiceResponse]()
	rt.description = "Synchronous by default: answers 200 \"Service called successfully.\" when the service answered (any status; see list-runs), " +
		"502 when the call failed without an answer (network error, too many redirects, an address refused by the outbound guard) and 504 when it timed out; " +
		"a caller that hangs up cancels the run. With \"async\": true it answers 202 at once; poll /service/get-run with the run_id. " +
		"429 when the service has too many runs in flight or in the last minute; 400 when the run is refused as a loop " +
		"(a service run calling run-service on this server, or runs nested more than 3 deep), recorded as failed."
}

func (s *Server) serveRunService(w http.ResponseWriter, r *http.Request, body []byte) {
	var req runServiceRequest
	if errs := bindBody(body, &req); len(errs) > 0 {
		writeError(w, r, &validationError{errs})
		return
	}
	status, resp, err := s.runService(r.Context(), &req, r.Header)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, status, resp)
}

func (s *Server) runService(ctx context.Context, req *runServiceRequest, h http.Header) (int, runServiceResponse, error) {
	var params json.RawMessage
	if raw := strings.TrimSpace(string(req.Parameters)); raw != "" && raw != "null" {
		if raw[0] != '{' && raw[0] != '[' {
			return 0, runServiceResponse{}, invalidField([]any{"parameters"}, "Input should be a JSON object, a list or null", json.RawMessage(raw))
		}
		params = json.RawMessage(raw)
	}
	if s.cfg.Services == nil {
		return 0, runServiceResponse{}, dtbase.Errorf(dtbase.EINVALID, "Running services is not enabled on this server")
	}
	p, _ := PrincipalFrom(ctx)
	// A service run that calls run-service says how deeply it is nested
	// and where it comes from, so that loops are refused.
	depth, _ := strconv.Atoi(h.Get(dtbase.HeaderRunDepth))
	run := dtbase.RunRequest{ServiceName: req.ServiceName, ParameterSetName: req.ParameterSetName, Parameters: params, TriggeredBy: p.Email,
		CallerDepth: depth, CallerOrigin: h.Get(dtbase.HeaderRunOrigin)}
	if req.Async {
		started, err := s.cfg.Services.Start(ctx, run)
		if err != nil {
			return 0, runServiceResponse{}, err
		}
		return http.StatusAccepted, runServiceResponse{"Service run started.", started.ID}, nil
	}
	done, err := s.cfg.Services.Run(ctx, run)
	if err != nil {
		return 0, runServiceResponse{}, err
	}
	switch {
	case done.StatusCode != nil:
		return http.StatusOK, runServiceResponse{"Service called successfully.", done.ID}, nil
	case done.TimedOut:
		return http.StatusGatewayTimeout, runServiceResponse{"Service call failed: " + done.Error, done.ID}, nil
	default:
		return http.StatusBadGateway, runServiceResponse{"Service call failed: " + done.Error, done.ID}, nil
	}
}

func newRunInfo(run *dtbase.ServiceRun) runInfo {
	info := runInfo{ServiceName: run.ServiceName, ParameterSetName: run.ParameterSetName, Parameters: JSONValue(run.Parameters),
		ResponseJSON: JSONValue(run.ResponseJSON), Timestamp: dtbase.Time(run.Timestamp), RunID: run.ID, Status: string(run.Status),
		ScheduleName: run.ScheduleName, Answered: run.StatusCode != nil}
	switch {
	case run.StatusCode != nil:
		info.ResponseStatusCode = *run.StatusCode
	case !run.Status.Done():
		info.ResponseStatusCode = http.StatusAccepted
	case run.TimedOut:
		info.ResponseStatusCode = http.StatusGatewayTimeout
	default:
		info.ResponseStatusCode = http.StatusBadGateway
	}
	info.Error, info.Note, info.TriggeredBy = nonEmpty(run.Error), nonEmpty(run.Note), nonEmpty(run.TriggeredBy)
	if run.Duration != nil {
		ms := run.Duration.Milliseconds()
		info.DurationMS = &ms
		if run.Status.Done() {
			f := dtbase.Time(run.Timestamp.Add(*run.Duration))
			info.Finished = &f
		}
	}
	return info
}

func checkName(loc []any, name string) error {
	if strings.TrimSpace(name) == "" {
		return invalidField(loc, "Name must not be empty", name)
	}
	return nil
}

func checkServiceName(name string) error { return checkName([]any{"name"}, name) }

// checkServiceURL refuses a URL that services may not call: not http(s),
// an address in the host's own or private networks (unless allow-listed),
// or a path on this server for a service that is not a built-in. The
// runner checks again on every call, after name resolution.
func (s *Server) checkServiceURL(raw, builtin string) error {
	if raw == "" {
		return invalidField([]any{"url"}, "URL must not be empty", raw)
	}
	if s.cfg.Services == nil {
		return nil
	}
	if err := s.cfg.Services.CheckServiceURL(raw, builtin); err != nil {
		return invalidField([]any{"url"}, dtbase.ErrorMessage(err), raw)
	}
	return nil
}

func checkHTTPMethod(m string) error {
	if !dtbase.ValidServiceMethod(m) {
		return dtbase.Errorf(dtbase.EINVALID, "Invalid http_method %q: use one of %s (upper case)", m, strings.Join(dtbase.ServiceMethods, ", "))
	}
	return nil
}

// maxTimeoutSeconds is dtbase.MaxServiceTimeout as the API counts it.
const maxTimeoutSeconds = int(dtbase.MaxServiceTimeout / time.Second)

func checkTimeout(seconds int) (time.Duration, error) {
	if seconds < 1 || seconds > maxTimeoutSeconds {
		return 0, invalidField([]any{"timeout_seconds"}, fmt.Sprintf("Timeout must be between 1 and %d seconds", maxTimeoutSeconds), seconds)
	}
	return time.Duration(seconds) * time.Second, nil
}

// credential checks and seals a credential header; nil when neither part
// is given.
func (s *Server) credential(header, value *string) (*dtbase.ServiceCredential, error) {
	if header == nil && value == nil {
		return nil, nil
	}
	if header == nil {
		return nil, invalidField([]any{"credential_header"}, "Give credential_header with credential_value", nil)
	}
	if value == nil {
		return nil, invalidField([]any{"credential_value"}, "Give credential_value with credential_header", nil)
	}
	h := strings.TrimSpace(*header)
	if !validHeaderName(h) {
		return nil, invalidField([]any{"credential_header"}, "Not a valid HTTP header name", *header)
	}
	switch strings.ToLower(h) {
	case "host", "content-length", "content-type", "transfer-encoding", "connection", "te", "upgrade", "trailer":
		return nil, invalidField([]any{"credential_header"}, "This header cannot carry a credential", *header)
	}
	if strings.HasPrefix(strings.ToLower(h), "x-dtbase-") {
		return nil, invalidField([]any{"credential_header"}, "X-DTBase- headers are the service runner's own and cannot carry a credential", *header)
	}
	if *value == "" || strings.ContainsAny(*value, "\r\n\x00") {
		return nil, invalidField([]any{"credential_value"}, "Must be a non-empty header value without line breaks", "<hidden>")
	}
	if s.cfg.Services == nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Service credentials are not available on this server")
	}
	sealed, err := s.cfg.Services.SealCredential(*value)
	if err != nil {
		return nil, err
	}
	return &dtbase.ServiceCredential{Header: h, Sealed: sealed}, nil
}

// validHeaderName reports whether h is an RFC 9110 token.
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, c := range []byte(h) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func (s *Server) scheduleRoutes() {
	handle(s, http.MethodPost, "/service/insert-schedule", dtbase.RoleEditor, http.StatusCreated,
		"Run a service on a cron schedule (five fields, or six with seconds first, or @hourly / @every 15m), in a time zone (default UTC), with an optional parameter set",
		s.insertSchedule)
	handle(s, http.MethodPost, "/service/list-schedules", dtbase.RoleViewer, http.StatusOK, "List schedules with their next run times, of one service or of all",
		s.listSchedules).bodyOptional = true
	handle(s, http.MethodPost, "/service/edit-schedule", dtbase.RoleEditor, http.StatusOK,
		"Replace a schedule's cron, time zone and parameter set (and enabled, when given)", s.editSchedule)
	handle(s, http.MethodPost, "/service/enable-schedule", dtbase.RoleEditor, http.StatusOK,
		"Enable a schedule; it next runs at its next time from now", s.enableSchedule)
	handle(s, http.MethodPost, "/service/disable-schedule", dtbase.RoleEditor, http.StatusOK,
		"Disable a schedule; it keeps its definition", s.disableSchedule)
	handle(s, http.MethodPost, "/service/delete-schedule", dtbase.RoleEditor, http.StatusOK, "Delete a schedule; its runs stay in the log",
		s.deleteSchedule)
}

func (s *Server) insertSchedule(ctx context.Context, req *scheduleRequest) (scheduleCreated, error) {
	sc, err := s.scheduleFrom(req, true)
	if err != nil {
		return scheduleCreated{}, err
	}
	if err := s.store.CreateSchedule(ctx, sc); err != nil {
		return scheduleCreated{}, err
	}
	return scheduleCreated{"Schedule created successfully.", nextRun(sc)}, nil
}

func (s *Server) listSchedules(ctx context.Context, req *serviceFilter) ([]scheduleInfo, error) {
	list, err := s.store.ListSchedules(ctx, req.ServiceName)
	return each(list, func(sc dtbase.Schedule) scheduleInfo {
		return scheduleInfo{ServiceName: sc.ServiceName, Name: sc.Name, Cron: sc.Cron, TimeZone: sc.TimeZone,
			ParameterSetName: sc.ParameterSetName, Enabled: sc.Enabled, NextRun: nextRun(&sc), LastRun: optTime(sc.LastRun)}
	}), err
}

func (s *Server) editSchedule(ctx context.Context, req *scheduleRequest) (scheduleCreated, error) {
	current, err := s.store.FindSchedule(ctx, req.ServiceName, req.Name)
	if err != nil {
		return scheduleCreated{}, err
	}
	sc, err := s.scheduleFrom(req, current.Enabled)
	if err != nil {
		return scheduleCreated{}, err
	}
	if err := s.store.UpdateSchedule(ctx, sc); err != nil {
		return scheduleCreated{}, err
	}
	return scheduleCreated{"Schedule edited successfully.", nextRun(sc)}, nil
}

func (s *Server) enableSchedule(ctx context.Context, req *scheduleRef) (scheduleCreated, error) {
	return s.setScheduleEnabled(ctx, req, true, "Schedule enabled successfully.")
}

func (s *Server) disableSchedule(ctx context.Context, req *scheduleRef) (scheduleCreated, error) {
	return s.setScheduleEnabled(ctx, req, false, "Schedule disabled successfully.")
}

func (s *Server) deleteSchedule(ctx context.Context, req *scheduleRef) (detail, error) {
	return done(s.store.DeleteSchedule(ctx, req.ServiceName, req.Name), "Schedule deleted successfully.")
}

func (s *Server) setScheduleEnabled(ctx context.Context, req *scheduleRef, enable bool, text string) (scheduleCreated, error) {
	sc, err := s.store.FindSchedule(ctx, req.ServiceName, req.Name)
	if err != nil {
		return scheduleCreated{}, err
	}
	if enable && !sc.Enabled {
		// Runs missed while disabled are not made up for.
		spec, err := s.checkCron(sc.Cron, sc.TimeZone)
		if err != nil {
			return scheduleCreated{}, err
		}
		sc.NextRun = spec.Next
	}
	sc.Enabled = enable
	if err := s.store.UpdateSchedule(ctx, sc); err != nil {
		return scheduleCreated{}, err
	}
	return scheduleCreated{text, nextRun(sc)}, nil
}

func (s *Server) checkCron(cron, timeZone string) (dtbase.CronSpec, error) {
	if s.cfg.Services == nil {
		return dtbase.CronSpec{}, dtbase.Errorf(dtbase.EINVALID, "Schedules are not enabled on this server")
	}
	return s.cfg.Services.CheckCron(cron, timeZone, time.Now().UTC())
}

// scheduleFrom checks a schedule request and computes its next run.
func (s *Server) scheduleFrom(req *scheduleRequest, enabled bool) (*dtbase.Schedule, error) {
	if err := checkName([]any{"name"}, req.Name); err != nil {
		return nil, err
	}
	var tz string
	setGiven(&tz, req.TimeZone)
	spec, err := s.checkCron(req.Cron, tz)
	if err != nil {
		return nil, err
	}
	setGiven(&enabled, req.Enabled)
	return &dtbase.Schedule{ServiceName: req.ServiceName, Name: req.Name, Cron: spec.Cron, TimeZone: spec.TimeZone,
		ParameterSetName: req.ParameterSetName, Enabled: enabled, NextRun: spec.Next}, nil
}

// nextRun is when an enabled schedule next runs; nil for a disabled one.
func nextRun(sc *dtbase.Schedule) *dtbase.Time {
	if !sc.Enabled {
		return nil
	}
	t := dtbase.Time(sc.NextRun)
	return &t
}

// builtinRoutes serves the services dtbase provides itself at
// /service/builtin/<name>. Each takes a JSON object of parameters.
func (s *Server) builtinRoutes() {
	if s.cfg.Services == nil {
		return
	}
	for _, b := range s.cfg.Services.Builtins() {
		handle(s, http.MethodPost, "/service/builtin/"+b.Name(), dtbase.RoleEditor, http.StatusOK, b.Summary(),
			func(ctx context.Context, req *JSONObject) (any, error) { return b.Call(ctx, json.RawMessage(*req)) })
	}
}

// nonEmpty returns s, or nil (JSON null) when it is empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
