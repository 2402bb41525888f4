-- Site models: the 3D model (glTF) of a location schema's site, versioned,
-- and the placement that maps the schema's locations into it.

CREATE TABLE site_model (
    id           INTEGER PRIMARY KEY,
    schema_id    INTEGER NOT NULL REFERENCES location_schema (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    format       TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    time_created INTEGER NOT NULL,
    UNIQUE (schema_id, version)
);

CREATE TABLE site_placement (
    schema_id    INTEGER PRIMARY KEY REFERENCES location_schema (id) ON DELETE CASCADE,
    placement    TEXT    NOT NULL,
    time_updated INTEGER NOT NULL
);
