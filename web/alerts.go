package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

func (h *Handler) alertRoutes(viewer, editor dtbase.Role) {
	m := h.mux
	m.Handle("GET /alerts", h.page(viewer, h.alertsPage))
	m.Handle("POST /alerts/acknowledge", h.action(editor, h.acknowledgeAlert))
	m.Handle("POST /alerts/silence", h.action(editor, h.silenceRule))
	m.Handle("POST /alerts/rules/delete", h.action(editor, h.deleteAlertRule))
	m.Handle("GET /alerts/rule", h.page(editor, h.ruleEditor))
	m.Handle("POST /alerts/rule", h.page(editor, h.ruleEditor))
}

type alertsData struct {
	Alerts     []dtbase.Alert
	Rules      []dtbase.AlertRule
	Deliveries []dtbase.Delivery
	Rule       string
	Sensor     string
	State      string
	Now        time.Time
}

// alertsPage lists alerts (firing first) with filters, the rules with
// their silences, and the delivery log.
func (h *Handler) alertsPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	q := r.URL.Query()
	d := &alertsData{Rule: q.Get("rule"), Sensor: q.Get("sensor"), State: q.Get("state"), Now: h.now()}
	f := dtbase.AlertFilter{Limit: 500}
	if d.Rule != "" {
		f.RuleName = &d.Rule
	}
	if d.Sensor != "" {
		f.Sensor = &d.Sensor
	}
	if d.State != "" {
		f.State = &d.State
	}
	var err error
	if d.Alerts, err = h.store.ListAlerts(ctx, f); err != nil {
		h.fail(w, r, s, err)
		return
	}
	if d.Rules, err = h.store.ListAlertRules(ctx); err != nil {
		h.fail(w, r, s, err)
		return
	}
	if d.Deliveries, err = h.store.ListDeliveries(ctx, 50); err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.render(w, r, http.StatusOK, "alerts.html", &view{Title: "Alerts", Nav: "alerts", Session: s, Data: d})
}

func (h *Handler) acknowledgeAlert(r *http.Request, s *session) (string, string, error) {
	id, err := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
	if err != nil {
		return "/alerts", "", invalid("No such alert.")
	}
	if err := h.store.AcknowledgeAlert(r.Context(), id, s.User.Email, r.PostFormValue("note")); err != nil {
		return "/alerts", "", err
	}
	return "/alerts", "Alert acknowledged.", nil
}

func (h *Handler) silenceRule(r *http.Request, _ *session) (string, string, error) {
	name := r.PostFormValue("name")
	minutes, err := strconv.ParseFloat(r.PostFormValue("minutes"), 64)
	if err != nil || minutes < 0 || minutes > dtbase.MaxAlertDuration.Minutes() {
		return "/alerts", "", invalid("Minutes must be a number from 0 to 527040.")
	}
	var until *time.Time
	if minutes > 0 {
		t := h.now().Add(time.Duration(minutes * float64(time.Minute)))
		until = &t
	}
	if err := h.store.SilenceAlertRule(r.Context(), name, until); err != nil {
		return "/alerts", "", err
	}
	if until == nil {
		return "/alerts", "Rule " + name + " is no longer silenced.", nil
	}
	return "/alerts", "Rule " + name + " silenced until " + formatTime(*until) + ".", nil
}

func (h *Handler) deleteAlertRule(r *http.Request, _ *session) (string, string, error) {
	name := r.PostFormValue("name")
	if err := h.store.DeleteAlertRule(r.Context(), name); err != nil {
		return "/alerts", "", err
	}
	return "/alerts", "Rule " + name + " deleted with its alerts.", nil
}

type ruleEditorData struct {
	Form     map[string]string
	Channels []dtbase.AlertChannel
	Chosen   []string
	Preview  []dtbase.AlertPreview
	Previewd bool
	Error    string
}

