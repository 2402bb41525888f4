package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
	"github.com/dtbase/dtbase/demo"
	"github.com/dtbase/dtbase/outbound"
	"github.com/dtbase/dtbase/servicerun"
	"github.com/dtbase/dtbase/sqldb"
)

// alertSettingList is the setting of alert notifications.
var alertSettingList = []setting{
	{"DT_PUBLIC_URL", "", "address users reach this server at (https://twin.example.org), for links back in alert notifications; none when unset", func(c *Config, v string) error {
		c.PublicURL = strings.TrimSpace(v)
		return nil
	}},
}

// alertSender returns the sender of notifications: its calls pass the
// services' outbound guard (DT_SERVICE_ALLOWED_HOSTS), and it opens channel
// secrets with the services' sealer.
func alertSender(c Config, sealer *servicerun.Sealer) (*alert.Sender, error) {
	guard, err := outbound.New(outbound.Options{AllowedHosts: c.Services.AllowedHosts, Setting: "DT_SERVICE_ALLOWED_HOSTS"})
	if err != nil {
		return nil, fmt.Errorf("DT_SERVICE_ALLOWED_HOSTS: %w", err)
	}
	return alert.NewSender(guard, sealer.Open, c.PublicURL), nil
}

// testChannel sends test notifications through sender, for the API and the
// web interface.
func testChannel(sender *alert.Sender) dtbase.ChannelTester {
	return func(ctx context.Context, ch dtbase.AlertChannel) (string, error) {
		return sender.SendTest(ctx, ch, time.Now())
	}
}

// startAlerts starts the alert runner (staleness rules and the
// notification outbox) when DT_SCHEDULER is true, sending through sender.
// The returned function stops it.
func (m *Main) startAlerts(ctx context.Context, c Config, db *sqldb.DB, sender *alert.Sender, log *slog.Logger) func() {
	if !c.Scheduler {
		return func() {}
	}
	r := alert.NewRunner(alert.Options{Store: db, Sender: sender, Log: log.With("component", "alerts")})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// addDemoAlertRules adds the demo's rules: a CROP humidity band on every
// temperature-and-humidity sensor, and a staleness rule on them.
func addDemoAlertRules(ctx context.Context, db *sqldb.DB) error {
	typ := demo.TypeTRH
	low, high := 50.0, 90.0
	for _, r := range []*dtbase.AlertRule{
		{Name: "humidity band", Target: dtbase.AlertTarget{SensorType: &typ}, Measure: demo.MeasureRH, Severity: dtbase.SeverityWarning, Enabled: true,
			Condition: dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpOutside, Low: &low, High: &high, Hysteresis: 2, ForSeconds: 1800}},
		{Name: "sensor silent", Target: dtbase.AlertTarget{SensorType: &typ}, Measure: demo.MeasureTemp, Severity: dtbase.SeverityCritical, Enabled: true,
			Condition: dtbase.AlertCondition{Kind: dtbase.CondStaleness, MaxAgeSeconds: 6 * 3600}},
	} {
		if err := db.CreateAlertRule(ctx, r); err != nil && dtbase.ErrorCode(err) != dtbase.ECONFLICT {
			return fmt.Errorf("demo alert rule %q: %w", r.Name, err)
		}
		// The demo's readings came before its rules: judge them now, so
		// the alerts page has a history on first start.
		if err := db.ReplayAlertRule(ctx, r.Name); err != nil {
			return err
		}
	}
	return nil
}
