package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
)

// forecastPrefix names the forecast product of each bound, as the
// forecasting service stores them ("Mean temperature").
var forecastPrefix = map[string]string{"": "Mean ", "mean": "Mean ", "upper": "Upper Bound ", "lower": "Lower Bound "}

// evaluateForecast decides a forecast rule on one sensor under its series
// lock: while the sensor's latest forecast of the measure predicts a
// breach within the horizon one alert fires, keyed by the creation time of
// the run that first predicted it; it resolves when the latest forecast no
// longer does. It returns the events recorded.
func (db *DB) evaluateForecast(ctx context.Context, tx *sql.Tx, r *ruleRow, sensorID int64, now time.Time) (int, error) {
	var runID, created int64
	err := tx.QueryRowContext(ctx, `SELECT id, time_created FROM model_run WHERE sensor_id = $1 AND sensor_measure_id = $2 ORDER BY time_created DESC, id DESC LIMIT 1`,
		sensorID, r.MeasureID).Scan(&runID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pts, err := queryAll(ctx, tx, "read forecast", scanPoint, `SELECT v.ts, v.value FROM model_value_float v JOIN model_product p ON p.id = v.product_id
		JOIN model_measure mm ON mm.id = p.measure_id WHERE p.run_id = $1 AND mm.name = $2 ORDER BY v.ts`, runID, forecastPrefix[r.Condition.Bound]+r.Measure)
	if err != nil {
		return 0, err
	}
	var openID int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM alert WHERE rule_id = $1 AND sensor_id = $2 AND state <> $3 ORDER BY since DESC LIMIT 1`,
		r.ID, sensorID, dtbase.AlertResolved).Scan(&openID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	p, breach := alert.ForecastBreach(r.Condition, pts, now)
	switch {
	case breach && openID == 0:
		bound := r.Condition.Bound
		if bound == "" {
			bound = "mean"
		}
		msg := fmt.Sprintf("forecast %s of %s %s at %s: %g (forecast /models/run?id=%d)", bound, r.Measure, threshold(r.Condition), dtbase.FormatTime(p.T), p.V, runID)
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO alert (rule_id, sensor_id, since, fired_at, state, value, message) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT DO NOTHING RETURNING id`, r.ID, sensorID, created, micros(p.T), dtbase.AlertFiring, p.V, msg).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil // this run's alert was already resolved
		}
		if err != nil {
			return 0, err
		}
		return 1, db.recordEvent(ctx, tx, r.ID, id, dtbase.EventFired, now, p.T, nil, nil)
	case !breach && openID != 0:
		return 1, db.resolveAlert(ctx, tx, r.ID, openID, now, now)
	}
	return 0, nil
}

// threshold describes a condition's threshold: "above 28".
func threshold(c dtbase.AlertCondition) string {
	if c.Op == dtbase.OpOutside {
		return fmt.Sprintf("outside %g–%g", *c.Low, *c.High)
	}
	return fmt.Sprintf("%s %g", c.Op, *c.Value)
}
