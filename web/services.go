package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// recentRuns is how many runs a service page and the dashboard show.
const recentRuns = 50

// serviceSummary is the dashboard's service activity.
type serviceSummary struct {
	Count  int
	Recent []dtbase.ServiceRun
	Failed []dtbase.ServiceRun
	Next   []dtbase.Schedule
}

func (h *Handler) serviceSummary(ctx context.Context, now time.Time) (*serviceSummary, error) {
	services, err := h.store.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	sum := &serviceSummary{Count: len(services)}
	runs, err := h.store.ListRuns(ctx, dtbase.RunFilter{Limit: 200})
	if err != nil {
		return nil, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if len(sum.Recent) < 8 {
			sum.Recent = append(sum.Recent, runs[i])
		}
		if runs[i].Status == dtbase.RunFailed && len(sum.Failed) < 8 {
			sum.Failed = append(sum.Failed, runs[i])
		}
	}
	schedules, err := h.store.ListSchedules(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, sc := range schedules {
		if sc.Enabled {
			sum.Next = append(sum.Next, sc)
		}
	}
	sort.SliceStable(sum.Next, func(i, j int) bool { return sum.Next[i].NextRun.Before(sum.Next[j].NextRun) })
	if len(sum.Next) > 8 {
		sum.Next = sum.Next[:8]
	}
	return sum, nil
}

type servicesData struct {
	Services []serviceRow
	Methods  []string
	CanRun   bool
}

type serviceRow struct {
	dtbase.Service
	Sets    int
	LastRun *dtbase.ServiceRun
}

func (h *Handler) servicesPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	services, err := h.store.ListServices(ctx)
	if err != nil {
		return err
	}
	sets, err := h.store.ListParameterSets(ctx, nil)
	if err != nil {
		return err
	}
	runs, err := h.store.ListRuns(ctx, dtbase.RunFilter{Limit: 500})
	if err != nil {
		return err
	}
	d := &servicesData{Methods: dtbase.ServiceMethods, CanRun: h.cfg.Services != nil}
	for _, sv := range services {
		row := serviceRow{Service: sv}
		for _, p := range sets {
			if p.ServiceID == sv.ID {
				row.Sets++
			}
		}
		for i := len(runs) - 1; i >= 0; i-- {
			if runs[i].ServiceID == sv.ID {
				row.LastRun = &runs[i]
				break
			}
		}
		d.Services = append(d.Services, row)
	}
	h.render(w, r, http.StatusOK, "services.html", &view{Title: "Services", Nav: "services", Session: s, Data: d})
	return nil
}

func serviceURL(name string) string { return "/services/view?name=" + url.QueryEscape(name) }

func (h *Handler) createService(r *http.Request, s *session) (string, string, error) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		return "/services", "", invalid("The service needs a name.")
	}
	sv := &dtbase.Service{Name: name, URL: strings.TrimSpace(r.PostFormValue("url")), HTTPMethod: r.PostFormValue("http_method")}
	if u, err := url.Parse(sv.URL); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "/services", "", invalid("The URL must be http:// or https:// with a host, not %q.", sv.URL)
	}
	if h.cfg.Services != nil {
		// The same check as the API's: no loopback, private or metadata
		// addresses unless allow-listed.
		if err := h.cfg.Services.CheckServiceURL(sv.URL, ""); err != nil {
			return "/services", "", err
		}
	}
	if !dtbase.ValidServiceMethod(sv.HTTPMethod) {
		return "/services", "", invalid("The HTTP method must be one of %s.", strings.Join(dtbase.ServiceMethods, ", "))
	}
	if t := strings.TrimSpace(r.PostFormValue("timeout")); t != "" {
		secs, err := strconv.Atoi(t)
		if err != nil || secs <= 0 || time.Duration(secs)*time.Second > dtbase.MaxServiceTimeout {
			return "/services", "", invalid("The timeout must be a whole number of seconds between 1 and %d.", int(dtbase.MaxServiceTimeout.Seconds()))
		}
		sv.Timeout = time.Duration(secs) * time.Second
	}
	if header := strings.TrimSpace(r.PostFormValue("credential_header")); header != "" {
		if h.cfg.Services == nil {
			return "/services", "", invalid("Credentials cannot be stored: the service runner is not available.")
		}
		value := r.PostFormValue("credential_value")
		if err := dtbase.ValidateCredentialValue(value); err != nil {
			return "/services", "", err
		}
		sealed, err := h.cfg.Services.SealCredential(value)
		if err != nil {
			return "/services", "", err
		}
		sv.Credential = &dtbase.ServiceCredential{Header: header, Sealed: sealed}
	}
	if err := h.store.CreateService(r.Context(), sv); err != nil {
		return "/services", "", err
	}
	return serviceURL(name), "Service " + name + " added.", nil
}

