package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"

	"github.com/dtbase/dtbase"
)

const scheduleSelect = `SELECT sc.id, sc.service_id, s.name, sc.name, sc.cron, sc.timezone, sc.parameter_set_id, p.name, sc.enabled, sc.next_run, sc.last_run, sc.time_created
 FROM service_schedule sc JOIN service s ON s.id = sc.service_id LEFT JOIN service_parameter_set p ON p.id = sc.parameter_set_id`

// scanSchedule scans a row of scheduleSelect into s.
func scanSchedule(row scanner, s *dtbase.Schedule) error {
	var setID, lastRun sql.NullInt64
	var setName sql.NullString
	var next, created int64
	if err := row.Scan(&s.ID, &s.ServiceID, &s.ServiceName, &s.Name, &s.Cron, &s.TimeZone, &setID, &setName,
		&s.Enabled, &next, &lastRun, &created); err != nil {
		return err
	}
	if setID.Valid {
		s.ParameterSetID = &setID.Int64
	}
	if setName.Valid {
		s.ParameterSetName = &setName.String
	}
	s.NextRun, s.LastRun, s.Created = fromMicros(next), nullMicros(lastRun), fromMicros(created)
	return nil
}

// querySchedules returns the schedules a query of scheduleSelect finds;
// what names the read in errors.
func querySchedules(ctx context.Context, q queryer, what, query string, args ...any) ([]dtbase.Schedule, error) {
	return queryAll(ctx, q, what, func(rows *sql.Rows, s *dtbase.Schedule) error { return scanSchedule(rows, s) }, query, args...)
}

// lookupSet returns the id of a service's parameter set, or nil for a nil
// name; ENOTFOUND "Parameter set does not exist.".
func lookupSet(ctx context.Context, tx *sql.Tx, serviceID int64, name *string) (*int64, error) {
	if name == nil {
		return nil, nil
	}
	id, err := idOf(ctx, tx, dtbase.Errorf(dtbase.ENOTFOUND, msgParameterSetMissing), "find parameter set",
		`SELECT id FROM service_parameter_set WHERE service_id = $1 AND name = $2`, serviceID, *name)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// CreateSchedule adds a schedule and sets its ID; ENOTFOUND "Service does
// not exist." or "Parameter set does not exist.", ECONFLICT "Schedule
// already exists.".
func (db *DB) CreateSchedule(ctx context.Context, s *dtbase.Schedule) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		if s.ServiceID, err = serviceID(ctx, tx, s.ServiceName, "create schedule"); err != nil {
			return err
		}
		setID, err := lookupSet(ctx, tx, s.ServiceID, s.ParameterSetName)
		if err != nil {
			return err
		}
		s.ParameterSetID = setID
		s.Created = db.Now()
		err = tx.QueryRowContext(ctx,
			`INSERT INTO service_schedule (service_id, name, parameter_set_id, cron, timezone, enabled, next_run, time_created)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			s.ServiceID, s.Name, setID, s.Cron, s.TimeZone, s.Enabled, micros(s.NextRun), micros(s.Created)).Scan(&s.ID)
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, msgScheduleExists), "create schedule")
	})
}

// FindSchedule returns a schedule; ENOTFOUND "Schedule does not exist.".
func (db *DB) FindSchedule(ctx context.Context, serviceName, name string) (*dtbase.Schedule, error) {
	var s dtbase.Schedule
	err := scanSchedule(db.read.QueryRowContext(ctx, scheduleSelect+` WHERE s.name = $1 AND sc.name = $2`, serviceName, name), &s)
	if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, msgScheduleMissing), "find schedule"); err != nil {
		return nil, err
	}
	return &s, nil
}

// ListSchedules returns the schedules of one service, or of all when
// serviceName is nil, in id order. An unknown service has none.
func (db *DB) ListSchedules(ctx context.Context, serviceName *string) ([]dtbase.Schedule, error) {
	query, args := scheduleSelect, []any(nil)
	if serviceName != nil {
		query += ` WHERE s.name = $1`
		args = append(args, *serviceName)
	}
	return querySchedules(ctx, db.read, "list schedules", query+` ORDER BY sc.id`, args...)
}

// UpdateSchedule stores s's cron, time zone, parameter set (by name),
// enabled flag and next run, finding the schedule by service and name.
// ENOTFOUND "Schedule does not exist." or "Parameter set does not exist.".
func (db *DB) UpdateSchedule(ctx context.Context, s *dtbase.Schedule) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT sc.id, sc.service_id FROM service_schedule sc JOIN service s ON s.id = sc.service_id WHERE s.name = $1 AND sc.name = $2`,
			s.ServiceName, s.Name).Scan(&s.ID, &s.ServiceID)
		if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, msgScheduleMissing), "update schedule"); err != nil {
			return err
		}
		setID, err := lookupSet(ctx, tx, s.ServiceID, s.ParameterSetName)
		if err != nil {
			return err
		}
		s.ParameterSetID = setID
		_, err = tx.ExecContext(ctx,
			`UPDATE service_schedule SET cron = $1, timezone = $2, parameter_set_id = $3, enabled = $4, next_run = $5, time_updated = $6 WHERE id = $7`,
			s.Cron, s.TimeZone, setID, s.Enabled, micros(s.NextRun), micros(db.Now()), s.ID)
		if err != nil {
			return fmt.Errorf("update schedule: %w", err)
		}
		return nil
	})
}

