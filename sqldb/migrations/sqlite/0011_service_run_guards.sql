-- Service run guards: who asked for a run to be cancelled (the replica
-- running it polls this column), and an index for the per-service rate
-- limit, which counts a service's runs of the last minute.

ALTER TABLE service_run_log ADD COLUMN cancel_requested_by TEXT;
CREATE INDEX service_run_log_service_time_idx ON service_run_log (service_id, timestamp);
