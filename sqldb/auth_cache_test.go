package sqldb_test

import (
	"context"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestAuthCacheRevocation: two replicas on one database. A revocation made
// through a replica ends the session or key on that replica at once, and
// on the other within sqldb.AuthCacheTTL; a refresh's uncached lookup sees
// it at once everywhere.
func TestAuthCacheRevocation(t *testing.T) {
	ctx := context.Background()
	dsn := sqldbtest.DSN(t)
	a, b := sqldbtest.OpenDSN(t, dsn), sqldbtest.OpenDSN(t, dsn)
	u := &dtbase.User{Email: "c@example.com", PasswordHash: []byte("h"), Role: dtbase.RoleEditor}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, id := range []string{"s1", "s2"} {
		if err := a.CreateSession(ctx, &dtbase.Session{ID: id, UserID: u.ID, RefreshID: "r", Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	secret, hash := auth.NewAPIKeySecret()
	if err := a.CreateAPIKey(ctx, &dtbase.APIKey{Name: "k", Role: dtbase.RoleEditor, Prefix: secret[:10], CreatedBy: "t"}, hash); err != nil {
		t.Fatal(err)
	}
	// Both replicas have looked everything up (and may answer from memory).
	for _, db := range []*sqldb.DB{a, b} {
		for _, id := range []string{"s1", "s2"} {
			if _, _, err := db.FindSession(ctx, id, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.FindAPIKeyByHash(ctx, hash); err != nil {
			t.Fatal(err)
		}
	}

	ended := func(db *sqldb.DB, id string) bool {
		_, _, err := db.FindSession(ctx, id, now)
		if err != nil && dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
			t.Fatal(err)
		}
		return err != nil
	}
	if err := a.RevokeSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeAPIKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if !ended(a, "s1") {
		t.Error("revoked session still found on the replica that revoked it")
	}
	if _, err := a.FindAPIKeyByHash(ctx, hash); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("revoked key on the replica that revoked it: %v", err)
	}
	if _, _, err := b.FindSessionUncached(ctx, "s1", now); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("uncached lookup of a session revoked elsewhere: %v", err)
	}
	if ended(b, "s2") {
		t.Error("a session nobody revoked has ended")
	}
	time.Sleep(sqldb.AuthCacheTTL)
	if !ended(b, "s1") {
		t.Errorf("session revoked elsewhere still found after %v", sqldb.AuthCacheTTL)
	}
	if _, err := b.FindAPIKeyByHash(ctx, hash); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Errorf("key revoked elsewhere after %v: %v", sqldb.AuthCacheTTL, err)
	}
}
