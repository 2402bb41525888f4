package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// conditionBody is a rule's condition on the wire; docs/alerts.md says
// which fields each kind uses.
type conditionBody struct {
	Kind             string   `json:"kind" dt:"max=name"`
	Op               *string  `json:"op" dt:"optional,max=name"`
	Value            *float64 `json:"value" dt:"optional"`
	Low              *float64 `json:"low" dt:"optional"`
	High             *float64 `json:"high" dt:"optional"`
	Hysteresis       *float64 `json:"hysteresis" dt:"optional"`
	ForSeconds       *float64 `json:"for_seconds" dt:"optional"`
	MaxAgeSeconds    *float64 `json:"max_age_seconds" dt:"optional"`
	IntervalMultiple *float64 `json:"interval_multiple" dt:"optional"`
	PerSeconds       *float64 `json:"per_seconds" dt:"optional"`
	HorizonHours     *float64 `json:"horizon_hours" dt:"optional"`
	Bound            *string  `json:"bound" dt:"optional,max=name"`
}

type targetBody struct {
	Sensor     *string `json:"sensor" dt:"optional,max=name"`
	SensorType *string `json:"sensor_type" dt:"optional,max=name"`
	LocationID *int64  `json:"location_id" dt:"optional"`
}

type ruleBody struct {
	Name      string        `json:"name" dt:"max=name"`
	Target    targetBody    `json:"target"`
	Measure   string        `json:"measure" dt:"max=name"`
	Condition conditionBody `json:"condition"`
	Severity  *string       `json:"severity" dt:"optional,max=name"`
	Channels  []string      `json:"channels" dt:"optional,max=name"`
	Enabled   *bool         `json:"enabled" dt:"optional"`
}

type ruleInfo struct {
	Name          string                `json:"name"`
	Target        dtbase.AlertTarget    `json:"target"`
	Measure       string                `json:"measure"`
	Condition     dtbase.AlertCondition `json:"condition"`
	Severity      string                `json:"severity"`
	Channels      []string              `json:"channels"`
	Enabled       bool                  `json:"enabled"`
	SilencedUntil *dtbase.Time          `json:"silenced_until"`
}

type previewRequest struct {
	Rule ruleBody `json:"rule"`
	Days *float64 `json:"days" dt:"optional"`
}

type previewEpisode struct {
	Sensor     string       `json:"sensor"`
	Since      dtbase.Time  `json:"since"`
	FiredAt    dtbase.Time  `json:"fired_at"`
	ResolvedAt *dtbase.Time `json:"resolved_at"`
	Value      float64      `json:"value"`
}

type previewResponse struct {
	Fired    int              `json:"fired"`
	From     dtbase.Time      `json:"from"`
	To       dtbase.Time      `json:"to"`
	Episodes []previewEpisode `json:"episodes"`
}

type channelBody struct {
	Name         string   `json:"name" dt:"max=name"`
	Kind         string   `json:"kind" dt:"max=name"`
	URL          *string  `json:"url" dt:"optional,max=url"`
	Secret       *string  `json:"secret" dt:"optional,max=credential"`
	SMTPHost     *string  `json:"smtp_host" dt:"optional,max=url"`
	SMTPPort     *int     `json:"smtp_port" dt:"optional"`
	SMTPSecurity *string  `json:"smtp_security" dt:"optional,max=name"`
	SMTPUser     *string  `json:"smtp_user" dt:"optional,max=email"`
	SMTPPassword *string  `json:"smtp_password" dt:"optional,max=credential"`
	From         *string  `json:"from" dt:"optional,max=email"`
	Recipients   []string `json:"recipients" dt:"optional,max=email"`
}

type channelInfo struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	URL          string   `json:"url,omitempty"`
	SMTPHost     string   `json:"smtp_host,omitempty"`
	SMTPPort     int      `json:"smtp_port,omitempty"`
	SMTPSecurity string   `json:"smtp_security,omitempty"`
	SMTPUser     string   `json:"smtp_user,omitempty"`
	From         string   `json:"from,omitempty"`
	Recipients   []string `json:"recipients,omitempty"`
}

type alertFilterBody struct {
	Rule   *string    `json:"rule" dt:"optional,max=name"`
	Sensor *string    `json:"sensor" dt:"optional,max=name"`
	State  *string    `json:"state" dt:"optional,max=name"`
	From   *time.Time `json:"dt_from" dt:"optional"`
	To     *time.Time `json:"dt_to" dt:"optional"`
	Limit  *int       `json:"limit" dt:"optional"`
}

