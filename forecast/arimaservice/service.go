// Package arimaservice is the ARIMA forecaster of dtbase, the counterpart of
// the original DTBase's dtbase/models/arima.py, done correctly: for each
// configured sensor and measure it reads a training window of readings,
// snaps them to the hour and averages them, fills the gaps, fits a seasonal
// ARIMA model with forecast/arima, and stores a 48-hour forecast with a 68%
// interval as a model run linked to the sensor and measure it predicts.
//
// What it writes is what the original wrote: model "Arima", scenario
// "Business as usual", and for a base measure m the float model measures
// "Mean m", "Upper Bound m" and "Lower Bound m" with m's units ("" when m
// has none). They are created when missing and reused when present, so
// repeated runs are idempotent for everything but the runs themselves.
//
// Differences from the original, on purpose:
//   - the gap filling the original meant to do (its imputation never ran)
//     is done: linear interpolation by default, or carrying the last value,
//     or none, leaving the gaps to the Kalman filter as missing values;
//   - the CROP farm's "farm cycle" cut of the last hours is not applied:
//     the forecast starts one hour after the last observed hour;
//   - measures are looked up by name and units among the sensor type's
//     measures, not by name across all sensors;
//   - all forecasts are computed first and written in one transaction, so a
//     failure for one sensor writes nothing; the error names every failure;
//   - cross-validation scores are stored with the run rather than logged;
//   - the order can be chosen per series (Params.Auto, arima.Auto).
//
// The service runs inside dtbase serve as POST /model/run-arima (so it can
// be registered and scheduled as a service) and as dtbase forecast arima.
package arimaservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/forecast/arima"
)

// Measure names a base measure of the configured sensors. A nil Units
// matches the only measure of that name the sensor's type has.
type Measure struct {
	Name  string
	Units *string
}

// Params configure one run of the service. DefaultParams gives the
// original's defaults; Run fills zero values from them where noted.
type Params struct {
	Sensors  []string  // unique identifiers; required
	Measures []Measure // base measures; required

	// Spec is the model to fit: (4,1,2)(1,1,0)24 without trend by default,
	// the original's config_arima.ini.
	Spec arima.Spec
	// Auto chooses the model per series with arima.Auto instead, as R's
	// auto.arima does (d by KPSS tests, D by seasonal strength, a stepwise
	// search on AICc); of Spec only the season length Spec.Seasonal.S is
	// used (below 2: no season).
	Auto bool

	TrainingDays    int           // the training window in days, 1 to 365; 60 by default
	PredictFrom     time.Time     // the end of the training window; zero means now
	HoursForecast   int           // forecast steps, 1 to 720; 48 by default
	Alpha           float64       // 1 - interval level, in (0, 1); 0.32 (68%) by default
	MinsFromTheHour time.Duration // snap tolerance, 0 to 30 minutes; 15 by default
	Fill            Fill          // gap filling; FillInterpolate by default

	// CV asks for rolling-origin cross-validation: the last 20% of the
	// series is cut into CVFolds blocks (4 by default, as the original's
	// TimeSeriesSplit); the model fitted on the first 80% forecasts each
	// block from its start, extended over the blocks before it, or refitted
	// on them when CVRefit is set. The scores (MAE, RMSE, MAPE and interval
	// coverage on observed hours only, averaged over folds) are stored in
	// the run's details.
	CV      bool
	CVFolds int
	CVRefit bool

	ModelName string // "Arima" by default
	Scenario  string // "Business as usual" by default
}

// DefaultParams returns the original's configuration without sensors and
// measures.
func DefaultParams() Params {
	return Params{
		Spec:            arima.Spec{Order: arima.Order{P: 4, D: 1, Q: 2}, Seasonal: arima.SeasonalOrder{P: 1, D: 1, Q: 0, S: 24}, Trend: arima.TrendNone},
		TrainingDays:    60,
		HoursForecast:   48,
		Alpha:           0.32,
		MinsFromTheHour: 15 * time.Minute,
		Fill:            FillInterpolate,
		CVFolds:         4,
		ModelName:       "Arima",
		Scenario:        "Business as usual",
	}
}

