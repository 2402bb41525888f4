package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

const (
	alertRules  = 100
	alertRounds = 8 // measured rounds of one batch per sensor
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
		// Rounds of one batch per sensor: both kinds of batch go to the
		// same sensors. Rounds 0 (rules off) and 1 (on) are not counted: in
		// round 1 each rule first meets its series and replays it. Then the
		// rules are off, on, on, off, off, on, on, off…, so that a drift of
		// the machine's load or of the tables' size over the run weighs on
		// both kinds alike. The first batch after the rules are switched on
		// reads its range back (the rules the write path last saw were
		// off); the fastest batch is another.
		var tNone, tWith []time.Duration
		for k := range fixtureSensors * (2 + alertRounds) {
			round := k / fixtureSensors
			on := round == 1 || (round >= 2 && ((round-2)%4 == 1 || (round-2)%4 == 2))
			if k%fixtureSensors == 0 {
				enable(on)
			}
			d := insert(k)
			switch {
			case round < 2:
			case on:
				tWith = append(tWith, d)
			default:
				tNone = append(tNone, d)
			}
		}
		// The fastest batch of each kind, as the other benchmarks here
		// (bestOf): the least disturbed by other load on the machine.
		none, with := slices.Min(tNone), slices.Min(tWith)
		fmt.Printf("\nalert ingest (%s), %d batches of %d readings each way, fastest batch: no rules %s, %d rules %s, ratio %.3f (target <= 1.10); medians %s and %s, ratio %.3f\n\n",
			engine(), len(tNone), ingestBatch, none, alertRules, with, float64(with)/float64(none), median(tNone), median(tWith),
			float64(median(tWith))/float64(median(tNone)))
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
	db := sqldbtest.Open(b)
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

// median returns the middle of d (the upper one of an even count).
func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
