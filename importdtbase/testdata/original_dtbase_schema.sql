-- The schema of the ORIGINAL DTBase backend (Python, SQLAlchemy, commit
-- 298e0146) as Base.metadata.create_all produces it on PostgreSQL, written
-- out from its SQLAlchemy models. The import test creates it in a scratch
-- database to stand for an existing deployment. Constraint names are
-- PostgreSQL's defaults, as SQLAlchemy leaves them unnamed.

CREATE TYPE value_datatype AS ENUM ('string', 'float', 'integer', 'boolean');
CREATE TYPE http_method AS ENUM ('GET', 'POST', 'PUT', 'DELETE');

CREATE TABLE "User" (
    id SERIAL NOT NULL,
    email VARCHAR NOT NULL,
    password BYTEA NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (email)
);

CREATE TABLE location_identifier (
    id SERIAL NOT NULL,
    name VARCHAR(100) NOT NULL,
    units VARCHAR(100),
    datatype value_datatype NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (name, units)
);

CREATE TABLE location_schema (
    id SERIAL NOT NULL,
    name VARCHAR(100) NOT NULL,
    description TEXT,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (name)
);

CREATE TABLE location_schema_identifier_relation (
    id SERIAL NOT NULL,
    schema_id INTEGER NOT NULL,
    identifier_id INTEGER NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (schema_id, identifier_id),
    FOREIGN KEY(schema_id) REFERENCES location_schema (id) ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY(identifier_id) REFERENCES location_identifier (id)
);

CREATE TABLE location (
    id SERIAL NOT NULL,
    schema_id INTEGER NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (id),
    FOREIGN KEY(schema_id) REFERENCES location_schema (id)
);

