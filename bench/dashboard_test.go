package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/derive"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
	"github.com/dtbase/dtbase/web"
)

// Sizes of the dashboard benchmark: a twin of 1,000 sensors (half with two
// measures) and 10M readings, 5% of the sensors silent for two days.
// DTBASE_BENCH_DASHBOARD_READINGS overrides the number of readings.
const (
	dashSensors  = 1000
	dashReadings = 10_000_000
	dashInterval = 5 * time.Minute
)

// BenchmarkDashboard loads the twin through the bulk insert path and
// prints the web dashboard's server time (its Server-Timing header) for
// the first view, with an empty interval cache, and for later views,
// beside the latest-values store call alone measured in the same run.
// Run it with -benchtime 1x.
func BenchmarkDashboard(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runDashboardBench(b)
	}
}

func runDashboardBench(b *testing.B) {
	b.StopTimer()
	ctx := context.Background()
	db := sqldbtest.Open(b)
	readings := dashReadings
	if s := os.Getenv("DTBASE_BENCH_DASHBOARD_READINGS"); s != "" {
		var err error
		if readings, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(dashInterval)
	start := time.Now()
	series := loadDashboardTwin(b, db, readings, now)
	load := time.Since(start)
	if db.Dialect == sqldb.Postgres {
		// What autovacuum does soon after a bulk load: statistics and the
		// visibility map, without which every plan works on guesses.
		if _, err := db.SQL().ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}

	hash, _ := api.HashPassword("bench password", bcrypt.MinCost)
	if err := db.CreateUser(ctx, &dtbase.User{Email: "bench@example.com", Role: dtbase.RoleViewer, PasswordHash: hash}); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Config{Store: db, Secret: []byte("bench"), BcryptCost: bcrypt.MinCost,
		Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	c := webLogin(b, srv.URL, "bench@example.com", "bench password")
	b.StartTimer()

	baseline := medianOf(9, func() time.Duration {
		start := time.Now()
		if _, err := db.LatestReadings(ctx, dtbase.LatestReadingFilter{}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	})
	first := serverTime(b, c, srv.URL+"/")
	figs := &figures{width: 42, targetWidth: 10}
	add := figs.add
	add("bulk load (store InsertReadingsFrom)", "", "%d readings in %s", readings, load.Round(time.Millisecond))
	add("latest values, store call (baseline)", "", "%s for %d series", baseline.Round(time.Microsecond), series)
	add("dashboard, first view (cold cache)", "report", "%s = %.1f× baseline", first.Round(time.Microsecond), float64(first)/float64(baseline))
	for _, v := range []struct{ name, path string }{
		{"dashboard, by type, page 1", "/"},
		{"dashboard, page 20", "/?page=20"},
		{"dashboard, stale only", "/?stale=1"},
		{"dashboard, text filter", "/?q=S0042&group=none"},
	} {
		d := medianOf(9, func() time.Duration { return serverTime(b, c, srv.URL+v.path) })
		add(v.name, "< 50 ms", "%s = %.1f× baseline", d.Round(time.Microsecond), float64(d)/float64(baseline))
		if v.path == "/" {
			b.ReportMetric(float64(d.Microseconds())/1000, "dashboard-ms")
			b.ReportMetric(float64(d)/float64(baseline), "dashboard/latest")
		}
	}
	// A derived measure of the T&RH sensors, as the demo's VPD: the stale
	// sensors (all T&RH) then show its latest values too.
	kpa, trh := "kPa", "bench T&RH"
	if err := derive.Define(ctx, db, &dtbase.DerivedMeasure{Name: "vpd", Units: &kpa, Expression: "vpd(temperature, humidity)", SensorType: &trh}); err != nil {
		b.Fatal(err)
	}
	serverTime(b, c, srv.URL+"/?stale=1") // draws the new sparklines
	d := medianOf(9, func() time.Duration { return serverTime(b, c, srv.URL+"/?stale=1") })
	add("dashboard, stale only, + derived measure", "< 50 ms", "%s = %.1f× baseline", d.Round(time.Microsecond), float64(d)/float64(baseline))
	figs.print(fmt.Sprintf("dtbase dashboard benchmark on %s: %d sensors, %d series, %d readings", db.Dialect, dashSensors, series, readings))
}

// loadDashboardTwin creates the sensors and stores the readings through
// InsertReadingsFrom, the path of bulk imports; it returns the number of
// series.
func loadDashboardTwin(tb testing.TB, db *sqldb.DB, readings int, now time.Time) int {
	tb.Helper()
	ctx := context.Background()
	c, pct, ppm := "C", "%", "ppm"
	types := []dtbase.SensorType{
		{Name: "bench T&RH", Measures: []dtbase.Measure{{Name: "temperature", Units: &c, Datatype: dtbase.Float}, {Name: "humidity", Units: &pct, Datatype: dtbase.Float}}},
		{Name: "bench CO2", Measures: []dtbase.Measure{{Name: "co2", Units: &ppm, Datatype: dtbase.Float}}},
	}
	for i := range types {
		if err := db.CreateSensorType(ctx, &types[i]); err != nil {
			tb.Fatal(err)
		}
	}
	type seriesSpec struct {
		uid, measure string
		units        *string
		end          time.Time
	}
	var specs []seriesSpec
	for i := range dashSensors {
		uid := fmt.Sprintf("S%04d", i)
		name := fmt.Sprintf("Bench sensor %d", i)
		t := types[i%2]
		if err := db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: uid, TypeName: t.Name, Name: &name}); err != nil {
			tb.Fatal(err)
		}
		end := now
		if i%20 == 0 {
			end = now.Add(-48 * time.Hour) // silent: stale
		}
		for _, m := range t.Measures {
			specs = append(specs, seriesSpec{uid, m.Name, m.Units, end})
		}
	}
	per := readings / len(specs)
	next := 0
	res, err := db.InsertReadingsFrom(ctx, func() (*dtbase.ReadingSeries, error) {
		if next == len(specs) {
			return nil, io.EOF
		}
		sp := specs[next]
		next++
		s := &dtbase.ReadingSeries{UniqueIdentifier: sp.uid, MeasureName: sp.measure, MeasureUnits: sp.units,
			Values: make([]dtbase.Value, per), Timestamps: make([]time.Time, per)}
		for k := range per {
			s.Timestamps[k] = sp.end.Add(-time.Duration(per-1-k) * dashInterval)
			s.Values[k] = dtbase.FloatValue(20 + float64(k%288)/10)
		}
		return s, nil
	})
	if err != nil || res.Inserted != int64(per*len(specs)) {
		tb.Fatalf("bulk load: %+v, %v", res, err)
	}
	return len(specs)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// webLogin signs in to the web interface and returns a client with the
// session cookie.
func webLogin(tb testing.TB, base, email, password string) *http.Client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	// Redirects are not followed, so that signing in does not view the
	// dashboard before the benchmark does.
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/login")
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		tb.Fatal("no CSRF token on the login page")
	}
	res, err = c.PostForm(base+"/login", url.Values{"email": {email}, "password": {password}, "csrf_token": {string(m[1])}})
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || strings.HasPrefix(loc, "/login") {
		tb.Fatalf("sign-in failed: %d to %s", res.StatusCode, loc)
	}
	return c
}

var serverTiming = regexp.MustCompile(`app;dur=([\d.]+)`)

// serverTime fetches a page and returns the server's time for it.
func serverTime(tb testing.TB, c *http.Client, u string) time.Duration {
	tb.Helper()
	res, err := c.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	m := serverTiming.FindStringSubmatch(res.Header.Get("Server-Timing"))
	if res.StatusCode != http.StatusOK || m == nil {
		tb.Fatalf("%s: status %d, Server-Timing %q", u, res.StatusCode, res.Header.Get("Server-Timing"))
	}
	ms, _ := strconv.ParseFloat(m[1], 64)
	return time.Duration(ms * float64(time.Millisecond))
}

func medianOf(n int, fn func() time.Duration) time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = fn()
	}
	return median(ds)
}
