package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"time"
)

// This file holds dtbase's extensions of the original API that are not
// next to an original endpoint: sensor details, bulk, aggregated,
// downsampled, latest and CSV readings, location edits, model comparisons,
// ARIMA runs.

// LocationInfo is a location with its schema, as the extensions give it.
type LocationInfo struct {
	ID          int64       `json:"id"`
	SchemaName  string      `json:"schema_name"`
	Coordinates Coordinates `json:"coordinates"`
}

// Placement is an entry of a sensor's location history.
type Placement struct {
	Location             LocationInfo `json:"location"`
	InstallationDatetime time.Time    `json:"installation_datetime"`
}

// SensorDetails is the answer of GetSensor.
type SensorDetails struct {
	UniqueIdentifier string      `json:"unique_identifier"`
	Name             *string     `json:"name"`
	Notes            *string     `json:"notes"`
	TimeCreated      time.Time   `json:"time_created"`
	Type             SensorType  `json:"type"`
	CurrentLocation  *Placement  `json:"current_location"`
	LocationHistory  []Placement `json:"location_history"`
}

// SensorSummary is an entry of ListSensorsDetails.
type SensorSummary struct {
	UniqueIdentifier string     `json:"unique_identifier"`
	Name             *string    `json:"name"`
	Notes            *string    `json:"notes"`
	TypeName         string     `json:"type_name"`
	TimeCreated      time.Time  `json:"time_created"`
	CurrentLocation  *Placement `json:"current_location"`
}

// GetSensor returns a sensor with its type, current location and location
// history, newest first (/sensor/get-sensor); 400 for an unknown sensor.
func (c *Client) GetSensor(ctx context.Context, uniqueIdentifier string) (SensorDetails, error) {
	return fetch[SensorDetails](ctx, c, http.MethodPost, "/sensor/get-sensor",
		map[string]string{"unique_identifier": uniqueIdentifier}, http.StatusOK)
}

// ListSensorsDetails lists sensors with their type and current location, of
// one type when typeName is not "" (/sensor/list-sensors-details).
func (c *Client) ListSensorsDetails(ctx context.Context, typeName string) ([]SensorSummary, error) {
	return list[SensorSummary](ctx, c, http.MethodPost, "/sensor/list-sensors-details", typeFilter{typeName})
}

// EditLocation changes the coordinates of the location of a schema at
// coordinates to newCoordinates (/location/edit-location).
func (c *Client) EditLocation(ctx context.Context, schemaName string, coordinates, newCoordinates Coordinates) error {
	req := struct {
		SchemaName     string      `json:"schema_name"`
		Coordinates    Coordinates `json:"coordinates"`
		NewCoordinates Coordinates `json:"new_coordinates"`
	}{schemaName, nonNilCoords(coordinates), nonNilCoords(newCoordinates)}
	return c.call(ctx, http.MethodPost, "/location/edit-location", req, http.StatusOK, nil)
}

// InsertSummary counts what a bulk insert did.
type InsertSummary struct {
	Detail     string `json:"detail"`
	Rows       int64  `json:"rows"`
	Inserted   int64  `json:"inserted"`
	Duplicates int64  `json:"duplicates"`
}

// InsertReadingsBatch stores many series in one transaction
// (/sensor/insert-readings-batch): all or nothing; a bad series is a 400
// whose detail starts with series[i].
func (c *Client) InsertReadingsBatch(ctx context.Context, series []Readings) (InsertSummary, error) {
	body := struct {
		Series []readingsBody `json:"series"`
	}{make([]readingsBody, len(series))}
	for i, r := range series {
		body.Series[i] = r.body()
	}
	return fetch[InsertSummary](ctx, c, http.MethodPost, "/sensor/insert-readings-batch", body, http.StatusCreated)
}

// Bucket is one time bucket of an aggregated read. Only the aggregates asked
// for are set. Timestamp is the bucket's start.
type Bucket struct {
	Timestamp time.Time
	Mean      *float64
	Count     *int64
	Min, Max  *Value
	Sum       *Value
	First     *Value
	Last      *Value
}

// UnmarshalJSON keeps the values' JSON types.
func (b *Bucket) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	t, err := decodeTime(raw["timestamp"])
	if err != nil {
		return err
	}
	*b = Bucket{Timestamp: t}
	if r, ok := raw["mean"]; ok && string(r) != "null" {
		var f float64
		if err := json.Unmarshal(r, &f); err != nil {
			return fmt.Errorf("mean: %w", err)
		}
		b.Mean = &f
	}
	if r, ok := raw["count"]; ok && string(r) != "null" {
		var n int64
		if err := json.Unmarshal(r, &n); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		b.Count = &n
	}
	for name, dst := range map[string]**Value{"min": &b.Min, "max": &b.Max, "sum": &b.Sum, "first": &b.First, "last": &b.Last} {
		if r, ok := raw[name]; ok && string(r) != "null" {
			v, err := decodeValue(r)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*dst = &v
		}
	}
	return nil
}