CREATE TABLE location_string_value (
    id SERIAL NOT NULL,
    value TEXT NOT NULL,
    identifier_id INTEGER NOT NULL,
    location_id INTEGER NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (identifier_id, location_id),
    FOREIGN KEY(identifier_id) REFERENCES location_identifier (id),
    FOREIGN KEY(location_id) REFERENCES location (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE location_integer_value (
    id SERIAL NOT NULL,
    value INTEGER NOT NULL,
    identifier_id INTEGER NOT NULL,
    location_id INTEGER NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (identifier_id, location_id),
    FOREIGN KEY(identifier_id) REFERENCES location_identifier (id),
    FOREIGN KEY(location_id) REFERENCES location (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE location_float_value (
    id SERIAL NOT NULL,
    value FLOAT NOT NULL,
    identifier_id INTEGER NOT NULL,
    location_id INTEGER NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (identifier_id, location_id),
    FOREIGN KEY(identifier_id) REFERENCES location_identifier (id),
    FOREIGN KEY(location_id) REFERENCES location (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE location_boolean_value (
    id SERIAL NOT NULL,
    value BOOLEAN NOT NULL,
    identifier_id INTEGER NOT NULL,
    location_id INTEGER NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (identifier_id, location_id),
    FOREIGN KEY(identifier_id) REFERENCES location_identifier (id),
    FOREIGN KEY(location_id) REFERENCES location (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE sensor_type (
    id SERIAL NOT NULL,
    name VARCHAR(100) NOT NULL,
    description TEXT,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (name)
);

CREATE TABLE sensor_measure (
    id SERIAL NOT NULL,
    name VARCHAR(100) NOT NULL,
    units VARCHAR(100),
    datatype value_datatype NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (name, units)
);

CREATE TABLE sensor_type_measure_relation (
    id SERIAL NOT NULL,
    type_id INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (type_id, measure_id),
    FOREIGN KEY(type_id) REFERENCES sensor_type (id) ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY(measure_id) REFERENCES sensor_measure (id)
);

CREATE TABLE sensor (
    id SERIAL NOT NULL,
    type_id INTEGER NOT NULL,
    unique_identifier VARCHAR(100) NOT NULL,
    name VARCHAR(100),
    notes TEXT,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (unique_identifier),
    FOREIGN KEY(type_id) REFERENCES sensor_type (id)
);

CREATE TABLE sensor_string_reading (
    id SERIAL NOT NULL,
    value TEXT NOT NULL,
    measure_id INTEGER NOT NULL,
    sensor_id INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (measure_id, sensor_id, timestamp),
    FOREIGN KEY(measure_id) REFERENCES sensor_measure (id),
    FOREIGN KEY(sensor_id) REFERENCES sensor (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE sensor_integer_reading (
    id SERIAL NOT NULL,
    value INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    sensor_id INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (measure_id, sensor_id, timestamp),
    FOREIGN KEY(measure_id) REFERENCES sensor_measure (id),
    FOREIGN KEY(sensor_id) REFERENCES sensor (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE sensor_float_reading (
    id SERIAL NOT NULL,
    value FLOAT NOT NULL,
    measure_id INTEGER NOT NULL,
    sensor_id INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (measure_id, sensor_id, timestamp),
    FOREIGN KEY(measure_id) REFERENCES sensor_measure (id),
    FOREIGN KEY(sensor_id) REFERENCES sensor (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE sensor_boolean_reading (
    id SERIAL NOT NULL,
    value BOOLEAN NOT NULL,
    measure_id INTEGER NOT NULL,
    sensor_id INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (measure_id, sensor_id, timestamp),
    FOREIGN KEY(measure_id) REFERENCES sensor_measure (id),
    FOREIGN KEY(sensor_id) REFERENCES sensor (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE sensor_location (
    id SERIAL NOT NULL,
    sensor_id INTEGER NOT NULL,
    location_id INTEGER NOT NULL,
    installation_datetime TIMESTAMP WITH TIME ZONE NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (sensor_id, installation_datetime),
    FOREIGN KEY(sensor_id) REFERENCES sensor (id) ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY(location_id) REFERENCES location (id)
);

CREATE TABLE model (
    id SERIAL NOT NULL,
    name VARCHAR(100) NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (name)
);

CREATE TABLE model_scenario (
    id SERIAL NOT NULL,
    model_id INTEGER NOT NULL,
    description TEXT,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (model_id, description),
    FOREIGN KEY(model_id) REFERENCES model (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE model_measure (
    id SERIAL NOT NULL,
    name VARCHAR(100),
    units VARCHAR(100) NOT NULL,
    datatype value_datatype NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (name, units)
);

CREATE TABLE model_run (
    id SERIAL NOT NULL,
    model_id INTEGER NOT NULL,
    scenario_id INTEGER,
    sensor_id INTEGER,
    sensor_measure_id INTEGER,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (model_id, scenario_id, time_created),
    FOREIGN KEY(model_id) REFERENCES model (id),
    FOREIGN KEY(scenario_id) REFERENCES model_scenario (id),
    FOREIGN KEY(sensor_id) REFERENCES sensor (id),
    FOREIGN KEY(sensor_measure_id) REFERENCES sensor_measure (id)
);

CREATE TABLE model_product (
    id SERIAL NOT NULL,
    run_id INTEGER NOT NULL,
    measure_id INTEGER NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (run_id, measure_id),
    FOREIGN KEY(run_id) REFERENCES model_run (id) ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY(measure_id) REFERENCES model_measure (id)
);

CREATE TABLE model_string_value (
    id SERIAL NOT NULL,
    product_id INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    value VARCHAR NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (product_id, timestamp),
    FOREIGN KEY(product_id) REFERENCES model_product (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE model_integer_value (
    id SERIAL NOT NULL,
    product_id INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    value INTEGER NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (product_id, timestamp),
    FOREIGN KEY(product_id) REFERENCES model_product (id) ON DELETE CASCADE ON UPDATE CASCADE
);

-- No ON DELETE CASCADE here, unlike its siblings (the original's B19).
CREATE TABLE model_float_value (
    id SERIAL NOT NULL,
    product_id INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    value FLOAT NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (product_id, timestamp),
    FOREIGN KEY(product_id) REFERENCES model_product (id)
);

-- Sic: the original names this table without the underscore.
CREATE TABLE model_booleanvalue (
    id SERIAL NOT NULL,
    product_id INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    value BOOLEAN NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (product_id, timestamp),
    FOREIGN KEY(product_id) REFERENCES model_product (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE service (
    id SERIAL NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    http_method http_method NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (name)
);

CREATE TABLE service_parameter_set (
    id SERIAL NOT NULL,
    name TEXT NOT NULL,
    service_id INTEGER NOT NULL,
    parameters JSON NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    UNIQUE (service_id, name),
    FOREIGN KEY(service_id) REFERENCES service (id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE service_run_log (
    id SERIAL NOT NULL,
    service_id INTEGER NOT NULL,
    parameters JSON NOT NULL,
    parameter_set_id INTEGER,
    response_status_code INTEGER NOT NULL,
    response_json JSON,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    time_created TIMESTAMP WITH TIME ZONE DEFAULT now(),
    time_updated TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id),
    FOREIGN KEY(service_id) REFERENCES service (id) ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY(parameter_set_id) REFERENCES service_parameter_set (id) ON DELETE CASCADE ON UPDATE CASCADE
);
