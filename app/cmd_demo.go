package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/demo"
	"github.com/dtbase/dtbase/servicerun"
	"github.com/dtbase/dtbase/sqldb"
)

const demoUsage = `Usage: dtbase demo [flags]

Load the CROP farm demo into the configured database, so a new user sees a
populated twin at once: real readings from the Growing Underground farm in
London (Alan Turing Institute's CROP project, MIT licence).

It creates:
  - sensor types "Aranet T&RH" (temperature °C, relative humidity %) and
    "Aranet CO2" (co2 ppm);
  - the location schema "crop-farm" (zone, aisle, column, shelf, and x, y, z
    in metres for the 3D view) with the farm's locations;
  - 32 sensors placed in the farm, and 3 days of their 10-minute readings
    (about 24,000), shifted so the last reading is now (rounded down to 10
    minutes) and dashboards look live.

It then forecasts the temperature of three sensors with the ARIMA service,
from 12 hours before the last reading, so the models pages show forecasts
beside observations with their skill. The built-in services get parameter
sets for the farm: its weather (weather-ingress crop-farm-history and
crop-farm-forecast) and a forecast of those sensors from now
(arima-forecast crop-temperature).

Nothing happens if the database already has sensors, so running it twice is
safe. 'dtbase serve --demo' does the same at start-up.`

func (m *Main) demo(ctx context.Context, args []string) error {
	fs, load := m.commandFlags("demo", demoUsage, databaseSettings)
	if err := parseNoArgs(fs, args, "demo"); err != nil {
		return err
	}
	c, err := load()
	if err != nil {
		return err
	}
	db, err := m.openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	sum, runs, err := loadDemo(ctx, db)
	if err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	if sum.Skipped {
		fmt.Fprintln(m.Stdout, "the database already has sensors; demo not loaded")
		return nil
	}
	fmt.Fprintf(m.Stdout, "loaded the CROP farm demo in %v: %d sensor types, %d locations, %d sensors, %d readings from %s to %s, %d forecasts\n",
		time.Since(start).Round(time.Millisecond), sum.SensorTypes, sum.Locations, sum.Sensors, sum.Readings,
		sum.From.Format(time.RFC3339), sum.To.Format(time.RFC3339), runs)
	return nil
}

// demoOrder and demoSeasonalOrder are the model of the demo's forecasts: its three days are too
// short for the original's (4,1,2)(1,1,0)24.
var demoOrder, demoSeasonalOrder = []int{1, 0, 1}, []int{0, 1, 1, 24}

// demoFarm is where the Growing Underground farm is (Clapham, London), for
// the weather ingress's parameter sets.
var demoFarm = struct{ lat, lon float64 }{51.4649, -0.1300}

// demoForecastSensors returns the sensors whose temperature the demo
// forecasts: the first three temperature sensors, none without the demo.
func demoForecastSensors(ctx context.Context, db *sqldb.DB) ([]string, error) {
	sensors, err := db.FindSensors(ctx, dtbase.SensorFilter{TypeName: ptr(demo.TypeTRH)})
	if err != nil && dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		return nil, err
	}
	var ids []string
	for _, s := range sensors[:min(3, len(sensors))] {
		ids = append(ids, s.UniqueIdentifier)
	}
	return ids, nil
}

// loadDemo loads the demo with its forecasts, parameter sets and alert
// rules, unless the database has sensors already (sum.Skipped). It returns
// the number of forecasts.
func loadDemo(ctx context.Context, db *sqldb.DB) (sum demo.Summary, forecasts int, err error) {
	if sum, err = demo.Load(ctx, db, time.Now()); err != nil || sum.Skipped {
		return sum, 0, err
	}
	if forecasts, err = demoExtras(ctx, db, sum); err != nil {
		return sum, 0, err
	}
	return sum, forecasts, addDemoAlertRules(ctx, db)
}

