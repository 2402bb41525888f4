package arima

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/dtbase/dtbase"
)

// Family is the name of this model family in a dtbase.ForecastModelSpec.
const Family = "arima"

// DefaultSpec is the original DTBase's model, its config_arima.ini:
// (4,1,2)(1,1,0)24 without trend.
var DefaultSpec = Spec{Order: Order{P: 4, D: 1, Q: 2}, Seasonal: SeasonalOrder{P: 1, D: 1, Q: 0, S: 24}, Trend: TrendNone}

// maxAutoSeason bounds the season length of automatic selection: a week of
// hours. Longer seasons make every seasonal candidate too large to fit.
const maxAutoSeason = 168

// NewForecaster reads the settings of spec into a dtbase.Forecaster:
// "order" ([p, d, q]), "seasonal_order" ([P, D, Q, s]) and "trend" ("n",
// "c", "t" or "ct"), each DefaultSpec's when absent. With spec.Auto the
// order is chosen per series as R's auto.arima does (see Auto), and only
// the season length s of "seasonal_order" is used. A bad setting is
// EINVALID and names it.
func NewForecaster(spec dtbase.ForecastModelSpec) (dtbase.Forecaster, error) {
	s, err := specOf(spec.Settings)
	if err != nil {
		return nil, err
	}
	if spec.Auto {
		if n := s.Seasonal.S; n < 0 || n > maxAutoSeason {
			return nil, dtbase.Errorf(dtbase.EINVALID, "seasonal_order: with auto, the season length must be between 0 and %d, got %d", maxAutoSeason, n)
		}
		return autoForecaster{season: s.Seasonal.S}, nil
	}
	if err := s.Validate(); err != nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "order: %s", strings.TrimPrefix(err.Error(), ErrInvalidSpec.Error()+": "))
	}
	return specForecaster{s}, nil
}

func specOf(settings map[string]any) (Spec, error) {
	s := DefaultSpec
	ints := func(key string, n int) ([]int, error) {
		v, ok := settings[key].([]int)
		if !ok || len(v) != n {
			return nil, dtbase.Errorf(dtbase.EINVALID, "%s must be %d integers, got %v", key, n, settings[key])
		}
		return v, nil
	}
	for key, v := range settings {
		switch key {
		case "order":
			o, err := ints(key, 3)
			if err != nil {
				return s, err
			}
			s.Order = Order{P: o[0], D: o[1], Q: o[2]}
		case "seasonal_order":
			o, err := ints(key, 4)
			if err != nil {
				return s, err
			}
			s.Seasonal = SeasonalOrder{P: o[0], D: o[1], Q: o[2], S: o[3]}
		case "trend":
			t, ok := v.(string)
			if !ok {
				return s, dtbase.Errorf(dtbase.EINVALID, "trend must be a string, got %v", v)
			}
			s.Trend = Trend(t)
		default:
			return s, dtbase.Errorf(dtbase.EINVALID, "unknown ARIMA setting %q", key)
		}
	}
	return s, nil
}

// specForecaster fits a fixed order.
type specForecaster struct{ spec Spec }

func (f specForecaster) String() string { return f.spec.String() }
func (f specForecaster) MinLength() int { return minLength(f.spec) }

func (f specForecaster) Fit(ctx context.Context, y []float64) (dtbase.ForecastFit, error) {
	spec := f.spec
	if isConstant(observed(difference(y, spec.Order.D, spec.Seasonal.D, spec.Seasonal.S))) {
		return nil, dtbase.Errorf(dtbase.EINVALID, "the series is constant after differencing (d=%d, D=%d, s=%d): it has no noise to fit",
			spec.Order.D, spec.Seasonal.D, spec.Seasonal.S)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := Fit(y, spec)
	if err != nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "fitting %v failed: %s", spec, plain(err))
	}
	if !m.Converged {
		return nil, dtbase.Errorf(dtbase.EINVALID, "fitting %v did not converge (log-likelihood %.4g after the iteration limit); try another order", spec, m.LogLikelihood)
	}
	return fit{m}, nil
}

// autoForecaster chooses the order per series with Auto.
type autoForecaster struct{ season int }

func (f autoForecaster) String() string { return fmt.Sprintf("auto ARIMA, season %d", f.season) }
func (f autoForecaster) MinLength() int { return 0 }

func (f autoForecaster) Fit(_ context.Context, y []float64) (dtbase.ForecastFit, error) {
	m, err := Auto(y, f.season, AutoOptions{})
	if err != nil {
		return nil, dtbase.Errorf(dtbase.EINVALID, "automatic order selection failed: %s", plain(err))
	}
	if !m.Converged {
		return nil, dtbase.Errorf(dtbase.EINVALID, "fitting the selected %v did not converge (log-likelihood %.4g after the iteration limit)", m.Spec, m.LogLikelihood)
	}
	return fit{m}, nil
}

