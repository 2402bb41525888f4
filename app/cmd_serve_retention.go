package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

// retentionSettingList holds the default retention of readings and rollups.
var retentionSettingList = []setting{
	{"DT_READING_RETENTION_DAYS", "0", "days readings are kept, for sensor types without a retention of their own (0: for ever; docs/operations.md)", func(c *Config, v string) error {
		n, err := retentionDays(v)
		c.Retention.ReadingDays = n
		return err
	}},
	{"DT_ROLLUP_RETENTION_DAYS", "0", "days rollups are kept, never less than the readings of their type (0: for ever)", func(c *Config, v string) error {
		n, err := retentionDays(v)
		c.Retention.RollupDays = n
		return err
	}},
}

func retentionDays(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > dtbase.MaxRetentionDays {
		return 0, fmt.Errorf("want a whole number of days between 0 and %d, got %q", dtbase.MaxRetentionDays, v)
	}
	return n, nil
}

// maintenanceEvery is how often the leader creates partitions and applies
// retention; maintenancePoll how often a replica checks whether it leads.
const (
	maintenanceEvery = time.Hour
	maintenancePoll  = time.Minute
)

// startMaintenance creates the readings partitions of this month and the
// next ones now, on every replica, and then, when DT_SCHEDULER is true,
// runs the leader's hourly pass (partitions ahead, retention) on the
// replica holding the maintenance lock. The returned function stops it.
func (m *Main) startMaintenance(ctx context.Context, c Config, db *sqldb.DB, log *slog.Logger) (func(), error) {
	log = log.With("component", "maintenance")
	created, err := db.EnsurePartitions(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	if len(created) > 0 {
		log.Info("created readings partitions", "partitions", created)
	}
	if !c.Scheduler {
		return func() {}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runMaintenance(ctx, db, c.Retention, log)
	}()
	return func() { cancel(); <-done }, nil
}

// runMaintenance runs a pass when this replica becomes leader and every
// maintenanceEvery while it leads, until ctx ends.
func runMaintenance(ctx context.Context, db *sqldb.DB, p sqldb.RetentionPolicy, log *slog.Logger) {
	lock := db.MaintenanceLock()
	defer lock.Unlock()
	leading := false
	var last time.Time
	for {
		now, err := lock.TryLock(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("maintenance: lock check failed", "err", err)
		}
		if now && !leading {
			last = time.Time{}
		}
		leading = now
		if leading && time.Since(last) >= maintenanceEvery {
			last = time.Now()
			created, res, err := db.Maintain(ctx, last, p)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Error("maintenance: pass failed", "err", err)
			case len(created)+len(res.DroppedPartitions) > 0 || res.DeletedReadings+res.DeletedRollups > 0:
				log.Info("maintenance: pass done", "created", created, "dropped", res.DroppedPartitions,
					"deleted_readings", res.DeletedReadings, "deleted_rollups", res.DeletedRollups)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(maintenancePoll):
		}
	}
}
