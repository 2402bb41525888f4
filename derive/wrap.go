package derive

import (
	"context"
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

var (
	_ dtbase.SeriesPlotter      = (*derivedStore)(nil)
	_ dtbase.ReadingStatsReader = (*derivedStore)(nil)
)

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
	agg := dtbase.NewAggregator(m.Datatype, width.Microseconds(), fn)
	if err := s.feed(ctx, m, from, to, agg.Add); err != nil {
		return err
	}
	return agg.Flush()
}

// feed calls fn with each reading of the derived series m in [from, to],
// in time order.
func (s *derivedStore) feed(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, fn func(*dtbase.ReadingStats) error) error {
	rs, err := s.series(ctx, m, from, to)
	if err != nil {
		return err
	}
	for _, r := range rs {
		st := dtbase.OneReading(r.Time.UnixMicro(), r.Value.F)
		if err := fn(&st); err != nil {
			return err
		}
	}
	return nil
}

// DownsampleReadings keeps each pixel's extremes with the store's
// downsampler, on the same pixels a stored series of that extent gets.
func (s *derivedStore) DownsampleReadings(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, maxPoints int, fn func(dtbase.Reading) error) error {
	if !isDerived(m) {
		return s.Store.DownsampleReadings(ctx, m, from, to, maxPoints, fn)
	}
	_, err := s.downsample(ctx, m, from, to, maxPoints, fn)
	return err
}

func (s *derivedStore) downsample(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, maxPoints int, fn func(dtbase.Reading) error) (dtbase.ReadingStats, error) {
	if err := dtbase.CheckDownsample(m, maxPoints); err != nil {
		return dtbase.ReadingStats{}, err
	}
	rs, err := s.series(ctx, m, from, to)
	if err != nil || len(rs) == 0 {
		return dtbase.ReadingStats{}, err
	}
	ds := dtbase.NewDownsampler(m.Datatype, rs[0].Time.UnixMicro(), rs[len(rs)-1].Time.UnixMicro(), maxPoints, fn)
	for _, r := range rs {
		st := dtbase.OneReading(r.Time.UnixMicro(), r.Value.F)
		if err := ds.Add(&st); err != nil {
			return dtbase.ReadingStats{}, err
		}
	}
	return ds.Total, ds.Flush()
}

// PlotSeries plots stored series in one read of the store when it can,
// and derived ones from their computed series.
func (s *derivedStore) PlotSeries(ctx context.Context, ms []dtbase.ReadingMeasure, from, to time.Time, maxPoints int) ([]dtbase.Plot, error) {
	var stored []dtbase.ReadingMeasure
	for _, m := range ms {
		if !isDerived(m) {
			stored = append(stored, m)
		}
	}
	plots, err := dtbase.PlotSeries(ctx, s.Store, stored, from, to, maxPoints)
	if err != nil {
		return nil, err
	}
	out := make([]dtbase.Plot, len(ms))
	for i, m := range ms {
		if !isDerived(m) {
			out[i], plots = plots[0], plots[1:]
			continue
		}
		out[i].Measure = m
		total, err := s.downsample(ctx, m, from, to, maxPoints, func(r dtbase.Reading) error {
			out[i].Points = append(out[i].Points, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
		out[i].Summary = dtbase.Summary(m.Datatype, total)
	}
	return out, nil
}

// ScanStats feeds a derived series reading by reading, and a stored one
// from the store's rollups when it keeps them.
func (s *derivedStore) ScanStats(ctx context.Context, m dtbase.ReadingMeasure, from, to time.Time, fn func(*dtbase.ReadingStats) error) error {
	if isDerived(m) {
		return s.feed(ctx, m, from, to, fn)
	}
	if sr, ok := s.Store.(dtbase.ReadingStatsReader); ok {
		return sr.ScanStats(ctx, m, from, to, fn)
	}
	return s.Store.ScanReadings(ctx, m, from, to, func(r dtbase.Reading) error {
		v, _ := r.Value.Float()
		st := dtbase.OneReading(r.Time.UnixMicro(), v)
		return fn(&st)
	})
}
