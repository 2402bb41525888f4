package arima

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"
)

// Criterion names the information criterion that Auto minimises.
type Criterion string

// The criteria that Auto supports.
const (
	CriterionAICc Criterion = "aicc" // CriterionAICc is Model.AICc, the default.
	CriterionAIC  Criterion = "aic"  // CriterionAIC is Model.AIC.
	CriterionBIC  Criterion = "bic"  // CriterionBIC is Model.BIC.
)

// AutoOptions tunes Auto. The zero value gives the defaults of R's
// forecast::auto.arima. For the bounds on orders, zero selects the default
// and a negative value allows none of the terms.
type AutoOptions struct {
	// MaxP and MaxQ bound the non-seasonal orders p and q (default 5).
	MaxP, MaxQ int
	// MaxSeasonalP and MaxSeasonalQ bound the seasonal orders P and Q
	// (default 2).
	MaxSeasonalP, MaxSeasonalQ int
	// MaxD bounds the order d that the KPSS tests may choose (default 2),
	// MaxSeasonalD the seasonal order D that the seasonal strength may
	// choose (default 1).
	MaxD, MaxSeasonalD int
	// D and SeasonalD, when not nil, fix d and D instead of testing.
	D, SeasonalD *int
	// Alpha is the level of the KPSS tests, clamped to [0.01, 0.1]; zero
	// means 0.05.
	Alpha float64
	// Criterion is the criterion to minimise; empty means CriterionAICc.
	Criterion Criterion
	// NoConstant excludes the constant (a mean without differencing, a
	// drift with one difference), which Auto otherwise considers when
	// d + D ≤ 1.
	NoConstant bool
	// Exhaustive fits every model within the bounds whose p+q+P+Q is at
	// most MaxOrder (default 5), instead of the stepwise search.
	Exhaustive bool
	MaxOrder   int
	// MaxModels bounds the number of models the stepwise search fits
	// (default 94, auto.arima's nmodels).
	MaxModels int
	// Trace, if not nil, is called with every candidate that Auto fits,
	// in order.
	Trace func(Candidate)
}

// Candidate is one model that Auto considered.
type Candidate struct {
	Spec Spec
	// IC is the value of the criterion, or +Inf if the model could not be
	// fitted or was rejected (see Err).
	IC float64
	// Model is the fitted model, nil if fitting failed.
	Model *Model
	// Err says why the model was not eligible, nil if it was.
	Err error
}

// ErrNoModel means that Auto found no eligible model.
var ErrNoModel = errors.New("arima: no suitable model found")

// errNearUnitRoot marks candidates that Auto rejects.
var errNearUnitRoot = errors.New("a root of the AR or MA polynomial lies within 1.01 of the unit circle")

// minRootModulus is the bound below which auto.arima rejects a fitted
// model: such a root signals over- or under-differencing, and forecasts
// from it are unstable.
const minRootModulus = 1.01

func (o AutoOptions) withDefaults() AutoOptions {
	def := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	def(&o.MaxP, 5)
	def(&o.MaxQ, 5)
	def(&o.MaxSeasonalP, 2)
	def(&o.MaxSeasonalQ, 2)
	def(&o.MaxD, 2)
	def(&o.MaxSeasonalD, 1)
	def(&o.MaxOrder, 5)
	def(&o.MaxModels, 94)
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
	if o.Criterion == "" {
		o.Criterion = CriterionAICc
	}
	return o
}

