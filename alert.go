package dtbase

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Alert condition kinds.
const (
	CondThreshold = "threshold" // value above, below or outside a band for a duration
	CondStaleness = "staleness" // no reading for longer than a duration
	CondRate      = "rate"      // rises or falls faster than a rate
	CondForecast  = "forecast"  // the latest forecast crosses a threshold soon
)

// Threshold operators, and rate directions.
const (
	OpAbove   = "above"
	OpBelow   = "below"
	OpOutside = "outside"
	OpRise    = "rise"
	OpFall    = "fall"
	OpEither  = "either"
)

// Severities of a rule.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Alert states, and the kinds of event that move an alert between them.
const (
	AlertFiring       = "firing"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"

	EventFired        = "fired"
	EventAcknowledged = "acknowledged"
	EventResolved     = "resolved"
	// EventTest is the kind of a test notification, sent on demand to
	// check a channel; it belongs to no alert.
	EventTest = "test"
)

// Channel kinds.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// Alert limits.
const (
	// MaxAlertDuration bounds every duration of a condition.
	MaxAlertDuration = 366 * 24 * time.Hour
	// MaxForecastHorizon bounds how far ahead a forecast rule looks.
	MaxForecastHorizon = 366 * 24 * time.Hour
	// MaxRuleChannels bounds the channels of one rule.
	MaxRuleChannels = 20
	// MaxRecipients bounds the addresses of one e-mail channel.
	MaxRecipients = 50
)

// AlertCondition says when a rule fires. Durations are in seconds on the
// wire. Which fields apply depends on Kind; docs/alerts.md lists them.
type AlertCondition struct {
	Kind string `json:"kind"`
	// Op is above, below or outside (threshold, forecast) or rise, fall
	// or either (rate).
	Op string `json:"op,omitempty"`
	// Value is the threshold (above, below) or the rate limit (rate).
	Value *float64 `json:"value,omitempty"`
	// Low and High bound the band of outside.
	Low  *float64 `json:"low,omitempty"`
	High *float64 `json:"high,omitempty"`
	// Hysteresis is how far back inside the threshold a value must come
	// for a firing alert to resolve, so a value on the line does not flap.
	Hysteresis float64 `json:"hysteresis,omitempty"`
	// ForSeconds is how long the breach must last before the alert fires.
	ForSeconds float64 `json:"for_seconds,omitempty"`
	// MaxAgeSeconds is the staleness limit.
	MaxAgeSeconds float64 `json:"max_age_seconds,omitempty"`
	// IntervalMultiple is the staleness limit as a multiple of the
	// sensor's usual interval (the median gap of its last readings); with
	// MaxAgeSeconds too, the longer of the two applies.
	IntervalMultiple float64 `json:"interval_multiple,omitempty"`
	// PerSeconds is the time unit of a rate (default 1 hour).
	PerSeconds float64 `json:"per_seconds,omitempty"`
	// HorizonHours is how far ahead a forecast rule looks.
	HorizonHours float64 `json:"horizon_hours,omitempty"`
	// Bound is the forecast value compared: mean (default), upper or lower.
	Bound string `json:"bound,omitempty"`
}

// For is the condition's minimum breach duration.
func (c AlertCondition) For() time.Duration { return seconds(c.ForSeconds) }

// MaxAge is the staleness limit.
func (c AlertCondition) MaxAge() time.Duration { return seconds(c.MaxAgeSeconds) }

// Per is the rate's time unit.
func (c AlertCondition) Per() time.Duration {
	if c.PerSeconds == 0 {
		return time.Hour
	}
	return seconds(c.PerSeconds)
}

// Horizon is how far ahead a forecast rule looks.
func (c AlertCondition) Horizon() time.Duration { return seconds(c.HorizonHours * 3600) }

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// AlertTarget names what a rule watches: exactly one of one sensor, all
// sensors of a type, or all sensors placed in a location.
type AlertTarget struct {
	Sensor     *string `json:"sensor,omitempty"`
	SensorType *string `json:"sensor_type,omitempty"`
	LocationID *int64  `json:"location_id,omitempty"`
}

// AlertRule watches one measure of its target's sensors.
type AlertRule struct {
	ID            int64
	Name          string
	Target        AlertTarget
	Measure       string
	MeasureID     int64 // set by the store
	Condition     AlertCondition
	Severity      string
	Channels      []string
	Enabled       bool
	SilencedUntil *time.Time
	Created       time.Time
}

