package app

import (
	"log/slog"
	"net/http"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
	"github.com/dtbase/dtbase/derive"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/web"
)

// webHandler returns the web interface. A session lasts as long as an
// access token (DT_JWT_ACCESS_TOKEN_EXPIRES_SECONDS) without a request, and
// is renewed by use. runner may be nil: pages then hide "Run now".
func (m *Main) webHandler(c Config, db *sqldb.DB, secret []byte, runner dtbase.ServiceRunner, tester dtbase.ChannelTester, authn *auth.Auth, log *slog.Logger) http.Handler {
	return web.New(web.Config{
		Store:       derive.WithDerived(db), // derived measures in the explorer and CSV
		Secret:      secret,
		SessionTTL:  c.AccessTTL,
		BcryptCost:  m.BcryptCost,
		Services:    runner,
		TestChannel: tester,
		Auth:        authn,
		Logger:      log,
		MapTileURL:  c.MapTileURL,

		SiteModelMaxBytes: c.SiteModelMax,
	})
}