// Auto chooses and fits a seasonal ARIMA model for y, whose season has
// length season (below 2 for non-seasonal data), the way R's
// forecast::auto.arima does by default (Hyndman and Khandakar 2008):
//
//  1. D, the seasonal differencing, is 1 if the strength of seasonality
//     (SeasonalStrength) exceeds 0.64 (NSDiffs);
//  2. d is the number of differences of the seasonally differenced series
//     after which a KPSS test at level 0.05 no longer rejects
//     stationarity (NDiffs);
//  3. a stepwise search over p, q ≤ 5 and P, Q ≤ 2, with and without a
//     constant when d + D ≤ 1, minimises the AICc: it starts from the
//     best of (2,d,2)(1,D,1), (0,d,0)(0,D,0), (1,d,0)(1,D,0) and
//     (0,d,1)(0,D,1), and moves to the first neighbour that improves,
//     changing P, Q, p or q by one, or two of them together, or toggling
//     the constant, until no neighbour improves.
//
// Bounds are reduced as auto.arima reduces them for short series (p, q at
// most a third of the observed values, P, Q at most a third of the
// seasons), and p, q stay below the season length when seasonal terms are
// allowed. Every candidate is fitted by exact maximum likelihood (Fit);
// candidates with an AR or MA root within 1.01 of the unit circle are
// rejected, as auto.arima rejects them. Unlike auto.arima, Auto does not
// reject models whose parameter covariance cannot be estimated (its
// checkarima), as Fit does not estimate it.
//
// A constant is TrendConstant: a mean without differencing, a drift with
// d + D = 1. NaN marks missing values, as for Fit.
//
// Auto returns the model with the smallest criterion. Besides the errors
// of Fit for bad input, it returns an error wrapping ErrTooShort when too
// few values are observed, ErrConstant when the differenced series is
// constant, and ErrNoModel when no candidate could be fitted.
func Auto(y []float64, season int, opts AutoOptions) (*Model, error) {
	opts = opts.withDefaults()
	switch opts.Criterion {
	case CriterionAICc, CriterionAIC, CriterionBIC:
	default:
		return nil, fmt.Errorf("%w: unknown criterion %q, want \"aicc\", \"aic\" or \"bic\"", ErrInvalidSpec, opts.Criterion)
	}
	for i, v := range y {
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: y[%d] = %v", ErrNonFinite, i, v)
		}
	}
	seen := observed(y)
	if len(seen) == 0 {
		return nil, fmt.Errorf("%w: all %d values are missing", ErrTooShort, len(y))
	}
	if isConstant(seen) {
		return nil, fmt.Errorf("%w: every observed value is %v", ErrConstant, seen[0])
	}
	n := len(seen)
	m := season
	if m < 2 {
		m = 1
	}
	maxP := min(opts.MaxP, n/3)
	maxQ := min(opts.MaxQ, n/3)
	maxSP := min(opts.MaxSeasonalP, n/3/m)
	maxSQ := min(opts.MaxSeasonalQ, n/3/m)

	// Differencing.
	D := 0
	switch {
	case m == 1:
		maxSP, maxSQ = 0, 0
	case opts.SeasonalD != nil:
		D = *opts.SeasonalD
	case len(y) > 2*m:
		D = NSDiffs(y, m, opts.MaxSeasonalD)
	}
	if D < 0 || (opts.D != nil && *opts.D < 0) {
		return nil, fmt.Errorf("%w: orders of differencing must not be negative", ErrInvalidSpec)
	}
	dx := difference(y, 0, D, m)
	d := 0
	if opts.D != nil {
		d = *opts.D
	} else {
		d = NDiffs(dx, opts.Alpha, opts.MaxD)
	}
	dx = difference(dx, d, 0, 0)
	dxSeen := observed(dx)
	if len(dxSeen) == 0 {
		return nil, fmt.Errorf("%w: nothing is left after %d differences and %d seasonal differences", ErrTooShort, d, D)
	}
	if isConstant(dxSeen) {
		return nil, fmt.Errorf("%w: the series is constant after %d differences and %d seasonal differences, a deterministic pattern", ErrConstant, d, D)
	}
	if m > 1 {
		if maxSP > 0 {
			maxP = min(maxP, m-1)
		}
		if maxSQ > 0 {
			maxQ = min(maxQ, m-1)
		}
	}

	s := &search{
		y:        y,
		season:   m,
		d:        d,
		seasonD:  D,
		opts:     opts,
		maxP:     maxP,
		maxQ:     maxQ,
		maxSP:    maxSP,
		maxSQ:    maxSQ,
		constant: !opts.NoConstant && d+D <= 1,
		fitted:   map[candidateKey]Candidate{},
	}
	if opts.Exhaustive {
		s.exhaustive()
	} else {
		s.stepwise(len(y))
	}
	if s.best.Model == nil || math.IsInf(s.best.IC, 1) {
		return nil, fmt.Errorf("%w among %d candidates with d=%d, D=%d", ErrNoModel, len(s.fitted), d, D)
	}
	return s.best.Model, nil
}