// DeleteSchedule removes a schedule; its runs stay in the log. ENOTFOUND
// "Schedule does not exist.".
func (db *DB) DeleteSchedule(ctx context.Context, serviceName, name string) error {
	return db.execOne(ctx, "delete schedule", msgScheduleMissing,
		`DELETE FROM service_schedule WHERE name = $1 AND service_id = (SELECT id FROM service WHERE name = $2)`, name, serviceName)
}

// DueSchedules returns up to limit enabled schedules due at or before now,
// earliest first, and the earliest next run among enabled schedules not
// yet due (zero when there is none), so the scheduler can sleep until then.
func (db *DB) DueSchedules(ctx context.Context, now time.Time, limit int) ([]dtbase.Schedule, time.Time, error) {
	due, err := querySchedules(ctx, db.read, "due schedules", scheduleSelect+` WHERE sc.enabled = $1 AND sc.next_run <= $2 ORDER BY sc.next_run, sc.id LIMIT $3`,
		true, micros(now), limit)
	if err != nil {
		return nil, time.Time{}, err
	}
	var next sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT min(next_run) FROM service_schedule WHERE enabled = $1 AND next_run > $2`,
		true, micros(now)).Scan(&next); err != nil {
		return nil, time.Time{}, fmt.Errorf("due schedules: %w", err)
	}
	var upcoming time.Time
	if next.Valid {
		upcoming = fromMicros(next.Int64)
	}
	return due, upcoming, nil
}

// advanceSchedule moves a schedule from due to next, only if it is still
// enabled and due at due. Under concurrent claims from several replicas the
// row lock serialises the updates and every claim after the first finds
// next_run changed, so exactly one succeeds.
func advanceSchedule(ctx context.Context, tx *sql.Tx, id int64, due, next time.Time) error {
	res, err := tx.ExecContext(ctx,
		`UPDATE service_schedule SET next_run = $1, last_run = $2 WHERE id = $3 AND next_run = $2 AND enabled = $4`,
		micros(next), micros(due), id, true)
	if err != nil {
		return fmt.Errorf("claim schedule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return dtbase.Errorf(dtbase.ECONFLICT, msgScheduleNoLongerDue)
	}
	return nil
}

// ClaimScheduledRun advances a due schedule and records its run in one
// transaction, so a claimed run is always in the log and a run in the log
// was claimed once. ECONFLICT when the schedule is no longer due at c.Due.
func (db *DB) ClaimScheduledRun(ctx context.Context, c dtbase.ScheduleClaim) (*dtbase.ServiceRun, *dtbase.Service, error) {
	var run *dtbase.ServiceRun
	var svc *dtbase.Service
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if err := advanceSchedule(ctx, tx, c.ScheduleID, c.Due, c.Next); err != nil {
			return err
		}
		var serviceID int64
		var scheduleName string
		var setID sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT service_id, name, parameter_set_id FROM service_schedule WHERE id = $1`, c.ScheduleID).
			Scan(&serviceID, &scheduleName, &setID); err != nil {
			return fmt.Errorf("claim schedule: %w", err)
		}
		var err error
		svc, err = db.findServiceForRun(ctx, tx, `id = $1`, serviceID, c.Limits != dtbase.RunLimits{})
		if err != nil {
			return fmt.Errorf("claim schedule: %w", err)
		}
		scheduleID := c.ScheduleID
		run = &dtbase.ServiceRun{ServiceID: svc.ID, ServiceName: svc.Name, ScheduleID: &scheduleID, ScheduleName: &scheduleName,
			Status: dtbase.RunRunning, TriggeredBy: "schedule:" + scheduleName, Timestamp: c.Timestamp}
		if setID.Valid {
			var name, params string
			if err := tx.QueryRowContext(ctx, `SELECT name, parameters FROM service_parameter_set WHERE id = $1`, setID.Int64).
				Scan(&name, &params); err != nil {
				return fmt.Errorf("claim schedule: %w", err)
			}
			id := setID.Int64
			run.ParameterSetID, run.ParameterSetName, run.Parameters = &id, &name, []byte(params)
		}
		msg, err := overLimits(ctx, tx, svc, c.Limits, c.Timestamp)
		if err != nil {
			return err
		}
		if msg != "" {
			run.Status, run.Error = dtbase.RunFailed, "not run: "+msg
			run.Duration = new(time.Duration)
		}
		return insertRun(ctx, tx, run)
	})
	if err != nil {
		return nil, nil, err
	}
	return run, svc, nil
}

