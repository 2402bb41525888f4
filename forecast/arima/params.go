package arima

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"
)

// Params holds the coefficients of a fitted model, with statsmodels' sign
// conventions: the model for the differenced series w_t is
//
//	(1 - ar_1 L - ... - ar_p L^p)(1 - sar_1 L^s - ... - sar_P L^{Ps}) w_t
//	    = intercept + drift·t
//	    + (1 + ma_1 L + ... + ma_q L^q)(1 + sma_1 L^s + ... + sma_Q L^{Qs}) e_t
//
// with e_t independent N(0, Sigma2). The time index t is 1 for the first
// two observations of the differenced series and grows by one per
// observation after that: this is statsmodels' timing for a trend that
// enters the state equation (trend_offset=1), kept so that estimates agree.
type Params struct {
	Intercept  float64   // Intercept is zero unless the trend has a constant.
	Drift      float64   // Drift is zero unless the trend is linear.
	AR         []float64 // AR holds ar_1..ar_p.
	MA         []float64 // MA holds ma_1..ma_q.
	SeasonalAR []float64 // SeasonalAR holds sar_1..sar_P.
	SeasonalMA []float64 // SeasonalMA holds sma_1..sma_Q.
	Sigma2     float64   // Sigma2 is the innovation variance.
}

// vector flattens p in the order of Spec.ParamNames.
func (p Params) vector(spec Spec) []float64 {
	v := make([]float64, 0, spec.NumParams())
	if spec.hasIntercept() {
		v = append(v, p.Intercept)
	}
	if spec.hasDrift() {
		v = append(v, p.Drift)
	}
	v = append(v, p.AR...)
	v = append(v, p.MA...)
	v = append(v, p.SeasonalAR...)
	v = append(v, p.SeasonalMA...)
	return append(v, p.Sigma2)
}

// paramsFromVector is the inverse of Params.vector; it copies v.
func paramsFromVector(spec Spec, v []float64) Params {
	var p Params
	i := 0
	if spec.hasIntercept() {
		p.Intercept = v[i]
		i++
	}
	if spec.hasDrift() {
		p.Drift = v[i]
		i++
	}
	take := func(n int) []float64 {
		out := append([]float64(nil), v[i:i+n]...)
		i += n
		return out
	}
	p.AR = take(spec.Order.P)
	p.MA = take(spec.Order.Q)
	p.SeasonalAR = take(spec.Seasonal.P)
	p.SeasonalMA = take(spec.Seasonal.Q)
	p.Sigma2 = v[i]
	return p
}

// checkShape reports whether p has one coefficient per lag of spec.
func (p Params) checkShape(spec Spec) bool {
	return len(p.AR) == spec.Order.P && len(p.MA) == spec.Order.Q &&
		len(p.SeasonalAR) == spec.Seasonal.P && len(p.SeasonalMA) == spec.Seasonal.Q
}

// paramLayout records where each block sits in a parameter vector ordered
// like Spec.ParamNames.
type paramLayout struct {
	ar, ma, sar, sma, sigma2 int // start offsets; the trend starts at 0
	spec                     Spec
}

func newParamLayout(spec Spec) paramLayout {
	l := paramLayout{spec: spec}
	l.ar = spec.numTrend()
	l.ma = l.ar + spec.Order.P
	l.sar = l.ma + spec.Order.Q
	l.sma = l.sar + spec.Seasonal.P
	l.sigma2 = l.sma + spec.Seasonal.Q
	return l
}

// constrain maps an unconstrained optimiser vector x to model parameters,
// writing into dst. It is statsmodels' SARIMAX.transform_params: trend
// coefficients pass unchanged, AR blocks pass through constrainStationary,
// MA blocks through its negation (so that the MA polynomial with plus
// signs is invertible) and sigma2 = x².
func (l paramLayout) constrain(dst, x []float64) {
	copy(dst[:l.ar], x[:l.ar])
	constrainStationary(dst[l.ar:l.ma], x[l.ar:l.ma])
	constrainStationary(dst[l.ma:l.sar], x[l.ma:l.sar])
	negate(dst[l.ma:l.sar])
	constrainStationary(dst[l.sar:l.sma], x[l.sar:l.sma])
	constrainStationary(dst[l.sma:l.sigma2], x[l.sma:l.sigma2])
	negate(dst[l.sma:l.sigma2])
	dst[l.sigma2] = x[l.sigma2] * x[l.sigma2]
}

