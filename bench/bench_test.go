package bench

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/sqldb"
)

// Sizes of the benchmark. Together they run in well under three minutes
// on a 2-core machine with either engine.
const (
	ingestBatch    = 10_000    // readings per request, as the target says
	ingestRequests = 20        // per measured run
	readPoints     = 100_000   // the range read
	bigPoints      = 1_000_000 // the memory and downsampling checks
	downsampleTo   = 1000
)

// BenchmarkReadings runs every reading-path measurement once and prints a
// table of rates and ratios against raw database baselines taken in the
// same run. Run it with -benchtime 1x.
func BenchmarkReadings(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runReadingBench(b)
	}
}

// figure is one result of a benchmark: its name, its target and what was
// measured.
type figure struct {
	name, value, target string
}

// figures collects a benchmark's results, printed as rows of name, target
// and value, the first two padded to width and targetWidth; with echo set
// each row is printed as it is added too, for long runs.
type figures struct {
	width, targetWidth int
	echo               bool
	list               []figure
}

// add records a result whose value is format with args.
func (fs *figures) add(name, target, format string, args ...any) {
	f := figure{name, fmt.Sprintf(format, args...), target}
	fs.list = append(fs.list, f)
	if fs.echo {
		fs.printRow(f)
	}
}

func (fs *figures) printRow(f figure) {
	fmt.Printf("  %-*s %-*s %s\n", fs.width, f.name, fs.targetWidth, f.target, f.value)
}

// print prints title after a blank line, then every result and a blank
// line.
func (fs *figures) print(title string) {
	fmt.Printf("\n%s\n", title)
	for _, f := range fs.list {
		fs.printRow(f)
	}
	fmt.Println()
}

