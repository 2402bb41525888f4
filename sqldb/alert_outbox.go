package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dtbase/dtbase"
)

// alertLockID is the PostgreSQL advisory lock held by the replica that
// evaluates scheduled rules and drains the outbox.
const alertLockID = 7_362_200_020

// AlertLock returns the lock that elects the alerting replica.
func (db *DB) AlertLock() dtbase.SchedulerLock {
	if db.Dialect != Postgres {
		return alwaysHeld{}
	}
	return &pgSchedulerLock{db: db, id: alertLockID}
}

// ClaimNotifications leases due notifications; see dtbase.AlertStore. Each
// is claimed by a conditional update on its lease, so of two replicas that
// both believe they lead only one gets it.
func (db *DB) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]dtbase.Notification, error) {
	ids, err := queryAll(ctx, db.read, "claim notifications", scanColumn[int64],
		`SELECT id FROM alert_outbox WHERE status = 'pending' AND due <= $1 AND lease_until <= $1 ORDER BY due, id LIMIT $2`, micros(now), limit)
	if err != nil {
		return nil, err
	}
	var out []dtbase.Notification
	for _, id := range ids {
		err := db.withTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE alert_outbox SET lease_until = $1, attempts = attempts + 1 WHERE id = $2 AND status = 'pending' AND lease_until <= $3`,
				micros(now.Add(lease)), id, micros(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // claimed elsewhere
			}
			var n dtbase.Notification
			var eventID string
			var channelID int64
			if err := tx.QueryRowContext(ctx, `SELECT event_id, channel_id, attempts FROM alert_outbox WHERE id = $1`, id).Scan(&eventID, &channelID, &n.Attempts); err != nil {
				return err
			}
			n.OutboxID = id
			if n.Event, err = scanEvent(tx.QueryRowContext(ctx, eventSelect+` WHERE e.id = $1`, eventID)); err != nil {
				return err
			}
			if n.Channel, err = scanChannel(tx.QueryRowContext(ctx, channelSelect+` WHERE c.id = $1`, channelID)); err != nil {
				return err
			}
			out = append(out, n)
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("claim notifications: %w", err)
		}
	}
	return out, nil
}

// FinishNotification records an attempt; see dtbase.AlertStore.
func (db *DB) FinishNotification(ctx context.Context, n dtbase.Notification, ok bool, detail string, retryAt *time.Time) error {
	now := db.Now()
	return db.withTx(ctx, func(tx *sql.Tx) error {
		status, due := "sent", micros(now)
		switch {
		case ok:
		case retryAt != nil:
			status, due = "pending", micros(*retryAt)
		default:
			status = "failed"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert_outbox SET status = $1, due = $2, lease_until = 0 WHERE id = $3`, status, due, n.OutboxID); err != nil {
			return fmt.Errorf("finish notification: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_delivery (outbox_id, attempt, at, ok, detail) VALUES ($1, $2, $3, $4, $5)`,
			n.OutboxID, n.Attempts, micros(now), ok, detail); err != nil {
			return fmt.Errorf("finish notification: %w", err)
		}
		return nil
	})
}

// ListDeliveries returns the newest delivery attempts.
func (db *DB) ListDeliveries(ctx context.Context, limit int) ([]dtbase.Delivery, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	return queryAll(ctx, db.read, "list deliveries", func(rows *sql.Rows, d *dtbase.Delivery) error {
		var at int64
		err := rows.Scan(&d.OutboxID, &d.EventID, &d.Channel, &d.Attempt, &at, &d.OK, &d.Detail)
		d.At = fromMicros(at)
		return err
	}, `SELECT d.outbox_id, o.event_id, c.name, d.attempt, d.at, d.ok, d.detail
		FROM alert_delivery d JOIN alert_outbox o ON o.id = d.outbox_id JOIN alert_channel c ON c.id = o.channel_id ORDER BY d.at DESC, d.id DESC LIMIT $1`, limit)
}
