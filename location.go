package dtbase

import "context"

// Identifier is a named, typed coordinate of a location, such as x (float,
// m) or zone (string). Identifiers are shared between schemas and are
// identified by (Name, Units); a nil Units equals another nil Units.
type Identifier struct {
	ID       int64
	Name     string
	Units    *string
	Datatype Datatype
}

// LocationSchema is a named set of identifiers. Every location of a schema
// has exactly one value per identifier.
type LocationSchema struct {
	ID          int64
	Name        string
	Description *string
	// Identifiers in the schema's order: alphabetical by name for schemas
	// created through the API, as the original orders them.
	Identifiers []Identifier
}

// IdentifierNames returns the names of the schema's identifiers in order.
func (s *LocationSchema) IdentifierNames() []string {
	out := make([]string, len(s.Identifiers))
	for i, id := range s.Identifiers {
		out[i] = id.Name
	}
	return out
}

// Coordinates are the values of a location keyed by identifier name, as
// clients send them. Within a schema, names are unique.
type Coordinates map[string]Value

// Location is a point of a schema: one value per identifier of the schema.
type Location struct {
	ID     int64
	Schema string // the schema's name
	// Identifiers are the schema's identifiers in order; Values is aligned
	// with it and holds each value in its identifier's datatype.
	Identifiers []Identifier
	Values      []Value
}

// Coordinates returns the location's values keyed by identifier name.
func (l *Location) Coordinates() Coordinates {
	out := make(Coordinates, len(l.Identifiers))
	for i, id := range l.Identifiers {
		out[id.Name] = l.Values[i]
	}
	return out
}

// ReservedIdentifierNames are names an identifier may not have, because the
// original's location listings already use them as keys.
var ReservedIdentifierNames = []string{"id", "installation_datetime"}

// LocationStore keeps location schemas, their identifiers and locations.
// Unknown schemas are ENOTFOUND, coordinates that do not fit a schema
// (unknown or missing keys, a value of the wrong datatype) EINVALID, and
// duplicates or rows still in use ECONFLICT.
type LocationStore interface {
	// CreateLocationSchema creates a schema and sets its ID and its
	// identifiers' IDs. Identifiers are created, or reused when one with the
	// same name and units exists (its datatype then wins). Identifiers are
	// stored in alphabetical order. EINVALID for an unknown datatype or a
	// reserved identifier name; ECONFLICT if the name is taken or an
	// identifier name is listed twice.
	CreateLocationSchema(ctx context.Context, s *LocationSchema) error
	// FindLocationSchema returns a schema with its identifiers; ENOTFOUND if
	// there is none.
	FindLocationSchema(ctx context.Context, name string) (*LocationSchema, error)
	// ListLocationSchemas returns every schema, those without identifiers
	// included, in id order, each with its identifiers in order.
	ListLocationSchemas(ctx context.Context) ([]LocationSchema, error)
	// ListLocationIdentifiers returns every identifier in id order.
	ListLocationIdentifiers(ctx context.Context) ([]Identifier, error)
	// DeleteLocationSchema deletes a schema; ENOTFOUND if there is none,
	// ECONFLICT while locations use it. Its identifiers remain.
	DeleteLocationSchema(ctx context.Context, name string) error

	// CreateLocation adds a location to a schema. coords must name every
	// identifier of the schema, each value in its datatype (a float
	// identifier accepts integer literals). ENOTFOUND for an unknown schema,
	// EINVALID for coordinates that do not fit it, ECONFLICT if the schema
	// has a location with these coordinates.
	CreateLocation(ctx context.Context, schema string, coords Coordinates) (*Location, error)
	// CreateLocationWithIdentifiers is the original's insert-location: it
	// creates or reuses the identifiers, and the schema named after their
	// sorted names joined by "-", and adds the location whose i-th value is
	// values[i]. An existing schema of that name is reused when it has the
	// same identifiers. EINVALID when the lengths differ or a value does not
	// fit; ECONFLICT if the location exists or the schema name is taken by a
	// schema with other identifiers.
	CreateLocationWithIdentifiers(ctx context.Context, identifiers []Identifier, values []Value) (*Location, error)
	// FindLocations returns the locations of a schema in id order, only those
	// matching filter when it is non-empty. An unknown schema has no
	// locations. EINVALID for filter keys the schema lacks or values of the
	// wrong datatype.
	FindLocations(ctx context.Context, schema string, filter Coordinates) ([]Location, error)
	// DeleteLocation deletes the location of a schema with exactly these
	// coordinates, which must name every identifier. ENOTFOUND for an
	// unknown schema or location, EINVALID for coordinates that do not fit,
	// ECONFLICT while a sensor placement refers to the location.
	DeleteLocation(ctx context.Context, schema string, coords Coordinates) error
	// UpdateLocation changes the values of the location identified by
	// coords (every identifier) to those given in update (any subset), and
	// returns the updated location. Errors as DeleteLocation, and ECONFLICT
	// if another location of the schema has the new coordinates.
	UpdateLocation(ctx context.Context, schema string, coords, update Coordinates) (*Location, error)
}

// Validate checks the identifier's text against MaxNameLen and MaxUnitsLen;
// EINVALID naming the field.
func (id *Identifier) Validate() error { return checkNameUnits("", id.Name, id.Units) }

// Validate checks the schema's text and its identifiers' against the
// limits; EINVALID naming the field.
func (s *LocationSchema) Validate() error {
	return checkDescribedList(s.Name, s.Description, "identifiers", s.Identifiers, func(id Identifier) (string, *string) { return id.Name, id.Units })
}