// Validate checks the rule's own fields, naming the field at fault
// (EUNPROCESSABLE through *FieldError). Whether the sensor, measure and
// channels exist is the store's check.
func (r *AlertRule) Validate() error {
	if err := firstErr(requiredName("name", r.Name), requiredName("measure", r.Measure)); err != nil {
		return err
	}
	n := 0
	if r.Target.Sensor != nil {
		n++
	}
	if r.Target.SensorType != nil {
		n++
	}
	if r.Target.LocationID != nil {
		n++
	}
	if n != 1 {
		return fieldErr("target", "Give exactly one of sensor, sensor_type or location_id")
	}
	switch r.Severity {
	case SeverityInfo, SeverityWarning, SeverityCritical:
	default:
		return fieldErr("severity", "Must be info, warning or critical")
	}
	if len(r.Channels) > MaxRuleChannels {
		return fieldErr("channels", "At most 20 channels")
	}
	return r.Condition.validate()
}

func (c *AlertCondition) validate() error {
	for _, d := range []struct {
		field string
		v     float64
	}{{"for_seconds", c.ForSeconds}, {"max_age_seconds", c.MaxAgeSeconds}, {"per_seconds", c.PerSeconds}} {
		if d.v < 0 || math.IsNaN(d.v) || seconds(d.v) > MaxAlertDuration {
			return fieldErr("condition."+d.field, "Must be a duration between 0 and 366 days, in seconds")
		}
	}
	if c.Hysteresis < 0 || math.IsNaN(c.Hysteresis) || math.IsInf(c.Hysteresis, 0) {
		return fieldErr("condition.hysteresis", "Must be a finite number, 0 or more")
	}
	finite := func(field string, v *float64) error {
		if v == nil {
			return fieldErr("condition."+field, "Required for this condition")
		}
		if math.IsNaN(*v) || math.IsInf(*v, 0) {
			return fieldErr("condition."+field, "Must be a finite number")
		}
		return nil
	}
	threshold := func() error {
		switch c.Op {
		case OpAbove, OpBelow:
			return finite("value", c.Value)
		case OpOutside:
			if err := firstErr(finite("low", c.Low), finite("high", c.High)); err != nil {
				return err
			}
			if *c.Low >= *c.High {
				return fieldErr("condition.high", "Must be above low")
			}
			if 2*c.Hysteresis >= *c.High-*c.Low {
				return fieldErr("condition.hysteresis", "Must be less than half the band")
			}
			return nil
		}
		return fieldErr("condition.op", "Must be above, below or outside")
	}
	switch c.Kind {
	case CondThreshold:
		return threshold()
	case CondStaleness:
		if c.IntervalMultiple < 0 || c.IntervalMultiple > 1000 || math.IsNaN(c.IntervalMultiple) {
			return fieldErr("condition.interval_multiple", "Must be between 0 and 1000")
		}
		if c.MaxAgeSeconds <= 0 && c.IntervalMultiple <= 0 {
			return fieldErr("condition.max_age_seconds", "Give max_age_seconds or interval_multiple, more than 0")
		}
	case CondRate:
		switch c.Op {
		case OpRise, OpFall, OpEither:
		default:
			return fieldErr("condition.op", "Must be rise, fall or either")
		}
		if err := finite("value", c.Value); err != nil {
			return err
		}
		if *c.Value <= 0 {
			return fieldErr("condition.value", "Must be more than 0")
		}
	case CondForecast:
		if c.HorizonHours <= 0 || math.IsNaN(c.HorizonHours) || c.Horizon() > MaxForecastHorizon {
			return fieldErr("condition.horizon_hours", "Must be more than 0 and at most 366 days")
		}
		switch c.Bound {
		case "", "mean", "upper", "lower":
		default:
			return fieldErr("condition.bound", "Must be mean, upper or lower")
		}
		return threshold()
	default:
		return fieldErr("condition.kind", "Must be threshold, staleness, rate or forecast")
	}
	return nil
}

// fieldErr is an EUNPROCESSABLE error naming field.
func fieldErr(field, msg string) error {
	return &Error{Code: EUNPROCESSABLE, Message: field + ": " + msg, Err: &FieldError{Field: field, Message: msg, Pos: -1}}
}

