-- Alert rules on derived measures. Such a rule keeps the alert_rule row
-- (its measure_id is one of the derived measure's inputs, for the foreign
-- key) with kind 'derived', so the insert hook and the staleness pass leave
-- it alone; the scheduled pass evaluates it instead. The hook records, per
-- rule and sensor, the span of input readings written since the pass last
-- looked (alert_derived_span); the pass computes the derived series over
-- it under the series lock and clears it.
CREATE TABLE alert_rule_derived (
    rule_id INTEGER PRIMARY KEY REFERENCES alert_rule (id) ON DELETE CASCADE,
    name    TEXT NOT NULL
);

CREATE TABLE alert_rule_input (
    rule_id    INTEGER NOT NULL REFERENCES alert_rule (id) ON DELETE CASCADE,
    measure_id INTEGER NOT NULL REFERENCES sensor_measure (id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, measure_id)
);
CREATE INDEX alert_rule_input_measure_idx ON alert_rule_input (measure_id);

CREATE TABLE alert_derived_span (
    rule_id   INTEGER NOT NULL REFERENCES alert_rule (id) ON DELETE CASCADE,
    sensor_id INTEGER NOT NULL REFERENCES sensor (id) ON DELETE CASCADE,
    lo        BIGINT NOT NULL,
    hi        BIGINT NOT NULL,
    PRIMARY KEY (rule_id, sensor_id)
);
