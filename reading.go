package dtbase

// ReadingStore keeps sensor readings.
type ReadingStore interface {
}