// requiredName checks a name that must be given (EUNPROCESSABLE naming
// field when empty) and fit MaxNameLen (EINVALID).
func requiredName(field, s string) error {
	if s == "" {
		return fieldErr(field, "Must not be empty")
	}
	return checkLen(field, s, MaxNameLen)
}

// FieldErr is fieldErr for the store.
func FieldErr(field, msg string) error { return fieldErr(field, msg) }

// AlertChannel is where notifications go: a webhook URL, signed with a
// per-channel secret, or e-mail over SMTP.
type AlertChannel struct {
	ID   int64
	Name string
	Kind string
	// Webhook.
	URL string
	// E-mail.
	SMTPHost     string
	SMTPPort     int
	SMTPSecurity string // starttls, tls or none
	SMTPUser     string
	From         string
	Recipients   []string
	// Secret is the sealed webhook secret or SMTP password.
	Secret  []byte
	Created time.Time
}

// SetDefaults fills what a channel may leave out: an e-mail channel's
// security is STARTTLS.
func (c *AlertChannel) SetDefaults() {
	if c.Kind == ChannelEmail && c.SMTPSecurity == "" {
		c.SMTPSecurity = "starttls"
	}
}

// Destination is what the outbound guard of services checks before a
// channel is stored, and the field it comes from: a webhook's URL, or an
// e-mail channel's SMTP host as an https URL.
func (c *AlertChannel) Destination() (url, field string) {
	if c.Kind == ChannelWebhook {
		return c.URL, "url"
	}
	return "https://" + c.SMTPHost + "/", "smtp_host"
}

// Validate checks the channel's fields.
func (c *AlertChannel) Validate() error {
	if err := requiredName("name", c.Name); err != nil {
		return err
	}
	switch c.Kind {
	case ChannelWebhook:
		if c.URL == "" {
			return fieldErr("url", "Required for a webhook")
		}
		return checkLen("url", c.URL, MaxURLLen)
	case ChannelEmail:
		if c.SMTPHost == "" {
			return fieldErr("smtp_host", "Required for e-mail")
		}
		if c.SMTPPort < 1 || c.SMTPPort > 65535 {
			return fieldErr("smtp_port", "Must be a port number")
		}
		switch c.SMTPSecurity {
		case "starttls", "tls", "none":
		default:
			return fieldErr("smtp_security", "Must be starttls, tls or none")
		}
		if c.From == "" || TooLong(c.From, MaxEmailLen) {
			return fieldErr("from", "Must be an address of at most 254 characters")
		}
		if len(c.Recipients) == 0 || len(c.Recipients) > MaxRecipients {
			return fieldErr("recipients", "Give 1 to 50 addresses")
		}
		for i, r := range c.Recipients {
			if r == "" || TooLong(r, MaxEmailLen) {
				return fieldErr(fmt.Sprintf("recipients[%d]", i), "Must be an address of at most 254 characters")
			}
		}
		return firstErr(checkLen("smtp_host", c.SMTPHost, MaxURLLen), checkLen("smtp_user", c.SMTPUser, MaxEmailLen))
	}
	return fieldErr("kind", "Must be webhook or email")
}

// Alert is one episode of a rule on one sensor: it fires, may be
// acknowledged, and resolves when the condition clears.
type Alert struct {
	ID         int64
	RuleID     int64
	RuleName   string
	Severity   string
	Sensor     string
	Measure    string
	State      string
	Since      time.Time // data time the breach began
	FiredAt    time.Time // data time it fired
	ResolvedAt *time.Time
	AckBy      *string
	AckNote    *string
	Value      *float64
	Message    string
}

// AlertEvent is one state change of an alert. ID is stable: it is the
// idempotency key of every notification of the event.
type AlertEvent struct {
	ID       string
	AlertID  int64
	RuleName string
	Severity string
	Sensor   string
	Measure  string
	Kind     string
	At       time.Time // when it was recorded
	DataAt   time.Time // the data time it refers to
	Value    *float64
	By       *string
	Note     *string
	Message  string
}

// AlertFilter selects alerts or events; nil fields select all.
type AlertFilter struct {
	RuleName *string
	Sensor   *string
	State    *string
	From, To *time.Time
	Limit    int
	Offset   int // rows skipped before the first returned, for paging
}

// AlertPreview is one episode a rule would have had on one sensor.
type AlertPreview struct {
	Sensor     string
	Since      time.Time
	FiredAt    time.Time
	ResolvedAt *time.Time
	Value      float64
}

