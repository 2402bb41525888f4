package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dtbase/dtbase"
)

var _ dtbase.RetentionStore = (*DB)(nil)

// SetSensorTypeRetention sets or clears the retention of a sensor type;
// see dtbase.RetentionStore.
func (db *DB) SetSensorTypeRetention(ctx context.Context, typeName string, days *int) error {
	if days != nil && (*days < 0 || *days > dtbase.MaxRetentionDays) {
		return dtbase.Errorf(dtbase.EINVALID, "retention_days must be between 0 and %d", dtbase.MaxRetentionDays)
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		id, err := idOf(ctx, tx, dtbase.Errorf(dtbase.ENOTFOUND, "Sensor type '%s' does not exist", typeName), fmt.Sprintf("set retention of sensor type %q", typeName),
			`SELECT id FROM sensor_type WHERE name = $1`, typeName)
		if err != nil {
			return err
		}
		if days == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM sensor_type_retention WHERE type_id = $1`, id)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO sensor_type_retention (type_id, keep_days) VALUES ($1, $2)
				ON CONFLICT (type_id) DO UPDATE SET keep_days = excluded.keep_days`, id, *days)
		}
		if err != nil {
			return fmt.Errorf("set retention of sensor type %q: %w", typeName, err)
		}
		return nil
	})
}

// ListSensorTypeRetentions returns the types with a retention setting, by
// name.
func (db *DB) ListSensorTypeRetentions(ctx context.Context) ([]dtbase.SensorTypeRetention, error) {
	return queryAll(ctx, db.read, "list retentions", func(rows *sql.Rows, r *dtbase.SensorTypeRetention) error {
		return rows.Scan(&r.SensorType, &r.Days)
	}, `SELECT t.name, r.keep_days FROM sensor_type_retention r
		JOIN sensor_type t ON t.id = r.type_id ORDER BY t.name`)
}

// RetentionPolicy holds the server's retention defaults; 0 means for ever.
type RetentionPolicy struct {
	// ReadingDays applies to the sensor types without a setting of their
	// own (DT_READING_RETENTION_DAYS).
	ReadingDays int
	// RollupDays is how long rollups are kept (DT_ROLLUP_RETENTION_DAYS);
	// never shorter than the readings of their type, so that a rollup
	// outlives the readings it summarises.
	RollupDays int
}

// RetentionResult says what one retention pass removed.
type RetentionResult struct {
	DroppedPartitions []string
	DeletedReadings   int64
	DeletedRollups    int64
}

// retentionBatch bounds the rows one delete statement removes, so that
// no transaction holds locks (or, on SQLite, the writer) for long.
const retentionBatch = 10_000

// typeRetention is a sensor type with sensors and its effective retention.
type typeRetention struct {
	id   int64
	days int // 0: for ever
}

func (db *DB) typeRetentions(ctx context.Context, defaultDays int) ([]typeRetention, error) {
	return queryAll(ctx, db.write, "retention of sensor types", func(rows *sql.Rows, t *typeRetention) error {
		var days sql.NullInt64
		err := rows.Scan(&t.id, &days)
		t.days = defaultDays
		if days.Valid {
			t.days = int(days.Int64)
		}
		return err
	}, `SELECT t.id, r.keep_days FROM sensor_type t
		LEFT JOIN sensor_type_retention r ON r.type_id = t.id
		WHERE EXISTS (SELECT 1 FROM sensor s WHERE s.type_id = t.id) ORDER BY t.id`)
}

// cutoff returns the first instant kept of data kept for days; days > 0.
func cutoff(now time.Time, days int) int64 { return micros(now.AddDate(0, 0, -days)) }

