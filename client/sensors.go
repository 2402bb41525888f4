package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// SensorMeasure is a measure sensors report, identified by (name, units).
// Units may be nil.
type SensorMeasure struct {
	Name     string   `json:"name"`
	Units    *string  `json:"units"`
	Datatype Datatype `json:"datatype"`
}

// SensorType is a kind of sensor and the measures it reports.
type SensorType struct {
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Measures    []SensorMeasure `json:"measures"`
}

// Sensor is a sensor as listed by ListSensors; Name and Notes may be nil.
type Sensor struct {
	UniqueIdentifier string  `json:"unique_identifier"`
	Name             *string `json:"name"`
	Notes            *string `json:"notes"`
}

// NewSensor is the body of InsertSensor.
type NewSensor struct {
	TypeName         string  `json:"type_name"`
	UniqueIdentifier string  `json:"unique_identifier"`
	Name             *string `json:"name,omitempty"`
	Notes            *string `json:"notes,omitempty"`
}

// SensorLocation is an entry of a sensor's location history.
type SensorLocation struct {
	ID                   int64 // the location's id
	Coordinates          Coordinates
	InstallationDatetime time.Time
}

// UnmarshalJSON reads {"id", "<identifier>": value..., "installation_datetime"}.
func (l *SensorLocation) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	rawTime := raw["installation_datetime"]
	delete(raw, "installation_datetime")
	loc, err := decodeLocation(raw)
	if err != nil {
		return err
	}
	t, err := decodeTime(rawTime)
	*l = SensorLocation{loc.ID, loc.Coordinates, t}
	return err
}

// InsertSensorType creates a sensor type, creating or reusing its measures
// (/sensor/insert-sensor-type). An existing name is a 409.
func (c *Client) InsertSensorType(ctx context.Context, t SensorType) error {
	if t.Measures == nil {
		t.Measures = []SensorMeasure{}
	}
	return c.call(ctx, http.MethodPost, "/sensor/insert-sensor-type", t, http.StatusCreated, nil)
}

// InsertSensor creates a sensor of an existing type (/sensor/insert-sensor).
// An existing unique identifier is a 409.
func (c *Client) InsertSensor(ctx context.Context, s NewSensor) error {
	return c.call(ctx, http.MethodPost, "/sensor/insert-sensor", s, http.StatusCreated, nil)
}

// NewSensorLocation is the body of InsertSensorLocation. A nil
// InstallationDatetime means now.
type NewSensorLocation struct {
	UniqueIdentifier     string
	SchemaName           string
	Coordinates          Coordinates
	InstallationDatetime *time.Time
}

// InsertSensorLocation records that a sensor was installed at a location
// (/sensor/insert-sensor-location).
func (c *Client) InsertSensorLocation(ctx context.Context, l NewSensorLocation) error {
	req := struct {
		UniqueIdentifier     string      `json:"unique_identifier"`
		SchemaName           string      `json:"schema_name"`
		Coordinates          Coordinates `json:"coordinates"`
		InstallationDatetime *wireTime   `json:"installation_datetime,omitempty"`
	}{UniqueIdentifier: l.UniqueIdentifier, SchemaName: l.SchemaName, Coordinates: nonNilCoords(l.Coordinates)}
	if l.InstallationDatetime != nil {
		req.InstallationDatetime = &wireTime{l.InstallationDatetime}
	}
	return c.call(ctx, http.MethodPost, "/sensor/insert-sensor-location", req, http.StatusCreated, nil)
}

// ListSensorLocations returns a sensor's location history, newest first
// (/sensor/list-sensor-locations).
func (c *Client) ListSensorLocations(ctx context.Context, uniqueIdentifier string) ([]SensorLocation, error) {
	return list[SensorLocation](ctx, c, http.MethodPost, "/sensor/list-sensor-locations",
		map[string]string{"unique_identifier": uniqueIdentifier})
}

// Readings is a series for one sensor and measure: the body of
// InsertSensorReadings. MeasureUnits (an extension) picks the measure when
// the sensor's type has two measures of that name.
type Readings struct {
	UniqueIdentifier string
	MeasureName      string
	MeasureUnits     *string
	Values           []Value
	Timestamps       []time.Time
}

