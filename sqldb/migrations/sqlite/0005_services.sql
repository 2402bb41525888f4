-- Services: per-service credentials (sealed with AES-GCM by the runner; the
-- key never reaches the database unless it was generated and kept here),
-- built-in markers, schedule time zones, and the status of runs that are
-- pending, running or finished.

ALTER TABLE service ADD COLUMN credential_header TEXT;
ALTER TABLE service ADD COLUMN credential_sealed BLOB;
ALTER TABLE service ADD COLUMN builtin TEXT;
ALTER TABLE service ADD COLUMN time_updated BIGINT;

ALTER TABLE service_schedule ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE service_schedule ADD COLUMN time_updated BIGINT;
CREATE INDEX service_schedule_parameter_set_idx ON service_schedule (parameter_set_id);

ALTER TABLE service_run_log ADD COLUMN status TEXT NOT NULL DEFAULT 'succeeded' CHECK (status IN ('pending', 'running', 'succeeded', 'failed'));
ALTER TABLE service_run_log ADD COLUMN note TEXT;
ALTER TABLE service_run_log ADD COLUMN timed_out INTEGER NOT NULL DEFAULT 0;
ALTER TABLE service_run_log ADD COLUMN triggered_by TEXT;
CREATE INDEX service_run_log_unfinished_idx ON service_run_log (timestamp) WHERE status IN ('pending', 'running');
CREATE INDEX service_run_log_set_name_idx ON service_run_log (parameter_set_name, id);
