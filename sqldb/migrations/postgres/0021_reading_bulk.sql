-- Readings lose their per-row foreign keys: a batch checks once that its
-- sensors and measures exist, holding a key-share lock on its sensors until
-- commit (sqldb/reading.go), and deleting a sensor deletes its readings in
-- the same transaction. Checked per row, the keys cost 10x the insert.
ALTER TABLE reading_float DROP CONSTRAINT IF EXISTS reading_float_sensor_id_fkey;
ALTER TABLE reading_float DROP CONSTRAINT IF EXISTS reading_float_measure_id_fkey;
ALTER TABLE reading_integer DROP CONSTRAINT IF EXISTS reading_integer_sensor_id_fkey;
ALTER TABLE reading_integer DROP CONSTRAINT IF EXISTS reading_integer_measure_id_fkey;
ALTER TABLE reading_string DROP CONSTRAINT IF EXISTS reading_string_sensor_id_fkey;
ALTER TABLE reading_string DROP CONSTRAINT IF EXISTS reading_string_measure_id_fkey;
ALTER TABLE reading_boolean DROP CONSTRAINT IF EXISTS reading_boolean_sensor_id_fkey;
ALTER TABLE reading_boolean DROP CONSTRAINT IF EXISTS reading_boolean_measure_id_fkey;
