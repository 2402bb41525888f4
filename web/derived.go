package web

import (
	"context"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/derive"
)

// Derived measures go by the negated id of their first definition (see
// derive.Measure.ID) wherever the pages name a measure by id, so the
// explorer, the charts and the CSV download take them as they take stored
// measures; the store is wrapped by derive.WithDerived, so reading one
// computes it.

// derivedForType returns the derived measures sensors of type t may have.
func (h *Handler) derivedForType(ctx context.Context, t *dtbase.SensorType) ([]dtbase.Measure, error) {
	all, err := derive.All(ctx, h.store)
	if err != nil {
		return nil, err
	}
	return derive.ForType(all, t), nil
}

// derivedSensor is a sensor whose latest derived values are wanted: its
// type, and its newest reading of each measure.
type derivedSensor struct {
	uid, typeName string
	latest        map[string]dtbase.Reading
}

// newDerivedSensor collects a sensor's newest readings from latest.
func newDerivedSensor(uid, typeName string, latest []dtbase.LatestReading) derivedSensor {
	x := derivedSensor{uid: uid, typeName: typeName, latest: map[string]dtbase.Reading{}}
	for _, l := range latest {
		if l.UniqueIdentifier == uid {
			x.latest[l.MeasureName] = l.Reading
		}
	}
	return x
}

// derivedLatest returns the newest value of each derived measure of each
// sensor, as latest rows; a sensor that lacks the inputs has none. Only
// the sensors given are computed (the dashboard passes those of the page).
func (h *Handler) derivedLatest(ctx context.Context, sensors []derivedSensor, types []dtbase.SensorType) ([]latestRow, error) {
	if len(sensors) == 0 {
		return nil, nil
	}
	all, err := derive.All(ctx, h.store)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	byName := map[string]*derive.Measure{}
	for _, m := range all {
		byName[m.Name] = m
	}
	perType := map[string][]dtbase.Measure{}
	for i := range types {
		perType[types[i].Name] = derive.ForType(all, &types[i])
	}
	now := h.now()
	var rows []latestRow
	for _, x := range sensors {
		var newest time.Time
		for _, rd := range x.latest {
			if rd.Time.After(newest) {
				newest = rd.Time
			}
		}
		if newest.IsZero() {
			continue
		}
		for _, dm := range perType[x.typeName] {
			// Mostly the inputs' newest readings are the answer; otherwise
			// the series is computed back from the newest reading.
			rd, ok := derive.LatestFromInputs(byName[dm.Name], x.typeName, x.latest)
			if !ok {
				var err error
				if rd, ok, err = derive.Latest(ctx, h.store, byName[dm.Name], x.uid, newest); err != nil {
					return nil, err
				}
			}
			if ok {
				rows = append(rows, newLatestRow(dtbase.LatestReading{UniqueIdentifier: x.uid, MeasureName: dm.Name,
					MeasureUnits: dm.Units, Datatype: dtbase.Float, Reading: rd}, map[string]int64{dm.Name + "\x00" + derefString(dm.Units): dm.ID}, now))
			}
		}
	}
	return rows, nil
}

// derivedSeries finds the reading measure of a sensor and a derived
// measure's id (negative).
func (h *Handler) derivedSeries(ctx context.Context, sensor string, id int64) (dtbase.ReadingMeasure, error) {
	all, err := derive.All(ctx, h.store)
	if err != nil {
		return dtbase.ReadingMeasure{}, err
	}
	m, err := derive.ByID(all, id)
	if err != nil {
		return dtbase.ReadingMeasure{}, err
	}
	return h.store.FindReadingMeasure(ctx, sensor, m.Name, m.Units)
}

// addDerivedLatest adds to the dashboard's sensors (those of one page) the
// newest values of their derived measures, after their stored ones.
func (h *Handler) addDerivedLatest(ctx context.Context, page []*sensorLatest, types []dtbase.SensorType, latest []dtbase.LatestReading) error {
	sensors := make([]derivedSensor, len(page))
	onPage := make(map[string]int, len(page))
	for i, sl := range page {
		sensors[i] = derivedSensor{uid: sl.Sensor, typeName: sl.Type, latest: map[string]dtbase.Reading{}}
		onPage[sl.Sensor] = i
	}
	for _, l := range latest {
		if i, ok := onPage[l.UniqueIdentifier]; ok {
			sensors[i].latest[l.MeasureName] = l.Reading
		}
	}
	rows, err := h.derivedLatest(ctx, sensors, types)
	if err != nil {
		return err
	}
	bySensor := map[string]*sensorLatest{}
	for _, sl := range page {
		bySensor[sl.Sensor] = sl
	}
	for _, row := range rows {
		sl := bySensor[row.Sensor]
		sl.Rows = append(sl.Rows, row)
	}
	return nil
}