// Validate checks p; the error is EINVALID and names the offending
// parameter.
func (p *Params) Validate() error {
	bad := func(format string, args ...any) error { return dtbase.Errorf(dtbase.EINVALID, format, args...) }
	switch {
	case len(p.Sensors) == 0:
		return bad("sensors: give at least one sensor unique identifier")
	case len(p.Measures) == 0:
		return bad("measures: give at least one measure")
	case p.TrainingDays < 1 || p.TrainingDays > 365:
		return bad("num_days_training must be between 1 and 365, got %d", p.TrainingDays)
	case p.HoursForecast < 1 || p.HoursForecast > 720:
		return bad("hours_forecast must be between 1 and 720, got %d", p.HoursForecast)
	case !(p.Alpha > 0 && p.Alpha < 1):
		return bad("alpha must lie strictly between 0 and 1, got %v", p.Alpha)
	case p.MinsFromTheHour < 0 || p.MinsFromTheHour > 30*time.Minute:
		return bad("mins_from_the_hour must be between 0 and 30, got %v", p.MinsFromTheHour.Minutes())
	case p.Fill != FillInterpolate && p.Fill != FillCarry && p.Fill != FillNone:
		return bad("fill must be %q, %q or %q, got %q", FillInterpolate, FillCarry, FillNone, p.Fill)
	case p.CV && (p.CVFolds < 1 || p.CVFolds > 20):
		return bad("cv_folds must be between 1 and 20, got %d", p.CVFolds)
	case p.ModelName == "" || p.Scenario == "":
		return bad("model_name and scenario must not be empty")
	}
	for i, s := range p.Sensors {
		if s == "" {
			return bad("sensors[%d] is empty", i)
		}
	}
	for i, m := range p.Measures {
		if m.Name == "" {
			return bad("measures[%d].name is empty", i)
		}
		for j := range i {
			if p.Measures[j].Name == m.Name && eqUnits(p.Measures[j].Units, m.Units) {
				return bad("measures[%d] repeats measures[%d]", i, j)
			}
		}
	}
	if p.Auto {
		if s := p.Spec.Seasonal.S; s < 0 || s > maxAutoSeason {
			return bad("seasonal_order: with auto, the season length must be between 0 and %d, got %d", maxAutoSeason, s)
		}
		return nil
	}
	if err := p.Spec.Validate(); err != nil {
		return bad("order: %s", strings.TrimPrefix(err.Error(), arima.ErrInvalidSpec.Error()+": "))
	}
	return nil
}

// maxAutoSeason bounds the season length of automatic selection: a week of
// hours. Longer seasons make every seasonal candidate too large to fit.
const maxAutoSeason = 168

