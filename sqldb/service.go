package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

var _ dtbase.ServiceStore = (*DB)(nil)

// Client-facing texts of the original (and ours, in its style).
const (
	msgServiceExists        = "Service already exists."
	msgServiceMissing       = "Service does not exist."
	msgParameterSetExists   = "Parameter set already exists."
	msgParameterSetMissing  = "Parameter set does not exist."
	msgServiceOrSetMissing  = "Service or parameter set does not exist."
	msgRunMissing           = "Service run does not exist."
	msgRunFinished          = "Service run has already finished."
	msgScheduleExists       = "Schedule already exists."
	msgScheduleMissing      = "Schedule does not exist."
	msgScheduleNoLongerDue  = "Schedule is no longer due at that time."
	serviceColumns          = `id, name, url, http_method, timeout_seconds, credential_header, builtin, time_created`
	serviceColumnsWithSeal  = serviceColumns + `, credential_sealed`
	parameterSetColumns     = `p.id, p.service_id, s.name, p.name, p.parameters, p.time_created, p.time_updated`
	parameterSetFromClause  = ` FROM service_parameter_set p JOIN service s ON s.id = p.service_id`
	runSelect               = `SELECT r.id, r.service_id, s.name, r.parameter_set_id, r.parameter_set_name, r.schedule_id, sc.name, r.parameters, r.status, r.response_status_code, r.response_json, r.error, r.note, r.timed_out, r.triggered_by, r.timestamp, r.duration_ms FROM service_run_log r JOIN service s ON s.id = r.service_id LEFT JOIN service_schedule sc ON sc.id = r.schedule_id`
	staleRunStatusCondition = `status IN ('pending', 'running')`
)

type scanner interface{ Scan(dest ...any) error }

