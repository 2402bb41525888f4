-- A counter bumped by every change to the alert rules, however made, so
-- that ingest can keep the active rules in memory and reload them only
-- when the counter moved.
CREATE TABLE alert_rule_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO alert_rule_version (id, version) VALUES (1, 0);
CREATE FUNCTION alert_rule_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE alert_rule_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$;
CREATE TRIGGER alert_rule_version_bump AFTER INSERT OR UPDATE OR DELETE ON alert_rule FOR EACH STATEMENT EXECUTE FUNCTION alert_rule_version_bump();
