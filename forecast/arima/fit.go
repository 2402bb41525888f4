package arima

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// Errors that Fit and NewModel wrap, for callers that want to tell bad
// input apart from other failures with errors.Is.
var (
	// ErrTooShort means the series has too few observations for the model.
	ErrTooShort = errors.New("arima: series too short")
	// ErrNonFinite means the series contains an infinity. (NaN is not an
	// error: it marks a missing value.)
	ErrNonFinite = errors.New("arima: series contains a non-finite value")
	// ErrInvalidParams means parameters do not fit the spec, or describe a
	// non-stationary, non-invertible or degenerate model.
	ErrInvalidParams = errors.New("arima: invalid parameters")
	// ErrConstant means the differenced series is constant, so that its
	// innovation variance would be zero and the likelihood unbounded.
	ErrConstant = errors.New("arima: differenced series is constant")
)

// Model is a seasonal ARIMA model with its parameters, conditioned on the
// series it was fitted to or built on. A Model is immutable and safe for
// concurrent use.
type Model struct {
	Spec   Spec
	Params Params
	// LogLikelihood is the exact Gaussian log-likelihood of the differenced
	// series, which equals the exact diffuse log-likelihood of the series
	// up to the constant -(d + D·s)·log(2π)/2 (see the package
	// documentation). With missing values it is that of the observed
	// differences.
	LogLikelihood float64
	// AIC is -2·LogLikelihood + 2k and BIC is -2·LogLikelihood +
	// k·log(NObsEffective), with k = Spec.NumParams().
	AIC, BIC float64
	// AICc is AIC with the small-sample correction 2k(k+1)/(n-k-1) for
	// n = NObsEffective, or +Inf when n ≤ k+1; it is the criterion of
	// Auto. Like statsmodels, AIC, BIC and AICc count missing values in n.
	AICc float64
	// NObs is the length of the series, missing values included.
	NObs int
	// NObsEffective is NObs - (d + D·s), the length of the differenced
	// series that the likelihood covers, missing values included.
	NObsEffective int
	// Converged reports whether the optimiser met its convergence criteria.
	// It is always true for a Model built by NewModel. A fit that did not
	// converge is still the best point found, but should be inspected.
	Converged bool

	ss        *stateSpace // ss is the full state space form, for forecasting.
	lastState []float64   // lastState is the prediction of the state for time NObs.
	lastCov   []float64   // lastCov is its covariance.
}

// Fit estimates spec on y by exact Gaussian maximum likelihood, evaluated
// with the Kalman filter on the state space form of the differenced series
// (see the package documentation). The estimates keep the AR polynomials
// stationary and the MA polynomials invertible.
//
// y is in time order with equal spacing. NaN marks a missing value, which
// the Kalman filter skips (see the package documentation); infinities are
// rejected. The differenced series, in which every value that depends on a
// missing one is missing, needs more observed values than the model has
// parameters, must not be constant, and the observed values must pin down
// the level and every position in the season for forecasting. Fit returns
// an error wrapping ErrInvalidSpec, ErrNonFinite, ErrTooShort or
// ErrConstant for bad input.
func Fit(y []float64, spec Spec) (*Model, error) {
	spec, err := checkInput(y, spec)
	if err != nil {
		return nil, err
	}
	w := difference(y, spec.Order.D, spec.Seasonal.D, spec.season())
	std := newStandardization(w, spec)
	if std.scale == 0 || math.IsInf(std.scale, 0) || math.IsNaN(std.scale) {
		return nil, fmt.Errorf("%w: %v cannot be estimated", ErrConstant, spec)
	}
	start := std.toStandard(startParams(y, spec))
	ss := newStateSpace(spec.withoutDifferencing())
	estimate, converged, err := maximizeLikelihood(std.apply(w), ss, start)
	if err != nil {
		return nil, fmt.Errorf("arima: fitting %v: %w", spec, err)
	}
	estimate = std.fromStandard(estimate)
	m, err := newModel(y, spec, estimate)
	if err != nil {
		return nil, fmt.Errorf("arima: fitting %v: %w", spec, err)
	}
	m.Converged = converged
	return m, nil
}

