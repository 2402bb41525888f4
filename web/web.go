// Package web is the browser interface of dtbase: server-rendered pages over
// the same domain interfaces as the JSON API, a cookie session with CSRF
// protection, and small TypeScript islands (charts, the 3D view) whose
// bundles are built from web/ui and embedded from web/static.
//
// The islands read their data from a few JSON and CSV endpoints under
// /ui/api/ served by this package with the session cookie (GET only), so the
// API's bearer authentication stays untouched and no page needs a token.
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
	"github.com/dtbase/dtbase/derive"
)

// Config holds what the web interface needs.
type Config struct {
	Store dtbase.Store
	// Secret is the server secret; the session signing key is derived from it.
	Secret []byte
	// SessionTTL is how long a session lives without a request (default 1 h).
	SessionTTL time.Duration
	// BcryptCost is the cost of new password hashes (0: auth's default).
	BcryptCost int
	// Services runs a service on demand; nil hides "Run now".
	Services dtbase.ServiceRunner
	// TestChannel sends a test notification; nil hides "Send a test".
	TestChannel dtbase.ChannelTester
	Logger      *slog.Logger
	// Now returns the current instant; tests replace it.
	Now func() time.Time
	// Auth checks passwords and keeps sessions; the API shares it, and so
	// its login throttle. Nil: one is made from the fields above.
	Auth *auth.Auth
	// SiteModelMaxBytes bounds an uploaded site model (default
	// dtbase.DefaultSiteModelMaxBytes).
	SiteModelMaxBytes int64
	// MapTileURL is the tile template of the map page ({z}/{x}/{y});
	// empty: OpenStreetMap's.
	MapTileURL string
	// TreeBadges, when set, adds badges (alerts) to the location tree.
	TreeBadges TreeBadges
}

// Handler serves the pages, the static assets and the islands' data.
type Handler struct {
	cfg    Config
	store  dtbase.Store
	log    *slog.Logger
	auth   *auth.Auth
	mux    *http.ServeMux
	pages  *pageSet
	static *staticFiles
	// intervals holds each series' typical interval, for staleness.
	intervals intervalCache
}

// New returns the web interface.
func New(cfg Config) *Handler {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.New(auth.Config{Store: cfg.Store, Secret: cfg.Secret, SessionTTL: cfg.SessionTTL,
			BcryptCost: cfg.BcryptCost, Logger: cfg.Logger, Now: cfg.Now})
	}
	// The pages offer derived measures beside stored ones (derived.go).
	h := &Handler{cfg: cfg, store: derive.WithDerived(cfg.Store), log: cfg.Logger, auth: cfg.Auth, mux: http.NewServeMux()}
	h.static = mustStatic()
	h.pages = mustPages(h.static)
	h.routes()
	return h
}

func (h *Handler) now() time.Time { return h.cfg.Now().UTC() }

// ServeHTTP serves a request with the security headers every answer carries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	// Scripts only from our own bundles; styles may be set inline by the
	// chart library. No network access beyond this origin.
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.mux.ServeHTTP(w, r)
}
