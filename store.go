package dtbase

import "context"

// Store is everything the API needs from storage. The sqldb package
// implements it for SQLite and PostgreSQL. Every method that stores text
// calls the Validate method of what it stores first, so text over the
// limits (limits.go) is EINVALID naming the field, on either database.
type Store interface {
	UserStore
	SessionStore
	LoginThrottleStore
	SettingStore
	LocationStore
	LocationTreeStore
	MeasureRangeStore
	DerivedMeasureStore
	SensorStore
	RetentionStore
	ReadingStore
	ModelStore
	ServiceStore
	AlertStore
	SiteStore
	// Ping reports whether the database answers; EUNAVAILABLE if not.
	Ping(ctx context.Context) error
}
