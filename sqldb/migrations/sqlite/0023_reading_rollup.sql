-- Rollups: per series and fixed width (seconds: 600, 3600, 21600, 86400), one row
-- per bucket that holds readings, maintained in the readings' transaction
-- (sqldb/reading_rollup.go). Values of float, integer and boolean measures
-- are stored as doubles (exact for 32-bit integers and booleans).
CREATE TABLE reading_rollup (
    sensor_id  INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    width      INTEGER NOT NULL,
    bucket     INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    vsum       REAL    NOT NULL,
    vmin       REAL    NOT NULL,
    min_ts     INTEGER NOT NULL,
    vmax       REAL    NOT NULL,
    max_ts     INTEGER NOT NULL,
    first_v    REAL    NOT NULL,
    first_ts   INTEGER NOT NULL,
    last_v     REAL    NOT NULL,
    last_ts    INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, measure_id, width, bucket)
) WITHOUT ROWID;
