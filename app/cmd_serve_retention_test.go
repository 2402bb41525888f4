package app

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func TestRetentionSettings(t *testing.T) {
	for _, c := range []struct {
		env             map[string]string
		reading, rollup int
		err             string
	}{
		{nil, 0, 0, ""},
		{map[string]string{"DT_READING_RETENTION_DAYS": "30", "DT_ROLLUP_RETENTION_DAYS": " 3650 "}, 30, 3650, ""},
		{map[string]string{"DT_READING_RETENTION_DAYS": "-1"}, 0, 0, "DT_READING_RETENTION_DAYS"},
		{map[string]string{"DT_ROLLUP_RETENTION_DAYS": "a year"}, 0, 0, "DT_ROLLUP_RETENTION_DAYS"},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		load := bindConfig(fs, func(k string) (string, bool) { v, ok := c.env[k]; return v, ok },
			[]string{"DT_READING_RETENTION_DAYS", "DT_ROLLUP_RETENTION_DAYS"})
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		cfg, err := load()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: err %v, want one naming %s", c.env, err, c.err)
			}
			continue
		}
		if err != nil || cfg.Retention.ReadingDays != c.reading || cfg.Retention.RollupDays != c.rollup {
			t.Errorf("%v: %+v %v", c.env, cfg.Retention, err)
		}
	}
}

// TestMaintenanceLeader runs the leader's loop on a database with old
// readings and a retention: the first pass, on taking the lead, deletes
// them; on PostgreSQL the partitions of this month and the next ones exist.
func TestMaintenanceLeader(t *testing.T) {
	db := sqldbtest.Open(t)
	ctx := context.Background()
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "t", Measures: []dtbase.Measure{{Name: "v", Datatype: dtbase.Float}}}, "s")
	now := time.Now().UTC()
	old, recent := now.AddDate(0, 0, -40), now.Add(-time.Hour)
	if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "s", MeasureName: "v",
		Timestamps: []time.Time{old, recent}, Values: []dtbase.Value{dtbase.FloatValue(1), dtbase.FloatValue(2)}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runMaintenance(ctx, db, sqldb.RetentionPolicy{ReadingDays: 30}, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()
	m, err := db.FindReadingMeasure(ctx, "s", "v", nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := dtbase.CollectReadings(ctx, db, m, old.Add(-time.Hour), now)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].Time.Equal(recent.Truncate(time.Microsecond)) {
			break
		}
		if len(got) != 2 || time.Now().After(deadline) {
			t.Fatalf("readings %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	parts, err := db.ListPartitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sqldbtest.PostgresURL() != "" && len(parts) < 4*(sqldb.PartitionsAhead+1) {
		t.Errorf("partitions %+v", parts)
	}
}