// nullString maps "" to NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullJSON maps a nil JSON text to NULL.
func nullJSON(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

func scanService(row scanner, withSeal bool) (*dtbase.Service, error) {
	var s dtbase.Service
	var timeout sql.NullInt64
	var header, builtin sql.NullString
	var created int64
	var sealed []byte
	dest := []any{&s.ID, &s.Name, &s.URL, &s.HTTPMethod, &timeout, &header, &builtin, &created}
	if withSeal {
		dest = append(dest, &sealed)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if timeout.Valid {
		s.Timeout = time.Duration(timeout.Int64) * time.Second
	}
	if header.Valid {
		s.Credential = &dtbase.ServiceCredential{Header: header.String, Sealed: sealed}
	}
	s.Builtin = builtin.String
	s.Created = fromMicros(created)
	return &s, nil
}

func timeoutSeconds(d time.Duration) any {
	if d <= 0 {
		return nil
	}
	return int64(d / time.Second)
}

// CreateService adds a service and sets its ID; ECONFLICT "Service already
// exists." if the name is taken.
func (db *DB) CreateService(ctx context.Context, s *dtbase.Service) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		s.Created = db.Now()
		var header, sealed any
		if s.Credential != nil {
			header, sealed = s.Credential.Header, s.Credential.Sealed
		}
		err := tx.QueryRowContext(ctx,
			`INSERT INTO service (name, url, http_method, timeout_seconds, credential_header, credential_sealed, builtin, time_created)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			s.Name, s.URL, s.HTTPMethod, timeoutSeconds(s.Timeout), header, sealed, nullString(s.Builtin), micros(s.Created)).Scan(&s.ID)
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, msgServiceExists), "create service")
	})
}

// ListServices returns all services in id order, without sealed credentials.
func (db *DB) ListServices(ctx context.Context) ([]dtbase.Service, error) {
	return queryAll(ctx, db.read, "list services", func(rows *sql.Rows, s *dtbase.Service) error {
		got, err := scanService(rows, false)
		if err == nil {
			*s = *got
		}
		return err
	}, `SELECT `+serviceColumns+` FROM service ORDER BY id`)
}

// FindService returns a service with its sealed credential; ENOTFOUND
// "Service does not exist." if there is none.
func (db *DB) FindService(ctx context.Context, name string) (*dtbase.Service, error) {
	s, err := scanService(db.read.QueryRowContext(ctx, `SELECT `+serviceColumnsWithSeal+` FROM service WHERE name = $1`, name), true)
	if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, msgServiceMissing), "find service"); err != nil {
		return nil, err
	}
	return s, nil
}

// UpdateService changes the given fields of a service; ENOTFOUND "Service
// does not exist." if there is none.
func (db *DB) UpdateService(ctx context.Context, name string, upd dtbase.ServiceUpdate) error {
	if err := upd.Validate(); err != nil {
		return err
	}
	var p params
	p.add("time_updated = $%d", micros(db.Now()))
	if upd.URL != nil {
		p.add("url = $%d", *upd.URL)
	}
	if upd.HTTPMethod != nil {
		p.add("http_method = $%d", *upd.HTTPMethod)
	}
	if upd.Timeout != nil {
		p.add("timeout_seconds = $%d", timeoutSeconds(*upd.Timeout))
	}
	switch {
	case upd.Credential != nil:
		p.add("credential_header = $%d", upd.Credential.Header)
		p.add("credential_sealed = $%d", upd.Credential.Sealed)
	case upd.ClearCredential:
		p.add("credential_header = $%d", nil)
		p.add("credential_sealed = $%d", nil)
	}
	args := append(p.args, name)
	query := fmt.Sprintf(`UPDATE service SET %s WHERE name = $%d`, strings.Join(p.clauses, ", "), len(args))
	return db.execOne(ctx, "update service", msgServiceMissing, query, args...)
}

// DeleteService removes a service with its parameter sets, schedules and
// run log; ENOTFOUND "Service does not exist." if there is none.
func (db *DB) DeleteService(ctx context.Context, name string) error {
	return db.execOne(ctx, "delete service", msgServiceMissing, `DELETE FROM service WHERE name = $1`, name)
}

func scanParameterSet(row scanner) (*dtbase.ParameterSet, error) {
	var p dtbase.ParameterSet
	var params string
	var created int64
	var updated sql.NullInt64
	if err := row.Scan(&p.ID, &p.ServiceID, &p.ServiceName, &p.Name, &params, &created, &updated); err != nil {
		return nil, err
	}
	p.Parameters = json.RawMessage(params)
	p.Created, p.Updated = fromMicros(created), nullMicros(updated)
	return &p, nil
}

// serviceID returns the id of the service named name; ENOTFOUND "Service
// does not exist.", other failures wrapped with what.
func serviceID(ctx context.Context, q queryer, name, what string) (int64, error) {
	return idOf(ctx, q, dtbase.Errorf(dtbase.ENOTFOUND, msgServiceMissing), what, `SELECT id FROM service WHERE name = $1`, name)
}

// CreateParameterSet adds a parameter set and sets its ID; ENOTFOUND
// "Service does not exist.", ECONFLICT "Parameter set already exists.".
func (db *DB) CreateParameterSet(ctx context.Context, p *dtbase.ParameterSet) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		if p.ServiceID, err = serviceID(ctx, tx, p.ServiceName, "create parameter set"); err != nil {
			return err
		}
		p.Created = db.Now()
		err = tx.QueryRowContext(ctx,
			`INSERT INTO service_parameter_set (service_id, name, parameters, time_created) VALUES ($1, $2, $3, $4) RETURNING id`,
			p.ServiceID, p.Name, string(p.Parameters), micros(p.Created)).Scan(&p.ID)
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, msgParameterSetExists), "create parameter set")
	})
}

// ListParameterSets returns the sets of one service, or of all services
// when serviceName is nil, in id order. An unknown service has none.
func (db *DB) ListParameterSets(ctx context.Context, serviceName *string) ([]dtbase.ParameterSet, error) {
	query := `SELECT ` + parameterSetColumns + parameterSetFromClause
	var args []any
	if serviceName != nil {
		query += ` WHERE s.name = $1`
		args = append(args, *serviceName)
	}
	return queryAll(ctx, db.read, "list parameter sets", func(rows *sql.Rows, p *dtbase.ParameterSet) error {
		got, err := scanParameterSet(rows)
		if err == nil {
			*p = *got
		}
		return err
	}, query+` ORDER BY p.id`, args...)
}

// UpdateParameterSet replaces a set's parameters; ENOTFOUND "Parameter set
// does not exist." if the service or the set is missing.
func (db *DB) UpdateParameterSet(ctx context.Context, serviceName, name string, parameters json.RawMessage) error {
	return db.execOne(ctx, "edit parameter set", msgParameterSetMissing,
		`UPDATE service_parameter_set SET parameters = $1, time_updated = $2
		 WHERE name = $3 AND service_id = (SELECT id FROM service WHERE name = $4)`,
		string(parameters), micros(db.Now()), name, serviceName)
}

// DeleteParameterSet removes a set. Its runs stay in the log with the
// set's name and a null set id. ENOTFOUND "Parameter set does not exist."
// if the service or the set is missing; ECONFLICT when a schedule uses it,
// because deleting the set would silently delete the schedule.
func (db *DB) DeleteParameterSet(ctx context.Context, serviceName, name string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		id, err := idOf(ctx, tx, dtbase.Errorf(dtbase.ENOTFOUND, msgParameterSetMissing), "delete parameter set",
			`SELECT p.id`+parameterSetFromClause+` WHERE s.name = $1 AND p.name = $2`, serviceName, name)
		if err != nil {
			return err
		}
		users, err := queryAll(ctx, tx, "delete parameter set", scanColumn[string], `SELECT name FROM service_schedule WHERE parameter_set_id = $1 ORDER BY id`, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return dtbase.Errorf(dtbase.ECONFLICT, "Parameter set is used by schedule %s; delete the schedule or give it another parameter set first.",
				quoteList(users))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_parameter_set WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete parameter set: %w", err)
		}
		return nil
	})
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// StartRun records a run and returns it with the service to call. The body
// is s.Parameters when given, else the named set's parameters, else JSON
// null; when both are given the explicit parameters are recorded with the
// set, as the original does. ENOTFOUND "Service or parameter set does not
// exist." if either is missing.
func (db *DB) StartRun(ctx context.Context, s dtbase.RunStart) (*dtbase.ServiceRun, *dtbase.Service, error) {
	var run *dtbase.ServiceRun
	var svc *dtbase.Service
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		svc, err = db.findServiceForRun(ctx, tx, `name = $1`, s.ServiceName, s.Refused == "" && s.Limits != dtbase.RunLimits{})
		if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, msgServiceOrSetMissing), "start run"); err != nil {
			return err
		}
		run = &dtbase.ServiceRun{ServiceID: svc.ID, ServiceName: svc.Name, Parameters: s.Parameters,
			Status: s.Status, TriggeredBy: s.TriggeredBy, Timestamp: s.Timestamp}
		if s.ParameterSetName != nil {
			var setID int64
			var params string
			err := tx.QueryRowContext(ctx, `SELECT id, parameters FROM service_parameter_set WHERE service_id = $1 AND name = $2`,
				svc.ID, *s.ParameterSetName).Scan(&setID, &params)
			if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, msgServiceOrSetMissing), "start run"); err != nil {
				return err
			}
			name := *s.ParameterSetName
			run.ParameterSetID, run.ParameterSetName = &setID, &name
			if run.Parameters == nil {
				run.Parameters = json.RawMessage(params)
			}
		}
		if s.Refused != "" {
			run.Status, run.Error = dtbase.RunFailed, s.Refused
			run.Duration = new(time.Duration)
		} else if msg, err := overLimits(ctx, tx, svc, s.Limits, s.Timestamp); err != nil {
			return err
		} else if msg != "" {
			return dtbase.Errorf(dtbase.ERATELIMIT, "%s", msg)
		}
		return insertRun(ctx, tx, run)
	})
	if err != nil {
		return nil, nil, err
	}
	return run, svc, nil
}

// findServiceForRun reads the service a run is for, with its sealed
// credential. When its runs are limited, the row is locked on PostgreSQL,
// so that concurrent starts of one service count the run log one after
// the other (SQLite has one writer anyway).
func (db *DB) findServiceForRun(ctx context.Context, tx *sql.Tx, where string, arg any, limited bool) (*dtbase.Service, error) {
	query := `SELECT ` + serviceColumnsWithSeal + ` FROM service WHERE ` + where
	if limited && db.Dialect == Postgres {
		query += ` FOR NO KEY UPDATE`
	}
	return scanService(tx.QueryRowContext(ctx, query, arg), true)
}

// overLimits says which of a service's run limits a new run would exceed,
// "" when none.
func overLimits(ctx context.Context, tx *sql.Tx, svc *dtbase.Service, l dtbase.RunLimits, now time.Time) (string, error) {
	if l.InFlight > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM service_run_log WHERE service_id = $1 AND `+staleRunStatusCondition, svc.ID).Scan(&n); err != nil {
			return "", fmt.Errorf("count runs in flight: %w", err)
		}
		if n >= l.InFlight {
			return fmt.Sprintf("Service %s already has %d runs in flight, its limit (DT_SERVICE_MAX_CONCURRENT_RUNS); try again when one has finished", svc.Name, n), nil
		}
	}
	if l.PerMinute > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM service_run_log WHERE service_id = $1 AND timestamp > $2`, svc.ID, micros(now.Add(-time.Minute))).Scan(&n); err != nil {
			return "", fmt.Errorf("count recent runs: %w", err)
		}
		if n >= l.PerMinute {
			return fmt.Sprintf("Service %s was run %d times in the last minute, its limit (DT_SERVICE_RUNS_PER_MINUTE); try again later", svc.Name, n), nil
		}
	}
	return "", nil
}

func insertRun(ctx context.Context, tx *sql.Tx, run *dtbase.ServiceRun) error {
	if run.Parameters == nil {
		run.Parameters = json.RawMessage("null")
	}
	var duration any
	if run.Duration != nil {
		duration = run.Duration.Milliseconds()
	}
	err := tx.QueryRowContext(ctx,
		`INSERT INTO service_run_log (service_id, parameter_set_id, parameter_set_name, schedule_id, parameters, status, error, triggered_by, timestamp, duration_ms)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		run.ServiceID, run.ParameterSetID, run.ParameterSetName, run.ScheduleID, string(run.Parameters), string(run.Status),
		nullString(run.Error), nullString(run.TriggeredBy), micros(run.Timestamp), duration).Scan(&run.ID)
	if err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	return nil
}

