package api

import (
	"context"
	"net/http"
	"time"

	"github.com/dtbase/dtbase"
)

// The location tree: extensions in the style of the flat /location/
// endpoints, which ignore the tree.

type setParentRequest struct {
	LocationID int64  `json:"location_id"`
	ParentID   *int64 `json:"parent_id"`
}

type locationIDRequest struct {
	LocationID int64 `json:"location_id"`
}

type subtreeSensorsRequest struct {
	LocationID int64      `json:"location_id"`
	At         *time.Time `json:"at" dt:"optional"`
}

type subtreeReadingsRequest struct {
	LocationID   int64     `json:"location_id"`
	MeasureName  string    `json:"measure_name" dt:"max=name"`
	MeasureUnits *string   `json:"measure_units" dt:"optional,max=units"`
	DtFrom       time.Time `json:"dt_from"`
	DtTo         time.Time `json:"dt_to"`
}

type locationNodeOut struct {
	locationInfo
	ParentID *int64 `json:"parent_id"`
	// Sensors are placed at this location now; SensorsTotal counts those
	// at it or anywhere under it.
	Sensors      []string `json:"sensors"`
	SensorsTotal int      `json:"sensors_total"`
}

type placedSensorOut struct {
	UniqueIdentifier     string      `json:"unique_identifier"`
	TypeName             string      `json:"type_name"`
	LocationID           int64       `json:"location_id"`
	InstallationDatetime dtbase.Time `json:"installation_datetime"`
}

type sensorSeriesOut struct {
	UniqueIdentifier string         `json:"unique_identifier"`
	Readings         []readingPoint `json:"readings"`
}

func (s *Server) locationTreeRoutes() {
	handle(s, http.MethodPost, "/location/set-location-parent", dtbase.RoleEditor, http.StatusOK,
		"Put a location, with everything under it, under another location (parent_id null: make it a root)",
		s.setLocationParent).description = "Locations of any schemas form a tree. A parent that is the location itself " +
		"or one of its descendants gives a 422 naming parent_id."
	handle(s, http.MethodGet, "/location/location-tree", dtbase.RoleViewer, http.StatusOK,
		"Every location with its parent, the sensors placed at it now and the count under it", s.locationTree)
	handle(s, http.MethodPost, "/location/subtree-sensors", dtbase.RoleViewer, http.StatusOK,
		"The sensors placed at a location or anywhere under it, now or at a time", s.subtreeSensors)
	handle(s, http.MethodPost, "/location/subtree-latest-readings", dtbase.RoleViewer, http.StatusOK,
		"The newest reading of every measure of the sensors placed now at a location or under it", s.subtreeLatestReadings)
	handle(s, http.MethodPost, "/location/subtree-readings", dtbase.RoleViewer, http.StatusOK,
		"Readings of one measure of every sensor placed now at a location or under it", s.subtreeReadings).description =
		"Sensors whose type lacks the measure are left out; each sensor's readings are in timestamp order."
}

func (s *Server) setLocationParent(ctx context.Context, req *setParentRequest) (detail, error) {
	return done(fieldError422(s.store.SetLocationParent(ctx, req.LocationID, req.ParentID), req.ParentID), "Location moved")
}

func (s *Server) locationTree(ctx context.Context, _ *noBody) ([]locationNodeOut, error) {
	nodes, err := s.store.LocationTree(ctx)
	if err != nil {
		return nil, err
	}
	counts := dtbase.TreeCounts(nodes)
	return each(nodes, func(n dtbase.LocationNode) locationNodeOut {
		return locationNodeOut{locationInfoOf(n.Location), n.ParentID, n.Sensors, counts[n.ID]}
	}), nil
}

func (s *Server) subtreeSensors(ctx context.Context, req *subtreeSensorsRequest) ([]placedSensorOut, error) {
	at := time.Now()
	setGiven(&at, req.At)
	ps, err := s.store.SensorsUnder(ctx, req.LocationID, at)
	if err != nil {
		return nil, err
	}
	return each(ps, func(p dtbase.PlacedSensor) placedSensorOut {
		return placedSensorOut{p.UniqueIdentifier, p.TypeName, p.LocationID, dtbase.Time(p.Installed)}
	}), nil
}

// sensorsUnderNow returns the unique identifiers of the sensors placed at
// a location or under it now.
func (s *Server) sensorsUnderNow(ctx context.Context, id int64) ([]string, error) {
	ps, err := s.store.SensorsUnder(ctx, id, time.Now())
	if err != nil {
		return nil, err
	}
	return each(ps, func(p dtbase.PlacedSensor) string { return p.UniqueIdentifier }), nil
}

func (s *Server) subtreeLatestReadings(ctx context.Context, req *locationIDRequest) ([]readingLatestOut, error) {
	uids, err := s.sensorsUnderNow(ctx, req.LocationID)
	if err != nil {
		return nil, err
	}
	out := []readingLatestOut{}
	if len(uids) == 0 {
		return out, nil
	}
	rows, err := s.store.LatestReadings(ctx, dtbase.LatestReadingFilter{UniqueIdentifiers: uids})
	if err != nil {
		return nil, err
	}
	for _, l := range rows {
		out = append(out, readingLatestOut{l.UniqueIdentifier, l.MeasureName, l.MeasureUnits, l.Datatype, l.Value, dtbase.Time(l.Time)})
	}
	return out, nil
}

func (s *Server) subtreeReadings(ctx context.Context, req *subtreeReadingsRequest) ([]sensorSeriesOut, error) {
	uids, err := s.sensorsUnderNow(ctx, req.LocationID)
	if err != nil {
		return nil, err
	}
	out := []sensorSeriesOut{}
	for _, uid := range uids {
		m, err := s.store.FindReadingMeasure(ctx, uid, req.MeasureName, req.MeasureUnits)
		if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			continue // this sensor's type lacks the measure
		}
		if err != nil {
			return nil, err
		}
		series := sensorSeriesOut{UniqueIdentifier: uid, Readings: []readingPoint{}}
		err = s.store.ScanReadings(ctx, m, req.DtFrom, req.DtTo, func(r dtbase.Reading) error {
			series.Readings = append(series.Readings, pointOf(r))
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, series)
	}
	return out, nil
}
