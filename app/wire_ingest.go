package app

import (
	"context"
	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/sqldb"
	"log/slog"
)

// startIngest starts background ingestion (MQTT).
func (m *Main) startIngest(ctx context.Context, c Config, db *sqldb.DB, srv *api.Server, log *slog.Logger) (func(), error) {
	return func() {}, nil
}