// SetRunRunning moves a pending run to running; a run that is no longer
// pending is left alone.
func (db *DB) SetRunRunning(ctx context.Context, id int64) error {
	_, err := db.write.ExecContext(ctx, `UPDATE service_run_log SET status = 'running' WHERE id = $1 AND status = 'pending'`, id)
	if err != nil {
		return fmt.Errorf("set run running: %w", err)
	}
	return nil
}

// FinishRun records how a run ended; ENOTFOUND if the run is gone (its
// service was deleted meanwhile).
func (db *DB) FinishRun(ctx context.Context, id int64, o dtbase.RunOutcome) error {
	var code any
	if o.StatusCode != nil {
		code = int64(*o.StatusCode)
	}
	return db.execOne(ctx, "finish run", msgRunMissing,
		`UPDATE service_run_log SET status = $1, response_status_code = $2, response_json = $3, error = $4, note = $5, timed_out = $6, duration_ms = $7 WHERE id = $8`,
		string(o.Status), code, nullJSON(o.ResponseJSON), nullString(o.Error), nullString(o.Note), o.TimedOut, o.Duration.Milliseconds(), id)
}

// RequestCancel records that a pending or running run should stop.
// ENOTFOUND "Service run does not exist.", ECONFLICT "Service run has
// already finished.".
func (db *DB) RequestCancel(ctx context.Context, id int64, by string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM service_run_log WHERE id = $1`, id).Scan(&status)
		if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, msgRunMissing), "cancel run"); err != nil {
			return err
		}
		if dtbase.RunStatus(status).Done() {
			return dtbase.Errorf(dtbase.ECONFLICT, msgRunFinished)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE service_run_log SET cancel_requested_by = $1 WHERE id = $2 AND cancel_requested_by IS NULL`, by, id); err != nil {
			return fmt.Errorf("cancel run: %w", err)
		}
		return nil
	})
}

