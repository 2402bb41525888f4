package client

import (
	"context"
	"net/http"
	"time"
)

// AlertCondition says when a rule fires; see docs/alerts.md for which
// fields each kind (threshold, rate, staleness, forecast) uses.
type AlertCondition struct {
	Kind             string   `json:"kind"`
	Op               string   `json:"op,omitempty"`
	Value            *float64 `json:"value,omitempty"`
	Low              *float64 `json:"low,omitempty"`
	High             *float64 `json:"high,omitempty"`
	Hysteresis       float64  `json:"hysteresis,omitempty"`
	ForSeconds       float64  `json:"for_seconds,omitempty"`
	MaxAgeSeconds    float64  `json:"max_age_seconds,omitempty"`
	IntervalMultiple float64  `json:"interval_multiple,omitempty"`
	PerSeconds       float64  `json:"per_seconds,omitempty"`
	HorizonHours     float64  `json:"horizon_hours,omitempty"`
	Bound            string   `json:"bound,omitempty"`
}

// AlertTarget is exactly one of a sensor, a sensor type or a location.
type AlertTarget struct {
	Sensor     *string `json:"sensor,omitempty"`
	SensorType *string `json:"sensor_type,omitempty"`
	LocationID *int64  `json:"location_id,omitempty"`
}

// AlertRule is a rule as written and listed.
type AlertRule struct {
	Name          string         `json:"name"`
	Target        AlertTarget    `json:"target"`
	Measure       string         `json:"measure"`
	Condition     AlertCondition `json:"condition"`
	Severity      string         `json:"severity,omitempty"`
	Channels      []string       `json:"channels,omitempty"`
	Enabled       *bool          `json:"enabled,omitempty"`
	SilencedUntil *time.Time     `json:"silenced_until,omitempty"`
}

// AlertChannel is a webhook or an e-mail channel. Secret and SMTPPassword
// are only sent, never listed.
type AlertChannel struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	URL          string   `json:"url,omitempty"`
	Secret       string   `json:"secret,omitempty"`
	SMTPHost     string   `json:"smtp_host,omitempty"`
	SMTPPort     int      `json:"smtp_port,omitempty"`
	SMTPSecurity string   `json:"smtp_security,omitempty"`
	SMTPUser     string   `json:"smtp_user,omitempty"`
	SMTPPassword string   `json:"smtp_password,omitempty"`
	From         string   `json:"from,omitempty"`
	Recipients   []string `json:"recipients,omitempty"`
}

// Alert is one episode of a rule on a sensor.
type Alert struct {
	ID              int64      `json:"id"`
	Rule            string     `json:"rule"`
	Severity        string     `json:"severity"`
	Sensor          string     `json:"sensor"`
	Measure         string     `json:"measure"`
	State           string     `json:"state"`
	Since           time.Time  `json:"since"`
	FiredAt         time.Time  `json:"fired_at"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	AcknowledgedBy  *string    `json:"acknowledged_by"`
	AcknowledgeNote *string    `json:"acknowledge_note"`
	Value           *float64   `json:"value"`
	Message         string     `json:"message"`
}

// AlertEvent is one state change of an alert; ID is stable.
type AlertEvent struct {
	ID       string    `json:"id"`
	AlertID  int64     `json:"alert_id"`
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	Sensor   string    `json:"sensor"`
	Measure  string    `json:"measure"`
	Kind     string    `json:"kind"`
	Time     time.Time `json:"time"`
	DataTime time.Time `json:"data_time"`
	Value    *float64  `json:"value"`
	By       *string   `json:"by"`
	Note     *string   `json:"note"`
	Message  string    `json:"message"`
}

// AlertQuery filters alerts and events; zero fields select all.
type AlertQuery struct {
	Rule   *string    `json:"rule,omitempty"`
	Sensor *string    `json:"sensor,omitempty"`
	State  *string    `json:"state,omitempty"`
	From   *time.Time `json:"dt_from,omitempty"`
	To     *time.Time `json:"dt_to,omitempty"`
	Limit  *int       `json:"limit,omitempty"`
}

// AlertPreview is how often a rule would have fired on the stored data.
type AlertPreview struct {
	Fired    int       `json:"fired"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Episodes []struct {
		Sensor     string     `json:"sensor"`
		Since      time.Time  `json:"since"`
		FiredAt    time.Time  `json:"fired_at"`
		ResolvedAt *time.Time `json:"resolved_at"`
		Value      float64    `json:"value"`
	} `json:"episodes"`
}