// NewModel builds a Model from known parameters without estimating them,
// for example to evaluate the log-likelihood at given values or to forecast
// with stored parameters from the end of a newer series. Its input
// requirements are those of Fit; in addition params must have one
// coefficient per lag of spec, stationary AR and invertible MA polynomials
// and a positive Sigma2, or the error wraps ErrInvalidParams.
func NewModel(y []float64, spec Spec, params Params) (*Model, error) {
	spec, err := checkInput(y, spec)
	if err != nil {
		return nil, err
	}
	if !params.checkShape(spec) {
		return nil, fmt.Errorf("%w: spec %v needs %d AR, %d MA, %d seasonal AR and %d seasonal MA coefficients, got %d, %d, %d and %d",
			ErrInvalidParams, spec, spec.Order.P, spec.Order.Q, spec.Seasonal.P, spec.Seasonal.Q,
			len(params.AR), len(params.MA), len(params.SeasonalAR), len(params.SeasonalMA))
	}
	switch {
	case !isStationary(params.AR):
		return nil, fmt.Errorf("%w: AR polynomial is not stationary", ErrInvalidParams)
	case !isStationary(params.SeasonalAR):
		return nil, fmt.Errorf("%w: seasonal AR polynomial is not stationary", ErrInvalidParams)
	case !isInvertible(params.MA):
		return nil, fmt.Errorf("%w: MA polynomial is not invertible", ErrInvalidParams)
	case !isInvertible(params.SeasonalMA):
		return nil, fmt.Errorf("%w: seasonal MA polynomial is not invertible", ErrInvalidParams)
	}
	if !spec.hasIntercept() && params.Intercept != 0 || !spec.hasDrift() && params.Drift != 0 {
		return nil, fmt.Errorf("%w: trend %q has no room for intercept %g and drift %g",
			ErrInvalidParams, spec.Trend, params.Intercept, params.Drift)
	}
	m, err := newModel(y, spec, params.vector(spec))
	if err != nil {
		return nil, err
	}
	m.Converged = true
	return m, nil
}

// standardization maps the differenced series w to (w - center) / scale
// and parameters to and from that series. The optimiser works on the
// standardised series so that its tolerances and finite-difference steps
// mean the same for readings in pascals or in kilopascals, and so that the
// intercept is not strongly coupled to the AR coefficients: for a series
// with mean μ the intercept is μ·φ(1)Φ(1), which turns the likelihood into
// a narrow curved ridge when μ is far from zero.
type standardization struct {
	layout        paramLayout
	center, scale float64
}

// newStandardization centres w only when spec has an intercept to absorb
// the shift; without one, the mean is part of the model. Missing values
// are left out of both moments.
func newStandardization(w []float64, spec Spec) standardization {
	seen := observed(w)
	std := standardization{layout: newParamLayout(spec), scale: math.Sqrt(variance(seen))}
	if spec.hasIntercept() {
		for _, v := range seen {
			std.center += v
		}
		std.center /= float64(len(seen))
	}
	return std
}

func (s standardization) apply(w []float64) []float64 {
	out := make([]float64, len(w))
	for i, v := range w {
		out[i] = (v - s.center) / s.scale
	}
	return out
}

// toStandard converts parameters of the model for w to those for the
// standardised series: if φ(L)Φ(L) w_t = c_t + ..., then
// φ(L)Φ(L) (w_t - center)/scale = (c_t - center·φ(1)Φ(1))/scale + ...
func (s standardization) toStandard(p []float64) []float64 {
	out := append([]float64(nil), p...)
	if s.layout.spec.hasIntercept() {
		out[0] -= s.center * s.layout.arAtOne(p)
	}
	for i := range s.layout.ar {
		out[i] /= s.scale
	}
	out[s.layout.sigma2] /= s.scale * s.scale
	return out
}

// fromStandard is the inverse of toStandard.
func (s standardization) fromStandard(p []float64) []float64 {
	out := append([]float64(nil), p...)
	for i := range s.layout.ar {
		out[i] *= s.scale
	}
	if s.layout.spec.hasIntercept() {
		out[0] += s.center * s.layout.arAtOne(p)
	}
	out[s.layout.sigma2] *= s.scale * s.scale
	return out
}

