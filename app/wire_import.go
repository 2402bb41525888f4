package app

import (
	"context"
)

func (m *Main) importCmd(ctx context.Context, args []string) error {
	return usageError{"import: not available yet"}
}
