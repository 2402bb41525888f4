package dtbase

// ModelStore keeps models.
type ModelStore interface {
}
