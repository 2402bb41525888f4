package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/api/apitest"
	"github.com/dtbase/dtbase/outbound"
	"github.com/dtbase/dtbase/servicerun"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// testEnv is the API server with this web interface on a fresh database,
// served over loopback HTTP, with a controllable clock and a real service
// runner calling a local echo service.
type testEnv struct {
	t      *testing.T
	db     *sqldb.DB
	web    *Handler
	srv    *httptest.Server
	echo   *httptest.Server
	mu     sync.Mutex
	now    time.Time
	secret []byte
}

const testPassword = "correct horse"

// newSeededEnv is newEnv with the data of seed.
func newSeededEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newEnv(t)
	e.seed()
	return e
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	db := sqldbtest.Open(t)
	e := &testEnv{t: t, db: db, now: time.Now().UTC(), secret: []byte("web-test-secret")}
	e.echo = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), `"fail"`) {
			w.WriteHeader(http.StatusInternalServerError)
		}
		w.Write([]byte(`{"echo":` + orNull(body) + `}`))
	}))
	t.Cleanup(e.echo.Close)
	sealer, err := servicerun.NewSealer(e.secret)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The test services listen on loopback, which only an allow-list opens.
	runner, err := servicerun.NewRunner(servicerun.Options{Store: db, Sealer: sealer, TokenSecret: e.secret, Logger: log, AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := outbound.New(outbound.Options{AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	sender := alert.NewSender(guard, sealer.Open, "")
	e.web = New(Config{Store: db, Secret: e.secret, SessionTTL: time.Hour, BcryptCost: bcrypt.MinCost,
		Services: runner, Now: e.clock, Logger: log,
		TestChannel: func(ctx context.Context, c dtbase.AlertChannel) (string, error) {
			return sender.SendTest(ctx, c, e.clock())
		}})
	apiSrv := api.New(api.Config{Store: db, Secret: e.secret, BcryptCost: bcrypt.MinCost, Services: runner, Logger: log})
	mux := http.NewServeMux()
	apiSrv.Mount(mux)
	mux.Handle("/", http.MaxBytesHandler(e.web, 64<<20))
	e.srv = httptest.NewServer(apiSrv.Middleware(mux))
	t.Cleanup(e.srv.Close)
	for _, r := range []dtbase.Role{dtbase.RoleAdmin, dtbase.RoleEditor, dtbase.RoleViewer} {
		e.user(string(r)+"@example.com", r)
	}
	return e
}

// testLogWriter sends warnings and errors to the test's log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func orNull(b []byte) string {
	if len(strings.TrimSpace(string(b))) == 0 {
		return "null"
	}
	return string(b)
}

func (e *testEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *testEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// serviceAt adds a service whose URL is a local server answering with
// handler (POST unless svc says otherwise); the server stops with the test.
func (e *testEnv) serviceAt(svc dtbase.Service, handler http.HandlerFunc) {
	e.t.Helper()
	srv := httptest.NewServer(handler)
	e.t.Cleanup(srv.Close)
	svc.URL = srv.URL
	if svc.HTTPMethod == "" {
		svc.HTTPMethod = "POST"
	}
	if err := e.db.CreateService(context.Background(), &svc); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) user(email string, role dtbase.Role) {
	e.t.Helper()
	apitest.AddUser(e.t, e.db, email, testPassword, role)
}

// browser is a client with a cookie jar that does not follow redirects, so
// tests see each answer.
type browser struct {
	e      *testEnv
	client *http.Client
	token  string // the form token of the session login signed in
}

func (e *testEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
	Elapsed  time.Duration
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	start := time.Now()
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Body: string(body), Header: res.Header, Location: res.Header.Get("Location"), Elapsed: time.Since(start)}
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form as it is; submit adds the session's CSRF token.
func (b *browser) post(path string, form url.Values, referer string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if referer != "" {
		req.Header.Set("Referer", b.e.srv.URL+referer)
	}
	return b.do(req)
}

// submit sends a form with the CSRF token of the session, as the form on
// the page at referer would.
func (b *browser) submit(path string, form url.Values, referer string) page {
	b.e.t.Helper()
	form.Set("csrf_token", b.token)
	return b.post(path, form, referer)
}

// mustSubmit is submit for a form that must be accepted: the test stops
// unless the answer is the redirect that follows a form (303).
func (b *browser) mustSubmit(path string, form url.Values, referer string) page {
	b.e.t.Helper()
	res := b.submit(path, form, referer)
	if res.Status != http.StatusSeeOther {
		b.e.t.Fatalf("%s: %d\n%s", path, res.Status, res.Body)
	}
	return res
}

// flashOf returns the start of a page's flash message, "" when it has none.
func flashOf(body string) string {
	if i := strings.Index(body, `class="flash`); i >= 0 {
		return body[i:min(len(body), i+300)]
	}
	return ""
}

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the form token found on a page.
func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfPattern.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", p.Body)
	}
	return m[1]
}

// sendLogin sends the login form, with the token of the login page and
// any extra fields (next).
func (b *browser) sendLogin(email, password string, extra url.Values) page {
	b.e.t.Helper()
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {csrf(b.e.t, b.get("/login"))}}
	maps.Copy(form, extra)
	return b.post("/login", form, "/login")
}

