package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DerivedMeasure is a definition of a measure computed on read. Give one
// of SensorType, LocationID and UniqueIdentifier; Aggregate (mean, min,
// max, sum) only with LocationID. ValidFrom and ValidTo (excluded) limit
// the definition in time.
type DerivedMeasure struct {
	Name             string     `json:"name"`
	Units            *string    `json:"units"`
	Expression       string     `json:"expression"`
	SensorType       *string    `json:"sensor_type,omitempty"`
	LocationID       *int64     `json:"location_id,omitempty"`
	UniqueIdentifier *string    `json:"unique_identifier,omitempty"`
	Aggregate        *string    `json:"aggregate,omitempty"`
	ValidFrom        *time.Time `json:"valid_from,omitempty"`
	ValidTo          *time.Time `json:"valid_to,omitempty"`
}

// DerivedBucket is a bucket of a location-wide derived measure.
type DerivedBucket struct {
	Timestamp time.Time
	Value     float64
	Sensors   int
}

// UnmarshalJSON reads the server's timestamp form.
func (b *DerivedBucket) UnmarshalJSON(data []byte) error {
	var raw struct {
		Timestamp json.RawMessage `json:"timestamp"`
		Value     float64         `json:"value"`
		Sensors   int             `json:"sensors"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	t, err := decodeTime(raw.Timestamp)
	*b = DerivedBucket{t, raw.Value, raw.Sensors}
	return err
}

// InsertDerivedMeasure defines a derived measure
// (/sensor/insert-derived-measure); 422 with the position for a mistake in
// the expression.
func (c *Client) InsertDerivedMeasure(ctx context.Context, d DerivedMeasure) error {
	return c.call(ctx, http.MethodPost, "/sensor/insert-derived-measure", d, http.StatusCreated, nil)
}

// ListDerivedMeasures lists the derived measures (/sensor/list-derived-measures).
func (c *Client) ListDerivedMeasures(ctx context.Context) ([]DerivedMeasure, error) {
	return list[DerivedMeasure](ctx, c, http.MethodGet, "/sensor/list-derived-measures", nil)
}

// DeleteDerivedMeasure deletes one (/sensor/delete-derived-measure).
func (c *Client) DeleteDerivedMeasure(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodPost, "/sensor/delete-derived-measure", map[string]string{"name": name}, http.StatusOK, nil)
}

// DerivedReadings computes a derived measure of a sensor; with a bucket
// ("1h", or seconds as a string) the mean per bucket
// (/sensor/derived-readings).
func (c *Client) DerivedReadings(ctx context.Context, uniqueIdentifier, derivedName string, from, to time.Time, bucket string) ([]Reading, error) {
	req := struct {
		UniqueIdentifier string   `json:"unique_identifier"`
		DerivedName      string   `json:"derived_name"`
		DtFrom           wireTime `json:"dt_from"`
		DtTo             wireTime `json:"dt_to"`
		Bucket           *string  `json:"bucket,omitempty"`
	}{uniqueIdentifier, derivedName, wireTime{&from}, wireTime{&to}, nil}
	if bucket != "" {
		req.Bucket = &bucket
	}
	return list[Reading](ctx, c, http.MethodPost, "/sensor/derived-readings", req)
}

// DerivedAggregate combines a location-wide derived measure per bucket
// (/location/derived-aggregate).
func (c *Client) DerivedAggregate(ctx context.Context, derivedName string, from, to time.Time, bucket string) ([]DerivedBucket, error) {
	req := struct {
		DerivedName string   `json:"derived_name"`
		DtFrom      wireTime `json:"dt_from"`
		DtTo        wireTime `json:"dt_to"`
		Bucket      string   `json:"bucket"`
	}{derivedName, wireTime{&from}, wireTime{&to}, bucket}
	return list[DerivedBucket](ctx, c, http.MethodPost, "/location/derived-aggregate", req)
}

// DerivedReadingsCSV streams a derived series as CSV (GET
// /sensor/derived-readings.csv). The caller closes the returned body.
func (c *Client) DerivedReadingsCSV(ctx context.Context, uniqueIdentifier, derivedName string, from, to time.Time) (io.ReadCloser, error) {
	v := url.Values{}
	v.Set("unique_identifier", uniqueIdentifier)
	v.Set("derived_name", derivedName)
	v.Set("dt_from", from.UTC().Format(time.RFC3339Nano))
	v.Set("dt_to", to.UTC().Format(time.RFC3339Nano))
	return c.stream(ctx, http.MethodGet, "/sensor/derived-readings.csv", v, nil, nil)
}
