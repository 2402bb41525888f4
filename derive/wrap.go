package derive

import (
	"context"
	"math"
	"time"

	"github.com/dtbase/dtbase"
)

// WithDerived returns s with derived measures readable wherever a stored
// measure is: FindReadingMeasure resolves the name of a derived measure
// that applies to the sensor (when no stored measure has that name), and
// ScanReadings, AggregateReadings and DownsampleReadings compute it. So
// the API's reads, downsampled and aggregated reads and CSV download, and
// the web pages that read a named measure, serve derived series too.
// Listings (sensor types, measures, latest readings) are unchanged, so
// DTBase's answers stay as they are. A store already wrapped is returned
// as it is.
func WithDerived(s dtbase.Store) dtbase.Store {
	if d, ok := s.(*derivedStore); ok {
		return d
	}
	return &derivedStore{s}
}

type derivedStore struct{ dtbase.Store }

// A derived ReadingMeasure carries the derived measure's id negated, which
// no stored measure has.
func isDerived(m dtbase.ReadingMeasure) bool { return m.MeasureID < 0 }

func (s *derivedStore) FindReadingMeasure(ctx context.Context, uid, name string, units *string) (dtbase.ReadingMeasure, error) {
	m, err := s.Store.FindReadingMeasure(ctx, uid, name, units)
	if err == nil || dtbase.ErrorCode(err) != dtbase.ENOTFOUND || dtbase.IsUnknownSensor(err) {
		return m, err
	}
	d, derr := Find(ctx, s.Store, name)
	if derr != nil || units != nil && !sameUnits(units, d.Units) {
		return m, err
	}
	if _, derr := applicable(ctx, s.Store, d, uid); derr != nil {
		return m, err
	}
	sd, derr := s.Store.FindSensorDetails(ctx, uid)
	if derr != nil {
		return m, derr
	}
	return dtbase.ReadingMeasure{SensorID: sd.ID, MeasureID: -d.Defs[0].ID, UniqueIdentifier: uid, MeasureName: d.Name,
		MeasureUnits: d.Units, Datatype: dtbase.Float}, nil
}

// byID returns the derived measure of a derived ReadingMeasure, which
// carries the id of one of its definitions.
func (s *derivedStore) byID(ctx context.Context, m dtbase.ReadingMeasure) (*Measure, error) {
	d, err := Find(ctx, s.Store, m.MeasureName)
	if err != nil {
		return nil, err
	}
	for _, def := range d.Defs {
		if def.ID == -m.MeasureID {
			return d, nil
		}
	}
	return nil, dtbase.Errorf(dtbase.ENOTFOUND, "Derived measure %q was redefined; read it again", m.MeasureName)
}

func (s *derivedStore) series(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time) ([]dtbase.Reading, error) {
	d, err := s.byID(ctx, m)
	if err != nil {
		return nil, err
	}
	var rs []dtbase.Reading
	err = Readings(ctx, s.Store, d, m.UniqueIdentifier, from, to, func(r dtbase.Reading) error {
		rs = append(rs, r)
		return nil
	})
	return rs, err
}

func (s *derivedStore) ScanReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, fn func(dtbase.Reading) error) error {
	if !isDerived(m) {
		return s.Store.ScanReadings(ctx, m, from, to, fn)
	}
	d, err := s.byID(ctx, m)
	if err != nil {
		return err
	}
	return Readings(ctx, s.Store, d, m.UniqueIdentifier, from, to, fn)
}

func (s *derivedStore) AggregateReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, width time.Duration, fn func(dtbase.ReadingBucket) error) error {
	if !isDerived(m) {
		return s.Store.AggregateReadings(ctx, m, from, to, width, fn)
	}
	if width < time.Microsecond {
		return dtbase.Errorf(dtbase.EINVALID, "The bucket width must be at least one microsecond")
	}
	rs, err := s.series(ctx, m, from, to)
	if err != nil {
		return err
	}
	w := width.Microseconds()
	var b dtbase.ReadingBucket
	var sum float64
	flush := func() error {
		if b.Count == 0 {
			return nil
		}
		b.Mean, b.Sum = dtbase.FloatValue(sum/float64(b.Count)), dtbase.FloatValue(sum)
		return fn(b)
	}
	for _, r := range rs {
		us := r.Time.UnixMicro()
		start := time.UnixMicro(us - ((us%w)+w)%w).UTC()
		if b.Count > 0 && !start.Equal(b.Start) {
			if err := flush(); err != nil {
				return err
			}
			b.Count = 0
		}
		if b.Count == 0 {
			b = dtbase.ReadingBucket{Start: start, Min: r.Value, Max: r.Value, First: r.Value}
			sum = 0
		}
		b.Count++
		sum += r.Value.F
		b.Min.F, b.Max.F, b.Last = math.Min(b.Min.F, r.Value.F), math.Max(b.Max.F, r.Value.F), r.Value
	}
	return flush()
}

// DownsampleReadings keeps each bucket's extremes as the store's does:
// the span from the first to the last reading is cut into maxPoints/2
// buckets, each giving its minimum and maximum in time order.
func (s *derivedStore) DownsampleReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, maxPoints int, fn func(dtbase.Reading) error) error {
	if !isDerived(m) {
		return s.Store.DownsampleReadings(ctx, m, from, to, maxPoints, fn)
	}
	if maxPoints < 2 {
		return dtbase.Errorf(dtbase.EINVALID, "max_points must be at least 2, got %d", maxPoints)
	}
	rs, err := s.series(ctx, m, from, to)
	if err != nil || len(rs) == 0 {
		return err
	}
	first, last := rs[0].Time.UnixMicro(), rs[len(rs)-1].Time.UnixMicro()
	width := (last-first)/int64(maxPoints/2) + 1
	for i := 0; i < len(rs); {
		b := (rs[i].Time.UnixMicro() - first) / width
		j, lo, hi := i, i, i
		for j < len(rs) && (rs[j].Time.UnixMicro()-first)/width == b {
			if rs[j].Value.F < rs[lo].Value.F {
				lo = j
			}
			if rs[j].Value.F > rs[hi].Value.F {
				hi = j
			}
			j++
		}
		keep := []int{lo, hi}
		if j-i <= 2 {
			keep = keep[:0]
			for k := i; k < j; k++ {
				keep = append(keep, k)
			}
		} else if hi < lo {
			keep = []int{hi, lo}
		} else if hi == lo {
			keep = keep[:1]
		}
		for _, k := range keep {
			if err := fn(rs[k]); err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}
