package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

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
	fmt.Fprintf(m.Stdout, "loaded the CROP farm demo in %v: %d sensor types, %d locations, %d sensors, %d readings from %s to %s\n",
		time.Since(start).Round(time.Millisecond), sum.SensorTypes, sum.Locations, sum.Sensors, sum.Readings,
		sum.From.Format(time.RFC3339), sum.To.Format(time.RFC3339))
	return nil
}

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
	log.Info("loaded the CROP farm demo", "sensor_types", sum.SensorTypes, "locations", sum.Locations,
		"sensors", sum.Sensors, "readings", sum.Readings, "from", sum.From, "to", sum.To,
		"ms", time.Since(start).Milliseconds())
	return nil
}
