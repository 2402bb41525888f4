package dtbase

import "context"

// MaxRetentionDays bounds a retention setting (a thousand years).
const MaxRetentionDays = 366_000

// SensorTypeRetention is how long the readings of a sensor type are kept:
// Days after their timestamp, 0 for ever. Rollups outlive the readings
// (docs/operations.md, "Partitions and retention").
type SensorTypeRetention struct {
	SensorType string
	Days       int
}

// RetentionStore keeps the retention of readings per sensor type.
type RetentionStore interface {
	// SetSensorTypeRetention sets how many days the readings of a type are
	// kept (0: for ever); nil removes the setting, so that the type
	// follows the server's default. ENOTFOUND for an unknown type,
	// EINVALID for days outside 0..MaxRetentionDays.
	SetSensorTypeRetention(ctx context.Context, typeName string, days *int) error
	// ListSensorTypeRetentions returns the types that have a setting, by
	// name.
	ListSensorTypeRetentions(ctx context.Context) ([]SensorTypeRetention, error)
}
