package arima

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Forecast holds predictions for the steps after the end of the series.
// Index h is the prediction for h+1 steps ahead.
type Forecast struct {
	// Mean is the conditional mean of each future value.
	Mean []float64
	// StdErr is the standard deviation of each prediction error. It
	// accounts for future innovations but, as in statsmodels, not for the
	// uncertainty of the estimated parameters.
	StdErr []float64
	// Lower and Upper bound the central 1-Alpha prediction interval
	// Mean ± z_{1-Alpha/2}·StdErr.
	Lower, Upper []float64
	// Alpha is the significance level of the intervals.
	Alpha float64
}

// Forecast predicts the steps values that follow the series the model was
// fitted to or built on, with (1-alpha) prediction intervals: alpha = 0.05
// gives 95% intervals. steps must be positive and alpha in (0, 1). m must
// come from Fit or NewModel.
func (m *Model) Forecast(steps int, alpha float64) (Forecast, error) {
	if steps < 1 {
		return Forecast{}, fmt.Errorf("arima: forecast steps must be positive, got %d", steps)
	}
	if !(alpha > 0 && alpha < 1) {
		return Forecast{}, fmt.Errorf("arima: forecast alpha must lie in (0, 1), got %v", alpha)
	}
	ss := m.ss
	n := ss.n
	state := append([]float64(nil), m.lastState...)
	cov := append([]float64(nil), m.lastCov...)
	next := make([]float64, n)
	work := make([]float64, n*n)
	z := distuv.UnitNormal.Quantile(1 - alpha/2)
	fc := Forecast{
		Mean:   make([]float64, steps),
		StdErr: make([]float64, steps),
		Lower:  make([]float64, steps),
		Upper:  make([]float64, steps),
		Alpha:  alpha,
	}
	for h := range steps {
		mean, variance := 0.0, 0.0
		for _, i := range ss.design {
			mean += state[i]
			for _, j := range ss.design {
				variance += cov[i*n+j]
			}
		}
		se := math.Sqrt(max(variance, 0))
		fc.Mean[h], fc.StdErr[h] = mean, se
		fc.Lower[h], fc.Upper[h] = mean-z*se, mean+z*se
		if h == steps-1 {
			break
		}
		// Without an observation the prediction just moves forward:
		// a ← T a + c_t, P ← T P Tᵀ + σ² R Rᵀ.
		ss.transitionTimes(next, state)
		next[ss.diff] += ss.trendAt(m.NObsEffective + h)
		copy(state, next)
		ss.predictCov(cov, work)
	}
	return fc, nil
}
