package app

import (
	"context"
	"github.com/dtbase/dtbase/sqldb"
	"log/slog"
)

func (m *Main) demo(ctx context.Context, args []string) error {
	return usageError{"demo: not available yet"}
}

func (m *Main) loadDemoIfEmpty(ctx context.Context, db *sqldb.DB, log *slog.Logger) error { return nil }