func (h *Handler) deleteService(r *http.Request, s *session) (string, string, error) {
	return deleteNamed(r, h.store.DeleteService, "/services", "Service %s deleted with its parameter sets, schedules and run log.", "")
}

type servicePageData struct {
	Service   *dtbase.Service
	Sets      []paramSetRow
	Runs      []runRow
	Schedules []dtbase.Schedule
	Running   bool // a run is still pending or running: the log refreshes itself
	CanRun    bool
	Now       time.Time
	Edit      string // the parameter set open in the editor
	EditJSON  string
	Result    *runResult // the run the user just started, shown where they clicked
}

// runResult is the outcome of a run started from the page, shown next to
// the button that started it: the parameter set's row (At), or the "Run
// now" form when At is empty.
type runResult struct {
	runRow
	At     string
	Class  string // the flash class: flash-success, flash-error or flash-info
	Verb   string
	Detail string // why it failed: the run's error and the answer's detail
}

func newRunResult(run dtbase.ServiceRun, at string) *runResult {
	res := &runResult{runRow: newRunRow(run), At: at}
	switch run.Status {
	case dtbase.RunSucceeded:
		res.Class, res.Verb = "flash-success", "succeeded"
	case dtbase.RunFailed:
		res.Class, res.Verb = "flash-error", "failed"
		var answer struct {
			Detail any `json:"detail"`
		}
		res.Detail = run.Error
		if json.Unmarshal(run.ResponseJSON, &answer) == nil && answer.Detail != nil {
			d, ok := answer.Detail.(string)
			if !ok { // a validation error's list
				b, _ := json.Marshal(answer.Detail)
				d = string(b)
			}
			res.Detail = strings.TrimSpace(res.Detail + ": " + d)
		}
	default:
		res.Class, res.Verb = "flash-info", "is "+string(run.Status)
	}
	return res
}

type paramSetRow struct {
	dtbase.ParameterSet
	Pretty string
}

type runRow struct {
	dtbase.ServiceRun
	StatusClass string // status-2 … status-5, status-0 for no answer
	StatusText  string
	Params      string
	Response    string
}

func (h *Handler) servicePage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	name := r.URL.Query().Get("name")
	sv, err := h.store.FindService(ctx, name)
	if err != nil {
		return err
	}
	d := &servicePageData{Service: sv, CanRun: h.cfg.Services != nil, Now: h.now(), Edit: r.URL.Query().Get("edit"), EditJSON: "{\n  \n}"}
	sets, err := h.store.ListParameterSets(ctx, &name)
	if err != nil {
		return err
	}
	for _, p := range sets {
		row := paramSetRow{ParameterSet: p, Pretty: prettyJSON(p.Parameters)}
		if p.Name == d.Edit {
			d.EditJSON = row.Pretty
		}
		d.Sets = append(d.Sets, row)
	}
	runs, err := h.store.ListRuns(ctx, dtbase.RunFilter{ServiceName: &name, Limit: recentRuns})
	if err != nil {
		return err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		d.Runs = append(d.Runs, newRunRow(runs[i]))
		d.Running = d.Running || !runs[i].Status.Done()
	}
	if d.Schedules, err = h.store.ListSchedules(ctx, &name); err != nil {
		return err
	}
	if id, err := strconv.ParseInt(r.URL.Query().Get("run"), 10, 64); err == nil {
		if run, err := h.store.FindRun(ctx, id); err == nil && run.ServiceName == name {
			d.Result = newRunResult(*run, r.URL.Query().Get("at"))
		}
	}
	h.render(w, r, http.StatusOK, "service.html", &view{Title: "Service " + name, Nav: "services", Session: s, Data: d})
	return nil
}

