package arima_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/forecast/arima"
)

// TestNewForecaster reads model specs into forecasters: defaults, settings,
// and each bad setting as an EINVALID that names it.
func TestNewForecaster(t *testing.T) {
	tests := []struct {
		name   string
		spec   dtbase.ForecastModelSpec
		want   string // the forecaster's description, or
		detail string // the error's message
	}{
		{"defaults", dtbase.ForecastModelSpec{Family: arima.Family}, "(4,1,2)(1,1,0)24 trend=n", ""},
		{"settings", dtbase.ForecastModelSpec{Settings: map[string]any{"order": []int{1, 0, 1}, "seasonal_order": []int{0, 1, 1, 24}, "trend": "c"}},
			"(1,0,1)(0,1,1)24 trend=c", ""},
		{"auto", dtbase.ForecastModelSpec{Auto: true, Settings: map[string]any{"order": []int{99, 0, 0}}}, "auto ARIMA, season 24", ""},
		{"bad order", dtbase.ForecastModelSpec{Settings: map[string]any{"order": []int{-1, 1, 0}}}, "", "order:"},
		{"short order", dtbase.ForecastModelSpec{Settings: map[string]any{"order": []int{1, 1}}}, "", "order must be 3 integers"},
		{"order of floats", dtbase.ForecastModelSpec{Settings: map[string]any{"order": []any{1.0, 1.0, 0.0}}}, "", "order must be 3 integers"},
		{"unknown trend", dtbase.ForecastModelSpec{Settings: map[string]any{"trend": "x"}}, "", "unknown trend"},
		{"trend not a string", dtbase.ForecastModelSpec{Settings: map[string]any{"trend": 1}}, "", "trend must be a string"},
		{"unknown setting", dtbase.ForecastModelSpec{Settings: map[string]any{"p": 4}}, "", `unknown ARIMA setting "p"`},
		{"auto season too long", dtbase.ForecastModelSpec{Auto: true, Settings: map[string]any{"seasonal_order": []int{0, 0, 0, 1000}}}, "", "season length must be between 0 and 168"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := arima.NewForecaster(tt.spec)
			if tt.detail != "" {
				if dtbase.ErrorCode(err) != dtbase.EINVALID || !strings.Contains(dtbase.ErrorMessage(err), tt.detail) {
					t.Fatalf("error %v, want EINVALID containing %q", err, tt.detail)
				}
				return
			}
			if err != nil || f.String() != tt.want {
				t.Fatalf("forecaster %v, %v; want %s", f, err, tt.want)
			}
		})
	}
}

// TestForecasterFit fits the default model to a daily cycle and forecasts
// with an interval around the mean; a series that is constant after
// differencing is refused with the reason.
func TestForecasterFit(t *testing.T) {
	ctx := context.Background()
	y := make([]float64, 10*24)
	for i := range y {
		y[i] = float64(i%24) + 0.1*float64((i*7919)%13)
	}
	f, err := arima.NewForecaster(dtbase.ForecastModelSpec{Settings: map[string]any{"order": []int{1, 0, 0}, "seasonal_order": []int{0, 1, 1, 24}}})
	if err != nil {
		t.Fatal(err)
	}
	if f.MinLength() <= 0 || f.MinLength() > len(y) {
		t.Fatalf("MinLength %d", f.MinLength())
	}
	fit, err := f.Fit(ctx, y)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := fit.Forecast(6, 0.32)
	if err != nil || len(fc.Mean) != 6 {
		t.Fatalf("forecast %+v, %v", fc, err)
	}
	for i := range fc.Mean {
		if !(fc.Lower[i] < fc.Mean[i] && fc.Mean[i] < fc.Upper[i]) {
			t.Errorf("step %d: %v not inside (%v, %v)", i, fc.Mean[i], fc.Lower[i], fc.Upper[i])
		}
	}
	if _, refitted, err := fit.Extend(append(y, y[:24]...)); err != nil || refitted {
		t.Errorf("extend: refitted %v, %v", refitted, err)
	}

	cycle := make([]float64, 10*24)
	for i := range cycle {
		cycle[i] = float64(i % 24)
	}
	if _, err := f.Fit(ctx, cycle); dtbase.ErrorCode(err) != dtbase.EINVALID || !strings.Contains(dtbase.ErrorMessage(err), "constant after differencing") {
		t.Errorf("a pure cycle: %v", err)
	}
}
