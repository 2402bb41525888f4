// Package api is the HTTP JSON API of dtbase, wire-compatible with the
// original DTBase backend. Handlers are thin: decode and validate the body,
// call the store, encode the answer. Routing, authentication, body limits,
// logging and metrics live here, once.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// Config holds what the API server needs.
type Config struct {
	Store  dtbase.Store
	Secret []byte // HS256 key for access and refresh tokens

	AccessTTL    time.Duration // lifetime of an access token
	RefreshGrace time.Duration // a refresh token lives AccessTTL + RefreshGrace

	NewUserRole  dtbase.Role // role of users created without one
	BcryptCost   int         // cost for new password hashes
	MaxBodyBytes int64       // request body limit
	CORSOrigins  []string    // origins allowed to call the API from a browser
	Version      string

	// Services runs services on demand; nil disables run-service.
	Services dtbase.ServiceRunner

	// Forecasts runs forecasters; nil disables run-arima.
	Forecasts dtbase.ForecastService

	// Limiter counts failed logins; share it with the web sign-in.
	Limiter *LoginLimiter

	// Web serves every path outside the API: pages, static files.
	Web http.Handler

	Logger *slog.Logger
}

// Server is the API's http.Handler.
type Server struct {
	cfg      Config
	store    dtbase.Store
	routes   map[string]map[string]*route // path → method → route
	order    []*route                     // registration order, for the OpenAPI document
	limiter  *LoginLimiter
	metrics  *metrics
	log      *slog.Logger
	handler  http.Handler
	prefixes []string
	openapi  openAPI
}

// New builds the API server with every route registered.
func New(cfg Config) *Server {
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.NewUserRole == "" {
		cfg.NewUserRole = dtbase.RoleAdmin
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = 12
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewLoginLimiter()
	}
	s := &Server{
		cfg:      cfg,
		store:    cfg.Store,
		routes:   map[string]map[string]*route{},
		limiter:  cfg.Limiter,
		metrics:  newMetrics(),
		log:      cfg.Logger,
		prefixes: []string{"/auth/", "/user/", "/location/", "/model/", "/service/", "/sensor/"},
	}
	// Router order of the original: auth, location, model, user, service, sensor.
	s.authRoutes()
	s.locationRoutes()
	s.locationTreeRoutes()
	s.modelRoutes()
	s.userRoutes()
	s.serviceRoutes()
	s.sensorRoutes()
	s.readingRoutes()
	s.qualityRoutes()
	s.derivedRoutes()
	s.handler = s.middleware(http.HandlerFunc(s.dispatch))
	return s
}

// ServeHTTP serves the API, the docs, the health checks and, through
// Config.Web, everything else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// route is one endpoint: its contract, for the OpenAPI document, and its
// handler.
type route struct {
	method, path string
	tag, summary string
	description  string
	role         dtbase.Role // minimum role; "" for a public route
	refresh      bool        // authenticated by a refresh token
	status       int
	req, resp    reflect.Type // nil req: no body
	bodyOptional bool
	query        []queryParam   // documented query parameters of GET downloads
	produces     string         // content type of a non-JSON answer
	consumes     []string       // content types of a non-JSON request body
	extraErrors  map[int]string // further documented error statuses and when they happen
	serve        func(w http.ResponseWriter, r *http.Request, body []byte)
}

type queryParam struct {
	name, typ, description string
	required               bool
}

// register adds a route.
func (s *Server) register(rt *route) *route {
	if s.routes[rt.path] == nil {
		s.routes[rt.path] = map[string]*route{}
	}
	s.routes[rt.path][rt.method] = rt
	s.order = append(s.order, rt)
	return rt
}

// op is the handler of an endpoint with a JSON request and answer.
type op[Req, Resp any] func(ctx context.Context, req *Req) (Resp, error)

// noBody is the request type of endpoints without a body.
type noBody struct{}

// handle registers a JSON endpoint. Req is the body type (noBody for none);
// Resp the answer, written with status on success.
func handle[Req, Resp any](s *Server, method, path string, role dtbase.Role, status int, summary string, fn op[Req, Resp]) *route {
	return handleFast(s, method, path, role, status, summary, nil, fn)
}

