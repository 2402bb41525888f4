package arima

import (
	"math"
	"testing"
)

// TestFilterLevelsMatchesExactOrigin checks the exact diffuse filter, which
// forecasts from series with gaps, against the construction used for
// complete series, where the differencing states at the forecast origin
// are read off the data: both must give the same state and covariance.
func TestFilterLevelsMatchesExactOrigin(t *testing.T) {
	for _, f := range loadFixtures(t) {
		if hasMissing(f.Series) {
			continue
		}
		spec := f.spec()
		m, err := NewModel(f.Series, spec, paramsFromVector(spec, f.Params))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		state, cov, err := m.ss.filterLevels(f.Series)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		// States are compared relative to their size or to the largest
		// standard deviation, covariances relative to the largest
		// variance: the differencing states have none, being known.
		n := m.ss.n
		largest := 0.0
		for i := range n {
			largest = max(largest, m.lastCov[i*n+i])
		}
		for i := range n {
			if math.Abs(state[i]-m.lastState[i]) > 1e-8*max(math.Sqrt(largest), math.Abs(m.lastState[i])) {
				t.Errorf("%s: state %d = %.12g, want %.12g", f.Name, i, state[i], m.lastState[i])
			}
			for k := range n {
				if math.Abs(cov[i*n+k]-m.lastCov[i*n+k]) > 1e-8*largest {
					t.Errorf("%s: cov[%d][%d] = %.12g, want %.12g", f.Name, i, k, cov[i*n+k], m.lastCov[i*n+k])
				}
			}
		}
	}
}

// TestPredictMissingMatchesPredictCov checks the specialised covariance
// prediction of the likelihood filter against the general sparse one.
func TestPredictMissingMatchesPredictCov(t *testing.T) {
	spec := Spec{Order: Order{P: 2, Q: 1}, Seasonal: SeasonalOrder{P: 1, Q: 1, S: 4}, Trend: TrendConstant}
	ss := newStateSpace(spec)
	if err := ss.setParams([]float64{0.3, 0.5, -0.2, 0.4, 0.6, -0.3, 1.3}); err != nil {
		t.Fatal(err)
	}
	r := ss.arma
	// Any symmetric positive semi-definite matrix will do; perturb the
	// stationary covariance so that it is not a fixed point.
	P := append([]float64(nil), ss.initialCov...)
	for i := range r {
		for k := range r {
			P[i*r+k] += 0.1 * float64((i+1)*(k+1)) / float64(r*r)
		}
	}
	want := append([]float64(nil), P...)
	ss.predictCov(want, make([]float64, r*r))
	a := append([]float64(nil), ss.initialState...)
	a[0] += 2
	wantState := make([]float64, r)
	ss.transitionTimes(wantState, a)
	wantState[0] += ss.trendAt(5)

	ss.predictMissing(a, P, make([]float64, r), 5)
	for i := range r {
		if math.Abs(a[i]-wantState[i]) > 1e-12 {
			t.Errorf("state %d = %.15g, want %.15g", i, a[i], wantState[i])
		}
		for k := i; k < r; k++ { // predictMissing keeps the upper triangle
			if math.Abs(P[i*r+k]-want[i*r+k]) > 1e-12 {
				t.Errorf("P[%d][%d] = %.15g, want %.15g", i, k, P[i*r+k], want[i*r+k])
			}
		}
	}
}

// TestLogLikelihoodSkipsMissing compares the filter with the closed-form
// likelihood of a Gaussian AR(1) with a gap: each observation given the
// last observed one, k steps back, has mean φ^k y and variance
// σ²(1 - φ^{2k})/(1 - φ²).
func TestLogLikelihoodSkipsMissing(t *testing.T) {
	const phi, sigma2 = 0.6, 1.7
	nan := math.NaN()
	y := []float64{0.4, -1.1, nan, nan, 0.9, 1.6, nan, 0.2, -0.3}
	m, err := NewModel(y, Spec{Order: Order{P: 1}}, Params{AR: []float64{phi}, Sigma2: sigma2})
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	last, gap := 0.0, -1 // gap < 0: no previous observation yet
	for _, v := range y {
		if math.IsNaN(v) {
			gap++
			continue
		}
		mean, variance := 0.0, sigma2/(1-phi*phi)
		if gap >= 0 {
			k := float64(gap + 1)
			mean = math.Pow(phi, k) * last
			variance = sigma2 * (1 - math.Pow(phi, 2*k)) / (1 - phi*phi)
		}
		want -= 0.5 * (math.Log(2*math.Pi*variance) + (v-mean)*(v-mean)/variance)
		last, gap = v, 0
	}
	if math.Abs(m.LogLikelihood-want) > 1e-12*math.Abs(want) {
		t.Errorf("log-likelihood %.15g, want %.15g", m.LogLikelihood, want)
	}
	if m.NObs != len(y) || m.NObsEffective != len(y) {
		t.Errorf("nobs %d, %d effective, want %d for both", m.NObs, m.NObsEffective, len(y))
	}
}

// TestForecastWithMissingEnd checks forecasts from a random walk whose
// last values are missing: the forecast continues from the last observed
// value with one more innovation per missing step.
func TestForecastWithMissingEnd(t *testing.T) {
	const sigma2 = 0.7
	nan := math.NaN()
	y := append(append([]float64(nil), testSeries...), nan, nan)
	y[3] = nan // a gap in the middle changes nothing for a random walk
	m, err := NewModel(y, Spec{Order: Order{D: 1}}, Params{Sigma2: sigma2})
	if err != nil {
		t.Fatal(err)
	}
	last := testSeries[len(testSeries)-1]
	checkForecast(t, m, 4, func(h int) (float64, float64) { return last, sigma2 * float64(h+2) })
}

// TestForecastBridgesGap checks that forecasts use what the levels say
// across a gap although the differences there are missing: a random walk
// with drift predicts from its last value even when gaps leave few of its
// differences observed.
func TestForecastBridgesGap(t *testing.T) {
	const sigma2, drift = 0.5, 0.3
	nan := math.NaN()
	y := []float64{1, 1.4, 1.9, nan, 2.5, 2.6, nan, 3.1, 3.3}
	m, err := NewModel(y, Spec{Order: Order{D: 1}, Trend: TrendConstant}, Params{Intercept: drift, Sigma2: sigma2})
	if err != nil {
		t.Fatal(err)
	}
	checkForecast(t, m, 2, func(h int) (float64, float64) { return 3.3 + float64(h)*drift, float64(h) * sigma2 })
}