func eqUnits(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// Service runs the forecaster against a store.
type Service struct {
	Store dtbase.ModelStore
	// Now returns the current instant; nil means the system clock in UTC.
	Now func() time.Time
}

// Result describes what a run of the service wrote.
type Result struct {
	Runs []RunResult
}

// RunResult is the forecast of one sensor and measure, stored as one run.
type RunResult struct {
	RunID          int64
	TimeCreated    time.Time
	SensorUniqueID string
	Measure        dtbase.ModelSensorMeasure
	Spec           arima.Spec
	Converged      bool
	AIC            float64
	TrainingFrom   time.Time // the first hour of the fitted series
	TrainingTo     time.Time // the last hour of the fitted series
	Hours          int       // the length of the fitted series
	ObservedHours  int       // hours with readings; the rest were filled
	ForecastFrom   time.Time // the first forecast hour
	ForecastTo     time.Time // the last forecast hour
	CV             *CVScores // nil unless asked for
}

// Run forecasts every configured sensor and measure and writes the runs in
// one transaction. Bad parameters, unknown sensors or measures, and data
// that cannot be fitted (none or too few readings, a constant series, a fit
// that fails or does not converge) are EINVALID or ENOTFOUND errors naming
// each sensor and measure that failed; nothing is written then.
func (s *Service) Run(ctx context.Context, p Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now().UTC()
	}
	predictFrom := p.PredictFrom
	if predictFrom.IsZero() {
		predictFrom = now
	}
	from := predictFrom.AddDate(0, 0, -p.TrainingDays)

	type job struct {
		sensor  string
		measure Measure
		run     *dtbase.NewModelRun
		result  RunResult
		err     error
	}
	var jobs []*job
	for _, sensor := range p.Sensors {
		for _, m := range p.Measures {
			jobs = append(jobs, &job{sensor: sensor, measure: m})
		}
	}
	// Reading is quick and fitting is CPU-bound: fit the series in
	// parallel, one per processor.
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, j := range jobs {
		series, err := s.Store.FindModelInputSeries(ctx, j.sensor, j.measure.Name, j.measure.Units, from, predictFrom)
		if err != nil {
			j.err = err
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() {
				// A bug in fitting must not take the server down with it:
				// it becomes this request's internal error.
				if r := recover(); r != nil {
					j.err = fmt.Errorf("panic while forecasting: %v", r)
				}
				<-sem
				wg.Done()
			}()
			j.run, j.result, j.err = forecastSeries(ctx, series, p, from, predictFrom)
		}()
	}
	wg.Wait()

	var failures []string
	code := dtbase.EINVALID
	for _, j := range jobs {
		if j.err == nil {
			continue
		}
		var de *dtbase.Error
		if !errors.As(j.err, &de) {
			return nil, fmt.Errorf("arima service: sensor %q, measure %q: %w", j.sensor, j.measure.Name, j.err)
		}
		if de.Code == dtbase.ENOTFOUND {
			code = dtbase.ENOTFOUND
		}
		failures = append(failures, fmt.Sprintf("sensor '%s', measure '%s': %s", j.sensor, j.measure.Name, de.Message))
	}
	if len(failures) > 0 {
		return nil, dtbase.Errorf(code, "ARIMA forecast failed, nothing was written: %s", strings.Join(failures, "; "))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	runs := make([]*dtbase.NewModelRun, len(jobs))
	for i, j := range jobs {
		// Runs are unique per (model, scenario, time_created): give each
		// run of this call its own microsecond.
		j.run.TimeCreated = now.Truncate(time.Microsecond).Add(time.Duration(i) * time.Microsecond)
		runs[i] = j.run
	}
	if err := s.Store.CreateModelRuns(ctx, runs); err != nil {
		return nil, err
	}
	res := &Result{}
	for _, j := range jobs {
		j.result.RunID, j.result.TimeCreated = j.run.ID, j.run.TimeCreated
		res.Runs = append(res.Runs, j.result)
	}
	return res, nil
}

// forecastSeries prepares, fits and forecasts one series and returns the
// run to write.
func forecastSeries(ctx context.Context, series *dtbase.ModelInputSeries, p Params, from, predictFrom time.Time) (*dtbase.NewModelRun, RunResult, error) {
	var res RunResult
	h, err := prepareHourly(series.Points, p.MinsFromTheHour, p.Fill)
	if err != nil {
		return nil, res, err
	}
	if stale := predictFrom.Sub(h.End()); stale > time.Duration(p.HoursForecast)*time.Hour {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "the latest usable reading, at %s, is %s before predict_from: too old to forecast %s from",
			dtbase.FormatTime(h.End()), stale.Round(time.Minute), describeHours(p.HoursForecast))
	}
	spec := p.Spec
	if p.Auto {
		return forecastAuto(ctx, series, h, p, from, predictFrom)
	}
	if need := minHours(spec); len(h.Values) < need {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "too little data: %v needs at least %s of data, got %s (from %s to %s)",
			spec, describeHours(need), describeHours(len(h.Values)), dtbase.FormatTime(h.Start), dtbase.FormatTime(h.End()))
	}
	if isConstant(h.Values) {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "the series is constant (%v for %s): there is nothing to fit",
			firstNumber(h.Values), describeHours(len(h.Values)))
	}
	if isConstant(difference(h.Values, spec.Order.D, spec.Seasonal.D, spec.Seasonal.S)) {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "the series is constant after differencing (d=%d, D=%d, s=%d): it has no noise to fit",
			spec.Order.D, spec.Seasonal.D, spec.Seasonal.S)
	}
	if err := ctx.Err(); err != nil {
		return nil, res, err
	}
	m, err := arima.Fit(h.Values, spec)
	if err != nil {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "fitting %v failed: %s", spec, strings.TrimPrefix(err.Error(), "arima: "))
	}
	if !m.Converged {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "fitting %v did not converge (log-likelihood %.4g after the iteration limit); try another order", spec, m.LogLikelihood)
	}
	return finishSeries(ctx, series, h, m, p, from, predictFrom)
}

