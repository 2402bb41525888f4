-- Sample rows in the ORIGINAL DTBase schema (original_dtbase_schema.sql),
-- covering every table, for the import test. Ids are explicit, with gaps,
-- so the test can check that they are kept. It includes what the original
-- lets happen: a duplicated null-units sensor measure (B5) and location
-- identifier, timestamps in other offsets, a float model value that is a
-- whole number, a run log entry with a JSON null.

-- Password "correct horse", hashed as the original does (bcrypt, $2b$, cost 12).
INSERT INTO "User" (id, email, password, time_created) VALUES
    (1, 'default_user@localhost', convert_to('$2b$12$JUnvEsC6K95488Iusd8Ck..E8qnqHiH1B7NtEVWIjf8o9jPayUidu', 'UTF8'), '2024-01-01 00:00:00+00'),
    (3, 'alice@example.com', convert_to('$2b$12$JUnvEsC6K95488Iusd8Ck..E8qnqHiH1B7NtEVWIjf8o9jPayUidu', 'UTF8'), NULL);

INSERT INTO location_identifier (id, name, units, datatype) VALUES
    (1, 'x', 'm', 'float'),
    (2, 'y', 'm', 'float'),
    (3, 'site', NULL, 'string'),
    (4, 'floor', NULL, 'integer'),
    (5, 'indoor', NULL, 'boolean'),
    (6, 'site', NULL, 'string'); -- a duplicate the original's UNIQUE (name, units) lets through

INSERT INTO location_schema (id, name, description) VALUES
    (1, 'xy', 'planar coordinates'),
    (2, 'building', NULL),
    (5, 'sites', 'just a site');

INSERT INTO location_schema_identifier_relation (schema_id, identifier_id) VALUES
    (1, 1), (1, 2),
    (2, 4), (2, 5), (2, 6),
    (5, 3);

INSERT INTO location (id, schema_id) VALUES (1, 1), (2, 1), (4, 2), (7, 5);

INSERT INTO location_float_value (value, identifier_id, location_id) VALUES
    (1.5, 1, 1), (2.0, 2, 1),
    (3.0, 1, 2), (-1.25, 2, 2);
INSERT INTO location_string_value (value, identifier_id, location_id) VALUES
    ('farm', 6, 4),
    ('lab', 3, 7);
INSERT INTO location_integer_value (value, identifier_id, location_id) VALUES (2, 4, 4);
INSERT INTO location_boolean_value (value, identifier_id, location_id) VALUES (true, 5, 4);

INSERT INTO sensor_type (id, name, description) VALUES
    (1, 'weather', 'a weather station'),
    (2, 'status', NULL);

INSERT INTO sensor_measure (id, name, units, datatype) VALUES
    (1, 'temperature', 'degC', 'float'),
    (2, 'humidity', NULL, 'float'),
    (3, 'humidity', NULL, 'float'), -- B5: the same null-units measure twice
    (4, 'count', NULL, 'integer'),
    (5, 'state', 'on/off', 'boolean'),
    (6, 'label', NULL, 'string');

INSERT INTO sensor_type_measure_relation (type_id, measure_id) VALUES
    (1, 1), (1, 2),
    (2, 3), (2, 4), (2, 5), (2, 6);

INSERT INTO sensor (id, type_id, unique_identifier, name, notes) VALUES
    (1, 1, 'ws-1', 'Weather station', 'on the roof'),
    (5, 2, 'st-1', NULL, NULL);

INSERT INTO sensor_location (sensor_id, location_id, installation_datetime) VALUES
    (1, 1, '2024-01-01 00:00:00+00'),
    (1, 2, '2024-02-01 00:00:00+00');

