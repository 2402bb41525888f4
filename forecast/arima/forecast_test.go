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

func checkForecast(t *testing.T, fc Forecast, wantMean, wantVar []float64) {
	t.Helper()
	const z95 = 1.959963984540054
	for h := range wantMean {
		se := math.Sqrt(wantVar[h])
		if math.Abs(fc.Mean[h]-wantMean[h]) > 1e-9*max(1, math.Abs(wantMean[h])) ||
			math.Abs(fc.StdErr[h]-se) > 1e-9*se ||
			math.Abs(fc.Lower[h]-(wantMean[h]-z95*se)) > 1e-9*max(1, math.Abs(wantMean[h])) ||
			math.Abs(fc.Upper[h]-(wantMean[h]+z95*se)) > 1e-9*max(1, math.Abs(wantMean[h])) {
			t.Errorf("step %d: mean %.12g se %.12g [%.12g, %.12g], want mean %.12g se %.12g",
				h+1, fc.Mean[h], fc.StdErr[h], fc.Lower[h], fc.Upper[h], wantMean[h], se)
		}
	}
}

func TestForecastRandomWalk(t *testing.T) {
	const sigma2 = 0.7
	m := mustModel(t, Spec{Order: Order{D: 1}}, Params{Sigma2: sigma2})
	fc, err := m.Forecast(5, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	last := testSeries[len(testSeries)-1]
	var mean, variance []float64
	for h := 1; h <= 5; h++ {
		mean = append(mean, last)
		variance = append(variance, sigma2*float64(h))
	}
	checkForecast(t, fc, mean, variance)
}

func TestForecastSeasonalRandomWalk(t *testing.T) {
	const sigma2, s = 0.3, 4
	m := mustModel(t, Spec{Seasonal: SeasonalOrder{D: 1, S: s}}, Params{Sigma2: sigma2})
	fc, err := m.Forecast(9, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	n := len(testSeries)
	var mean, variance []float64
	for h := 1; h <= 9; h++ {
		// The value one season before, and one more innovation per season.
		mean = append(mean, testSeries[n-s+(h-1)%s])
		variance = append(variance, sigma2*float64((h+s-1)/s))
	}
	checkForecast(t, fc, mean, variance)
}

func TestForecastTwiceIntegrated(t *testing.T) {
	const sigma2 = 0.5
	m := mustModel(t, Spec{Order: Order{D: 2}}, Params{Sigma2: sigma2})
	fc, err := m.Forecast(4, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	n := len(testSeries)
	slope := testSeries[n-1] - testSeries[n-2]
	var mean, variance []float64
	sum := 0.0
	for h := 1; h <= 4; h++ {
		mean = append(mean, testSeries[n-1]+float64(h)*slope)
		sum += float64(h * h) // y_{n+h} carries e_{n+j} with weight h-j+1
		variance = append(variance, sigma2*sum)
	}
	checkForecast(t, fc, mean, variance)
}

// TestForecastDriftTimeIndex pins down the trend's time index: with d = 1
// the k-th difference (k ≥ 2) gets drift·(k-1), and forecasts continue
// that count.
func TestForecastDriftTimeIndex(t *testing.T) {
	const sigma2, drift = 0.4, 0.05
	m := mustModel(t, Spec{Order: Order{D: 1}, Trend: TrendLinear}, Params{Drift: drift, Sigma2: sigma2})
	fc, err := m.Forecast(3, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	nDiff := len(testSeries) - 1
	level := testSeries[len(testSeries)-1]
	var mean, variance []float64
	for h := 1; h <= 3; h++ {
		level += drift * float64(nDiff+h-1)
		mean = append(mean, level)
		variance = append(variance, sigma2*float64(h))
	}
	checkForecast(t, fc, mean, variance)
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