// signIn returns a new browser signed in as email.
func (e *testEnv) signIn(email string) *browser {
	e.t.Helper()
	b := e.browser()
	b.login(email)
	return b
}

// login signs in and keeps the CSRF token of the session, which submit
// adds to forms from then on.
func (b *browser) login(email string) {
	t := b.e.t
	t.Helper()
	res := b.sendLogin(email, testPassword, nil)
	if res.Status != http.StatusSeeOther {
		t.Fatalf("login as %s: status %d: %s", email, res.Status, res.Body)
	}
	home := b.get("/")
	if home.Status != http.StatusOK {
		t.Fatalf("dashboard after login: %d", home.Status)
	}
	b.token = csrf(t, home)
}

// createSensor creates a sensor, failing the test on an error.
func (e *testEnv) createSensor(s dtbase.Sensor) {
	e.t.Helper()
	if err := e.db.CreateSensor(context.Background(), &s); err != nil {
		e.t.Fatal(err)
	}
}

// insert stores readings, failing the test on an error.
func (e *testEnv) insert(series ...dtbase.ReadingSeries) {
	e.t.Helper()
	if _, err := e.db.InsertReadings(context.Background(), series); err != nil {
		e.t.Fatal(err)
	}
}

// seed fills the database with data like the demo's: two sensor types,
// eight sensors with a week of 10-minute readings, an x/y/z location
// schema with placements, a model run with an interval, and a service
// with parameter sets, runs and a schedule.
func (e *testEnv) seed() {
	t := e.t
	t.Helper()
	ctx := context.Background()
	c, pct, ppm := "°C", "%", "ppm"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.db.CreateSensorType(ctx, &dtbase.SensorType{Name: "Aranet T&RH", Measures: []dtbase.Measure{
		{Name: "temperature", Units: &c, Datatype: dtbase.Float}, {Name: "humidity", Units: &pct, Datatype: dtbase.Float}}}))
	must(e.db.CreateSensorType(ctx, &dtbase.SensorType{Name: "Aranet CO2", Measures: []dtbase.Measure{
		{Name: "co2", Units: &ppm, Datatype: dtbase.Integer}, {Name: "status", Datatype: dtbase.String}}}))
	must(e.db.CreateLocationSchema(ctx, &dtbase.LocationSchema{Name: "farm-xyz", Identifiers: []dtbase.Identifier{
		{Name: "x", Datatype: dtbase.Float}, {Name: "y", Datatype: dtbase.Float}, {Name: "z", Datatype: dtbase.Float}}}))
	end := e.clock().Truncate(10 * time.Minute)
	var series []dtbase.ReadingSeries
	for i := 0; i < 8; i++ {
		typ := "Aranet T&RH"
		if i >= 6 {
			typ = "Aranet CO2"
		}
		uid := "sensor-" + string(rune('a'+i))
		must(e.db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: uid, TypeName: typ}))
		_, err := e.db.CreateLocation(ctx, "farm-xyz", dtbase.Coordinates{"x": dtbase.FloatValue(float64(i)), "y": dtbase.FloatValue(float64(i % 3)), "z": dtbase.FloatValue(1)})
		must(err)
		_, err = e.db.CreateSensorPlacement(ctx, uid, "farm-xyz", dtbase.Coordinates{"x": dtbase.FloatValue(float64(i))}, end.Add(-8*24*time.Hour))
		must(err)
		n := 7 * 24 * 6
		ts := make([]time.Time, n)
		for k := range ts {
			ts[k] = end.Add(-time.Duration(n-1-k) * 10 * time.Minute)
		}
		if typ == "Aranet T&RH" {
			temp, hum := make([]dtbase.Value, n), make([]dtbase.Value, n)
			for k := range temp {
				temp[k] = dtbase.FloatValue(20 + 3*math.Sin(float64(k)/24) + float64(i)/10)
				hum[k] = dtbase.FloatValue(60 + 10*math.Cos(float64(k)/30))
			}
			series = append(series, dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "temperature", Values: temp, Timestamps: ts},
				dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "humidity", Values: hum, Timestamps: ts})
		} else {
			co2, st := make([]dtbase.Value, n), make([]dtbase.Value, n)
			for k := range co2 {
				co2[k] = dtbase.IntValue(int64(400 + k%50))
				st[k] = dtbase.StringValue("ok")
			}
			series = append(series, dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "co2", Values: co2, Timestamps: ts},
				dtbase.ReadingSeries{UniqueIdentifier: uid, MeasureName: "status", Values: st, Timestamps: ts})
		}
	}
	_, err := e.db.InsertReadings(ctx, series)
	must(err)

	// A forecast of sensor-a's temperature over the last day, with bounds.
	var mean, lower, upper []dtbase.Value
	var fts []time.Time
	for k := 0; k < 24; k++ {
		fts = append(fts, end.Add(-24*time.Hour+time.Duration(k)*time.Hour))
		m := 20 + 3*math.Sin(float64(k*6)/24)
		mean, lower, upper = append(mean, dtbase.FloatValue(m)), append(lower, dtbase.FloatValue(m-1)), append(upper, dtbase.FloatValue(m+1))
	}
	uid := "sensor-a"
	must(e.db.CreateModelRuns(ctx, []*dtbase.NewModelRun{{ModelName: "arima", ScenarioDescription: "default",
		CreateModel: true, CreateScenario: true, CreateMeasures: true, TimeCreated: end.Add(-25 * time.Hour),
		SensorUniqueID: &uid, SensorMeasure: &dtbase.ModelSensorMeasure{Name: "temperature", Units: &c},
		Series: []dtbase.NewModelSeries{
			{MeasureName: "Mean temperature", MeasureUnits: &c, Datatype: dtbase.Float, Values: mean, Timestamps: fts},
			{MeasureName: "Lower Bound temperature", MeasureUnits: &c, Datatype: dtbase.Float, Values: lower, Timestamps: fts},
			{MeasureName: "Upper Bound temperature", MeasureUnits: &c, Datatype: dtbase.Float, Values: upper, Timestamps: fts},
		}}}))

	e.seedService(end)
}

