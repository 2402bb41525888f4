package app

import (
	"runtime/debug"
	"strings"
)

// Version and Commit may be set at build time:
//
//	go build -ldflags "-X github.com/dtbase/dtbase/app.Version=v1.2.0 -X github.com/dtbase/dtbase/app.Commit=$(git rev-parse HEAD)" ./cmd/dtbase
//
// Unset, they are read from the build information Go stamps into a binary
// built in a git checkout (the module version and vcs.revision).
var (
	Version = "dev"
	Commit  = ""
)

// buildDetails is the commit's time and whether the checkout had changes.
var buildDetails []string

func init() {
	bi, _ := debug.ReadBuildInfo()
	Version, Commit, buildDetails = stamp(Version, Commit, bi)
}

// stamp fills in what the linker flags left unset from the build
// information bi (nil when there is none).
func stamp(version, commit string, bi *debug.BuildInfo) (string, string, []string) {
	if bi == nil {
		return version, commit, nil
	}
	if v := bi.Main.Version; version == "dev" && v != "" && v != "(devel)" {
		version = v
	}
	var details []string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if commit == "" {
				commit = s.Value
			}
		case "vcs.time":
			details = append(details, s.Value)
		case "vcs.modified":
			if s.Value == "true" {
				details = append(details, "modified")
			}
		}
	}
	return version, commit, details
}

// versionLine is what dtbase version prints.
func versionLine() string {
	line := "dtbase " + Version
	if Commit == "" {
		return line
	}
	return line + " (commit " + strings.Join(append([]string{Commit}, buildDetails...), ", ") + ")"
}