func newRunRow(run dtbase.ServiceRun) runRow {
	row := runRow{ServiceRun: run, Params: prettyJSON(run.Parameters), Response: prettyJSON(run.ResponseJSON)}
	switch {
	case run.StatusCode != nil:
		code := *run.StatusCode
		row.StatusClass = "status-" + strconv.Itoa(code/100)
		row.StatusText = strconv.Itoa(code) + " " + http.StatusText(code)
	case !run.Status.Done():
		row.StatusClass = "status-1"
		row.StatusText = string(run.Status)
	default:
		row.StatusClass = "status-0"
		row.StatusText = "no answer"
		if run.TimedOut {
			row.StatusText = "timed out"
		}
	}
	return row
}

// prettyJSON indents JSON for reading; other text is returned as it is.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return string(raw)
	}
	return out.String()
}

// parseParameters checks a JSON editor's text: a JSON object.
func parseParameters(text string) (json.RawMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		text = "{}"
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalid("The parameters are not valid JSON: %v.", err)
	}
	if dec.More() {
		return nil, invalid("The parameters hold more than one JSON value.")
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, invalid("The parameters must be a JSON object, like {\"key\": \"value\"}.")
	}
	return json.RawMessage(text), nil
}

// saveParameterSet creates a set, or replaces the parameters of an existing
// one of the same name.
func (h *Handler) saveParameterSet(r *http.Request, s *session) (string, string, error) {
	ctx := r.Context()
	service := r.PostFormValue("service")
	back := serviceURL(service)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		return back, "", invalid("The parameter set needs a name.")
	}
	params, err := parseParameters(r.PostFormValue("parameters"))
	if err != nil {
		return back, "", err
	}
	err = h.store.CreateParameterSet(ctx, &dtbase.ParameterSet{ServiceName: service, Name: name, Parameters: params})
	if dtbase.ErrorCode(err) == dtbase.ECONFLICT {
		if err := h.store.UpdateParameterSet(ctx, service, name, params); err != nil {
			return back, "", err
		}
		return back, "Parameter set " + name + " saved.", nil
	}
	if err != nil {
		return back, "", err
	}
	return back, "Parameter set " + name + " created.", nil
}

func (h *Handler) deleteParameterSet(r *http.Request, s *session) (string, string, error) {
	return deleteOfService(r, h.store.DeleteParameterSet, "Parameter set %s deleted; its runs stay in the log.")
}

// deleteOfService deletes, with del, the item named by the form of the
// service named by the form, and returns to the service page with done,
// in which %s stands for the item's name.
func deleteOfService(r *http.Request, del func(ctx context.Context, service, name string) error, done string) (string, string, error) {
	service, name := r.PostFormValue("service"), r.PostFormValue("name")
	if err := del(r.Context(), service, name); err != nil {
		return serviceURL(service), "", err
	}
	return serviceURL(service), fmt.Sprintf(done, name), nil
}

// runWait is how long a run started from the page is waited for, so that a
// quick outcome (a failure most often) is shown at once rather than
// "started".
const runWait = 3 * time.Second

// runService starts a run in the background, waits up to runWait for it to
// end, and returns to the service page, which shows the outcome where the
// user clicked; a run still going refreshes itself, as does the run log.
func (h *Handler) runService(r *http.Request, s *session) (string, string, error) {
	service := r.PostFormValue("service")
	back := serviceURL(service)
	if h.cfg.Services == nil {
		return back, "", invalid("Services cannot be run: the service runner is not available.")
	}
	req := dtbase.RunRequest{ServiceName: service, TriggeredBy: s.User.Email}
	if set := r.PostFormValue("set"); set != "" {
		req.ParameterSetName = &set
	}
	if r.PostForm.Has("parameters") {
		params, err := parseParameters(r.PostFormValue("parameters"))
		if err != nil {
			return back, "", err
		}
		req.Parameters = params
	}
	// The run outlives this request, so it must not inherit its context.
	run, err := h.cfg.Services.Start(context.WithoutCancel(r.Context()), req)
	if err != nil {
		return back, "", err
	}
	h.awaitRun(r.Context(), run.ID, runWait)
	q := url.Values{"name": {service}, "run": {strconv.FormatInt(run.ID, 10)}}
	if req.ParameterSetName != nil && req.Parameters == nil {
		q.Set("at", *req.ParameterSetName) // the Run button of the set's row
	}
	return "/services/view?" + q.Encode() + "#run-result", "", nil
}

