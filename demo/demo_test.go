package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/demo"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func TestLoad(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 34, 56, 0, time.UTC)
	db := sqldbtest.OpenAt(t, now)

	start := time.Now()
	sum, err := demo.Load(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %+v in %v", sum, time.Since(start))
	if sum.Skipped || sum.SensorTypes != 2 || sum.Sensors != 32 {
		t.Errorf("summary %+v: want 2 types and 32 sensors", sum)
	}
	wantEnd := time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
	if !sum.To.Equal(wantEnd) || !sum.From.Equal(wantEnd.Add(-72*time.Hour+10*time.Minute)) {
		t.Errorf("range %v to %v, want 3 days ending %v", sum.From, sum.To, wantEnd)
	}

	// Readings: every non-null value of the export, as floats.
	var readings, maxTS, minTS int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*), min(ts), max(ts) FROM reading_float`).Scan(&readings, &minTS, &maxTS); err != nil {
		t.Fatal(err)
	}
	const wantReadings = 28*2*433 + 4*433 - 1749 // values minus the nulls of the export
	if readings != sum.Readings || readings != wantReadings {
		t.Errorf("%d readings stored, summary says %d, want %d", readings, sum.Readings, wantReadings)
	}
	if time.UnixMicro(maxTS).UTC() != wantEnd || time.UnixMicro(minTS).UTC() != sum.From {
		t.Errorf("stored range %v to %v", time.UnixMicro(minTS).UTC(), time.UnixMicro(maxTS).UTC())
	}

	types, err := db.ListSensorTypes(ctx)
	if err != nil || len(types) != 2 || len(types[0].Measures) != 2 || len(types[1].Measures) != 1 {
		t.Fatalf("types %+v, %v", types, err)
	}
	sensors, err := db.FindSensors(ctx, dtbase.SensorFilter{WithLocation: true})
	if err != nil || len(sensors) != 32 {
		t.Fatalf("%d sensors, %v", len(sensors), err)
	}
	for _, s := range sensors {
		if s.Location == nil || s.Location.Location.Schema != demo.SchemaName || s.Name == nil || *s.Name == "" {
			t.Errorf("sensor %s: name %v, location %+v", s.UniqueIdentifier, s.Name, s.Location)
		}
	}
	d, err := db.FindSensorDetails(ctx, "c4:93:00:10:12:95")
	if err != nil || *d.Name != "Farm_T/RH_16B4" || d.Type.Name != demo.TypeTRH {
		t.Fatalf("details %+v, %v", d, err)
	}
	c := d.Location.Location.Coordinates()
	if c["zone"] != dtbase.StringValue("Farm1") || c["column"] != dtbase.IntValue(16) || c["shelf"] != dtbase.IntValue(4) || c["z"].Kind != dtbase.KindFloat {
		t.Errorf("Farm_T/RH_16B4 at %v", c)
	}
	locs, err := db.FindLocations(ctx, demo.SchemaName, nil)
	if err != nil || len(locs) != sum.Locations {
		t.Errorf("%d locations (%v), summary says %d", len(locs), err, sum.Locations)
	}

	// Loading again changes nothing.
	again, err := demo.Load(ctx, db, now.Add(time.Hour))
	if err != nil || !again.Skipped {
		t.Fatalf("second load: %+v, %v", again, err)
	}
	var after int64
	db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM reading_float`).Scan(&after)
	if after != readings {
		t.Errorf("second load changed the readings: %d, then %d", readings, after)
	}
	if locs2, _ := db.FindLocations(ctx, demo.SchemaName, nil); len(locs2) != len(locs) {
		t.Errorf("second load changed the locations")
	}
}
