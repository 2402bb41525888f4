package app

import (
	"os"
	"path/filepath"
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

// TestImportReadingsNameLimit: a CSV row naming a sensor over the name
// limit is refused with the domain's message and its line.
func TestImportReadingsNameLimit(t *testing.T) {
	dir := t.TempDir()
	env := testEnvFor(t, dir, nil)
	path := filepath.Join(dir, "long.csv")
	csv := "unique_identifier,measure_name,timestamp,value\n" + strings.Repeat("s", 3<<10) + ",temperature,2024-01-01T00:00:00Z,1\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := run(t, env, "", "import", "readings", path)
	if want := "line 2: unique_identifier is too long: at most 100 characters, got 3072."; code != 1 || !strings.Contains(out, want) {
		t.Fatalf("exit %d, output:\n%.400s\nwant exit 1 and %q", code, out, want)
	}
}
