package app

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStamp(t *testing.T) {
	git := &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261204231151-30a0413352db+dirty"}, Settings: []debug.BuildSetting{
		{Key: "-compiler", Value: "gc"}, {Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "30a0413352db739687ad1b084449e00279ed8ca7"},
		{Key: "vcs.time", Value: "2026-12-04T23:11:51Z"}, {Key: "vcs.modified", Value: "true"}}}
	devel := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}
	tests := []struct {
		name            string
		version, commit string
		bi              *debug.BuildInfo
		wantV, wantC    string
		wantDetails     []string
	}{
		{"no build info", "dev", "", nil, "dev", "", nil},
		{"a build outside git", "dev", "", devel, "dev", "", nil},
		{"a build in a git checkout", "dev", "", git, git.Main.Version, "30a0413352db739687ad1b084449e00279ed8ca7", []string{"2026-12-04T23:11:51Z", "modified"}},
		{"linker flags win", "v1.2.0", "abc123", git, "v1.2.0", "abc123", []string{"2026-12-04T23:11:51Z", "modified"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, c, d := stamp(tt.version, tt.commit, tt.bi)
			if v != tt.wantV || c != tt.wantC || !cmp.Equal(d, tt.wantDetails) {
				t.Errorf("stamp = %q, %q, %q; want %q, %q, %q", v, c, d, tt.wantV, tt.wantC, tt.wantDetails)
			}
		})
	}
	t.Run("version command", func(t *testing.T) {
		defer func(v, c string, d []string) { Version, Commit, buildDetails = v, c, d }(Version, Commit, buildDetails)
		Version, Commit, buildDetails = stamp("dev", "", git)
		code, out := run(t, nil, "", "version")
		if want := "dtbase " + git.Main.Version + " (commit 30a0413352db739687ad1b084449e00279ed8ca7, 2026-12-04T23:11:51Z, modified)\n"; code != 0 || out != want {
			t.Errorf("exit %d, %q; want %q", code, out, want)
		}
	})
}
