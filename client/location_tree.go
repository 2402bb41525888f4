package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// LocationNode is an entry of LocationTree.
type LocationNode struct {
	LocationInfo
	ParentID     *int64   `json:"parent_id"`
	Sensors      []string `json:"sensors"`
	SensorsTotal int      `json:"sensors_total"`
}

// PlacedSensor is a sensor placed in a subtree.
type PlacedSensor struct {
	UniqueIdentifier     string
	TypeName             string
	LocationID           int64
	InstallationDatetime time.Time
}

// UnmarshalJSON reads the server's timestamp form.
func (p *PlacedSensor) UnmarshalJSON(b []byte) error {
	var raw struct {
		UniqueIdentifier     string          `json:"unique_identifier"`
		TypeName             string          `json:"type_name"`
		LocationID           int64           `json:"location_id"`
		InstallationDatetime json.RawMessage `json:"installation_datetime"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	t, err := decodeTime(raw.InstallationDatetime)
	if err != nil {
		return err
	}
	*p = PlacedSensor{raw.UniqueIdentifier, raw.TypeName, raw.LocationID, t}
	return nil
}

// SensorSeries is the readings of one sensor in a subtree read.
type SensorSeries struct {
	UniqueIdentifier string    `json:"unique_identifier"`
	Readings         []Reading `json:"readings"`
}

// SetLocationParent puts a location, with its subtree, under parent, or
// makes it a root when parent is nil (/location/set-location-parent); 422
// for a cycle.
func (c *Client) SetLocationParent(ctx context.Context, locationID int64, parent *int64) error {
	req := struct {
		LocationID int64  `json:"location_id"`
		ParentID   *int64 `json:"parent_id"`
	}{locationID, parent}
	return c.call(ctx, http.MethodPost, "/location/set-location-parent", req, http.StatusOK, nil)
}

// LocationTree returns every location with its parent and sensor counts
// (/location/location-tree).
func (c *Client) LocationTree(ctx context.Context) ([]LocationNode, error) {
	return list[LocationNode](ctx, c, http.MethodGet, "/location/location-tree", nil)
}

// SubtreeSensors returns the sensors placed at a location or under it, at
// a time (nil: now) (/location/subtree-sensors).
func (c *Client) SubtreeSensors(ctx context.Context, locationID int64, at *time.Time) ([]PlacedSensor, error) {
	req := struct {
		LocationID int64    `json:"location_id"`
		At         wireTime `json:"at"`
	}{locationID, wireTime{at}}
	return list[PlacedSensor](ctx, c, http.MethodPost, "/location/subtree-sensors", req)
}

// SubtreeLatestReadings returns the newest readings of the sensors placed
// now at a location or under it (/location/subtree-latest-readings).
func (c *Client) SubtreeLatestReadings(ctx context.Context, locationID int64) ([]LatestReading, error) {
	req := struct {
		LocationID int64 `json:"location_id"`
	}{locationID}
	return list[LatestReading](ctx, c, http.MethodPost, "/location/subtree-latest-readings", req)
}

// SubtreeReadings returns the readings of one measure of every sensor
// placed now at a location or under it (/location/subtree-readings).
func (c *Client) SubtreeReadings(ctx context.Context, locationID int64, measureName string, measureUnits *string, from, to time.Time) ([]SensorSeries, error) {
	req := struct {
		LocationID   int64    `json:"location_id"`
		MeasureName  string   `json:"measure_name"`
		MeasureUnits *string  `json:"measure_units,omitempty"`
		DtFrom       wireTime `json:"dt_from"`
		DtTo         wireTime `json:"dt_to"`
	}{locationID, measureName, measureUnits, wireTime{&from}, wireTime{&to}}
	return list[SensorSeries](ctx, c, http.MethodPost, "/location/subtree-readings", req)
}
