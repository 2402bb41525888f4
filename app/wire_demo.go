package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/demo"
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
beside observations with their skill.

Nothing happens if the database already has sensors, so running it twice is
safe. 'dtbase serve --demo' does the same at start-up.`

func (m *Main) demo(ctx context.Context, args []string) error {
	fs, load := m.flags("demo", demoUsage, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("demo: unexpected argument %q", fs.Arg(0))}
	}
	c, err := load()
	if err != nil {
		return usageError{err.Error()}
	}
	db, err := m.openDB(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	sum, err := demo.Load(ctx, db, time.Now())
	if err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	if sum.Skipped {
		fmt.Fprintln(m.Stdout, "the database already has sensors; demo not loaded")
		return nil
	}
	runs, err := demoForecasts(ctx, db, sum)
	if err != nil {
		return fmt.Errorf("demo forecasts: %w", err)
	}
	fmt.Fprintf(m.Stdout, "loaded the CROP farm demo in %v: %d sensor types, %d locations, %d sensors, %d readings from %s to %s, %d forecasts\n",
		time.Since(start).Round(time.Millisecond), sum.SensorTypes, sum.Locations, sum.Sensors, sum.Readings,
		sum.From.Format(time.RFC3339), sum.To.Format(time.RFC3339), runs)
	return nil
}

// demoForecasts runs the ARIMA service on the temperature of the first
// three temperature sensors, from 12 hours before the last reading, so the
// forecasts overlap observations. The demo's three days are too short for
// the original's (4,1,2)(1,1,0)24, so it uses (1,0,1)(0,1,1)24. It returns
// the number of runs stored.
func demoForecasts(ctx context.Context, db *sqldb.DB, sum demo.Summary) (int, error) {
	sensors, err := db.FindSensors(ctx, dtbase.SensorFilter{TypeName: ptr(demo.TypeTRH)})
	if err != nil {
		return 0, err
	}
	p := dtbase.DefaultForecastParams()
	for _, s := range sensors[:min(3, len(sensors))] {
		p.Sensors = append(p.Sensors, s.UniqueIdentifier)
	}
	p.Measures = []dtbase.ForecastMeasure{{Name: demo.MeasureTemp}}
	p.Model.Settings = map[string]any{"order": []int{1, 0, 1}, "seasonal_order": []int{0, 1, 1, 24}}
	p.TrainingDays = 3
	p.PredictFrom = sum.To.Add(-12 * time.Hour)
	runs, err := forecasts(db).RunForecasts(ctx, p)
	if err != nil {
		return 0, err
	}
	return len(runs), nil
}

func ptr[T any](v T) *T { return &v }

// loadDemoIfEmpty loads the demo when the database has no sensors.
func (m *Main) loadDemoIfEmpty(ctx context.Context, db *sqldb.DB, log *slog.Logger) error {
	start := time.Now()
	sum, err := demo.Load(ctx, db, time.Now())
	if err != nil {
		return err
	}
	if sum.Skipped {
		log.Info("demo data not loaded: the database already has sensors")
		return nil
	}
	runs, err := demoForecasts(ctx, db, sum)
	if err != nil {
		return fmt.Errorf("demo forecasts: %w", err)
	}
	log.Info("loaded the CROP farm demo", "sensor_types", sum.SensorTypes, "locations", sum.Locations,
		"sensors", sum.Sensors, "readings", sum.Readings, "from", sum.From, "to", sum.To, "forecasts", runs,
		"ms", time.Since(start).Milliseconds())
	return nil
}
