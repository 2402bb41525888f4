package client

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/api/apitest"
	"github.com/dtbase/dtbase/forecast"
	"github.com/dtbase/dtbase/forecast/arima"
	"github.com/dtbase/dtbase/servicerun"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

const (
	adminEmail = "admin@example.com"
	adminPass  = "admin-password"
)

// testServer is the real API on a fresh database (SQLite, or PostgreSQL
// when DT_TEST_POSTGRES_URL is set) behind httptest, counting requests by
// path.
type testServer struct {
	URL string
	DB  *sqldb.DB

	mu    sync.Mutex
	calls map[string]int
}

func (s *testServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// withRunner gives the server a service runner, with sealer for
// credentials (nil: none). The tests' services listen on loopback, which
// only an allow-list opens.
func withRunner(t *testing.T, sealer *servicerun.Sealer) func(*api.Config) {
	return func(cfg *api.Config) {
		r, err := servicerun.NewRunner(servicerun.Options{Store: cfg.Store, Sealer: sealer, Logger: slog.New(slog.DiscardHandler),
			AllowedHosts: []string{"127.0.0.1"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Stop(context.Background()) })
		cfg.Services = r
	}
}

func newServer(t *testing.T, opts ...func(*api.Config)) *testServer {
	t.Helper()
	db := sqldbtest.Open(t)
	apitest.AddUser(t, db, adminEmail, adminPass, dtbase.RoleAdmin)
	cfg := apitest.Config(db)
	cfg.AccessTTL, cfg.RefreshGrace = time.Hour, time.Hour
	cfg.Forecasts = &forecast.Service{Store: db, Families: map[string]forecast.ModelFamily{arima.Family: arima.NewForecaster}}
	for _, o := range opts {
		o(&cfg)
	}
	ts := &testServer{DB: db, calls: map[string]int{}}
	h := api.New(cfg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.calls[r.URL.Path]++
		ts.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ts.URL = srv.URL
	return ts
}

// must fails the test at once on an error.
func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func adminClient(t *testing.T, s *testServer) *Client {
	return New(s.URL, WithCredentials(adminEmail, adminPass))
}

func TestLoginAndErrors(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()

	t.Run("wrong password", func(t *testing.T) {
		c := New(s.URL)
		_, err := c.Login(ctx, adminEmail, "nope")
		var e *Error
		if !errors.As(err, &e) || e.Status != 401 || e.Detail != "Incorrect email or password" {
			t.Fatalf("got %v, want a 401 *Error", err)
		}
		if StatusOf(err) != 401 {
			t.Errorf("StatusOf = %d", StatusOf(err))
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		_, err := New(s.URL).ListUsers(ctx)
		if StatusOf(err) != 401 || err.(*Error).Detail != "Not authenticated" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("lazy login", func(t *testing.T) {
		c := adminClient(t, s)
		users, err := c.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 || users[0] != adminEmail {
			t.Fatalf("users %v", users)
		}
		if a, r := c.Tokens(); a == "" || r == "" {
			t.Fatal("no tokens kept")
		}
	})
	t.Run("validation detail", func(t *testing.T) {
		err := adminClient(t, s).Post(ctx, "/user/create-user", map[string]string{"email": "a@b.c"}, nil)
		var e *Error
		if !errors.As(err, &e) || e.Status != 422 || !strings.Contains(e.Detail, "body.password") || len(e.Body) == 0 {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := adminClient(t, s).ListUsers(cctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

func TestTokenRenewal(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()

	t.Run("refresh shortly before expiry", func(t *testing.T) {
		c := adminClient(t, s)
		if _, err := c.ListUsers(ctx); err != nil {
			t.Fatal(err)
		}
		before := s.count("/auth/refresh")
		c.now = func() time.Time { return time.Now().Add(time.Hour - 10*time.Second) }
		if _, err := c.ListUsers(ctx); err != nil {
			t.Fatal(err)
		}
		if s.count("/auth/refresh") != before+1 {
			t.Fatalf("refresh calls %d, want %d", s.count("/auth/refresh"), before+1)
		}
	})
	t.Run("login again when the refresh token has expired", func(t *testing.T) {
		c := adminClient(t, s)
		if _, err := c.ListUsers(ctx); err != nil {
			t.Fatal(err)
		}
		logins, refreshes := s.count("/auth/login"), s.count("/auth/refresh")
		c.now = func() time.Time { return time.Now().Add(3 * time.Hour) }
		if _, err := c.ListUsers(ctx); err != nil {
			t.Fatal(err)
		}
		if s.count("/auth/login") != logins+1 || s.count("/auth/refresh") != refreshes {
			t.Fatalf("logins %d refreshes %d", s.count("/auth/login")-logins, s.count("/auth/refresh")-refreshes)
		}
	})
	t.Run("login again when refresh fails", func(t *testing.T) {
		c := adminClient(t, s)
		c.SetTokens("", "not-a-token")
		logins := s.count("/auth/login")
		if _, err := c.ListUsers(ctx); err != nil {
			t.Fatal(err)
		}
		if s.count("/auth/login") != logins+1 {
			t.Fatal("did not log in again")
		}
	})
	t.Run("retry once after a rejected access token", func(t *testing.T) {
		c := adminClient(t, s)
		// A token the server cannot verify, but that looks valid to the client.
		c.SetTokens("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2ln", "")
		if _, err := c.ListUsers(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("tokens only, real expiry", func(t *testing.T) {
		short := newServer(t, func(c *api.Config) { c.AccessTTL = 2 * time.Second; c.RefreshGrace = time.Hour })
		pair, err := New(short.URL).Login(ctx, adminEmail, adminPass)
		if err != nil {
			t.Fatal(err)
		}
		c := New(short.URL, WithTokens(pair.AccessToken, pair.RefreshToken))
		time.Sleep(2100 * time.Millisecond)
		if _, err := c.ListUsers(ctx); err != nil {
			t.Fatal(err)
		}
		if short.count("/auth/refresh") != 1 {
			t.Fatalf("refreshes %d, want 1", short.count("/auth/refresh"))
		}
	})
}

func TestUsersAndAPIKeys(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := adminClient(t, s)
	must(t, c.CreateUser(ctx, "v@example.com", "viewer password", RoleViewer))
	if err := c.CreateUser(ctx, "v@example.com", "pw", ""); !IsExists(err) {
		t.Fatalf("got %v, want exists already", err)
	}
	viewer := New(s.URL, WithCredentials("v@example.com", "viewer password"))
	if _, err := viewer.ListSensors(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := viewer.InsertSensorType(ctx, SensorType{Name: "x"}); StatusOf(err) != 403 {
		t.Fatalf("viewer write: %v, want 403", err)
	}
	must(t, c.SetRole(ctx, "v@example.com", RoleEditor))
	details, err := c.ListUsersDetails(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(details) != 2 || details[1].Email != "v@example.com" || details[1].Role != RoleEditor || details[1].TimeCreated.IsZero() {
		t.Fatalf("details %+v", details)
	}
	must(t, viewer.ChangePassword(ctx, "v@example.com", "second password"))
	if _, err := New(s.URL).Login(ctx, "v@example.com", "second password"); err != nil {
		t.Fatal(err)
	}

	// Signing out everywhere ends another device's tokens; this client,
	// which has the password, logs in again on its next call.
	signing := New(s.URL, WithCredentials("v@example.com", "second password"))
	pair, err := New(s.URL).Login(ctx, "v@example.com", "second password")
	if err != nil {
		t.Fatal(err)
	}
	other := New(s.URL, WithTokens(pair.AccessToken, pair.RefreshToken))
	must(t, signing.SignOutEverywhere(ctx))
	if _, err := other.ListSensors(ctx, ""); StatusOf(err) != 401 {
		t.Fatalf("other device after sign-out everywhere: %v, want 401", err)
	}
	if _, err := signing.ListSensors(ctx, ""); err != nil {
		t.Fatalf("signing client after sign-out everywhere: %v", err)
	}

	key, err := c.CreateAPIKey(ctx, "ingest", RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	kc := New(s.URL, WithAPIKey(key.Key))
	must(t, kc.InsertSensorType(ctx, SensorType{Name: "by-key"}))
	keys, err := c.ListAPIKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Name != "ingest" || keys[0].LastUsed == nil {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	must(t, c.RevokeAPIKey(ctx, "ingest"))
	if _, err := kc.ListSensors(ctx, ""); StatusOf(err) != 401 {
		t.Fatalf("revoked key: %v", err)
	}
	must(t, c.DeleteUser(ctx, "v@example.com"))
	if err := c.DeleteUser(ctx, "v@example.com"); StatusOf(err) != 400 {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestLocations(t *testing.T) {
	c := adminClient(t, newServer(t))
	ctx := context.Background()
	ids := []LocationIdentifier{{Name: "x", Units: Str("m"), Datatype: Float}, {Name: "room", Datatype: String}}
	must(t, c.InsertLocationSchema(ctx, LocationSchema{Name: "lab", Identifiers: ids}))
	for _, co := range []Coordinates{
		{"x": dtbase.FloatValue(1), "room": dtbase.StringValue("a")},
		{"x": dtbase.IntValue(2), "room": dtbase.StringValue("b")},
	} {
		must(t, c.InsertLocationForSchema(ctx, "lab", co))
	}
	locs, err := c.ListLocations(ctx, "lab", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(locs) != 2 || locs[1].Coordinates["x"] != dtbase.FloatValue(2) || locs[0].Coordinates["room"] != dtbase.StringValue("a") || locs[0].ID == 0 {
		t.Fatalf("locations %+v", locs)
	}
	if got, err := c.ListLocations(ctx, "lab", Coordinates{"room": dtbase.StringValue("b")}); err != nil || len(got) != 1 {
		t.Fatalf("filtered %+v %v", got, err)
	}
	schema, err := c.GetSchemaDetails(ctx, "lab")
	if err != nil || schema.Name != "lab" || len(schema.Identifiers) != 2 {
		t.Fatalf("schema %+v %v", schema, err)
	}
	if schemas, err := c.ListLocationSchemas(ctx); err != nil || len(schemas) != 1 {
		t.Fatalf("schemas %+v %v", schemas, err)
	}
	if idents, err := c.ListLocationIdentifiers(ctx); err != nil || len(idents) != 2 {
		t.Fatalf("identifiers %+v %v", idents, err)
	}
	name, err := c.InsertLocation(ctx, []LocationIdentifier{{Name: "b", Datatype: Integer}, {Name: "a", Datatype: Integer}}, Ints(1, 2))
	if err != nil || name != "a-b" {
		t.Fatalf("insert-location: %q %v", name, err)
	}
	if err := c.InsertLocationForSchema(ctx, "lab", Coordinates{"x": dtbase.FloatValue(1), "room": dtbase.StringValue("a")}); !IsExists(err) {
		t.Fatalf("duplicate location: %v", err)
	}
	for _, room := range []string{"a", "b"} {
		x := map[string]float64{"a": 1, "b": 2}[room]
		must(t, c.DeleteLocation(ctx, "lab", Coordinates{"x": dtbase.FloatValue(x), "room": dtbase.StringValue(room)}))
	}
	must(t, c.DeleteLocationSchema(ctx, "lab"))
	if _, err := c.GetSchemaDetails(ctx, "lab"); StatusOf(err) != 400 {
		t.Fatalf("deleted schema: %v", err)
	}
}

func TestSensorsAndReadings(t *testing.T) {
	c := adminClient(t, newServer(t))
	ctx := context.Background()
	st := SensorType{Name: "thermo", Description: Str("a thermometer"), Measures: []SensorMeasure{
		{Name: "temperature", Units: Str("K"), Datatype: Float},
		{Name: "door", Datatype: Boolean},
	}}
	must(t, c.InsertSensorType(ctx, st))
	if err := c.InsertSensorType(ctx, st); !IsExists(err) {
		t.Fatalf("duplicate type: %v", err)
	}
	must(t, c.InsertSensor(ctx, NewSensor{TypeName: "thermo", UniqueIdentifier: "t1", Name: Str("T1")}))
	base := time.Date(2024, 1, 5, 15, 0, 0, 0, time.UTC)
	ts := []time.Time{base, base.Add(time.Minute), base.Add(2 * time.Minute)}
	must(t, c.InsertSensorReadings(ctx, Readings{UniqueIdentifier: "t1", MeasureName: "temperature",
		Values: Floats(291, 292.5, 293), Timestamps: ts}))
	got, err := c.SensorReadings(ctx, ReadingsQuery{UniqueIdentifier: "t1", MeasureName: "temperature", From: base, To: ts[2]})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Value != dtbase.FloatValue(291) || !got[2].Timestamp.Equal(ts[2]) {
		t.Fatalf("readings %+v", got)
	}
	err = c.InsertSensorReadings(ctx, Readings{UniqueIdentifier: "t1", MeasureName: "door", Values: Strings("open"), Timestamps: ts[:1]})
	if StatusOf(err) != 400 {
		t.Fatalf("wrong datatype: %v", err)
	}
	sensors, err := c.ListSensors(ctx, "thermo")
	if err != nil || len(sensors) != 1 || *sensors[0].Name != "T1" || sensors[0].Notes != nil {
		t.Fatalf("sensors %+v %v", sensors, err)
	}
	if types, err := c.ListSensorTypes(ctx); err != nil || len(types) != 1 || len(types[0].Measures) != 2 {
		t.Fatalf("types %+v %v", types, err)
	}
	if ms, err := c.ListMeasures(ctx); err != nil || len(ms) != 2 {
		t.Fatalf("measures %+v %v", ms, err)
	}
	must(t, c.EditSensor(ctx, "t1", "renamed", "notes"))
	installed := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	placeInLab(t, c, installed)
	hist, err := c.ListSensorLocations(ctx, "t1")
	if err != nil || len(hist) != 1 || hist[0].Coordinates["room"] != dtbase.StringValue("lab") || !hist[0].InstallationDatetime.Equal(installed) {
		t.Fatalf("history %+v %v", hist, err)
	}
	must(t, c.DeleteSensor(ctx, "t1"))
	must(t, c.DeleteSensorType(ctx, "thermo"))
}

// placeInLab places the sensor t1, from installed, in the room "lab" of a
// new location schema "rooms".
func placeInLab(t *testing.T, c *Client, installed time.Time) {
	t.Helper()
	ctx := context.Background()
	lab := Coordinates{"room": dtbase.StringValue("lab")}
	must(t, c.InsertLocationSchema(ctx, LocationSchema{Name: "rooms", Identifiers: []LocationIdentifier{{Name: "room", Datatype: String}}}))
	must(t, c.InsertLocationForSchema(ctx, "rooms", lab))
	must(t, c.InsertSensorLocation(ctx, NewSensorLocation{UniqueIdentifier: "t1", SchemaName: "rooms", Coordinates: lab, InstallationDatetime: &installed}))
}

func TestModels(t *testing.T) {
	c := adminClient(t, newServer(t))
	ctx := context.Background()
	must(t, c.InsertModel(ctx, "arima"))
	must(t, c.InsertModelMeasure(ctx, ModelMeasure{Name: "mean", Units: "K", Datatype: Float}))
	must(t, c.InsertModelScenario(ctx, "arima", Str("base")))
	base := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	created := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	out, err := c.InsertModelRun(ctx, NewModelRun{ModelName: "arima", ScenarioDescription: "base", TimeCreated: &created,
		Measures: []ModelSeries{{MeasureName: "mean", Values: Floats(1, 2.5), Timestamps: []time.Time{base, base.Add(time.Hour)}}}})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := c.ListModelRuns(ctx, ModelRunsQuery{ModelName: "arima"})
	if err != nil || len(runs) != 1 || !runs[0].TimeCreated.Equal(created) {
		t.Fatalf("runs %+v %v", runs, err)
	}
	if out.ID != runs[0].ID {
		t.Errorf("run id %d, listed %d", out.ID, runs[0].ID)
	}
	res, err := c.GetModelRun(ctx, runs[0].ID)
	if err != nil || len(res["mean"]) != 2 || res["mean"][1].Value != dtbase.FloatValue(2.5) {
		t.Fatalf("run %+v %v", res, err)
	}
	sm, err := c.GetModelRunSensorMeasure(ctx, runs[0].ID)
	if err != nil || sm.SensorUniqueID != nil || sm.SensorMeasure != nil {
		t.Fatalf("sensor measure %+v %v", sm, err)
	}
	if _, err := c.GetModelRunSensorMeasure(ctx, 999); StatusOf(err) != 400 {
		t.Fatalf("unknown run: %v", err)
	}
	if ms, err := c.ListModels(ctx); err != nil || len(ms) != 1 {
		t.Fatalf("models %+v %v", ms, err)
	}
	if sc, err := c.ListModelScenarios(ctx); err != nil || len(sc) != 1 || *sc[0].Description != "base" {
		t.Fatalf("scenarios %+v %v", sc, err)
	}
	if mm, err := c.ListModelMeasures(ctx); err != nil || len(mm) != 1 {
		t.Fatalf("measures %+v %v", mm, err)
	}
	must(t, c.InsertModelScenario(ctx, "arima", Str("other")))
	must(t, c.DeleteModelScenario(ctx, "arima", Str("other")))
	must(t, c.InsertModelMeasure(ctx, ModelMeasure{Name: "unused", Units: "", Datatype: Integer}))
	must(t, c.DeleteModelMeasure(ctx, "unused"))
	must(t, c.InsertModel(ctx, "spare"))
	must(t, c.DeleteModel(ctx, "spare"))
}

func TestServices(t *testing.T) {
	c := adminClient(t, newServer(t))
	ctx := context.Background()
	must(t, c.InsertService(ctx, NewService{Name: "svc", URL: "http://127.0.0.1:9/", HTTPMethod: "POST"}))
	if err := c.InsertService(ctx, NewService{Name: "svc", URL: "http://127.0.0.1:9/", HTTPMethod: "POST"}); !IsExists(err) {
		t.Fatalf("duplicate service: %v", err)
	}
	if svcs, err := c.ListServices(ctx); err != nil || len(svcs) != 1 || svcs[0].HTTPMethod != "POST" {
		t.Fatalf("services %+v %v", svcs, err)
	}
	must(t, c.InsertParameterSet(ctx, "svc", "p", map[string]any{"a": 1}))
	must(t, c.EditParameterSet(ctx, "svc", "p", map[string]any{"a": 2}))
	sets, err := c.ListParameterSets(ctx, "svc")
	if err != nil || len(sets) != 1 || string(sets[0].Parameters) != `{"a":2}` {
		t.Fatalf("sets %+v %v", sets, err)
	}
	if runs, err := c.ListRuns(ctx, RunsQuery{ServiceName: "svc"}); err != nil || len(runs) != 0 {
		t.Fatalf("runs %+v %v", runs, err)
	}
	must(t, c.DeleteParameterSet(ctx, "svc", "p"))
	must(t, c.DeleteService(ctx, "svc"))
	if err := c.DeleteService(ctx, "svc"); StatusOf(err) != 400 {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestPostSteps(t *testing.T) {
	c := adminClient(t, newServer(t))
	ctx := context.Background()
	steps := []Step{
		{"/sensor/insert-sensor-type", map[string]any{"name": "t", "measures": []map[string]any{{"name": "m", "units": nil, "datatype": "float"}}}},
		{"/sensor/insert-sensor", map[string]any{"type_name": "t", "unique_identifier": "s"}},
		{"/sensor/insert-sensor-readings", map[string]any{"measure_name": "m", "unique_identifier": "s",
			"readings": []float64{1.5}, "timestamps": []string{"2024-01-01T00:00:00"}}},
	}
	res, err := c.PostSteps(ctx, steps, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Status != 201 || res[2].Status != 201 {
		t.Fatalf("results %+v", res)
	}
	// Again: the declarations exist already, which is fine.
	res, err = c.PostSteps(ctx, steps, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Exists || !res[1].Exists || res[0].Status != 409 || res[2].Exists {
		t.Fatalf("results %+v", res)
	}
	// Real failures are reported, and later steps still run.
	bad := append([]Step{{"/sensor/insert-sensor", map[string]any{"type_name": "nope", "unique_identifier": "x"}},
		{"/sensor/delete-sensor-type", map[string]any{"type_name": "t"}}}, steps[2])
	res, err = c.PostSteps(ctx, bad, nil)
	var se *StepsError
	if !errors.As(err, &se) || len(se.Failed) != 2 {
		t.Fatalf("got %v, want two failures", err)
	}
	if res[0].Status != 400 || res[1].Status != 409 || res[1].Exists || res[2].Err != nil {
		t.Fatalf("results %+v", res)
	}
	var body struct{ Detail string }
	if json.Unmarshal(res[2].Body, &body) != nil || body.Detail != "Sensor readings inserted" {
		t.Fatalf("body %s", res[2].Body)
	}
}
