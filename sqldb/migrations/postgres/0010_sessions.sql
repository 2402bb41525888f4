-- Revocable sessions and login throttling shared by every replica.
--
-- A user's session_version is written into each token and web session; any
-- change of password or role, and "sign out everywhere", bumps it, so every
-- earlier token fails its next check. auth_session holds one row per login
-- (a browser, or an API token family) so that one session can be ended and a
-- reused refresh token can end its family.

ALTER TABLE app_user ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE auth_session (
    id           TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    refresh_id   TEXT,
    time_created BIGINT NOT NULL,
    expires      BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX auth_session_user_idx ON auth_session (user_id);
CREATE INDEX auth_session_expires_idx ON auth_session (expires);

-- Failed logins per key (a hash of the account and client address, or of the
-- address alone); consecutive failures grow the delay before the next try.
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL
);
CREATE INDEX login_throttle_last_failure_idx ON login_throttle (last_failure);