// unconstrain is the inverse of constrain. The polynomials must be strictly
// stationary and invertible and sigma2 positive.
func (l paramLayout) unconstrain(dst, p []float64) {
	copy(dst[:l.ar], p[:l.ar])
	unconstrainStationary(dst[l.ar:l.ma], p[l.ar:l.ma])
	unconstrainStationary(dst[l.ma:l.sar], negated(p[l.ma:l.sar]))
	unconstrainStationary(dst[l.sar:l.sma], p[l.sar:l.sma])
	unconstrainStationary(dst[l.sma:l.sigma2], negated(p[l.sma:l.sigma2]))
	dst[l.sigma2] = math.Sqrt(p[l.sigma2])
}

// arAtOne returns φ(1)Φ(1) = (1 - Σ ar)(1 - Σ sar) for the constrained
// vector p: the factor between the intercept and the mean of a stationary
// series.
func (l paramLayout) arAtOne(p []float64) float64 {
	gain := 1.0
	for _, block := range [][]float64{p[l.ar:l.ma], p[l.sar:l.sma]} {
		sum := 1.0
		for _, v := range block {
			sum -= v
		}
		gain *= sum
	}
	return gain
}

// constrainStationary maps any real vector x to the coefficients phi of a
// stationary AR polynomial 1 - phi_1 L - ... - phi_n L^n. It follows Monahan
// (1984) and Jones (1980) exactly as statsmodels'
// constrain_stationary_univariate does: x is squashed into partial
// autocorrelations in (-1, 1), which the Durbin-Levinson recursion turns
// into coefficients.
func constrainStationary(dst, x []float64) {
	n := len(x)
	if n == 0 {
		return
	}
	// prev and cur are rows k-1 and k of statsmodels' triangular array y.
	prev := make([]float64, n)
	cur := make([]float64, n)
	for k := range n {
		r := x[k] / math.Sqrt(1+x[k]*x[k])
		for i := range k {
			cur[i] = prev[i] + r*prev[k-i-1]
		}
		cur[k] = r
		prev, cur = cur, prev
	}
	for i := range n {
		dst[i] = -prev[i]
	}
}

// unconstrainStationary inverts constrainStationary for stationary phi,
// running the Durbin-Levinson recursion backwards to the partial
// autocorrelations r and returning r / sqrt(1 - r²).
func unconstrainStationary(dst, phi []float64) {
	n := len(phi)
	if n == 0 {
		return
	}
	cur := make([]float64, n)
	prev := make([]float64, n)
	for i := range n {
		cur[i] = -phi[i]
	}
	for k := n - 1; k >= 0; k-- {
		r := cur[k]
		dst[k] = r / math.Sqrt(1-r*r)
		for i := range k {
			prev[i] = (cur[i] - r*cur[k-i-1]) / (1 - r*r)
		}
		cur, prev = prev, cur
	}
}

// isStationary reports whether 1 - phi_1 z - ... - phi_n z^n has all roots
// strictly outside the unit circle, with statsmodels' margin of 1e-10 on
// the inverse roots (the eigenvalues of the companion matrix).
func isStationary(phi []float64) bool {
	n := len(phi)
	if n == 0 {
		return true
	}
	companion := mat.NewDense(n, n, nil)
	for i := range n {
		companion.Set(0, i, phi[i])
		if i > 0 {
			companion.Set(i, i-1, 1)
		}
	}
	var eig mat.Eigen
	if !eig.Factorize(companion, mat.EigenNone) {
		return false
	}
	for _, v := range eig.Values(nil) {
		if math.IsNaN(cmplx.Abs(v)) || cmplx.Abs(v) >= 1-1e-10 {
			return false
		}
	}
	return true
}

// isInvertible reports whether 1 + theta_1 z + ... + theta_n z^n has all
// roots strictly outside the unit circle.
func isInvertible(theta []float64) bool { return isStationary(negated(theta)) }

// lagPolynomial returns the coefficients c_1..c_{n·step} of
// 1 + sign·(coef_1 L^step + ... + coef_n L^{n·step}), without the leading 1.
func lagPolynomial(coef []float64, step int, sign float64) []float64 {
	out := make([]float64, len(coef)*step)
	for i, c := range coef {
		out[(i+1)*step-1] = sign * c
	}
	return out
}

// multiplyLagPolynomials multiplies 1 + a_1 L + ... and 1 + b_1 L + ... and
// returns the coefficients of L^1 onwards.
func multiplyLagPolynomials(a, b []float64) []float64 {
	out := make([]float64, len(a)+len(b))
	copy(out, a)
	for j, bj := range b {
		out[j] += bj
		for i, ai := range a {
			out[i+j+1] += ai * bj
		}
	}
	return out
}

func negate(v []float64) {
	for i := range v {
		v[i] = -v[i]
	}
}

func negated(v []float64) []float64 {
	out := append([]float64(nil), v...)
	negate(out)
	return out
}
