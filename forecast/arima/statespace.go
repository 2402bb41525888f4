package arima

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// The state space form is statsmodels' SARIMAX in Harvey's representation:
//
//	y_t       = Z α_t
//	α_{t+1}   = T α_t + c_t + R e_t,   e_t ~ N(0, σ²)
//
// The first d + D·s states carry the differencing: they hold lagged values
// of the partially differenced series, so that y_t is the sum of some of
// them and of the first ARMA state w_t. The likelihood only ever uses the
// ARMA block (a model without differencing, run on the differenced series);
// the full form with differencing states serves forecasting, where the
// differencing states start from their exact values at the end of the data.

// entry is a nonzero element of a sparse matrix row.
type entry struct {
	col int
	val float64
}

// stateSpace is the state space form of a spec together with the
// parameter-dependent values of one parameter vector.
type stateSpace struct {
	spec   Spec
	layout paramLayout
	n      int // n is the state dimension.
	diff   int // diff is the number of differencing states, d + D·s.
	arma   int // arma is the dimension r of the ARMA block.

	design     []int     // design lists the states that Z sums.
	transition [][]entry // transition holds the rows of T.
	arEntry    []int     // arEntry[i] indexes the AR coefficient in row diff+i.
	selection  []float64 // selection is the column R.

	// Parameter-dependent values, set by setParams.
	sigma2           float64
	intercept, drift float64
	initialState     []float64 // initialState is the mean of α_1.
	initialCov       []float64 // initialCov is the covariance of α_1, row-major.
	reducedAR        []float64 // reducedAR holds phi*_1.. of the product AR polynomial.
	reducedMA        []float64 // reducedMA holds theta*_1.. of the product MA polynomial.
	phi              []float64 // phi is reducedAR padded with zeros to the ARMA dimension.

	// Scratch space of stationaryCov.
	armaCov   []float64 // armaCov is r×r.
	armaPsi   []float64 // armaPsi holds r MA(∞) weights.
	armaGamma []float64 // armaGamma holds r+1 autocovariances.
}

func newStateSpace(spec Spec) *stateSpace {
	ss := &stateSpace{
		spec:   spec,
		layout: newParamLayout(spec),
		diff:   spec.diffStates(),
		arma:   spec.armaStates(),
	}
	ss.n = ss.diff + ss.arma
	d, sd, s := spec.Order.D, spec.Seasonal.D, spec.season()
	first := ss.diff // index of the first ARMA state, which is the ARMA value w_t
	seasonEnd := func(b int) int { return d + b*s + s - 1 }

	for i := range d {
		ss.design = append(ss.design, i)
	}
	for b := range sd {
		ss.design = append(ss.design, seasonEnd(b))
	}
	ss.design = append(ss.design, first)

	ss.transition = make([][]entry, ss.n)
	// Ordinary differencing: state i holds Δ^i y_{t-1}, and
	// Δ^i y_t = Δ^i y_{t-1} + ... + Δ^{d-1} y_{t-1} + Δ^d y_t.
	for i := range d {
		row := ss.transition[i]
		for j := i; j < d; j++ {
			row = append(row, entry{j, 1})
		}
		for b := range sd {
			row = append(row, entry{seasonEnd(b), 1})
		}
		ss.transition[i] = append(row, entry{first, 1})
	}
	// Seasonal differencing: block b holds the last s values of
	// Δ^d Δ_s^b y. Its newest value is its own value a season ago plus
	// those of all later blocks plus w_t. (statsmodels links block b only
	// to block b+1, which is the same for D ≤ 2 and wrong beyond.)
	for b := range sd {
		start := d + b*s
		row := []entry{{seasonEnd(b), 1}}
		for later := b + 1; later < sd; later++ {
			row = append(row, entry{seasonEnd(later), 1})
		}
		ss.transition[start] = append(row, entry{first, 1})
		for k := 1; k < s; k++ {
			ss.transition[start+k] = []entry{{start + k - 1, 1}}
		}
	}
	// ARMA block in Harvey's form: AR coefficients down the first column,
	// ones on the superdiagonal.
	nAR := spec.reducedAROrder()
	ss.arEntry = make([]int, nAR)
	for i := range ss.arma {
		var row []entry
		if i < nAR {
			ss.arEntry[i] = len(row)
			row = append(row, entry{first, 0})
		}
		if i+1 < ss.arma {
			row = append(row, entry{first + i + 1, 1})
		}
		ss.transition[first+i] = row
	}

	ss.selection = make([]float64, ss.n)
	ss.initialState = make([]float64, ss.n)
	ss.initialCov = make([]float64, ss.n*ss.n)
	r := ss.arma
	ss.phi = make([]float64, r)
	ss.armaCov = make([]float64, r*r)
	ss.armaPsi = make([]float64, r)
	ss.armaGamma = make([]float64, r+1)
	return ss
}

