package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
	"github.com/dtbase/dtbase/demo"
	"github.com/dtbase/dtbase/outbound"
	"github.com/dtbase/dtbase/servicerun"
	"github.com/dtbase/dtbase/sqldb"
)

func init() {
	settings = append(settings,
		setting{"DT_PUBLIC_URL", "", "address users reach this server at (https://twin.example.org), for links back in alert notifications; none when unset", func(c *Config, v string) error {
			c.PublicURL = strings.TrimSpace(v)
			return nil
		}},
	)
}

// startAlerts starts the alert runner (staleness rules and the
// notification outbox) when DT_SCHEDULER is true; notifications pass the
// services' outbound guard (DT_SERVICE_ALLOWED_HOSTS) and channel secrets
// are sealed with the services' key. The returned function stops it.
func (m *Main) startAlerts(ctx context.Context, c Config, db *sqldb.DB, log *slog.Logger) (func(), error) {
	if !c.Scheduler {
		return func() {}, nil
	}
	key, err := serviceSecretKey(ctx, c, db)
	if err != nil {
		return nil, err
	}
	sealer, err := servicerun.NewSealer(key)
	if err != nil {
		return nil, err
	}
	guard, err := outbound.New(outbound.Options{AllowedHosts: c.Services.AllowedHosts, Setting: "DT_SERVICE_ALLOWED_HOSTS"})
	if err != nil {
		return nil, fmt.Errorf("DT_SERVICE_ALLOWED_HOSTS: %w", err)
	}
	r := alert.NewRunner(alert.Options{Store: db, Sender: alert.NewSender(guard, sealer.Open, c.PublicURL), Log: log.With("component", "alerts")})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return func() { cancel(); <-done }, nil
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
