package sqldb_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// retentionDB has types 'short' and 'long' measuring temperature, with
// sensors S1 and L1, and a reading of each every hour of days days from t0.
func retentionDB(t *testing.T, days int) *sqldb.DB {
	t.Helper()
	db := sqldbtest.Open(t)
	ctx := context.Background()
	c := "C"
	for _, typ := range []string{"short", "long"} {
		if err := db.CreateSensorType(ctx, &dtbase.SensorType{Name: typ, Measures: []dtbase.Measure{{Name: "temperature", Units: &c, Datatype: dtbase.Float}}}); err != nil {
			t.Fatal(err)
		}
	}
	var ts []time.Time
	for h := range days * 24 {
		ts = append(ts, at(h*3600))
	}
	for _, s := range []*dtbase.Sensor{{UniqueIdentifier: "S1", TypeName: "short"}, {UniqueIdentifier: "L1", TypeName: "long"}} {
		if err := db.CreateSensor(ctx, s); err != nil {
			t.Fatal(err)
		}
		if len(ts) > 0 {
			insertTemperatures(t, db, s.UniqueIdentifier, ts...)
		}
	}
	return db
}

// countBefore counts uid's readings before cut and its rollups ending at
// or before cut.
func countBefore(t *testing.T, db *sqldb.DB, uid string, cut time.Time) (readings, rollups int) {
	t.Helper()
	if err := db.SQL().QueryRow(`SELECT count(*) FROM reading_float r JOIN sensor s ON s.id = r.sensor_id
		WHERE s.unique_identifier = $1 AND r.ts < $2`, uid, cut.UnixMicro()).Scan(&readings); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().QueryRow(`SELECT count(*) FROM reading_rollup r JOIN sensor s ON s.id = r.sensor_id
		WHERE s.unique_identifier = $1 AND r.bucket + CAST(r.width AS BIGINT) * 1000000 <= $2`, uid, cut.UnixMicro()).Scan(&rollups); err != nil {
		t.Fatal(err)
	}
	return readings, rollups
}

