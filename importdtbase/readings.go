package importdtbase

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

func (im *importer) copyReadings(ctx context.Context) error {
	for _, dt := range []dtbase.Datatype{dtbase.String, dtbase.Integer, dtbase.Float, dtbase.Boolean} {
		source := "sensor_" + string(dt) + "_reading"
		im.begin(source, sqldb.ReadingTable(dt))
		b := im.newBulk(sqldb.ReadingTable(dt), dt, "sensor_id", "measure_id")
		// The order of the source's unique index: a scan without a sort,
		// and each series arrives in time order.
		var lastSensor, lastMeasure, ns, nm int64 = -1, -1, 0, 0
		err := im.query(ctx, `SELECT sensor_id, measure_id, timestamp, value FROM `+source+` ORDER BY measure_id, sensor_id, timestamp`, func(r pgx.Rows) error {
			var sensor, measure int64
			var ts time.Time
			v, err := scanValue(dt, r, &sensor, &measure, &ts)
			if err != nil {
				return fmt.Errorf("read %s: %w", source, err)
			}
			if f, ok := v.(float64); ok && !isFinite(f) {
				im.cur.Skipped++
				return nil
			}
			if sensor != lastSensor || measure != lastMeasure {
				if ns, nm, err = im.refPair("sensor", sensor, "sensor_measure", measure); err != nil {
					return err
				}
				lastSensor, lastMeasure = sensor, measure
			}
			return b.add(ctx, []int64{ns, nm}, sqldb.Micros(ts), v)
		})
		if err == nil {
			err = b.flush(ctx)
		}
		if err != nil {
			return err
		}
		if im.cur.Skipped > 0 {
			im.note("%s: %d readings that are NaN or infinite left out", source, im.cur.Skipped)
		}
		if im.cur.Merged > 0 {
			im.note("%s: %d readings had the sensor, measure and timestamp of a reading already written (from a merged duplicate measure, or already in the database); the first was kept", source, im.cur.Merged)
		}
		im.end()
	}
	return nil
}