// seedService adds the echo service with a parameter set, a succeeded and
// a failed run before end, and an hourly schedule.
func (e *testEnv) seedService(end time.Time) {
	t := e.t
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.db.CreateService(ctx, &dtbase.Service{Name: "echo", URL: e.echo.URL + "/run", HTTPMethod: "POST"}))
	must(e.db.CreateParameterSet(ctx, &dtbase.ParameterSet{ServiceName: "echo", Name: "hourly", Parameters: json.RawMessage(`{"hours": 1}`)}))
	set := "hourly"
	for k, code := range []int{200, 500} {
		run, _, err := e.db.StartRun(ctx, dtbase.RunStart{ServiceName: "echo", ParameterSetName: &set, Status: dtbase.RunRunning,
			TriggeredBy: "seed", Timestamp: end.Add(-time.Duration(2-k) * time.Hour)})
		must(err)
		status := dtbase.RunSucceeded
		if code >= 400 {
			status = dtbase.RunFailed
		}
		must(e.db.FinishRun(ctx, run.ID, dtbase.RunOutcome{Status: status, StatusCode: &code, ResponseJSON: json.RawMessage(`{"ok":true}`), Duration: 12 * time.Millisecond}))
	}
	must(e.db.CreateSchedule(ctx, &dtbase.Schedule{ServiceName: "echo", Name: "every-hour", Cron: "0 * * * *", TimeZone: "UTC",
		ParameterSetName: &set, Enabled: true, NextRun: end.Add(time.Hour)}))
}
