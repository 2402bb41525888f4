package arima

import (
	"errors"
	"fmt"
)

// Order is the non-seasonal part (p, d, q) of a SARIMA model.
type Order struct {
	P int // P is the autoregressive order p.
	D int // D is the order d of ordinary differencing.
	Q int // Q is the moving-average order q.
}

// SeasonalOrder is the seasonal part (P, D, Q)s of a SARIMA model.
type SeasonalOrder struct {
	P int // P is the seasonal autoregressive order, in seasons.
	D int // D is the order of seasonal differencing.
	Q int // Q is the seasonal moving-average order, in seasons.
	// S is the season length in observations, for example 12 for monthly
	// data with a yearly cycle. It must be at least 2 when P, D or Q is
	// positive, and is ignored otherwise.
	S int
}

// Trend selects the deterministic terms of a model. Following statsmodels,
// they enter the state equation of the stationary ARMA component, so with
// differencing a constant acts as a drift of the differenced series.
type Trend string

// The supported trends. Params documents the time index of the linear term.
const (
	TrendNone           Trend = "n"  // TrendNone has no deterministic term.
	TrendConstant       Trend = "c"  // TrendConstant adds an intercept.
	TrendLinear         Trend = "t"  // TrendLinear adds a drift times the time index.
	TrendConstantLinear Trend = "ct" // TrendConstantLinear adds both.
)

// Spec specifies a seasonal ARIMA model (p,d,q)(P,D,Q)s with optional trend.
// The zero value is white noise around zero.
type Spec struct {
	Order    Order
	Seasonal SeasonalOrder
	// Trend is one of the Trend constants; the empty string means TrendNone.
	Trend Trend
}

// maxStates bounds the state dimension d + D·s + max(p+P·s, q+Q·s+1). The
// Kalman filter costs O(states²) per observation, so larger models (such as
// hourly data with a yearly season) are far outside what this package is
// meant for and are rejected rather than left to run for hours.
const maxStates = 512

// ErrInvalidSpec is wrapped by every error that Validate reports.
var ErrInvalidSpec = errors.New("arima: invalid model specification")

// Validate reports whether s describes a model that Fit can estimate. It
// rejects negative orders, seasonal terms without a season length of at
// least 2, seasonal and non-seasonal lags that coincide, unknown trends and
// models whose state vector would exceed 512 elements.
func (s Spec) Validate() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidSpec, fmt.Sprintf(format, args...))
	}
	o, so := s.Order, s.Seasonal
	if o.P < 0 || o.D < 0 || o.Q < 0 {
		return fail("orders must not be negative, got (%d,%d,%d)", o.P, o.D, o.Q)
	}
	if so.P < 0 || so.D < 0 || so.Q < 0 || so.S < 0 {
		return fail("seasonal orders must not be negative, got (%d,%d,%d,%d)", so.P, so.D, so.Q, so.S)
	}
	for _, v := range []int{o.P, o.D, o.Q, so.P, so.D, so.Q, so.S} {
		// Checked before multiplying orders, which could overflow.
		if v > maxStates {
			return fail("order %d exceeds the supported state dimension %d", v, maxStates)
		}
	}
	if s.hasSeasonalTerms() && so.S < 2 {
		return fail("seasonal terms (%d,%d,%d) need a season length of at least 2, got %d", so.P, so.D, so.Q, so.S)
	}
	// statsmodels refuses such models too: the same lag would carry two
	// coefficients that the likelihood cannot tell apart.
	if so.P > 0 && o.P >= so.S {
		return fail("autoregressive order %d reaches the seasonal lag %d", o.P, so.S)
	}
	if so.Q > 0 && o.Q >= so.S {
		return fail("moving-average order %d reaches the seasonal lag %d", o.Q, so.S)
	}
	switch s.Trend {
	case "", TrendNone, TrendConstant, TrendLinear, TrendConstantLinear:
	default:
		return fail("unknown trend %q, want one of \"n\", \"c\", \"t\", \"ct\"", s.Trend)
	}
	if n := s.stateDim(); n > maxStates {
		return fail("state dimension %d exceeds the supported %d", n, maxStates)
	}
	return nil
}

