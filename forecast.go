package dtbase

import (
	"context"
	"time"
)

// A Forecaster is one model of a model family, configured and ready to fit
// an hourly series. The forecast package drives any Forecaster: it reads
// and prepares the series, cross-validates, and stores the runs; a model
// family only fits and forecasts. forecast/arima is the SARIMA family.
type Forecaster interface {
	// String describes the configured model, e.g. "(4,1,2)(1,1,0)24 trend=n".
	String() string
	// MinLength is the shortest series Fit accepts; 0 when the family
	// decides while fitting.
	MinLength() int
	// Fit fits the model to y, one value per hour, NaN for a missing hour.
	// A series that cannot be fitted (too short, constant, a fit that fails
	// or does not converge) is EINVALID with a message saying why.
	Fit(ctx context.Context, y []float64) (ForecastFit, error)
}

// A ForecastFit is a model fitted to a series.
type ForecastFit interface {
	// String describes the fitted model; for a model chosen while fitting,
	// the one chosen.
	String() string
	// MinLength is the shortest series Refit accepts.
	MinLength() int
	// AIC is the Akaike information criterion of the fit.
	AIC() float64
	// Forecast predicts steps hours past the end of the series with a
	// 1 - alpha prediction interval.
	Forecast(steps int, alpha float64) (ForecastInterval, error)
	// Refit fits the same model, with its settings fixed, to y.
	Refit(y []float64) (ForecastFit, error)
	// Extend applies the fitted parameters to y, a longer series with the
	// fitted one as its start; refitted reports that the parameters did not
	// apply to y and the model was fitted to it instead.
	Extend(y []float64) (fit ForecastFit, refitted bool, err error)
	// Describe returns what a run's details say about the model: a value
	// that encodes as a JSON object (settings, estimates, fit statistics).
	Describe() any
}

// ForecastInterval is a forecast with its prediction interval, one value
// per step.
type ForecastInterval struct {
	Mean, Lower, Upper []float64
}

// ForecastModelSpec chooses a model family and its settings, as a client
// gives them. Settings are the family's own, with Go values as JSON decodes
// into typed fields ([]int, string, float64); the family documents them and
// reports a bad one as EINVALID naming it.
type ForecastModelSpec struct {
	Family   string         // e.g. "arima"
	Auto     bool           // let the family choose its settings per series
	Settings map[string]any // e.g. ARIMA's "order", "seasonal_order", "trend"
}

// ForecastMeasure names a base measure of the sensors to forecast. A nil
// Units matches the only measure of that name the sensor's type has.
type ForecastMeasure struct {
	Name  string
	Units *string
}

// ForecastFill says how hours without readings inside the training window
// are given a value before fitting.
type ForecastFill string

// The gap-filling methods.
const (
	// FillInterpolate draws a straight line between the observed hours on
	// either side of a gap. It is the default: it keeps the level continuous
	// and, for short gaps, the shape of the daily cycle roughly intact.
	FillInterpolate ForecastFill = "interpolate"
	// FillCarry repeats the last observed hour through a gap.
	FillCarry ForecastFill = "carry"
	// FillNone leaves the gaps missing (NaN): a family whose fit handles
	// missing values (ARIMA's Kalman filter skips them) is then exact where
	// filling is an approximation.
	FillNone ForecastFill = "none"
)

// ForecastParams configure one forecast run. DefaultForecastParams gives
// the original DTBase's configuration.
type ForecastParams struct {
	Sensors  []string          // unique identifiers; required
	Measures []ForecastMeasure // base measures; required
	Model    ForecastModelSpec

	TrainingDays    int           // the training window in days, 1 to 365
	PredictFrom     time.Time     // the end of the training window; zero means now
	HoursForecast   int           // forecast steps, 1 to 720
	Alpha           float64       // 1 - interval level, in (0, 1)
	MinsFromTheHour time.Duration // snap tolerance, 0 to 30 minutes
	Fill            ForecastFill

	// CV asks for rolling-origin cross-validation: the last 20% of the
	// series is cut into CVFolds blocks (1 to 20, as the original's
	// TimeSeriesSplit); the model fitted on the first 80% forecasts each
	// block from its start, extended over the blocks before it, or refitted
	// on them when CVRefit is set. The scores are stored in the run's
	// details.
	CV      bool
	CVFolds int
	CVRefit bool

	ModelName string // the model the runs are stored under
	Scenario  string // the scenario the runs are stored under
}

