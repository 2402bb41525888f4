-- Locations form a tree: each location has at most one parent, in any
-- schema. A side table keeps the flat location queries untouched; deleting
-- a parent makes its children roots.
CREATE TABLE location_parent (
    location_id INTEGER PRIMARY KEY REFERENCES location (id) ON DELETE CASCADE,
    parent_id   INTEGER NOT NULL REFERENCES location (id) ON DELETE CASCADE
);
CREATE INDEX location_parent_parent_idx ON location_parent (parent_id);

-- The physical range of a measure: readings outside it are reported by the
-- data quality check, not refused.
CREATE TABLE measure_range (
    measure_id INTEGER PRIMARY KEY REFERENCES sensor_measure (id) ON DELETE CASCADE,
    min_value  REAL,
    max_value  REAL
);

-- Measures computed on read from an expression over other measures, for the
-- sensors of a type, the sensors under a location or one sensor; with an
-- aggregate, the per-sensor series under the location are combined per time
-- bucket. A name may have several definitions with validity periods (a
-- sensor's calibration tables over time); valid_from and valid_to are
-- microseconds, NULL for open.
CREATE TABLE derived_measure (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    units          TEXT,
    expression     TEXT    NOT NULL,
    sensor_type_id INTEGER REFERENCES sensor_type (id) ON DELETE CASCADE,
    location_id    INTEGER REFERENCES location (id) ON DELETE CASCADE,
    sensor_id      INTEGER REFERENCES sensor (id) ON DELETE CASCADE,
    aggregate      TEXT CHECK (aggregate IN ('mean', 'min', 'max', 'sum')),
    valid_from     INTEGER,
    valid_to       INTEGER,
    time_created   INTEGER NOT NULL,
    CHECK ((sensor_type_id IS NOT NULL) + (location_id IS NOT NULL) + (sensor_id IS NOT NULL) = 1)
);
CREATE INDEX derived_measure_name_idx ON derived_measure (name);