func TestRetentionDeletesOldReadingsOfTheType(t *testing.T) {
	db := retentionDB(t, 60)
	ctx := context.Background()
	thirty := 30
	if err := db.SetSensorTypeRetention(ctx, "short", &thirty); err != nil {
		t.Fatal(err)
	}
	now := at(60 * 86400)
	cut := now.AddDate(0, 0, -30)
	m, err := db.FindReadingMeasure(ctx, "S1", "temperature", nil)
	if err != nil {
		t.Fatal(err)
	}
	plot := downsample(t, db, m, at(0), now, 100, true)
	// A range whose readings all go: 29 days in 6-hour pixels.
	goneTo := cut.Add(-24 * time.Hour)
	gone := downsample(t, db, m, at(0), goneTo, 100, true)

	res, err := db.ApplyRetention(ctx, now, sqldb.RetentionPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if res.DeletedReadings != 30*24 || res.DeletedRollups != 0 || len(res.DroppedPartitions) != 0 {
		t.Errorf("result %+v, want 720 readings deleted and nothing else", res)
	}
	got := scanAll(t, db, "S1", "temperature")
	if len(got) != 30*24 || !got[0].Time.Equal(cut) {
		t.Errorf("S1 keeps %d readings from %v, want 720 from %v", len(got), got[0].Time, cut)
	}
	if got := scanAll(t, db, "L1", "temperature"); len(got) != 60*24 {
		t.Errorf("L1 (no retention) keeps %d readings, want 1440", len(got))
	}
	// The rollups outlive the readings: a plot of the whole range is the
	// same as before.
	if _, rollups := countBefore(t, db, "S1", cut); rollups == 0 {
		t.Error("S1's rollups before the cutoff were deleted")
	}
	if after := downsample(t, db, m, at(0), now, 100, true); len(after) != len(plot) || !after[0].Time.Equal(plot[0].Time) {
		t.Errorf("the plot from rollups changed: %d points from %v, was %d from %v", len(after), after[0].Time, len(plot), plot[0].Time)
	}

	// The same but for the last pixel, whose partial 6-hour bucket is
	// read from readings.
	after := downsample(t, db, m, at(0), goneTo, 100, true)
	if n := len(gone) - 2; n < 50 || len(after) < n || !cmp.Equal(after[:n], gone[:n]) {
		t.Errorf("the plot of a range without readings left differs from before:\n%s", cmp.Diff(gone, after))
	}

	// A second pass finds nothing; a server default covers 'long' too, and
	// the rollup retention deletes rollups older than both settings.
	res, err = db.ApplyRetention(ctx, now, sqldb.RetentionPolicy{ReadingDays: 50, RollupDays: 40})
	if err != nil {
		t.Fatal(err)
	}
	if res.DeletedReadings != 10*24 {
		t.Errorf("deleted %d readings, want L1's 240 older than 50 days", res.DeletedReadings)
	}
	for _, c := range []struct {
		uid  string
		days int
	}{{"S1", 40}, {"L1", 50}} {
		if _, rollups := countBefore(t, db, c.uid, now.AddDate(0, 0, -c.days)); rollups != 0 {
			t.Errorf("%s keeps %d rollups older than %d days", c.uid, rollups, c.days)
		}
		if _, rollups := countBefore(t, db, c.uid, now.AddDate(0, 0, -c.days).Add(24*time.Hour)); rollups == 0 {
			t.Errorf("%s keeps no rollups of the day after its rollup cutoff", c.uid)
		}
	}
}

func TestRetentionDropsWholePartitions(t *testing.T) {
	sqldbtest.NeedPostgres(t, "partitions are PostgreSQL's")
	db := retentionDB(t, 100) // 2024-01-01 to 2024-04-09
	ctx := context.Background()
	// The months of the data, created after it landed in the default
	// partition.
	for _, m := range []time.Month{1, 4} {
		if _, err := db.EnsurePartitions(ctx, time.Date(2024, m, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	short, long := 40, 80
	for typ, days := range map[string]*int{"short": &short, "long": &long} {
		if err := db.SetSensorTypeRetention(ctx, typ, days); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2024, 4, 25, 0, 0, 0, 0, time.UTC) // 80 days back: 2024-02-05
	res, err := db.ApplyRetention(ctx, now, sqldb.RetentionPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range dtbase.Datatypes {
		want = append(want, "reading_"+string(d)+"_2024_01")
	}
	if !equalSets(res.DroppedPartitions, want) {
		t.Errorf("dropped %v, want %v", res.DroppedPartitions, want)
	}
	// January went with its partitions; the rest was deleted by type.
	wantDeleted := int64((now.AddDate(0, 0, -long).Sub(at(31 * 86400)).Hours()) + now.AddDate(0, 0, -short).Sub(at(31*86400)).Hours())
	if res.DeletedReadings != wantDeleted {
		t.Errorf("deleted %d readings row by row, want %d", res.DeletedReadings, wantDeleted)
	}
	for uid, days := range map[string]int{"S1": short, "L1": long} {
		got := scanAll(t, db, uid, "temperature")
		if cut := now.AddDate(0, 0, -days); len(got) == 0 || !got[0].Time.Equal(cut) {
			t.Errorf("%s's first reading is %v, want %v", uid, got[0].Time, cut)
		}
	}
	if _, rollups := countBefore(t, db, "L1", at(31*86400)); rollups == 0 {
		t.Error("the rollups of the dropped month were deleted")
	}
	// A type kept for ever keeps every partition.
	if err := db.SetSensorTypeRetention(ctx, "long", nil); err != nil {
		t.Fatal(err)
	}
	if res, err := db.ApplyRetention(ctx, now.AddDate(1, 0, 0), sqldb.RetentionPolicy{}); err != nil || len(res.DroppedPartitions) != 0 {
		t.Errorf("with a type kept for ever: %+v %v", res, err)
	}
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			return false
		}
	}
	return true
}

func TestSensorTypeRetentionSetting(t *testing.T) {
	db := retentionDB(t, 0)
	ctx := context.Background()
	seven, zero, bad := 7, 0, -1
	for _, c := range []struct {
		typ  string
		days *int
		code string
	}{
		{"short", &seven, ""},
		{"long", &zero, ""},
		{"short", nil, ""},
		{"short", &seven, ""},
		{"missing", &seven, dtbase.ENOTFOUND},
		{"short", &bad, dtbase.EINVALID},
	} {
		if err := db.SetSensorTypeRetention(ctx, c.typ, c.days); dtbase.ErrorCode(err) != c.code {
			t.Fatalf("set %s: %v, want code %q", c.typ, err, c.code)
		}
	}
	got, err := db.ListSensorTypeRetentions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []dtbase.SensorTypeRetention{{SensorType: "long", Days: 0}, {SensorType: "short", Days: 7}}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("list = %+v, want %+v", got, want)
	}
}
