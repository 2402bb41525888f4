package sqldb_test

import (
	"context"
	"testing"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

func TestSessions(t *testing.T) {
	db := sqldbtest.Open(t)
	ctx := context.Background()
	u := &dtbase.User{Email: "s@example.com", PasswordHash: []byte("h"), Role: dtbase.RoleEditor}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	s := &dtbase.Session{ID: "sid-1", UserID: u.ID, RefreshID: "r1", Expires: now.Add(time.Hour)}
	if err := db.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, gu, err := db.FindSession(ctx, "sid-1", now)
	if err != nil || got.RefreshID != "r1" || gu.Email != u.Email || gu.SessionVersion != 0 {
		t.Fatalf("find: %+v %+v %v", got, gu, err)
	}
	if _, _, err := db.FindSession(ctx, "sid-1", now.Add(2*time.Hour)); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("expired session: %v", err)
	}
	if err := db.RotateSession(ctx, "sid-1", "r1", "r2", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// The spent id again: the family ends.
	if err := db.RotateSession(ctx, "sid-1", "r1", "r3", now.Add(2*time.Hour)); dtbase.ErrorCode(err) != dtbase.ECONFLICT {
		t.Fatalf("reuse: %v, want conflict", err)
	}
	if _, _, err := db.FindSession(ctx, "sid-1", now); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("after reuse: %v", err)
	}
	if err := db.RotateSession(ctx, "sid-1", "r2", "r4", now.Add(2*time.Hour)); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("rotating an ended session: %v", err)
	}

	// Password and role changes, and ending all sessions, move the version.
	for i, change := range []func() error{
		func() error { return db.SetPassword(ctx, u.Email, []byte("h2")) },
		func() error { return db.SetRole(ctx, u.Email, dtbase.RoleViewer) },
		func() error { return db.EndUserSessions(ctx, u.ID) },
	} {
		if err := change(); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.FindUserByEmail(ctx, u.Email); got.SessionVersion != int64(i+1) {
			t.Fatalf("change %d: version %d", i, got.SessionVersion)
		}
	}
	if err := db.EndUserSessions(ctx, 999999); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("unknown user: %v", err)
	}
	// Deleting the user deletes its sessions.
	if err := db.CreateSession(ctx, &dtbase.Session{ID: "sid-2", UserID: u.ID, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, u.Email); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.FindSession(ctx, "sid-2", now); dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		t.Fatalf("session of a deleted user: %v", err)
	}
}

func TestLoginThrottleStore(t *testing.T) {
	db := sqldbtest.Open(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	// Concurrent failures are all counted.
	for _, err := range concurrently(8, func(int) error {
		return db.RecordLoginFailure(ctx, []string{"a", "b"}, t0, t0.Add(-time.Hour))
	}) {
		if err != nil {
			t.Error(err)
		}
	}
	got, err := db.LoginFailures(ctx, []string{"a", "b", "c"})
	if err != nil || got["a"].Count != 8 || got["b"].Count != 8 || !got["a"].Last.Equal(t0) || len(got) != 2 {
		t.Fatalf("failures %+v %v", got, err)
	}
	// A failure after the reset point starts over.
	t1 := t0.Add(2 * time.Hour)
	if err := db.RecordLoginFailure(ctx, []string{"a"}, t1, t1.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.LoginFailures(ctx, []string{"a"}); got["a"].Count != 1 {
		t.Fatalf("after reset: %+v", got)
	}
	if err := db.ClearLoginFailures(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteLoginFailures(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.LoginFailures(ctx, []string{"a", "b"}); len(got) != 0 {
		t.Fatalf("after clear and delete: %+v", got)
	}
}
