// Package weather is dtbase's built-in weather ingress: it fetches hourly
// weather history or forecasts for a place and stores them as readings of
// a "Weather" sensor, as the original's OpenWeatherMap ingress did
// (docs/compatibility.md), with its time-zone and integral-number bugs fixed.
// Two sources: Open-Meteo, which needs no key and is the default, and
// OpenWeatherMap's One Call API with a key. It is served by dtbase serve at
// /service/builtin/weather and registered as the "weather-ingress" service.
package weather

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// Store is what the ingress needs from storage: creating the sensor type
// and sensors (a duplicate is ECONFLICT, and harmless), and inserting
// readings (duplicates skipped). *sqldb.DB implements it.
type Store interface {
	CreateSensorType(ctx context.Context, t *dtbase.SensorType) error
	CreateSensor(ctx context.Context, s *dtbase.Sensor) error
	InsertReadings(ctx context.Context, series []dtbase.ReadingSeries) (dtbase.ReadingInsertResult, error)
}

// The sensor type, exactly as the original creates it.
const (
	TypeName        = "Weather"
	TypeDescription = "Weather sensors and sensor-like data sources, such as weather forecast sources."
)

func units(s string) *string { return &s }

// Measures of the Weather type, in the original's order of insertion.
var (
	Temperature      = dtbase.Measure{Name: "temperature", Units: units("degrees Celsius"), Datatype: dtbase.Float}
	RelativeHumidity = dtbase.Measure{Name: "relative humidity", Units: units("percent"), Datatype: dtbase.Integer}
	AirPressure      = dtbase.Measure{Name: "air pressure", Units: units("millibar"), Datatype: dtbase.Integer}
	WindSpeed        = dtbase.Measure{Name: "wind speed", Units: units("m/s"), Datatype: dtbase.Float}
	WindDirection    = dtbase.Measure{Name: "wind direction", Units: units("degrees"), Datatype: dtbase.Integer}
	Rain             = dtbase.Measure{Name: "rain", Units: units("mms"), Datatype: dtbase.Float}
	Icon             = dtbase.Measure{Name: "icon", Units: units(""), Datatype: dtbase.String}
)

// typeMeasures is the order the type lists its measures in.
var typeMeasures = []dtbase.Measure{Temperature, RelativeHumidity, AirPressure, WindSpeed, WindDirection, Rain, Icon}

// Source names.
const (
	OpenMeteo      = "open-meteo"
	OpenWeatherMap = "openweathermap"
)

// Default API endpoints. Tests and mirrors replace them.
const (
	DefaultOpenMeteoURL                 = "https://api.open-meteo.com/v1/forecast"
	DefaultOpenWeatherMapForecast       = "https://api.openweathermap.org/data/3.0/onecall"
	DefaultOpenWeatherMapHistory        = "https://api.openweathermap.org/data/2.5/onecall/timemachine"
	openMeteoHourly                     = "temperature_2m,relative_humidity_2m,surface_pressure,wind_speed_10m,wind_direction_10m,rain,weather_code,is_day"
	maxUpstreamBody               int64 = 8 << 20
)

// The windows of the original: history reaches 5 days back, forecasts 2
// days ahead, and a window is at least an hour long.
const (
	maxHistory  = 5 * 24 * time.Hour
	maxForecast = 2 * 24 * time.Hour
	minWindow   = time.Hour
	// presentSlack makes a time within 10 s of now count as "present", as
	// the original's Azure Function did.
	presentSlack = 10 * time.Second
)

// Ingress fetches weather and stores it. The zero value needs Store; the
// other fields have defaults.
type Ingress struct {
	Store Store

	OpenMeteoURL              string
	OpenWeatherMapForecastURL string
	OpenWeatherMapHistoryURL  string
	// OpenWeatherMapAPIKey is used when a call gives no api_key
	// (DT_OPENWEATHERMAP_APIKEY, as in the original).
	OpenWeatherMapAPIKey string

	// Client makes the upstream calls; by default one that honours the
	// proxy variables with a 30 s timeout per request.
	Client *http.Client
	// Now is "the present"; time.Now by default.
	Now func() time.Time
}

var _ dtbase.BuiltinService = (*Ingress)(nil)

