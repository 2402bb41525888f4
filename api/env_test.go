package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/forecast"
	"github.com/dtbase/dtbase/forecast/arima"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// testEnv is an API server on a fresh database (SQLite, or PostgreSQL when
// DT_TEST_POSTGRES_URL is set) with an admin already logged in.
type testEnv struct {
	t      testing.TB
	db     *sqldb.DB
	srv    *Server
	cfg    Config
	token  string // the admin's access token
	tokens map[dtbase.Role]string
}

const testAdmin = "admin@example.com"

func newEnv(t testing.TB, opts ...func(*Config)) *testEnv {
	t.Helper()
	db := sqldbtest.Open(t)
	cfg := Config{Store: db, Secret: []byte("test-secret"), AccessTTL: time.Hour, RefreshGrace: time.Hour,
		BcryptCost: bcrypt.MinCost, Logger: slog.New(slog.DiscardHandler),
		Forecasts: &forecast.Service{Store: db, Families: map[string]forecast.ModelFamily{arima.Family: arima.NewForecaster}}}
	for _, o := range opts {
		o(&cfg)
	}
	e := &testEnv{t: t, db: db, cfg: cfg, srv: New(cfg), tokens: map[dtbase.Role]string{}}
	e.token = e.userToken(testAdmin, dtbase.RoleAdmin)
	e.tokens[dtbase.RoleAdmin] = e.token
	return e
}

// userToken creates a user with role and returns its access token.
func (e *testEnv) userToken(email string, role dtbase.Role) string {
	e.t.Helper()
	hash, _ := HashPassword("pw-"+email, bcrypt.MinCost)
	if err := e.db.CreateUser(context.Background(), &dtbase.User{Email: email, PasswordHash: hash, Role: role}); err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	pair, err := e.srv.issueTokens(email)
	if err != nil {
		e.t.Fatal(err)
	}
	return pair.AccessToken
}

// as returns an access token for a user of the given role.
func (e *testEnv) as(role dtbase.Role) string {
	if tok, ok := e.tokens[role]; ok {
		return tok
	}
	tok := e.userToken(string(role)+"@example.com", role)
	e.tokens[role] = tok
	return tok
}

// response is a recorded answer.
type response struct {
	Status int
	Body   []byte
	Header http.Header
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Detail returns the body's "detail" string.
func (r response) Detail() string {
	var d struct {
		Detail any `json:"detail"`
	}
	json.Unmarshal(r.Body, &d)
	if s, ok := d.Detail.(string); ok {
		return s
	}
	return string(r.Body)
}

// do sends a request. body is sent as is when it is a string or []byte and
// encoded as JSON otherwise; nil sends no body.
func (e *testEnv) do(method, path string, body any, token string) response {
	e.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(req)
}

// post sends a JSON POST as the admin.
func (e *testEnv) post(path string, body any) response {
	e.t.Helper()
	return e.do(http.MethodPost, path, body, e.token)
}

// get sends a GET as the admin.
func (e *testEnv) get(path string) response {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil, e.token)
}

// must posts and fails the test unless the status is want.
func (e *testEnv) must(want int, path string, body any) response {
	e.t.Helper()
	r := e.post(path, body)
	if r.Status != want {
		e.t.Fatalf("POST %s: status %d, want %d: %s", path, r.Status, want, r.Body)
	}
	return r
}

// floatType creates a sensor type without a description whose measures are
// floats, given as name, units pairs.
func (e *testEnv) floatType(name string, nameUnits ...string) {
	e.t.Helper()
	measures := []any{}
	for i := 0; i+1 < len(nameUnits); i += 2 {
		measures = append(measures, map[string]any{"name": nameUnits[i], "units": nameUnits[i+1], "datatype": "float"})
	}
	e.must(201, "/sensor/insert-sensor-type", map[string]any{"name": name, "description": nil, "measures": measures})
}

// sensor creates a sensor of a type, without a name or notes.
func (e *testEnv) sensor(typeName, uid string) {
	e.t.Helper()
	e.must(201, "/sensor/insert-sensor", map[string]any{"type_name": typeName, "unique_identifier": uid, "name": nil, "notes": nil})
}

// jsonEq reports whether two JSON texts are equal as values.
func jsonEq(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %q", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q", want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("body mismatch:\n got  %s\n want %s", strings.TrimSpace(string(got)), want)
	}
}

// newRequest builds a request with a raw body.
func newRequest(method, path, body string) *http.Request {
	return httptest.NewRequest(method, path, strings.NewReader(body))
}

// serve runs a prepared request through the server.
func (e *testEnv) serve(req *http.Request) response {
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return response{rec.Code, rec.Body.Bytes(), rec.Header()}
}
