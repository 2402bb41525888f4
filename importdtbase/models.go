package importdtbase

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

func (im *importer) copyModels(ctx context.Context) error {
	err := im.copyNamed(ctx, "model", "model", `SELECT id, name, coalesce(time_created, now()) FROM model ORDER BY id`,
		"name, time_created",
		func(r pgx.Rows) (int64, string, []any, error) {
			var id int64
			var name string
			var created time.Time
			if err := r.Scan(&id, &name, &created); err != nil {
				return 0, "", nil, err
			}
			return id, name, []any{name, sqldb.Micros(created)}, checkRow("model", id, &dtbase.Model{Name: name})
		})
	if err != nil {
		return err
	}
	scenarios := im.targets["model_scenario"]
	err = im.copyTable(ctx, "model_scenario", "model_scenario", `SELECT id, model_id, description, coalesce(time_created, now()) FROM model_scenario ORDER BY id`, func(r pgx.Rows) error {
		var id, model int64
		var desc *string
		var created time.Time
		if err := r.Scan(&id, &model, &desc, &created); err != nil {
			return fmt.Errorf("read model_scenario: %w", err)
		}
		nm, err := im.ref("model", model)
		if err != nil {
			return err
		}
		key := idKey(nm) + nullableKey(desc)
		if im.mapExisting(scenarios, id, key) {
			return nil
		}
		if err := checkRow("model_scenario", id, &dtbase.ModelScenario{Description: desc}); err != nil {
			return err
		}
		_, err = im.insertRow(ctx, scenarios, id, key, "model_id, description, time_created", nm, desc, sqldb.Micros(created))
		return err
	})
	if err != nil {
		return err
	}
	if err := im.copyMeasures(ctx, "model_measure", "model_measure", "model measure"); err != nil {
		return err
	}

	runs := im.targets["model_run"]
	im.begin("model_run", "model_run")
	var noScenario int64
	err = im.query(ctx, `SELECT id, model_id, scenario_id, sensor_id, sensor_measure_id, coalesce(time_created, now()) FROM model_run ORDER BY id`, func(r pgx.Rows) error {
		var id, model int64
		var scenario, sensor, measure *int64
		var created time.Time
		if err := r.Scan(&id, &model, &scenario, &sensor, &measure, &created); err != nil {
			return fmt.Errorf("read model_run: %w", err)
		}
		nm, err := im.ref("model", model)
		if err != nil {
			return err
		}
		var nsc int64
		if scenario != nil {
			if nsc, err = im.ref("model_scenario", *scenario); err != nil {
				return err
			}
		} else {
			// Our runs always have a scenario: one without gets its model's
			// scenario with no description.
			noScenario++
			key := idKey(nm) + nullableKey(nil)
			var ok bool
			if nsc, ok = scenarios.keys[key]; !ok {
				nsc = scenarios.next
				scenarios.next++
				if _, err := im.exec(ctx, `INSERT INTO model_scenario (id, model_id, description, time_created) VALUES ($1, $2, NULL, $3)`,
					nsc, nm, sqldb.Micros(im.now)); err != nil {
					return fmt.Errorf("create a scenario for model_run id %d: %w", id, err)
				}
				scenarios.keys[key] = nsc
			}
		}
		var nsensor, nmeasure any
		if sensor != nil {
			if nsensor, err = im.ref("sensor", *sensor); err != nil {
				return err
			}
		}
		if measure != nil {
			if nmeasure, err = im.ref("sensor_measure", *measure); err != nil {
				return err
			}
		}
		key := idKey(nm, nsc, sqldb.Micros(created))
		if im.mapExisting(runs, id, key) {
			return nil
		}
		_, err = im.insertRow(ctx, runs, id, key, "model_id, scenario_id, time_created, sensor_id, sensor_measure_id",
			nm, nsc, sqldb.Micros(created), nsensor, nmeasure)
		return err
	})
	if err != nil {
		return err
	}
	if noScenario > 0 {
		im.note("model_run: %d runs without a scenario were given their model's scenario with no description", noScenario)
	}
	if im.cur.Merged > 0 {
		im.note("model_run: %d runs had the model, scenario and time of another run and were merged into it", im.cur.Merged)
	}
	im.end()

	products := im.targets["model_product"]
	err = im.copyTable(ctx, "model_product", "model_product", `SELECT id, run_id, measure_id FROM model_product ORDER BY id`, func(r pgx.Rows) error {
		var id, run, measure int64
		if err := r.Scan(&id, &run, &measure); err != nil {
			return fmt.Errorf("read model_product: %w", err)
		}
		nr, nm, err := im.refPair("model_run", run, "model_measure", measure)
		if err != nil {
			return err
		}
		key := idKey(nr, nm)
		if im.mapExisting(products, id, key) {
			return nil
		}
		_, err = im.insertRow(ctx, products, id, key, "run_id, measure_id", nr, nm)
		return err
	})
	if err != nil {
		return err
	}

	for _, dt := range []dtbase.Datatype{dtbase.String, dtbase.Integer, dtbase.Float, dtbase.Boolean} {
		source := "model_" + string(dt) + "_value"
		if dt == dtbase.Boolean {
			source = "model_booleanvalue" // sic
		}
		target := sqldb.ModelValueTable(dt)
		im.begin(source, target)
		b := im.newBulk(target, dt, "product_id")
		var lastProduct, np int64 = -1, 0
		err := im.query(ctx, `SELECT product_id, timestamp, value FROM `+source+` ORDER BY product_id, timestamp`, func(r pgx.Rows) error {
			var product int64
			var ts time.Time
			v, err := scanValue(dt, r, &product, &ts)
			if err != nil {
				return fmt.Errorf("read %s: %w", source, err)
			}
			if f, ok := v.(float64); ok && !isFinite(f) {
				im.cur.Skipped++
				return nil
			}
			if product != lastProduct {
				if np, err = im.ref("model_product", product); err != nil {
					return err
				}
				lastProduct = product
			}
			return b.add(ctx, []int64{np}, sqldb.Micros(ts), v)
		})
		if err == nil {
			err = b.flush(ctx)
		}
		if err != nil {
			return err
		}
		if im.cur.Skipped > 0 {
			im.note("%s: %d values that are NaN or infinite left out", source, im.cur.Skipped)
		}
		im.end()
	}
	return nil
}