type alertInfo struct {
	ID         int64        `json:"id"`
	Rule       string       `json:"rule"`
	Severity   string       `json:"severity"`
	Sensor     string       `json:"sensor"`
	Measure    string       `json:"measure"`
	State      string       `json:"state"`
	Since      dtbase.Time  `json:"since"`
	FiredAt    dtbase.Time  `json:"fired_at"`
	ResolvedAt *dtbase.Time `json:"resolved_at"`
	AckBy      *string      `json:"acknowledged_by"`
	AckNote    *string      `json:"acknowledge_note"`
	Value      *float64     `json:"value"`
	Message    string       `json:"message"`
}

type eventInfo struct {
	ID       string      `json:"id"`
	AlertID  int64       `json:"alert_id"`
	Rule     string      `json:"rule"`
	Severity string      `json:"severity"`
	Sensor   string      `json:"sensor"`
	Measure  string      `json:"measure"`
	Kind     string      `json:"kind"`
	Time     dtbase.Time `json:"time"`
	DataTime dtbase.Time `json:"data_time"`
	Value    *float64    `json:"value"`
	By       *string     `json:"by"`
	Note     *string     `json:"note"`
	Message  string      `json:"message"`
}

type deliveryInfo struct {
	EventID string      `json:"event_id"`
	Channel string      `json:"channel"`
	Attempt int         `json:"attempt"`
	Time    dtbase.Time `json:"time"`
	OK      bool        `json:"ok"`
	Detail  string      `json:"detail"`
}

type acknowledgeRequest struct {
	AlertID int64   `json:"alert_id"`
	Note    *string `json:"note" dt:"optional,max=description"`
}

type silenceRequest struct {
	Name string `json:"name" dt:"max=name"`
	// Minutes silences the rule for that long from now; 0 lifts it.
	Minutes float64 `json:"minutes"`
}

type limitBody struct {
	Limit *int `json:"limit" dt:"optional"`
}

// alertRoutes registers the /alert/ endpoints.
func (s *Server) alertRoutes() {
	const post, get = http.MethodPost, http.MethodGet
	ed, vw := dtbase.RoleEditor, dtbase.RoleViewer
	handle(s, post, "/alert/insert-channel", ed, http.StatusCreated, "Add a notification channel: a webhook (signed with its secret) or e-mail over SMTP", s.insertAlertChannel)
	handle(s, get, "/alert/list-channels", vw, http.StatusOK, "List notification channels, without secrets", s.listAlertChannels)
	handle(s, post, "/alert/delete-channel", ed, http.StatusOK, "Delete a notification channel that no rule uses", s.deleteAlertChannel)
	handle(s, post, "/alert/test-channel", ed, http.StatusOK, "Send a test notification through a channel now; a 400 says why it failed", s.testAlertChannel)
	handle(s, post, "/alert/insert-rule", ed, http.StatusCreated, "Add an alert rule", s.insertAlertRule)
	handle(s, post, "/alert/edit-rule", ed, http.StatusOK, "Replace an alert rule, found by name", s.editAlertRule)
	handle(s, get, "/alert/list-rules", vw, http.StatusOK, "List alert rules", s.listAlertRules)
	handle(s, post, "/alert/delete-rule", ed, http.StatusOK, "Delete an alert rule with its alerts", s.deleteAlertRule)
	handle(s, post, "/alert/silence-rule", ed, http.StatusOK, "Silence a rule's notifications for a number of minutes (0 lifts the silence)", s.silenceAlertRule)
	handle(s, post, "/alert/preview-rule", vw, http.StatusOK, "How often a rule would have fired on the stored data of the last days (default 7)", s.previewAlertRule)
	handle(s, post, "/alert/list-alerts", vw, http.StatusOK, "List alerts, firing first, by rule, sensor, state and time range", s.listAlerts).bodyOptional = true
	handle(s, post, "/alert/list-events", vw, http.StatusOK, "List alert events (fired, acknowledged, resolved), newest first, by rule, sensor and data time range", s.listAlertEvents).bodyOptional = true
	handle(s, post, "/alert/acknowledge", ed, http.StatusOK, "Acknowledge a firing alert, with a note", s.acknowledgeAlert)
	handle(s, post, "/alert/list-deliveries", vw, http.StatusOK, "List the newest notification attempts", s.listAlertDeliveries).bodyOptional = true
}