// demoExtras adds what the demo data set lacks once it is loaded: the
// forecasts and the parameter sets. It returns the number of forecasts.
func demoExtras(ctx context.Context, db *sqldb.DB, sum demo.Summary) (int, error) {
	runs, err := demoForecasts(ctx, db, sum)
	if err != nil {
		return 0, fmt.Errorf("demo forecasts: %w", err)
	}
	if err := addDemoParameterSets(ctx, db); err != nil {
		return 0, fmt.Errorf("demo parameter sets: %w", err)
	}
	return runs, nil
}

// demoForecasts runs the ARIMA service on the temperature of the demo's
// forecast sensors, from 12 hours before the last reading, so the
// forecasts overlap observations. It returns the number of runs stored.
func demoForecasts(ctx context.Context, db *sqldb.DB, sum demo.Summary) (int, error) {
	p := dtbase.DefaultForecastParams()
	var err error
	if p.Sensors, err = demoForecastSensors(ctx, db); err != nil {
		return 0, err
	}
	p.Measures = []dtbase.ForecastMeasure{{Name: demo.MeasureTemp}}
	p.Model.Settings = map[string]any{"order": demoOrder, "seasonal_order": demoSeasonalOrder}
	p.TrainingDays = 3
	p.PredictFrom = sum.To.Add(-12 * time.Hour)
	runs, err := forecasts(db).RunForecasts(ctx, p)
	if err != nil {
		return 0, err
	}
	return len(runs), nil
}

func ptr[T any](v T) *T { return &v }

// demoRegistrations returns the built-in services with parameter sets that
// work on the demo: the farm's weather, and forecasts of its temperature
// sensors from now. It returns nil when the database does not hold the
// demo.
func demoRegistrations(ctx context.Context, db *sqldb.DB) ([]servicerun.Registration, error) {
	sensors, err := demoForecastSensors(ctx, db)
	if err != nil || len(sensors) == 0 {
		return nil, err
	}
	farm := func(from, to string) json.RawMessage {
		return obj(map[string]any{"latitude": demoFarm.lat, "longitude": demoFarm.lon, "dt_from": from, "dt_to": to})
	}
	regs := builtinRegistrations()
	for i, r := range regs {
		switch r.Service.Builtin {
		case "weather":
			regs[i].ParameterSets = []dtbase.ParameterSet{
				{Name: "crop-farm-history", Parameters: farm("-48h", "present")},
				{Name: "crop-farm-forecast", Parameters: farm("present", "+48h")},
			}
		case "arima":
			regs[i].ParameterSets = []dtbase.ParameterSet{
				{Name: "crop-temperature", Parameters: obj(map[string]any{
					"sensors": sensors, "measures": []any{map[string]any{"name": demo.MeasureTemp, "units": demo.UnitsTemp}},
					"num_days_training": 3, "order": demoOrder, "seasonal_order": demoSeasonalOrder, "hours_forecast": 48})},
			}
		}
	}
	return regs, nil
}

// addDemoParameterSets gives the built-in services registered before the
// demo was loaded the demo's parameter sets; services a user deleted stay
// deleted.
func addDemoParameterSets(ctx context.Context, db *sqldb.DB) error {
	regs, err := demoRegistrations(ctx, db)
	if err != nil {
		return err
	}
	var present []servicerun.Registration
	for _, r := range regs {
		if _, err := db.FindService(ctx, r.Service.Name); err == nil {
			present = append(present, r)
		} else if dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
			return err
		}
	}
	return servicerun.Register(ctx, db, present)
}

// loadDemoIfEmpty loads the demo when the database has no sensors.
func (m *Main) loadDemoIfEmpty(ctx context.Context, db *sqldb.DB, log *slog.Logger) error {
	start := time.Now()
	sum, runs, err := loadDemo(ctx, db)
	if err != nil {
		return err
	}
	if sum.Skipped {
		log.Info("demo data not loaded: the database already has sensors")
		return nil
	}
	log.Info("loaded the CROP farm demo", "sensor_types", sum.SensorTypes, "locations", sum.Locations,
		"sensors", sum.Sensors, "readings", sum.Readings, "from", sum.From, "to", sum.To, "forecasts", runs,
		"ms", time.Since(start).Milliseconds())
	return nil
}
