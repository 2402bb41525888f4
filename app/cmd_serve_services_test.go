package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// fakeOpenMeteo answers like Open-Meteo's forecast API, with hours around
// the real present.
func fakeOpenMeteo(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		past, _ := strconv.Atoi(r.URL.Query().Get("past_days"))
		days, _ := strconv.Atoi(r.URL.Query().Get("forecast_days"))
		start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -past)
		var times []string
		var temps, hum, pres, wind, dir, rain, code, day []float64
		for h := 0; h < 24*(past+days); h++ {
			ts := start.Add(time.Duration(h) * time.Hour)
			times = append(times, ts.Format("2006-01-02T15:04"))
			temps = append(temps, 10+float64(ts.Hour())/4)
			hum, pres, wind, dir, rain, code, day = append(hum, 80), append(pres, 1012.4), append(wind, 3.5), append(dir, 240), append(rain, 0), append(code, 3), append(day, 1)
		}
		json.NewEncoder(w).Encode(map[string]any{"timezone": "UTC", "hourly_units": map[string]string{"wind_speed_10m": "m/s"},
			"hourly": map[string]any{"time": times, "temperature_2m": temps, "relative_humidity_2m": hum, "surface_pressure": pres,
				"wind_speed_10m": wind, "wind_direction_10m": dir, "rain": rain, "weather_code": code, "is_day": day}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type runEntry struct {
	RunID        int64           `json:"run_id"`
	ServiceName  string          `json:"service_name"`
	Status       string          `json:"status"`
	ScheduleName *string         `json:"schedule_name"`
	ResponseJSON json.RawMessage `json:"response_json"`
	Error        *string         `json:"error"`
}

// TestServeServices runs dtbase serve end to end: the built-in services are
// registered on the first start, the weather ingress runs through the API
// as a service and on a schedule (authenticated with the runner's internal
// token), and a deleted built-in stays deleted after a restart.
func TestServeServices(t *testing.T) {
	dir := t.TempDir()
	env := testEnvFor(t, dir, map[string]string{"DT_DEFAULT_USER_PASS": "pw", "DT_OPEN_METEO_URL": fakeOpenMeteo(t).URL})
	srv := start(t, env)
	_, pair := postJSON(t, srv.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "pw"})
	token, _ := pair["access_token"].(string)

	code, body := apiCall(t, http.MethodGet, srv.url+"/service/list-services", token, nil)
	if code != 200 || string(body) != `[{"name":"weather-ingress","url":"/service/builtin/weather","http_method":"POST"},{"name":"arima-forecast","url":"/model/run-arima","http_method":"POST"}]` {
		srv.stop()
		t.Fatalf("list-services: %d %s", code, body)
	}
	code, body = apiCall(t, http.MethodGet, srv.url+"/openapi.json", token, nil)
	if code != 200 || !strings.Contains(string(body), `"/service/builtin/weather"`) || !strings.Contains(string(body), `"/service/insert-schedule"`) {
		t.Fatalf("openapi: %d, built-in route missing", code)
	}
	code, body = apiCall(t, http.MethodPost, srv.url+"/service/list-parameter-sets", token, map[string]any{"service_name": "weather-ingress"})
	if code != 200 || !strings.Contains(string(body), `"name":"london-history"`) || !strings.Contains(string(body), `"name":"london-forecast"`) {
		t.Fatalf("parameter sets: %d %s", code, body)
	}

	code, body = apiCall(t, http.MethodPost, srv.url+"/service/run-service", token, map[string]any{"service_name": "weather-ingress", "parameter_set_name": "london-history"})
	if code != 200 {
		t.Fatalf("run weather-ingress: %d %s", code, body)
	}
	var run runEntry
	_, body = apiCall(t, http.MethodPost, srv.url+"/service/get-run", token, map[string]any{"run_id": 1})
	json.Unmarshal(body, &run)
	var result struct {
		Detail   string `json:"detail"`
		Readings int    `json:"readings"`
	}
	json.Unmarshal(run.ResponseJSON, &result)
	if run.Status != "succeeded" || result.Detail != "Weather data ingested." || result.Readings < 7*40 {
		t.Fatalf("weather run: %s", body)
	}
	code, body = apiCall(t, http.MethodPost, srv.url+"/sensor/list-sensors", token, map[string]any{})
	if code != 200 || !strings.Contains(string(body), `"unique_identifier":"OpenMeteoHistory"`) {
		t.Fatalf("list-sensors: %d %s", code, body)
	}

	// On a schedule, every second.
	code, body = apiCall(t, http.MethodPost, srv.url+"/service/insert-schedule", token,
		map[string]any{"service_name": "weather-ingress", "name": "each-second", "cron": "* * * * * *", "parameter_set_name": "london-forecast"})
	if code != 201 {
		t.Fatalf("insert-schedule: %d %s", code, body)
	}
	var scheduled []runEntry
	deadline := time.Now().Add(2 * time.Minute) // only a hang, not a busy machine, reaches it
	for len(scheduled) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		var runs []runEntry
		_, body = apiCall(t, http.MethodPost, srv.url+"/service/list-runs", token, map[string]any{"service_name": "weather-ingress"})
		json.Unmarshal(body, &runs)
		scheduled = scheduled[:0]
		for _, r := range runs {
			if r.ScheduleName != nil && *r.ScheduleName == "each-second" && r.Status != "pending" && r.Status != "running" {
				scheduled = append(scheduled, r)
			}
		}
	}
	if len(scheduled) < 2 {
		t.Fatalf("scheduled runs: %s", body)
	}
	for _, r := range scheduled {
		if r.Status != "succeeded" {
			t.Fatalf("scheduled run %d: %s %v", r.RunID, r.Status, *r.Error)
		}
	}
	apiCall(t, http.MethodPost, srv.url+"/service/disable-schedule", token, map[string]any{"service_name": "weather-ingress", "name": "each-second"})
	if code, body := apiCall(t, http.MethodPost, srv.url+"/service/delete-service", token, map[string]any{"name": "arima-forecast"}); code != 200 {
		t.Fatalf("delete arima-forecast: %d %s", code, body)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("stop: %d", code)
	}
	if sqldbtest.PostgresURL() == "" {
		if info, err := os.Stat(filepath.Join(dir, "secret-key")); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("secret key file: %v %v", info, err)
		}
	}

	again := start(t, env)
	defer again.stop()
	_, pair = postJSON(t, again.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "pw"})
	token, _ = pair["access_token"].(string)
	code, body = apiCall(t, http.MethodGet, again.url+"/service/list-services", token, nil)
	if code != 200 || string(body) != `[{"name":"weather-ingress","url":"/service/builtin/weather","http_method":"POST"}]` {
		t.Fatalf("after restart: %d %s", code, body)
	}
}
