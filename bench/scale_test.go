package bench

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

// The data set of the scale benchmark: one-minute readings of many sensors.
// The default runs in a few minutes on a 2-core machine; -scale.days 365
// is the year of the target (52M readings).
var (
	scaleDays    = flag.Int("scale.days", 30, "days of one-minute data per sensor in BenchmarkScale")
	scaleSensors = flag.Int("scale.sensors", 100, "sensors in BenchmarkScale")
)

// BenchmarkScale measures the scale paths against baselines taken in the
// same run: the bulk path against a raw load, many one-reading clients
// with and without group commit, plots of the generated data set against a
// read of 1,000 raw rows, bytes per reading, and the memory of a 42 MB CSV
// upload. Run it with -benchtime 1x.
func BenchmarkScale(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runScaleBench(b)
	}
}

func runScaleBench(b *testing.B) {
	b.StopTimer()
	ctx := context.Background()
	db, dsn, token := fixtureDB(b)
	defer db.Close()
	figs := &figures{width: 46, targetWidth: 22, echo: true}
	add := figs.add
	fmt.Printf("\ndtbase scale benchmark on %s\n", db.Dialect)
	b.StartTimer()

	bulkRate, rawRate := measureBulk(b, db, add)
	groupRate, _ := measureSmall(b, db, dsn, token, add)

	// --- The data set: one-minute data of many sensors, written through
	// the bulk path one day (all sensors) per transaction.
	ids := scaleFixture(b, db, *scaleSensors)
	yearStart := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// Months created ahead of the backfill, as the leader does for new
	// data: rows go straight into their partitions.
	if _, err := db.CreatePartitions(ctx, yearStart, yearStart.AddDate(0, 0, *scaleDays)); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	total := generateMinuteData(b, db, ids, yearStart, *scaleDays)
	genTime := time.Since(start)
	add(fmt.Sprintf("generate %d days × %d sensors, 1-min data", *scaleDays, *scaleSensors), "", "%d readings in %s = %.0f readings/s",
		total, genTime.Round(time.Second), float64(total)/genTime.Seconds())

	// --- Plots of the whole range against a read of 1,000 raw rows.
	m := dtbase.ReadingMeasure{SensorID: ids[0], MeasureID: measureID, UniqueIdentifier: "Y0", MeasureName: "value", Datatype: dtbase.Float}
	yearEnd := yearStart.Add(time.Duration(*scaleDays) * 24 * time.Hour)
	raw1000 := bestOf(20, func() {
		rawScan(b, db, ids[0], yearStart.UnixMicro(), yearStart.Add(999*time.Minute).UnixMicro(), 1000)
	})
	plot := func(ms []dtbase.ReadingMeasure) (int, time.Duration) {
		var n int
		d := bestOf(5, func() {
			n = 0
			for _, m := range ms {
				if err := db.DownsampleReadings(ctx, m, yearStart, yearEnd, 1000, func(dtbase.Reading) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
		return n, d
	}
	n1, one := plot([]dtbase.ReadingMeasure{m})
	all := make([]dtbase.ReadingMeasure, len(ids))
	for i, id := range ids {
		all[i] = m
		all[i].SensorID, all[i].UniqueIdentifier = id, fmt.Sprintf("Y%d", i)
	}
	nAll, allTime := plot(all)
	// The fair baseline of many plots is 1,000 raw rows of each, as in
	// BenchmarkPlot.
	rawAll := bestOf(5, func() {
		for _, id := range ids {
			rawScan(b, db, id, yearStart.UnixMicro(), yearStart.Add(999*time.Minute).UnixMicro(), 1000)
		}
	})
	add("read 1,000 raw rows (baseline)", "", "%s", raw1000.Round(time.Microsecond))
	add("1,000-point plot of one sensor, whole range", "≤ 3× 1,000 raw rows", "%s = %.2f× (%d points)", one.Round(time.Microsecond), float64(one)/float64(raw1000), n1)
	add(fmt.Sprintf("read 1,000 raw rows of each of %d sensors", len(ids)), "", "%s", rawAll.Round(time.Microsecond))
	add(fmt.Sprintf("1,000-point plots of all %d sensors", len(ids)), "≤ 3× their raw rows", "%s = %.2f× (%d points)", allTime.Round(time.Microsecond), float64(allTime)/float64(rawAll), nAll)
	db.SetRollupReads(false)
	_, rawOne := plot([]dtbase.ReadingMeasure{m})
	db.SetRollupReads(true)
	add("the same one-sensor plot from raw readings", "", "%s = %.0f× the rollup plot", rawOne.Round(time.Millisecond), float64(rawOne)/float64(one))
	latest := bestOf(10, func() {
		if _, err := db.LatestReadings(ctx, dtbase.LatestReadingFilter{}); err != nil {
			b.Fatal(err)
		}
	})
	add(fmt.Sprintf("latest readings, %d series", len(ids)+fixtureSensors), "dashboard", "%s per call", latest.Round(time.Microsecond))

	// --- Bytes per reading on disk, tables and indexes.
	readings, rb, rollb := storageBytes(b, db)
	add("bytes per reading (readings table + key)", "", "%.1f B (%d readings)", float64(rb)/float64(readings), readings)
	add("bytes per reading (rollups)", "", "%.1f B", float64(rollb)/float64(readings))

	// --- A 42 MB CSV upload, streamed, in a server process.
	b.StopTimer()
	csv := scaleCSV(42 << 20)
	ch := startChild(b, dsn)
	cc := newClient(ch.base, token)
	cc.do(b, http.MethodPost, "/sensor/upload-readings-csv", "text/csv", []byte("unique_identifier,measure_name,timestamp,value\nS15,value,2001-01-01T00:00:00Z,1\n"), 201)
	base := ch.peakRSS(b)
	b.StartTimer()
	start = time.Now()
	cc.do(b, http.MethodPost, "/sensor/upload-readings-csv", "text/csv", csv, 201)
	upTime := time.Since(start)
	grown := ch.peakRSS(b) - base
	add(fmt.Sprintf("%d MB CSV upload (server process)", len(csv)>>20), "peak RSS +≤ 20 MB", "%s, peak RSS %+.1f MB", upTime.Round(time.Millisecond), float64(grown)/(1<<20))

	b.ReportMetric(bulkRate/rawRate, "bulk/baseline")
	b.ReportMetric(groupRate/todaySmallRate(db.Dialect), "group/today")
	b.ReportMetric(float64(one)/float64(raw1000), "plot/raw1000")
	b.ReportMetric(float64(grown)/(1<<20), "upload-rss-MB")
	figs.print(fmt.Sprintf("dtbase scale benchmark on %s", db.Dialect))
}

func floatSeries(uid string, ts []int64, vs []float64) dtbase.ReadingSeries {
	s := dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "value", Values: make([]dtbase.Value, len(ts)), Timestamps: make([]time.Time, len(ts))}
	for i := range ts {
		s.Values[i], s.Timestamps[i] = dtbase.FloatValue(vs[i]), time.UnixMicro(ts[i]).UTC()
	}
	return s
}

// baselineLoad writes rows the raw way, in one transaction: COPY into a
// bare table without keys on PostgreSQL, multi-row INSERTs into the
// readings table on SQLite.
func baselineLoad(tb testing.TB, db *sqldb.DB, rows [][]int64, vs []float64) {
	tb.Helper()
	if db.Dialect != sqldb.Postgres {
		for i, ts := range rows {
			rawInsert(tb, db, int64(1+i), ts, vs)
		}
		return
	}
	copyRows(tb, db, "bare_reading", 1, rows, vs)
}

// copyRows copies rows (series i is sensor firstSensor+i) into table on
// PostgreSQL.
func copyRows(tb testing.TB, db *sqldb.DB, table string, firstSensor int64, rows [][]int64, vs []float64) {
	tb.Helper()
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		n := len(rows) * len(vs)
		_, err := pc.CopyFrom(ctx, pgx.Identifier{table}, []string{"sensor_id", "measure_id", "ts", "value"},
			pgx.CopyFromSlice(n, func(k int) ([]any, error) {
				i, j := k/len(vs), k%len(vs)
				return []any{firstSensor + int64(i), int64(measureID), rows[i][j], vs[j]}, nil
			}))
		return err
	})
	if err != nil {
		tb.Fatalf("copy into %s: %v", table, err)
	}
}

// scaleFixture creates sensors Y0…Y(n-1) of the bench type and returns
// their ids.
func scaleFixture(tb testing.TB, db *sqldb.DB, n int) []int64 {
	tb.Helper()
	ids := make([]int64, n)
	for i := range ids {
		s := &dtbase.Sensor{UniqueIdentifier: fmt.Sprintf("Y%d", i), TypeName: "bench"}
		if err := db.CreateSensor(context.Background(), s); err != nil {
			tb.Fatal(err)
		}
		ids[i] = s.ID
	}
	return ids
}

// generateMinuteData writes one reading a minute for every sensor over
// days from start, one day of all sensors per InsertReadings call (the
// bulk path), and returns the number of readings written.
func generateMinuteData(tb testing.TB, db *sqldb.DB, ids []int64, start time.Time, days int) int64 {
	tb.Helper()
	var total int64
	for d := 0; d < days; d++ {
		ss := make([]dtbase.ReadingSeries, len(ids))
		for i := range ids {
			ss[i] = minuteSeries(i, start, d*1440, (d+1)*1440)
		}
		res, err := db.InsertReadings(context.Background(), ss)
		if err != nil {
			tb.Fatal(err)
		}
		total += res.Inserted
	}
	return total
}

// minuteSeries returns the readings of sensor Yi at minutes lo to hi-1
// after start: a daily sine with noise, and a rare spike.
func minuteSeries(i int, start time.Time, lo, hi int) dtbase.ReadingSeries {
	s := dtbase.ReadingSeries{UniqueIdentifier: fmt.Sprintf("Y%d", i), MeasureName: "value",
		Values: make([]dtbase.Value, hi-lo), Timestamps: make([]time.Time, hi-lo)}
	for minute := lo; minute < hi; minute++ {
		v := 20 + 5*math.Sin(float64(minute)/1440*2*math.Pi) + float64((minute*7919+i*104729)%1000)/1000
		if (minute+i*37)%100_003 == 0 {
			v = 80 // a rare spike the plots must keep
		}
		s.Values[minute-lo] = dtbase.FloatValue(v)
		s.Timestamps[minute-lo] = start.Add(time.Duration(minute) * time.Minute)
	}
	return s
}

// storageBytes returns the number of float readings and the bytes on disk
// of the readings table with its key and of the rollups.
func storageBytes(tb testing.TB, db *sqldb.DB) (readings, readingBytes, rollupBytes int64) {
	tb.Helper()
	if err := db.SQL().QueryRow(`SELECT count(*) FROM reading_float`).Scan(&readings); err != nil {
		tb.Fatal(err)
	}
	// On PostgreSQL readings are partitioned by month: the parent holds
	// nothing, its partitions (with their indexes) everything.
	q1, q2 := `SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('reading_float')`, `SELECT pg_total_relation_size('reading_rollup')`
	if db.Dialect == sqldb.Postgres {
		if _, err := db.SQL().Exec(`VACUUM ANALYZE reading_float, reading_rollup`); err != nil {
			tb.Fatal(err)
		}
	} else {
		q1, q2 = `SELECT sum(pgsize) FROM dbstat WHERE name = 'reading_float'`, `SELECT sum(pgsize) FROM dbstat WHERE name = 'reading_rollup'`
	}
	if err := db.SQL().QueryRow(q1).Scan(&readingBytes); err != nil {
		tb.Fatal(err)
	}
	if err := db.SQL().QueryRow(q2).Scan(&rollupBytes); err != nil {
		tb.Fatal(err)
	}
	return readings, readingBytes, rollupBytes
}

// scaleCSV returns a long-layout CSV file of about size bytes of
// one-second readings of sensor S15.
func scaleCSV(size int) []byte {
	b := make([]byte, 0, size+100)
	b = append(b, "unique_identifier,measure_name,timestamp,value\n"...)
	t := time.Date(2002, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; len(b) < size; i++ {
		b = append(b, "S15,value,"...)
		b = dtbase.AppendTime(b, t.Add(time.Duration(i)*time.Second))
		b = append(b, ',')
		b = dtbase.AppendFloat(b, float64(i%1000)*0.125)
		b = append(b, '\n')
	}
	return b
}