type readingsBody struct {
	MeasureName      string     `json:"measure_name"`
	MeasureUnits     *string    `json:"measure_units,omitempty"`
	UniqueIdentifier string     `json:"unique_identifier"`
	Readings         wireValues `json:"readings"`
	Timestamps       wireTimes  `json:"timestamps"`
}

func (r Readings) body() readingsBody {
	return readingsBody{r.MeasureName, r.MeasureUnits, r.UniqueIdentifier, r.Values, r.Timestamps}
}

// InsertSensorReadings stores a series (/sensor/insert-sensor-readings).
// Readings whose timestamp is already stored are skipped. Every value is
// checked against the measure's datatype; a mismatch is a 400 and nothing
// is stored.
func (c *Client) InsertSensorReadings(ctx context.Context, r Readings) error {
	return c.call(ctx, http.MethodPost, "/sensor/insert-sensor-readings", r.body(), http.StatusCreated, nil)
}

// ListSensors lists sensors, of one type when typeName is not ""
// (/sensor/list-sensors).
func (c *Client) ListSensors(ctx context.Context, typeName string) ([]Sensor, error) {
	return list[Sensor](ctx, c, http.MethodPost, "/sensor/list-sensors", typeFilter{typeName})
}

// typeFilter selects the sensors of one type; "" selects all.
type typeFilter struct {
	TypeName string `json:"type_name,omitempty"`
}

// ListSensorTypes lists every sensor type with its measures
// (/sensor/list-sensor-types).
func (c *Client) ListSensorTypes(ctx context.Context) ([]SensorType, error) {
	return list[SensorType](ctx, c, http.MethodGet, "/sensor/list-sensor-types", nil)
}

// ListMeasures lists every sensor measure (/sensor/list-measures).
func (c *Client) ListMeasures(ctx context.Context) ([]SensorMeasure, error) {
	return list[SensorMeasure](ctx, c, http.MethodGet, "/sensor/list-measures", nil)
}

// ReadingsQuery selects a sensor's readings of one measure between From and
// To, both included.
type ReadingsQuery struct {
	UniqueIdentifier string
	MeasureName      string
	MeasureUnits     *string // an extension: needed only when the name is ambiguous
	From, To         time.Time
}

// SensorReadings returns a series in timestamp order (/sensor/sensor-readings).
func (c *Client) SensorReadings(ctx context.Context, q ReadingsQuery) ([]Reading, error) {
	return list[Reading](ctx, c, http.MethodPost, "/sensor/sensor-readings", q.request())
}

// readingsRequest is the body of a read of a range of readings.
type readingsRequest struct {
	MeasureName      string   `json:"measure_name"`
	MeasureUnits     *string  `json:"measure_units,omitempty"`
	UniqueIdentifier string   `json:"unique_identifier"`
	DtFrom           wireTime `json:"dt_from"`
	DtTo             wireTime `json:"dt_to"`
}

func (q ReadingsQuery) request() readingsRequest {
	return readingsRequest{q.MeasureName, q.MeasureUnits, q.UniqueIdentifier, wireTime{&q.From}, wireTime{&q.To}}
}

// DeleteSensor deletes a sensor with its readings and location history
// (/sensor/delete-sensor).
func (c *Client) DeleteSensor(ctx context.Context, uniqueIdentifier string) error {
	return c.call(ctx, http.MethodPost, "/sensor/delete-sensor",
		map[string]string{"unique_identifier": uniqueIdentifier}, http.StatusOK, nil)
}

// DeleteSensorType deletes a sensor type that no sensor has
// (/sensor/delete-sensor-type).
func (c *Client) DeleteSensorType(ctx context.Context, typeName string) error {
	return c.call(ctx, http.MethodPost, "/sensor/delete-sensor-type",
		map[string]string{"type_name": typeName}, http.StatusOK, nil)
}

// EditSensor sets a sensor's name and notes (/sensor/edit-sensor).
func (c *Client) EditSensor(ctx context.Context, uniqueIdentifier, name, notes string) error {
	return c.call(ctx, http.MethodPost, "/sensor/edit-sensor",
		map[string]string{"unique_identifier": uniqueIdentifier, "name": name, "notes": notes}, http.StatusOK, nil)
}
