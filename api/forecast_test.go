package api

import "testing"

// TestRunARIMAWithoutForecaster: a server built without a forecast service
// says so instead of failing.
func TestRunARIMAWithoutForecaster(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Forecasts = nil })
	wantAnswer(t, e.post("/model/run-arima", `{"sensors":["TRH1"],"measures":[{"name":"Temperature"}]}`), 400, "Forecasting is not enabled")
}
