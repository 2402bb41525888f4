// Package forecast runs forecasters over sensor readings and stores the
// forecasts as model runs: the counterpart of the original DTBase's
// dtbase/models/arima.py, done correctly, for any model family. For each
// configured sensor and measure it reads a training window of readings,
// snaps them to the hour and averages them, fills the gaps, fits the model
// (a dtbase.Forecaster of the family the parameters name), and stores the
// forecast with its interval as a model run linked to the sensor and
// measure it predicts.
//
// What it writes is what the original wrote: by default model "Arima",
// scenario "Business as usual", and for a base measure m the float model
// measures "Mean m", "Upper Bound m" and "Lower Bound m" with m's units (""
// when m has none). They are created when missing and reused when present,
// so repeated runs are idempotent for everything but the runs themselves.
//
// Differences from the original, on purpose:
//   - the gap filling the original meant to do (its imputation never ran)
//     is done: linear interpolation by default, or carrying the last value,
//     or none, leaving the gaps to the model as missing values;
//   - the CROP farm's "farm cycle" cut of the last hours is not applied:
//     the forecast starts one hour after the last observed hour;
//   - measures are looked up by name and units among the sensor type's
//     measures, not by name across all sensors;
//   - all forecasts are computed first and written in one transaction, so a
//     failure for one sensor writes nothing; the error names every failure;
//   - cross-validation scores are stored with the run rather than logged;
//   - the ARIMA order can be chosen per series (automatic selection).
//
// The service runs inside dtbase serve as POST /model/run-arima (so it can
// be registered and scheduled as a service) and as dtbase forecast arima.
package forecast

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
)

// A ModelFamily reads a model spec of its family into a Forecaster; a bad
// setting is EINVALID and names it. forecast/arima.NewForecaster is one.
type ModelFamily func(dtbase.ForecastModelSpec) (dtbase.Forecaster, error)

// Service runs forecasters against a store. It implements
// dtbase.ForecastService.
type Service struct {
	Store dtbase.ModelStore
	// Families are the model families by name, e.g. "arima".
	Families map[string]ModelFamily
	// Now returns the current instant; nil means the system clock in UTC.
	Now func() time.Time
}

var _ dtbase.ForecastService = (*Service)(nil)

// Forecaster validates p and returns the forecaster of its model spec.
// The error is EINVALID and names the offending parameter.
func (s *Service) Forecaster(p dtbase.ForecastParams) (dtbase.Forecaster, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	family, ok := s.Families[p.Model.Family]
	if !ok {
		return nil, dtbase.Errorf(dtbase.EINVALID, "unknown model family %q", p.Model.Family)
	}
	return family(p.Model)
}