// candidateKey identifies a model within one search, where d and D are
// fixed.
type candidateKey struct {
	p, q, sp, sq int
	constant     bool
}

type search struct {
	y                  []float64
	season, d, seasonD int
	opts               AutoOptions
	maxP, maxQ         int
	maxSP, maxSQ       int
	constant           bool // constant means a constant may be included
	fitted             map[candidateKey]Candidate
	best               Candidate
	haveBest           bool
	modelsFitted       int
	maxFits            int  // maxFits bounds modelsFitted if positive
	stopped            bool // stopped means maxFits was reached
}

// try fits the candidate k unless it was fitted before, and reports
// whether it was new. It makes k the best if its criterion is lower.
func (s *search) try(k candidateKey) (fittedNew, improved bool) {
	if _, ok := s.fitted[k]; ok {
		return false, false
	}
	if s.maxFits > 0 && s.modelsFitted >= s.maxFits {
		s.stopped = true
		return false, false
	}
	s.modelsFitted++
	c := s.fit(k)
	s.fitted[k] = c
	if s.opts.Trace != nil {
		s.opts.Trace(c)
	}
	if !s.haveBest || c.IC < s.best.IC {
		s.best, s.haveBest = c, true
		return true, true
	}
	return true, false
}

func (s *search) fit(k candidateKey) Candidate {
	spec := Spec{
		Order:    Order{P: k.p, D: s.d, Q: k.q},
		Seasonal: SeasonalOrder{P: k.sp, D: s.seasonD, Q: k.sq, S: s.season},
		Trend:    TrendNone,
	}
	if s.season < 2 {
		spec.Seasonal = SeasonalOrder{}
	}
	if k.constant {
		spec.Trend = TrendConstant
	}
	c := Candidate{Spec: spec, IC: math.Inf(1)}
	m, err := Fit(s.y, spec)
	if err != nil {
		c.Err = err
		return c
	}
	c.Model = m
	if rootModulus(m.Params, spec.season()) < minRootModulus {
		c.Err = errNearUnitRoot
		return c
	}
	switch s.opts.Criterion {
	case CriterionAIC:
		c.IC = m.AIC
	case CriterionBIC:
		c.IC = m.BIC
	default:
		c.IC = m.AICc
	}
	if math.IsNaN(c.IC) {
		c.IC = math.Inf(1)
	}
	return c
}

// stepwise is auto.arima's stepwise search, in its order of moves, for a
// series of n values.
func (s *search) stepwise(n int) {
	s.maxFits = s.opts.MaxModels
	p, q, sp, sq := min(2, s.maxP), min(2, s.maxQ), min(1, s.maxSP), min(1, s.maxSQ)
	if n < 10 {
		p, q, sp, sq = min(p, 1), min(q, 1), 0, 0
	}
	c := s.constant
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	s.try(candidateKey{p, q, sp, sq, c})
	if _, improved := s.try(candidateKey{0, 0, 0, 0, c}); improved {
		p, q, sp, sq = 0, 0, 0, 0
	}
	if s.maxP > 0 || s.maxSP > 0 {
		k := candidateKey{b2i(s.maxP > 0), 0, b2i(s.season > 1 && s.maxSP > 0), 0, c}
		if _, improved := s.try(k); improved {
			p, q, sp, sq = k.p, 0, k.sp, 0
		}
	}
	if s.maxQ > 0 || s.maxSQ > 0 {
		k := candidateKey{0, b2i(s.maxQ > 0), 0, b2i(s.season > 1 && s.maxSQ > 0), c}
		if _, improved := s.try(k); improved {
			p, q, sp, sq = 0, k.q, 0, k.sq
		}
	}
	if c {
		if _, improved := s.try(candidateKey{0, 0, 0, 0, false}); improved {
			p, q, sp, sq = 0, 0, 0, 0
		}
	}
	// The current model is always the best so far: (p, q, sp, sq, c) is
	// updated together with s.best. A pass tries the neighbours in order
	// and restarts from the first that improves; the search ends after a
	// pass that fits no new model.
	for !s.stopped {
		type move struct {
			ok             bool
			dp, dq, dP, dQ int
		}
		moves := []move{
			{sp > 0, 0, 0, -1, 0},
			{sq > 0, 0, 0, 0, -1},
			{sp < s.maxSP, 0, 0, 1, 0},
			{sq < s.maxSQ, 0, 0, 0, 1},
			{sq > 0 && sp > 0, 0, 0, -1, -1},
			{sq < s.maxSQ && sp > 0, 0, 0, -1, 1},
			{sq > 0 && sp < s.maxSP, 0, 0, 1, -1},
			{sq < s.maxSQ && sp < s.maxSP, 0, 0, 1, 1},
			{p > 0, -1, 0, 0, 0},
			{q > 0, 0, -1, 0, 0},
			{p < s.maxP, 1, 0, 0, 0},
			{q < s.maxQ, 0, 1, 0, 0},
			{q > 0 && p > 0, -1, -1, 0, 0},
			{q < s.maxQ && p > 0, -1, 1, 0, 0},
			{q > 0 && p < s.maxP, 1, -1, 0, 0},
			{q < s.maxQ && p < s.maxP, 1, 1, 0, 0},
		}
		fittedAny, improvedAny := false, false
		for _, mv := range moves {
			if !mv.ok {
				continue
			}
			k := candidateKey{p + mv.dp, q + mv.dq, sp + mv.dP, sq + mv.dQ, c}
			fittedNew, improved := s.try(k)
			fittedAny = fittedAny || fittedNew
			if improved {
				p, q, sp, sq = k.p, k.q, k.sp, k.sq
				improvedAny = true
				break
			}
		}
		if !improvedAny && s.constant {
			k := candidateKey{p, q, sp, sq, !c}
			fittedNew, improved := s.try(k)
			fittedAny = fittedAny || fittedNew
			if improved {
				c = !c
			}
		}
		if !fittedAny {
			break
		}
	}
}

