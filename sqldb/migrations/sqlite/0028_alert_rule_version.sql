-- A counter bumped by every change to the alert rules, however made, so
-- that ingest can keep the active rules in memory and reload them only
-- when the counter moved.
CREATE TABLE alert_rule_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO alert_rule_version (id, version) VALUES (1, 0);
CREATE TRIGGER alert_rule_version_ins AFTER INSERT ON alert_rule BEGIN UPDATE alert_rule_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER alert_rule_version_upd AFTER UPDATE ON alert_rule BEGIN UPDATE alert_rule_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER alert_rule_version_del AFTER DELETE ON alert_rule BEGIN UPDATE alert_rule_version SET version = version + 1 WHERE id = 1; END;
