package dtbase

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a timestamp the way the original's clients send them:
// ISO 8601 with 'T' or a space, optional seconds, up to six fractional digits
// (more are truncated), 'Z' or a ±HH:MM / ±HHMM offset, or a bare date read
// as midnight. A time without an offset is UTC. A numeric string is Unix
// seconds, or milliseconds when it is larger than 2e10. The result is UTC,
// truncated to microseconds.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9' && !looksLikeDate(s)) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, false
		}
		return UnixNumber(f)
	}
	return parseISO(s)
}

// UnixNumber reads a number as Unix seconds, or as milliseconds when its
// magnitude exceeds 2e10 (as pydantic does).
func UnixNumber(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	if math.Abs(f) > 2e10 {
		f /= 1000
	}
	if f < -62135596800 || f >= 253402300800 { // outside years 1–9999, as Python's datetime
		return time.Time{}, false
	}
	us := math.Floor(f*1e6 + 0.5)
	return time.UnixMicro(int64(us)).UTC(), true
}

func looksLikeDate(s string) bool { return len(s) >= 5 && s[4] == '-' }

func parseISO(s string) (time.Time, bool) {
	p := isoParser{s: s}
	year := p.digits(4)
	if !p.expect('-') {
		return time.Time{}, false
	}
	month := p.digits(2)
	if !p.expect('-') {
		return time.Time{}, false
	}
	day := p.digits(2)
	if p.bad {
		return time.Time{}, false
	}
	var hour, minute, sec, micro int
	loc := time.UTC
	if p.more() {
		if c := p.s[p.i]; c != 'T' && c != 't' && c != ' ' {
			return time.Time{}, false
		}
		p.i++
		hour = p.digits(2)
		if !p.expect(':') {
			return time.Time{}, false
		}
		minute = p.digits(2)
		if p.more() && p.s[p.i] == ':' {
			p.i++
			sec = p.digits(2)
			if p.more() && (p.s[p.i] == '.' || p.s[p.i] == ',') {
				p.i++
				start := p.i
				for p.more() && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
					p.i++
				}
				frac := p.s[start:p.i]
				if frac == "" {
					return time.Time{}, false
				}
				if len(frac) > 6 {
					frac = frac[:6]
				}
				frac += strings.Repeat("0", 6-len(frac))
				micro, _ = strconv.Atoi(frac)
			}
		}
		if p.more() {
			switch c := p.s[p.i]; c {
			case 'Z', 'z':
				p.i++
			case '+', '-':
				p.i++
				oh := p.digits(2)
				if p.more() && p.s[p.i] == ':' {
					p.i++
				}
				om := p.digits(2)
				if p.bad || oh > 23 || om > 59 {
					return time.Time{}, false
				}
				off := oh*3600 + om*60
				if c == '-' {
					off = -off
				}
				loc = time.FixedZone("", off)
			default:
				return time.Time{}, false
			}
		}
	}
	if p.bad || p.more() || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, loc)
	if t.Day() != day { // 31 February and friends
		return time.Time{}, false
	}
	return t.UTC(), true
}

type isoParser struct {
	s   string
	i   int
	bad bool
}

func (p *isoParser) more() bool { return p.i < len(p.s) }

func (p *isoParser) digits(n int) int {
	if p.bad || p.i+n > len(p.s) {
		p.bad = true
		return 0
	}
	v := 0
	for _, c := range []byte(p.s[p.i : p.i+n]) {
		if c < '0' || c > '9' {
			p.bad = true
			return 0
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v
}

func (p *isoParser) expect(c byte) bool {
	if p.bad || !p.more() || p.s[p.i] != c {
		p.bad = true
		return false
	}
	p.i++
	return true
}

// AppendTime appends t in the wire format: RFC 3339 in UTC with 'Z', with six
// fractional digits when the microseconds are non-zero and none otherwise.
// Years 0–9999 are written digit by digit, without the cost of a layout.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		if t.Nanosecond()/1000 != 0 {
			return t.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
		}
		return t.AppendFormat(b, "2006-01-02T15:04:05Z07:00")
	}
	hour, minute, sec := t.Clock()
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.', byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
			byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10))
	}
	return append(b, 'Z')
}

// FormatTime returns t in the wire format of AppendTime.
func FormatTime(t time.Time) string { return string(AppendTime(nil, t)) }

// Time is a timestamp that marshals in the wire format.
type Time time.Time

// MarshalJSON writes the wire format.
func (t Time) MarshalJSON() ([]byte, error) {
	b := append([]byte{'"'}, AppendTime(nil, time.Time(t))...)
	return append(b, '"'), nil
}

// UnmarshalJSON reads any timestamp form ParseTime accepts.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	v, ok := ParseTime(s)
	if !ok {
		return fmt.Errorf("invalid timestamp %q", s)
	}
	*t = Time(v)
	return nil
}
