package arima

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// startParams returns constrained starting values for the optimiser,
// computed as statsmodels' SARIMAX.start_params does so that both start in
// the same basin of the likelihood: conditional least squares on the
// differenced series, first for the trend and non-seasonal ARMA terms, then
// separately for the seasonal ones. Coefficients that are not stationary or
// invertible are replaced by zeros. Like statsmodels, it drops missing
// values from the differenced series (and the matching rows of the trend)
// and runs the least squares on what remains as if it were contiguous.
func startParams(y []float64, spec Spec) []float64 {
	s := spec.season()
	w := difference(y, spec.Order.D, spec.Seasonal.D, s)

	var trendData [][]float64
	if k := spec.numTrend(); k > 0 {
		trendData = make([][]float64, len(w))
		for t := range w {
			row := make([]float64, 0, k)
			if spec.hasIntercept() {
				row = append(row, 1)
			}
			if spec.hasDrift() {
				row = append(row, float64(t+1))
			}
			trendData[t] = row
		}
	}
	if hasMissing(w) {
		var rows [][]float64
		for t, v := range w {
			if !math.IsNaN(v) && trendData != nil {
				rows = append(rows, trendData[t])
			}
		}
		trendData = rows
		w = observed(w)
	}
	nonSeasonal := conditionalSumOfSquares(w, spec.Order.P, 1, spec.Order.Q, trendData)
	if !isStationary(nonSeasonal.ar) {
		clear(nonSeasonal.ar)
	}
	if !isInvertible(nonSeasonal.ma) {
		clear(nonSeasonal.ma)
	}
	seasonal := conditionalSumOfSquares(w, spec.Seasonal.P, s, spec.Seasonal.Q, nil)
	if !isStationary(seasonal.ar) {
		clear(seasonal.ar)
	}
	if !isInvertible(seasonal.ma) {
		clear(seasonal.ma)
	}

	variance := nonSeasonal.variance
	if !nonSeasonal.hasVariance {
		if seasonal.hasVariance {
			variance = seasonal.variance
		} else {
			variance = dot(w, w) / float64(len(w))
		}
	}
	variance = max(variance, 1e-10)

	p := append([]float64(nil), nonSeasonal.trend...)
	p = append(p, nonSeasonal.ar...)
	p = append(p, nonSeasonal.ma...)
	p = append(p, seasonal.ar...)
	p = append(p, seasonal.ma...)
	return append(p, variance)
}

// cssEstimate is the result of conditionalSumOfSquares.
type cssEstimate struct {
	trend, ar, ma []float64
	variance      float64
	hasVariance   bool
}

