package testtool

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a test was ended.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestMissing(t *testing.T) {
	for _, c := range []struct {
		require         string
		wantFatal, want bool
	}{
		{"", false, true},
		{"1", true, false},
	} {
		t.Setenv("DT_TEST_REQUIRE_TOOLS", c.require)
		r := &recorder{}
		Missing(r, "mosquitto (apt-get install -y %s)", "mosquitto")
		if (r.fatal != "") != c.wantFatal || (r.skip != "") != c.want || !strings.Contains(r.fatal+r.skip, "apt-get install -y mosquitto") {
			t.Errorf("DT_TEST_REQUIRE_TOOLS=%q: fatal %q, skip %q", c.require, r.fatal, r.skip)
		}
	}
}
