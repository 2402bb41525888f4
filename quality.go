package dtbase

import "context"

// MeasureRange is the physical range of a measure: readings outside it are
// implausible (a humidity of 140 %), reported by the data quality check.
// A nil bound is open.
type MeasureRange struct {
	Min, Max *float64
}

// Contains reports whether v is within the range.
func (r MeasureRange) Contains(v float64) bool {
	return (r.Min == nil || v >= *r.Min) && (r.Max == nil || v <= *r.Max)
}

// MeasureRangeStore keeps the physical ranges of measures.
type MeasureRangeStore interface {
	// SetMeasureRange sets the range of the measure named name (and units,
	// when not nil); both bounds nil clears it. ENOTFOUND for an unknown
	// measure, EINVALID for an ambiguous name or Min > Max.
	SetMeasureRange(ctx context.Context, name string, units *string, r MeasureRange) error
	// FindMeasureRange returns the range of a measure by id; an open range
	// when none is set.
	FindMeasureRange(ctx context.Context, measureID int64) (MeasureRange, error)
}