// awaitRun polls the run log until run id has ended or wait has passed.
func (h *Handler) awaitRun(ctx context.Context, id int64, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for pause := 20 * time.Millisecond; time.Now().Before(deadline); pause = min(2*pause, 250*time.Millisecond) {
		if run, err := h.store.FindRun(ctx, id); err != nil || run.Status.Done() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// cancelRun stops a pending or running run, on whichever replica runs it.
func (h *Handler) cancelRun(r *http.Request, s *session) (string, string, error) {
	back := serviceURL(r.PostFormValue("service"))
	if h.cfg.Services == nil {
		return back, "", invalid("Runs cannot be cancelled: the service runner is not available.")
	}
	id, err := strconv.ParseInt(r.PostFormValue("run"), 10, 64)
	if err != nil {
		return back, "", invalid("No run to cancel.")
	}
	if err := h.cfg.Services.Cancel(r.Context(), id, s.User.Email); err != nil {
		return back, "", err
	}
	return back, "Run " + strconv.FormatInt(id, 10) + " is being cancelled.", nil
}

func (h *Handler) createSchedule(r *http.Request, s *session) (string, string, error) {
	service := r.PostFormValue("service")
	back := serviceURL(service)
	if h.cfg.Services == nil {
		return back, "", invalid("Schedules cannot be checked: the service runner is not available.")
	}
	sc := &dtbase.Schedule{ServiceName: service, Name: strings.TrimSpace(r.PostFormValue("name")),
		Cron: strings.TrimSpace(r.PostFormValue("cron")), TimeZone: strings.TrimSpace(r.PostFormValue("time_zone")), Enabled: true}
	if sc.Name == "" {
		return back, "", invalid("The schedule needs a name.")
	}
	if sc.TimeZone == "" {
		sc.TimeZone = "UTC"
	}
	if set := r.PostFormValue("set"); set != "" {
		sc.ParameterSetName = &set
	}
	spec, err := h.cfg.Services.CheckCron(sc.Cron, sc.TimeZone, h.now())
	if err != nil {
		return back, "", err
	}
	sc.Cron, sc.TimeZone, sc.NextRun = spec.Cron, spec.TimeZone, spec.Next
	next := spec.Next
	if err := h.store.CreateSchedule(r.Context(), sc); err != nil {
		return back, "", err
	}
	return back, "Schedule " + sc.Name + " created; next run " + formatTime(next) + " UTC.", nil
}

// toggleSchedule enables or disables a schedule. Enabling recomputes the
// next run from now, so a long-disabled schedule does not fire at once.
func (h *Handler) toggleSchedule(r *http.Request, s *session) (string, string, error) {
	ctx := r.Context()
	service, name := r.PostFormValue("service"), r.PostFormValue("name")
	back := serviceURL(service)
	sc, err := h.store.FindSchedule(ctx, service, name)
	if err != nil {
		return back, "", err
	}
	sc.Enabled = !sc.Enabled
	if sc.Enabled {
		if h.cfg.Services == nil {
			return back, "", invalid("Schedules cannot be checked: the service runner is not available.")
		}
		spec, err := h.cfg.Services.CheckCron(sc.Cron, sc.TimeZone, h.now())
		if err != nil {
			return back, "", err
		}
		sc.NextRun = spec.Next
	}
	if err := h.store.UpdateSchedule(ctx, sc); err != nil {
		return back, "", err
	}
	if sc.Enabled {
		return back, "Schedule " + name + " enabled.", nil
	}
	return back, "Schedule " + name + " disabled.", nil
}

func (h *Handler) deleteSchedule(r *http.Request, s *session) (string, string, error) {
	return deleteOfService(r, h.store.DeleteSchedule, "Schedule %s deleted.")
}
