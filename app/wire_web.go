package app

import (
	"github.com/dtbase/dtbase/sqldb"
	"log/slog"
	"net/http"
)

// webHandler returns the web interface; nil serves the API alone.
func (m *Main) webHandler(c Config, db *sqldb.DB, secret []byte, log *slog.Logger) http.Handler {
	return nil
}
