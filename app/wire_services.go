package app

import (
	"context"
	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"log/slog"
)

// startServices starts the service runner and scheduler.
func (m *Main) startServices(ctx context.Context, c Config, db *sqldb.DB, log *slog.Logger) (dtbase.ServiceRunner, func(), error) {
	return nil, func() {}, nil
}
