-- The whole schema of dtbase on SQLite. Timestamps are INTEGER microseconds
-- since the Unix epoch, UTC, on both engines: exact, compact, and the same
-- arithmetic for bucketing everywhere. Identities of (name, units) treat a
-- NULL units as one value, through an index on (units IS NULL, coalesce).

CREATE TABLE setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE app_user (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash BLOB    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    time_created  INTEGER NOT NULL,
    time_updated  INTEGER
);

CREATE TABLE api_key (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    prefix       TEXT    NOT NULL,
    key_hash     BLOB    NOT NULL UNIQUE,
    created_by   TEXT    NOT NULL,
    time_created INTEGER NOT NULL,
    last_used    INTEGER,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX api_key_active_name ON api_key (name) WHERE revoked_at IS NULL;

CREATE TABLE location_identifier (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    units        TEXT,
    datatype     TEXT    NOT NULL CHECK (datatype IN ('string', 'integer', 'float', 'boolean')),
    time_created INTEGER NOT NULL
);
CREATE UNIQUE INDEX location_identifier_identity ON location_identifier (name, (units IS NULL), (coalesce(units, '')));

CREATE TABLE location_schema (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    description  TEXT,
    time_created INTEGER NOT NULL
);

CREATE TABLE location_schema_identifier (
    id            INTEGER PRIMARY KEY,
    schema_id     INTEGER NOT NULL REFERENCES location_schema (id) ON DELETE CASCADE,
    identifier_id INTEGER NOT NULL REFERENCES location_identifier (id),
    UNIQUE (schema_id, identifier_id)
);

CREATE TABLE location (
    id           INTEGER PRIMARY KEY,
    schema_id    INTEGER NOT NULL REFERENCES location_schema (id),
    time_created INTEGER NOT NULL
);
CREATE INDEX location_schema_idx ON location (schema_id);

-- One row per (location, identifier); exactly one typed column is set,
-- the one of the identifier's datatype.
CREATE TABLE location_value (
    location_id   INTEGER NOT NULL REFERENCES location (id) ON DELETE CASCADE,
    identifier_id INTEGER NOT NULL REFERENCES location_identifier (id),
    string_value  TEXT,
    integer_value INTEGER,
    float_value   REAL,
    boolean_value INTEGER,
    PRIMARY KEY (location_id, identifier_id)
) WITHOUT ROWID;

CREATE TABLE sensor_type (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    description  TEXT,
    time_created INTEGER NOT NULL
);

CREATE TABLE sensor_measure (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    units        TEXT,
    datatype     TEXT    NOT NULL CHECK (datatype IN ('string', 'integer', 'float', 'boolean')),
    time_created INTEGER NOT NULL
);
CREATE UNIQUE INDEX sensor_measure_identity ON sensor_measure (name, (units IS NULL), (coalesce(units, '')));

CREATE TABLE sensor_type_measure (
    id         INTEGER PRIMARY KEY,
    type_id    INTEGER NOT NULL REFERENCES sensor_type (id) ON DELETE CASCADE,
    measure_id INTEGER NOT NULL REFERENCES sensor_measure (id),
    UNIQUE (type_id, measure_id)
);

CREATE TABLE sensor (
    id                INTEGER PRIMARY KEY,
    type_id           INTEGER NOT NULL REFERENCES sensor_type (id),
    unique_identifier TEXT    NOT NULL UNIQUE,
    name              TEXT,
    notes             TEXT,
    time_created      INTEGER NOT NULL,
    time_updated      INTEGER
);
CREATE INDEX sensor_type_idx ON sensor (type_id);

CREATE TABLE sensor_location (
    id                    INTEGER PRIMARY KEY,
    sensor_id             INTEGER NOT NULL REFERENCES sensor (id) ON DELETE CASCADE,
    location_id           INTEGER NOT NULL REFERENCES location (id),
    installation_datetime INTEGER NOT NULL,
    UNIQUE (sensor_id, installation_datetime)
);
CREATE INDEX sensor_location_location_idx ON sensor_location (location_id);

-- Readings: one narrow table per datatype, clustered on
-- (sensor, measure, timestamp) so a range read is one contiguous scan and a
-- duplicate is found by the primary key.
CREATE TABLE reading_float (
    sensor_id  INTEGER NOT NULL REFERENCES sensor (id) ON DELETE CASCADE,
    measure_id INTEGER NOT NULL REFERENCES sensor_measure (id),
    ts         INTEGER NOT NULL,
    value      REAL    NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) WITHOUT ROWID;

CREATE TABLE reading_integer (
    sensor_id  INTEGER NOT NULL REFERENCES sensor (id) ON DELETE CASCADE,
    measure_id INTEGER NOT NULL REFERENCES sensor_measure (id),
    ts         INTEGER NOT NULL,
    value      INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) WITHOUT ROWID;

CREATE TABLE reading_string (
    sensor_id  INTEGER NOT NULL REFERENCES sensor (id) ON DELETE CASCADE,
    measure_id INTEGER NOT NULL REFERENCES sensor_measure (id),
    ts         INTEGER NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) WITHOUT ROWID;

CREATE TABLE reading_boolean (
    sensor_id  INTEGER NOT NULL REFERENCES sensor (id) ON DELETE CASCADE,
    measure_id INTEGER NOT NULL REFERENCES sensor_measure (id),
    ts         INTEGER NOT NULL,
    value      INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) WITHOUT ROWID;

CREATE TABLE model (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    time_created INTEGER NOT NULL
);

CREATE TABLE model_scenario (
    id           INTEGER PRIMARY KEY,
    model_id     INTEGER NOT NULL REFERENCES model (id) ON DELETE CASCADE,
    description  TEXT,
    time_created INTEGER NOT NULL
);
CREATE UNIQUE INDEX model_scenario_identity ON model_scenario (model_id, (description IS NULL), (coalesce(description, '')));

CREATE TABLE model_measure (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    units        TEXT    NOT NULL,
    datatype     TEXT    NOT NULL CHECK (datatype IN ('string', 'integer', 'float', 'boolean')),
    time_created INTEGER NOT NULL,
    UNIQUE (name, units)
);

CREATE TABLE model_run (
    id                INTEGER PRIMARY KEY,
    model_id          INTEGER NOT NULL REFERENCES model (id),
    scenario_id       INTEGER NOT NULL REFERENCES model_scenario (id),
    time_created      INTEGER NOT NULL,
    sensor_id         INTEGER REFERENCES sensor (id),
    sensor_measure_id INTEGER REFERENCES sensor_measure (id),
    UNIQUE (model_id, scenario_id, time_created)
);
CREATE INDEX model_run_sensor_idx ON model_run (sensor_id);
CREATE INDEX model_run_time_idx ON model_run (model_id, time_created);

CREATE TABLE model_product (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES model_run (id) ON DELETE CASCADE,
    measure_id INTEGER NOT NULL REFERENCES model_measure (id),
    UNIQUE (run_id, measure_id)
);
CREATE INDEX model_product_measure_idx ON model_product (measure_id);

CREATE TABLE model_value_float (
    product_id INTEGER NOT NULL REFERENCES model_product (id) ON DELETE CASCADE,
    ts         INTEGER NOT NULL,
    value      REAL    NOT NULL,
    PRIMARY KEY (product_id, ts)
) WITHOUT ROWID;

CREATE TABLE model_value_integer (
    product_id INTEGER NOT NULL REFERENCES model_product (id) ON DELETE CASCADE,
    ts         INTEGER NOT NULL,
    value      INTEGER NOT NULL,
    PRIMARY KEY (product_id, ts)
) WITHOUT ROWID;

CREATE TABLE model_value_string (
    product_id INTEGER NOT NULL REFERENCES model_product (id) ON DELETE CASCADE,
    ts         INTEGER NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (product_id, ts)
) WITHOUT ROWID;

CREATE TABLE model_value_boolean (
    product_id INTEGER NOT NULL REFERENCES model_product (id) ON DELETE CASCADE,
    ts         INTEGER NOT NULL,
    value      INTEGER NOT NULL,
    PRIMARY KEY (product_id, ts)
) WITHOUT ROWID;

CREATE TABLE service (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    url             TEXT    NOT NULL,
    http_method     TEXT    NOT NULL CHECK (http_method IN ('GET', 'POST', 'PUT', 'DELETE')),
    timeout_seconds INTEGER,
    time_created    INTEGER NOT NULL
);

-- parameters and response_json hold JSON text exactly as received, so key
-- order and number literals survive a round trip.
CREATE TABLE service_parameter_set (
    id           INTEGER PRIMARY KEY,
    service_id   INTEGER NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    parameters   TEXT    NOT NULL,
    time_created INTEGER NOT NULL,
    time_updated INTEGER,
    UNIQUE (service_id, name)
);

CREATE TABLE service_schedule (
    id               INTEGER PRIMARY KEY,
    service_id       INTEGER NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    parameter_set_id INTEGER REFERENCES service_parameter_set (id) ON DELETE CASCADE,
    cron             TEXT    NOT NULL,
    enabled          INTEGER NOT NULL DEFAULT 1,
    next_run         INTEGER NOT NULL,
    last_run         INTEGER,
    time_created     INTEGER NOT NULL,
    UNIQUE (service_id, name)
);
CREATE INDEX service_schedule_due_idx ON service_schedule (next_run);

-- A run keeps its history when its parameter set is deleted: the set's id
-- becomes NULL and its name stays.
CREATE TABLE service_run_log (
    id                   INTEGER PRIMARY KEY,
    service_id           INTEGER NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    parameter_set_id     INTEGER REFERENCES service_parameter_set (id) ON DELETE SET NULL,
    parameter_set_name   TEXT,
    schedule_id          INTEGER REFERENCES service_schedule (id) ON DELETE SET NULL,
    parameters           TEXT    NOT NULL,
    response_status_code INTEGER,
    response_json        TEXT,
    error                TEXT,
    timestamp            INTEGER NOT NULL,
    duration_ms          INTEGER
);
CREATE INDEX service_run_log_service_idx ON service_run_log (service_id, id);