// Notification is one event to send to one channel.
type Notification struct {
	OutboxID int64
	Attempts int
	Event    AlertEvent
	Channel  AlertChannel
}

// Delivery is one attempt to send a notification.
type Delivery struct {
	OutboxID int64
	EventID  string
	Channel  string
	Attempt  int
	At       time.Time
	OK       bool
	Detail   string
}

// ChannelTester sends a test notification through a channel and returns
// the line a delivery log would keep, or why it failed.
type ChannelTester func(ctx context.Context, c AlertChannel) (string, error)

// TestAlertChannel sends a test notification with send through the channel
// of store named name, and returns send's account of it; ENOTFOUND for an
// unknown channel, EINVALID saying why the send failed (a mistake in the
// channel's settings, or its receiver down), EUNAVAILABLE when send is nil.
func TestAlertChannel(ctx context.Context, store AlertStore, send ChannelTester, name string) (string, error) {
	if send == nil {
		return "", Errorf(EUNAVAILABLE, "Test notifications are not available on this server.")
	}
	c, err := store.FindAlertChannel(ctx, name)
	if err != nil {
		return "", err
	}
	line, err := send(ctx, c)
	if err != nil {
		return "", Errorf(EINVALID, "Test notification through %s failed: %v", name, err)
	}
	return line, nil
}

// AlertStore stores rules, channels, alerts and their notification outbox.
type AlertStore interface {
	// CreateAlertChannel adds a channel; ECONFLICT when the name is taken.
	CreateAlertChannel(ctx context.Context, c *AlertChannel) error
	// ListAlertChannels returns the channels without secrets.
	ListAlertChannels(ctx context.Context) ([]AlertChannel, error)
	// FindAlertChannel returns a channel with its sealed secret, to send
	// through; ENOTFOUND when there is none.
	FindAlertChannel(ctx context.Context, name string) (AlertChannel, error)
	// DeleteAlertChannel removes a channel; ENOTFOUND, ECONFLICT when a
	// rule still uses it.
	DeleteAlertChannel(ctx context.Context, name string) error
	// CreateAlertRule adds a rule; EUNPROCESSABLE naming the field for an
	// unknown sensor, type, location, measure or channel; ECONFLICT when
	// the name is taken.
	CreateAlertRule(ctx context.Context, r *AlertRule) error
	// UpdateAlertRule replaces a rule found by name; errors as create.
	UpdateAlertRule(ctx context.Context, r *AlertRule) error
	// ListAlertRules returns every rule in id order.
	ListAlertRules(ctx context.Context) ([]AlertRule, error)
	// DeleteAlertRule removes a rule and its alerts; ENOTFOUND.
	DeleteAlertRule(ctx context.Context, name string) error
	// SilenceAlertRule stops notifications of a rule until until (nil:
	// now); ENOTFOUND.
	SilenceAlertRule(ctx context.Context, name string, until *time.Time) error
	// ListAlerts returns alerts, firing first then newest first.
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// ListAlertEvents returns events, newest first.
	ListAlertEvents(ctx context.Context, f AlertFilter) ([]AlertEvent, error)
	// AcknowledgeAlert records who acknowledged a firing alert; ENOTFOUND,
	// ECONFLICT when it is not firing.
	AcknowledgeAlert(ctx context.Context, id int64, by, note string) error
	// EvaluateScheduledAlerts evaluates the staleness and forecast rules at
	// now and returns the events it recorded.
	EvaluateScheduledAlerts(ctx context.Context, now time.Time) (int, error)
	// ClaimNotifications leases up to limit due notifications for lease;
	// a notification leased elsewhere is not returned.
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// FinishNotification records an attempt; when !ok and retryAt is not
	// nil the notification is due again then, otherwise it is given up.
	FinishNotification(ctx context.Context, n Notification, ok bool, detail string, retryAt *time.Time) error
	// PreviewAlertRule replays a rule, not stored, over the stored data
	// between from and to and returns the episodes it would have had;
	// errors as CreateAlertRule.
	PreviewAlertRule(ctx context.Context, r *AlertRule, from, to time.Time) ([]AlertPreview, error)
	// ListDeliveries returns the newest delivery attempts.
	ListDeliveries(ctx context.Context, limit int) ([]Delivery, error)
	// AlertLock elects the replica that evaluates scheduled rules and
	// sends notifications.
	AlertLock() SchedulerLock
}