// AggregateQuery asks for readings summarised per bucket. Bucket is the
// width: "90s", "15m", "1h", "1d", "1w", or a number of seconds as text.
// Aggregates picks among mean, min, max, sum, count, first, last (nil: all
// that apply to the measure's datatype).
type AggregateQuery struct {
	ReadingsQuery
	Bucket     string
	Aggregates []string
}

// SensorReadingsAggregate returns a range summarised per time bucket
// (/sensor/sensor-readings-aggregate). Empty buckets are left out.
func (c *Client) SensorReadingsAggregate(ctx context.Context, q AggregateQuery) ([]Bucket, error) {
	var bucket any = q.Bucket
	var secs float64
	if _, err := fmt.Sscanf(q.Bucket, "%g", &secs); err == nil && fmt.Sprint(secs) == q.Bucket {
		bucket = secs
	}
	req := struct {
		readingsRequest
		Bucket     any      `json:"bucket"`
		Aggregates []string `json:"aggregates,omitempty"`
	}{q.request(), bucket, q.Aggregates}
	return list[Bucket](ctx, c, http.MethodPost, "/sensor/sensor-readings-aggregate", req)
}

// SensorReadingsDownsampled returns at most maxPoints readings of a range
// that keep its peaks and troughs (/sensor/sensor-readings-downsampled);
// maxPoints 0 means the server's default (1000).
func (c *Client) SensorReadingsDownsampled(ctx context.Context, q ReadingsQuery, maxPoints int) ([]Reading, error) {
	req := struct {
		readingsRequest
		MaxPoints int `json:"max_points,omitempty"`
	}{q.request(), maxPoints}
	return list[Reading](ctx, c, http.MethodPost, "/sensor/sensor-readings-downsampled", req)
}

// LatestReading is the newest reading of one measure of one sensor.
type LatestReading struct {
	UniqueIdentifier string
	MeasureName      string
	MeasureUnits     *string
	Datatype         Datatype
	Value            Value
	Timestamp        time.Time
}

// UnmarshalJSON keeps the value's JSON type.
func (l *LatestReading) UnmarshalJSON(b []byte) error {
	var raw struct {
		UniqueIdentifier string   `json:"unique_identifier"`
		MeasureName      string   `json:"measure_name"`
		MeasureUnits     *string  `json:"measure_units"`
		Datatype         Datatype `json:"datatype"`
	}
	var r Reading // the value and its timestamp, read as every reading's
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := r.UnmarshalJSON(b); err != nil {
		return err
	}
	*l = LatestReading{raw.UniqueIdentifier, raw.MeasureName, raw.MeasureUnits, raw.Datatype, r.Value, r.Timestamp}
	return nil
}

// LatestQuery selects sensors for LatestReadings; zero values select all.
type LatestQuery struct {
	TypeName          string   `json:"type_name,omitempty"`
	UniqueIdentifiers []string `json:"unique_identifiers,omitempty"`
}

// LatestReadings returns the newest reading of every measure of the
// selected sensors (/sensor/latest-readings).
func (c *Client) LatestReadings(ctx context.Context, q LatestQuery) ([]LatestReading, error) {
	return list[LatestReading](ctx, c, http.MethodPost, "/sensor/latest-readings", q)
}

// CSVQuery selects readings to download. MeasureUnits, when set, has one
// entry per MeasureNames entry. Nil From and To mean all time.
type CSVQuery struct {
	UniqueIdentifier string
	MeasureNames     []string
	MeasureUnits     []string
	From, To         *time.Time
}

// ReadingsCSV streams readings as CSV (GET /sensor/readings.csv), columns
// unique_identifier,measure_name,measure_units,timestamp,value. The caller
// closes the returned body.
func (c *Client) ReadingsCSV(ctx context.Context, q CSVQuery) (io.ReadCloser, error) {
	v := url.Values{"unique_identifier": {q.UniqueIdentifier}}
	for _, m := range q.MeasureNames {
		v.Add("measure_name", m)
	}
	for _, u := range q.MeasureUnits {
		v.Add("measure_units", u)
	}
	if q.From != nil {
		v.Set("dt_from", formatWire(*q.From))
	}
	if q.To != nil {
		v.Set("dt_to", formatWire(*q.To))
	}
	return c.stream(ctx, http.MethodGet, "/sensor/readings.csv", v, nil, http.Header{"Accept": {"text/csv"}})
}

// UploadReadingsCSV uploads a CSV file of readings in the layout
// ReadingsCSV writes (/sensor/upload-readings-csv). The whole file is one
// transaction. The body is streamed; it is not retried after a rejected
// token, so the client renews an expiring token before sending.
func (c *Client) UploadReadingsCSV(ctx context.Context, csv io.Reader) (InsertSummary, error) {
	return c.uploadReadings(ctx, csv, "text/csv")
}