func (b *ruleBody) rule() *dtbase.AlertRule {
	c := b.Condition
	r := &dtbase.AlertRule{Name: b.Name, Measure: b.Measure, Severity: dtbase.SeverityWarning, Channels: b.Channels, Enabled: true,
		Target:    dtbase.AlertTarget{Sensor: b.Target.Sensor, SensorType: b.Target.SensorType, LocationID: b.Target.LocationID},
		Condition: dtbase.AlertCondition{Kind: c.Kind, Value: c.Value, Low: c.Low, High: c.High}}
	setGiven(&r.Condition.Hysteresis, c.Hysteresis)
	setGiven(&r.Condition.ForSeconds, c.ForSeconds)
	setGiven(&r.Condition.MaxAgeSeconds, c.MaxAgeSeconds)
	setGiven(&r.Condition.IntervalMultiple, c.IntervalMultiple)
	setGiven(&r.Condition.PerSeconds, c.PerSeconds)
	setGiven(&r.Condition.HorizonHours, c.HorizonHours)
	setGiven(&r.Condition.Op, c.Op)
	setGiven(&r.Condition.Bound, c.Bound)
	setGiven(&r.Severity, b.Severity)
	setGiven(&r.Enabled, b.Enabled)
	if r.Channels == nil {
		r.Channels = []string{}
	}
	return r
}

func (s *Server) insertAlertChannel(ctx context.Context, req *channelBody) (detail, error) {
	c := &dtbase.AlertChannel{Name: req.Name, Kind: req.Kind, Recipients: req.Recipients}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return strings.TrimSpace(*p)
	}
	c.URL, c.SMTPHost, c.SMTPSecurity, c.SMTPUser, c.From = str(req.URL), str(req.SMTPHost), str(req.SMTPSecurity), str(req.SMTPUser), str(req.From)
	setGiven(&c.SMTPPort, req.SMTPPort)
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return detail{}, fieldError422(err, nil)
	}
	// The same guard as services: refused hosts are refused when
	// registered, and again on every call.
	dest, field := c.Destination()
	if err := s.checkServiceURL(dest, ""); err != nil {
		return detail{}, relocate(err, field)
	}
	secret := req.Secret
	if c.Kind == dtbase.ChannelEmail {
		secret = req.SMTPPassword
	}
	if secret != nil && *secret != "" {
		if s.cfg.Services == nil {
			return detail{}, dtbase.Errorf(dtbase.EINVALID, "Channel secrets are not available on this server")
		}
		sealed, err := s.cfg.Services.SealCredential(*secret)
		if err != nil {
			return detail{}, err
		}
		c.Secret = sealed
	}
	return done(fieldError422(s.store.CreateAlertChannel(ctx, c), nil), "Alert channel created successfully.")
}

// relocate renames the field of a URL check's 422.
func relocate(err error, field string) error {
	var ve *validationError
	if errors.As(err, &ve) {
		for i := range ve.errs {
			ve.errs[i].Loc = []any{"body", field}
		}
	}
	return err
}

func (s *Server) listAlertChannels(ctx context.Context, _ *noBody) ([]channelInfo, error) {
	cs, err := s.store.ListAlertChannels(ctx)
	return each(cs, func(c dtbase.AlertChannel) channelInfo {
		return channelInfo{c.Name, c.Kind, c.URL, c.SMTPHost, c.SMTPPort, c.SMTPSecurity, c.SMTPUser, c.From, c.Recipients}
	}), err
}

func (s *Server) testAlertChannel(ctx context.Context, req *nameRequest) (detail, error) {
	line, err := dtbase.TestAlertChannel(ctx, s.store, s.cfg.TestChannel, req.Name)
	return done(err, "Test notification sent: "+line)
}

func (s *Server) deleteAlertChannel(ctx context.Context, req *nameRequest) (detail, error) {
	return done(s.store.DeleteAlertChannel(ctx, req.Name), "Alert channel deleted successfully.")
}

func (s *Server) insertAlertRule(ctx context.Context, req *ruleBody) (detail, error) {
	return done(fieldError422(s.store.CreateAlertRule(ctx, req.rule()), nil), "Alert rule created successfully.")
}

func (s *Server) editAlertRule(ctx context.Context, req *ruleBody) (detail, error) {
	return done(fieldError422(s.store.UpdateAlertRule(ctx, req.rule()), nil), "Alert rule edited successfully.")
}

func (s *Server) listAlertRules(ctx context.Context, _ *noBody) ([]ruleInfo, error) {
	rules, err := s.store.ListAlertRules(ctx)
	return each(rules, func(r dtbase.AlertRule) ruleInfo {
		return ruleInfo{r.Name, r.Target, r.Measure, r.Condition, r.Severity, r.Channels, r.Enabled, optTime(r.SilencedUntil)}
	}), err
}

func (s *Server) deleteAlertRule(ctx context.Context, req *nameRequest) (detail, error) {
	return done(s.store.DeleteAlertRule(ctx, req.Name), "Alert rule deleted successfully.")
}

