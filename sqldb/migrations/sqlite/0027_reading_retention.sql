-- How long the readings of a sensor type are kept, in days (0: forever);
-- a type without a row follows DT_READING_RETENTION_DAYS. The leader
-- deletes older readings (sqldb/retention.go); rollups are kept longer.
CREATE TABLE sensor_type_retention (
    type_id   INTEGER PRIMARY KEY REFERENCES sensor_type (id) ON DELETE CASCADE,
    keep_days INTEGER NOT NULL
);