// fit is a fitted Model as a dtbase.ForecastFit. Its errors drop the
// package's "arima: " prefix: they are shown to users inside other messages.
type fit struct{ m *Model }

func (f fit) String() string { return f.m.Spec.String() }
func (f fit) MinLength() int { return minLength(f.m.Spec) }
func (f fit) AIC() float64   { return f.m.AIC }

func (f fit) Forecast(steps int, alpha float64) (dtbase.ForecastInterval, error) {
	fc, err := f.m.Forecast(steps, alpha)
	if err != nil {
		return dtbase.ForecastInterval{}, errors.New(plain(err))
	}
	return dtbase.ForecastInterval{Mean: fc.Mean, Lower: fc.Lower, Upper: fc.Upper}, nil
}

func (f fit) Refit(y []float64) (dtbase.ForecastFit, error) {
	m, err := Fit(y, f.m.Spec)
	if err != nil {
		return nil, errors.New(plain(err))
	}
	return fit{m}, nil
}

func (f fit) Extend(y []float64) (dtbase.ForecastFit, bool, error) {
	m, err := NewModel(y, f.m.Spec, f.m.Params)
	if errors.Is(err, ErrInvalidParams) {
		// Estimates on the edge of invertibility, common when differencing
		// a stationary component, fail NewModel's strict check although Fit
		// produced them: refit instead.
		next, err := f.Refit(y)
		return next, true, err
	}
	if err != nil {
		return nil, false, errors.New(plain(err))
	}
	return fit{m}, false, nil
}

// description is what a run's details say about an ARIMA model.
type description struct {
	Spec          string             `json:"spec"`
	Order         [3]int             `json:"order"`
	SeasonalOrder [4]int             `json:"seasonal_order"`
	Trend         string             `json:"trend"`
	Params        map[string]float64 `json:"params"`
	LogLikelihood *float64           `json:"log_likelihood"`
	AIC           *float64           `json:"aic"`
	BIC           *float64           `json:"bic"`
	Converged     bool               `json:"converged"`
}

func (f fit) Describe() any {
	m, s := f.m, f.m.Spec
	return description{
		Spec:          s.String(),
		Order:         [3]int{s.Order.P, s.Order.D, s.Order.Q},
		SeasonalOrder: [4]int{s.Seasonal.P, s.Seasonal.D, s.Seasonal.Q, s.Seasonal.S},
		Trend:         string(s.Trend),
		Params:        paramMap(s, m.Params),
		LogLikelihood: finiteOrNil(m.LogLikelihood), AIC: finiteOrNil(m.AIC), BIC: finiteOrNil(m.BIC), Converged: m.Converged,
	}
}

// minLength is the shortest series a run fits with spec: after
// differencing, the longest lag plus one observation per parameter. For
// DefaultSpec that is 61 hours, so the demo's three days can be forecast;
// Fit accepts even shorter series, whose estimates are noise.
func minLength(spec Spec) int {
	s := spec.Seasonal.S
	if spec.Seasonal.P == 0 && spec.Seasonal.D == 0 && spec.Seasonal.Q == 0 {
		s = 0
	}
	lag := max(spec.Order.P+spec.Seasonal.P*s, spec.Order.Q+spec.Seasonal.Q*s)
	return spec.Order.D + spec.Seasonal.D*s + lag + spec.NumParams()
}

// paramMap names the estimates as statsmodels does ("ar.L1", "sigma2").
func paramMap(spec Spec, p Params) map[string]float64 {
	var v []float64
	if spec.Trend == TrendConstant || spec.Trend == TrendConstantLinear {
		v = append(v, p.Intercept)
	}
	if spec.Trend == TrendLinear || spec.Trend == TrendConstantLinear {
		v = append(v, p.Drift)
	}
	v = append(v, p.AR...)
	v = append(v, p.MA...)
	v = append(v, p.SeasonalAR...)
	v = append(v, p.SeasonalMA...)
	v = append(v, p.Sigma2)
	names := spec.ParamNames()
	out := make(map[string]float64, len(names))
	for i, n := range names {
		if i < len(v) && finite(v[i]) {
			out[n] = v[i]
		}
	}
	return out
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// finiteOrNil keeps JSON encoding from failing on a non-finite statistic.
func finiteOrNil(f float64) *float64 {
	if !finite(f) {
		return nil
	}
	return &f
}

func plain(err error) string { return strings.TrimPrefix(err.Error(), "arima: ") }
