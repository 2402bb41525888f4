package api

import (
	"context"
	"net/http"
	"time"

	"github.com/dtbase/dtbase"
)

// identifierBody is a location identifier or a sensor measure as clients
// send and receive it. units is required but may be null.
type identifierBody struct {
	Name     string  `json:"name" dt:"max=name"`
	Units    *string `json:"units" dt:"max=units"`
	Datatype string  `json:"datatype"`
}

type locationSchemaBody struct {
	Name        string           `json:"name" dt:"max=name"`
	Description *string          `json:"description" dt:"max=description"`
	Identifiers []identifierBody `json:"identifiers"`
}

type insertLocationRequest struct {
	Identifiers []identifierBody `json:"identifiers"`
	Values      []dtbase.Value   `json:"values"`
}

type schemaNameResponse struct {
	SchemaName string `json:"schema_name"`
}

type coordinatesRequest struct {
	SchemaName  string                  `json:"schema_name" dt:"max=name"`
	Coordinates map[string]dtbase.Value `json:"coordinates"`
}

type listLocationsRequest struct {
	SchemaName  string                   `json:"schema_name" dt:"max=name"`
	Coordinates *map[string]dtbase.Value `json:"coordinates" dt:"optional"`
}

type schemaNameRequest struct {
	SchemaName string `json:"schema_name" dt:"max=name"`
}

type editLocationRequest struct {
	SchemaName     string                  `json:"schema_name" dt:"max=name"`
	Coordinates    map[string]dtbase.Value `json:"coordinates"`
	NewCoordinates map[string]dtbase.Value `json:"new_coordinates"`
}

func identifiersFrom(in []identifierBody) []dtbase.Identifier {
	return each(in, func(id identifierBody) dtbase.Identifier {
		return dtbase.Identifier{Name: id.Name, Units: id.Units, Datatype: dtbase.Datatype(id.Datatype)}
	})
}

func identifierBodies(in []dtbase.Identifier) []identifierBody {
	return each(in, func(id dtbase.Identifier) identifierBody {
		return identifierBody{id.Name, id.Units, string(id.Datatype)}
	})
}

func schemaBody(s dtbase.LocationSchema) locationSchemaBody {
	return locationSchemaBody{s.Name, s.Description, identifierBodies(s.Identifiers)}
}

// locationRow renders a location in the original's dict shape: "id" (the
// location's id), then one key per identifier of its schema in order, with
// the value in the identifier's JSON type, then "installation_datetime"
// when the row is an entry of a sensor's location history.
type locationRow struct {
	loc       dtbase.Location
	installed *time.Time
}

