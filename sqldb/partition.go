package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dtbase/dtbase"
)

// Readings on PostgreSQL are partitioned by month of ts (docs/operations.md,
// "Partitions and retention"): reading_float_2026_12 holds December 2026,
// reading_float_default any month not created yet. SQLite keeps one table
// per datatype.

// partitionMigration converts the readings tables to partitioned ones.
const partitionMigration = 27

// PartitionsAhead is how many months after the current one have their
// partitions created in advance.
const PartitionsAhead = 2

// partitionLockID serialises partition creation between replicas (the
// leader's pass, every replica's start-up).
const partitionLockID = 7_362_200_027

// maintenanceLockID is the session advisory lock of the replica elected to
// run the hourly pass of partitions and retention.
const maintenanceLockID = 7_362_201_027

// monthStart returns the first instant of t's month, UTC.
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// partitionName names the partition of table holding month m.
func partitionName(table string, m time.Time) string {
	return fmt.Sprintf("%s_%04d_%02d", table, m.Year(), int(m.Month()))
}

// parsePartitionMonth returns the month of a partition of table named by
// partitionName; false for the default partition or any other name.
func parsePartitionMonth(table, name string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(name, table+"_")
	if !ok || len(rest) != 7 || rest[4] != '_' {
		return time.Time{}, false
	}
	y, err1 := strconv.Atoi(rest[:4])
	m, err2 := strconv.Atoi(rest[5:])
	if err1 != nil || err2 != nil || m < 1 || m > 12 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC), true
}

// Partition is one monthly partition of a readings table.
type Partition struct {
	Table string    // the partitioned table, e.g. reading_float
	Name  string    // the partition, e.g. reading_float_2026_12
	Month time.Time // its first instant; it holds ts in [Month, Month+1 month)
}

// EnsurePartitions creates, on PostgreSQL, the partition of every readings
// table for the month of now and the PartitionsAhead months after it, and
// for every month the default partition holds rows of, and returns those
// it created. Readings of a new partition's month move out of the default
// partition into it. Safe to call from several replicas at once; a no-op
// on SQLite.
func (db *DB) EnsurePartitions(ctx context.Context, now time.Time) ([]string, error) {
	return db.ensureMonths(ctx, monthStart(now), monthStart(now).AddDate(0, PartitionsAhead, 0), true)
}

// CreatePartitions creates, on PostgreSQL, the partitions of every month
// from from's to to's, so that a backfill of those months is written
// straight into them; see EnsurePartitions.
func (db *DB) CreatePartitions(ctx context.Context, from, to time.Time) ([]string, error) {
	return db.ensureMonths(ctx, monthStart(from), monthStart(to), false)
}

// ensureMonths creates the partitions of the months first to last (none
// when first is zero) and, when split, those of the months the default
// partition holds. Each table is done in a transaction of its own, so
// that a writer holding one readings table while waiting for another
// cannot deadlock with it.
func (db *DB) ensureMonths(ctx context.Context, first, last time.Time, split bool) ([]string, error) {
	if db.Dialect != Postgres {
		return nil, nil
	}
	defer db.months.forget()
	var created []string
	for _, d := range dtbase.Datatypes {
		table := readingTable(d)
		var names []string
		err := db.withTx(ctx, func(tx *sql.Tx) error {
			names = names[:0]
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, partitionLockID); err != nil {
				return fmt.Errorf("ensure partitions: lock: %w", err)
			}
			var months []time.Time
			if split {
				// Months written before their partition existed (a
				// backfill, an import) move out of the default partition.
				var err error
				if months, err = monthsHeld(ctx, tx, table+"_default"); err != nil {
					return err
				}
			}
			for m := first; !first.IsZero() && !m.After(last); m = m.AddDate(0, 1, 0) {
				months = append(months, m)
			}
			missing, err := missingPartitions(ctx, tx, table, months)
			if err != nil || len(missing) == 0 {
				return err
			}
			// Writers wait until commit (readers do not): an insert
			// already routing a row to the default partition when its
			// month is attached would fail its partition check.
			if _, err := tx.ExecContext(ctx, `LOCK TABLE `+table+` IN EXCLUSIVE MODE`); err != nil {
				return fmt.Errorf("lock %s: %w", table, err)
			}
			for _, m := range missing {
				if err := createPartition(ctx, tx, table, m); err != nil {
					return err
				}
				names = append(names, partitionName(table, m))
			}
			return nil
		})
		if err != nil {
			return created, err
		}
		created = append(created, names...)
	}
	return created, nil
}

