package api

import (
	"context"
	"net/http"
	"time"

	"github.com/dtbase/dtbase"
)

type sensorTypeBody struct {
	Name        string           `json:"name" dt:"max=name"`
	Description *string          `json:"description" dt:"max=description"`
	Measures    []identifierBody `json:"measures"`
}

type insertSensorTypeRequest struct {
	Name        string           `json:"name" dt:"max=name"`
	Description *string          `json:"description" dt:"optional,max=description"`
	Measures    []identifierBody `json:"measures"`
}

type insertSensorRequest struct {
	TypeName         string  `json:"type_name" dt:"max=name"`
	UniqueIdentifier string  `json:"unique_identifier" dt:"max=name"`
	Name             *string `json:"name" dt:"optional,max=name"`
	Notes            *string `json:"notes" dt:"optional,max=notes"`
}

type insertSensorLocationRequest struct {
	UniqueIdentifier     string                  `json:"unique_identifier" dt:"max=name"`
	SchemaName           string                  `json:"schema_name" dt:"max=name"`
	Coordinates          map[string]dtbase.Value `json:"coordinates"`
	InstallationDatetime time.Time               `json:"installation_datetime" dt:"optional"`
}

type uniqueIdentifierRequest struct {
	UniqueIdentifier string `json:"unique_identifier" dt:"max=name"`
}

type listSensorsRequest struct {
	TypeName *string `json:"type_name" dt:"optional,max=name"`
}

type typeNameRequest struct {
	TypeName string `json:"type_name" dt:"max=name"`
}

type editSensorRequest struct {
	UniqueIdentifier string `json:"unique_identifier" dt:"max=name"`
	Name             string `json:"name" dt:"max=name"`
	Notes            string `json:"notes" dt:"max=notes"`
}

// sensorBody is an entry of list-sensors.
type sensorBody struct {
	UniqueIdentifier string  `json:"unique_identifier"`
	Name             *string `json:"name"`
	Notes            *string `json:"notes" dt:"max=notes"`
}

// placementInfo is an entry of a sensor's location history in our
// extensions' shape.
type placementInfo struct {
	Location             locationInfo `json:"location"`
	InstallationDatetime dtbase.Time  `json:"installation_datetime"`
}

func placementInfoOf(p *dtbase.SensorPlacement) *placementInfo {
	if p == nil {
		return nil
	}
	return &placementInfo{locationInfoOf(p.Location), dtbase.Time(p.Installed)}
}

// sensorDetailsBody is an entry of list-sensors-details: a sensor with its
// type and where it is now.
type sensorDetailsBody struct {
	UniqueIdentifier string         `json:"unique_identifier"`
	Name             *string        `json:"name"`
	Notes            *string        `json:"notes" dt:"max=notes"`
	TypeName         string         `json:"type_name"`
	TimeCreated      dtbase.Time    `json:"time_created"`
	CurrentLocation  *placementInfo `json:"current_location"`
}

// getSensorResponse is the answer of get-sensor.
type getSensorResponse struct {
	UniqueIdentifier string           `json:"unique_identifier"`
	Name             *string          `json:"name"`
	Notes            *string          `json:"notes" dt:"max=notes"`
	TimeCreated      dtbase.Time      `json:"time_created"`
	Type             sensorTypeBody   `json:"type"`
	CurrentLocation  *placementInfo   `json:"current_location"`
	LocationHistory  []*placementInfo `json:"location_history"`
}

func typeBody(t dtbase.SensorType) sensorTypeBody {
	return sensorTypeBody{t.Name, t.Description, measureBodies(t.Measures)}
}

func measureBodies(ms []dtbase.Measure) []identifierBody {
	return each(ms, func(m dtbase.Measure) identifierBody {
		return identifierBody{m.Name, m.Units, string(m.Datatype)}
	})
}

func (s *Server) sensorRoutes() {
	handle(s, http.MethodPost, "/sensor/insert-sensor-type", dtbase.RoleEditor, http.StatusCreated,
		"Create a sensor type; measures with the same name and units are reused", s.insertSensorType)
	handle(s, http.MethodPost, "/sensor/insert-sensor", dtbase.RoleEditor, http.StatusCreated,
		"Create a sensor of an existing type", s.insertSensor)
	handle(s, http.MethodPost, "/sensor/insert-sensor-location", dtbase.RoleEditor, http.StatusCreated,
		"Place a sensor at a location from installation_datetime (default now) on", s.insertSensorLocation)
	handle(s, http.MethodPost, "/sensor/list-sensor-locations", dtbase.RoleViewer, http.StatusOK,
		"List a sensor's location history, newest first", s.listSensorLocations)
	handle(s, http.MethodPost, "/sensor/list-sensors", dtbase.RoleViewer, http.StatusOK,
		"List sensors, optionally of one type", s.listSensors)
	handle(s, http.MethodGet, "/sensor/list-sensor-types", dtbase.RoleViewer, http.StatusOK,
		"List every sensor type with its measures", s.listSensorTypes)
	handle(s, http.MethodGet, "/sensor/list-measures", dtbase.RoleViewer, http.StatusOK,
		"List every sensor measure", s.listMeasures)
	handle(s, http.MethodPost, "/sensor/delete-sensor", dtbase.RoleEditor, http.StatusOK,
		"Delete a sensor with its readings and location history", s.deleteSensor)
	handle(s, http.MethodPost, "/sensor/delete-sensor-type", dtbase.RoleEditor, http.StatusOK,
		"Delete a sensor type that no sensor has", s.deleteSensorType)
	handle(s, http.MethodPost, "/sensor/edit-sensor", dtbase.RoleEditor, http.StatusOK,
		"Set a sensor's name and notes", s.editSensor)

	// Our extensions.
	rt := handle(s, http.MethodPost, "/sensor/get-sensor", dtbase.RoleViewer, http.StatusOK,
		"Get a sensor with its type, current location and location history", s.getSensor)
	rt.description = "Our extension. `current_location` is the newest placement installed no later than now (null if none); `location_history` lists every placement, newest first."
	rt = handle(s, http.MethodPost, "/sensor/list-sensors-details", dtbase.RoleViewer, http.StatusOK,
		"List sensors with their type and current location, optionally of one type", s.listSensorsDetails)
	rt.description = "Our extension. Like list-sensors, with each sensor's type and current location (null if it has none)."
}

