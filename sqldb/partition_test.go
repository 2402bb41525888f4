package sqldb_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// partitionOf returns the table holding W1's temperature reading at ts.
func partitionOf(t *testing.T, db *sqldb.DB, ts time.Time) string {
	t.Helper()
	var name string
	if err := db.SQL().QueryRow(`SELECT r.tableoid::regclass::text FROM reading_float r JOIN sensor s ON s.id = r.sensor_id
		WHERE s.unique_identifier = 'W1' AND r.ts = $1`, ts.UnixMicro()).Scan(&name); err != nil {
		t.Fatalf("partition of the reading at %v: %v", ts, err)
	}
	return name
}

func partitionNames(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	parts, err := db.ListPartitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return mapped(parts, func(p sqldb.Partition) string { return p.Name })
}

func insertTemperatures(t *testing.T, db *sqldb.DB, uid string, ts ...time.Time) {
	t.Helper()
	s := dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "temperature", Timestamps: ts}
	for i := range ts {
		s.Values = append(s.Values, dtbase.FloatValue(float64(i)))
	}
	if res, err := db.InsertReadings(context.Background(), []dtbase.ReadingSeries{s}); err != nil || res.Inserted != int64(len(ts)) {
		t.Fatalf("insert: %+v %v", res, err)
	}
}

func TestPartitionsAheadAndRouting(t *testing.T) {
	sqldbtest.NeedPostgres(t, "partitions are PostgreSQL's")
	db := readingDB(t)
	ctx := context.Background()
	now := time.Date(2031, 11, 20, 12, 0, 0, 0, time.UTC)
	// Readings of months not created yet are in their months' partitions
	// once the insert returns: the write creates them.
	early, late := time.Date(2032, 1, 31, 23, 59, 59, 0, time.UTC), time.Date(2032, 2, 1, 0, 0, 0, 0, time.UTC)
	insertTemperatures(t, db, "W1", early, late)
	for _, ts := range []time.Time{early, late} {
		if got, want := partitionOf(t, db, ts), "reading_float_"+ts.Format("2006_01"); got != want {
			t.Fatalf("the reading at %v is in %s, want %s", ts, got, want)
		}
	}
	if names := partitionNames(t, db); slices.Contains(names, "reading_integer_2032_01") {
		t.Errorf("the write created months of datatypes it did not write: %v", names)
	}

	// The leader's pass creates this month and two ahead, for every
	// datatype.
	created, _, err := db.Maintain(ctx, now, sqldb.RetentionPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range dtbase.Datatypes {
		for _, m := range []string{"2031_11", "2031_12", "2032_01"} {
			if name := "reading_" + string(d) + "_" + m; name != "reading_float_2032_01" {
				want = append(want, name)
			}
		}
	}
	slices.Sort(created)
	slices.Sort(want)
	if !slices.Equal(created, want) {
		t.Fatalf("created %v, want %v", created, want)
	}
	names := partitionNames(t, db)
	for _, w := range append(want, "reading_float_2032_01", "reading_float_2032_02") {
		if !slices.Contains(names, w) {
			t.Errorf("partition %s missing from %v", w, names)
		}
	}
	if got := partitionOf(t, db, early); got != "reading_float_2032_01" {
		t.Errorf("the reading at %v is in %s", early, got)
	}
	if got := partitionOf(t, db, late); got != "reading_float_2032_02" {
		t.Errorf("the reading at %v is in %s, want reading_float_2032_02", late, got)
	}
	var inDefault int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM reading_float_default`).Scan(&inDefault); err != nil || inDefault != 0 {
		t.Errorf("the default partition holds %d rows (%v)", inDefault, err)
	}
	// A second pass creates nothing; new readings go straight to their month.
	if created, _, err := db.Maintain(ctx, now, sqldb.RetentionPolicy{}); err != nil || len(created) != 0 {
		t.Fatalf("second pass created %v, %v", created, err)
	}
	mid := time.Date(2031, 12, 15, 0, 0, 0, 0, time.UTC)
	insertTemperatures(t, db, "W1", mid)
	if got := partitionOf(t, db, mid); got != "reading_float_2031_12" {
		t.Errorf("the reading at %v is in %s", mid, got)
	}
	// The duplicate rule holds across partitions: the key includes ts.
	res, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: "W1", MeasureName: "temperature",
		Timestamps: []time.Time{mid, early}, Values: []dtbase.Value{dtbase.FloatValue(7), dtbase.FloatValue(8)}}})
	if err != nil || res.Inserted != 0 {
		t.Fatalf("duplicates: %+v %v", res, err)
	}
	if got := scanAll(t, db, "W1", "temperature"); len(got) != 3 {
		t.Errorf("read back %d readings, want 3", len(got))
	}
}

// TestCSVBackfillInItsMonths: a CSV import of past months, one streamed
// transaction, leaves its readings in their months' partitions, not in the
// default one, by the time it returns.
func TestCSVBackfillInItsMonths(t *testing.T) {
	sqldbtest.NeedPostgres(t, "partitions are PostgreSQL's")
	db := readingDB(t)
	ctx := context.Background()
	var csv strings.Builder
	csv.WriteString("unique_identifier,measure_name,measure_units,timestamp,value\n")
	first := time.Date(2019, 3, 31, 23, 0, 0, 0, time.UTC)
	const rows = 2000 // over sqldb.PostgresCopyThreshold: the COPY path
	for i := range rows {
		fmt.Fprintf(&csv, "W1,temperature,C,%s,%d\n", first.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i)
	}
	if res, err := dtbase.ImportReadingsCSV(ctx, db, strings.NewReader(csv.String()), nil); err != nil || res.Inserted != rows {
		t.Fatalf("import: %+v %v", res, err)
	}
	var inDefault, total int
	if err := db.SQL().QueryRow(`SELECT count(*) FILTER (WHERE tableoid = 'reading_float_default'::regclass), count(*) FROM reading_float`).Scan(&inDefault, &total); err != nil {
		t.Fatal(err)
	}
	if inDefault != 0 || total != rows {
		t.Errorf("%d readings, %d in the default partition; want %d and 0", total, inDefault, rows)
	}
	for _, ts := range []time.Time{first, first.Add(time.Hour)} {
		if got, want := partitionOf(t, db, ts), "reading_float_"+ts.Format("2006_01"); got != want {
			t.Errorf("the reading at %v is in %s, want %s", ts, got, want)
		}
	}
}

// TestPartitionMigrationKeepsReadings writes readings with the schema
// before migration 27 and checks that they survive it, on PostgreSQL in
// the partitions of their months.
func TestPartitionMigrationKeepsReadings(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.OpenNoMigrate(ctx, sqldbtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUpTo(ctx, 26); err != nil {
		t.Fatal(err)
	}
	c := "C"
	sqldbtest.Sensors(t, db, dtbase.SensorType{Name: "weather", Measures: []dtbase.Measure{
		{Name: "temperature", Units: &c, Datatype: dtbase.Float}, {Name: "label", Datatype: dtbase.String}}}, "W1")
	jan, mar := time.Date(2024, 1, 31, 23, 0, 0, 0, time.UTC), time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	// Rows as schema 26 holds them, written directly: the store's write
	// path already expects the later migrations' tables.
	for _, r := range []struct {
		table, measure string
		ts             time.Time
		value          any
	}{{"reading_float", "temperature", jan, 0.0}, {"reading_float", "temperature", mar, 1.0}, {"reading_string", "label", jan, "x"}} {
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO `+r.table+` (sensor_id, measure_id, ts, value)
			SELECT s.id, m.id, $1, $2 FROM sensor s, sensor_measure m WHERE s.unique_identifier = $3 AND m.name = $4`,
			r.ts.UnixMicro(), r.value, "W1", r.measure); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, db, "W1", "temperature")
	if len(got) != 2 || !got[0].Time.Equal(jan) || !got[1].Time.Equal(mar) || got[1].Value != dtbase.FloatValue(1) {
		t.Fatalf("after the migration: %+v", got)
	}
	if got := scanAll(t, db, "W1", "label"); len(got) != 1 || got[0].Value != dtbase.StringValue("x") {
		t.Fatalf("string readings after the migration: %+v", got)
	}
	if sqldbtest.PostgresURL() == "" {
		return
	}
	for ts, want := range map[time.Time]string{jan: "reading_float_2024_01", mar: "reading_float_2024_03"} {
		if got := partitionOf(t, db, ts); got != want {
			t.Errorf("the reading at %v is in %s, want %s", ts, got, want)
		}
	}
	// Every month from now on has its partition, so that the first
	// readings after an upgrade do not pile up in the default one.
	if names := partitionNames(t, db); !slices.Contains(names, "reading_boolean_"+time.Now().UTC().Format("2006_01")) {
		t.Errorf("no partition of the current month in %v", names)
	}
}