// AlertDelivery is one attempt to send a notification.
type AlertDelivery struct {
	EventID string    `json:"event_id"`
	Channel string    `json:"channel"`
	Attempt int       `json:"attempt"`
	Time    time.Time `json:"time"`
	OK      bool      `json:"ok"`
	Detail  string    `json:"detail"`
}

// InsertAlertChannel adds a notification channel (/alert/insert-channel).
func (c *Client) InsertAlertChannel(ctx context.Context, ch AlertChannel) error {
	return c.call(ctx, http.MethodPost, "/alert/insert-channel", ch, http.StatusCreated, nil)
}

// ListAlertChannels lists the channels, without secrets.
func (c *Client) ListAlertChannels(ctx context.Context) ([]AlertChannel, error) {
	return list[AlertChannel](ctx, c, http.MethodGet, "/alert/list-channels", nil)
}

// DeleteAlertChannel deletes a channel no rule uses.
func (c *Client) DeleteAlertChannel(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, "/alert/delete-channel", map[string]string{"name": name}, http.StatusOK, nil)
}

// TestAlertChannel sends a test notification through a channel now and
// returns the server's account of it; an error says why it failed.
func (c *Client) TestAlertChannel(ctx context.Context, name string) (string, error) {
	var out struct {
		Detail string `json:"detail"`
	}
	err := c.call(ctx, http.MethodPost, "/alert/test-channel", map[string]string{"name": name}, http.StatusOK, &out)
	return out.Detail, err
}

// InsertAlertRule adds a rule (/alert/insert-rule).
func (c *Client) InsertAlertRule(ctx context.Context, r AlertRule) error {
	return c.call(ctx, http.MethodPost, "/alert/insert-rule", r, http.StatusCreated, nil)
}

// EditAlertRule replaces a rule found by name (/alert/edit-rule).
func (c *Client) EditAlertRule(ctx context.Context, r AlertRule) error {
	return c.call(ctx, http.MethodPost, "/alert/edit-rule", r, http.StatusOK, nil)
}

// ListAlertRules lists the rules.
func (c *Client) ListAlertRules(ctx context.Context) ([]AlertRule, error) {
	return list[AlertRule](ctx, c, http.MethodGet, "/alert/list-rules", nil)
}

// DeleteAlertRule deletes a rule with its alerts.
func (c *Client) DeleteAlertRule(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, "/alert/delete-rule", map[string]string{"name": name}, http.StatusOK, nil)
}

// SilenceAlertRule stops a rule's notifications for d (0 lifts it).
func (c *Client) SilenceAlertRule(ctx context.Context, name string, d time.Duration) error {
	return c.call(ctx, http.MethodPost, "/alert/silence-rule", map[string]any{"name": name, "minutes": d.Minutes()}, http.StatusOK, nil)
}

// PreviewAlertRule replays a rule, not stored, over the last days of data.
func (c *Client) PreviewAlertRule(ctx context.Context, r AlertRule, days float64) (AlertPreview, error) {
	return fetch[AlertPreview](ctx, c, http.MethodPost, "/alert/preview-rule", map[string]any{"rule": r, "days": days}, http.StatusOK)
}

// ListAlerts lists alerts, firing first.
func (c *Client) ListAlerts(ctx context.Context, q AlertQuery) ([]Alert, error) {
	return list[Alert](ctx, c, http.MethodPost, "/alert/list-alerts", q)
}

// ListAlertEvents lists alert events, newest first.
func (c *Client) ListAlertEvents(ctx context.Context, q AlertQuery) ([]AlertEvent, error) {
	return list[AlertEvent](ctx, c, http.MethodPost, "/alert/list-events", q)
}

// AcknowledgeAlert acknowledges a firing alert as the signed-in user.
func (c *Client) AcknowledgeAlert(ctx context.Context, alertID int64, note string) error {
	return c.call(ctx, http.MethodPost, "/alert/acknowledge", map[string]any{"alert_id": alertID, "note": note}, http.StatusOK, nil)
}

// ListAlertDeliveries lists the newest notification attempts.
func (c *Client) ListAlertDeliveries(ctx context.Context, limit int) ([]AlertDelivery, error) {
	return list[AlertDelivery](ctx, c, http.MethodPost, "/alert/list-deliveries", map[string]int{"limit": limit})
}
