package arima

import (
	"errors"
	"math"
)

// Missing values are NaN. The likelihood handles them on the differenced
// series, where a missing y_t makes every difference that involves it
// missing too (statsmodels' simple differencing): logLikelihood skips the
// update step there. Forecasts instead condition on everything observed in
// levels, which with gaps is more than the observed differences carry: with
// y_2 missing, y_3 - y_1 is still known although neither first difference
// that involves y_2 is. They come from filterLevels, the exact diffuse
// Kalman filter on the full state space with differencing states, which is
// what statsmodels' SARIMAX(use_exact_diffuse=True) computes.

// diffuseTolerance is the variance F_∞ at or below which an observation
// counts as carrying no information about the diffuse states; statsmodels'
// tolerance_diffuse has the same value. Diffuse variances are sums of small
// integers here (T has integer entries on the differencing states), so
// nothing in between occurs except rounding error.
const diffuseTolerance = 1e-8

var errUnresolvedDiffuse = errors.New("the observed values do not determine every differencing state, so forecasts would have infinite variance")

// hasMissing reports whether y contains NaN.
func hasMissing(y []float64) bool {
	for _, v := range y {
		if math.IsNaN(v) {
			return true
		}
	}
	return false
}

// observed returns the values of y that are not NaN, in order.
func observed(y []float64) []float64 {
	out := make([]float64, 0, len(y))
	for _, v := range y {
		if !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	return out
}

// filterLevels runs the exact diffuse Kalman filter (Koopman 1997; Durbin
// and Koopman 2012, §5.2) over the series y in levels, skipping the update
// at missing values, and returns the prediction of the state for time
// len(y) and its covariance. ss is the full state space form, with
// differencing states, and its parameters must be set.
//
// The differencing states start diffuse, with covariance P_* + κ·P_∞ for
// κ → ∞ and P_∞ the identity on them; the ARMA block starts from its
// stationary distribution. While an observation's diffuse variance
// F_∞ = Z P_∞ Zᵀ is positive, the update resolves one diffuse direction:
//
//	a   += M_∞ v / F_∞
//	P_* += M_∞ M_∞ᵀ F_* / F_∞² - (M_* M_∞ᵀ + M_∞ M_*ᵀ) / F_∞
//	P_∞ -= M_∞ M_∞ᵀ / F_∞
//
// with M = P Zᵀ and F_* = Z P_* Zᵀ; otherwise it is the usual update with
// M_* and F_*. P_∞ then moves forward with T alone, P_* with T and the
// innovations.
//
// The trend enters the first ARMA state with the time index of the
// differenced series, as in the likelihood: the step from y_j to y_{j+1}
// adds c at index j - (d + D·s). The first d + D·s steps, which come before
// the differenced series starts, add c at index 0, which keeps the ARMA
// block at its initial distribution, so that this filter conditions on the
// same model for the differenced series as the likelihood. (Observations
// before that are absorbed by the diffuse states and carry no information
// about the ARMA block, so only its distribution at index 0 matters.)
//
// It returns errUnresolvedDiffuse if some diffuse direction is never
// observed, for example a position in the season with every value missing.
func (ss *stateSpace) filterLevels(y []float64) (state, cov []float64, err error) {
	n := ss.n
	a := append([]float64(nil), ss.initialState...)
	pStar := append([]float64(nil), ss.initialCov...)
	pInf := make([]float64, n*n)
	for i := range ss.diff {
		pInf[i*n+i] = 1
	}
	diffuse := ss.diff > 0
	mStar := make([]float64, n)
	mInf := make([]float64, n)
	next := make([]float64, n)
	work := make([]float64, n*n)

	// rowSums sets m = P Zᵀ and returns Z P Zᵀ, Z being the sum of the
	// design states.
	rowSums := func(m, P []float64) float64 {
		for i := range n {
			row := P[i*n : (i+1)*n]
			sum := 0.0
			for _, j := range ss.design {
				sum += row[j]
			}
			m[i] = sum
		}
		f := 0.0
		for _, j := range ss.design {
			f += m[j]
		}
		return f
	}

	for j, yj := range y {
		if !math.IsNaN(yj) {
			prediction := 0.0
			for _, i := range ss.design {
				prediction += a[i]
			}
			v := yj - prediction
			fStar := rowSums(mStar, pStar)
			fInf := 0.0
			if diffuse {
				fInf = rowSums(mInf, pInf)
			}
			switch {
			case fInf > diffuseTolerance:
				for i := range n {
					a[i] += mInf[i] * v / fInf
				}
				ratio := fStar / (fInf * fInf)
				for i := range n {
					for k := range n {
						pStar[i*n+k] += mInf[i]*mInf[k]*ratio - (mStar[i]*mInf[k]+mInf[i]*mStar[k])/fInf
						pInf[i*n+k] -= mInf[i] * mInf[k] / fInf
					}
				}
			case fStar > 0:
				for i := range n {
					a[i] += mStar[i] * v / fStar
				}
				for i := range n {
					for k := range n {
						pStar[i*n+k] -= mStar[i] * mStar[k] / fStar
					}
				}
			}
		}
		ss.transitionTimes(next, a)
		next[ss.diff] += ss.trendAt(max(j-ss.diff, 0))
		a, next = next, a
		ss.transformCov(pStar, work, ss.sigma2)
		if diffuse {
			ss.transformCov(pInf, work, 0)
			diffuse = maxAbs(pInf) > diffuseTolerance
		}
	}
	if diffuse {
		return nil, nil, errUnresolvedDiffuse
	}
	return a, pStar, nil
}
