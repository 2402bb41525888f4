package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/dtbase/dtbase"
)

type alertsData struct {
	Alerts     []dtbase.Alert
	Rules      []ruleView
	Channels   []dtbase.AlertChannel
	CanTest    bool // test notifications can be sent
	Deliveries []dtbase.Delivery
	Rule       string
	Sensor     string
	State      string
	Now        time.Time
	// Paging: the rank of the first alert shown and the links to the
	// pages before and after ("" when there is none).
	First, Last  int
	Newer, Older string
	Filtered     bool
}

// ruleView is a rule as the alerts page lists it.
type ruleView struct {
	dtbase.AlertRule
	Condition string // in words
}

// alertsPageSize is how many alerts one page of the alerts page lists.
const alertsPageSize = 25

// alertsPage lists alerts (firing first) with filters, a page at a time,
// the rules with their silences, and the delivery log.
func (h *Handler) alertsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := &alertsData{Rule: q.Get("rule"), Sensor: strings.TrimSpace(q.Get("sensor")), State: q.Get("state"), Now: h.now(),
		CanTest: h.cfg.TestChannel != nil}
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	// One more than a page tells whether there is a next one.
	f := dtbase.AlertFilter{Limit: alertsPageSize + 1, Offset: (page - 1) * alertsPageSize}
	if d.Rule != "" {
		f.RuleName = &d.Rule
	}
	if d.Sensor != "" {
		f.Sensor = &d.Sensor
	}
	if d.State != "" {
		f.State = &d.State
	}
	d.Filtered = d.Rule != "" || d.Sensor != "" || d.State != ""
	if d.Alerts, err = h.store.ListAlerts(ctx, f); err != nil {
		return err
	}
	link := func(p int) string {
		return "/alerts" + buildQuery("rule", d.Rule, "sensor", d.Sensor, "state", d.State, "page", pageParam(p))
	}
	if len(d.Alerts) > alertsPageSize {
		d.Alerts, d.Older = d.Alerts[:alertsPageSize], link(page+1)
	}
	if page > 1 {
		d.Newer = link(page - 1)
	}
	d.First, d.Last = f.Offset+1, f.Offset+len(d.Alerts)
	rules, err := h.store.ListAlertRules(ctx)
	if err != nil {
		return err
	}
	types, err := h.store.ListSensorTypes(ctx)
	if err != nil {
		return err
	}
	units := map[int64]string{}
	for _, t := range types {
		for _, m := range t.Measures {
			units[m.ID] = derefString(m.Units)
		}
	}
	for _, r := range rules {
		d.Rules = append(d.Rules, ruleView{AlertRule: r, Condition: ruleText(r, units[r.MeasureID])})
	}
	if d.Channels, err = h.store.ListAlertChannels(ctx); err != nil {
		return err
	}
	if d.Deliveries, err = h.store.ListDeliveries(ctx, 50); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "alerts.html", &view{Title: "Alerts", Nav: "alerts", Session: s, Data: d})
	return nil
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

