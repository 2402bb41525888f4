package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// QualityQuery selects a series and tunes the data quality check. Zero
// GapFactor and FlatlineMinutes take the server's defaults (3 and 60).
type QualityQuery struct {
	UniqueIdentifier string
	MeasureName      string
	MeasureUnits     *string
	From, To         time.Time
	GapFactor        float64
	FlatlineMinutes  float64
}

// QualitySpan is a gap or a flatline.
type QualitySpan struct {
	Start         time.Time `json:"-"`
	End           time.Time `json:"-"`
	LengthSeconds float64   `json:"length_seconds"`
	Value         *float64  `json:"value,omitempty"`
	Readings      int       `json:"readings,omitempty"`
}

// UnmarshalJSON reads the server's timestamp form.
func (q *QualitySpan) UnmarshalJSON(b []byte) error {
	type plain QualitySpan
	var raw struct {
		plain
		Start json.RawMessage `json:"start"`
		End   json.RawMessage `json:"end"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*q = QualitySpan(raw.plain)
	var err error
	if q.Start, err = decodeTime(raw.Start); err != nil {
		return err
	}
	q.End, err = decodeTime(raw.End)
	return err
}

// QualityDay is the coverage of one UTC day.
type QualityDay struct {
	Date            string  `json:"date"`
	Readings        int     `json:"readings"`
	CoveragePercent float64 `json:"coverage_percent"`
}

// QualityReport is the data quality of one series.
type QualityReport struct {
	UniqueIdentifier string        `json:"unique_identifier"`
	MeasureName      string        `json:"measure_name"`
	MeasureUnits     *string       `json:"measure_units"`
	Readings         int           `json:"readings"`
	IntervalSeconds  float64       `json:"interval_seconds"`
	CoveragePercent  float64       `json:"coverage_percent"`
	GapCount         int           `json:"gap_count"`
	Gaps             []QualitySpan `json:"gaps"`
	Duplicates       int           `json:"duplicates"`
	OutOfRangeCount  int           `json:"out_of_range_count"`
	OutOfRange       []Reading     `json:"out_of_range"`
	FlatlineCount    int           `json:"flatline_count"`
	Flatlines        []QualitySpan `json:"flatlines"`
	Days             []QualityDay  `json:"days"`
}

func optFloat(f float64) *float64 {
	if f == 0 {
		return nil
	}
	return &f
}

// DataQuality checks one series (/sensor/data-quality).
func (c *Client) DataQuality(ctx context.Context, q QualityQuery) (QualityReport, error) {
	req := struct {
		UniqueIdentifier string   `json:"unique_identifier"`
		MeasureName      string   `json:"measure_name"`
		MeasureUnits     *string  `json:"measure_units,omitempty"`
		DtFrom           wireTime `json:"dt_from"`
		DtTo             wireTime `json:"dt_to"`
		GapFactor        *float64 `json:"gap_factor,omitempty"`
		FlatlineMinutes  *float64 `json:"flatline_minutes,omitempty"`
	}{q.UniqueIdentifier, q.MeasureName, q.MeasureUnits, wireTime{&q.From}, wireTime{&q.To}, optFloat(q.GapFactor), optFloat(q.FlatlineMinutes)}
	return fetch[QualityReport](ctx, c, http.MethodPost, "/sensor/data-quality", req, http.StatusOK)
}

// DataQualityOverview checks every numeric measure of every sensor, or of
// those placed now under locationID when it is not nil
// (/sensor/data-quality-overview). The lists of the reports are empty.
func (c *Client) DataQualityOverview(ctx context.Context, from, to time.Time, locationID *int64) ([]QualityReport, error) {
	req := struct {
		DtFrom     wireTime `json:"dt_from"`
		DtTo       wireTime `json:"dt_to"`
		LocationID *int64   `json:"location_id,omitempty"`
	}{wireTime{&from}, wireTime{&to}, locationID}
	return list[QualityReport](ctx, c, http.MethodPost, "/sensor/data-quality-overview", req)
}

// SetMeasureRange sets the physical range of a measure; both nil clears it
// (/sensor/set-measure-range).
func (c *Client) SetMeasureRange(ctx context.Context, measureName string, measureUnits *string, min, max *float64) error {
	req := struct {
		MeasureName  string   `json:"measure_name"`
		MeasureUnits *string  `json:"measure_units,omitempty"`
		Min          *float64 `json:"min"`
		Max          *float64 `json:"max"`
	}{measureName, measureUnits, min, max}
	return c.call(ctx, http.MethodPost, "/sensor/set-measure-range", req, http.StatusOK, nil)
}

// DataQualityCSV streams the data quality of one series as CSV (GET
// /sensor/data-quality.csv). The caller closes the returned body.
func (c *Client) DataQualityCSV(ctx context.Context, q QualityQuery) (io.ReadCloser, error) {
	v := url.Values{}
	v.Set("unique_identifier", q.UniqueIdentifier)
	v.Set("measure_name", q.MeasureName)
	if q.MeasureUnits != nil {
		v.Set("measure_units", *q.MeasureUnits)
	}
	v.Set("dt_from", q.From.UTC().Format(time.RFC3339Nano))
	v.Set("dt_to", q.To.UTC().Format(time.RFC3339Nano))
	if q.GapFactor != 0 {
		v.Set("gap_factor", strconv.FormatFloat(q.GapFactor, 'g', -1, 64))
	}
	if q.FlatlineMinutes != 0 {
		v.Set("flatline_minutes", strconv.FormatFloat(q.FlatlineMinutes, 'g', -1, 64))
	}
	return c.stream(ctx, http.MethodGet, "/sensor/data-quality.csv", v, nil, nil)
}