// CancelRequested returns, of ids, the runs whose cancellation was
// requested, with who asked.
func (db *DB) CancelRequested(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	marks := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		marks[i], args[i] = fmt.Sprintf("$%d", i+1), id
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, cancel_requested_by FROM service_run_log WHERE cancel_requested_by IS NOT NULL AND id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("cancelled runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var by string
		if err := rows.Scan(&id, &by); err != nil {
			return nil, fmt.Errorf("cancelled runs: %w", err)
		}
		out[id] = by
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cancelled runs: %w", err)
	}
	return out, nil
}

func scanRun(row scanner) (*dtbase.ServiceRun, error) {
	var r dtbase.ServiceRun
	var setID, scheduleID, code, duration sql.NullInt64
	var setName, scheduleName, response, errText, note, triggeredBy sql.NullString
	var params, status string
	var ts int64
	if err := row.Scan(&r.ID, &r.ServiceID, &r.ServiceName, &setID, &setName, &scheduleID, &scheduleName, &params, &status,
		&code, &response, &errText, &note, &r.TimedOut, &triggeredBy, &ts, &duration); err != nil {
		return nil, err
	}
	if setID.Valid {
		r.ParameterSetID = &setID.Int64
	}
	if setName.Valid {
		r.ParameterSetName = &setName.String
	}
	if scheduleID.Valid {
		r.ScheduleID = &scheduleID.Int64
	}
	if scheduleName.Valid {
		r.ScheduleName = &scheduleName.String
	}
	r.Parameters = json.RawMessage(params)
	r.Status = dtbase.RunStatus(status)
	if code.Valid {
		c := int(code.Int64)
		r.StatusCode = &c
	}
	if response.Valid {
		r.ResponseJSON = json.RawMessage(response.String)
	}
	r.Error, r.Note, r.TriggeredBy = errText.String, note.String, triggeredBy.String
	r.Timestamp = fromMicros(ts)
	if duration.Valid {
		d := time.Duration(duration.Int64) * time.Millisecond
		r.Duration = &d
	}
	return &r, nil
}