// createChannel adds a notification channel from the alerts page, under the
// API's rules: the outbound guard of services checks where it sends, and its
// secret (a webhook's signing key, an SMTP password) is stored sealed.
func (h *Handler) createChannel(r *http.Request, _ *session) (string, string, error) {
	const back = "/alerts#channels"
	field := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	c := &dtbase.AlertChannel{Name: field("name"), Kind: field("kind")}
	switch c.Kind {
	case dtbase.ChannelWebhook:
		c.URL = field("url")
	case dtbase.ChannelEmail:
		c.SMTPHost, c.SMTPSecurity, c.SMTPUser, c.From = field("smtp_host"), field("smtp_security"), field("smtp_user"), field("from")
		c.Recipients = strings.FieldsFunc(field("recipients"), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		port, err := strconv.Atoi(field("smtp_port"))
		if err != nil {
			return back, "", invalid("The SMTP port must be a number, such as 587.")
		}
		c.SMTPPort = port
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return back, "", err
	}
	if h.cfg.Services != nil {
		dest, _ := c.Destination()
		if err := h.cfg.Services.CheckServiceURL(dest, ""); err != nil {
			return back, "", err
		}
	}
	if secret := r.PostFormValue("secret"); secret != "" {
		if h.cfg.Services == nil {
			return back, "", invalid("Secrets cannot be stored: the service runner is not available.")
		}
		sealed, err := h.cfg.Services.SealCredential(secret)
		if err != nil {
			return back, "", err
		}
		c.Secret = sealed
	}
	if err := h.store.CreateAlertChannel(r.Context(), c); err != nil {
		return back, "", onConflict(err, "A channel named %s exists already.", c.Name)
	}
	return back, "Channel " + c.Name + " added.", nil
}

// testChannel sends a test notification through a channel at once.
func (h *Handler) testChannel(r *http.Request, _ *session) (string, string, error) {
	const back = "/alerts#channels"
	name := r.PostFormValue("name")
	line, err := dtbase.TestAlertChannel(r.Context(), h.store, h.cfg.TestChannel, name)
	if err != nil {
		return back, "", err
	}
	return back, "Test notification sent through " + name + ": " + line + ".", nil
}

func (h *Handler) deleteChannel(r *http.Request, _ *session) (string, string, error) {
	return deleteNamed(r, h.store.DeleteAlertChannel, "/alerts#channels", "Channel %s deleted.",
		"Channel %s is used by a rule: take it out of the rule first.")
}

func (h *Handler) deleteAlertRule(r *http.Request, _ *session) (string, string, error) {
	return deleteNamed(r, h.store.DeleteAlertRule, "/alerts", "Rule %s deleted with its alerts.", "")
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
func (h *Handler) ruleEditor(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	d := &ruleEditorData{Form: map[string]string{"target_kind": "sensor", "kind": dtbase.CondThreshold, "op": dtbase.OpAbove, "severity": dtbase.SeverityWarning}}
	var err error
	if d.Channels, err = h.store.ListAlertChannels(ctx); err != nil {
		return err
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
				return nil
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
	return nil
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

// chartThreshold is an enabled threshold rule drawn on a plot: one line
// (above, below) or two (the band of outside).
type chartThreshold struct {
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	Label    string    `json:"label"`
	Values   []float64 `json:"values"`
}

// chartMarker is an alert event drawn on a plot at its data time.
type chartMarker struct {
	T      float64 `json:"t"` // Unix seconds
	Kind   string  `json:"kind"`
	Sensor string  `json:"sensor"`
	Rule   string  `json:"rule"`
}

// maxChartMarkers bounds the events put on one page's plots.
const maxChartMarkers = 1000

// addAlertOverlays puts on each plot of cfg the lines of the enabled
// threshold rules on its measure that target one of its sensors (all of
// type typeName), and the fired and resolved events of its series between
// from and to. A location rule targets the sensors under its location at
// the end of the range.
func (h *Handler) addAlertOverlays(ctx context.Context, cfg *chartConfig, typeName string, from, to time.Time) error {
	rules, err := h.store.ListAlertRules(ctx)
	if err != nil || len(rules) == 0 {
		return err
	}
	under := map[int64]map[string]bool{}
	targets := func(r *dtbase.AlertRule, uid string) (bool, error) {
		switch t := r.Target; {
		case t.Sensor != nil:
			return *t.Sensor == uid, nil
		case t.SensorType != nil:
			return *t.SensorType == typeName, nil
		case t.LocationID != nil:
			set, ok := under[*t.LocationID]
			if !ok {
				placed, err := h.store.SensorsUnder(ctx, *t.LocationID, to)
				if err != nil && dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
					return false, err
				}
				set = map[string]bool{}
				for _, p := range placed {
					set[p.UniqueIdentifier] = true
				}
				under[*t.LocationID] = set
			}
			return set[uid], nil
		}
		return false, nil
	}
	measureOf := map[string]int64{} // rule name → measure id
	for i := range cfg.Charts {
		spec := &cfg.Charts[i]
		for j := range rules {
			r := &rules[j]
			measureOf[r.Name] = r.MeasureID
			c := r.Condition
			if !r.Enabled || c.Kind != dtbase.CondThreshold || len(spec.Series) == 0 || r.MeasureID != spec.Series[0].MeasureID {
				continue
			}
			for _, si := range spec.Series {
				ok, err := targets(r, si.Sensor)
				if err != nil {
					return err
				}
				if ok {
					th := chartThreshold{Rule: r.Name, Severity: r.Severity, Label: conditionText(c, spec.Units)}
					if c.Op == dtbase.OpOutside {
						th.Values = []float64{*c.Low, *c.High}
					} else {
						th.Values = []float64{*c.Value}
					}
					spec.Thresholds = append(spec.Thresholds, th)
					break
				}
			}
		}
	}
	// Events of the plotted sensors, each on the plots of its rule's
	// measure that show its sensor.
	n := 0
	seen := map[string]bool{}
	for _, si := range cfg.Series {
		if seen[si.Sensor] {
			continue
		}
		seen[si.Sensor] = true
		uid := si.Sensor
		evs, err := h.store.ListAlertEvents(ctx, dtbase.AlertFilter{Sensor: &uid, From: &from, To: &to, Limit: maxChartMarkers})
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Kind != dtbase.EventFired && e.Kind != dtbase.EventResolved {
				continue
			}
			for k := range cfg.Charts {
				c := &cfg.Charts[k]
				if n < maxChartMarkers && len(c.Series) > 0 && c.Series[0].MeasureID == measureOf[e.RuleName] &&
					slices.ContainsFunc(c.Series, func(x seriesIdent) bool { return x.Sensor == e.Sensor }) {
					c.Markers = append(c.Markers, chartMarker{T: float64(e.DataAt.UnixMicro()) / 1e6, Kind: e.Kind, Sensor: e.Sensor, Rule: e.RuleName})
					n++
				}
			}
		}
	}
	return nil
}

// conditionText says what a condition watches, in words: "above 28 °C
// for 10 min, hysteresis 0.5".
func conditionText(c dtbase.AlertCondition, units string) string {
	num := func(p *float64) string {
		if p == nil {
			return "?"
		}
		s := strconv.FormatFloat(*p, 'f', -1, 64)
		if units != "" {
			s += " " + units
		}
		return s
	}
	level := func() string {
		if c.Op == dtbase.OpOutside {
			lo := strconv.FormatFloat(deref0(c.Low), 'f', -1, 64)
			return "outside " + lo + "–" + num(c.High)
		}
		return c.Op + " " + num(c.Value)
	}
	var s string
	switch c.Kind {
	case dtbase.CondThreshold:
		s = level()
	case dtbase.CondRate:
		verb := map[string]string{dtbase.OpRise: "rises", dtbase.OpFall: "falls"}[c.Op]
		if verb == "" {
			verb = "rises or falls"
		}
		per := durationText(c.Per())
		if n, unit, _ := strings.Cut(per, " "); n == "1" {
			per = map[string]string{"d": "day", "h": "hour", "min": "minute", "s": "second"}[unit]
		}
		s = verb + " faster than " + num(c.Value) + " per " + per
	case dtbase.CondStaleness:
		var parts []string
		if c.MaxAgeSeconds > 0 {
			parts = append(parts, durationText(c.MaxAge()))
		}
		if c.IntervalMultiple > 0 {
			parts = append(parts, strconv.FormatFloat(c.IntervalMultiple, 'f', -1, 64)+" × the usual interval")
		}
		return "no reading for over " + strings.Join(parts, " or ")
	case dtbase.CondForecast:
		bound := c.Bound
		if bound == "" {
			bound = "mean"
		}
		return "forecast " + bound + " " + level() + " within " + strconv.FormatFloat(c.HorizonHours, 'f', -1, 64) + " h"
	default:
		return c.Kind
	}
	if c.ForSeconds > 0 {
		s += " for " + durationText(c.For())
	}
	if c.Hysteresis > 0 {
		s += ", hysteresis " + strconv.FormatFloat(c.Hysteresis, 'f', -1, 64)
	}
	return s
}

// ruleText is a rule's measure and condition in words: "temperature above
// 28 °C for 10 min".
func ruleText(r dtbase.AlertRule, units string) string {
	c := conditionText(r.Condition, units)
	if r.Condition.Kind == dtbase.CondStaleness {
		return "no " + r.Measure + strings.TrimPrefix(c, "no")
	}
	return r.Measure + " " + c
}

func deref0(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// durationText is a duration in its largest whole unit: "10 min", "6 h".
func durationText(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "min"}} {
		if d >= u.d && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + " " + u.name
		}
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}