// partitionCache remembers which monthly partitions exist, so that a write
// can tell at no cost whether its rows went to the default partition.
type partitionCache struct {
	mu       sync.Mutex
	names    map[string]bool // nil until loaded, and after partitions change
	failedAt time.Time       // the last failed split, which holds off the next for a minute
}

func (c *partitionCache) forget() {
	c.mu.Lock()
	c.names = nil
	c.mu.Unlock()
}

// placeWritten moves, on PostgreSQL, readings a committed transaction wrote
// into the default partition (a backfill or import of a month not created
// yet) into partitions of their months, so that they are read, and dropped
// by retention, with their month at once rather than after the hourly
// pass. It costs a map lookup per written series when every month exists.
// The readings are committed already: a failure is logged, and the hourly
// pass moves them instead.
func (db *DB) placeWritten(ctx context.Context, touched map[seriesKey]timeSpan) {
	if db.Dialect != Postgres || len(touched) == 0 {
		return
	}
	missing, err := db.months.anyMissing(ctx, db, touched)
	if err == nil && missing {
		_, err = db.ensureMonths(context.WithoutCancel(ctx), time.Time{}, time.Time{}, true)
	}
	if err != nil {
		db.months.mu.Lock()
		db.months.failedAt = time.Now()
		db.months.mu.Unlock()
		slog.Default().Warn("readings of a new month stay in the default partition until the hourly pass", "err", err)
	}
}

// maxSpanMonths bounds the months of one series' span that anyMissing
// looks up; a longer span is checked by reading the default partition.
const maxSpanMonths = 120

// anyMissing reports whether a month of a touched span has no partition;
// false for a minute after a failed split, so that a failure that lasts
// does not cost every write a retry.
func (c *partitionCache) anyMissing(ctx context.Context, db *DB, touched map[seriesKey]timeSpan) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.failedAt) < time.Minute {
		return false, nil
	}
	if c.names == nil {
		parts, err := listPartitions(ctx, db.write)
		if err != nil {
			return false, err
		}
		c.names = map[string]bool{}
		for _, p := range parts {
			c.names[p.Name] = true
		}
	}
	for _, sp := range touched {
		lo, hi := max(sp.lo, firstPartitioned), min(sp.hi, endPartitioned-1)
		table := readingTable(sp.dt)
		for m, n := monthStart(fromMicros(lo)), 0; micros(m) <= hi; m, n = m.AddDate(0, 1, 0), n+1 {
			if n == maxSpanMonths || !c.names[partitionName(table, m)] {
				return true, nil
			}
		}
	}
	return false, nil
}

// missingPartitions returns the months of months, once each, whose
// partition of table does not exist.
func missingPartitions(ctx context.Context, tx *sql.Tx, table string, months []time.Time) ([]time.Time, error) {
	var out []time.Time
	for _, m := range months {
		if slices.Contains(out, m) {
			continue
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, partitionName(table, m)).Scan(&exists); err != nil {
			return nil, fmt.Errorf("partition %s: %w", partitionName(table, m), err)
		}
		if !exists {
			out = append(out, m)
		}
	}
	return out, nil
}

