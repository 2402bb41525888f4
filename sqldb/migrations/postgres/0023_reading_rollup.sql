-- Rollups: per series and fixed width (seconds: 600, 3600, 21600, 86400), one row
-- per bucket that holds readings, maintained in the readings' transaction
-- (sqldb/reading_rollup.go). Values of float, integer and boolean measures
-- are stored as doubles (exact for 32-bit integers and booleans).
CREATE TABLE reading_rollup (
    sensor_id  BIGINT NOT NULL,
    measure_id BIGINT NOT NULL,
    width      INTEGER NOT NULL,
    bucket     BIGINT NOT NULL,
    n          BIGINT NOT NULL,
    vsum       DOUBLE PRECISION NOT NULL,
    vmin       DOUBLE PRECISION NOT NULL,
    min_ts     BIGINT NOT NULL,
    vmax       DOUBLE PRECISION NOT NULL,
    max_ts     BIGINT NOT NULL,
    first_v    DOUBLE PRECISION NOT NULL,
    first_ts   BIGINT NOT NULL,
    last_v     DOUBLE PRECISION NOT NULL,
    last_ts    BIGINT NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, width, bucket)
);