var errNotStationary = errors.New("autoregressive polynomial is not stationary")

// setParams loads a constrained parameter vector (ordered as
// Spec.ParamNames) into the state space form and computes the initial
// distribution of the ARMA block.
func (ss *stateSpace) setParams(p []float64) error {
	l := ss.layout
	spec := ss.spec
	if spec.hasIntercept() {
		ss.intercept = p[0]
	} else {
		ss.intercept = 0
	}
	if spec.hasDrift() {
		ss.drift = p[l.ar-1]
	} else {
		ss.drift = 0
	}
	s := spec.season()
	ss.reducedAR = multiplyLagPolynomials(
		lagPolynomial(p[l.ar:l.ma], 1, -1),
		lagPolynomial(p[l.sar:l.sma], s, -1))
	negate(ss.reducedAR) // from 1 - phi*(L) to phi*
	ss.reducedMA = multiplyLagPolynomials(
		lagPolynomial(p[l.ma:l.sar], 1, 1),
		lagPolynomial(p[l.sma:l.sigma2], s, 1))
	ss.sigma2 = p[l.sigma2]
	if !(ss.sigma2 > 0) || math.IsInf(ss.sigma2, 0) {
		return errors.New("innovation variance sigma2 must be positive and finite")
	}
	for _, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("parameters must be finite")
		}
	}

	for i, k := range ss.arEntry {
		ss.transition[ss.diff+i][k].val = ss.reducedAR[i]
	}
	clear(ss.selection)
	ss.selection[ss.diff] = 1
	copy(ss.selection[ss.diff+1:], ss.reducedMA)

	return ss.initialize()
}

// trendAt returns the state intercept c_t for the 0-based index t of the
// differenced series.
func (ss *stateSpace) trendAt(t int) float64 {
	return ss.intercept + ss.drift*float64(t+1)
}

// initialize sets the distribution of the ARMA block of α_1 to the
// stationary one, whose mean is (I - T)⁻¹ c_0 and whose covariance P solves
// P = T P Tᵀ + σ² R Rᵀ. Differencing states, if any, are left at zero: only
// models without them are filtered from the start.
func (ss *stateSpace) initialize() error {
	clear(ss.initialState)
	clear(ss.initialCov)
	n, r, first := ss.n, ss.arma, ss.diff

	phi := ss.phi
	clear(phi)
	copy(phi, ss.reducedAR)
	if c0 := ss.trendAt(0); c0 != 0 {
		// With T in companion form, (I - T) m = c_0 e_1 solves by back
		// substitution: m_i = m_0 (phi_i + ... + phi_{r-1}) for i ≥ 1.
		sum := 0.0
		for _, v := range phi {
			sum += v
		}
		m0 := c0 / (1 - sum)
		tail := sum
		for i := range r {
			if i > 0 {
				tail -= phi[i-1]
				ss.initialState[first+i] = m0 * tail
			} else {
				ss.initialState[first] = m0
			}
		}
	}

	cov, err := ss.stationaryCov(phi)
	if err != nil {
		return err
	}
	for i := range r {
		copy(ss.initialCov[(first+i)*n+first:(first+i)*n+first+r], cov[i*r:(i+1)*r])
	}
	return nil
}

