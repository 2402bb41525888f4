package dtbase

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ReadingSeries is a list of readings of one measure of one sensor, as
// insert-sensor-readings carries them: Values[i] was observed at
// Timestamps[i].
type ReadingSeries struct {
	UniqueIdentifier string
	MeasureName      string
	// MeasureUnits picks among measures of the sensor's type that share
	// MeasureName; nil resolves by name alone, which fails when the name is
	// ambiguous.
	MeasureUnits *string
	Values       []Value
	Timestamps   []time.Time
}

// Validate checks the names of the series against MaxNameLen and
// MaxUnitsLen; EINVALID naming the field. The values are bounded only by
// the size of a request.
func (s *ReadingSeries) Validate() error {
	return firstErr(
		checkLen("unique_identifier", s.UniqueIdentifier, MaxNameLen),
		checkLen("measure_name", s.MeasureName, MaxNameLen),
		checkLenPtr("measure_units", s.MeasureUnits, MaxUnitsLen),
	)
}

// ReadingInsertResult counts what an insert did. Rows that were already
// stored, or that repeat an earlier row of the same insert, are skipped.
type ReadingInsertResult struct {
	Rows     int64 // readings received
	Inserted int64 // readings written
}

// Duplicates is the number of readings skipped because their (sensor,
// measure, timestamp) was already stored.
func (r ReadingInsertResult) Duplicates() int64 { return r.Rows - r.Inserted }

// ReadingMeasure is a measure of a sensor resolved to the rows that store
// its readings.
type ReadingMeasure struct {
	SensorID         int64
	MeasureID        int64
	UniqueIdentifier string
	MeasureName      string
	MeasureUnits     *string
	Datatype         Datatype
}

// Reading is one observation.
type Reading struct {
	Time  time.Time
	Value Value
}

// LatestReadingFilter narrows latest-readings. Zero values mean "all".
type LatestReadingFilter struct {
	TypeName          *string  // only sensors of this type
	UniqueIdentifiers []string // only these sensors
}

// LatestReading is the newest reading of one measure of one sensor.
type LatestReading struct {
	UniqueIdentifier string
	MeasureName      string
	MeasureUnits     *string
	Datatype         Datatype
	Reading
}

// ReadingStore keeps sensor readings. Every write is one transaction: it
// stores all of its readings or none. A reading whose (sensor, measure,
// timestamp) is already stored is skipped, not updated, as in the original.
type ReadingStore interface {
	// InsertReadings resolves each series' measure among the measures of
	// its sensor's type, checks every value against the measure's datatype
	// and stores all series in one transaction. Errors: EINVALID for
	// lengths that differ or a value of the wrong datatype (the message
	// names the first bad index), ENOTFOUND for an unknown sensor or
	// measure, EINVALID for an ambiguous measure name. With more than one
	// series, messages start with "series[i]: ". The cause of a value error
	// is a *ReadingIndexError.
	InsertReadings(ctx context.Context, series []ReadingSeries) (ReadingInsertResult, error)

	// InsertReadingsFrom stores the series that next returns, until it
	// returns io.EOF, in one transaction, holding at most one series in
	// memory: the path of imports of any size. An error from next, or any
	// error InsertReadings would return, rolls everything back.
	InsertReadingsFrom(ctx context.Context, next func() (*ReadingSeries, error)) (ReadingInsertResult, error)

	// FindReadingMeasure resolves a measure of a sensor by name and, when
	// units is not nil, units. Errors: ENOTFOUND when no measure of any
	// sensor has that name (and units); ENOTFOUND with an
	// *UnknownSensorError cause when the measure exists but the sensor does
	// not; ENOTFOUND when the sensor's type lacks the measure; EINVALID
	// when the name alone is ambiguous.
	FindReadingMeasure(ctx context.Context, uniqueIdentifier, measureName string, units *string) (ReadingMeasure, error)

	// ScanReadings calls fn for every reading of m with from <= time <= to,
	// in time order, streaming from the database so memory stays flat for
	// any range. An error from fn stops the scan and is returned.
	ScanReadings(ctx context.Context, m ReadingMeasure, from, to time.Time, fn func(Reading) error) error

	// AggregateReadings calls fn, in time order, for every bucket of width
	// that holds readings of m with from <= time <= to. Buckets are aligned
	// to multiples of width since the Unix epoch, so the same bucket has the
	// same bounds in every query. Memory stays flat for any range. EINVALID
	// for a width under one microsecond.
	AggregateReadings(ctx context.Context, m ReadingMeasure, from, to time.Time, width time.Duration, fn func(ReadingBucket) error) error

	// DownsampleReadings calls fn, in time order, with at most maxPoints
	// readings of m with from <= time <= to that keep the shape of the
	// series: the time between the first and the last reading is cut into
	// maxPoints/2 equal buckets, and each bucket contributes its minimum and
	// its maximum in time order (a bucket of one or two readings contributes
	// them as they are), so peaks and troughs survive. Memory stays flat
	// for any range. EINVALID for a string measure or maxPoints < 2.
	DownsampleReadings(ctx context.Context, m ReadingMeasure, from, to time.Time, maxPoints int, fn func(Reading) error) error

	// LatestReadings returns the newest reading of every measure of every
	// sensor that f selects and that has readings, ordered by sensor and
	// measure. ENOTFOUND for an unknown type name or unique identifier.
	LatestReadings(ctx context.Context, f LatestReadingFilter) ([]LatestReading, error)
}

