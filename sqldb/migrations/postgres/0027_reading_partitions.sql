-- How long the readings of a sensor type are kept, in days (0: forever);
-- a type without a row follows DT_READING_RETENTION_DAYS. The leader
-- deletes older readings (sqldb/retention.go); rollups are kept longer.
CREATE TABLE sensor_type_retention (
    type_id   BIGINT PRIMARY KEY REFERENCES sensor_type (id) ON DELETE CASCADE,
    keep_days INTEGER NOT NULL
);

-- Readings are partitioned by month of ts (µs since the epoch, UTC), so
-- that retention drops whole months and the indexes of the current month
-- stay small. A DEFAULT partition takes rows of months not created yet.
-- The primary key includes ts, the partition key, so the duplicate rule
-- (one reading per sensor, measure and time) holds across partitions.
-- The old tables are renamed here; sqldb/partition.go creates the months
-- they hold, copies their rows and drops them in this same transaction.
ALTER TABLE reading_float RENAME TO reading_float_unpartitioned;
ALTER TABLE reading_float_unpartitioned RENAME CONSTRAINT reading_float_pkey TO reading_float_unpartitioned_pkey;
ALTER TABLE reading_integer RENAME TO reading_integer_unpartitioned;
ALTER TABLE reading_integer_unpartitioned RENAME CONSTRAINT reading_integer_pkey TO reading_integer_unpartitioned_pkey;
ALTER TABLE reading_string RENAME TO reading_string_unpartitioned;
ALTER TABLE reading_string_unpartitioned RENAME CONSTRAINT reading_string_pkey TO reading_string_unpartitioned_pkey;
ALTER TABLE reading_boolean RENAME TO reading_boolean_unpartitioned;
ALTER TABLE reading_boolean_unpartitioned RENAME CONSTRAINT reading_boolean_pkey TO reading_boolean_unpartitioned_pkey;

CREATE TABLE reading_float (
    sensor_id  INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    ts         BIGINT NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE reading_integer (
    sensor_id  INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    ts         BIGINT NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE reading_string (
    sensor_id  INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    ts         BIGINT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE reading_boolean (
    sensor_id  INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    ts         BIGINT NOT NULL,
    value      BOOLEAN NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE reading_float_default PARTITION OF reading_float DEFAULT;
CREATE TABLE reading_integer_default PARTITION OF reading_integer DEFAULT;
CREATE TABLE reading_string_default PARTITION OF reading_string DEFAULT;
CREATE TABLE reading_boolean_default PARTITION OF reading_boolean DEFAULT;