// createPartition creates the partition of table for month m, which does
// not exist. Rows of m in the default partition are moved into it first:
// attaching a partition whose range the default partition holds rows of
// would fail. The caller holds table against writers.
func createPartition(ctx context.Context, tx *sql.Tx, table string, m time.Time) error {
	name := partitionName(table, m)
	lo, hi := micros(m), micros(m.AddDate(0, 1, 0))
	def := table + "_default"
	for _, stmt := range []string{
		`CREATE TABLE ` + name + ` (LIKE ` + table + `)`,
		// A constraint that matches the bounds spares ATTACH a scan.
		fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %s_range CHECK (ts >= %d AND ts < %d)`, name, name, lo, hi),
		fmt.Sprintf(`WITH moved AS (DELETE FROM %s WHERE ts >= %d AND ts < %d RETURNING sensor_id, measure_id, ts, value)
			INSERT INTO %s (sensor_id, measure_id, ts, value) SELECT sensor_id, measure_id, ts, value FROM moved`, def, lo, hi, name),
		fmt.Sprintf(`ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%d) TO (%d)`, table, name, lo, hi),
		`ALTER TABLE ` + name + ` DROP CONSTRAINT ` + name + `_range`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create partition %s: %w", name, err)
		}
	}
	return nil
}

// ListPartitions returns the monthly partitions of every readings table
// on PostgreSQL, oldest first per table; none on SQLite.
func (db *DB) ListPartitions(ctx context.Context) ([]Partition, error) {
	if db.Dialect != Postgres {
		return nil, nil
	}
	return listPartitions(ctx, db.write)
}

func listPartitions(ctx context.Context, q queryer) ([]Partition, error) {
	var out []Partition
	for _, d := range dtbase.Datatypes {
		table := readingTable(d)
		names, err := queryAll(ctx, q, "list partitions of "+table, scanColumn[string],
			`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = to_regclass($1) ORDER BY c.relname`, table)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if m, ok := parsePartitionMonth(table, name); ok {
				out = append(out, Partition{Table: table, Name: name, Month: m})
			}
		}
	}
	return out, nil
}

// partitionReadings finishes migration 0027 on PostgreSQL: the old
// tables, renamed *_unpartitioned by the migration's SQL, have a partition
// created for every month they hold rows of, their rows copied into the
// partitioned tables, and are dropped. The months ahead are created too.
func (db *DB) partitionReadings(ctx context.Context, tx *sql.Tx) error {
	for _, d := range dtbase.Datatypes {
		table := readingTable(d)
		old := table + "_unpartitioned"
		months, err := monthsHeld(ctx, tx, old)
		if err != nil {
			return err
		}
		for i := range PartitionsAhead + 1 {
			months = append(months, monthStart(db.Now()).AddDate(0, i, 0))
		}
		missing, err := missingPartitions(ctx, tx, table, months)
		if err != nil {
			return err
		}
		for _, m := range missing {
			if err := createPartition(ctx, tx, table, m); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (sensor_id, measure_id, ts, value)
			SELECT sensor_id, measure_id, ts, value FROM `+old); err != nil {
			return fmt.Errorf("copy %s: %w", old, err)
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+old); err != nil {
			return fmt.Errorf("drop %s: %w", old, err)
		}
	}
	return nil
}

// Partitions cover the years 1 to 9999; readings outside them (which the
// API refuses) stay in the default partition.
var (
	firstPartitioned = micros(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))
	endPartitioned   = micros(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
)

// monthsHeld returns the months table holds rows of, within the years
// partitions cover. It reads the whole table.
func monthsHeld(ctx context.Context, tx *sql.Tx, table string) ([]time.Time, error) {
	return queryAll(ctx, tx, "months of "+table, func(rows *sql.Rows, month *time.Time) error {
		var y, m int
		err := rows.Scan(&y, &m)
		*month = time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		return err
	}, `SELECT DISTINCT
		extract(year FROM to_timestamp(ts / 1e6) AT TIME ZONE 'UTC')::int,
		extract(month FROM to_timestamp(ts / 1e6) AT TIME ZONE 'UTC')::int FROM `+table+` WHERE ts >= $1 AND ts < $2`,
		firstPartitioned, endPartitioned)
}