// CollectReadings returns the readings of m with from <= time <= to, in
// time order, as store.ScanReadings gives them, in one slice.
func CollectReadings(ctx context.Context, store ReadingStore, m ReadingMeasure, from, to time.Time) ([]Reading, error) {
	var rs []Reading
	err := store.ScanReadings(ctx, m, from, to, func(r Reading) error {
		rs = append(rs, r)
		return nil
	})
	return rs, err
}

// UnknownSensorError is the cause of the ENOTFOUND that FindReadingMeasure
// returns for a sensor that does not exist, so that callers with the
// original's "unknown sensor gives an empty list" rule can tell it apart.
type UnknownSensorError struct{ UniqueIdentifier string }

func (e *UnknownSensorError) Error() string {
	return "unknown sensor " + strconv.Quote(e.UniqueIdentifier)
}

// IsUnknownSensor reports whether err says a sensor does not exist.
func IsUnknownSensor(err error) bool {
	var u *UnknownSensorError
	return errors.As(err, &u)
}

// ReadingIndexError locates a bad element of a series: the cause of the
// EINVALID that InsertReadings returns for a value of the wrong datatype.
type ReadingIndexError struct {
	Series, Index int
}

func (e *ReadingIndexError) Error() string {
	return "series " + strconv.Itoa(e.Series) + " index " + strconv.Itoa(e.Index)
}

// ParseValueText reads a value from text (a CSV cell, say), where there is
// no JSON type to go by, as datatype d: floats and integers are parsed
// (integers in 32 bits; NaN and infinities rejected), booleans are
// true/false/1/0 in any case, and strings are taken as they are. The
// returned message says what is wrong and is empty on success.
func ParseValueText(s string, d Datatype) (Value, string) {
	switch d {
	case String:
		return StringValue(s), ""
	case Float:
		t := strings.TrimSpace(s)
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(t, "nNiI_xXpP") {
			return Value{}, "expected a finite float, got " + strconv.Quote(s)
		}
		return FloatValue(f), ""
	case Integer:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return Value{}, "integer out of the 32-bit range: " + strconv.Quote(s)
			}
			return Value{}, "expected an integer, got " + strconv.Quote(s)
		}
		return IntValue(i), ""
	case Boolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1":
			return BoolValue(true), ""
		case "false", "0":
			return BoolValue(false), ""
		}
		return Value{}, "expected true or false, got " + strconv.Quote(s)
	}
	return Value{}, "unknown datatype " + strconv.Quote(string(d))
}

// ReadingBucket summarises the readings of one time bucket. Mean, Min, Max
// and Sum are set for float and integer measures only (Mean is a float,
// Sum keeps the measure's datatype); First and Last are the earliest and
// the latest reading of the bucket.
type ReadingBucket struct {
	Start               time.Time
	Count               int64
	Mean, Min, Max, Sum Value
	First, Last         Value
}

// Aggregates lists the aggregate names a bucketed read accepts, in the
// order they are written out.
var Aggregates = []string{"mean", "min", "max", "sum", "count", "first", "last"}

// NumericAggregate reports whether the aggregate needs a float or integer
// measure.
func NumericAggregate(name string) bool {
	switch name {
	case "mean", "min", "max", "sum":
		return true
	}
	return false
}
