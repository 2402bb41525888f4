package quality

import (
	"context"
	"time"

	"github.com/dtbase/dtbase"
)

// Row is the quality of one measure of one sensor, for overviews.
type Row struct {
	UniqueIdentifier string
	MeasureName      string
	MeasureUnits     *string
	Report           *Report
}

// Store is what an overview reads.
type Store interface {
	dtbase.SensorStore
	dtbase.ReadingStore
	dtbase.MeasureRangeStore
}

// Overview checks every numeric measure of the sensors named by uids (all
// sensors when uids is nil) over [from, to], in sensor then measure order:
// the rows of the calendar heat-map.
func Overview(ctx context.Context, store Store, uids []string, from, to time.Time, opt Options) ([]Row, error) {
	if uids == nil {
		sensors, err := store.FindSensors(ctx, dtbase.SensorFilter{})
		if err != nil {
			return nil, err
		}
		for _, s := range sensors {
			uids = append(uids, s.UniqueIdentifier)
		}
	}
	types, err := store.ListSensorTypes(ctx)
	if err != nil {
		return nil, err
	}
	measuresOf := map[string][]dtbase.Measure{}
	for _, t := range types {
		measuresOf[t.Name] = t.Measures
	}
	out := []Row{}
	for _, uid := range uids {
		d, err := store.FindSensorDetails(ctx, uid)
		if err != nil {
			return nil, err
		}
		for _, ms := range measuresOf[d.TypeName] {
			if ms.Datatype != dtbase.Float && ms.Datatype != dtbase.Integer {
				continue
			}
			m, err := store.FindReadingMeasure(ctx, uid, ms.Name, ms.Units)
			if err != nil {
				return nil, err
			}
			o := opt
			if o.Range, err = store.FindMeasureRange(ctx, m.MeasureID); err != nil {
				return nil, err
			}
			rep, err := Check(ctx, store, m, from, to, o)
			if err != nil {
				return nil, err
			}
			out = append(out, Row{uid, ms.Name, ms.Units, rep})
		}
	}
	return out, nil
}
