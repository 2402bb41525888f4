package arima

import (
	"math"
	"testing"
)

// These tests check forecasts of models whose predictions are known in
// closed form, which exercises the differencing states independently of
// the statsmodels fixtures.

var testSeries = []float64{10.2, 11.0, 10.7, 12.1, 12.9, 12.4, 13.8, 14.6, 14.1, 15.3, 16.0, 15.2, 16.9, 17.4}

func mustModel(t *testing.T, spec Spec, params Params) *Model {
	t.Helper()
	m, err := NewModel(testSeries, spec, params)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkForecast forecasts steps ahead of m at the 95% level and checks
// step h (1, 2, … in order) against the mean and variance want(h) gives.
func checkForecast(t *testing.T, m *Model, steps int, want func(h int) (mean, variance float64)) {
	t.Helper()
	fc, err := m.Forecast(steps, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	const z95 = 1.959963984540054
	for h := 1; h <= steps; h++ {
		mean, variance := want(h)
		i, se, tol := h-1, math.Sqrt(variance), 1e-9*max(1, math.Abs(mean))
		if math.Abs(fc.Mean[i]-mean) > tol || math.Abs(fc.StdErr[i]-se) > 1e-9*se ||
			math.Abs(fc.Lower[i]-(mean-z95*se)) > tol || math.Abs(fc.Upper[i]-(mean+z95*se)) > tol {
			t.Errorf("step %d: mean %.12g se %.12g [%.12g, %.12g], want mean %.12g se %.12g",
				h, fc.Mean[i], fc.StdErr[i], fc.Lower[i], fc.Upper[i], mean, se)
		}
	}
}

func TestForecastRandomWalk(t *testing.T) {
	const sigma2 = 0.7
	m := mustModel(t, Spec{Order: Order{D: 1}}, Params{Sigma2: sigma2})
	last := testSeries[len(testSeries)-1]
	checkForecast(t, m, 5, func(h int) (float64, float64) { return last, sigma2 * float64(h) })
}

func TestForecastSeasonalRandomWalk(t *testing.T) {
	const sigma2, s = 0.3, 4
	m := mustModel(t, Spec{Seasonal: SeasonalOrder{D: 1, S: s}}, Params{Sigma2: sigma2})
	n := len(testSeries)
	checkForecast(t, m, 9, func(h int) (float64, float64) {
		// The value one season before, and one more innovation per season.
		return testSeries[n-s+(h-1)%s], sigma2 * float64((h+s-1)/s)
	})
}

func TestForecastTwiceIntegrated(t *testing.T) {
	const sigma2 = 0.5
	m := mustModel(t, Spec{Order: Order{D: 2}}, Params{Sigma2: sigma2})
	n := len(testSeries)
	slope := testSeries[n-1] - testSeries[n-2]
	sum := 0.0
	checkForecast(t, m, 4, func(h int) (float64, float64) {
		sum += float64(h * h) // y_{n+h} carries e_{n+j} with weight h-j+1
		return testSeries[n-1] + float64(h)*slope, sigma2 * sum
	})
}

// TestForecastDriftTimeIndex pins down the trend's time index: with d = 1
// the k-th difference (k ≥ 2) gets drift·(k-1), and forecasts continue
// that count.
func TestForecastDriftTimeIndex(t *testing.T) {
	const sigma2, drift = 0.4, 0.05
	m := mustModel(t, Spec{Order: Order{D: 1}, Trend: TrendLinear}, Params{Drift: drift, Sigma2: sigma2})
	nDiff := len(testSeries) - 1
	level := testSeries[len(testSeries)-1]
	checkForecast(t, m, 3, func(h int) (float64, float64) {
		level += drift * float64(nDiff+h-1)
		return level, sigma2 * float64(h)
	})
}

// TestFitWhiteNoiseWithConstant checks that the estimates are the sample
// mean and the sample variance with divisor n, the closed-form MLE.
func TestFitWhiteNoiseWithConstant(t *testing.T) {
	m, err := Fit(testSeries, Spec{Trend: TrendConstant})
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for _, v := range testSeries {
		mean += v
	}
	mean /= float64(len(testSeries))
	if !m.Converged ||
		math.Abs(m.Params.Intercept-mean) > 1e-6*mean ||
		math.Abs(m.Params.Sigma2-variance(testSeries)) > 1e-6*variance(testSeries) {
		t.Errorf("got intercept %v, sigma2 %v (converged %v), want %v, %v",
			m.Params.Intercept, m.Params.Sigma2, m.Converged, mean, variance(testSeries))
	}
	n := float64(len(testSeries))
	wantLLF := -n / 2 * (math.Log(2*math.Pi*variance(testSeries)) + 1)
	if math.Abs(m.LogLikelihood-wantLLF) > 1e-9*math.Abs(wantLLF) {
		t.Errorf("log-likelihood %v, want %v", m.LogLikelihood, wantLLF)
	}
}
