package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestDemoCommand(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), nil)
	for _, s := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"demo", "--help"}, 0, "Load the CROP farm demo"},
		{[]string{"demo", "extra"}, 2, "unexpected argument"},
		{[]string{"demo"}, 0, "32 sensors, 24231 readings"},
		{[]string{"demo"}, 0, "already has sensors; demo not loaded"},
	} {
		t.Run(strings.Join(s.args, " "), func(t *testing.T) {
			code, out := run(t, env, "", s.args...)
			if code != s.code || !strings.Contains(out, s.out) {
				t.Errorf("exit %d, output %q; want %d and %q", code, out, s.code, s.out)
			}
		})
	}
}

// TestServeDemo checks that serve --demo populates an empty database and
// that a restart with --demo leaves it as it is.
func TestServeDemo(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), map[string]string{"DT_DEFAULT_USER_PASS": "pw"})
	for i, want := range []string{"loaded the CROP farm demo", "demo data not loaded"} {
		inst := start(t, env, "--demo")
		status, pair := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "pw"})
		if status != 200 {
			t.Fatalf("login: %d", status)
		}
		token, _ := pair["access_token"].(string)
		if status, body := postJSON(t, inst.url+"/sensor/get-sensor", token, map[string]string{"unique_identifier": "c4:93:00:10:12:95"}); status != 200 || body["name"] != "Farm_T/RH_16B4" {
			t.Errorf("start %d: get-sensor %d %v", i, status, body)
		}
		if code := inst.stop(); code != 0 {
			t.Errorf("serve exited with %d", code)
		}
		if !strings.Contains(inst.stderr.String(), want) {
			t.Errorf("start %d: log lacks %q: %s", i, want, inst.stderr)
		}
	}
}

// TestDemoBuiltinParameterSets runs every parameter set of the built-in
// services on the demo, loaded by serve --demo or by dtbase demo before the
// first start, and expects each run to succeed. The weather ingress calls a
// local fake of Open-Meteo through DT_OPEN_METEO_URL.
func TestDemoBuiltinParameterSets(t *testing.T) {
	meteo := fakeOpenMeteo(t)
	for _, mode := range []string{"serve --demo", "demo, then serve"} {
		t.Run(mode, func(t *testing.T) {
			env := testEnvFor(t, t.TempDir(), map[string]string{"DT_DEFAULT_USER_PASS": "pw", "DT_OPEN_METEO_URL": meteo.URL})
			var inst *instance
			if mode == "serve --demo" {
				inst = start(t, env, "--demo")
			} else {
				if code, out := run(t, env, "", "demo"); code != 0 {
					t.Fatalf("demo: %d %s", code, out)
				}
				inst = start(t, env)
			}
			defer inst.stop()
			_, pair := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "pw"})
			token, _ := pair["access_token"].(string)
			code, body := apiCall(t, http.MethodPost, inst.url+"/service/list-parameter-sets", token, map[string]any{})
			var sets []struct {
				Name        string `json:"name"`
				ServiceName string `json:"service_name"`
			}
			if err := json.Unmarshal(body, &sets); code != 200 || err != nil {
				t.Fatalf("list-parameter-sets: %d %s", code, body)
			}
			var names []string
			for _, s := range sets {
				names = append(names, s.ServiceName+"/"+s.Name)
			}
			if want := "weather-ingress/crop-farm-history weather-ingress/crop-farm-forecast arima-forecast/crop-temperature"; strings.Join(names, " ") != want {
				t.Fatalf("parameter sets %v, want %s", names, want)
			}
			for _, s := range sets {
				code, body := apiCall(t, http.MethodPost, inst.url+"/service/run-service", token, map[string]any{"service_name": s.ServiceName, "parameter_set_name": s.Name})
				var resp struct {
					RunID int64 `json:"run_id"`
				}
				if json.Unmarshal(body, &resp); code != 200 {
					t.Fatalf("run %s/%s: %d %s", s.ServiceName, s.Name, code, body)
				}
				_, body = apiCall(t, http.MethodPost, inst.url+"/service/get-run", token, map[string]any{"run_id": resp.RunID})
				var got runEntry
				if json.Unmarshal(body, &got); got.Status != "succeeded" {
					t.Errorf("run %s/%s: %s", s.ServiceName, s.Name, body)
				}
			}
		})
	}
}

// TestDemoAfterBuiltins checks that the demo loaded into a database whose
// built-in services were registered before gives them its parameter sets.
func TestDemoAfterBuiltins(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), map[string]string{"DT_DEFAULT_USER_PASS": "pw"})
	start(t, env).stop()
	if code, out := run(t, env, "", "demo"); code != 0 {
		t.Fatalf("demo: %d %s", code, out)
	}
	inst := start(t, env)
	defer inst.stop()
	_, pair := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "pw"})
	token, _ := pair["access_token"].(string)
	_, body := apiCall(t, http.MethodPost, inst.url+"/service/list-parameter-sets", token, map[string]any{"service_name": "arima-forecast"})
	if !strings.Contains(string(body), `"name":"crop-temperature"`) || !strings.Contains(string(body), `"name":"london-temperature"`) {
		t.Errorf("arima-forecast parameter sets: %s", body)
	}
}