INSERT INTO sensor_float_reading (value, measure_id, sensor_id, timestamp) VALUES
    (20.5, 1, 1, '2024-03-01 12:00:00.123456+00'),
    (21.0, 1, 1, '2024-03-01 13:30:00+01'),          -- 12:30 UTC
    (19.25, 1, 1, '2024-03-01 13:00:00+00'),
    (61.0, 2, 1, '2024-03-01 12:00:00+00'),
    (62.5, 2, 1, '2024-03-01 13:00:00+00'),
    (55.0, 3, 5, '2024-03-01 12:00:00+00'),          -- of the duplicated measure
    ('NaN', 1, 1, '2024-03-01 14:00:00+00');        -- the original stores NaN; we cannot
-- A longer series, so the import writes several batches.
INSERT INTO sensor_float_reading (value, measure_id, sensor_id, timestamp)
    SELECT g * 0.5, 1, 1, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 2500) g;
INSERT INTO sensor_integer_reading (value, measure_id, sensor_id, timestamp) VALUES
    (7, 4, 5, '2024-03-01 12:00:00+00'),
    (-8, 4, 5, '2024-03-01 12:01:00+00');
INSERT INTO sensor_boolean_reading (value, measure_id, sensor_id, timestamp) VALUES
    (true, 5, 5, '2024-03-01 12:00:00+00'),
    (false, 5, 5, '2024-03-01 12:01:00+00');
INSERT INTO sensor_string_reading (value, measure_id, sensor_id, timestamp) VALUES
    ('ok', 6, 5, '2024-03-01 12:00:00+00');

INSERT INTO model (id, name) VALUES (1, 'arima'), (2, 'other model');

INSERT INTO model_scenario (id, model_id, description) VALUES
    (1, 1, 'baseline'),
    (2, 2, 'what if');

INSERT INTO model_measure (id, name, units, datatype) VALUES
    (1, 'mean temperature', 'degC', 'float'),
    (2, 'upper', 'degC', 'float'),
    (3, 'count', '', 'integer'),
    (4, 'flag', '', 'boolean'),
    (5, 'note', '', 'string');

INSERT INTO model_run (id, model_id, scenario_id, sensor_id, sensor_measure_id, time_created) VALUES
    (1, 1, 1, 1, 1, '2024-03-02 00:00:00+00'),
    (4, 1, 1, NULL, NULL, '2024-03-03 00:00:00.5+00'),
    (6, 2, 2, NULL, NULL, '2024-03-04 00:00:00+00');

INSERT INTO model_product (id, run_id, measure_id) VALUES
    (1, 1, 1), (2, 1, 2),
    (3, 4, 3), (4, 4, 4), (5, 4, 5),
    (8, 6, 1);

INSERT INTO model_float_value (product_id, timestamp, value) VALUES
    (1, '2024-03-02 01:00:00+00', 20.0),
    (1, '2024-03-02 02:00:00+00', 21.5),
    (2, '2024-03-02 01:00:00+00', 22.0),
    (8, '2024-03-04 01:00:00+00', 1e-7);
INSERT INTO model_integer_value (product_id, timestamp, value) VALUES (3, '2024-03-03 01:00:00+00', 5);
INSERT INTO model_booleanvalue (product_id, timestamp, value) VALUES (4, '2024-03-03 01:00:00+00', true);
INSERT INTO model_string_value (product_id, timestamp, value) VALUES (5, '2024-03-03 01:00:00+00', 'hello');

INSERT INTO service (id, name, url, http_method) VALUES
    (1, 'weather-ingress', 'http://example.invalid/weather', 'POST'),
    (2, 'arima', 'http://example.invalid/arima', 'GET');

INSERT INTO service_parameter_set (id, name, service_id, parameters) VALUES
    (1, 'london', 1, '{"lat": 51.5, "lon": -0.12}');

INSERT INTO service_run_log (id, service_id, parameters, parameter_set_id, response_status_code, response_json, timestamp) VALUES
    (1, 1, '{"lat": 51.5, "lon": -0.12}', 1, 200, '{"ok": true}', '2024-03-05 10:00:00+00'),
    (2, 2, 'null', NULL, 500, NULL, '2024-03-05 11:00:00+00');