// stationaryCov returns the stationary covariance P of the ARMA block,
// the solution of P = T P Tᵀ + σ² R Rᵀ, in O(r²) operations plus a linear
// solve of the order of the AR polynomial. Written out element by element,
// with T in Harvey's companion form,
//
//	P[i][j] = P[i+1][j+1] + φ_i φ_j P[0][0] + φ_i P[0][j+1] + φ_j P[0][i+1] + σ² R_i R_j,
//
// so P follows from its first row by a backward sweep. The first row holds
// the covariances of w_t with the states,
//
//	P[0][j] = Σ_{k≥j} φ_k γ(k-j+1) + σ² Σ_{k≥j} R_k ψ_{k-j},
//
// from the autocovariances γ and the MA(∞) weights ψ of the ARMA process.
// The returned slice is reused by later calls.
func (ss *stateSpace) stationaryCov(phi []float64) ([]float64, error) {
	r := ss.arma
	R := ss.selection[ss.diff:]
	sigma2 := ss.sigma2
	p := len(ss.reducedAR)

	// ψ_0..ψ_{r-1} with ψ_j = R_j + Σ_k φ_k ψ_{j-k}, where R_j = θ*_j.
	psi := ss.armaPsi
	for j := range r {
		v := R[j]
		for k := 1; k <= min(j, p); k++ {
			v += phi[k-1] * psi[j-k]
		}
		psi[j] = v
	}
	// c_h = Σ_{j≥h} θ*_j ψ_{j-h}, the covariance of the MA side with w_{t-h}.
	gamma := ss.armaGamma // γ(0..r)
	c := func(h int) float64 {
		sum := 0.0
		for j := h; j < r; j++ {
			sum += R[j] * psi[j-h]
		}
		return sigma2 * sum
	}
	if p > 0 {
		// Yule-Walker-type equations γ(h) - Σ_k φ_k γ(|h-k|) = c_h for
		// h = 0..p determine γ(0..p).
		a := mat.NewDense(p+1, p+1, nil)
		b := mat.NewVecDense(p+1, nil)
		for h := 0; h <= p; h++ {
			a.Set(h, h, 1)
			for k := 1; k <= p; k++ {
				lag := h - k
				if lag < 0 {
					lag = -lag
				}
				a.Set(h, lag, a.At(h, lag)-phi[k-1])
			}
			b.SetVec(h, c(h))
		}
		var g mat.VecDense
		if err := g.SolveVec(a, b); err != nil {
			// A mat.Condition error only warns of a root close to the unit
			// circle and still comes with the solution; the check of γ(0)
			// below rejects a useless one.
			var cond mat.Condition
			if !errors.As(err, &cond) {
				return nil, errNotStationary
			}
		}
		for h := 0; h <= p; h++ {
			gamma[h] = g.AtVec(h)
		}
	}
	start := 0
	if p > 0 {
		start = p + 1
	}
	for h := start; h <= r; h++ {
		v := c(h)
		for k := 1; k <= p; k++ {
			v += phi[k-1] * gamma[h-k]
		}
		gamma[h] = v
	}
	if !(gamma[0] > 0) || math.IsInf(gamma[0], 0) || math.IsNaN(gamma[r]) {
		return nil, errNotStationary
	}

	P := ss.armaCov
	for j := range r {
		sum := 0.0
		for k := j; k < r; k++ {
			sum += phi[k]*gamma[k-j+1] + sigma2*R[k]*psi[k-j]
		}
		P[j] = sum // P[0][j]; for j = 0 this is γ(0)
	}
	first := func(i int) float64 { // P[0][i], zero beyond the block
		if i < r {
			return P[i]
		}
		return 0
	}
	for i := r - 1; i >= 1; i-- {
		for j := r - 1; j >= i; j-- {
			v := phi[i]*phi[j]*P[0] + phi[i]*first(j+1) + phi[j]*first(i+1) + sigma2*R[i]*R[j]
			if j+1 < r {
				v += P[(i+1)*r+j+1]
			}
			P[i*r+j] = v
			P[j*r+i] = v
		}
	}
	for j := 1; j < r; j++ {
		P[j*r] = P[j]
	}
	return P, nil
}

// filterWork is the scratch space of one Kalman filter run; it lets the
// optimiser evaluate the likelihood thousands of times without allocating.
type filterWork struct {
	state []float64 // state is the predicted state a_t, then a_{t+1}.
	cov   []float64 // cov is the predicted covariance P_t, then P_{t+1}.
	gain  []float64 // gain holds P_t Zᵀ, or T P_t Zᵀ in the fast filter.
	// Vectors of the fast filter's Chandrasekhar recursions.
	factor, moved []float64
}

func newFilterWork(n int) *filterWork {
	return &filterWork{
		state:  make([]float64, n),
		cov:    make([]float64, n*n),
		gain:   make([]float64, n),
		factor: make([]float64, n),
		moved:  make([]float64, n),
	}
}

// steadyTolerance is the change of the predicted state covariance, relative
// to the prediction variance, below which logLikelihood treats the filter
// as converged to its steady state. At a few units of rounding error it
// changes the log-likelihood by less than its own rounding.
const steadyTolerance = 1e-14