// exhaustive fits every model within the bounds with p+q+P+Q ≤ MaxOrder,
// like auto.arima(stepwise = FALSE).
func (s *search) exhaustive() {
	constants := []bool{false}
	if s.constant {
		constants = append(constants, true)
	}
	for p := 0; p <= s.maxP; p++ {
		for q := 0; q <= s.maxQ; q++ {
			for sp := 0; sp <= s.maxSP; sp++ {
				for sq := 0; sq <= s.maxSQ; sq++ {
					if p+q+sp+sq > s.opts.MaxOrder {
						continue
					}
					for _, c := range constants {
						s.try(candidateKey{p, q, sp, sq, c})
					}
				}
			}
		}
	}
}

// rootModulus returns the smallest modulus of the roots of the AR and MA
// polynomials of the fitted model, seasonal factors expanded, as
// auto.arima computes it. A seasonal factor 1 - Φ(u) in u = z^s has roots
// z with |z| = |u|^{1/s}, so the factors need not be multiplied out.
func rootModulus(p Params, s int) float64 {
	smallest := math.Inf(1)
	for _, f := range []struct {
		coef []float64
		sign float64
		step int
	}{
		{p.AR, 1, 1}, {p.MA, -1, 1}, {p.SeasonalAR, 1, s}, {p.SeasonalMA, -1, s},
	} {
		inv := largestInverseRoot(f.coef, f.sign)
		if inv == 0 {
			continue
		}
		smallest = min(smallest, math.Pow(1/inv, 1/float64(f.step)))
	}
	return smallest
}

// largestInverseRoot returns the largest modulus of the inverse roots of
// 1 - sign·(c_1 z + ... + c_n z^n), the eigenvalues of its companion
// matrix; 0 for a polynomial of degree zero.
func largestInverseRoot(c []float64, sign float64) float64 {
	n := len(c)
	for n > 0 && c[n-1] == 0 {
		n--
	}
	if n == 0 {
		return 0
	}
	companion := mat.NewDense(n, n, nil)
	for i := range n {
		companion.Set(0, i, sign*c[i])
		if i > 0 {
			companion.Set(i, i-1, 1)
		}
	}
	var eig mat.Eigen
	if !eig.Factorize(companion, mat.EigenNone) {
		return math.Inf(1)
	}
	largest := 0.0
	for _, v := range eig.Values(nil) {
		largest = max(largest, cmplx.Abs(v))
	}
	return largest
}