// FindRun returns a run; ENOTFOUND "Service run does not exist.".
func (db *DB) FindRun(ctx context.Context, id int64) (*dtbase.ServiceRun, error) {
	r, err := scanRun(db.read.QueryRowContext(ctx, runSelect+` WHERE r.id = $1`, id))
	if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, msgRunMissing), "find run"); err != nil {
		return nil, err
	}
	return r, nil
}

// ListRuns returns the runs that f selects in id order. A parameter set
// name without a service name selects that set's runs across services.
func (db *DB) ListRuns(ctx context.Context, f dtbase.RunFilter) ([]dtbase.ServiceRun, error) {
	var p params
	if f.ServiceName != nil {
		p.add("s.name = $%d", *f.ServiceName)
	}
	if f.ParameterSetName != nil {
		p.add("r.parameter_set_name = $%d", *f.ParameterSetName)
	}
	query := runSelect
	if len(p.clauses) > 0 {
		query += " WHERE " + strings.Join(p.clauses, " AND ")
	}
	args := p.args
	if f.Limit > 0 {
		args = append(args, f.Limit)
		query += fmt.Sprintf(" ORDER BY r.id DESC LIMIT $%d", len(args))
	} else {
		query += " ORDER BY r.id"
	}
	out, err := queryAll(ctx, db.read, "list runs", func(rows *sql.Rows, r *dtbase.ServiceRun) error {
		got, err := scanRun(rows)
		if err == nil {
			*r = *got
		}
		return err
	}, query, args...)
	if err != nil {
		return nil, err
	}
	if f.Limit > 0 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// FailStaleRuns marks runs still pending or running that started before
// cutoff as failed with message, and returns how many it marked.
func (db *DB) FailStaleRuns(ctx context.Context, cutoff time.Time, message string) (int, error) {
	res, err := db.write.ExecContext(ctx,
		`UPDATE service_run_log SET status = 'failed', error = $1 WHERE `+staleRunStatusCondition+` AND timestamp < $2`,
		message, micros(cutoff))
	if err != nil {
		return 0, fmt.Errorf("fail stale runs: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
