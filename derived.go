package dtbase

import (
	"context"
	"time"
)

// DerivedMeasure is one definition of a measure computed on read from an
// expression over other measures (package derive parses it). It applies to
// the sensors of SensorType, to the sensors placed under LocationID, or to
// the one sensor UniqueIdentifier (exactly one is set); with Aggregate
// (mean, min, max or sum) the per-sensor series under the location are
// combined into one per time bucket. A name may have several definitions
// whose validity periods [ValidFrom, ValidTo) do not overlap within a
// scope: a sensor's calibration tables over the years.
type DerivedMeasure struct {
	ID               int64
	Name             string
	Units            *string
	Expression       string
	SensorType       *string
	LocationID       *int64
	UniqueIdentifier *string
	Aggregate        *string
	ValidFrom        *time.Time // nil: since always
	ValidTo          *time.Time // nil: until further notice
}

// ValidAt reports whether the definition applies at t.
func (d *DerivedMeasure) ValidAt(t time.Time) bool {
	return (d.ValidFrom == nil || !t.Before(*d.ValidFrom)) && (d.ValidTo == nil || t.Before(*d.ValidTo))
}

// Aggregates a location-wide derived measure may use.
var DerivedAggregates = []string{"mean", "min", "max", "sum"}

// Validate checks the text fields against the limits; EINVALID naming the
// field.
func (d *DerivedMeasure) Validate() error {
	return firstErr(checkNameUnits("", d.Name, d.Units), checkLen("expression", d.Expression, MaxExpressionLen))
}

// DerivedMeasureStore keeps derived measure definitions. Checking the
// expression against the measures it reads is package derive's job.
type DerivedMeasureStore interface {
	// CreateDerivedMeasure stores a definition and sets its ID. EINVALID
	// unless exactly one scope is set or when ValidTo is not after
	// ValidFrom; ENOTFOUND for an unknown sensor type, location or sensor;
	// ECONFLICT when a definition of the name in the same scope overlaps in
	// time, when the name's definitions would have different units, or when
	// an aggregated measure would have more than one definition.
	CreateDerivedMeasure(ctx context.Context, d *DerivedMeasure) error
	// ListDerivedMeasures returns every definition in id order.
	ListDerivedMeasures(ctx context.Context) ([]DerivedMeasure, error)
	// DeleteDerivedMeasure deletes every definition of a name; ENOTFOUND if
	// there is none.
	DeleteDerivedMeasure(ctx context.Context, name string) error
}
