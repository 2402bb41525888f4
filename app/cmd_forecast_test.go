package app

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestForecastCommand runs dtbase forecast arima on the demo data.
func TestForecastCommand(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), nil)
	if code, out := run(t, env, "", "demo"); code != 0 {
		t.Fatalf("demo: %d %s", code, out)
	}
	const sensor = "c4:93:00:10:09:e5" // a temperature and humidity sensor of the demo
	for _, s := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"forecast"}, 2, "the only forecaster is 'arima'"},
		{[]string{"forecast", "--help"}, 0, "Usage: dtbase forecast arima"},
		{[]string{"forecast", "arima", "--help"}, 0, "-seasonal-order string"},
		{[]string{"forecast", "arima", "--measure", "temperature"}, 2, "sensors: give at least one"},
		{[]string{"forecast", "arima", "--sensor", sensor, "--measure", "temperature", "--order", "4,1"}, 2, "--order: want 3"},
		{[]string{"forecast", "arima", "--sensor", sensor, "--measure", "temperature", "--fill", "zero"}, 2, "fill must be"},
		{[]string{"forecast", "arima", "--sensor", sensor, "--measure", "temperature", "--predict-from", "soon"}, 2, "--predict-from"},
		{[]string{"forecast", "arima", "--sensor", "nope", "--measure", "temperature"}, 1, "Sensor 'nope' does not exist"},
		{[]string{"forecast", "arima", "--sensor", sensor, "--measure", "co2"}, 1, "has no measure 'co2'"},
		{[]string{"forecast", "arima", "--sensor", sensor, "--measure", "temperature", "--measure", "relative humidity=%", "--hours", "24"}, 0, "2 forecast(s) stored"},
		{[]string{"forecast", "arima", "--sensor", sensor, "--measure", "temperature", "--auto", "--hours", "6"}, 0, "1 forecast(s) stored"},
		{[]string{"forecast", "arima", "--sensor", sensor, "--measure", "vpd", "--hours", "6"}, 0, "1 forecast(s) stored"}, // derived
		{[]string{"forecast", "arima", "--sensor", sensor, "--measure", "temperature", "--mins-from-the-hour", "307445735"}, 2, "between 0 and 30"},
	} {
		t.Run(strings.Join(s.args, " "), func(t *testing.T) {
			code, out := run(t, env, "", s.args...)
			if code != s.code || !strings.Contains(out, s.out) {
				t.Errorf("exit %d, output %q; want %d and %q", code, out, s.code, s.out)
			}
		})
	}

	// A rerun reuses the model and measures; --json prints the runs.
	code, out := run(t, env, "", "forecast", "arima", "--sensor", sensor, "--measure", "temperature", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var res struct {
		Runs []struct {
			RunID        int64  `json:"run_id"`
			MeasureName  string `json:"measure_name"`
			Spec         string `json:"spec"`
			ForecastFrom string `json:"forecast_from"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Runs) != 1 || res.Runs[0].RunID <= 0 ||
		res.Runs[0].MeasureName != "temperature" || res.Runs[0].Spec != "(4,1,2)(1,1,0)24 trend=n" {
		t.Fatalf("--json output %q: %v", out, err)
	}
}