func (s *Server) insertSensorType(ctx context.Context, req *insertSensorTypeRequest) (detail, error) {
	t := &dtbase.SensorType{Name: req.Name, Description: req.Description, Measures: make([]dtbase.Measure, len(req.Measures))}
	for i, m := range req.Measures {
		t.Measures[i] = dtbase.Measure{Name: m.Name, Units: m.Units, Datatype: dtbase.Datatype(m.Datatype)}
	}
	return done(s.store.CreateSensorType(ctx, t), "Sensor type inserted")
}

func (s *Server) insertSensor(ctx context.Context, req *insertSensorRequest) (detail, error) {
	x := &dtbase.Sensor{UniqueIdentifier: req.UniqueIdentifier, TypeName: req.TypeName, Name: req.Name, Notes: req.Notes}
	return done(s.store.CreateSensor(ctx, x), "Sensor inserted")
}

func (s *Server) insertSensorLocation(ctx context.Context, req *insertSensorLocationRequest) (detail, error) {
	_, err := s.store.CreateSensorPlacement(ctx, req.UniqueIdentifier, req.SchemaName, req.Coordinates, req.InstallationDatetime)
	return done(err, "Sensor location inserted")
}

func (s *Server) listSensorLocations(ctx context.Context, req *uniqueIdentifierRequest) ([]locationRow, error) {
	ps, err := s.store.ListSensorPlacements(ctx, req.UniqueIdentifier)
	return each(ps, func(p dtbase.SensorPlacement) locationRow {
		return locationRow{loc: p.Location, installed: &p.Installed}
	}), err
}

func (s *Server) listSensors(ctx context.Context, req *listSensorsRequest) ([]sensorBody, error) {
	sensors, err := s.store.FindSensors(ctx, dtbase.SensorFilter{TypeName: req.TypeName})
	return each(sensors, func(x dtbase.Sensor) sensorBody {
		return sensorBody{x.UniqueIdentifier, x.Name, x.Notes}
	}), err
}

func (s *Server) listSensorTypes(ctx context.Context, _ *noBody) ([]sensorTypeBody, error) {
	types, err := s.store.ListSensorTypes(ctx)
	return each(types, typeBody), err
}

func (s *Server) listMeasures(ctx context.Context, _ *noBody) ([]identifierBody, error) {
	ms, err := s.store.ListMeasures(ctx)
	return measureBodies(ms), err
}

func (s *Server) deleteSensor(ctx context.Context, req *uniqueIdentifierRequest) (detail, error) {
	return done(s.store.DeleteSensor(ctx, req.UniqueIdentifier), "Sensor deleted")
}

func (s *Server) deleteSensorType(ctx context.Context, req *typeNameRequest) (detail, error) {
	return done(s.store.DeleteSensorType(ctx, req.TypeName), "Sensor type deleted")
}

func (s *Server) editSensor(ctx context.Context, req *editSensorRequest) (detail, error) {
	return done(s.store.UpdateSensor(ctx, req.UniqueIdentifier, dtbase.SensorUpdate{Name: &req.Name, Notes: &req.Notes}), "Sensor edited")
}

func (s *Server) getSensor(ctx context.Context, req *uniqueIdentifierRequest) (getSensorResponse, error) {
	d, err := s.store.FindSensorDetails(ctx, req.UniqueIdentifier)
	if err != nil {
		return getSensorResponse{}, err
	}
	out := getSensorResponse{UniqueIdentifier: d.UniqueIdentifier, Name: d.Name, Notes: d.Notes,
		TimeCreated: dtbase.Time(d.Created), Type: typeBody(d.Type), CurrentLocation: placementInfoOf(d.Location),
		LocationHistory: make([]*placementInfo, len(d.History))}
	for i := range d.History {
		out.LocationHistory[i] = placementInfoOf(&d.History[i])
	}
	return out, nil
}

func (s *Server) listSensorsDetails(ctx context.Context, req *listSensorsRequest) ([]sensorDetailsBody, error) {
	sensors, err := s.store.FindSensors(ctx, dtbase.SensorFilter{TypeName: req.TypeName, WithLocation: true})
	return each(sensors, func(x dtbase.Sensor) sensorDetailsBody {
		return sensorDetailsBody{x.UniqueIdentifier, x.Name, x.Notes, x.TypeName, dtbase.Time(x.Created), placementInfoOf(x.Location)}
	}), err
}