// logLikelihood runs the Kalman filter over y and returns the exact
// Gaussian log-likelihood, the sum of the log-densities of the one-step
// prediction errors. ss must have no differencing states: y is the
// differenced series and the state is the ARMA block alone. NaN marks a
// missing value: the filter skips the update there and only predicts, so
// the value contributes nothing to the likelihood, as in statsmodels.
// Afterwards w.state and w.cov hold the prediction of the state for the
// time just after y. It returns -Inf when a prediction variance is not
// positive.
//
// The filter is the conventional one, specialised to Harvey's form where
// y_t is the first state without measurement error. Then P_{t|t} has a
// zero first row and column, so T P_{t|t} Tᵀ is P_{t|t} shifted up and left
// by one: the covariance recursion costs r²/2 operations and does not
// involve the AR coefficients at all.
func (ss *stateSpace) logLikelihood(y []float64, w *filterWork) float64 {
	if ss.diff != 0 {
		panic("arima: logLikelihood needs the state space of the differenced series")
	}
	r := ss.arma
	a, P, m := w.state, w.cov, w.gain
	copy(a, ss.initialState)
	copy(P, ss.initialCov)
	phi, R, sigma2 := ss.phi, ss.selection, ss.sigma2
	const log2Pi = 1.8378770664093453 // log(2π)
	llf := 0.0
	steady := false
	for t, yt := range y {
		if math.IsNaN(yt) {
			ss.predictMissing(a, P, m, t)
			steady = false
			continue
		}
		copy(m, P[:r]) // P Zᵀ with Z = e_1
		F := m[0]
		if !(F > 0) {
			return math.Inf(-1)
		}
		v := yt - a[0]
		llf -= 0.5 * (log2Pi + math.Log(F) + v*v/F)

		// a_{t|t} = a_t + m v/F, whose first element is y_t itself, then
		// a_{t+1} = T a_{t|t} + c_t; ascending order reads a[i+1] before
		// overwriting it.
		scale := v / F
		for i := range r {
			next := phi[i] * yt
			if i+1 < r {
				next += a[i+1] + m[i+1]*scale
			}
			a[i] = next
		}
		a[0] += ss.trendAt(t)

		// P_{t+1}[i][k] = P_t[i+1][k+1] - m[i+1] m[k+1] / F + σ² R_i R_k,
		// in place on the upper triangle in ascending order, so every
		// element is read before it is overwritten.
		if steady {
			continue
		}
		invF := 1 / F
		change := 0.0
		for i := range r {
			ri := sigma2 * R[i]
			row := P[i*r : (i+1)*r]
			for k := i; k < r; k++ {
				updated := ri * R[k]
				if k+1 < r {
					updated += P[(i+1)*r+k+1] - m[i+1]*m[k+1]*invF
				}
				change = max(change, math.Abs(updated-row[k]))
				row[k] = updated
			}
		}
		// Once P_{t+1} = P_t to rounding, the recursion is at its fixed
		// point and P stays there until the next missing value: the
		// steady-state filter, as in statsmodels, which makes the O(r²)
		// covariance step the exception on long series with gaps.
		steady = change <= steadyTolerance*F
	}
	// Complete the lower triangle for callers that read the full matrix.
	for i := range r {
		for k := i + 1; k < r; k++ {
			P[k*r+i] = P[i*r+k]
		}
	}
	return llf
}

// predictMissing advances the prediction a_t, P_t (upper triangle) of
// logLikelihood past a missing observation at index t of the differenced
// series: a_{t+1} = T a_t + c_t and P_{t+1} = T P_t Tᵀ + σ² R Rᵀ. With T
// in Harvey's companion form (φ in the first column, ones above the
// diagonal),
//
//	(T P Tᵀ)[i][k] = φ_i φ_k P[0][0] + φ_i P[0][k+1] + φ_k P[0][i+1] + P[i+1][k+1],
//
// which is computed in place in ascending order once the first row is
// saved in row0 (length r): every other element read lies in a later row.
func (ss *stateSpace) predictMissing(a, P, row0 []float64, t int) {
	r := ss.arma
	phi, R, sigma2 := ss.phi, ss.selection, ss.sigma2
	a0 := a[0]
	for i := range r {
		next := phi[i] * a0
		if i+1 < r {
			next += a[i+1]
		}
		a[i] = next
	}
	a[0] += ss.trendAt(t)
	copy(row0, P[:r])
	p00 := row0[0]
	for i := range r {
		ri := sigma2 * R[i]
		for k := i; k < r; k++ {
			v := phi[i]*phi[k]*p00 + ri*R[k]
			if k+1 < r {
				v += phi[i]*row0[k+1] + P[(i+1)*r+k+1]
			}
			if i+1 < r {
				v += phi[k] * row0[i+1]
			}
			P[i*r+k] = v
		}
	}
}

