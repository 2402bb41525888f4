package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/derive"
	"github.com/dtbase/dtbase/forecast"
	"github.com/dtbase/dtbase/forecast/arima"
)

// forecasts is the forecast service on store with every model family.
func forecasts(store dtbase.ModelStore) *forecast.Service {
	return &forecast.Service{Store: store, Families: map[string]forecast.ModelFamily{arima.Family: arima.NewForecaster}}
}

const forecastUsage = `Usage: dtbase forecast arima --sensor ID --measure NAME[=UNITS] [flags]

Forecast sensors with the ARIMA service and store the forecasts as model
runs in the configured database (no server needed): for each sensor and
measure, read the training window of readings, snap them to the hour and
average them, fill gaps, fit the seasonal ARIMA model, and write model
"Arima", scenario "Business as usual", measures "Mean <m>", "Upper Bound <m>"
and "Lower Bound <m>", each run linked to its sensor and measure.
dtbase serve offers the same as POST /model/run-arima.

--sensor and --measure may be repeated; every sensor is forecast for every
measure. A measure is named by its name, or NAME=UNITS when the sensor's
type has several measures of that name. All series are fitted before
anything is written: if one fails, nothing is.`

func (m *Main) forecast(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "arima" {
		fmt.Fprintln(m.Stdout, forecastUsage)
		if len(args) == 0 || (args[0] != "-h" && args[0] != "--help" && args[0] != "help") {
			return usageError{"forecast: the only forecaster is 'arima'"}
		}
		return nil
	}
	p := dtbase.DefaultForecastParams()
	fs, load := m.commandFlags("forecast arima", forecastUsage, databaseSettings)
	fs.Func("sensor", "unique identifier of a sensor to forecast (repeatable, or comma-separated)", func(v string) error {
		p.Sensors = append(p.Sensors, commaList(v)...)
		return nil
	})
	fs.Func("measure", "measure to forecast, NAME or NAME=UNITS (repeatable)", func(v string) error {
		name, units, ok := strings.Cut(v, "=")
		meas := dtbase.ForecastMeasure{Name: strings.TrimSpace(name)}
		if ok {
			meas.Units = &units
		}
		p.Measures = append(p.Measures, meas)
		return nil
	})
	order := fs.String("order", "4,1,2", "non-seasonal order p,d,q")
	seasonal := fs.String("seasonal-order", "1,1,0,24", "seasonal order P,D,Q,s")
	trend := fs.String("trend", "n", "deterministic trend: n (none), c (constant), t (linear) or ct")
	fs.BoolVar(&p.Model.Auto, "auto", false, "choose the order per series as R's auto.arima does (only the season length of --seasonal-order is used)")
	fs.IntVar(&p.TrainingDays, "days", p.TrainingDays, "days of readings to train on (num_days_training)")
	predictFrom := fs.String("predict-from", "", "end of the training window, e.g. 2024-03-01T12:00:00 (default now)")
	fs.IntVar(&p.HoursForecast, "hours", p.HoursForecast, "hours to forecast")
	fs.Float64Var(&p.Alpha, "alpha", p.Alpha, "1 - the level of the prediction interval (0.32: 68%)")
	mins := fs.Int("mins-from-the-hour", 15, "use readings within this many minutes of an hour")
	fill := fs.String("fill", string(p.Fill), "how to fill hours without readings: interpolate, carry, or none (missing values for the Kalman filter)")
	fs.BoolVar(&p.CV, "cv", false, "store rolling-origin cross-validation scores with each run")
	fs.IntVar(&p.CVFolds, "cv-folds", p.CVFolds, "cross-validation folds")
	fs.BoolVar(&p.CVRefit, "cv-refit", false, "refit the model for each fold instead of extending it")
	fs.StringVar(&p.ModelName, "model", p.ModelName, "model name to store the runs under")
	fs.StringVar(&p.Scenario, "scenario", p.Scenario, "scenario to store the runs under")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseNoArgs(fs, args[1:], "forecast arima"); err != nil {
		return err
	}
	c, err := load()
	if err != nil {
		return err
	}
	o, err := forecastInts(*order, 3)
	if err != nil {
		return usageError{"forecast arima: --order: " + err.Error()}
	}
	so, err := forecastInts(*seasonal, 4)
	if err != nil {
		return usageError{"forecast arima: --seasonal-order: " + err.Error()}
	}
	p.Model.Settings = map[string]any{"order": o, "seasonal_order": so, "trend": *trend}
	if *predictFrom != "" {
		t, ok := dtbase.ParseTime(*predictFrom)
		if !ok {
			return usageError{fmt.Sprintf("forecast arima: --predict-from: cannot read %q as a time", *predictFrom)}
		}
		p.PredictFrom = t
	}
	if *mins < 0 || *mins > 30 { // checked before the conversion, which could wrap around
		return usageError{fmt.Sprintf("forecast arima: --mins-from-the-hour must be between 0 and 30, got %d", *mins)}
	}
	p.MinsFromTheHour = time.Duration(*mins) * time.Minute
	p.Fill = dtbase.ForecastFill(*fill)
	if _, err := forecasts(nil).Forecaster(p); err != nil {
		return usageError{"forecast arima: " + dtbase.ErrorMessage(err)}
	}

	db, err := m.openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	runs, err := forecasts(derive.WithDerived(db)).RunForecasts(ctx, p)
	if err != nil {
		if dtbase.ErrorCode(err) != dtbase.EINTERNAL {
			return fmt.Errorf("%s", dtbase.ErrorMessage(err))
		}
		return err
	}
	if *asJSON {
		// The API's run document, plus the measure's keys this command
		// printed before it had one.
		type runJSON struct {
			dtbase.ForecastRun
			MeasureName  string  `json:"measure_name"`
			MeasureUnits *string `json:"measure_units"`
		}
		out := make([]runJSON, len(runs))
		for i, r := range runs {
			out[i] = runJSON{r, r.SensorMeasure.Name, r.SensorMeasure.Units}
		}
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"runs": out})
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RUN\tSENSOR\tMEASURE\tMODEL\tTRAINING\tHOURS (OBSERVED)\tFORECAST\tCV MAE")
	for _, r := range runs {
		cv := "-"
		if r.CV != nil && r.CV.MAE != nil {
			cv = strconv.FormatFloat(*r.CV.MAE, 'g', 4, 64)
		} else if r.CV != nil {
			cv = "failed: " + r.CV.Error
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%v\t%s – %s\t%d (%d)\t%s – %s\t%s\n", r.RunID, r.SensorUniqueID, r.SensorMeasure.Name, r.Spec,
			runTime(r.TrainingFrom), runTime(r.TrainingTo), r.Hours, r.ObservedHours, runTime(r.ForecastFrom), runTime(r.ForecastTo), cv)
	}
	w.Flush()
	fmt.Fprintf(m.Stdout, "%d forecast(s) stored in %v\n", len(runs), time.Since(start).Round(time.Millisecond))
	return nil
}

func runTime(t dtbase.Time) string { return dtbase.FormatTime(time.Time(t)) }

// forecastInts reads n comma-separated integers.
func forecastInts(s string, n int) ([]int, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("want %d comma-separated integers, got %q", n, s)
	}
	out := make([]int, n)
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("want %d comma-separated integers, got %q", n, s)
		}
		out[i] = v
	}
	return out, nil
}
