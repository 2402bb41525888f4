package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

const (
	alertRules   = 100
	alertBatches = 24
)

// BenchmarkAlertIngest measures ingest of 10k-reading batches with 100
// active threshold and rate rules against the same ingest with none, and
// prints the ratio (target at most 1.10). Both run on one database, batch
// by batch in turn, the rules switched on and off between batches (two
// databases differ by more than the rules cost). Run it with -benchtime 1x.
func BenchmarkAlertIngest(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, insert := alertFixture(b, alertRules)
		b.StartTimer()
		enable := func(on bool) {
			if _, err := db.SQL().Exec(`UPDATE alert_rule SET enabled = $1`, on); err != nil {
				b.Fatal(err)
			}
		}
		var tNone, tWith []time.Duration
		for k := range 2 * (fixtureSensors + alertBatches) {
			on := k%2 == 1
			enable(on)
			d := insert(k)
			switch {
			case k < 2*fixtureSensors: // each sensor's first batch with rules replays it
			case on:
				tWith = append(tWith, d)
			default:
				tNone = append(tNone, d)
			}
		}
		none, with := median(tNone), median(tWith)
		fmt.Printf("\nalert ingest (%s), %d batches of %d readings each way, median batch: no rules %s, %d rules %s, ratio %.3f (target <= 1.10)\n\n",
			engine(), len(tNone), ingestBatch, none, alertRules, with, float64(with)/float64(none))
	}
}

func engine() string {
	if sqldbtest.PostgresURL() != "" {
		return "postgres"
	}
	return "sqlite"
}

// alertFixture returns a fresh database with rules rules on the fixture's
// sensors (90 on single sensors: a threshold with a duration, a band, a
// rate; 10 on the whole type) and a function that inserts batch k and
// returns how long the insert took.
func alertFixture(b *testing.B, rules int) (*sqldb.DB, func(k int) time.Duration) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldbtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	setupFixture(b, db)
	typ := "bench"
	for i := range rules {
		r := &dtbase.AlertRule{Name: fmt.Sprintf("r%d", i), Measure: "value", Severity: dtbase.SeverityWarning, Enabled: true}
		if i < 90 {
			uid := sensorUID(i % fixtureSensors)
			r.Target.Sensor = &uid
		} else {
			r.Target.SensorType = &typ
		}
		lim, low := float64(1e6+i), float64(-1e6)
		switch i % 3 {
		case 0:
			r.Condition = dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpAbove, Value: &lim, ForSeconds: 600, Hysteresis: 1}
		case 1:
			r.Condition = dtbase.AlertCondition{Kind: dtbase.CondThreshold, Op: dtbase.OpOutside, Low: &low, High: &lim}
		default:
			r.Condition = dtbase.AlertCondition{Kind: dtbase.CondRate, Op: dtbase.OpEither, Value: &lim}
		}
		if err := db.CreateAlertRule(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	return db, func(k int) time.Duration {
		ts, vs := series(int64(k/fixtureSensors)*ingestBatch*1e6, ingestBatch)
		s := dtbase.ReadingSeries{UniqueIdentifier: sensorUID(k % fixtureSensors), MeasureName: "value",
			Timestamps: make([]time.Time, len(ts)), Values: make([]dtbase.Value, len(vs))}
		for j := range ts {
			s.Timestamps[j], s.Values[j] = time.UnixMicro(ts[j]).UTC(), dtbase.FloatValue(vs[j])
		}
		start := time.Now()
		if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{s}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}
