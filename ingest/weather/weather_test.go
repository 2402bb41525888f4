package weather

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// present is "now" in these tests: the recorded answers in testdata were
// made around it.
var present = time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)

// fake serves the recorded answers in testdata as the weather APIs would,
// and records the queries it got.
type fake struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	queries []string
	fail    int // answer this status instead, when set
}

func newFake(t *testing.T) *fake {
	f := &fake{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.Path+"?"+r.URL.RawQuery)
	fail := f.fail
	f.mu.Unlock()
	q := r.URL.Query()
	w.Header().Set("Content-Type", "application/json")
	if fail != 0 {
		w.WriteHeader(fail)
		w.Write([]byte(`{"error":true,"reason":"Latitude must be in range of -90 to 90°. Given: 91.0."}`))
		return
	}
	switch r.URL.Path {
	case "/v1/forecast":
		if q.Get("timezone") != "UTC" || q.Get("wind_speed_unit") != "ms" || q.Get("hourly") != openMeteoHourly {
			http.Error(w, `{"error":true,"reason":"unexpected query"}`, 400)
			return
		}
		if q.Get("past_days") != "0" {
			w.Write(f.file("open-meteo-history.json"))
		} else {
			w.Write(f.file("open-meteo-forecast.json"))
		}
	case "/data/3.0/onecall":
		if q.Get("appid") != "KEY" || q.Get("units") != "metric" {
			w.WriteHeader(401)
			w.Write([]byte(`{"cod":401,"message":"Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}`))
			return
		}
		w.Write(f.file("openweathermap-onecall.json"))
	case "/data/2.5/onecall/timemachine":
		// The time machine answers the hours of the day of dt.
		dt, _ := strconv.ParseInt(q.Get("dt"), 10, 64)
		day := time.Unix(dt, 0).UTC().Truncate(24 * time.Hour)
		var all struct {
			Hourly []json.RawMessage `json:"hourly"`
		}
		json.Unmarshal(f.file("openweathermap-timemachine.json"), &all)
		var keep []json.RawMessage
		for _, h := range all.Hourly {
			var e struct{ DT int64 }
			json.Unmarshal(h, &e)
			if time.Unix(e.DT, 0).UTC().Truncate(24 * time.Hour).Equal(day) {
				keep = append(keep, h)
			}
		}
		b, _ := json.Marshal(map[string]any{"lat": 51.53, "lon": -0.127, "timezone": "Europe/London", "hourly": keep})
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

func (f *fake) file(name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func newIngress(t *testing.T, db *sqldb.DB, f *fake) *Ingress {
	return &Ingress{Store: db, Now: func() time.Time { return present },
		OpenMeteoURL:              f.srv.URL + "/v1/forecast",
		OpenWeatherMapForecastURL: f.srv.URL + "/data/3.0/onecall",
		OpenWeatherMapHistoryURL:  f.srv.URL + "/data/2.5/onecall/timemachine"}
}

func call(t *testing.T, in *Ingress, params string) (*Result, error) {
	t.Helper()
	res, err := in.Call(context.Background(), json.RawMessage(params))
	if err != nil {
		return nil, err
	}
	return res.(*Result), nil
}

// readings returns a measure's readings of a sensor.
func readings(t *testing.T, db *sqldb.DB, sensor string, m dtbase.Measure) []dtbase.Reading {
	t.Helper()
	return sqldbtest.Readings(t, db, sensor, m.Name, m.Units)
}

func TestOpenMeteo(t *testing.T) {
	db := sqldbtest.Open(t)
	f := newFake(t)
	in := newIngress(t, db, f)

	res, err := call(t, in, `{"latitude":51.53,"longitude":-0.127,"dt_from":"-36h","dt_to":"present"}`)
	if err != nil {
		t.Fatal(err)
	}
	// 2024-03-04T00:00 .. 2024-03-05T12:00, both ends included.
	if res.Source != OpenMeteo || res.Kind != "history" || res.Sensor != "OpenMeteoHistory" || res.Hours != 37 {
		t.Fatalf("result %+v", res)
	}
	// Seven measures of 37 hours, less the temperature and the rain the
	// recording lacks at 2024-03-05T02:00 and 03:00.
	if res.Readings != 7*37-2 || res.Duplicates != 0 {
		t.Fatalf("readings %d duplicates %d", res.Readings, res.Duplicates)
	}
	if !strings.Contains(f.queries[0], "past_days=1") || !strings.Contains(f.queries[0], "latitude=51.53") || !strings.Contains(f.queries[0], "longitude=-0.127") {
		t.Fatalf("query %s", f.queries[0])
	}

	types, _ := db.ListSensorTypes(context.Background())
	if len(types) != 1 || types[0].Name != "Weather" || *types[0].Description != TypeDescription || len(types[0].Measures) != 7 {
		t.Fatalf("types %+v", types)
	}
	for i, m := range types[0].Measures {
		w := typeMeasures[i]
		if m.Name != w.Name || *m.Units != *w.Units || m.Datatype != w.Datatype {
			t.Errorf("measure %d: %s [%s] %s, want %s [%s] %s", i, m.Name, *m.Units, m.Datatype, w.Name, *w.Units, w.Datatype)
		}
	}
	temps := readings(t, db, "OpenMeteoHistory", Temperature)
	if len(temps) != 36 || !temps[0].Time.Equal(time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)) || !temps[35].Time.Equal(present) {
		t.Fatalf("temperatures %d from %v to %v", len(temps), temps[0].Time, temps[len(temps)-1].Time)
	}
	if temps[0].Value.Kind != dtbase.KindFloat {
		t.Fatalf("temperature kind %v", temps[0].Value.Kind)
	}
	pressure := readings(t, db, "OpenMeteoHistory", AirPressure)
	if pressure[0].Value.Kind != dtbase.KindInteger || pressure[0].Value.I < 990 || pressure[0].Value.I > 1030 {
		t.Fatalf("pressure %+v", pressure[0])
	}
	icons := readings(t, db, "OpenMeteoHistory", Icon)
	if len(icons) != 37 || !strings.HasSuffix(icons[0].Value.S, "n") || !strings.HasSuffix(icons[36].Value.S, "d") {
		t.Fatalf("icons %v .. %v", icons[0], icons[36])
	}

	// Re-running stores nothing twice and is not an error.
	res, err = call(t, in, `{"latitude":51.53,"longitude":-0.127,"dt_from":"-36h","dt_to":"present"}`)
	if err != nil || res.Readings != 0 || res.Duplicates != 7*37-2 {
		t.Fatalf("re-run %+v %v", res, err)
	}

	res, err = call(t, in, `{"source":"open-meteo","latitude":51.53,"longitude":-0.127,"dt_from":"present","dt_to":"+2d"}`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != "forecast" || res.Sensor != "OpenMeteoForecast" || res.Hours != 49 || res.Readings != 7*49 {
		t.Fatalf("forecast %+v", res)
	}
	if q := f.queries[len(f.queries)-1]; !strings.Contains(q, "forecast_days=3") || !strings.Contains(q, "past_days=0") {
		t.Fatalf("forecast query %s", q)
	}

	// A sensor per place.
	res, err = call(t, in, `{"latitude":51.53,"longitude":-0.127,"dt_from":"2024-03-05T06:00:00","dt_to":"2024-03-05T09:00:00Z","sensor":"london-weather"}`)
	if err != nil || res.Sensor != "london-weather" || res.Hours != 4 {
		t.Fatalf("own sensor %+v %v", res, err)
	}
	d, err := db.FindSensorDetails(context.Background(), "london-weather")
	if err != nil || *d.Name != "Open-Meteo Historical Data at 51.53, -0.127" {
		t.Fatalf("sensor %+v %v", d, err)
	}
}

func TestOpenWeatherMap(t *testing.T) {
	db := sqldbtest.Open(t)
	f := newFake(t)
	in := newIngress(t, db, f)

	res, err := call(t, in, `{"source":"openweathermap","api_key":"KEY","latitude":51.53,"longitude":-0.127,"dt_from":"present","dt_to":"+24h"}`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sensor != "OpenWeatherMapForecast" || res.Kind != "forecast" || res.Hours != 25 || res.Readings != 7*25 {
		t.Fatalf("forecast %+v", res)
	}
	// Integral temperatures (12 rather than 12.0) are stored as floats, and
	// Unix times are UTC.
	temps := readings(t, db, "OpenWeatherMapForecast", Temperature)
	if len(temps) != 25 || !temps[0].Time.Equal(present) || temps[0].Value.Kind != dtbase.KindFloat || temps[0].Value.F != 12 {
		t.Fatalf("temperatures %+v", temps[:1])
	}
	rain := readings(t, db, "OpenWeatherMapForecast", Rain)
	if len(rain) != 25 || rain[0].Value.F != 0 {
		t.Fatalf("rain %+v", rain[:1])
	}

	in.OpenWeatherMapAPIKey = "KEY" // DT_OPENWEATHERMAP_APIKEY
	f.queries = nil
	res, err = call(t, in, `{"source":"OpenWeatherMap","latitude":51.53,"longitude":-0.127,"dt_from":"2024-03-03T06:00:00Z","dt_to":"present"}`)
	if err != nil {
		t.Fatal(err)
	}
	// 06:00 on the 3rd to 12:00 on the 5th, one time machine call a day.
	if res.Sensor != "OpenWeatherMapHistory" || res.Hours != 18+24+13 || len(f.queries) != 3 {
		t.Fatalf("history %+v, %d calls", res, len(f.queries))
	}
	rain = readings(t, db, "OpenWeatherMapHistory", Rain)
	wet := 0
	for _, r := range rain {
		if r.Value.F > 0 {
			wet++
		}
	}
	if len(rain) != 55 || wet == 0 {
		t.Fatalf("rain: %d readings, %d wet", len(rain), wet)
	}

	_, err = call(t, in, `{"source":"openweathermap","api_key":"WRONG","latitude":51.53,"longitude":-0.127,"dt_from":"present","dt_to":"+24h"}`)
	if dtbase.ErrorCode(err) != dtbase.EUNAVAILABLE || !strings.Contains(dtbase.ErrorMessage(err), "OpenWeatherMap answered 401: Invalid API key") {
		t.Fatalf("bad key: %v", err)
	}
}

func TestWeatherBadParameters(t *testing.T) {
	db := sqldbtest.Open(t)
	f := newFake(t)
	in := newIngress(t, db, f)
	for params, want := range map[string]string{
		`{"latitude":51.5,"longitude":0,"dt_from":"present","dt_to":"-2h"}`:                               "dt_from (2024-03-05T12:00:00Z) is after dt_to (2024-03-05T10:00:00Z)",
		`{"latitude":51.5,"longitude":0,"dt_from":"-2h","dt_to":"+2h"}`:                                   `The window spans the present: split it into a history call (dt_to "present") and a forecast call (dt_from "present")`,
		`{"latitude":51.5,"longitude":0,"dt_from":"-6d","dt_to":"-5d"}`:                                   "dt_from is more than 5 days in the past: history reaches back 5 days",
		`{"latitude":51.5,"longitude":0,"dt_from":"+1d","dt_to":"+3d"}`:                                   "dt_to is more than 2 days in the future: forecasts reach 2 days ahead",
		`{"latitude":51.5,"longitude":0,"dt_from":"-30m","dt_to":"present"}`:                              "The window is shorter than one hour",
		`{"latitude":51.5,"longitude":0,"dt_from":"yesterday","dt_to":"present"}`:                         `dt_from must be an ISO 8601 datetime, "present", or relative to the present such as "-48h" or "+2d"; got "yesterday"`,
		`{"latitude":51.5,"longitude":0,"dt_from":"-2h"}`:                                                 "Must provide dt_from and dt_to",
		`{"longitude":0,"dt_from":"-2h","dt_to":"present"}`:                                               "Must provide latitude and longitude",
		`{"latitude":91,"longitude":0,"dt_from":"-2h","dt_to":"present"}`:                                 "latitude must be within ±90 and longitude within ±180",
		`{"latitude":"north","longitude":0,"dt_from":"-2h","dt_to":"present"}`:                            "Invalid weather parameters: latitude must be a number, not string",
		`{"source":"metoffice","latitude":51.5,"longitude":0,"dt_from":"-2h","dt_to":"present"}`:          `Unknown weather source "metoffice": use "open-meteo" or "openweathermap"`,
		`{"source":"openweathermap","latitude":51.5,"longitude":0,"dt_from":"-2h","dt_to":"present"}`:     "Must provide api_key for the openweathermap source (or set DT_OPENWEATHERMAP_APIKEY)",
		`{"latitude":51.5,"longitude":0,"dt_from":"2024-03-05T11:59:55Z","dt_to":"2024-03-05T14:00:00Z"}`: "", // within 10 s of now is "present"
	} {
		_, err := call(t, in, params)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", params, err)
			}
			continue
		}
		if dtbase.ErrorCode(err) != dtbase.EINVALID || dtbase.ErrorMessage(err) != want {
			t.Errorf("%s:\n got  %v\n want %s", params, err, want)
		}
	}
	f.fail = 400
	_, err := call(t, in, `{"latitude":51.5,"longitude":0,"dt_from":"-2h","dt_to":"present"}`)
	if dtbase.ErrorCode(err) != dtbase.EUNAVAILABLE || dtbase.ErrorMessage(err) != "Open-Meteo answered 400: Latitude must be in range of -90 to 90°. Given: 91.0." {
		t.Fatalf("upstream failure: %v", err)
	}
}

func TestWMOIcons(t *testing.T) {
	for code, want := range map[int]string{0: "01d", 2: "03d", 3: "04d", 45: "50d", 53: "09d", 63: "10d", 75: "13d", 81: "09d", 95: "11d"} {
		if got, ok := wmoIcon(code, true); !ok || got != want {
			t.Errorf("code %d: %q", code, got)
		}
	}
	if got, _ := wmoIcon(61, false); got != "10n" {
		t.Errorf("night: %q", got)
	}
	if _, ok := wmoIcon(42, true); ok {
		t.Error("unknown code mapped")
	}
}
