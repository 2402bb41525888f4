package app

import (
	"strings"
	"testing"
)

func TestDemoCommand(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), nil)
	for _, s := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"demo", "--help"}, 0, "Load the CROP farm demo"},
		{[]string{"demo", "extra"}, 2, "unexpected argument"},
		{[]string{"demo"}, 0, "32 sensors, 24231 readings"},
		{[]string{"demo"}, 0, "already has sensors; demo not loaded"},
	} {
		t.Run(strings.Join(s.args, " "), func(t *testing.T) {
			code, out := run(t, env, "", s.args...)
			if code != s.code || !strings.Contains(out, s.out) {
				t.Errorf("exit %d, output %q; want %d and %q", code, out, s.code, s.out)
			}
		})
	}
}

// TestServeDemo checks that serve --demo populates an empty database and
// that a restart with --demo leaves it as it is.
func TestServeDemo(t *testing.T) {
	env := testEnvFor(t, t.TempDir(), map[string]string{"DT_DEFAULT_USER_PASS": "pw"})
	for i, want := range []string{"loaded the CROP farm demo", "demo data not loaded"} {
		inst := start(t, env, "--demo")
		status, pair := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "pw"})
		if status != 200 {
			t.Fatalf("login: %d", status)
		}
		token, _ := pair["access_token"].(string)
		if status, body := postJSON(t, inst.url+"/sensor/get-sensor", token, map[string]string{"unique_identifier": "c4:93:00:10:12:95"}); status != 200 || body["name"] != "Farm_T/RH_16B4" {
			t.Errorf("start %d: get-sensor %d %v", i, status, body)
		}
		if code := inst.stop(); code != 0 {
			t.Errorf("serve exited with %d", code)
		}
		if !strings.Contains(inst.stderr.String(), want) {
			t.Errorf("start %d: log lacks %q: %s", i, want, inst.stderr)
		}
	}
}