func runReadingBench(b *testing.B) {
	b.StopTimer()
	db, dsn, token := fixtureDB(b)
	defer db.Close()
	srv := httptest.NewServer(api.New(api.Config{Store: db, Secret: []byte("bench"), Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	c := newClient(srv.URL, token)
	figs := &figures{width: 42, targetWidth: 20}
	add := figs.add
	b.StartTimer()

	// --- Ingest: raw bulk load against the API, single client and 4 clients.
	// Each run writes new timestamps to its own sensor, so nothing is a
	// duplicate. Best of two runs of each, to damp noise.
	var nextStart int64 = 1_600_000_000_000_000
	batches := func(n int) [][]int64 {
		out := make([][]int64, n)
		for i := range out {
			out[i], _ = series(nextStart, ingestBatch)
			nextStart += int64(ingestBatch) * 1e6
		}
		return out
	}
	_, vals := series(0, ingestBatch)
	// Baseline and API runs alternate, so that a change in machine load
	// during the run affects both alike; each keeps its best of three.
	rawRate, apiRate := 0.0, 0.0
	for run := 0; run < 3; run++ {
		bs := batches(ingestRequests)
		start := time.Now()
		for _, ts := range bs {
			rawInsert(b, db, 1, ts, vals)
		}
		rawRate = max(rawRate, float64(ingestRequests*ingestBatch)/time.Since(start).Seconds())

		bodies := make([][]byte, ingestRequests)
		for i, ts := range batches(ingestRequests) {
			bodies[i] = readingBody(sensorUID(1), ts, vals)
		}
		start = time.Now()
		for _, body := range bodies {
			c.do(b, http.MethodPost, "/sensor/insert-sensor-readings", "application/json", body, 201)
		}
		apiRate = max(apiRate, float64(ingestRequests*ingestBatch)/time.Since(start).Seconds())
	}
	add("ingest raw bulk load (baseline)", "", "%.0f readings/s", rawRate)
	add("ingest API, 1 client, 10k/request", "≥ 50% of raw", "%.0f readings/s = %.0f%% of raw", apiRate, 100*apiRate/rawRate)
	conc := 0.0
	for run := 0; run < 2; run++ {
		var bodies [4][][]byte
		for w := range bodies {
			for _, ts := range batches(ingestRequests / 4 * 2) {
				bodies[w] = append(bodies[w], readingBody(sensorUID(2+w), ts, vals))
			}
		}
		var wg sync.WaitGroup
		start := time.Now()
		for w := range bodies {
			wg.Go(func() {
				for _, body := range bodies[w] {
					c.do(b, http.MethodPost, "/sensor/insert-sensor-readings", "application/json", body, 201)
				}
			})
		}
		wg.Wait()
		conc = max(conc, float64(4*len(bodies[0])*ingestBatch)/time.Since(start).Seconds())
	}
	add("ingest API, 4 clients, 10k/request", "", "%.0f readings/s = %.0f%% of raw", conc, 100*conc/rawRate)

	// --- Range read of 100k points: raw SQL against the API.
	ts, vs := series(1_500_000_000_000_000, readPoints)
	for i := 0; i < readPoints; i += ingestBatch {
		rawInsert(b, db, 8, ts[i:i+ingestBatch], vs[i:i+ingestBatch])
	}
	readBody := fmt.Appendf(nil, `{"measure_name":"value","unique_identifier":%q,"dt_from":"2017-01-01","dt_to":"2018-01-01"}`, sensorUID(7))
	var size int64
	rawRead, apiRead := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for run := 0; run < 5; run++ { // alternating, best of five each
		rawRead = min(rawRead, bestOf(1, func() { rawScan(b, db, 8, ts[0], ts[len(ts)-1], readPoints) }))
		apiRead = min(apiRead, bestOf(1, func() { size = c.do(b, http.MethodPost, "/sensor/sensor-readings", "application/json", readBody, 200) }))
	}
	add("range read 100k, raw SQL (baseline)", "", "%s", rawRead.Round(time.Microsecond))
	add("range read 100k, API (JSON, loopback)", "≤ 2× raw", "%s = %.2f× raw (%d bytes)", apiRead.Round(time.Microsecond), float64(apiRead)/float64(rawRead), size)

	// --- 1M points: downsampling against the raw read, and the memory of
	// streamed answers, measured in a server subprocess.
	ts, vs = series(1_400_000_000_000_000, bigPoints)
	for i := 0; i < bigPoints; i += 100_000 {
		rawInsert(b, db, 9, ts[i:i+100_000], vs[i:i+100_000])
	}
	rawBig := bestOf(2, func() { rawScan(b, db, 9, ts[0], ts[len(ts)-1], bigPoints) })
	down := fmt.Appendf(nil, `{"measure_name":"value","unique_identifier":%q,"dt_from":"2014-01-01","dt_to":"2016-01-01","max_points":%d}`, sensorUID(8), downsampleTo)
	apiDown := bestOf(3, func() { c.do(b, http.MethodPost, "/sensor/sensor-readings-downsampled", "application/json", down, 200) })
	add("1M points, raw SQL read (baseline)", "", "%s", rawBig.Round(time.Millisecond))
	add("1M points downsampled to 1000, API", "report", "%s = %.2f× the raw read", apiDown.Round(time.Millisecond), float64(apiDown)/float64(rawBig))

	// --- Latest value per sensor and measure, as a polling dashboard asks
	// for it, with 1.3M readings stored across the sensors.
	latest := bestOf(20, func() { c.do(b, http.MethodPost, "/sensor/latest-readings", "application/json", []byte(`{}`), 200) })
	add("latest-readings (16 sensors, 1.3M rows)", "dashboard polling", "%s per call", latest.Round(time.Microsecond))

	b.StopTimer()
	ch := startChild(b, dsn)
	cc := newClient(ch.base, token)
	small := fmt.Appendf(nil, `{"measure_name":"value","unique_identifier":%q,"dt_from":"2014-01-01","dt_to":"2014-01-02"}`, sensorUID(8))
	cc.do(b, http.MethodPost, "/sensor/sensor-readings", "application/json", small, 200) // warm up
	base := ch.peakRSS(b)
	b.StartTimer()
	start := time.Now()
	csvBytes := cc.do(b, http.MethodGet, "/sensor/readings.csv?unique_identifier="+sensorUID(8)+"&measure_name=value", "", nil, 200)
	csvTime := time.Since(start)
	afterCSV := ch.peakRSS(b)
	big := fmt.Appendf(nil, `{"measure_name":"value","unique_identifier":%q,"dt_from":"2014-01-01","dt_to":"2016-01-01"}`, sensorUID(8))
	start = time.Now()
	jsonBytes := cc.do(b, http.MethodPost, "/sensor/sensor-readings", "application/json", big, 200)
	jsonTime := time.Since(start)
	afterJSON := ch.peakRSS(b)
	add("1M-point CSV download (server process)", "peak RSS +< 50 MB", "%s, %d MB, peak RSS %+.1f MB", csvTime.Round(time.Millisecond), csvBytes>>20, float64(afterCSV-base)/(1<<20))
	add("1M-point JSON read (server process)", "peak RSS +< 50 MB", "%s = %.2f× raw, %d MB, peak RSS %+.1f MB", jsonTime.Round(time.Millisecond), float64(jsonTime)/float64(rawBig), jsonBytes>>20, float64(afterJSON-afterCSV)/(1<<20))
	b.ReportMetric(apiRate/rawRate, "ingest/raw")
	b.ReportMetric(float64(apiRead)/float64(rawRead), "read/raw")
	b.ReportMetric(float64(max(afterCSV, afterJSON)-base)/(1<<20), "rss-MB")

	figs.print(fmt.Sprintf("dtbase reading benchmark on %s", db.Dialect))
}

func bestOf(n int, fn func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for i := 0; i < n; i++ {
		start := time.Now()
		fn()
		best = min(best, time.Since(start))
	}
	return best
}

// rawScan is the baseline read: the same range query through database/sql,
// scanning every row.
func rawScan(tb testing.TB, db *sqldb.DB, sensorID int64, from, to int64, want int) {
	tb.Helper()
	rows, err := db.SQL().Query(`SELECT ts, value FROM reading_float WHERE sensor_id = $1 AND measure_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts`,
		sensorID, measureID, from, to)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	n := 0
	var ts int64
	var v float64
	for rows.Next() {
		if err := rows.Scan(&ts, &v); err != nil {
			tb.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil || n != want {
		tb.Fatalf("raw scan: %d rows, %v", n, err)
	}
}
