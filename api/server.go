// Package api is the HTTP JSON API of dtbase, wire-compatible with the
// original DTBase backend. Handlers are thin: decode and validate the body,
// call the store, encode the answer. Routing, authentication, body limits,
// logging and metrics live here, once.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

// Config holds what the API server needs.
type Config struct {
	Store  dtbase.Store
	Secret []byte // HS256 key for access and refresh tokens

	AccessTTL    time.Duration // lifetime of an access token
	RefreshGrace time.Duration // a refresh token lives AccessTTL + RefreshGrace

	NewUserRole  dtbase.Role // role of users created without one
	BcryptCost   int         // cost for new password hashes (0: auth's default)
	MaxBodyBytes int64       // request body limit
	// MaxUploadBytes limits the bodies of streamed uploads (CSV files of
	// readings), which are never held in memory; 0 means MaxBodyBytes.
	MaxUploadBytes int64
	CORSOrigins    []string // origins allowed to call the API from a browser
	Version        string

	// Services runs services on demand; nil disables run-service.
	Services dtbase.ServiceRunner

	// Forecasts runs forecasters; nil disables run-arima.
	Forecasts dtbase.ForecastService

	// TestChannel sends a test notification; nil disables test-channel.
	TestChannel dtbase.ChannelTester

	// Auth authenticates logins and requests; share it with the web
	// interface so both use one login throttle. Nil: one is made from the
	// fields above.
	Auth *auth.Auth

	// MetricsPublic serves /metrics without a credential; otherwise it
	// needs an admin's token or an API key.
	MetricsPublic bool

	Logger *slog.Logger

	// SiteModelMaxBytes bounds an uploaded site model (default
	// dtbase.DefaultSiteModelMaxBytes).
	SiteModelMaxBytes int64
}

// Server is the API's http.Handler.
type Server struct {
	cfg     Config
	store   dtbase.Store
	routes  map[string]map[string]*route // path → method → route
	order   []*route                     // registration order, for the OpenAPI document
	auth    *auth.Auth
	metrics *metrics
	log     *slog.Logger
	handler http.Handler
	openapi openAPI
}

// New builds the API server with every route registered.
func New(cfg Config) *Server {
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = cfg.MaxBodyBytes
	}
	if cfg.NewUserRole == "" {
		cfg.NewUserRole = dtbase.RoleAdmin
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.New(auth.Config{Store: cfg.Store, Secret: cfg.Secret, AccessTTL: cfg.AccessTTL,
			RefreshGrace: cfg.RefreshGrace, BcryptCost: cfg.BcryptCost, Logger: cfg.Logger})
	}
	s := &Server{
		cfg:     cfg,
		store:   cfg.Store,
		routes:  map[string]map[string]*route{},
		auth:    cfg.Auth,
		metrics: newMetrics(),
		log:     cfg.Logger,
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
	s.retentionRoutes()
	s.derivedRoutes()
	s.siteRoutes()
	s.alertRoutes()
	mux := http.NewServeMux()
	s.Mount(mux)
	mux.HandleFunc("/", s.notFound)
	s.handler = s.Middleware(mux)
	return s
}

// ServeHTTP serves the API alone, with a JSON 404 for every other path. A
// program that also serves pages mounts the API and its pages on one mux
// instead (see Mount).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Mount registers the API on mux: every route under its method pattern,
// the JSON 405 and 404 answers of the API's paths, the docs, /openapi.json,
// /healthz, /readyz and /metrics. The caller mounts its pages at "/" and
// wraps the mux in Middleware. Routes registered after Mount are not served.
func (s *Server) Mount(mux *http.ServeMux) {
	for path, methods := range s.routes {
		for method, rt := range methods {
			mux.Handle(method+" "+path, s.routeHandler(rt))
		}
		mux.HandleFunc(path, s.methodNotAllowed)
	}
	for _, prefix := range s.prefixes() {
		mux.HandleFunc(prefix, s.notFound)
		mux.HandleFunc(strings.TrimSuffix(prefix, "/"), s.notFound)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/readyz", s.ready)
	mux.HandleFunc("/metrics", s.serveMetrics)
	mux.HandleFunc("/openapi.json", s.serveOpenAPI)
	for _, p := range []string{"/docs", "/docs/", "/redoc"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { s.serveDocs(w, r) })
	}
}

// prefixes are the first path segments of the routes, such as "/model/":
// under them an unknown path is the API's JSON 404, not a page.
func (s *Server) prefixes() []string {
	var out []string
	for _, rt := range s.order {
		p := "/" + rt.tag + "/"
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// serveMetrics serves the Prometheus metrics to an admin's token or any API
// key (a monitoring system's), or to anyone with MetricsPublic.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.MetricsPublic {
		c, err := s.authenticate(r, false)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if p := c.Principal; p.APIKeyID == 0 && p.Role != dtbase.RoleAdmin {
			writeError(w, r, dtbase.Errorf(dtbase.EFORBIDDEN, "Metrics need an admin's token or an API key"))
			return
		}
	}
	s.metrics.handler.ServeHTTP(w, r)
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