// SkipScheduledRun advances a due schedule to next without running it;
// ECONFLICT when it is no longer due at due.
func (db *DB) SkipScheduledRun(ctx context.Context, scheduleID int64, due, next time.Time) error {
	return db.withTx(ctx, func(tx *sql.Tx) error { return advanceSchedule(ctx, tx, scheduleID, due, next) })
}

// schedulerLockID is the PostgreSQL advisory lock held by the replica that
// runs schedules.
const schedulerLockID = 7_362_200_005

// SchedulerLock returns the lock that elects the scheduling replica: on
// PostgreSQL a session-level advisory lock held on one dedicated
// connection; on SQLite, where one process owns the file, a lock that is
// always held.
func (db *DB) SchedulerLock() dtbase.SchedulerLock {
	if db.Dialect != Postgres {
		return alwaysHeld{}
	}
	return &pgSchedulerLock{db: db, id: schedulerLockID}
}

type alwaysHeld struct{}

func (alwaysHeld) TryLock(context.Context) (bool, error) { return true, nil }
func (alwaysHeld) Unlock() error                         { return nil }

// pgSchedulerLock holds pg_try_advisory_lock on a connection of its own.
// The lock lives as long as that session: if the connection breaks, the
// server releases it and another replica can take it, and this process
// finds out on its next check and stops scheduling.
type pgSchedulerLock struct {
	db   *DB
	id   int64 // the advisory lock's key
	mu   sync.Mutex
	conn *sql.Conn
}

func (l *pgSchedulerLock) TryLock(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if l.conn != nil {
		var held bool
		err := l.conn.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1)`,
			l.id).Scan(&held)
		if err == nil && held {
			return true, nil
		}
		// Discard the session rather than return it to the pool: its lock
		// state is unknown, and a pooled session holding the lock would
		// block every replica from scheduling.
		l.conn.Raw(func(any) error { return driver.ErrBadConn })
		l.conn.Close()
		l.conn = nil
		if err != nil {
			return false, fmt.Errorf("scheduler lock lost: %w", err)
		}
		return false, nil
	}
	conn, err := l.db.write.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("scheduler lock: %w", err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.id).Scan(&got); err != nil {
		conn.Close()
		return false, fmt.Errorf("scheduler lock: %w", err)
	}
	if !got {
		conn.Close()
		return false, nil
	}
	l.conn = conn
	return true, nil
}

func (l *pgSchedulerLock) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, l.id)
	l.conn.Close()
	l.conn = nil
	return err
}
