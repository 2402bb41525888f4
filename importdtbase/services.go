package importdtbase

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

func (im *importer) copyServices(ctx context.Context) error {
	services := im.targets["service"]
	err := im.copyTable(ctx, "service", "service", `SELECT id, name, url, http_method::text, coalesce(time_created, now()) FROM service ORDER BY id`, func(r pgx.Rows) error {
		var id int64
		var name, url, method string
		var created time.Time
		if err := r.Scan(&id, &name, &url, &method, &created); err != nil {
			return fmt.Errorf("read service: %w", err)
		}
		if im.mapExisting(services, id, name) {
			// Such as a built-in service registered under the same name:
			// ours is kept, and the original's parameter sets and runs
			// join it.
			var ourURL, ourMethod string
			if err := im.tx.QueryRowContext(ctx, `SELECT url, http_method FROM service WHERE id = $1`, services.ids[id]).Scan(&ourURL, &ourMethod); err != nil {
				return fmt.Errorf("import service %q: %w", name, err)
			}
			if ourURL != url || ourMethod != method {
				im.note("service %q exists here as %s %s; the original's %s %s was not imported, its parameter sets and runs were", name, ourMethod, ourURL, method, url)
			}
			return nil
		}
		if err := checkRow("service", id, &dtbase.Service{Name: name, URL: url, HTTPMethod: method}); err != nil {
			return err
		}
		_, err := im.insertRow(ctx, services, id, name, "name, url, http_method, time_created", name, url, method, sqldb.Micros(created))
		return err
	})
	if err != nil {
		return err
	}
	sets := im.targets["service_parameter_set"]
	setNames := map[int64]string{} // source set id → name, for the run log
	err = im.copyTable(ctx, "service_parameter_set", "service_parameter_set", `SELECT id, service_id, name, parameters::text, coalesce(time_created, now()), time_updated FROM service_parameter_set ORDER BY id`, func(r pgx.Rows) error {
		var id, service int64
		var name, params string
		var created time.Time
		var updated *time.Time
		if err := r.Scan(&id, &service, &name, &params, &created, &updated); err != nil {
			return fmt.Errorf("read service_parameter_set: %w", err)
		}
		setNames[id] = name
		ns, err := im.ref("service", service)
		if err != nil {
			return err
		}
		key := idKey(ns) + name
		if im.mapExisting(sets, id, key) {
			return nil
		}
		if err := checkRow("service_parameter_set", id, &dtbase.ParameterSet{Name: name}); err != nil {
			return err
		}
		_, err = im.insertRow(ctx, sets, id, key, "service_id, name, parameters, time_created, time_updated",
			ns, name, params, sqldb.Micros(created), sqldb.OptionalMicros(updated))
		return err
	})
	if err != nil {
		return err
	}

	runs := im.targets["service_run_log"]
	err = im.copyTable(ctx, "service_run_log", "service_run_log", `SELECT id, service_id, parameter_set_id, parameters::text, response_status_code, response_json::text, timestamp FROM service_run_log ORDER BY id`, func(r pgx.Rows) error {
		var id, service int64
		var set *int64
		var params string
		var code int
		var response *string
		var ts time.Time
		if err := r.Scan(&id, &service, &set, &params, &code, &response, &ts); err != nil {
			return fmt.Errorf("read service_run_log: %w", err)
		}
		ns, err := im.ref("service", service)
		if err != nil {
			return err
		}
		var nset, setName any
		if set != nil {
			if nset, err = im.ref("service_parameter_set", *set); err != nil {
				return err
			}
			setName = setNames[*set]
		}
		// A run of the same service at the same instant that was there
		// before the import is the same run, imported before.
		if im.mapExisting(runs, id, idKey(ns, sqldb.Micros(ts))) {
			return nil
		}
		status := dtbase.RunFailed
		if code >= 200 && code < 300 {
			status = dtbase.RunSucceeded
		}
		_, err = im.insertRow(ctx, runs, id, "",
			"service_id, parameter_set_id, parameter_set_name, parameters, response_status_code, response_json, timestamp, status, timed_out, triggered_by",
			ns, nset, setName, params, code, response, sqldb.Micros(ts), string(status), false, "import-dtbase")
		return err
	})
	if err != nil {
		return err
	}
	return nil
}