// checkInput validates spec and y and returns spec with its trend
// normalised.
func checkInput(y []float64, spec Spec) (Spec, error) {
	if err := spec.Validate(); err != nil {
		return spec, err
	}
	if spec.Trend == "" {
		spec.Trend = TrendNone
	}
	missing := 0
	for i, v := range y {
		if math.IsInf(v, 0) {
			return spec, fmt.Errorf("%w: y[%d] = %v", ErrNonFinite, i, v)
		}
		if math.IsNaN(v) {
			missing++
		}
	}
	if missing > 0 && missing == len(y) {
		return spec, fmt.Errorf("%w: all %d values are missing", ErrTooShort, len(y))
	}
	k := spec.NumParams()
	effective := len(y) - spec.diffStates()
	if effective <= k {
		return spec, fmt.Errorf("%w: %v needs more than %d observations after differencing away %d, got %d in all",
			ErrTooShort, spec, k, spec.diffStates(), len(y))
	}
	if missing > 0 {
		w := difference(y, spec.Order.D, spec.Seasonal.D, spec.season())
		if seen := len(observed(w)); seen <= k {
			return spec, fmt.Errorf("%w: %v needs more than %d observed values after differencing away %d, got %d: %d of the %d values are missing, and each makes the differences that involve it missing",
				ErrTooShort, spec, k, spec.diffStates(), seen, missing, len(y))
		}
	}
	return spec, nil
}

// newModel filters the differenced y with the constrained parameter vector
// p and prepares the state for forecasting.
func newModel(y []float64, spec Spec, p []float64) (*Model, error) {
	arma := newStateSpace(spec.withoutDifferencing())
	if err := arma.setParams(p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	w := difference(y, spec.Order.D, spec.Seasonal.D, spec.season())
	work := newFilterWork(arma.n)
	llf := arma.logLikelihood(w, work)
	if math.IsInf(llf, 0) || math.IsNaN(llf) {
		return nil, fmt.Errorf("%w: log-likelihood is %v", ErrInvalidParams, llf)
	}
	full := newStateSpace(spec)
	if err := full.setParams(p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	k, nEff := float64(len(p)), float64(len(w))
	aicc := math.Inf(1)
	if nEff > k+1 {
		aicc = -2*llf + 2*k + 2*k*(k+1)/(nEff-k-1)
	}
	m := &Model{
		Spec:          spec,
		Params:        paramsFromVector(spec, p),
		LogLikelihood: llf,
		AIC:           -2*llf + 2*k,
		BIC:           -2*llf + k*math.Log(nEff),
		AICc:          aicc,
		NObs:          len(y),
		NObsEffective: len(w),
		ss:            full,
		lastState:     make([]float64, full.n),
		lastCov:       make([]float64, full.n*full.n),
	}
	if hasMissing(y) {
		state, cov, err := full.filterLevels(y)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTooShort, err)
		}
		m.lastState, m.lastCov = state, cov
		return m, nil
	}
	// Without missing values the differencing states at the forecast
	// origin are known exactly from the data, and filterLevels would find
	// the same at a higher cost: state i < d is Δ^i y_{n-1}, and position k
	// of seasonal block b is Δ^d Δ_s^b y_{n-1-k}. The ARMA block is the
	// filter's prediction, uncorrelated with them.
	d, sd, s := spec.Order.D, spec.Seasonal.D, spec.season()
	x := append([]float64(nil), y...)
	for i := range d {
		m.lastState[i] = x[len(x)-1]
		x = difference(x, 1, 0, 0)
	}
	for b := range sd {
		for k := range s {
			m.lastState[d+b*s+k] = x[len(x)-1-k]
		}
		x = difference(x, 0, 1, s)
	}
	r, first := arma.n, full.diff
	copy(m.lastState[first:], work.state)
	for i := range r {
		copy(m.lastCov[(first+i)*full.n+first:(first+i)*full.n+first+r], work.cov[i*r:(i+1)*r])
	}
	return m, nil
}