// MarshalJSON writes the keys in the schema's order.
func (l locationRow) MarshalJSON() ([]byte, error) {
	b := []byte(`{"id":`)
	b = dtbase.IntValue(l.loc.ID).AppendJSON(b)
	b = appendCoordinates(b, l.loc)
	if l.installed != nil {
		b = append(b, `,"installation_datetime":"`...)
		b = dtbase.AppendTime(b, *l.installed)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// openAPISchema describes the dynamic keys of a location row.
func (locationRow) openAPISchema() map[string]any {
	return map[string]any{"type": "object", "description": `"id", then one key per identifier of the location's schema, in order (then "installation_datetime" in a sensor's location history)`,
		"properties":           map[string]any{"id": map[string]any{"type": "integer"}},
		"additionalProperties": true}
}

// appendCoordinates appends ,"name":value for each identifier.
func appendCoordinates(b []byte, loc dtbase.Location) []byte {
	for i, id := range loc.Identifiers {
		b = append(b, ',')
		b = dtbase.StringValue(id.Name).AppendJSON(b)
		b = append(b, ':')
		b = loc.Values[i].AppendJSON(b)
	}
	return b
}

// coordinatesObject renders a location's values as an object in the
// schema's order.
type coordinatesObject struct{ loc dtbase.Location }

// MarshalJSON writes {"name":value,...} in the schema's order.
func (c coordinatesObject) MarshalJSON() ([]byte, error) {
	b := appendCoordinates(nil, c.loc)
	if len(b) > 0 {
		b[0] = '{' // replaces the leading comma
	} else {
		b = append(b, '{')
	}
	return append(b, '}'), nil
}

func (coordinatesObject) openAPISchema() map[string]any {
	return map[string]any{"type": "object", "description": "one key per identifier of the schema, in order",
		"additionalProperties": map[string]any{"anyOf": []any{map[string]any{"type": "number"}, map[string]any{"type": "integer"},
			map[string]any{"type": "boolean"}, map[string]any{"type": "string"}}}}
}

// locationInfo is a location in our extensions' shape: its schema and its
// coordinates as an object.
type locationInfo struct {
	ID          int64             `json:"id"`
	SchemaName  string            `json:"schema_name"`
	Coordinates coordinatesObject `json:"coordinates"`
}

func locationInfoOf(l dtbase.Location) locationInfo {
	return locationInfo{l.ID, l.Schema, coordinatesObject{l}}
}

func (s *Server) locationRoutes() {
	handle(s, http.MethodPost, "/location/insert-location-schema", dtbase.RoleEditor, http.StatusCreated,
		"Create a location schema; identifiers with the same name and units are reused", s.insertLocationSchema)
	handle(s, http.MethodPost, "/location/insert-location", dtbase.RoleEditor, http.StatusCreated,
		"Create a location, and its schema (named after its sorted identifiers) if needed", s.insertLocation)
	handle(s, http.MethodPost, "/location/insert-location-for-schema", dtbase.RoleEditor, http.StatusCreated,
		"Create a location of a schema; coordinates name every identifier", s.insertLocationForSchema)
	handle(s, http.MethodPost, "/location/list-locations", dtbase.RoleViewer, http.StatusOK,
		"List the locations of a schema, optionally those matching some coordinates", s.listLocations)
	handle(s, http.MethodGet, "/location/list-location-schemas", dtbase.RoleViewer, http.StatusOK,
		"List every location schema with its identifiers", s.listLocationSchemas)
	handle(s, http.MethodGet, "/location/list-location-identifiers", dtbase.RoleViewer, http.StatusOK,
		"List every location identifier", s.listLocationIdentifiers)
	handle(s, http.MethodPost, "/location/get-schema-details", dtbase.RoleViewer, http.StatusOK,
		"Get a location schema with its identifiers", s.getSchemaDetails)
	handle(s, http.MethodPost, "/location/delete-location-schema", dtbase.RoleEditor, http.StatusOK,
		"Delete a location schema that no location uses", s.deleteLocationSchema)
	handle(s, http.MethodPost, "/location/delete-location", dtbase.RoleEditor, http.StatusOK,
		"Delete the location with exactly these coordinates (every identifier of the schema)", s.deleteLocation)
	rt := handle(s, http.MethodPost, "/location/edit-location", dtbase.RoleEditor, http.StatusOK,
		"Change the coordinates of a location", s.editLocation)
	rt.description = "Our extension. `coordinates` names the location by every identifier of its schema; `new_coordinates` holds the values to change (any subset). 409 if another location of the schema has the new coordinates."
}

func (s *Server) insertLocationSchema(ctx context.Context, req *locationSchemaBody) (detail, error) {
	sc := &dtbase.LocationSchema{Name: req.Name, Description: req.Description, Identifiers: identifiersFrom(req.Identifiers)}
	return done(s.store.CreateLocationSchema(ctx, sc), "Location schema inserted")
}

func (s *Server) insertLocation(ctx context.Context, req *insertLocationRequest) (schemaNameResponse, error) {
	loc, err := s.store.CreateLocationWithIdentifiers(ctx, identifiersFrom(req.Identifiers), req.Values)
	if err != nil {
		return schemaNameResponse{}, err
	}
	return schemaNameResponse{loc.Schema}, nil
}

func (s *Server) insertLocationForSchema(ctx context.Context, req *coordinatesRequest) (detail, error) {
	_, err := s.store.CreateLocation(ctx, req.SchemaName, req.Coordinates)
	return done(err, "Location inserted")
}

func (s *Server) listLocations(ctx context.Context, req *listLocationsRequest) ([]locationRow, error) {
	var filter dtbase.Coordinates
	if req.Coordinates != nil {
		filter = *req.Coordinates
	}
	locs, err := s.store.FindLocations(ctx, req.SchemaName, filter)
	return each(locs, func(l dtbase.Location) locationRow {
		return locationRow{loc: l}
	}), err
}

func (s *Server) listLocationSchemas(ctx context.Context, _ *noBody) ([]locationSchemaBody, error) {
	schemas, err := s.store.ListLocationSchemas(ctx)
	return each(schemas, schemaBody), err
}

func (s *Server) listLocationIdentifiers(ctx context.Context, _ *noBody) ([]identifierBody, error) {
	ids, err := s.store.ListLocationIdentifiers(ctx)
	return identifierBodies(ids), err
}

func (s *Server) getSchemaDetails(ctx context.Context, req *schemaNameRequest) (locationSchemaBody, error) {
	sc, err := s.store.FindLocationSchema(ctx, req.SchemaName)
	if err != nil {
		return locationSchemaBody{}, err
	}
	return schemaBody(*sc), nil
}

func (s *Server) deleteLocationSchema(ctx context.Context, req *schemaNameRequest) (detail, error) {
	return done(s.store.DeleteLocationSchema(ctx, req.SchemaName), "Location schema '"+req.SchemaName+"' has been deleted.")
}

func (s *Server) deleteLocation(ctx context.Context, req *coordinatesRequest) (detail, error) {
	return done(s.store.DeleteLocation(ctx, req.SchemaName, req.Coordinates), "Location deleted")
}

func (s *Server) editLocation(ctx context.Context, req *editLocationRequest) (detail, error) {
	_, err := s.store.UpdateLocation(ctx, req.SchemaName, req.Coordinates, req.NewCoordinates)
	return done(err, "Location edited")
}
