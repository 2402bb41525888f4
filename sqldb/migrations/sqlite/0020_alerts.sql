-- Alerts: rules over sensors' measures, the channels they notify, one row
-- per (rule, sensor) locked while its alerts are decided (with its replay
-- state), alerts (one per
-- episode, unique by its data time so a replay cannot fire twice), their
-- events (state changes, each with a stable id) and the outbox of
-- notifications with its delivery log.

CREATE TABLE alert_channel (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
    url            TEXT,
    smtp_host      TEXT,
    smtp_port      INTEGER,
    smtp_security  TEXT,
    smtp_user      TEXT,
    mail_from      TEXT,
    recipients     TEXT,
    secret_sealed  BLOB,
    time_created   BIGINT NOT NULL
);

CREATE TABLE alert_rule (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    sensor_id      INTEGER REFERENCES sensor (id) ON DELETE CASCADE,
    type_id        INTEGER REFERENCES sensor_type (id) ON DELETE CASCADE,
    location_id    INTEGER REFERENCES location (id) ON DELETE CASCADE,
    measure_id     INTEGER NOT NULL REFERENCES sensor_measure (id),
    condition      TEXT NOT NULL,
    severity       TEXT NOT NULL,
    enabled        INTEGER NOT NULL,
    silenced_until BIGINT,
    time_created   BIGINT NOT NULL,
    time_updated   BIGINT
);
CREATE INDEX alert_rule_measure_idx ON alert_rule (measure_id);

CREATE TABLE alert_rule_channel (
    rule_id    INTEGER NOT NULL REFERENCES alert_rule (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES alert_channel (id),
    PRIMARY KEY (rule_id, channel_id)
);
CREATE INDEX alert_rule_channel_channel_idx ON alert_rule_channel (channel_id);

-- The replay state of a rule on a sensor after the reading at last_ts,
-- so a batch that follows it is decided without reading the series back.
CREATE TABLE alert_series (
    rule_id    INTEGER NOT NULL REFERENCES alert_rule (id) ON DELETE CASCADE,
    sensor_id  INTEGER NOT NULL REFERENCES sensor (id) ON DELETE CASCADE,
    last_ts    BIGINT,
    pending    INTEGER NOT NULL DEFAULT 0,
    since      BIGINT,
    firing     INTEGER NOT NULL DEFAULT 0,
    prev_ts    BIGINT,
    prev_value REAL,
    PRIMARY KEY (rule_id, sensor_id)
);

CREATE TABLE alert (
    id          INTEGER PRIMARY KEY,
    rule_id     INTEGER NOT NULL REFERENCES alert_rule (id) ON DELETE CASCADE,
    sensor_id   INTEGER NOT NULL REFERENCES sensor (id) ON DELETE CASCADE,
    since       BIGINT NOT NULL,
    fired_at    BIGINT NOT NULL,
    resolved_at BIGINT,
    state       TEXT NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    ack_by      TEXT,
    ack_note    TEXT,
    value       REAL,
    message     TEXT NOT NULL,
    UNIQUE (rule_id, sensor_id, since)
);
CREATE INDEX alert_sensor_idx ON alert (sensor_id, fired_at);
CREATE INDEX alert_state_idx ON alert (state);

CREATE TABLE alert_event (
    id          TEXT PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('fired', 'acknowledged', 'resolved')),
    at          BIGINT NOT NULL,
    data_at     BIGINT NOT NULL,
    by_user     TEXT,
    note        TEXT,
    UNIQUE (alert_id, kind)
);
CREATE INDEX alert_event_at_idx ON alert_event (at);

CREATE TABLE alert_outbox (
    id           INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL REFERENCES alert_event (id) ON DELETE CASCADE,
    channel_id   INTEGER NOT NULL REFERENCES alert_channel (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    due          BIGINT NOT NULL,
    lease_until  BIGINT NOT NULL DEFAULT 0,
    UNIQUE (event_id, channel_id)
);
CREATE INDEX alert_outbox_due_idx ON alert_outbox (due) WHERE status = 'pending';

CREATE TABLE alert_delivery (
    id         INTEGER PRIMARY KEY,
    outbox_id  INTEGER NOT NULL REFERENCES alert_outbox (id) ON DELETE CASCADE,
    attempt    INTEGER NOT NULL,
    at         BIGINT NOT NULL,
    ok         INTEGER NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX alert_delivery_at_idx ON alert_delivery (at);
