package dtbase

import "context"

// DerivedMeasure is a measure computed on read from an expression over
// other measures (package derive parses it). It applies to the sensors of
// SensorType, or to the sensors placed under LocationID; with Aggregate
// (mean, min, max or sum) the per-sensor series under the location are
// combined into one per time bucket.
type DerivedMeasure struct {
	ID         int64
	Name       string
	Units      *string
	Expression string
	SensorType *string
	LocationID *int64
	Aggregate  *string
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
	// CreateDerivedMeasure stores d and sets its ID. ECONFLICT if the name
	// is taken; ENOTFOUND for an unknown sensor type or location.
	CreateDerivedMeasure(ctx context.Context, d *DerivedMeasure) error
	// ListDerivedMeasures returns every derived measure in id order.
	ListDerivedMeasures(ctx context.Context) ([]DerivedMeasure, error)
	// DeleteDerivedMeasure deletes one; ENOTFOUND if there is none.
	DeleteDerivedMeasure(ctx context.Context, name string) error
}
