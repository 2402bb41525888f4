// Package testtool is how a test reports that a program it drives (the MQTT
// broker, the SMTP server, PostgreSQL's binaries) is not installed. The
// test is skipped, loudly, for someone running go test on a bare machine;
// with DT_TEST_REQUIRE_TOOLS set, as test.sh sets it once it has installed
// them, it fails instead, so that no run of the suite counts a test it
// skipped for a missing program as passed.
package testtool

import (
	"os"
	"testing"
)

// Missing skips tb, or fails it under DT_TEST_REQUIRE_TOOLS, saying what is
// missing and how to install it.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("DT_TEST_REQUIRE_TOOLS") != "" {
		tb.Fatalf("not installed, and DT_TEST_REQUIRE_TOOLS is set: "+format, args...)
		return
	}
	tb.Skipf("SKIPPED: "+format, args...)
}
