package api

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dtbase/dtbase"
)

// A fast decoder for the bodies of the ingest endpoints, which carry up to
// 100k readings and timestamps. The generic binder goes through
// encoding/json and reflection for every element; this one walks the bytes
// once. It only accepts what it is sure of: any surprise (an escaped string,
// a duplicate key, a bad element, a name too long) makes it give up, and the
// generic binder then decodes the body and reports the error in the
// original's shape. On every body both accept they agree (FuzzReadingBody
// checks it). The body has already passed json.Valid.

type fastScanner struct {
	b   []byte
	i   int
	bad bool
}

func (s *fastScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *fastScanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *fastScanner) expect(c byte) bool {
	if s.peek() != c {
		s.bad = true
		return false
	}
	s.i++
	return true
}

// plainString reads a string with no escapes and only printable ASCII,
// returning its contents without the quotes.
func (s *fastScanner) plainString() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			s.i = j + 1
			return s.b[start:j], true
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return nil, false
		}
	}
	return nil, false
}

// name reads a string field that is at most max characters long.
func (s *fastScanner) name(max int) (string, bool) {
	if s.peek() != '"' {
		return "", false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			v := s.b[start:j]
			if !utf8.Valid(v) || utf8.RuneCount(v) > max {
				return "", false
			}
			s.i = j + 1
			return string(v), true
		}
		if c == '\\' || c < 0x20 {
			return "", false
		}
	}
	return "", false
}

// token returns the next scalar token (a number or a literal).
func (s *fastScanner) token() []byte {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return s.b[start:s.i]
		}
		s.i++
	}
	return s.b[start:s.i]
}

// skipValue skips any JSON value; the body is known to be valid.
func (s *fastScanner) skipValue() bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		s.skipString()
		return true
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	}
	return len(s.token()) > 0
}

// skipString moves past the string at the cursor.
func (s *fastScanner) skipString() {
	s.i++ // the opening quote
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return
		}
		s.i++
	}
}

// scanList decodes a JSON list at the cursor, each element with elem.
func scanList[T any](s *fastScanner, hint int, elem func() (T, bool)) ([]T, bool) {
	if !s.expect('[') {
		return nil, false
	}
	out := make([]T, 0, hint)
	if s.peek() == ']' {
		s.i++
		return out, true
	}
	for {
		v, ok := elem()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return out, true
		default:
			return nil, false
		}
	}
}

// readings decodes a list of values.
func (s *fastScanner) readings() ([]dtbase.Value, bool) {
	return scanList(s, len(s.b)/24, s.value)
}

// value decodes one value: a string, a number or a boolean.
func (s *fastScanner) value() (dtbase.Value, bool) {
	if s.peek() == '"' {
		str, ok := s.plainString()
		return dtbase.StringValue(string(str)), ok
	}
	raw := s.token()
	if len(raw) == 0 || raw[0] == '[' || raw[0] == '{' {
		return dtbase.Value{}, false
	}
	v, msg := dtbase.ParseValueJSON(raw)
	return v, msg == ""
}

// timestamps decodes a list of timestamps as bindTime does.
func (s *fastScanner) timestamps(hint int) ([]time.Time, bool) {
	return scanList(s, hint, s.timestamp)
}

// timestamp decodes one timestamp: a string or Unix seconds.
func (s *fastScanner) timestamp() (time.Time, bool) {
	if s.peek() == '"' {
		str, ok := s.plainString()
		if !ok {
			return time.Time{}, false
		}
		return dtbase.ParseTime(string(str))
	}
	raw := s.token()
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return time.Time{}, false
	}
	return dtbase.UnixNumber(f)
}

// insertObject decodes one insert-sensor-readings object at the cursor.
func (s *fastScanner) insertObject(req *readingInsertRequest) bool {
	if !s.expect('{') {
		return false
	}
	var seen [5]bool
	if s.peek() == '}' {
		return false // required fields missing: let the binder say so
	}
	for {
		key, ok := s.plainString()
		if !ok || !s.expect(':') {
			return false
		}
		field := -1
		switch string(key) {
		case "measure_name":
			field = 0
			req.MeasureName, ok = s.name(100)
		case "unique_identifier":
			field = 1
			req.UniqueIdentifier, ok = s.name(100)
		case "readings":
			field = 2
			req.Readings, ok = s.readings()
		case "timestamps":
			field = 3
			req.Timestamps, ok = s.timestamps(len(req.Readings))
		case "measure_units":
			field = 4
			if s.peek() == 'n' {
				if tok := s.token(); string(tok) != "null" {
					return false
				}
				req.MeasureUnits = nil
			} else {
				var u string
				u, ok = s.name(100)
				req.MeasureUnits = &u
			}
		default:
			ok = s.skipValue()
		}
		if !ok {
			return false
		}
		if field >= 0 {
			if seen[field] {
				return false // a duplicate key: the binder knows which wins
			}
			seen[field] = true
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return seen[0] && seen[1] && seen[2] && seen[3]
		default:
			return false
		}
	}
}

// decodeReadingInsertFast decodes an insert-sensor-readings body; false
// means "use the generic binder".
func decodeReadingInsertFast(body []byte, req *readingInsertRequest) bool {
	s := &fastScanner{b: body}
	if !s.insertObject(req) {
		return false
	}
	return s.peek() == 0
}

// decodeReadingBatchFast decodes an insert-readings-batch body.
func decodeReadingBatchFast(body []byte, req *readingBatchRequest) bool {
	s := &fastScanner{b: body}
	if !s.expect('{') {
		return false
	}
	key, ok := s.plainString()
	if !ok || string(key) != "series" || !s.expect(':') {
		return false
	}
	req.Series, ok = scanList(s, 0, func() (readingInsertRequest, bool) {
		var one readingInsertRequest
		ok := s.insertObject(&one)
		return one, ok
	})
	if !ok {
		return false
	}
	return s.expect('}') && s.peek() == 0
}
