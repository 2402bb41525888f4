-- Readings store sensor and measure ids as 4-byte integers: 8 bytes less
-- per row and per key entry (about 16 of 130 bytes a reading), with the
-- columns still aligned (int4, int4, int8, value). Ids come from the
-- sensor and sensor_measure identities, far below 2^31. The tables are
-- rewritten: on a large database this migration takes a while.
ALTER TABLE reading_float ALTER COLUMN sensor_id TYPE integer, ALTER COLUMN measure_id TYPE integer;
ALTER TABLE reading_integer ALTER COLUMN sensor_id TYPE integer, ALTER COLUMN measure_id TYPE integer;
ALTER TABLE reading_string ALTER COLUMN sensor_id TYPE integer, ALTER COLUMN measure_id TYPE integer;
ALTER TABLE reading_boolean ALTER COLUMN sensor_id TYPE integer, ALTER COLUMN measure_id TYPE integer;