func (s *Server) silenceAlertRule(ctx context.Context, req *silenceRequest) (detail, error) {
	if req.Minutes < 0 || req.Minutes > dtbase.MaxAlertDuration.Minutes() {
		return detail{}, invalidField([]any{"minutes"}, "Must be between 0 and 527040 (366 days)", req.Minutes)
	}
	var until *time.Time
	if req.Minutes > 0 {
		t := time.Now().UTC().Add(time.Duration(req.Minutes * float64(time.Minute)))
		until = &t
	}
	if err := s.store.SilenceAlertRule(ctx, req.Name, until); err != nil {
		return detail{}, err
	}
	if until == nil {
		return detail{"Alert rule silence lifted."}, nil
	}
	return detail{"Alert rule silenced until " + dtbase.FormatTime(*until) + "."}, nil
}

func (s *Server) previewAlertRule(ctx context.Context, req *previewRequest) (previewResponse, error) {
	days := 7.0
	setGiven(&days, req.Days)
	if days <= 0 || days > 366 {
		return previewResponse{}, invalidField([]any{"days"}, "Must be more than 0 and at most 366", days)
	}
	to := time.Now().UTC()
	from := to.Add(-time.Duration(days * 24 * float64(time.Hour)))
	eps, err := s.store.PreviewAlertRule(ctx, req.Rule.rule(), from, to)
	if err != nil {
		return previewResponse{}, fieldError422(err, nil, "rule")
	}
	out := previewResponse{Fired: len(eps), From: dtbase.Time(from), To: dtbase.Time(to), Episodes: make([]previewEpisode, 0, len(eps))}
	for _, e := range eps {
		out.Episodes = append(out.Episodes, previewEpisode{e.Sensor, dtbase.Time(e.Since), dtbase.Time(e.FiredAt), optTime(e.ResolvedAt), e.Value})
	}
	return out, nil
}

func (f *alertFilterBody) filter() (dtbase.AlertFilter, error) {
	out := dtbase.AlertFilter{RuleName: f.Rule, Sensor: f.Sensor, State: f.State, From: f.From, To: f.To}
	if f.State != nil {
		switch *f.State {
		case dtbase.AlertFiring, dtbase.AlertAcknowledged, dtbase.AlertResolved:
		default:
			return out, invalidField([]any{"state"}, "Must be firing, acknowledged or resolved", *f.State)
		}
	}
	if f.Limit != nil {
		if *f.Limit < 1 || *f.Limit > 10000 {
			return out, invalidField([]any{"limit"}, "Must be between 1 and 10000", *f.Limit)
		}
		out.Limit = *f.Limit
	}
	return out, nil
}

func (s *Server) listAlerts(ctx context.Context, req *alertFilterBody) ([]alertInfo, error) {
	f, err := req.filter()
	if err != nil {
		return nil, err
	}
	alerts, err := s.store.ListAlerts(ctx, f)
	return each(alerts, func(a dtbase.Alert) alertInfo {
		return alertInfo{a.ID, a.RuleName, a.Severity, a.Sensor, a.Measure, a.State, dtbase.Time(a.Since), dtbase.Time(a.FiredAt),
			optTime(a.ResolvedAt), a.AckBy, a.AckNote, a.Value, a.Message}
	}), err
}

func (s *Server) listAlertEvents(ctx context.Context, req *alertFilterBody) ([]eventInfo, error) {
	f, err := req.filter()
	if err != nil {
		return nil, err
	}
	events, err := s.store.ListAlertEvents(ctx, f)
	return each(events, func(e dtbase.AlertEvent) eventInfo {
		return eventInfo{e.ID, e.AlertID, e.RuleName, e.Severity, e.Sensor, e.Measure, e.Kind, dtbase.Time(e.At), dtbase.Time(e.DataAt),
			e.Value, e.By, e.Note, e.Message}
	}), err
}

func (s *Server) acknowledgeAlert(ctx context.Context, req *acknowledgeRequest) (detail, error) {
	p, _ := PrincipalFrom(ctx)
	var note string
	setGiven(&note, req.Note)
	return done(s.store.AcknowledgeAlert(ctx, req.AlertID, p.Email, note), "Alert acknowledged.")
}

func (s *Server) listAlertDeliveries(ctx context.Context, req *limitBody) ([]deliveryInfo, error) {
	limit := 100
	setGiven(&limit, req.Limit)
	ds, err := s.store.ListDeliveries(ctx, limit)
	return each(ds, func(d dtbase.Delivery) deliveryInfo {
		return deliveryInfo{d.EventID, d.Channel, d.Attempt, dtbase.Time(d.At), d.OK, d.Detail}
	}), err
}