// ApplyRetention removes the readings older than their sensor type's
// retention at now, and the rollups older than both p.RollupDays and
// their type's retention. On PostgreSQL a monthly partition is dropped
// whole when every sensor type with sensors is past retention for all of
// it; other old readings are deleted per type, in batches. The rollups of
// deleted readings are kept (until their own retention).
func (db *DB) ApplyRetention(ctx context.Context, now time.Time, p RetentionPolicy) (RetentionResult, error) {
	var res RetentionResult
	types, err := db.typeRetentions(ctx, p.ReadingDays)
	if err != nil {
		return res, err
	}
	if db.Dialect == Postgres && len(types) > 0 {
		if res.DroppedPartitions, err = db.dropExpiredPartitions(ctx, now, types); err != nil {
			return res, err
		}
	}
	for _, t := range types {
		if t.days == 0 {
			continue
		}
		cut := cutoff(now, t.days)
		for _, d := range dtbase.Datatypes {
			n, err := db.deleteInBatches(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE (sensor_id, measure_id, ts) IN (
				SELECT sensor_id, measure_id, ts FROM %[1]s WHERE sensor_id IN (SELECT id FROM sensor WHERE type_id = $1) AND ts < $2 LIMIT $3)`,
				readingTable(d)), t.id, cut)
			res.DeletedReadings += n
			if err != nil {
				return res, fmt.Errorf("retention of %s: %w", readingTable(d), err)
			}
		}
		if p.RollupDays == 0 {
			continue
		}
		rcut := min(cut, cutoff(now, p.RollupDays))
		n, err := db.deleteInBatches(ctx, `DELETE FROM reading_rollup WHERE (sensor_id, measure_id, width, bucket) IN (
			SELECT sensor_id, measure_id, width, bucket FROM reading_rollup
			WHERE sensor_id IN (SELECT id FROM sensor WHERE type_id = $1) AND bucket + CAST(width AS BIGINT) * 1000000 <= $2 LIMIT $3)`, t.id, rcut)
		res.DeletedRollups += n
		if err != nil {
			return res, fmt.Errorf("retention of rollups: %w", err)
		}
	}
	return res, nil
}

// deleteInBatches runs a delete taking (type id, cutoff, limit) until it
// removes fewer rows than the limit, and returns the rows removed.
func (db *DB) deleteInBatches(ctx context.Context, query string, typeID, cut int64) (int64, error) {
	var total int64
	for {
		r, err := db.write.ExecContext(ctx, query, typeID, cut, retentionBatch)
		if err != nil {
			return total, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < retentionBatch {
			return total, nil
		}
	}
}

// dropExpiredPartitions drops the monthly partitions that end before the
// earliest cutoff of types; none when a type keeps readings for ever.
func (db *DB) dropExpiredPartitions(ctx context.Context, now time.Time, types []typeRetention) ([]string, error) {
	var earliest int64
	for i, t := range types {
		if t.days == 0 {
			return nil, nil
		}
		if c := cutoff(now, t.days); i == 0 || c < earliest {
			earliest = c
		}
	}
	parts, err := db.ListPartitions(ctx)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, p := range parts {
		if micros(p.Month.AddDate(0, 1, 0)) > earliest {
			continue
		}
		if _, err := db.write.ExecContext(ctx, `DROP TABLE `+p.Name); err != nil {
			return dropped, fmt.Errorf("drop partition %s: %w", p.Name, err)
		}
		dropped = append(dropped, p.Name)
		db.months.forget()
	}
	return dropped, nil
}

// MaintenanceLock returns the lock that elects the replica creating
// partitions and applying retention.
func (db *DB) MaintenanceLock() dtbase.SchedulerLock {
	if db.Dialect != Postgres {
		return alwaysHeld{}
	}
	return &pgSchedulerLock{db: db, id: maintenanceLockID}
}

// Maintain runs one pass of the leader's upkeep of readings at now: it
// creates the partitions ahead, then applies retention.
func (db *DB) Maintain(ctx context.Context, now time.Time, p RetentionPolicy) (created []string, res RetentionResult, err error) {
	if created, err = db.EnsurePartitions(ctx, now); err != nil {
		return created, res, err
	}
	res, err = db.ApplyRetention(ctx, now, p)
	return created, res, err
}

// extendToRollups widens the extent [first, last] of m's readings in
// [from, to] (ok false: none) to the rollups there, which outlive the
// readings deleted by retention, so that a downsampled read of an old
// range still answers.
func (db *DB) extendToRollups(ctx context.Context, m dtbase.ReadingMeasure, from, to, first, last int64, ok bool) (int64, int64, bool, error) {
	if !rolledUp(m.Datatype) {
		return first, last, ok, nil
	}
	const q = `SELECT first_ts, last_ts FROM reading_rollup WHERE sensor_id = $1 AND measure_id = $2 AND width = $3
		AND bucket >= $4 AND bucket <= $5 ORDER BY bucket`
	ws := rollupWidths[0]
	lo := dtbase.FloorDiv(from, ws*1e6) * ws * 1e6
	var f, l int64
	err := db.readings().QueryRowContext(ctx, q+" LIMIT 1", m.SensorID, m.MeasureID, ws, lo, to).Scan(&f, &l)
	if errors.Is(err, sql.ErrNoRows) {
		return first, last, ok, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("read rollup extent of sensor %q: %w", m.UniqueIdentifier, err)
	}
	if f < from { // a bucket straddling from: its readings in range, if any, were counted
		f = first
		if !ok {
			f = from
		}
	}
	if !ok || f < first {
		first = f
	}
	if !ok {
		err = db.readings().QueryRowContext(ctx, q+" DESC LIMIT 1", m.SensorID, m.MeasureID, ws, lo, to).Scan(&f, &l)
		if err != nil {
			return 0, 0, false, fmt.Errorf("read rollup extent of sensor %q: %w", m.UniqueIdentifier, err)
		}
		last = min(l, to)
	}
	return first, last, true, nil
}