// ruleFields are the editor's inputs, in form order.
var ruleFields = []string{"name", "target_kind", "target", "measure", "kind", "op", "value", "low", "high", "hysteresis",
	"for_seconds", "max_age_seconds", "interval_multiple", "per_seconds", "horizon_hours", "bound", "severity"}

// ruleEditor shows the rule form; posted with "preview" it shows how often
// the rule would have fired in the last 7 days on the stored data, with
// "save" it stores the rule.
func (h *Handler) ruleEditor(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	d := &ruleEditorData{Form: map[string]string{"target_kind": "sensor", "kind": dtbase.CondThreshold, "op": dtbase.OpAbove, "severity": dtbase.SeverityWarning}}
	var err error
	if d.Channels, err = h.store.ListAlertChannels(ctx); err != nil {
		h.fail(w, r, s, err)
		return
	}
	if r.Method == http.MethodPost {
		for _, f := range ruleFields {
			d.Form[f] = strings.TrimSpace(r.PostFormValue(f))
		}
		d.Chosen = r.PostForm["channels"]
		rule, err := ruleFromForm(d.Form, d.Chosen)
		if err == nil && r.PostFormValue("save") != "" {
			if err = h.store.CreateAlertRule(ctx, rule); err == nil {
				setFlash(w, r, "success", "Rule "+rule.Name+" created.")
				http.Redirect(w, r, "/alerts", http.StatusSeeOther)
				return
			}
		} else if err == nil {
			now := h.now()
			d.Preview, err = h.store.PreviewAlertRule(ctx, rule, now.Add(-7*24*time.Hour), now)
			d.Previewd = err == nil
		}
		if err != nil {
			d.Error = dtbase.ErrorMessage(err)
		}
	}
	h.render(w, r, http.StatusOK, "alert_rule.html", &view{Title: "New alert rule", Nav: "alerts", Session: s, Data: d})
}

// ruleFromForm builds a rule from the editor's fields; EINVALID names a
// number that does not parse.
func ruleFromForm(f map[string]string, channels []string) (*dtbase.AlertRule, error) {
	r := &dtbase.AlertRule{Name: f["name"], Measure: f["measure"], Severity: f["severity"], Channels: channels, Enabled: true,
		Condition: dtbase.AlertCondition{Kind: f["kind"], Op: f["op"], Bound: f["bound"]}}
	if r.Channels == nil {
		r.Channels = []string{}
	}
	target := f["target"]
	switch f["target_kind"] {
	case "sensor_type":
		r.Target.SensorType = &target
	case "location":
		id, err := strconv.ParseInt(target, 10, 64)
		if err != nil {
			return nil, invalid("The location must be a location id.")
		}
		r.Target.LocationID = &id
	default:
		r.Target.Sensor = &target
	}
	num := func(field string, dst **float64, plain *float64) error {
		v := f[field]
		if v == "" {
			return nil
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return invalid("%s must be a number.", strings.ReplaceAll(field, "_", " "))
		}
		if dst != nil {
			*dst = &x
		} else {
			*plain = x
		}
		return nil
	}
	c := &r.Condition
	for _, err := range []error{num("value", &c.Value, nil), num("low", &c.Low, nil), num("high", &c.High, nil),
		num("hysteresis", nil, &c.Hysteresis), num("for_seconds", nil, &c.ForSeconds), num("max_age_seconds", nil, &c.MaxAgeSeconds), num("interval_multiple", nil, &c.IntervalMultiple),
		num("per_seconds", nil, &c.PerSeconds), num("horizon_hours", nil, &c.HorizonHours)} {
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// openAlerts returns the alerts not resolved, firing first, for the
// dashboard.
func (h *Handler) openAlerts(ctx context.Context) ([]dtbase.Alert, error) {
	var out []dtbase.Alert
	for _, state := range []string{dtbase.AlertFiring, dtbase.AlertAcknowledged} {
		a, err := h.store.ListAlerts(ctx, dtbase.AlertFilter{State: &state, Limit: 20})
		if err != nil {
			return nil, err
		}
		out = append(out, a...)
	}
	return out, nil
}
