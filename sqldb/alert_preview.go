package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/alert"
)

// PreviewAlertRule replays a rule that is not stored over the stored data;
// see dtbase.AlertStore. The replay starts at from as if nothing fired
// before. Forecast rules have no history to replay and preview empty.
func (db *DB) PreviewAlertRule(ctx context.Context, r *dtbase.AlertRule, from, to time.Time) ([]dtbase.AlertPreview, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	out := []dtbase.AlertPreview{}
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		sensorID, typeID, _, _, err := resolveRule(ctx, tx, r)
		if err != nil {
			return err
		}
		rr := &ruleRow{AlertRule: *r}
		if sensorID != nil {
			rr.sensorID = sql.NullInt64{Int64: *sensorID, Valid: true}
		}
		if typeID != nil {
			rr.typeID = sql.NullInt64{Int64: *typeID, Valid: true}
		}
		if r.Condition.Kind == dtbase.CondForecast {
			return nil
		}
		sensors, datatype, err := ruleSensorsQ(ctx, tx, rr, micros(from), micros(to))
		if err != nil {
			return err
		}
		for _, id := range sensors {
			var uid string
			if err := tx.QueryRowContext(ctx, `SELECT unique_identifier FROM sensor WHERE id = $1`, id).Scan(&uid); err != nil {
				return err
			}
			sp := alertSpan{sensorID: id, measureID: r.MeasureID, datatype: datatype}
			pts, err := db.rulePoints(ctx, tx, r, &sp, uid, from, to)
			if err != nil {
				return err
			}
			for _, ep := range previewEpisodes(r.Condition, pts, to) {
				out = append(out, dtbase.AlertPreview{Sensor: uid, Since: ep.Since, FiredAt: ep.FiredAt, ResolvedAt: ep.ResolvedAt, Value: ep.Value})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("preview alert rule: %w", err)
	}
	return out, nil
}

// previewEpisodes is what a condition would have done on pts.
func previewEpisodes(c dtbase.AlertCondition, pts []alert.Point, to time.Time) []alert.Episode {
	if c.Kind != dtbase.CondStaleness {
		return alert.Episodes(c, pts)
	}
	var out []alert.Episode
	ts := make([]time.Time, len(pts))
	for i, p := range pts {
		ts[i] = p.T
	}
	usual := alert.UsualInterval(ts)
	for i, p := range pts {
		next := to
		if i+1 < len(pts) {
			next = pts[i+1].T
		}
		if alert.Stale(c, p.T, next, usual) {
			ep := alert.Episode{Since: p.T, FiredAt: p.T.Add(alert.MaxAge(c, usual))}
			if i+1 < len(pts) {
				ep.ResolvedAt = &pts[i+1].T
			}
			out = append(out, ep)
		}
	}
	return out
}