// String formats s in the usual notation, e.g. "(0,1,1)(0,1,1)12 trend=n".
func (s Spec) String() string {
	o, so := s.Order, s.Seasonal
	trend := s.Trend
	if trend == "" {
		trend = TrendNone
	}
	if !s.hasSeasonalTerms() {
		return fmt.Sprintf("(%d,%d,%d) trend=%s", o.P, o.D, o.Q, trend)
	}
	return fmt.Sprintf("(%d,%d,%d)(%d,%d,%d)%d trend=%s", o.P, o.D, o.Q, so.P, so.D, so.Q, so.S, trend)
}

// ParamNames returns the names of the estimated parameters in the order and
// with the names that statsmodels' SARIMAX uses, e.g. "intercept", "ar.L1",
// "ma.S.L12" and "sigma2". The spec must be valid.
func (s Spec) ParamNames() []string {
	var names []string
	if s.hasIntercept() {
		names = append(names, "intercept")
	}
	if s.hasDrift() {
		names = append(names, "drift")
	}
	for i := 1; i <= s.Order.P; i++ {
		names = append(names, fmt.Sprintf("ar.L%d", i))
	}
	for i := 1; i <= s.Order.Q; i++ {
		names = append(names, fmt.Sprintf("ma.L%d", i))
	}
	for i := 1; i <= s.Seasonal.P; i++ {
		names = append(names, fmt.Sprintf("ar.S.L%d", i*s.Seasonal.S))
	}
	for i := 1; i <= s.Seasonal.Q; i++ {
		names = append(names, fmt.Sprintf("ma.S.L%d", i*s.Seasonal.S))
	}
	return append(names, "sigma2")
}

// NumParams returns the number of estimated parameters, sigma2 included.
func (s Spec) NumParams() int { return len(s.ParamNames()) }

func (s Spec) hasSeasonalTerms() bool {
	return s.Seasonal.P > 0 || s.Seasonal.D > 0 || s.Seasonal.Q > 0
}

// season returns the season length, or 0 when the model has no seasonal
// terms, so that callers need not special-case an ignored S.
func (s Spec) season() int {
	if !s.hasSeasonalTerms() {
		return 0
	}
	return s.Seasonal.S
}

func (s Spec) hasIntercept() bool {
	return s.Trend == TrendConstant || s.Trend == TrendConstantLinear
}

func (s Spec) hasDrift() bool {
	return s.Trend == TrendLinear || s.Trend == TrendConstantLinear
}

func (s Spec) numTrend() int {
	n := 0
	if s.hasIntercept() {
		n++
	}
	if s.hasDrift() {
		n++
	}
	return n
}

// diffStates is the number of states that carry the differencing, d + D·s;
// it is also the number of leading observations that the likelihood skips.
func (s Spec) diffStates() int { return s.Order.D + s.Seasonal.D*s.season() }

// reducedAROrder and reducedMAOrder are the degrees of the products of the
// non-seasonal and seasonal lag polynomials.
func (s Spec) reducedAROrder() int { return s.Order.P + s.Seasonal.P*s.season() }
func (s Spec) reducedMAOrder() int { return s.Order.Q + s.Seasonal.Q*s.season() }

// armaStates is the dimension of the ARMA block in Harvey's representation.
func (s Spec) armaStates() int { return max(s.reducedAROrder(), s.reducedMAOrder()+1) }

func (s Spec) stateDim() int { return s.diffStates() + s.armaStates() }

// withoutDifferencing returns s with d = D = 0: the ARMA model that s
// implies for its differenced series.
func (s Spec) withoutDifferencing() Spec {
	s.Order.D, s.Seasonal.D = 0, 0
	return s
}