// Optimiser settings. The objective is -logL/n of the standardised series,
// as in statsmodels but scale-free, so the gradient tolerance is per
// observation and per standard deviation.
const (
	gradientTolerance = 1e-7
	// acceptableGradient is the largest gradient norm at which a line
	// search that can make no more progress still counts as converged:
	// central differences cannot resolve much better than this.
	acceptableGradient = 1e-5
	maxIterations      = 1000
)

// maximizeLikelihood maximises the likelihood of the differenced series w
// under the ARMA state space form ss over the unconstrained
// parameterisation, starting from the constrained vector start, with
// L-BFGS and central-difference gradients. If L-BFGS stops early it
// continues with Nelder-Mead from the best point. It returns the
// constrained estimate and whether the optimiser converged.
func maximizeLikelihood(w []float64, ss *stateSpace, start []float64) ([]float64, bool, error) {
	x0 := make([]float64, len(start))
	ss.layout.unconstrain(x0, start)

	obj := newObjective(w, ss)
	problem := optimize.Problem{Func: obj.value, Grad: obj.gradient}
	if f := obj.value(x0); math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false, fmt.Errorf("log-likelihood at the starting values %v is not finite", start)
	}
	settings := &optimize.Settings{
		GradientThreshold: gradientTolerance,
		MajorIterations:   maxIterations,
		Converger: &optimize.FunctionConverge{
			Absolute:   1e-15,
			Relative:   1e-13,
			Iterations: 20,
		},
	}
	result, err := optimize.Minimize(problem, x0, settings, &optimize.LBFGS{})
	best := x0
	converged := false
	if result != nil && !math.IsNaN(result.F) {
		best = result.X
		converged = err == nil && result.Status != optimize.IterationLimit
	}
	if !converged {
		gradient := make([]float64, len(best))
		obj.gradient(gradient, best)
		if maxAbs(gradient) <= acceptableGradient {
			converged = true
		}
	}
	if !converged {
		// L-BFGS can stall on a flat or badly scaled likelihood; the
		// simplex method needs no gradient and usually finishes the job.
		nm, nmErr := optimize.Minimize(optimize.Problem{Func: obj.value}, best,
			&optimize.Settings{MajorIterations: 20 * maxIterations}, &optimize.NelderMead{})
		if nm != nil && nm.F <= obj.value(best) {
			best = nm.X
			converged = nmErr == nil && nm.Status != optimize.IterationLimit
		}
	}
	estimate := make([]float64, len(best))
	ss.layout.constrain(estimate, best)
	return estimate, converged, nil
}

// objective is -logL/n as a function of the unconstrained parameters, for
// the series y of length n.
type objective struct {
	y           []float64
	missing     bool // missing means y has NaN, which the fast filter cannot skip
	ss          *stateSpace
	work        *filterWork
	constrained []float64
	shifted     []float64
}

func newObjective(y []float64, ss *stateSpace) *objective {
	return &objective{
		y:           y,
		missing:     hasMissing(y),
		ss:          ss,
		work:        newFilterWork(ss.n),
		constrained: make([]float64, ss.spec.NumParams()),
		shifted:     make([]float64, ss.spec.NumParams()),
	}
}

func (o *objective) value(x []float64) float64 {
	o.ss.layout.constrain(o.constrained, x)
	if err := o.ss.setParams(o.constrained); err != nil {
		return math.Inf(1)
	}
	var llf float64
	if o.missing {
		llf = o.ss.logLikelihood(o.y, o.work)
	} else {
		llf = o.ss.fastLogLikelihood(o.y, o.work)
	}
	if math.IsNaN(llf) {
		return math.Inf(1)
	}
	return -llf / float64(len(o.y))
}

// gradient computes central differences with steps proportional to the
// cube root of machine precision, the usual balance between truncation and
// rounding error.
func (o *objective) gradient(grad, x []float64) {
	const relStep = 6e-6
	copy(o.shifted, x)
	for i, xi := range x {
		h := relStep * max(1, math.Abs(xi))
		o.shifted[i] = xi + h
		up := o.value(o.shifted)
		o.shifted[i] = xi - h
		down := o.value(o.shifted)
		o.shifted[i] = xi
		grad[i] = (up - down) / (2 * h)
	}
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}