// forecastAuto chooses and fits the model of one series with arima.Auto.
func forecastAuto(ctx context.Context, series *dtbase.ModelInputSeries, h *hourlySeries, p Params, from, predictFrom time.Time) (*dtbase.NewModelRun, RunResult, error) {
	if isConstant(h.Values) {
		return nil, RunResult{}, dtbase.Errorf(dtbase.EINVALID, "the series is constant (%v for %s): there is nothing to fit",
			firstNumber(h.Values), describeHours(len(h.Values)))
	}
	m, err := arima.Auto(h.Values, p.Spec.Seasonal.S, arima.AutoOptions{})
	if err != nil {
		return nil, RunResult{}, dtbase.Errorf(dtbase.EINVALID, "automatic order selection failed: %s", strings.TrimPrefix(err.Error(), "arima: "))
	}
	if !m.Converged {
		return nil, RunResult{}, dtbase.Errorf(dtbase.EINVALID, "fitting the selected %v did not converge (log-likelihood %.4g after the iteration limit)", m.Spec, m.LogLikelihood)
	}
	return finishSeries(ctx, series, h, m, p, from, predictFrom)
}

// finishSeries forecasts from a fitted model, cross-validates its order if
// asked, and builds the run to write.
func finishSeries(ctx context.Context, series *dtbase.ModelInputSeries, h *hourlySeries, m *arima.Model, p Params, from, predictFrom time.Time) (*dtbase.NewModelRun, RunResult, error) {
	var res RunResult
	spec := m.Spec
	fc, err := m.Forecast(p.HoursForecast, p.Alpha)
	if err != nil {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "forecasting failed: %s", strings.TrimPrefix(err.Error(), "arima: "))
	}
	for i := range fc.Mean {
		if !finite(fc.Mean[i]) || !finite(fc.Lower[i]) || !finite(fc.Upper[i]) {
			return nil, res, dtbase.Errorf(dtbase.EINVALID, "the forecast of %v is not finite at step %d: the fit is degenerate", spec, i+1)
		}
	}
	var cv *CVScores
	if p.CV {
		cv = crossValidate(ctx, h, spec, p)
	}

	stamps := make([]time.Time, p.HoursForecast)
	for i := range stamps {
		stamps[i] = h.End().Add(time.Duration(i+1) * time.Hour)
	}
	units := ""
	if series.Measure.Units != nil {
		units = *series.Measure.Units
	}
	name := series.Measure.Name
	out := func(prefix string, v []float64) dtbase.NewModelSeries {
		values := make([]dtbase.Value, len(v))
		for i, f := range v {
			values[i] = dtbase.FloatValue(f)
		}
		return dtbase.NewModelSeries{MeasureName: prefix + name, MeasureUnits: &units, Datatype: dtbase.Float, Values: values, Timestamps: stamps}
	}
	details, err := json.Marshal(runDetails(m, h, p, from, predictFrom, cv))
	if err != nil {
		return nil, res, fmt.Errorf("encode run details: %w", err)
	}
	sensor := series.SensorUniqueID
	measure := series.Measure
	run := &dtbase.NewModelRun{
		ModelName: p.ModelName, ScenarioDescription: p.Scenario,
		CreateModel: true, CreateScenario: true, CreateMeasures: true,
		SensorUniqueID: &sensor, SensorMeasure: &measure,
		Series:  []dtbase.NewModelSeries{out("Mean ", fc.Mean), out("Upper Bound ", fc.Upper), out("Lower Bound ", fc.Lower)},
		Details: details,
	}
	res = RunResult{
		SensorUniqueID: sensor, Measure: measure, Spec: m.Spec, Converged: m.Converged, AIC: m.AIC,
		TrainingFrom: h.Start, TrainingTo: h.End(), Hours: len(h.Values), ObservedHours: h.ObservedHours(),
		ForecastFrom: stamps[0], ForecastTo: stamps[len(stamps)-1], CV: cv,
	}
	return run, res, nil
}