// fastLogLikelihood returns the same log-likelihood as logLikelihood, up
// to rounding, in O(r) rather than O(r²) operations per observation, but
// without the final state covariance. It needs a complete series: a
// missing value breaks the rank-one structure that it relies on, so y
// must not contain NaN (the objective then uses logLikelihood). It uses the Chandrasekhar recursions
// (Morf, Sidhu and Kailath 1974; Herbst 2015): for a time-invariant model
// started from its stationary distribution, the change of the predicted
// covariance, ΔP_t = P_{t+1} - P_t, has rank one, ΔP_t = W_t M_t W_tᵀ, and
// the gain K_t = T P_t Zᵀ and variance F_t = Z P_t Zᵀ follow from
//
//	F_{t+1} = F_t + M_t (Z W_t)²
//	K_{t+1} = K_t + T W_t M_t (Z W_t)
//	M_{t+1} = M_t + M_t² (Z W_t)² / F_t
//	W_{t+1} = T W_t - K_{t+1} (Z W_t) / F_{t+1}
//
// starting from W_1 = K_1 and M_1 = -1/F_1, because P_1 = T P_1 Tᵀ + Q.
func (ss *stateSpace) fastLogLikelihood(y []float64, w *filterWork) float64 {
	if ss.diff != 0 {
		panic("arima: fastLogLikelihood needs the state space of the differenced series")
	}
	r := ss.arma
	a, K, W, TW := w.state, w.gain, w.factor, w.moved
	copy(a, ss.initialState)
	phi := ss.phi
	P1 := ss.initialCov[:r] // first row of P_1, i.e. P_1 Zᵀ
	F := P1[0]
	if !(F > 0) {
		return math.Inf(-1)
	}
	for i := range r {
		K[i] = phi[i] * P1[0]
		if i+1 < r {
			K[i] += P1[i+1]
		}
	}
	copy(W, K)
	M := -1 / F

	const log2Pi = 1.8378770664093453 // log(2π)
	llf := 0.0
	for t, yt := range y {
		v := yt - a[0]
		llf -= 0.5 * (log2Pi + math.Log(F) + v*v/F)
		// a_{t+1} = T a_t + K_t v / F_t + c_t.
		scale := v / F
		a0 := a[0]
		for i := range r {
			next := phi[i]*a0 + K[i]*scale
			if i+1 < r {
				next += a[i+1]
			}
			a[i] = next
		}
		a[0] += ss.trendAt(t)

		zw := W[0]
		for i := range r {
			TW[i] = phi[i] * zw
			if i+1 < r {
				TW[i] += W[i+1]
			}
		}
		nextF := F + M*zw*zw
		if !(nextF > 0) {
			return math.Inf(-1)
		}
		coef := M * zw
		shrink := zw / nextF
		for i := range r {
			K[i] += TW[i] * coef
			W[i] = TW[i] - K[i]*shrink
		}
		M += M * M * zw * zw / F
		F = nextF
	}
	return llf
}

// transitionTimes sets dst = T x.
func (ss *stateSpace) transitionTimes(dst, x []float64) {
	for i, row := range ss.transition {
		sum := 0.0
		for _, e := range row {
			sum += e.val * x[e.col]
		}
		dst[i] = sum
	}
}

// predictCov replaces P by T P Tᵀ + σ² R Rᵀ, using the sparsity of T and
// computing only the upper triangle of the symmetric result. work must have
// room for n² values.
func (ss *stateSpace) predictCov(P, work []float64) { ss.transformCov(P, work, ss.sigma2) }

// transformCov replaces P by T P Tᵀ + noise·R Rᵀ; predictCov is the case
// noise = σ², and the diffuse part of the exact diffuse filter, which
// receives no innovations, the case noise = 0.
func (ss *stateSpace) transformCov(P, work []float64, noise float64) {
	n := ss.n
	// work = T P, row by row.
	for i, row := range ss.transition {
		out := work[i*n : (i+1)*n]
		clear(out)
		for _, e := range row {
			src := P[e.col*n : (e.col+1)*n]
			for j, v := range src {
				out[j] += e.val * v
			}
		}
	}
	// P = work Tᵀ + σ² R Rᵀ: P[i][k] = Σ_j work[i][j] T[k][j].
	R := ss.selection
	for i := range n {
		wi := work[i*n : (i+1)*n]
		for k := i; k < n; k++ {
			sum := noise * R[i] * R[k]
			for _, e := range ss.transition[k] {
				sum += wi[e.col] * e.val
			}
			P[i*n+k] = sum
			P[k*n+i] = sum
		}
	}
}
