package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// LocationIdentifier is a named, typed coordinate such as x (float, m).
// Units may be nil.
type LocationIdentifier struct {
	Name     string   `json:"name"`
	Units    *string  `json:"units"`
	Datatype Datatype `json:"datatype"`
}

// LocationSchema is a named set of identifiers. Description may be nil.
type LocationSchema struct {
	Name        string               `json:"name"`
	Description *string              `json:"description"`
	Identifiers []LocationIdentifier `json:"identifiers"`
}

// Location is a location of a schema: its id and one value per identifier.
type Location struct {
	ID          int64
	Coordinates Coordinates
}

// UnmarshalJSON reads {"id": n, "<identifier>": value, ...}.
func (l *Location) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var err error
	*l, err = decodeLocation(raw)
	return err
}

// decodeLocation reads a location's "id" from raw and its coordinates from
// every other member. It removes "id" from raw.
func decodeLocation(raw map[string]json.RawMessage) (Location, error) {
	var l Location
	if err := json.Unmarshal(raw["id"], &l.ID); err != nil {
		return l, fmt.Errorf("location id: %w", err)
	}
	delete(raw, "id")
	var err error
	l.Coordinates, err = decodeCoordinates(raw)
	return l, err
}

// InsertLocationSchema creates a schema, creating or reusing its
// identifiers (/location/insert-location-schema). An existing name is a 409.
func (c *Client) InsertLocationSchema(ctx context.Context, s LocationSchema) error {
	if s.Identifiers == nil {
		s.Identifiers = []LocationIdentifier{}
	}
	return c.call(ctx, http.MethodPost, "/location/insert-location-schema", s, http.StatusCreated, nil)
}

// InsertLocation defines a schema named after the sorted identifier names
// and inserts one location into it (/location/insert-location). It returns
// the schema's name.
func (c *Client) InsertLocation(ctx context.Context, identifiers []LocationIdentifier, values []Value) (string, error) {
	req := struct {
		Identifiers []LocationIdentifier `json:"identifiers"`
		Values      wireValues           `json:"values"`
	}{identifiers, values}
	if req.Identifiers == nil {
		req.Identifiers = []LocationIdentifier{}
	}
	var out struct {
		SchemaName string `json:"schema_name"`
	}
	err := c.call(ctx, http.MethodPost, "/location/insert-location", req, http.StatusCreated, &out)
	return out.SchemaName, err
}

// schemaNameBody is a body naming a location schema.
type schemaNameBody struct {
	SchemaName string `json:"schema_name"`
}

// schemaCoordinates is a body naming a location of a schema by its
// coordinates (a filter, for ListLocations).
type schemaCoordinates struct {
	SchemaName  string      `json:"schema_name"`
	Coordinates Coordinates `json:"coordinates"`
}

// InsertLocationForSchema inserts a location of an existing schema
// (/location/insert-location-for-schema). An existing location is a 409.
func (c *Client) InsertLocationForSchema(ctx context.Context, schemaName string, coordinates Coordinates) error {
	req := schemaCoordinates{schemaName, nonNilCoords(coordinates)}
	return c.call(ctx, http.MethodPost, "/location/insert-location-for-schema", req, http.StatusCreated, nil)
}

// ListLocations lists the locations of a schema, filtered by the given
// coordinates when coordinates is not nil (/location/list-locations).
func (c *Client) ListLocations(ctx context.Context, schemaName string, coordinates Coordinates) ([]Location, error) {
	req := schemaCoordinates{schemaName, coordinates}
	return list[Location](ctx, c, http.MethodPost, "/location/list-locations", req)
}

// ListLocationSchemas lists every schema with its identifiers
// (/location/list-location-schemas).
func (c *Client) ListLocationSchemas(ctx context.Context) ([]LocationSchema, error) {
	return list[LocationSchema](ctx, c, http.MethodGet, "/location/list-location-schemas", nil)
}

// ListLocationIdentifiers lists every identifier
// (/location/list-location-identifiers).
func (c *Client) ListLocationIdentifiers(ctx context.Context) ([]LocationIdentifier, error) {
	return list[LocationIdentifier](ctx, c, http.MethodGet, "/location/list-location-identifiers", nil)
}

// GetSchemaDetails returns one schema (/location/get-schema-details); 400
// if there is none.
func (c *Client) GetSchemaDetails(ctx context.Context, schemaName string) (LocationSchema, error) {
	return fetch[LocationSchema](ctx, c, http.MethodPost, "/location/get-schema-details",
		schemaNameBody{schemaName}, http.StatusOK)
}

// DeleteLocationSchema deletes a schema that no location uses
// (/location/delete-location-schema).
func (c *Client) DeleteLocationSchema(ctx context.Context, schemaName string) error {
	return c.call(ctx, http.MethodPost, "/location/delete-location-schema",
		schemaNameBody{schemaName}, http.StatusOK, nil)
}

// DeleteLocation deletes the location of a schema with these coordinates
// (/location/delete-location).
func (c *Client) DeleteLocation(ctx context.Context, schemaName string, coordinates Coordinates) error {
	req := schemaCoordinates{schemaName, nonNilCoords(coordinates)}
	return c.call(ctx, http.MethodPost, "/location/delete-location", req, http.StatusOK, nil)
}

func nonNilCoords(c Coordinates) Coordinates {
	if c == nil {
		return Coordinates{}
	}
	return c
}