// DefaultForecastParams returns the original's configuration, without
// sensors and measures: its ARIMA model (the family's default settings)
// trained on 60 days, 48 hours forecast with a 68% interval, readings
// within 15 minutes of an hour, gaps interpolated, stored as model "Arima",
// scenario "Business as usual".
func DefaultForecastParams() ForecastParams {
	return ForecastParams{
		Model:           ForecastModelSpec{Family: "arima"},
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

// Validate checks everything in p but the model's settings, which the
// family checks; the error is EINVALID and names the offending parameter.
func (p *ForecastParams) Validate() error {
	bad := func(format string, args ...any) error { return Errorf(EINVALID, format, args...) }
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
			if p.Measures[j].Name == m.Name && (p.Measures[j].Units == nil) == (m.Units == nil) &&
				(m.Units == nil || *p.Measures[j].Units == *m.Units) {
				return bad("measures[%d] repeats measures[%d]", i, j)
			}
		}
	}
	return nil
}

// ForecastRun is the document of one stored forecast: the run's id, what
// it predicts, the model, the data it was trained on and the hours it
// covers. The API's run-arima answer and dtbase forecast --json write it.
type ForecastRun struct {
	RunID          int64              `json:"run_id"`
	TimeCreated    Time               `json:"time_created"`
	SensorUniqueID string             `json:"sensor_unique_id"`
	SensorMeasure  ForecastRunMeasure `json:"sensor_measure"`
	Spec           string             `json:"spec"`
	AIC            float64            `json:"aic"`
	TrainingFrom   Time               `json:"training_from"`  // the first hour of the fitted series
	TrainingTo     Time               `json:"training_to"`    // the last hour of the fitted series
	Hours          int                `json:"hours"`          // the length of the fitted series
	ObservedHours  int                `json:"observed_hours"` // hours with readings; the rest were filled
	ForecastFrom   Time               `json:"forecast_from"`  // the first forecast hour
	ForecastTo     Time               `json:"forecast_to"`    // the last forecast hour
	CV             *ForecastCV        `json:"cv"`             // nil unless asked for
}

// ForecastRunMeasure is the sensor measure a run predicts.
type ForecastRunMeasure struct {
	Name  string  `json:"name"`
	Units *string `json:"units"`
}

// ForecastCV are rolling-origin cross-validation scores: each fold
// forecasts TestHours ahead from its origin, and is scored on the hours that
// had readings (filled hours are not evidence). Scores are averaged over the
// folds that had any; MAPE is in percent and leaves out observations equal
// to zero. Error is set, and the scores are nil, when the cross-validation
// could not be done; the run is written regardless, as cross-validation
// only informs.
type ForecastCV struct {
	Folds     int              `json:"folds"`
	TestHours int              `json:"test_hours"`
	Refit     bool             `json:"refit"`
	MAE       *float64         `json:"mae"`
	RMSE      *float64         `json:"rmse"`
	MAPE      *float64         `json:"mape"`
	Coverage  *float64         `json:"coverage"`
	PerFold   []ForecastCVFold `json:"per_fold"`
	Error     string           `json:"error,omitempty"`
}

// ForecastCVFold is the score of one cross-validation fold.
type ForecastCVFold struct {
	Origin   int      `json:"origin"` // the index of the first forecast hour in the series
	Refit    bool     `json:"refit"`  // whether the model was refitted for this fold
	N        int      `json:"n"`      // observed hours scored
	MAE      *float64 `json:"mae"`
	RMSE     *float64 `json:"rmse"`
	MAPE     *float64 `json:"mape"`
	Coverage *float64 `json:"coverage"`
}

// ForecastService forecasts sensors and stores each forecast as a model
// run. RunForecasts fits every series before it writes anything, in one
// transaction: bad parameters, an unknown model family, unknown sensors or
// measures, and data that cannot be fitted are EINVALID or ENOTFOUND errors
// naming each failure, and nothing is written then.
type ForecastService interface {
	RunForecasts(ctx context.Context, p ForecastParams) ([]ForecastRun, error)
}
