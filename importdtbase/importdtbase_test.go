package importdtbase_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/api/apitest"
	"github.com/dtbase/dtbase/importdtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// originalDTBase creates a database with the ORIGINAL DTBase schema and the
// sample rows on the test PostgreSQL server and returns its URL. The
// database is dropped when the test ends.
func originalDTBase(t *testing.T) string {
	t.Helper()
	base := sqldbtest.PostgresURL()
	if base == "" {
		t.Skip("SKIPPED: the DTBase import needs a PostgreSQL server for the original database; set DT_TEST_POSTGRES_URL")
	}
	dsn := sqldbtest.DSN(t) // a fresh name, dropped at the end
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", base, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()); err != nil {
		t.Fatalf("create the original database: %v", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, file := range []string{"original_dtbase_schema.sql", "original_dtbase_sample.sql"} {
		sql, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		// Without arguments pgx sends the script with the simple protocol,
		// which runs several statements.
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	return dsn
}

// importDestinations are the engines the import writes into: SQLite always,
// and PostgreSQL (the test server is there, or the test was skipped).
func importDestinations(t *testing.T) map[string]func(t *testing.T) *sqldb.DB {
	return map[string]func(t *testing.T) *sqldb.DB{
		"sqlite": func(t *testing.T) *sqldb.DB {
			db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "dtbase.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"postgres": func(t *testing.T) *sqldb.DB { return sqldbtest.Open(t) },
	}
}

// apiClient calls an API server on db.
type apiClient struct {
	t     *testing.T
	srv   http.Handler
	token string
}

func newAPIClient(t *testing.T, db *sqldb.DB) *apiClient {
	return &apiClient{t: t, srv: api.New(apitest.Config(db))}
}

func (c *apiClient) call(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd *bytes.Reader
	if body == nil {
		rd = bytes.NewReader(nil)
	} else {
		raw, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	rec := httptest.NewRecorder()
	c.srv.ServeHTTP(rec, req)
	return rec.Code, bytes.TrimSpace(rec.Body.Bytes())
}

// must calls and fails the test unless the status is want.
func (c *apiClient) must(want int, method, path string, body any) []byte {
	c.t.Helper()
	code, out := c.call(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, out)
	}
	return out
}

// sameJSON fails unless got and want are equal JSON values.
func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: invalid JSON %s", what, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %s", what, want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s:\n got  %s\n want %s", what, got, want)
	}
}

func TestImportDTBase(t *testing.T) {
	source := originalDTBase(t)
	for name, open := range importDestinations(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			var reports []importdtbase.Progress
			sum, err := importdtbase.Import(ctx, db, source, importdtbase.Options{BatchSize: 1000,
				Progress: func(p importdtbase.Progress) { reports = append(reports, p) }})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			checkProgress(t, reports)
			checkSummary(t, sum)
			checkImported(t, db)
			if db.Dialect == sqldb.Postgres {
				// The readings' months were created first: no row waits
				// in a default partition for the leader to move it.
				for _, dt := range dtbase.Datatypes {
					var n int
					if err := db.SQL().QueryRow(`SELECT count(*) FROM ` + sqldb.ReadingTable(dt) + `_default`).Scan(&n); err != nil || n != 0 {
						t.Errorf("%s_default holds %d rows (%v), want none", sqldb.ReadingTable(dt), n, err)
					}
				}
			}

			// A second import is refused without --force, and merges
			// everything into what is there with it.
			_, err = importdtbase.Import(ctx, db, source, importdtbase.Options{})
			if dtbase.ErrorCode(err) != dtbase.ECONFLICT || !strings.Contains(err.Error(), "--force") {
				t.Errorf("import into a database with data: %v, want ECONFLICT naming --force", err)
			}
			again, err := importdtbase.Import(ctx, db, source, importdtbase.Options{Force: true})
			if err != nil {
				t.Fatalf("forced import: %v", err)
			}
			for _, tc := range again.Tables {
				if tc.Written != 0 || tc.Merged+tc.Skipped != tc.Read {
					t.Errorf("forced re-import of %s: %+v, want every row merged into the first import's", tc.Source, tc)
				}
			}
			c := newAPIClient(t, db)
			c.login()
			if out := c.must(200, http.MethodPost, "/sensor/list-sensors", map[string]any{}); bytes.Count(out, []byte("unique_identifier")) != 3 {
				t.Errorf("sensors after the forced re-import: %s", out)
			}
		})
	}
}

