package sqldb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dtbase/dtbase"
)

// PutSiteModel stores a new version of a schema's site model and drops the
// older one in the same transaction.
func (db *DB) PutSiteModel(ctx context.Context, m *dtbase.SiteModel) error {
	format, err := dtbase.ValidateSiteModel(m.Data, 0)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(m.Data)
	now := db.Now()
	return db.withTx(ctx, func(tx *sql.Tx) error {
		s, err := db.siteSchema(ctx, tx, m.Schema, true)
		if err != nil {
			return err
		}
		var prev int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM site_model WHERE schema_id = $1`, s.ID).Scan(&prev); err != nil {
			return fmt.Errorf("find site model version: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO site_model (schema_id, version, format, sha256, size, data, time_created)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.ID, prev+1, format, hex.EncodeToString(sum[:]), len(m.Data), m.Data, micros(now))
		if err != nil {
			return fmt.Errorf("insert site model: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM site_model WHERE schema_id = $1 AND version < $2`, s.ID, prev+1); err != nil {
			return fmt.Errorf("drop old site model: %w", err)
		}
		m.Version, m.Format, m.Size, m.SHA256, m.Created = prev+1, format, int64(len(m.Data)), hex.EncodeToString(sum[:]), now
		return nil
	})
}

// siteSchema finds a schema by name; ENOTFOUND when it does not exist.
func (db *DB) siteSchema(ctx context.Context, tx *sql.Tx, name string, lock bool) (*dtbase.LocationSchema, error) {
	return db.findSchema(ctx, tx, name, lock, dtbase.Errorf(dtbase.ENOTFOUND, "Location schema '%s' not found.", name))
}

// FindSiteModel returns the newest model of a schema.
func (db *DB) FindSiteModel(ctx context.Context, schema string, withData bool) (*dtbase.SiteModel, error) {
	m := &dtbase.SiteModel{Schema: schema}
	data := "NULL"
	if withData {
		data = "m.data"
	}
	var created int64
	var blob []byte
	err := db.read.QueryRowContext(ctx, `SELECT m.version, m.format, m.sha256, m.size, m.time_created, `+data+`
		FROM site_model m JOIN location_schema s ON s.id = m.schema_id
		WHERE s.name = $1 ORDER BY m.version DESC LIMIT 1`, schema).Scan(&m.Version, &m.Format, &m.SHA256, &m.Size, &created, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dtbase.Errorf(dtbase.ENOTFOUND, "Location schema '%s' has no site model.", schema)
	}
	if err != nil {
		return nil, fmt.Errorf("find site model of %s: %w", schema, err)
	}
	m.Data, m.Created = blob, fromMicros(created)
	return m, nil
}

// DeleteSiteModel removes every version of a schema's model.
func (db *DB) DeleteSiteModel(ctx context.Context, schema string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		s, err := db.siteSchema(ctx, tx, schema, true)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM site_model WHERE schema_id = $1`, s.ID)
		if err != nil {
			return fmt.Errorf("delete site model: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return dtbase.Errorf(dtbase.ENOTFOUND, "Location schema '%s' has no site model.", schema)
		}
		return nil
	})
}

// FindSitePlacement returns the stored placement or the guessed default.
func (db *DB) FindSitePlacement(ctx context.Context, schema string) (*dtbase.SitePlacement, error) {
	var p dtbase.SitePlacement
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		s, err := db.siteSchema(ctx, tx, schema, false)
		if err != nil {
			return err
		}
		var raw string
		err = tx.QueryRowContext(ctx, `SELECT placement FROM site_placement WHERE schema_id = $1`, s.ID).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			p = dtbase.DefaultSitePlacement(s)
			return nil
		}
		if err != nil {
			return fmt.Errorf("find site placement of %s: %w", schema, err)
		}
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return fmt.Errorf("decode site placement of %s: %w", schema, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// SetSitePlacement stores a schema's placement.
func (db *DB) SetSitePlacement(ctx context.Context, schema string, p dtbase.SitePlacement) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		s, err := db.siteSchema(ctx, tx, schema, true)
		if err != nil {
			return err
		}
		if err := p.Validate(s); err != nil {
			return err
		}
		raw, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode site placement: %w", err)
		}
		now := micros(db.Now())
		_, err = tx.ExecContext(ctx, `INSERT INTO site_placement (schema_id, placement, time_updated) VALUES ($1, $2, $3)
			ON CONFLICT (schema_id) DO UPDATE SET placement = excluded.placement, time_updated = excluded.time_updated`, s.ID, string(raw), now)
		if err != nil {
			return fmt.Errorf("store site placement: %w", err)
		}
		return nil
	})
}
