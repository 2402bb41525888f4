package derive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dtbase/dtbase"
)

// FindModelInputSeries reads a derived measure as a forecaster's training
// data when the sensor's type has no stored measure of that name, so a
// forecast can take a derived series as its input.
func (s *derivedStore) FindModelInputSeries(ctx context.Context, uid, name string, units *string, from, to time.Time) (*dtbase.ModelInputSeries, error) {
	series, err := s.Store.FindModelInputSeries(ctx, uid, name, units, from, to)
	if dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		return series, err
	}
	m, derr := s.FindReadingMeasure(ctx, uid, name, units)
	if derr != nil || !isDerived(m) {
		return series, err
	}
	out := &dtbase.ModelInputSeries{SensorUniqueID: uid, Measure: dtbase.ModelSensorMeasure{Name: m.MeasureName, Units: m.MeasureUnits},
		Datatype: dtbase.Float}
	err = s.ScanReadings(ctx, m, from, to, func(r dtbase.Reading) error {
		out.Points = append(out.Points, dtbase.ModelPoint(r))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CreateModelRuns stores a run that predicts a derived measure linked to
// its sensor only, as no stored measure is the one predicted; the run's
// details name the derived measure ("derived_measure").
func (s *derivedStore) CreateModelRuns(ctx context.Context, runs []*dtbase.NewModelRun) error {
	stored := make([]*dtbase.NewModelRun, len(runs))
	for i, r := range runs {
		stored[i] = r
		if r.SensorUniqueID == nil || r.SensorMeasure == nil {
			continue
		}
		if _, err := s.Store.FindReadingMeasure(ctx, *r.SensorUniqueID, r.SensorMeasure.Name, r.SensorMeasure.Units); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
			continue
		}
		m, err := s.FindReadingMeasure(ctx, *r.SensorUniqueID, r.SensorMeasure.Name, r.SensorMeasure.Units)
		if err != nil || !isDerived(m) {
			continue // the store names what is wrong
		}
		c := *r
		c.SensorMeasure = nil
		if c.Details, err = withDerivedName(r.Details, m.MeasureName); err != nil {
			return err
		}
		stored[i] = &c
	}
	if err := s.Store.CreateModelRuns(ctx, stored); err != nil {
		return err
	}
	for i := range runs {
		runs[i].ID = stored[i].ID
	}
	return nil
}

// CompareModelRun compares a run that predicts a derived measure (its
// details name it, see CreateModelRuns) with that measure's series on the
// run's sensor, computed as for a plot: the store alone finds no stored
// measure to compare the run with. The comparison names the derived
// measure as the run's sensor measure, so its observations are labelled
// and drawn like a stored measure's.
func (s *derivedStore) CompareModelRun(ctx context.Context, id int64, tolerance time.Duration) (*dtbase.ModelRunComparison, error) {
	c, err := s.Store.CompareModelRun(ctx, id, tolerance)
	if err != nil || c.Run.SensorMeasure != nil || c.Run.SensorUniqueID == nil {
		return c, err
	}
	var details struct {
		Name string `json:"derived_measure"`
	}
	if json.Unmarshal(c.Run.Details, &details) != nil || details.Name == "" {
		return c, nil
	}
	first, last, ok := dtbase.OutputSpan(c.Outputs)
	m, err := s.FindReadingMeasure(ctx, *c.Run.SensorUniqueID, details.Name, nil)
	if !ok || err != nil || !isDerived(m) {
		return c, nil // no outputs, or the measure is gone: nothing to compare with
	}
	c.Run.SensorMeasure = &dtbase.ModelSensorMeasure{Name: m.MeasureName, Units: m.MeasureUnits}
	c.Run.SensorMeasureDatatype = dtbase.Float
	err = s.ScanReadings(ctx, m, first.Add(-c.Tolerance), last.Add(c.Tolerance), func(r dtbase.Reading) error {
		c.Observed = append(c.Observed, dtbase.ModelPoint(r))
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.Skill = dtbase.ScoreForecast(c.Outputs, c.Observed, c.Tolerance)
	return c, nil
}

// withDerivedName adds "derived_measure": name to a run's details (a JSON
// object, or nothing), first, keeping the order of the other keys.
func withDerivedName(details json.RawMessage, name string) (json.RawMessage, error) {
	b, err := json.Marshal(map[string]string{"derived_measure": name})
	if err != nil {
		return nil, err
	}
	rest := bytes.TrimSpace(details)
	if len(rest) == 0 {
		return b, nil
	}
	if rest[0] != '{' || !json.Valid(rest) {
		return nil, fmt.Errorf("run details: not a JSON object")
	}
	if rest = bytes.TrimSpace(rest[1:]); rest[0] != '}' {
		b[len(b)-1] = ','
	} else {
		b = b[:len(b)-1]
	}
	return append(b, rest...), nil
}