// login logs in as the original's user with the original's bcrypt hash.
func (c *apiClient) login() {
	c.t.Helper()
	out := c.must(200, http.MethodPost, "/auth/login", map[string]string{"email": "alice@example.com", "password": "correct horse"})
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(out, &pair)
	c.token = pair.AccessToken
}

func checkProgress(t *testing.T, reports []importdtbase.Progress) {
	t.Helper()
	if len(reports) < 10 {
		t.Fatalf("only %d progress reports", len(reports))
	}
	last := reports[len(reports)-1]
	if last.Done != last.Total || last.Total < 2500 {
		t.Errorf("last progress report %+v: want done = total ≥ 2500", last)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].Done < reports[i-1].Done {
			t.Fatalf("progress went back: %+v after %+v", reports[i], reports[i-1])
		}
	}
	batches := 0
	for _, r := range reports {
		if r.Table == "sensor_float_reading" && r.TableDone > 0 && r.TableDone < r.TableTotal {
			batches++
		}
	}
	if batches < 2 {
		t.Errorf("%d progress reports within sensor_float_reading; want one per batch of 1000", batches)
	}
}

func checkSummary(t *testing.T, sum *importdtbase.Summary) {
	t.Helper()
	got := map[string]importdtbase.TableCount{}
	for _, tc := range sum.Tables {
		got[tc.Source] = tc
	}
	want := map[string][4]int64{ // read, written, merged, skipped
		`"User"`:               {2, 2, 0, 0},
		"location_identifier":  {6, 5, 1, 0},
		"sensor_measure":       {6, 5, 1, 0},
		"sensor_float_reading": {2507, 2506, 0, 1},
		"model_booleanvalue":   {1, 1, 0, 0},
		"service_run_log":      {2, 2, 0, 0},
	}
	for table, w := range want {
		g := got[table]
		if [4]int64{g.Read, g.Written, g.Merged, g.Skipped} != w {
			t.Errorf("%s: read/written/merged/skipped %d/%d/%d/%d, want %v", table, g.Read, g.Written, g.Merged, g.Skipped, w)
		}
	}
	if len(sum.Tables) != 30 {
		t.Errorf("%d tables in the summary, want the original's 30", len(sum.Tables))
	}
	notes := strings.Join(sum.Notes, "\n")
	for _, want := range []string{`sensor measure "humidity" with units null: source id 3 merged into id 2`, "NaN"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

// checkImported reads the imported data through the API, as a client of
// the original would.
func checkImported(t *testing.T, db *sqldb.DB) {
	c := newAPIClient(t, db)
	c.login() // the original's $2b$ bcrypt hash, kept as is
	post := func(path string, body any) []byte { return c.must(200, http.MethodPost, path, body) }
	get := func(path string) []byte { return c.must(200, http.MethodGet, path, nil) }

	sameJSON(t, "list-users", get("/user/list-users"), `["default_user@localhost","alice@example.com"]`)

	// Sensors, their types with the duplicated measure merged, readings.
	sameJSON(t, "list-sensors", post("/sensor/list-sensors", map[string]any{}),
		`[{"unique_identifier":"ws-1","name":"Weather station","notes":"on the roof"},{"unique_identifier":"st-1","name":null,"notes":null}]`)
	sameJSON(t, "list-measures", get("/sensor/list-measures"), `[
		{"name":"temperature","units":"degC","datatype":"float"},
		{"name":"humidity","units":null,"datatype":"float"},
		{"name":"count","units":null,"datatype":"integer"},
		{"name":"state","units":"on/off","datatype":"boolean"},
		{"name":"label","units":null,"datatype":"string"}]`)
	sameJSON(t, "list-sensor-types", get("/sensor/list-sensor-types"), `[
		{"name":"weather","description":"a weather station","measures":[
			{"name":"temperature","units":"degC","datatype":"float"},{"name":"humidity","units":null,"datatype":"float"}]},
		{"name":"status","description":null,"measures":[
			{"name":"humidity","units":null,"datatype":"float"},{"name":"count","units":null,"datatype":"integer"},
			{"name":"state","units":"on/off","datatype":"boolean"},{"name":"label","units":null,"datatype":"string"}]}]`)
	readings := func(uid, measure, from, to string) []byte {
		return post("/sensor/sensor-readings", map[string]string{"unique_identifier": uid, "measure_name": measure, "dt_from": from, "dt_to": to})
	}
	// Exact bytes: floats stay floats, timestamps are UTC with six digits
	// when there is a fraction, in time order.
	if got, want := string(readings("ws-1", "temperature", "2024-03-01T00:00:00", "2024-03-02T00:00:00")),
		`[{"value":20.5,"timestamp":"2024-03-01T12:00:00.123456Z"},{"value":21.0,"timestamp":"2024-03-01T12:30:00Z"},{"value":19.25,"timestamp":"2024-03-01T13:00:00Z"}]`; got != want {
		t.Errorf("readings of ws-1 temperature:\n got  %s\n want %s", got, want)
	}
	var series []struct {
		Value     float64   `json:"value"`
		Timestamp time.Time `json:"timestamp"`
	}
	json.Unmarshal(readings("ws-1", "temperature", "2024-01-01T00:00:00", "2024-02-01T00:00:00"), &series)
	if len(series) != 2500 || series[0].Value != 0.5 || series[2499].Value != 1250 ||
		!series[2499].Timestamp.Equal(time.Date(2024, 1, 2, 17, 40, 0, 0, time.UTC)) {
		t.Errorf("January readings of ws-1: %d, first %+v", len(series), series[:min(1, len(series))])
	}
	sameJSON(t, "readings of the merged measure", readings("st-1", "humidity", "2024-03-01T00:00:00", "2024-03-02T00:00:00"),
		`[{"value":55.0,"timestamp":"2024-03-01T12:00:00Z"}]`)
	sameJSON(t, "humidity of ws-1", readings("ws-1", "humidity", "2024-03-01T00:00:00", "2024-03-02T00:00:00"),
		`[{"value":61.0,"timestamp":"2024-03-01T12:00:00Z"},{"value":62.5,"timestamp":"2024-03-01T13:00:00Z"}]`)
	sameJSON(t, "integer readings", readings("st-1", "count", "2024-03-01T00:00:00", "2024-03-02T00:00:00"),
		`[{"value":7,"timestamp":"2024-03-01T12:00:00Z"},{"value":-8,"timestamp":"2024-03-01T12:01:00Z"}]`)
	sameJSON(t, "boolean readings", readings("st-1", "state", "2024-03-01T00:00:00", "2024-03-02T00:00:00"),
		`[{"value":true,"timestamp":"2024-03-01T12:00:00Z"},{"value":false,"timestamp":"2024-03-01T12:01:00Z"}]`)
	sameJSON(t, "string readings", readings("st-1", "label", "2024-03-01T00:00:00", "2024-03-02T00:00:00"),
		`[{"value":"ok","timestamp":"2024-03-01T12:00:00Z"}]`)

	// Locations, with the duplicated identifier merged, and placements.
	sameJSON(t, "list-locations xy", post("/location/list-locations", map[string]any{"schema_name": "xy"}),
		`[{"id":1,"x":1.5,"y":2.0},{"id":2,"x":3.0,"y":-1.25}]`)
	sameJSON(t, "list-locations building", post("/location/list-locations", map[string]any{"schema_name": "building"}),
		`[{"id":4,"floor":2,"indoor":true,"site":"farm"}]`)
	sameJSON(t, "list-locations sites", post("/location/list-locations", map[string]any{"schema_name": "sites"}),
		`[{"id":7,"site":"lab"}]`)
	sameJSON(t, "list-sensor-locations", post("/sensor/list-sensor-locations", map[string]string{"unique_identifier": "ws-1"}),
		`[{"id":2,"x":3.0,"y":-1.25,"installation_datetime":"2024-02-01T00:00:00Z"},{"id":1,"x":1.5,"y":2.0,"installation_datetime":"2024-01-01T00:00:00Z"}]`)

	// Models: runs keep their ids, so get-model-run finds them.
	sameJSON(t, "list-model-runs", post("/model/list-model-runs", map[string]string{"model_name": "arima", "dt_from": "2024-01-01T00:00:00", "dt_to": "2025-01-01T00:00:00"}), `[
		{"id":1,"model_id":1,"model_name":"arima","scenario_id":1,"scenario_description":"baseline","time_created":"2024-03-02T00:00:00Z",
		 "sensor_unique_id":"ws-1","sensor_measure":{"name":"temperature","units":"degC"}},
		{"id":4,"model_id":1,"model_name":"arima","scenario_id":1,"scenario_description":"baseline","time_created":"2024-03-03T00:00:00.500000Z",
		 "sensor_unique_id":null,"sensor_measure":null}]`)
	if got, want := string(post("/model/get-model-run", map[string]int{"run_id": 1})),
		`{"mean temperature":[{"value":20.0,"timestamp":"2024-03-02T01:00:00Z"},{"value":21.5,"timestamp":"2024-03-02T02:00:00Z"}],"upper":[{"value":22.0,"timestamp":"2024-03-02T01:00:00Z"}]}`; got != want {
		t.Errorf("get-model-run 1:\n got  %s\n want %s", got, want)
	}
	sameJSON(t, "get-model-run 4", post("/model/get-model-run", map[string]int{"run_id": 4}),
		`{"count":[{"value":5,"timestamp":"2024-03-03T01:00:00Z"}],"flag":[{"value":true,"timestamp":"2024-03-03T01:00:00Z"}],"note":[{"value":"hello","timestamp":"2024-03-03T01:00:00Z"}]}`)
	sameJSON(t, "get-model-run 6", post("/model/get-model-run", map[string]int{"run_id": 6}),
		`{"mean temperature":[{"value":1e-7,"timestamp":"2024-03-04T01:00:00Z"}]}`)
	sameJSON(t, "list-model-measures", get("/model/list-model-measures"), `[
		{"name":"mean temperature","units":"degC","datatype":"float"},{"name":"upper","units":"degC","datatype":"float"},
		{"name":"count","units":"","datatype":"integer"},{"name":"flag","units":"","datatype":"boolean"},{"name":"note","units":"","datatype":"string"}]`)

	// Services, parameter sets and the run log.
	sameJSON(t, "list-services", get("/service/list-services"),
		`[{"name":"weather-ingress","url":"http://example.invalid/weather","http_method":"POST"},{"name":"arima","url":"http://example.invalid/arima","http_method":"GET"}]`)
	sameJSON(t, "list-parameter-sets", post("/service/list-parameter-sets", map[string]any{}),
		`[{"service_name":"weather-ingress","name":"london","parameters":{"lat":51.5,"lon":-0.12}}]`)
	var runs []map[string]any
	if err := json.Unmarshal(post("/service/list-runs", map[string]any{}), &runs); err != nil || len(runs) != 2 {
		t.Fatalf("list-runs: %v %v", runs, err)
	}
	for k, want := range map[string]any{"service_name": "weather-ingress", "parameter_set_name": "london",
		"response_status_code": 200.0, "timestamp": "2024-03-05T10:00:00Z"} {
		if runs[0][k] != want {
			t.Errorf("first run: %s = %v, want %v (%v)", k, runs[0][k], want, runs[0])
		}
	}
	if rj, _ := json.Marshal(runs[0]["response_json"]); string(rj) != `{"ok":true}` {
		t.Errorf("first run's response_json: %s", rj)
	}
	if runs[1]["service_name"] != "arima" || runs[1]["response_status_code"] != 500.0 || runs[1]["parameters"] != nil {
		t.Errorf("second run: %v", runs[1])
	}

	// New rows get ids past the imported ones (the sequences were reset).
	c.must(201, http.MethodPost, "/sensor/insert-sensor-type", map[string]any{"name": "new type",
		"measures": []map[string]any{{"name": "humidity", "units": nil, "datatype": "float"}}})
	c.must(201, http.MethodPost, "/sensor/insert-sensor", map[string]string{"type_name": "new type", "unique_identifier": "new-1"})
	c.must(201, http.MethodPost, "/sensor/insert-sensor-readings", map[string]any{"unique_identifier": "new-1", "measure_name": "humidity",
		"readings": []float64{1.5}, "timestamps": []string{"2024-03-01T00:00:00"}})
	c.must(201, http.MethodPost, "/location/insert-location-for-schema", map[string]any{"schema_name": "xy", "coordinates": map[string]float64{"x": 9.5, "y": 9.5}})
	c.must(201, http.MethodPost, "/model/insert-model-run", map[string]any{"model_name": "arima", "scenario_description": "baseline",
		"time_created": "2024-06-01T00:00:00", "measures_and_values": []map[string]any{{"measure_name": "upper", "values": []float64{1.5}, "timestamps": []string{"2024-06-01T00:00:00"}}}})
	c.must(201, http.MethodPost, "/service/insert-service", map[string]string{"name": "third", "url": "http://example.invalid/3", "http_method": "GET"})
	c.must(201, http.MethodPost, "/user/create-user", map[string]string{"email": "bob@example.com", "password": "bob password"})
	var ids []struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal(post("/model/list-model-runs", map[string]string{"model_name": "arima", "dt_from": "2024-06-01T00:00:00", "dt_to": "2024-06-02T00:00:00"}), &ids)
	if len(ids) != 1 || ids[0].ID != 7 {
		t.Errorf("the new model run: %+v, want id 7 (after the imported 6)", ids)
	}
}

// TestImportDTBaseAllOrNothing cancels an import part-way through the
// readings and checks that nothing of it was kept.
func TestImportDTBaseAllOrNothing(t *testing.T) {
	source := originalDTBase(t)
	for name, open := range importDestinations(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := importdtbase.Import(ctx, db, source, importdtbase.Options{BatchSize: 100, Progress: func(p importdtbase.Progress) {
				if p.Table == "sensor_float_reading" && p.TableDone >= 1000 {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled import: %v", err)
			}
			users, err := db.ListUsers(context.Background())
			if err != nil || len(users) != 0 {
				t.Errorf("users after a failed import: %v %v", users, err)
			}
			sensors, err := db.FindSensors(context.Background(), dtbase.SensorFilter{})
			if err != nil || len(sensors) != 0 {
				t.Errorf("sensors after a failed import: %v %v", sensors, err)
			}
			// And the import still works afterwards.
			if _, err := importdtbase.Import(context.Background(), db, source, importdtbase.Options{}); err != nil {
				t.Errorf("import after a failed one: %v", err)
			}
		})
	}
}

func TestImportDTBaseRejectsOtherSources(t *testing.T) {
	db := sqldbtest.Open(t)
	if _, err := importdtbase.Import(context.Background(), db, "/tmp/some.db", importdtbase.Options{}); dtbase.ErrorCode(err) != dtbase.EINVALID {
		t.Errorf("a SQLite path as the source: %v, want EINVALID", err)
	}
	if sqldbtest.PostgresURL() == "" {
		t.Skip("SKIPPED: the rest needs PostgreSQL; set DT_TEST_POSTGRES_URL")
	}
	for _, c := range []struct {
		name string
		open func(context.Context, string) (*sqldb.DB, error)
		want string
	}{
		{"our own database", sqldb.Open, "not of the original"},             // a database of ours is not an original one
		{"an empty database", sqldb.OpenNoMigrate, `missing tables "User"`}, // it lacks the original's tables
	} {
		dsn := sqldbtest.DSN(t)
		src, err := c.open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		src.Close()
		_, err = importdtbase.Import(context.Background(), db, dsn, importdtbase.Options{})
		if dtbase.ErrorCode(err) != dtbase.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s as the source: %v", c.name, err)
		}
	}
}

// TestImportDTBaseConflictingDuplicates: duplicated null-units measures
// are merged only when they agree on the datatype; otherwise the import
// stops, naming them, and keeps nothing.
func TestImportDTBaseConflictingDuplicates(t *testing.T) {
	source := originalDTBase(t)
	conn, err := pgx.Connect(context.Background(), source)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(context.Background(), `INSERT INTO sensor_measure (id, name, units, datatype) VALUES (7, 'humidity', NULL, 'integer')`)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	db := sqldbtest.Open(t)
	_, err = importdtbase.Import(context.Background(), db, source, importdtbase.Options{})
	if dtbase.ErrorCode(err) != dtbase.EINVALID || !strings.Contains(err.Error(), `sensor measure "humidity" with units null is of datatype float, but the source's id 7`) {
		t.Errorf("import: %v", err)
	}
	if users, _ := db.ListUsers(context.Background()); len(users) != 0 {
		t.Errorf("%d users kept after a failed import", len(users))
	}
}
