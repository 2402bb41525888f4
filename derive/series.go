package derive

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// Store is what derived measures read.
type Store interface {
	dtbase.SensorStore
	dtbase.ReadingStore
	dtbase.LocationTreeStore
	dtbase.DerivedMeasureStore
}

// Define checks d and stores it. The expression must parse, every input
// must name a measure of the sensor type (or, for a location, a measure of
// some sensor), the humidity functions and + and - must get matching units,
// and an aggregate needs a location. A mistake in the expression is
// EUNPROCESSABLE with a *dtbase.FieldError naming "expression" and the
// byte offset; others are EINVALID, ENOTFOUND or ECONFLICT.
func Define(ctx context.Context, store Store, d *dtbase.DerivedMeasure) error {
	if err := d.Validate(); err != nil {
		return err
	}
	e, err := Parse(d.Expression)
	if err != nil {
		return exprError(err)
	}
	if d.Aggregate != nil {
		if d.LocationID == nil {
			return dtbase.FieldErrorf("aggregate", -1, "An aggregate combines the sensors under a location: give location_id, or no aggregate")
		}
		if !slices.Contains(dtbase.DerivedAggregates, *d.Aggregate) {
			return dtbase.FieldErrorf("aggregate", -1, "Unknown aggregate %q; use one of %s", *d.Aggregate, strings.Join(dtbase.DerivedAggregates, ", "))
		}
	}
	var measures []dtbase.Measure
	scope := "any sensor"
	typeName := d.SensorType
	if d.UniqueIdentifier != nil {
		sd, err := store.FindSensorDetails(ctx, *d.UniqueIdentifier)
		if err != nil {
			return err
		}
		typeName = &sd.TypeName
	}
	if typeName != nil {
		types, err := store.ListSensorTypes(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(types, func(t dtbase.SensorType) bool { return t.Name == *typeName })
		if i < 0 {
			return dtbase.Errorf(dtbase.ENOTFOUND, "Sensor type %q does not exist", *typeName)
		}
		measures, scope = types[i].Measures, "sensor type "+*typeName
	} else if measures, err = store.ListMeasures(ctx); err != nil {
		return err
	}
	units := make([]*string, len(e.Inputs()))
	for i, in := range e.Inputs() {
		var names []string
		found := false
		for _, m := range measures {
			names = append(names, m.Name)
			if m.Name != in.Name {
				continue
			}
			if m.Datatype != dtbase.Float && m.Datatype != dtbase.Integer {
				return dtbase.FieldErrorf("expression", in.Pos, "Input %q holds %ss, not numbers", in.Name, m.Datatype)
			}
			if !found {
				units[i] = m.Units
			} else if !sameUnits(units[i], m.Units) {
				units[i] = nil // several units: unknown here, resolved per sensor
			}
			found = true
		}
		if !found {
			return dtbase.FieldErrorf("expression", in.Pos, "Unknown input %q at position %d: no measure of %s has that name (known: %s)",
				in.Name, in.Pos, scope, strings.Join(names, ", "))
		}
	}
	if err := e.CheckUnits(units); err != nil {
		return exprError(err)
	}
	return store.CreateDerivedMeasure(ctx, d)
}

func sameUnits(a, b *string) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func exprError(err error) error {
	se := err.(*SyntaxError)
	return dtbase.FieldErrorf("expression", se.Pos, "Expression error at position %d: %s", se.Pos, se.Msg)
}

// Measure is a derived measure: every definition of one name.
type Measure struct {
	Name  string
	Units *string
	Defs  []dtbase.DerivedMeasure // in id order
}

// Find returns the derived measure called name; ENOTFOUND if none.
func Find(ctx context.Context, store dtbase.DerivedMeasureStore, name string) (*Measure, error) {
	all, err := All(ctx, store)
	if err != nil {
		return nil, err
	}
	for _, m := range all {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, dtbase.Errorf(dtbase.ENOTFOUND, "No derived measure called %q", name)
}

// applicable returns the definitions of m that apply to the sensor uid:
// those for the sensor itself if there are any, else those for a location
// it is placed under now, else those for its type. ENOTFOUND when none
// does.
func applicable(ctx context.Context, store Store, m *Measure, uid string) ([]dtbase.DerivedMeasure, error) {
	sd, err := store.FindSensorDetails(ctx, uid)
	if err != nil {
		return nil, err
	}
	var under []dtbase.PlacedSensor
	var bySensor, byLocation, byType []dtbase.DerivedMeasure
	for _, d := range m.Defs {
		switch {
		case d.UniqueIdentifier != nil:
			if *d.UniqueIdentifier == uid {
				bySensor = append(bySensor, d)
			}
		case d.SensorType != nil:
			if *d.SensorType == sd.TypeName {
				byType = append(byType, d)
			}
		default:
			if under, err = store.SensorsUnder(ctx, *d.LocationID, time.Now()); err != nil {
				return nil, err
			}
			if slices.ContainsFunc(under, func(p dtbase.PlacedSensor) bool { return p.UniqueIdentifier == uid }) {
				byLocation = append(byLocation, d)
			}
		}
	}
	for _, ds := range [][]dtbase.DerivedMeasure{bySensor, byLocation, byType} {
		if len(ds) > 0 {
			return ds, nil
		}
	}
	return nil, dtbase.Errorf(dtbase.ENOTFOUND, "Derived measure %q does not apply to sensor %q (of type %q)", m.Name, uid, sd.TypeName)
}

// Readings computes m for the sensor uid over [from, to]: each applicable
// definition over its validity period, one reading at every timestamp
// where each of its inputs has a reading, in time order; points whose
// value is not finite (a log of 0, say) are left out. ENOTFOUND for a
// sensor that no definition applies to or that lacks an input.
func Readings(ctx context.Context, store Store, m *Measure, uid string, from, to time.Time, emit func(dtbase.Reading) error) error {
	defs, err := applicable(ctx, store, m, uid)
	if err != nil {
		return err
	}
	if len(defs) == 1 && defs[0].ValidFrom == nil && defs[0].ValidTo == nil {
		return readingsOf(ctx, store, &defs[0], uid, from, to, emit)
	}
	var all []dtbase.Reading
	for i := range defs {
		d := &defs[i]
		lo, hi := from, to
		if d.ValidFrom != nil && d.ValidFrom.After(lo) {
			lo = *d.ValidFrom
		}
		if d.ValidTo != nil && !d.ValidTo.After(hi) {
			hi = d.ValidTo.Add(-time.Microsecond) // valid_to is excluded
		}
		if hi.Before(lo) {
			continue
		}
		if err := readingsOf(ctx, store, d, uid, lo, hi, func(r dtbase.Reading) error {
			all = append(all, r)
			return nil
		}); err != nil {
			return err
		}
	}
	slices.SortStableFunc(all, func(a, b dtbase.Reading) int { return a.Time.Compare(b.Time) })
	for i, r := range all {
		if i > 0 && r.Time.Equal(all[i-1].Time) {
			continue // overlapping definitions of different locations: the first wins
		}
		if err := emit(r); err != nil {
			return err
		}
	}
	return nil
}

// readingsOf computes one definition over [from, to].
func readingsOf(ctx context.Context, store Store, d *dtbase.DerivedMeasure, uid string, from, to time.Time, emit func(dtbase.Reading) error) error {
	e, err := Parse(d.Expression)
	if err != nil {
		return exprError(err)
	}
	inputs := make([][]dtbase.Reading, len(e.Inputs()))
	for i, in := range e.Inputs() {
		m, err := store.FindReadingMeasure(ctx, uid, in.Name, nil)
		if err != nil {
			return err
		}
		if inputs[i], err = dtbase.CollectReadings(ctx, store, m, from, to); err != nil {
			return err
		}
	}
	return join(e, inputs, emit)
}

// join evaluates e at the timestamps every input shares.
func join(e *Expr, inputs [][]dtbase.Reading, emit func(dtbase.Reading) error) error {
	if len(inputs) == 0 {
		return nil // a constant has no timestamps
	}
	pos := make([]int, len(inputs))
	vals := make([]float64, len(inputs))
	for {
		// The latest head time; advance every input to it.
		var t time.Time
		for i, rs := range inputs {
			if pos[i] >= len(rs) {
				return nil
			}
			if h := rs[pos[i]].Time; i == 0 || h.After(t) {
				t = h
			}
		}
		all := true
		for i, rs := range inputs {
			for pos[i] < len(rs) && rs[pos[i]].Time.Before(t) {
				pos[i]++
			}
			if pos[i] >= len(rs) {
				return nil
			}
			if !rs[pos[i]].Time.Equal(t) {
				all = false
			}
		}
		if !all {
			continue
		}
		for i, rs := range inputs {
			vals[i] = number(rs[pos[i]].Value)
			pos[i]++
		}
		if v := e.Eval(vals); !math.IsNaN(v) && !math.IsInf(v, 0) {
			if err := emit(dtbase.Reading{Time: t, Value: dtbase.FloatValue(v)}); err != nil {
				return err
			}
		}
	}
}

func number(v dtbase.Value) float64 {
	if v.Kind == dtbase.KindInteger {
		return float64(v.I)
	}
	return v.F
}

// Bucket is a time bucket of a derived series: its start, value and the
// number of sensors that contributed.
type Bucket struct {
	Start   time.Time
	Value   float64
	Sensors int
}

// BucketMeans averages a series per bucket of width aligned to multiples of
// width since the Unix epoch, with the store's aggregator, so that a derived
// series' means are the same to the bit whichever route reads them.
func BucketMeans(rs []dtbase.Reading, width time.Duration) []Bucket {
	var out []Bucket
	agg := dtbase.NewAggregator(dtbase.Float, width.Microseconds(), func(b dtbase.ReadingBucket) error {
		out = append(out, Bucket{b.Start, b.Mean.F, 1})
		return nil
	})
	for _, r := range rs {
		st := dtbase.OneReading(r.Time.UnixMicro(), r.Value.F)
		_ = agg.Add(&st) // emit never fails
	}
	_ = agg.Flush()
	return out
}

// Aggregate computes a location-wide derived measure: every sensor placed
// now under d's location that has the inputs contributes its per-bucket
// mean, and the buckets are combined by d's aggregate. EINVALID for a
// derived measure without an aggregate or a width under a second.
func Aggregate(ctx context.Context, store Store, m *Measure, from, to time.Time, width time.Duration) ([]Bucket, error) {
	d := &m.Defs[0]
	if len(m.Defs) != 1 || d.Aggregate == nil || d.LocationID == nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Derived measure %q has no aggregate over a location; read it per sensor", m.Name)
	}
	if width < time.Second {
		return nil, dtbase.Errorf(dtbase.EINVALID, "The bucket must be at least one second")
	}
	ps, err := store.SensorsUnder(ctx, *d.LocationID, time.Now())
	if err != nil {
		return nil, err
	}
	type acc struct {
		v float64
		n int
	}
	byStart := map[int64]*acc{}
	for _, p := range ps {
		var rs []dtbase.Reading
		err := Readings(ctx, store, m, p.UniqueIdentifier, from, to, func(r dtbase.Reading) error {
			rs = append(rs, r)
			return nil
		})
		if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			continue // a sensor without the inputs
		}
		if err != nil {
			return nil, err
		}
		for _, b := range BucketMeans(rs, width) {
			k := b.Start.UnixMicro()
			a := byStart[k]
			if a == nil {
				byStart[k] = &acc{b.Value, 1}
				continue
			}
			switch *d.Aggregate {
			case "min":
				a.v = math.Min(a.v, b.Value)
			case "max":
				a.v = math.Max(a.v, b.Value)
			default: // sum, and mean divides at the end
				a.v += b.Value
			}
			a.n++
		}
	}
	out := make([]Bucket, 0, len(byStart))
	for k, a := range byStart {
		v := a.v
		if *d.Aggregate == "mean" {
			v /= float64(a.n)
		}
		out = append(out, Bucket{time.UnixMicro(k).UTC(), v, a.n})
	}
	slices.SortFunc(out, func(a, b Bucket) int { return a.Start.Compare(b.Start) })
	return out, nil
}