// conditionalSumOfSquares mirrors statsmodels'
// SARIMAX._conditional_sum_squares for an ARMA model in lags step, 2·step,
// ...: the MA terms are regressed on the residuals of a long AR fit
// (Hannan-Rissanen's first step), all by least squares with the
// pseudo-inverse. If the series is too short for the lag matrices it
// returns zeros, as statsmodels does.
func conditionalSumOfSquares(x []float64, nAR, step, nMA int, trendData [][]float64) cssEstimate {
	kAR, kMA := nAR*step, nMA*step // highest lags
	kTrend := 0
	if len(trendData) > 0 {
		kTrend = len(trendData[0])
	}
	est := cssEstimate{
		trend: make([]float64, kTrend),
		ar:    make([]float64, nAR),
		ma:    make([]float64, nMA),
	}
	if kAR+kMA+kTrend == 0 {
		return est
	}
	n := len(x)
	longAR := 2 * kMA
	skip := max(longAR+kMA, kAR)
	// statsmodels' lagmat refuses a lag as long as the series.
	if (kMA > 0 && (longAR >= n || kMA >= n-longAR)) || (kAR > 0 && kAR >= n) {
		est.hasVariance = true
		residuals := make([]float64, 0, 2*nMA+n)
		residuals = append(residuals, make([]float64, 2*nMA)...)
		if n == 0 {
			est.variance = 1
			return est
		}
		mean := 0.0
		for _, v := range x {
			mean += v
		}
		mean /= float64(n)
		for _, v := range x {
			residuals = append(residuals, v-mean)
		}
		est.variance = meanSquare(residuals[nMA:])
		return est
	}

	var residuals []float64 // residuals[i] belongs to time i + longAR
	if kMA > 0 {
		rows := n - longAR
		X := mat.NewDense(rows, longAR, nil)
		Y := make([]float64, rows)
		for i := range rows {
			t := i + longAR
			Y[i] = x[t]
			for j := range longAR {
				X.Set(i, j, x[t-j-1])
			}
		}
		residuals = leastSquaresResiduals(X, Y, nil)
	}

	rows := n - skip
	cols := kTrend + nAR + nMA
	X := mat.NewDense(rows, cols, nil)
	Y := make([]float64, rows)
	for i := range rows {
		t := i + skip
		Y[i] = x[t]
		c := 0
		// statsmodels pairs the rows with the first trend rows, not those
		// at time t; this only affects starting values, kept for parity.
		for j := range kTrend {
			X.Set(i, c, trendData[i][j])
			c++
		}
		for j := 1; j <= nAR; j++ {
			X.Set(i, c, x[t-j*step])
			c++
		}
		for j := 1; j <= nMA; j++ {
			X.Set(i, c, residuals[t-j*step-longAR])
			c++
		}
	}
	coef := make([]float64, cols)
	resid := leastSquaresResiduals(X, Y, coef)
	copy(est.trend, coef[:kTrend])
	copy(est.ar, coef[kTrend:kTrend+nAR])
	copy(est.ma, coef[kTrend+nAR:])
	est.hasVariance = true
	if len(resid) > 1 {
		est.variance = meanSquare(resid[nMA:])
	} else {
		est.variance = variance(x)
	}
	return est
}

// leastSquaresResiduals solves min ‖Y - X b‖ with the Moore-Penrose
// pseudo-inverse (singular values below 1e-15 of the largest count as zero,
// NumPy's default), stores b in coef when it is not nil and returns the
// residuals Y - X b.
func leastSquaresResiduals(X *mat.Dense, Y []float64, coef []float64) []float64 {
	rows, cols := X.Dims()
	b := make([]float64, cols)
	var svd mat.SVD
	if rows > 0 && cols > 0 && svd.Factorize(X, mat.SVDThin) {
		values := svd.Values(nil)
		var u, v mat.Dense
		svd.UTo(&u)
		svd.VTo(&v)
		cutoff := 1e-15 * values[0]
		for k, sv := range values {
			if sv <= cutoff {
				continue
			}
			// b += v_k (u_kᵀ Y) / s_k
			proj := 0.0
			for i := range rows {
				proj += u.At(i, k) * Y[i]
			}
			proj /= sv
			for j := range cols {
				b[j] += v.At(j, k) * proj
			}
		}
	}
	if coef != nil {
		copy(coef, b)
	}
	resid := make([]float64, rows)
	for i := range rows {
		fitted := 0.0
		for j := range cols {
			fitted += X.At(i, j) * b[j]
		}
		resid[i] = Y[i] - fitted
	}
	return resid
}

// difference applies (1 - L)^d (1 - L^s)^sd to y, dropping the d + sd·s
// leading values that have no complete history.
func difference(y []float64, d, sd, s int) []float64 {
	out := append([]float64(nil), y...)
	for range sd {
		if len(out) <= s {
			return nil
		}
		for t := len(out) - 1; t >= s; t-- {
			out[t] -= out[t-s]
		}
		out = out[s:]
	}
	for range d {
		if len(out) <= 1 {
			return nil
		}
		for t := len(out) - 1; t >= 1; t-- {
			out[t] -= out[t-1]
		}
		out = out[1:]
	}
	return out
}

func dot(a, b []float64) float64 {
	sum := 0.0
	for i := range a {
		sum += a[i] * b[i]
	}
	return sum
}

func meanSquare(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	return dot(x, x) / float64(len(x))
}

func variance(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	sum := 0.0
	for _, v := range x {
		sum += (v - mean) * (v - mean)
	}
	return sum / float64(len(x))
}
