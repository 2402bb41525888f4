package dtbase

import (
	"strings"
	"testing"
	"time"
)

// TestParseTime covers every form the original's clients send (ParseTime,
// docs/compatibility.md).
func TestParseTime(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, us int) time.Time {
		return time.Date(y, mo, d, h, mi, s, us*1000, time.UTC)
	}
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-01-05T15:00:00Z", utc(2024, 1, 5, 15, 0, 0, 0), true},
		{"2024-01-05t15:00:00z", utc(2024, 1, 5, 15, 0, 0, 0), true},
		{"2024-01-05 15:00:00", utc(2024, 1, 5, 15, 0, 0, 0), true}, // naive is UTC
		{"2024-01-05T15:00", utc(2024, 1, 5, 15, 0, 0, 0), true},    // optional seconds
		{"2024-01-05T15:00:00.5", utc(2024, 1, 5, 15, 0, 0, 500000), true},
		{"2024-01-05T15:00:00.123456", utc(2024, 1, 5, 15, 0, 0, 123456), true},
		{"2024-01-05T15:00:00.1234567891", utc(2024, 1, 5, 15, 0, 0, 123456), true}, // truncated
		{"2024-01-05T15:00:00,25Z", utc(2024, 1, 5, 15, 0, 0, 250000), true},
		{"2024-01-05T15:00:00+01:00", utc(2024, 1, 5, 14, 0, 0, 0), true},
		{"2024-01-05T15:00:00-0230", utc(2024, 1, 5, 17, 30, 0, 0), true},
		{"2024-01-05T15:00+05:30", utc(2024, 1, 5, 9, 30, 0, 0), true},
		{"2024-01-05", utc(2024, 1, 5, 0, 0, 0, 0), true}, // a bare date is midnight
		{"  2024-01-05T00:00:00Z  ", utc(2024, 1, 5, 0, 0, 0, 0), true},
		{"1704466800", utc(2024, 1, 5, 15, 0, 0, 0), true},         // Unix seconds
		{"1704466800.25", utc(2024, 1, 5, 15, 0, 0, 250000), true}, // fractional seconds
		{"1704466800000", utc(2024, 1, 5, 15, 0, 0, 0), true},      // milliseconds when large
		{"-86400", utc(1969, 12, 31, 0, 0, 0, 0), true},
		{"0", utc(1970, 1, 1, 0, 0, 0, 0), true},
		{"2024-02-29", utc(2024, 2, 29, 0, 0, 0, 0), true},
		{"9999-12-31T23:59:59.999999Z", utc(9999, 12, 31, 23, 59, 59, 999999), true},

		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2023-02-29", time.Time{}, false},
		{"2024-13-01", time.Time{}, false},
		{"2024-01-32", time.Time{}, false},
		{"2024-01-05T24:00:00", time.Time{}, false},
		{"2024-01-05T15:60", time.Time{}, false},
		{"2024-01-05T15:00:61", time.Time{}, false},
		{"2024-01-05T15", time.Time{}, false},
		{"2024-01-05T15:00:00.", time.Time{}, false},
		{"2024-01-05T15:00:00+25:00", time.Time{}, false},
		{"2024-01-05T15:00:00 UTC", time.Time{}, false},
		{"2024-1-5", time.Time{}, false},
		{"NaN", time.Time{}, false},
		{"1e300", time.Time{}, false}, // beyond year 9999
		{"-1e15", time.Time{}, false}, // milliseconds before year 1
		{"2024-01-05T15:00:00Zjunk", time.Time{}, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, ok := ParseTime(c.in)
			if ok != c.ok || !got.Equal(c.want) {
				t.Fatalf("ParseTime(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("location %v, want UTC", got.Location())
			}
		})
	}
}

func TestAppendTime(t *testing.T) {
	for _, c := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2024, 1, 5, 15, 0, 0, 0, time.UTC), "2024-01-05T15:00:00Z"},
		{time.Date(2024, 2, 12, 17, 0, 0, 123456789, time.UTC), "2024-02-12T17:00:00.123456Z"},
		{time.Date(2024, 2, 12, 17, 0, 0, 999, time.UTC), "2024-02-12T17:00:00Z"}, // below a microsecond
		{time.Date(2024, 2, 12, 18, 0, 0, 1000, time.FixedZone("", 3600)), "2024-02-12T17:00:00.000001Z"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00Z"},
	} {
		if got := FormatTime(c.in); got != c.want {
			t.Errorf("FormatTime(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzParseTime checks that ParseTime never panics, returns UTC
// microsecond times in years 1–9999, and that what it accepts survives the
// wire format: AppendTime's output parses back to the same instant.
//
//	go test -run='^$' -fuzz=FuzzParseTime -fuzztime=10s .
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-01-05T15:00:00Z", "2024-01-05 15:00:00.123456+01:00", "2024-01-05",
		"1704466800", "1704466800000.5", "-1", "2024-01-05T15:00", "2024-01-05T15:00:00-0230", "9999-12-31T23:59:59Z",
		"0001-01-01", "1e10", "+5", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseTime(s)
		if !ok {
			return
		}
		if got.Location() != time.UTC || got.Nanosecond()%1000 != 0 {
			t.Fatalf("ParseTime(%q) = %v: not UTC microseconds", s, got)
		}
		if y := got.Year(); y < 1 || y > 9999 {
			// ISO input with an offset may step just outside (0000-12-31
			// or 10000-01-01); numbers may not.
			if c := strings.TrimSpace(s); c != "" && (c[0] < '0' || c[0] > '9' || !looksLikeDate(c)) {
				t.Fatalf("ParseTime(%q) = year %d", s, y)
			}
			return
		}
		wire := FormatTime(got)
		back, ok := ParseTime(wire)
		if !ok || !back.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v; its wire form %q parses to %v, %v", s, got, wire, back, ok)
		}
		if got.Year() <= 9999 && got.Year() >= 0 {
			if old := legacyAppendTime(got); old != wire {
				t.Fatalf("AppendTime(%v) = %q, layout-based form %q", got, wire, old)
			}
		}
	})
}

// legacyAppendTime is AppendTime written with a layout, the reference for
// the hand-written fast path.
func legacyAppendTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000Z07:00")
	}
	return t.Format("2006-01-02T15:04:05Z07:00")
}
