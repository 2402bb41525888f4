package app

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestRetentionSettings(t *testing.T) {
	for _, c := range []struct {
		env             map[string]string
		reading, rollup int
		err             string
	}{
		{nil, 0, 0, ""},
		{map[string]string{"DT_READING_RETENTION_DAYS": "30", "DT_ROLLUP_RETENTION_DAYS": " 3650 "}, 30, 3650, ""},
		{map[string]string{"DT_READING_RETENTION_DAYS": "-1"}, 0, 0, "DT_READING_RETENTION_DAYS"},
		{map[string]string{"DT_ROLLUP_RETENTION_DAYS": "a year"}, 0, 0, "DT_ROLLUP_RETENTION_DAYS"},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		load := bindConfig(fs, func(k string) (string, bool) { v, ok := c.env[k]; return v, ok },
			[]string{"DT_READING_RETENTION_DAYS", "DT_ROLLUP_RETENTION_DAYS"})
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		cfg, err := load()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: err %v, want one naming %s", c.env, err, c.err)
			}
			continue
		}
		if err != nil || cfg.Retention.ReadingDays != c.reading || cfg.Retention.RollupDays != c.rollup {
			t.Errorf("%v: %+v %v", c.env, cfg.Retention, err)
		}
	}
}
