package app

import (
	"strings"
	"testing"

	"github.com/dtbase/dtbase"
)

// TestUserCreateEmailLimit: the command line answers an over-long email as
// the API does, with the domain's limit, on either database.
func TestUserCreateEmailLimit(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), nil)
	long := strings.Repeat("a", dtbase.MaxEmailLen) + "@b.c"
	code, out := run(t, env, "", "user", "create", long, "--password", "a long enough passphrase 42")
	if want := "email is too long: at most 254 characters"; code != 1 || !strings.Contains(out, want) {
		t.Fatalf("exit %d, output:\n%.300s\nwant exit 1 and %q", code, out, want)
	}
	atLimit := strings.Repeat("a", dtbase.MaxEmailLen-4) + "@b.c"
	if code, out := run(t, env, "", "user", "create", atLimit, "--password", "a long enough passphrase 42"); code != 0 {
		t.Fatalf("email at the limit: exit %d:\n%.300s", code, out)
	}
}