// handleFast registers a JSON endpoint like handle, whose body is decoded by
// fast when it can, and by the generic binder otherwise; fast may be nil.
func handleFast[Req, Resp any](s *Server, method, path string, role dtbase.Role, status int, summary string,
	fast func([]byte, *Req) bool, fn op[Req, Resp]) *route {
	rt := &route{method: method, path: path, role: role, status: status, summary: summary,
		tag: strings.Split(path, "/")[1], resp: reflect.TypeOf((*Resp)(nil)).Elem()}
	if reflect.TypeOf((*Req)(nil)).Elem() != reflect.TypeOf(noBody{}) {
		rt.req = reflect.TypeOf((*Req)(nil)).Elem()
	}
	rt.serve = func(w http.ResponseWriter, r *http.Request, body []byte) {
		req := new(Req)
		if rt.req != nil && !(rt.bodyOptional && len(strings.TrimSpace(string(body))) == 0) {
			if fast == nil || !fast(body, req) {
				req = new(Req) // a failed fast decode may have filled it partly
				if errs := bindBody(body, req); len(errs) > 0 {
					writeError(w, r, &validationError{errs})
					return
				}
			}
		}
		resp, err := fn(r.Context(), req)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, rt.status, resp)
	}
	return s.register(rt)
}

// handleRaw registers an endpoint that reads the request and writes the
// answer itself, such as a streamed download. Authentication still applies.
func (s *Server) handleRaw(method, path string, role dtbase.Role, summary string, fn func(w http.ResponseWriter, r *http.Request, body []byte)) *route {
	return s.register(&route{method: method, path: path, role: role, status: http.StatusOK, summary: summary,
		tag: strings.Split(path, "/")[1], serve: fn})
}

// dispatch finds the route and runs the request pipeline in the original's
// order: routing (404/405), JSON syntax (422), authentication (401), role
// (403), body validation (422), the handler.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	case "/readyz":
		s.ready(w, r)
		return
	case "/metrics":
		s.metrics.handler.ServeHTTP(w, r)
		return
	case "/openapi.json":
		s.serveOpenAPI(w, r)
		return
	}
	if s.serveDocs(w, r) {
		return
	}
	methods, ok := s.routes[r.URL.Path]
	if !ok {
		if p := strings.TrimSuffix(r.URL.Path, "/"); p != r.URL.Path && s.routes[p] != nil {
			target := p
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusTemporaryRedirect)
			return
		}
		if s.isAPIPath(r.URL.Path) || s.cfg.Web == nil {
			writeJSON(w, http.StatusNotFound, detail{"Not Found"})
			return
		}
		s.cfg.Web.ServeHTTP(w, r)
		return
	}
	rt := methods[r.Method]
	if rt == nil && r.Method == http.MethodHead {
		rt = methods[http.MethodGet]
	}
	if rt == nil {
		var allow []string
		for m := range methods {
			allow = append(allow, m)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, detail{"Method Not Allowed"})
		return
	}
	setRoute(r.Context(), rt.path)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, r, dtbase.Errorf(dtbase.ETOOLARGE, "Request body exceeds the limit of %d bytes", tooBig.Limit))
			return
		}
		writeError(w, r, dtbase.Errorf(dtbase.EINVALID, "Could not read the request body"))
		return
	}
	if rt.req != nil && len(body) > 0 && isJSONContent(r.Header.Get("Content-Type")) {
		if fe, bad := syntaxError(body); bad {
			writeError(w, r, &validationError{[]fieldError{fe}})
			return
		}
	}
	if rt.role != "" || rt.refresh {
		p, err := s.authenticate(r, rt.refresh)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if !p.Role.Allows(rt.role) {
			writeError(w, r, dtbase.Errorf(dtbase.EFORBIDDEN, "This action needs the %s role; you have %s", rt.role, p.Role))
			return
		}
		r = r.WithContext(withPrincipal(r.Context(), p))
	}
	if rt.req != nil && len(body) > 0 && !isJSONContent(r.Header.Get("Content-Type")) {
		writeError(w, r, &validationError{[]fieldError{{Type: "model_attributes_type", Loc: []any{"body"},
			Msg: "Input should be a valid dictionary or object to extract fields from", Input: mustJSON(string(body))}}})
		return
	}
	rt.serve(w, r, body)
}

func (s *Server) isAPIPath(p string) bool {
	for _, prefix := range s.prefixes {
		if strings.HasPrefix(p, prefix) || p+"/" == prefix {
			return true
		}
	}
	return false
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		loggerFrom(r.Context()).Warn("readiness check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "detail": "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// isJSONContent mirrors FastAPI: no content type, application/json or any
// +json type is parsed as JSON.
func isJSONContent(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	mt = strings.TrimSpace(mt)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// syntaxError checks the body is one JSON value and describes the first
// syntax error in the original's shape.
func syntaxError(body []byte) (fieldError, bool) {
	if json.Valid(body) {
		return fieldError{}, false
	}
	var v any
	err := json.Unmarshal(body, &v)
	offset := int64(0)
	msg := "invalid JSON"
	var se *json.SyntaxError
	if errors.As(err, &se) {
		offset, msg = se.Offset, se.Error()
	} else if err != nil {
		msg = err.Error()
	}
	return fieldError{Type: "json_invalid", Loc: []any{"body", offset}, Msg: "JSON decode error",
		Input: json.RawMessage("{}"), Ctx: map[string]any{"error": msg}}, true
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
