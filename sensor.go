package dtbase

import (
	"context"
	"time"
)

// Measure is a quantity a sensor type measures, such as temperature in °C.
// Measures are shared between sensor types and identified by (Name, Units);
// a nil Units equals another nil Units.
type Measure struct {
	ID       int64
	Name     string
	Units    *string
	Datatype Datatype
}

// SensorType is a kind of sensor and the measures it reports.
type SensorType struct {
	ID          int64
	Name        string
	Description *string
	Measures    []Measure // in the order they were linked
}

// Sensor is one physical or virtual sensor, known by its unique identifier.
type Sensor struct {
	ID               int64
	UniqueIdentifier string
	Name             *string
	Notes            *string
	TypeName         string
	Created          time.Time

	// Location is the current placement, set only by finds that ask for it:
	// the newest placement installed no later than now, nil if none.
	Location *SensorPlacement
}

// SensorPlacement is a sensor's location from its installation time on, an
// entry of its location history.
type SensorPlacement struct {
	Location  Location
	Installed time.Time
}

// SensorDetails is a sensor with its type and its location history.
type SensorDetails struct {
	Sensor
	Type SensorType
	// History holds every placement, newest first. Sensor.Location is the
	// current one.
	History []SensorPlacement
}

// SensorFilter selects sensors. Nil fields do not filter.
type SensorFilter struct {
	TypeName *string
	// WithLocation fills in each sensor's current placement.
	WithLocation bool
}

// SensorUpdate holds the editable fields of a sensor.
type SensorUpdate struct {
	Name  *string
	Notes *string
}

// SensorStore keeps sensor types, their measures, sensors and where sensors
// are placed. Unknown names are ENOTFOUND, duplicates and rows still in use
// ECONFLICT.
type SensorStore interface {
	// CreateSensorType creates a type and links its measures, creating each
	// measure or reusing the one with the same name and units (its datatype
	// then wins), all in one transaction. It sets the IDs. EINVALID for an
	// unknown datatype; ECONFLICT if the name is taken or a measure is
	// listed twice.
	CreateSensorType(ctx context.Context, t *SensorType) error
	// ListSensorTypes returns every type in id order with its measures.
	ListSensorTypes(ctx context.Context) ([]SensorType, error)
	// DeleteSensorType deletes a type and its measure links (the measures
	// remain); ENOTFOUND if there is none, ECONFLICT while sensors have it.
	DeleteSensorType(ctx context.Context, name string) error
	// ListMeasures returns every sensor measure in id order.
	ListMeasures(ctx context.Context) ([]Measure, error)

	// CreateSensor adds a sensor of the type named by s.TypeName and sets
	// its ID. ENOTFOUND for an unknown type, ECONFLICT if the unique
	// identifier is taken.
	CreateSensor(ctx context.Context, s *Sensor) error
	// FindSensors returns the sensors matching f in id order; an unknown type
	// has none.
	FindSensors(ctx context.Context, f SensorFilter) ([]Sensor, error)
	// FindSensorDetails returns a sensor with its type, its current location
	// and its location history; ENOTFOUND if there is none.
	FindSensorDetails(ctx context.Context, uniqueIdentifier string) (*SensorDetails, error)
	// UpdateSensor sets the non-nil fields of upd; ENOTFOUND if there is no
	// such sensor.
	UpdateSensor(ctx context.Context, uniqueIdentifier string, upd SensorUpdate) error
	// DeleteSensor deletes a sensor with its readings and placements;
	// ENOTFOUND if there is none, ECONFLICT while a model run refers to it.
	DeleteSensor(ctx context.Context, uniqueIdentifier string) error

	// CreateSensorPlacement records that a sensor is at a location from
	// installed on; a zero installed means now. coords may be any subset of the schema's identifiers
	// that matches exactly one location of the schema. ENOTFOUND for an
	// unknown sensor, schema or location; EINVALID for coordinates that do
	// not fit the schema or match several locations; ECONFLICT if the sensor
	// already has a placement installed at that instant.
	CreateSensorPlacement(ctx context.Context, uniqueIdentifier, schema string, coords Coordinates, installed time.Time) (*SensorPlacement, error)
	// ListSensorPlacements returns a sensor's location history, newest
	// first; none for an unknown sensor.
	ListSensorPlacements(ctx context.Context, uniqueIdentifier string) ([]SensorPlacement, error)
}

// Validate checks the measure's text against MaxNameLen and MaxUnitsLen;
// EINVALID naming the field.
func (m *Measure) Validate() error { return checkNameUnits("", m.Name, m.Units) }

// Validate checks the type's text and its measures' against the limits;
// EINVALID naming the field.
func (t *SensorType) Validate() error {
	return checkDescribedList(t.Name, t.Description, "measures", t.Measures, func(m Measure) (string, *string) { return m.Name, m.Units })
}

// Validate checks the sensor's text against the limits; EINVALID naming
// the field.
func (s *Sensor) Validate() error {
	return firstErr(
		checkLen("unique_identifier", s.UniqueIdentifier, MaxNameLen),
		checkLen("type_name", s.TypeName, MaxNameLen),
		checkLenPtr("name", s.Name, MaxNameLen),
		checkLenPtr("notes", s.Notes, MaxNotesLen),
	)
}

// Validate checks the new name and notes against the limits; EINVALID
// naming the field.
func (u *SensorUpdate) Validate() error {
	return firstErr(checkLenPtr("name", u.Name, MaxNameLen), checkLenPtr("notes", u.Notes, MaxNotesLen))
}
