-- Readings lose their per-row foreign keys: a batch checks once that its
-- sensors and measures exist (sqldb/reading.go), and deleting a sensor
-- deletes its readings in the same transaction. SQLite cannot drop a
-- constraint, so the tables are rebuilt with their rows.
CREATE TABLE reading_float_new (
    sensor_id  INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    value      REAL NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) WITHOUT ROWID;
INSERT INTO reading_float_new SELECT sensor_id, measure_id, ts, value FROM reading_float;
DROP TABLE reading_float;
ALTER TABLE reading_float_new RENAME TO reading_float;

CREATE TABLE reading_integer_new (
    sensor_id  INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    value      INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) WITHOUT ROWID;
INSERT INTO reading_integer_new SELECT sensor_id, measure_id, ts, value FROM reading_integer;
DROP TABLE reading_integer;
ALTER TABLE reading_integer_new RENAME TO reading_integer;

CREATE TABLE reading_string_new (
    sensor_id  INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) WITHOUT ROWID;
INSERT INTO reading_string_new SELECT sensor_id, measure_id, ts, value FROM reading_string;
DROP TABLE reading_string;
ALTER TABLE reading_string_new RENAME TO reading_string;

CREATE TABLE reading_boolean_new (
    sensor_id  INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    value      INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) WITHOUT ROWID;
INSERT INTO reading_boolean_new SELECT sensor_id, measure_id, ts, value FROM reading_boolean;
DROP TABLE reading_boolean;
ALTER TABLE reading_boolean_new RENAME TO reading_boolean;