// RunForecasts forecasts every configured sensor and measure and writes the
// runs in one transaction. Bad parameters, unknown sensors or measures, and
// data that cannot be fitted (none or too few readings, a constant series,
// a fit that fails or does not converge) are EINVALID or ENOTFOUND errors
// naming each sensor and measure that failed; nothing is written then.
func (s *Service) RunForecasts(ctx context.Context, p dtbase.ForecastParams) ([]dtbase.ForecastRun, error) {
	model, err := s.Forecaster(p)
	if err != nil {
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
	w := window{p: p, model: model, from: predictFrom.AddDate(0, 0, -p.TrainingDays), to: predictFrom}

	type job struct {
		sensor  string
		measure dtbase.ForecastMeasure
		run     *dtbase.NewModelRun
		result  dtbase.ForecastRun
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
		series, err := s.Store.FindModelInputSeries(ctx, j.sensor, j.measure.Name, j.measure.Units, w.from, w.to)
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
			j.run, j.result, j.err = w.forecastSeries(ctx, series)
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
			return nil, fmt.Errorf("forecast: sensor %q, measure %q: %w", j.sensor, j.measure.Name, j.err)
		}
		if de.Code == dtbase.ENOTFOUND {
			code = dtbase.ENOTFOUND
		}
		failures = append(failures, fmt.Sprintf("sensor '%s', measure '%s': %s", j.sensor, j.measure.Name, de.Message))
	}
	if len(failures) > 0 {
		return nil, dtbase.Errorf(code, "%s forecast failed, nothing was written: %s", strings.ToUpper(p.Model.Family), strings.Join(failures, "; "))
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
	out := make([]dtbase.ForecastRun, len(jobs))
	for i, j := range jobs {
		j.result.RunID, j.result.TimeCreated = j.run.ID, dtbase.Time(j.run.TimeCreated)
		out[i] = j.result
	}
	return out, nil
}

// window is one call's model and training window, shared by its series.
type window struct {
	p        dtbase.ForecastParams
	model    dtbase.Forecaster
	from, to time.Time
}

// forecastSeries prepares, fits and forecasts one series and returns the
// run to write.
func (w window) forecastSeries(ctx context.Context, series *dtbase.ModelInputSeries) (*dtbase.NewModelRun, dtbase.ForecastRun, error) {
	p := w.p
	var res dtbase.ForecastRun
	h, err := prepareHourly(series.Points, p.MinsFromTheHour, p.Fill)
	if err != nil {
		return nil, res, err
	}
	if stale := w.to.Sub(h.End()); stale > time.Duration(p.HoursForecast)*time.Hour {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "the latest usable reading, at %s, is %s before predict_from: too old to forecast %s from",
			dtbase.FormatTime(h.End()), stale.Round(time.Minute), describeHours(p.HoursForecast))
	}
	if need := w.model.MinLength(); len(h.Values) < need {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "too little data: %v needs at least %s of data, got %s (from %s to %s)",
			w.model, describeHours(need), describeHours(len(h.Values)), dtbase.FormatTime(h.Start), dtbase.FormatTime(h.End()))
	}
	if isConstant(h.Values) {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "the series is constant (%v for %s): there is nothing to fit",
			firstNumber(h.Values), describeHours(len(h.Values)))
	}
	m, err := w.model.Fit(ctx, h.Values)
	if err != nil {
		return nil, res, err
	}
	fc, err := m.Forecast(p.HoursForecast, p.Alpha)
	if err != nil {
		return nil, res, dtbase.Errorf(dtbase.EINVALID, "forecasting failed: %s", err)
	}
	for i := range fc.Mean {
		if !finite(fc.Mean[i]) || !finite(fc.Lower[i]) || !finite(fc.Upper[i]) {
			return nil, res, dtbase.Errorf(dtbase.EINVALID, "the forecast of %v is not finite at step %d: the fit is degenerate", m, i+1)
		}
	}
	var cv *dtbase.ForecastCV
	if p.CV {
		cv = crossValidate(ctx, h, m, p)
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
	details, err := w.details(m, h, cv)
	if err != nil {
		return nil, res, err
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
	res = dtbase.ForecastRun{
		SensorUniqueID: sensor, SensorMeasure: dtbase.ForecastRunMeasure(measure),
		Spec: m.String(), AIC: m.AIC(),
		TrainingFrom: dtbase.Time(h.Start), TrainingTo: dtbase.Time(h.End()), Hours: len(h.Values), ObservedHours: h.ObservedHours(),
		ForecastFrom: dtbase.Time(stamps[0]), ForecastTo: dtbase.Time(stamps[len(stamps)-1]), CV: cv,
	}
	return run, res, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// details is the JSON object stored with each run: the family and whether
// it chose the settings, then the fitted model as the family describes it,
// then the run's parameters, training data and cross-validation.
func (w window) details(m dtbase.ForecastFit, h *hourlySeries, cv *dtbase.ForecastCV) (json.RawMessage, error) {
	p := w.p
	head := struct {
		Service string `json:"service"`
		Auto    bool   `json:"auto"`
	}{p.Model.Family, p.Model.Auto}
	tail := struct {
		Alpha         float64            `json:"alpha"`
		HoursForecast int                `json:"hours_forecast"`
		Training      trainingDetails    `json:"training"`
		CV            *dtbase.ForecastCV `json:"cv"`
	}{p.Alpha, p.HoursForecast, trainingDetails{
		WindowFrom: dtbase.Time(w.from), WindowTo: dtbase.Time(w.to),
		From: dtbase.Time(h.Start), To: dtbase.Time(h.End()),
		Readings: h.Readings, ReadingsUsed: h.Used,
		Hours: len(h.Values), ObservedHours: h.ObservedHours(), FilledHours: len(h.Values) - h.ObservedHours(),
		Fill: p.Fill, MinsFromTheHour: p.MinsFromTheHour.Minutes(),
	}, cv}
	var objs [3][]byte
	for i, v := range []any{head, m.Describe(), tail} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode run details: %w", err)
		}
		objs[i] = b
	}
	// Join the three objects into one, keeping the order of the keys.
	out := append(objs[0][:len(objs[0])-1], ',')
	if model := objs[1]; len(model) > 2 {
		out = append(append(out, model[1:len(model)-1]...), ',')
	}
	return append(out, objs[2][1:]...), nil
}

type trainingDetails struct {
	WindowFrom      dtbase.Time         `json:"window_from"`
	WindowTo        dtbase.Time         `json:"window_to"`
	From            dtbase.Time         `json:"from"`
	To              dtbase.Time         `json:"to"`
	Readings        int                 `json:"readings"`
	ReadingsUsed    int                 `json:"readings_used"`
	Hours           int                 `json:"hours"`
	ObservedHours   int                 `json:"observed_hours"`
	FilledHours     int                 `json:"filled_hours"`
	Fill            dtbase.ForecastFill `json:"fill"`
	MinsFromTheHour float64             `json:"mins_from_the_hour"`
}
