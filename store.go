package dtbase

import "context"

// Store is everything the API needs from storage. The sqldb package
// implements it for SQLite and PostgreSQL.
type Store interface {
	UserStore
	SessionStore
	LoginThrottleStore
	SettingStore
	LocationStore
	SensorStore
	ReadingStore
	ModelStore
	ServiceStore
	// Ping reports whether the database answers; EUNAVAILABLE if not.
	Ping(ctx context.Context) error
}
