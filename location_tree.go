package dtbase

import (
	"context"
	"time"
)

// LocationNode is a location with its place in the tree: its parent, if
// any, and the sensors placed at it now (not under it).
type LocationNode struct {
	Location
	ParentID *int64
	Sensors  []string // unique identifiers, sorted
}

// PlacedSensor is a sensor placed at a location of a subtree at some time.
type PlacedSensor struct {
	UniqueIdentifier string
	TypeName         string
	LocationID       int64
	Installed        time.Time
}

// FieldErrorf returns an EUNPROCESSABLE error about field with a
// client-safe message; pos is a byte offset in the field's text, or -1.
func FieldErrorf(field string, pos int, format string, args ...any) *Error {
	e := Errorf(EUNPROCESSABLE, format, args...)
	e.Err = &FieldError{Field: field, Message: e.Message, Pos: pos}
	return e
}

// LocationTreeStore arranges locations, of any schemas, in a tree. A
// location has at most one parent; deleting a parent makes its children
// roots. The flat LocationStore methods ignore the tree.
type LocationTreeStore interface {
	// SetLocationParent puts the location id under parent, or makes it a
	// root when parent is nil; its subtree moves with it. ENOTFOUND for an
	// unknown location; EUNPROCESSABLE with a *FieldError for "parent_id"
	// when parent is the location itself or one of its descendants.
	SetLocationParent(ctx context.Context, id int64, parent *int64) error
	// LocationTree returns every location with its parent and the sensors
	// placed at it now, in id order.
	LocationTree(ctx context.Context) ([]LocationNode, error)
	// LocationSubtree returns the ids of the location id and of every
	// location under it, id first then in id order; ENOTFOUND for an
	// unknown location.
	LocationSubtree(ctx context.Context, id int64) ([]int64, error)
	// SensorsUnder returns the sensors whose newest placement installed no
	// later than at is the location id or a location under it, ordered by
	// unique identifier; ENOTFOUND for an unknown location.
	SensorsUnder(ctx context.Context, id int64, at time.Time) ([]PlacedSensor, error)
}

// TreeCounts rolls the tree up: for every location id, the number of
// sensors placed at it or anywhere under it.
func TreeCounts(nodes []LocationNode) map[int64]int {
	children := map[int64][]int64{}
	direct := map[int64]int{}
	for _, n := range nodes {
		direct[n.ID] = len(n.Sensors)
		if n.ParentID != nil {
			children[*n.ParentID] = append(children[*n.ParentID], n.ID)
		}
	}
	out := map[int64]int{}
	var walk func(id int64) int
	walk = func(id int64) int {
		if c, ok := out[id]; ok {
			return c
		}
		c := direct[id]
		for _, ch := range children[id] {
			c += walk(ch)
		}
		out[id] = c
		return c
	}
	for _, n := range nodes {
		walk(n.ID)
	}
	return out
}
