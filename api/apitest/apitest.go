// Package apitest serves the real API on a test database, for the tests of
// its clients: the Go client, the command line, the examples and the
// ingesters. Passwords hash at bcrypt's lowest cost, so tests stay fast.
package apitest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api"
	"github.com/dtbase/dtbase/auth"
)

// AddUser stores a user who logs in with password.
func AddUser(tb testing.TB, store dtbase.UserStore, email, password string, role dtbase.Role) {
	tb.Helper()
	hash, err := auth.HashPassword(password, bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	if err := store.CreateUser(context.Background(), &dtbase.User{Email: email, PasswordHash: hash, Role: role}); err != nil {
		tb.Fatal(err)
	}
}

// Config is a server's configuration on store with a fixed token secret,
// the lowest bcrypt cost and no log; tests set the rest.
func Config(store dtbase.Store) api.Config {
	return api.Config{Store: store, Secret: []byte("apitest"), BcryptCost: bcrypt.MinCost, Logger: slog.New(slog.DiscardHandler)}
}

// Serve starts the API of cfg on a loopback port until the test ends and
// returns its URL.
func Serve(tb testing.TB, cfg api.Config) string {
	srv := httptest.NewServer(api.New(cfg))
	tb.Cleanup(srv.Close)
	return srv.URL
}