// TestPartitionSplitUnderWrites creates partitions while writers insert
// readings of months that have none yet: no write may fail (a row routed
// to the default partition just as its month is attached would), and
// every reading ends in its month's partition.
func TestPartitionSplitUnderWrites(t *testing.T) {
	sqldbtest.NeedPostgres(t, "partitions are PostgreSQL's")
	db := readingDB(t)
	ctx := context.Background()
	start := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	const months, perMonth = 12, 20
	done := make(chan error, 2)
	for w, uid := range []string{"W1", "W2"} {
		go func() {
			for m := range months {
				for i := range perMonth {
					ts := start.AddDate(0, m, 0).Add(time.Duration(i*60+w) * time.Minute)
					if _, err := db.InsertReadings(ctx, []dtbase.ReadingSeries{{UniqueIdentifier: uid, MeasureName: "temperature",
						Timestamps: []time.Time{ts}, Values: []dtbase.Value{dtbase.FloatValue(1)}}}); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	stop := make(chan struct{})
	splits := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				splits <- nil
				return
			default:
			}
			if _, err := db.EnsurePartitions(ctx, start); err != nil {
				splits <- err
				return
			}
		}
	}()
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("write: %v", err)
		}
	}
	close(stop)
	if err := <-splits; err != nil {
		t.Fatalf("split: %v", err)
	}
	if _, err := db.EnsurePartitions(ctx, start); err != nil {
		t.Fatal(err)
	}
	var inDefault, total int
	if err := db.SQL().QueryRow(`SELECT count(*) FILTER (WHERE tableoid = 'reading_float_default'::regclass), count(*) FROM reading_float`).Scan(&inDefault, &total); err != nil {
		t.Fatal(err)
	}
	if inDefault != 0 || total != 2*months*perMonth {
		t.Errorf("%d readings, %d in the default partition; want %d and 0", total, inDefault, 2*months*perMonth)
	}
}