// UploadReadingsCSVForm uploads a CSV file as the part "file" of a
// multipart form, as a browser does.
func (c *Client) UploadReadingsCSVForm(ctx context.Context, filename string, csv io.Reader) (InsertSummary, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", filename)
		if err == nil {
			_, err = io.Copy(part, csv)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	out, err := c.uploadReadings(ctx, pr, mw.FormDataContentType())
	if err != nil {
		pr.CloseWithError(err) // stops the writer when the form was not sent
	}
	return out, err
}

// uploadReadings sends a body of readings of the given content type to
// /sensor/upload-readings-csv.
func (c *Client) uploadReadings(ctx context.Context, body io.Reader, contentType string) (InsertSummary, error) {
	var out InsertSummary
	err := c.upload(ctx, http.MethodPost, "/sensor/upload-readings-csv", nil, body, contentType, &out)
	return out, err
}

func formatWire(t time.Time) string {
	b, _ := wireTime{&t}.MarshalJSON()
	return string(b[1 : len(b)-1])
}

// DeleteModelRun deletes a run with its outputs (/model/delete-model-run).
func (c *Client) DeleteModelRun(ctx context.Context, runID int64) error {
	return c.call(ctx, http.MethodPost, "/model/delete-model-run", map[string]int64{"run_id": runID}, http.StatusOK, nil)
}

// ForecastSkill scores one forecast measure of a run against the sensor
// readings it predicts.
type ForecastSkill struct {
	Measure    string   `json:"measure"`
	LowerBound *string  `json:"lower_bound"`
	UpperBound *string  `json:"upper_bound"`
	N          int      `json:"n"`
	MAE        *float64 `json:"mae"`
	RMSE       *float64 `json:"rmse"`
	Coverage   *float64 `json:"coverage"`
}

// ModelRunComparison is a run's forecast next to the observed readings of
// the sensor series it predicts.
type ModelRunComparison struct {
	Run              ModelRun             `json:"run"`
	Forecast         map[string][]Reading `json:"forecast"`
	Observed         []Reading            `json:"observed"`
	ToleranceMinutes float64              `json:"tolerance_minutes"`
	Metrics          []ForecastSkill      `json:"metrics"`
	Details          json.RawMessage      `json:"details"`
}

// GetModelRunComparison compares a run with the readings it forecasts
// (/model/get-model-run-comparison). toleranceMinutes, when not nil, is
// the half-width of the window pairing a reading with a forecast time
// (default 15).
func (c *Client) GetModelRunComparison(ctx context.Context, runID int64, toleranceMinutes *float64) (ModelRunComparison, error) {
	req := struct {
		RunID            int64    `json:"run_id"`
		ToleranceMinutes *float64 `json:"tolerance_minutes,omitempty"`
	}{runID, toleranceMinutes}
	return fetch[ModelRunComparison](ctx, c, http.MethodPost, "/model/get-model-run-comparison", req, http.StatusOK)
}

// ARIMARequest is the body of RunARIMA: the sensors and measures to
// forecast, and optionally the original ARIMA model's settings.
type ARIMARequest struct {
	Sensors         []string     `json:"sensors"`
	Measures        []MeasureRef `json:"measures"`
	Order           []int        `json:"order,omitempty"`
	SeasonalOrder   []int        `json:"seasonal_order,omitempty"`
	Trend           *string      `json:"trend,omitempty"`
	NumDaysTraining *int         `json:"num_days_training,omitempty"`
	PredictFrom     *time.Time   `json:"predict_from,omitempty"`
	HoursForecast   *int         `json:"hours_forecast,omitempty"`
	Alpha           *float64     `json:"alpha,omitempty"`
	MinsFromTheHour *int         `json:"mins_from_the_hour,omitempty"`
	Fill            *string      `json:"fill,omitempty"`
	CV              *bool        `json:"cv,omitempty"`
	CVFolds         *int         `json:"cv_folds,omitempty"`
	CVRefit         *bool        `json:"cv_refit,omitempty"`
	ModelName       *string      `json:"model_name,omitempty"`
	Scenario        *string      `json:"scenario,omitempty"`
}

// ARIMARun describes one forecast RunARIMA stored.
type ARIMARun struct {
	RunID          int64           `json:"run_id"`
	TimeCreated    time.Time       `json:"time_created"`
	SensorUniqueID string          `json:"sensor_unique_id"`
	SensorMeasure  MeasureRef      `json:"sensor_measure"`
	Spec           string          `json:"spec"`
	AIC            float64         `json:"aic"`
	TrainingFrom   time.Time       `json:"training_from"`
	TrainingTo     time.Time       `json:"training_to"`
	Hours          int             `json:"hours"`
	ObservedHours  int             `json:"observed_hours"`
	ForecastFrom   time.Time       `json:"forecast_from"`
	ForecastTo     time.Time       `json:"forecast_to"`
	CV             json.RawMessage `json:"cv"`
}

// ARIMAResponse is the answer of RunARIMA.
type ARIMAResponse struct {
	Detail string     `json:"detail"`
	Runs   []ARIMARun `json:"runs"`
}

// RunARIMA fits the built-in SARIMA model to each sensor measure and stores
// the forecasts as model runs (/model/run-arima).
func (c *Client) RunARIMA(ctx context.Context, r ARIMARequest) (ARIMAResponse, error) {
	return fetch[ARIMAResponse](ctx, c, http.MethodPost, "/model/run-arima", r, http.StatusCreated)
}