// Name is the path segment of the built-in endpoint.
func (*Ingress) Name() string { return "weather" }

// Summary documents the endpoint and its parameters.
func (*Ingress) Summary() string {
	return "Built-in weather ingress: fetch hourly weather for a place and store it as readings of the Weather sensors. " +
		`Parameters: latitude, longitude, dt_from, dt_to (ISO 8601, "present", or relative like "-48h", "+2d"), ` +
		`source ("open-meteo", the default, keyless; or "openweathermap" with api_key), optional sensor (unique identifier to store under). ` +
		"A window lies wholly in the past (history, at most 5 days back) or wholly in the future (forecast, at most 2 days ahead) and lasts at least an hour."
}

// Params are the parameters of one call.
type Params struct {
	Source    string   `json:"source"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	DTFrom    *string  `json:"dt_from"`
	DTTo      *string  `json:"dt_to"`
	APIKey    string   `json:"api_key"`
	// Sensor, when set, is the unique identifier to store under instead of
	// the source's history or forecast sensor: one per place.
	Sensor string `json:"sensor"`
}

// Result is the answer of a call, stored in the run log.
type Result struct {
	Detail     string      `json:"detail"`
	Source     string      `json:"source"`
	Kind       string      `json:"kind"` // "history" or "forecast"
	Sensor     string      `json:"sensor"`
	DTFrom     dtbase.Time `json:"dt_from"`
	DTTo       dtbase.Time `json:"dt_to"`
	Hours      int         `json:"hours"`
	Readings   int64       `json:"readings"`
	Duplicates int64       `json:"duplicates"`
}

// hour is one hour of weather; nil fields were not reported.
type hour struct {
	t             time.Time
	temperature   *float64
	humidity      *float64
	pressure      *float64
	windSpeed     *float64
	windDirection *float64
	rain          *float64
	icon          *string
}

// Call runs the ingress with a JSON object of Params. EINVALID for bad
// parameters (naming them); EUNAVAILABLE when the weather API fails.
func (in *Ingress) Call(ctx context.Context, raw json.RawMessage) (any, error) {
	var p Params
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&p); err != nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Invalid weather parameters: %s", jsonProblem(err))
	}
	return in.Ingest(ctx, p)
}

// jsonProblem describes a decoding error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return "the parameters must be a JSON object"
		}
		want := map[string]string{"float64": "a number", "string": "a string"}[te.Type.String()]
		if want == "" {
			want = te.Type.String()
		}
		return fmt.Sprintf("%s must be %s, not %s", te.Field, want, te.Value)
	}
	return err.Error()
}

// Ingest fetches and stores the weather that p asks for.
func (in *Ingress) Ingest(ctx context.Context, p Params) (*Result, error) {
	present := in.now()
	source := strings.ToLower(strings.TrimSpace(p.Source))
	if source == "" {
		source = OpenMeteo
	}
	if source != OpenMeteo && source != OpenWeatherMap {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Unknown weather source %q: use %q or %q", p.Source, OpenMeteo, OpenWeatherMap)
	}
	if p.Latitude == nil || p.Longitude == nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Must provide latitude and longitude")
	}
	lat, lon := *p.Latitude, *p.Longitude
	if math.IsNaN(lat) || lat < -90 || lat > 90 || math.IsNaN(lon) || lon < -180 || lon > 180 {
		return nil, dtbase.Errorf(dtbase.EINVALID, "latitude must be within ±90 and longitude within ±180")
	}
	if p.DTFrom == nil || p.DTTo == nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Must provide dt_from and dt_to")
	}
	from, err := parseWhen("dt_from", *p.DTFrom, present)
	if err != nil {
		return nil, err
	}
	to, err := parseWhen("dt_to", *p.DTTo, present)
	if err != nil {
		return nil, err
	}
	history, err := checkWindow(from, to, present)
	if err != nil {
		return nil, err
	}
	key := p.APIKey
	if key == "" {
		key = in.OpenWeatherMapAPIKey
	}
	if source == OpenWeatherMap && key == "" {
		return nil, dtbase.Errorf(dtbase.EINVALID, "Must provide api_key for the openweathermap source (or set DT_OPENWEATHERMAP_APIKEY)")
	}

	var hours []hour
	if source == OpenMeteo {
		hours, err = in.fetchOpenMeteo(ctx, lat, lon, from, to, present, history)
	} else {
		hours, err = in.fetchOpenWeatherMap(ctx, lat, lon, from, to, history, key)
	}
	if err != nil {
		return nil, err
	}
	kept := hours[:0]
	for _, h := range hours {
		if !h.t.Before(from) && !h.t.After(to) {
			kept = append(kept, h)
		}
	}

	sensorID, sensorName := sensorFor(source, history)
	if p.Sensor != "" {
		sensorID = p.Sensor
		sensorName = fmt.Sprintf("%s at %.4g, %.4g", sensorName, lat, lon)
	}
	if err := in.ensureSensor(ctx, sensorID, sensorName); err != nil {
		return nil, err
	}
	res, err := in.Store.InsertReadings(ctx, toSeries(sensorID, kept))
	if err != nil {
		return nil, fmt.Errorf("store weather readings: %w", err)
	}
	kind := "forecast"
	if history {
		kind = "history"
	}
	return &Result{Detail: "Weather data ingested.", Source: source, Kind: kind, Sensor: sensorID, DTFrom: dtbase.Time(from), DTTo: dtbase.Time(to),
		Hours: len(kept), Readings: res.Inserted, Duplicates: res.Duplicates()}, nil
}

func (in *Ingress) now() time.Time {
	if in.Now != nil {
		return in.Now().UTC()
	}
	return time.Now().UTC()
}

var relativePattern = regexp.MustCompile(`^([+-])(\d+(?:\.\d+)?)([mhd])$`)

// parseWhen reads a window end: "present", a time relative to the present
// ("-48h", "+2d", "-90m"), or an ISO 8601 time (UTC without an offset). A
// time within 10 s of the present is the present.
func parseWhen(field, s string, present time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "present") || strings.EqualFold(s, "now") {
		return present, nil
	}
	if m := relativePattern.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[3]]
		d := time.Duration(n * float64(unit))
		if m[1] == "-" {
			d = -d
		}
		return present.Add(d), nil
	}
	t, ok := dtbase.ParseTime(s)
	if !ok || (len(s) > 0 && (s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9' && !strings.Contains(s, "-")))) {
		return time.Time{}, dtbase.Errorf(dtbase.EINVALID, `%s must be an ISO 8601 datetime, "present", or relative to the present such as "-48h" or "+2d"; got %q`, field, s)
	}
	if d := t.Sub(present); d > -presentSlack && d < presentSlack {
		return present, nil
	}
	return t, nil
}

// checkWindow applies the original's five checks, in its order, and
// reports whether the window is history (else forecast).
func checkWindow(from, to, present time.Time) (history bool, err error) {
	switch {
	case from.After(to):
		return false, dtbase.Errorf(dtbase.EINVALID, "dt_from (%s) is after dt_to (%s)", dtbase.FormatTime(from), dtbase.FormatTime(to))
	case from.Before(present) && to.After(present):
		return false, dtbase.Errorf(dtbase.EINVALID, `The window spans the present: split it into a history call (dt_to "present") and a forecast call (dt_from "present")`)
	case present.Sub(from) > maxHistory:
		return false, dtbase.Errorf(dtbase.EINVALID, "dt_from is more than 5 days in the past: history reaches back 5 days")
	case to.Sub(present) > maxForecast:
		return false, dtbase.Errorf(dtbase.EINVALID, "dt_to is more than 2 days in the future: forecasts reach 2 days ahead")
	case to.Sub(from) < minWindow:
		return false, dtbase.Errorf(dtbase.EINVALID, "The window is shorter than one hour")
	}
	return !present.Before(to), nil
}

func sensorFor(source string, history bool) (id, name string) {
	switch {
	case source == OpenWeatherMap && history:
		return "OpenWeatherMapHistory", "OpenWeatherMap Historical Data"
	case source == OpenWeatherMap:
		return "OpenWeatherMapForecast", "OpenWeatherMap Forecasts"
	case history:
		return "OpenMeteoHistory", "Open-Meteo Historical Data"
	}
	return "OpenMeteoForecast", "Open-Meteo Forecasts"
}

// ensureSensor creates the Weather type and the sensor unless they exist.
func (in *Ingress) ensureSensor(ctx context.Context, id, name string) error {
	desc := TypeDescription
	st := &dtbase.SensorType{Name: TypeName, Description: &desc, Measures: append([]dtbase.Measure(nil), typeMeasures...)}
	if err := in.Store.CreateSensorType(ctx, st); err != nil && dtbase.ErrorCode(err) != dtbase.ECONFLICT {
		return fmt.Errorf("create the Weather sensor type: %w", err)
	}
	s := &dtbase.Sensor{UniqueIdentifier: id, Name: &name, TypeName: TypeName}
	if err := in.Store.CreateSensor(ctx, s); err != nil && dtbase.ErrorCode(err) != dtbase.ECONFLICT {
		return fmt.Errorf("create sensor %s: %w", id, err)
	}
	return nil
}

// toSeries turns hours into one series per measure, in the original's
// order, leaving out values that were not reported.
func toSeries(sensor string, hours []hour) []dtbase.ReadingSeries {
	type column struct {
		m   dtbase.Measure
		get func(h hour) (dtbase.Value, bool)
	}
	float := func(f func(h hour) *float64) func(h hour) (dtbase.Value, bool) {
		return func(h hour) (dtbase.Value, bool) {
			v := f(h)
			if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
				return dtbase.Value{}, false
			}
			return dtbase.FloatValue(*v), true
		}
	}
	integer := func(f func(h hour) *float64) func(h hour) (dtbase.Value, bool) {
		return func(h hour) (dtbase.Value, bool) {
			v := f(h)
			if v == nil || math.IsNaN(*v) || math.Abs(*v) > math.MaxInt32 {
				return dtbase.Value{}, false
			}
			return dtbase.IntValue(int64(math.Round(*v))), true
		}
	}
	columns := []column{
		{Temperature, float(func(h hour) *float64 { return h.temperature })},
		{AirPressure, integer(func(h hour) *float64 { return h.pressure })},
		{RelativeHumidity, integer(func(h hour) *float64 { return h.humidity })},
		{WindSpeed, float(func(h hour) *float64 { return h.windSpeed })},
		{WindDirection, integer(func(h hour) *float64 { return h.windDirection })},
		{Icon, func(h hour) (dtbase.Value, bool) {
			if h.icon == nil {
				return dtbase.Value{}, false
			}
			return dtbase.StringValue(*h.icon), true
		}},
		{Rain, float(func(h hour) *float64 { return h.rain })},
	}
	out := make([]dtbase.ReadingSeries, 0, len(columns))
	for _, c := range columns {
		s := dtbase.ReadingSeries{UniqueIdentifier: sensor, MeasureName: c.m.Name, MeasureUnits: c.m.Units}
		for _, h := range hours {
			if v, ok := c.get(h); ok {
				s.Values = append(s.Values, v)
				s.Timestamps = append(s.Timestamps, h.t)
			}
		}
		out = append(out, s)
	}
	return out
}

func (in *Ingress) client() *http.Client {
	if in.Client != nil {
		return in.Client
	}
	return defaultClient
}

var defaultClient = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
	},
}

// getJSON fetches url and decodes its JSON answer into v. Failures are
// EUNAVAILABLE, naming the source and, for a refusal, its reason.
func (in *Ingress) getJSON(ctx context.Context, source, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%s request: %w", source, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "dtbase-weather-ingress")
	resp, err := in.client().Do(req)
	if err != nil {
		return &dtbase.Error{Code: dtbase.EUNAVAILABLE, Message: source + " could not be reached", Err: err}
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, maxUpstreamBody))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Reason  string `json:"reason"`  // Open-Meteo
			Message string `json:"message"` // OpenWeatherMap
		}
		dec.Decode(&e)
		why := strings.TrimSpace(e.Reason + " " + e.Message)
		if why == "" {
			why = http.StatusText(resp.StatusCode)
		}
		return dtbase.Errorf(dtbase.EUNAVAILABLE, "%s answered %d: %s", source, resp.StatusCode, why)
	}
	if err := dec.Decode(v); err != nil {
		return &dtbase.Error{Code: dtbase.EUNAVAILABLE, Message: source + " answered with JSON of an unexpected shape", Err: err}
	}
	return nil
}
