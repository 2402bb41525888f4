package derive

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/dtbase/dtbase"
)

// All returns every derived measure, by name, each with its definitions
// in id order; the measures are in the order of their first definition.
func All(ctx context.Context, store dtbase.DerivedMeasureStore) ([]*Measure, error) {
	defs, err := store.ListDerivedMeasures(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Measure
	byName := map[string]*Measure{}
	for _, d := range defs {
		m := byName[d.Name]
		if m == nil {
			m = &Measure{Name: d.Name, Units: d.Units}
			byName[d.Name] = m
			out = append(out, m)
		}
		m.Defs = append(m.Defs, d)
	}
	return out, nil
}

// ID is the measure id a derived measure goes by where stored measures go
// by theirs (pick lists, chart series): its first definition's id negated,
// which no stored measure has. It is the MeasureID of the ReadingMeasure
// that WithDerived's FindReadingMeasure returns.
func (m *Measure) ID() int64 { return -m.Defs[0].ID }

// Aggregated reports whether m combines the sensors under a location into
// one series, which no single sensor has.
func (m *Measure) Aggregated() bool { return m.Defs[0].Aggregate != nil }

// AsMeasure describes m as a measure of the sensors it applies to: a float
// with m's name and units and the id ID gives.
func (m *Measure) AsMeasure() dtbase.Measure {
	return dtbase.Measure{ID: m.ID(), Name: m.Name, Units: m.Units, Datatype: dtbase.Float}
}

// Inputs returns the names of the measures m's definitions read.
func (m *Measure) Inputs() []string {
	var out []string
	for _, d := range m.Defs {
		e, err := Parse(d.Expression)
		if err != nil {
			continue // stored definitions parsed when they were defined
		}
		for _, in := range e.Inputs() {
			if !slices.Contains(out, in.Name) {
				out = append(out, in.Name)
			}
		}
	}
	return out
}

// ForType returns, as measures (see AsMeasure), the per-sensor derived
// measures that sensors of type t may have: those defined for the type,
// and those defined for a location or a sensor whose inputs are all
// measures of the type. A stored measure of the type hides a derived one
// of the same name, as reads resolve the stored one first.
func ForType(all []*Measure, t *dtbase.SensorType) []dtbase.Measure {
	var out []dtbase.Measure
	has := func(name string) bool {
		return slices.ContainsFunc(t.Measures, func(m dtbase.Measure) bool { return m.Name == name })
	}
	for _, m := range all {
		if m.Aggregated() || has(m.Name) {
			continue
		}
		ok := slices.ContainsFunc(m.Defs, func(d dtbase.DerivedMeasure) bool { return d.SensorType != nil && *d.SensorType == t.Name })
		if !ok && !slices.ContainsFunc(m.Defs, func(d dtbase.DerivedMeasure) bool { return d.SensorType != nil }) {
			ins := m.Inputs()
			ok = len(ins) > 0 && !slices.ContainsFunc(ins, func(n string) bool { return !has(n) })
		}
		if ok {
			out = append(out, m.AsMeasure())
		}
	}
	return out
}

// ByID returns the derived measure that goes by id (see Measure.ID);
// ENOTFOUND if none does.
func ByID(all []*Measure, id int64) (*Measure, error) {
	for _, m := range all {
		if m.ID() == id {
			return m, nil
		}
	}
	return nil, dtbase.Errorf(dtbase.ENOTFOUND, "No measure with id %d", id)
}

// latestWindows are how far back from a sensor's newest reading Latest
// looks for the newest point of a derived series, widening until it finds
// one.
var latestWindows = []time.Duration{time.Hour, 24 * time.Hour, 31 * 24 * time.Hour}

// Latest returns the newest point of m for the sensor uid at or before
// end (the sensor's newest reading), and false when the sensor has none
// within a month of end or m does not apply to it.
func Latest(ctx context.Context, store Store, m *Measure, uid string, end time.Time) (dtbase.Reading, bool, error) {
	for _, w := range latestWindows {
		var last dtbase.Reading
		found := false
		err := Readings(ctx, store, m, uid, end.Add(-w), end, func(r dtbase.Reading) error {
			last, found = r, true
			return nil
		})
		if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			return last, false, nil
		}
		if err != nil || found {
			return last, found, err
		}
	}
	return dtbase.Reading{}, false, nil
}

// LatestFromInputs computes m for a sensor of type typeName from the
// newest reading of each of its measures (by name), without reading
// anything: when m has one definition for the type and none for a sensor
// or a location (which could take precedence), and the inputs' newest
// readings share one timestamp at which the definition applies. ok is
// false when it cannot tell; Latest can.
func LatestFromInputs(m *Measure, typeName string, newest map[string]dtbase.Reading) (r dtbase.Reading, ok bool) {
	var def *dtbase.DerivedMeasure
	for i := range m.Defs {
		d := &m.Defs[i]
		if d.SensorType == nil {
			return r, false
		}
		if *d.SensorType == typeName {
			if def != nil {
				return r, false
			}
			def = d
		}
	}
	if def == nil {
		return r, false
	}
	e, err := Parse(def.Expression)
	if err != nil || len(e.Inputs()) == 0 {
		return r, false
	}
	vals := make([]float64, len(e.Inputs()))
	var t time.Time
	for i, in := range e.Inputs() {
		rd, found := newest[in.Name]
		if !found || i > 0 && !rd.Time.Equal(t) {
			return r, false
		}
		t, vals[i] = rd.Time, number(rd.Value)
	}
	v := e.Eval(vals)
	if !def.ValidAt(t) || math.IsNaN(v) || math.IsInf(v, 0) {
		return r, false
	}
	return dtbase.Reading{Time: t, Value: dtbase.FloatValue(v)}, true
}
