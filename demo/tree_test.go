package demo_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/demo"
	"github.com/dtbase/dtbase/derive"
	"github.com/dtbase/dtbase/quality"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func TestDemoTreeVPDAndGaps(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 34, 56, 0, time.UTC)
	db := sqldbtest.OpenAt(t, now)
	sum, err := demo.Load(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	farms, err := db.FindLocations(ctx, demo.SiteSchemaName, dtbase.Coordinates{"kind": dtbase.StringValue("farm")})
	if err != nil || len(farms) != 1 {
		t.Fatalf("farm %v %v", farms, err)
	}
	under, err := db.SensorsUnder(ctx, farms[0].ID, now)
	if err != nil || len(under) != sum.Sensors {
		t.Fatalf("%d sensors under the farm (%v), want all %d", len(under), err, sum.Sensors)
	}
	// farm → tunnel → zone → shelf: a sensor's location is three levels down.
	nodes, err := db.LocationTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int64]int64{}
	for _, n := range nodes {
		if n.ParentID != nil {
			parent[n.ID] = *n.ParentID
		}
	}
	depth := 0
	for id := under[0].LocationID; ; depth++ {
		p, ok := parent[id]
		if !ok {
			break
		}
		id = p
	}
	if depth != 3 {
		t.Errorf("a shelf is %d levels under the farm, want 3", depth)
	}

	// VPD of a T&RH sensor equals the direct computation at every shared timestamp.
	uid := "c4:93:00:10:0d:03"
	d, err := derive.Find(ctx, db, demo.VPDName)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) map[time.Time]float64 {
		m, err := db.FindReadingMeasure(ctx, uid, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[time.Time]float64{}
		db.ScanReadings(ctx, m, sum.From, sum.To, func(r dtbase.Reading) error { out[r.Time] = r.Value.F; return nil })
		return out
	}
	temp, rh := read("temperature"), read("relative humidity")
	n := 0
	err = derive.Readings(ctx, db, d, uid, sum.From, sum.To, func(r dtbase.Reading) error {
		n++
		want := 0.6108 * math.Exp(17.27*temp[r.Time]/(temp[r.Time]+237.3)) * (1 - rh[r.Time]/100)
		if math.Abs(r.Value.F-want) > 1e-12 {
			t.Errorf("vpd at %s = %g, want %g", r.Time, r.Value.F, want)
		}
		return nil
	})
	if err != nil || n < 400 {
		t.Fatalf("%d vpd points, %v", n, err)
	}

	// The export has nulls: the quality overview finds real gaps.
	rows, err := quality.Overview(ctx, db, nil, sum.From, sum.To, quality.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gaps := 0
	for _, r := range rows {
		gaps += r.Report.GapCount
		// The export is at 10 minutes; one device mostly reports every 20.
		if iv := r.Report.Interval; iv < 10*time.Minute || iv%(10*time.Minute) != 0 {
			t.Errorf("%s %s: interval %s, want a multiple of 10m", r.UniqueIdentifier, r.MeasureName, iv)
		}
	}
	if len(rows) != 60 || gaps == 0 {
		t.Errorf("%d rows with %d gaps; want 60 rows (28×2 + 4) and some gaps", len(rows), gaps)
	}
	t.Logf("demo quality: %d series, %d gaps", len(rows), gaps)
}