// minHours is the shortest series the service fits with spec: after
// differencing, the longest lag plus one observation per parameter. For the
// default order that is 61 hours, so the demo's three days can be
// forecast; arima.Fit accepts even shorter series, whose estimates are
// noise.
func minHours(spec arima.Spec) int {
	s := spec.Seasonal.S
	if spec.Seasonal.P == 0 && spec.Seasonal.D == 0 && spec.Seasonal.Q == 0 {
		s = 0
	}
	lag := max(spec.Order.P+spec.Seasonal.P*s, spec.Order.Q+spec.Seasonal.Q*s)
	return spec.Order.D + spec.Seasonal.D*s + lag + spec.NumParams()
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// finiteOrNil keeps JSON encoding from failing on a non-finite statistic.
func finiteOrNil(f float64) *float64 {
	if !finite(f) {
		return nil
	}
	return &f
}

// details is the JSON object stored with each run.
type details struct {
	Service       string             `json:"service"`
	Auto          bool               `json:"auto"`
	Spec          string             `json:"spec"`
	Order         [3]int             `json:"order"`
	SeasonalOrder [4]int             `json:"seasonal_order"`
	Trend         string             `json:"trend"`
	Params        map[string]float64 `json:"params"`
	LogLikelihood *float64           `json:"log_likelihood"`
	AIC           *float64           `json:"aic"`
	BIC           *float64           `json:"bic"`
	Converged     bool               `json:"converged"`
	Alpha         float64            `json:"alpha"`
	HoursForecast int                `json:"hours_forecast"`
	Training      trainingDetails    `json:"training"`
	CV            *CVScores          `json:"cv"`
}

type trainingDetails struct {
	WindowFrom      dtbase.Time `json:"window_from"`
	WindowTo        dtbase.Time `json:"window_to"`
	From            dtbase.Time `json:"from"`
	To              dtbase.Time `json:"to"`
	Readings        int         `json:"readings"`
	ReadingsUsed    int         `json:"readings_used"`
	Hours           int         `json:"hours"`
	ObservedHours   int         `json:"observed_hours"`
	FilledHours     int         `json:"filled_hours"`
	Fill            Fill        `json:"fill"`
	MinsFromTheHour float64     `json:"mins_from_the_hour"`
}

func runDetails(m *arima.Model, h *hourlySeries, p Params, from, predictFrom time.Time, cv *CVScores) details {
	s := m.Spec
	return details{
		Service: "arima", Auto: p.Auto, Spec: s.String(),
		Order:         [3]int{s.Order.P, s.Order.D, s.Order.Q},
		SeasonalOrder: [4]int{s.Seasonal.P, s.Seasonal.D, s.Seasonal.Q, s.Seasonal.S},
		Trend:         string(s.Trend),
		Params:        paramMap(s, m.Params),
		LogLikelihood: finiteOrNil(m.LogLikelihood), AIC: finiteOrNil(m.AIC), BIC: finiteOrNil(m.BIC), Converged: m.Converged,
		Alpha: p.Alpha, HoursForecast: p.HoursForecast,
		Training: trainingDetails{
			WindowFrom: dtbase.Time(from), WindowTo: dtbase.Time(predictFrom),
			From: dtbase.Time(h.Start), To: dtbase.Time(h.End()),
			Readings: h.Readings, ReadingsUsed: h.Used,
			Hours: len(h.Values), ObservedHours: h.ObservedHours(), FilledHours: len(h.Values) - h.ObservedHours(),
			Fill: p.Fill, MinsFromTheHour: p.MinsFromTheHour.Minutes(),
		},
		CV: cv,
	}
}

// paramMap names the estimates as statsmodels does ("ar.L1", "sigma2").
func paramMap(spec arima.Spec, p arima.Params) map[string]float64 {
	var v []float64
	if spec.Trend == arima.TrendConstant || spec.Trend == arima.TrendConstantLinear {
		v = append(v, p.Intercept)
	}
	if spec.Trend == arima.TrendLinear || spec.Trend == arima.TrendConstantLinear {
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
