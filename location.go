package dtbase

// LocationStore keeps locations.
type LocationStore interface {
}
