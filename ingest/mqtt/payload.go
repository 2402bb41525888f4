package mqtt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/dtbase/dtbase"
)

// point is one reading decoded from a payload.
type point struct {
	value   dtbase.Value
	ts      time.Time
	stamped bool // no timestamp in the payload: stamped on arrival
}

// maxPointsPerMessage bounds an array payload, so one message cannot make
// a batch arbitrarily large.
const maxPointsPerMessage = 10000

// decodePayload reads a payload: a JSON literal (number, boolean or
// string), an object {"value": v, "timestamp": t} whose timestamp is
// optional, or an array of such objects. Readings without a timestamp get
// now. A payload that is not JSON is rejected (a string value is sent
// quoted). Numbers keep their lexical kind: 21 is an integer, 21.0 a float;
// a float measure accepts both.
func decodePayload(b []byte, now time.Time) ([]point, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("empty payload")
	}
	switch b[0] {
	case '{':
		p, err := decodeObject(b, now)
		if err != nil {
			return nil, err
		}
		return []point{p}, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("invalid JSON array: %v", err)
		}
		if len(items) == 0 {
			return nil, fmt.Errorf("empty array")
		}
		if len(items) > maxPointsPerMessage {
			return nil, fmt.Errorf("array of %d readings exceeds the limit of %d", len(items), maxPointsPerMessage)
		}
		out := make([]point, 0, len(items))
		for i, it := range items {
			p, err := decodeObject(it, now)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out = append(out, p)
		}
		return out, nil
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("not JSON: %s", quoteShort(b))
	}
	v, msg := dtbase.ParseValueJSON(b)
	if msg != "" {
		return nil, fmt.Errorf("%s", msg)
	}
	return []point{{value: v, ts: now, stamped: true}}, nil
}

func decodeObject(b []byte, now time.Time) (point, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return point{}, fmt.Errorf("invalid JSON object: %v", err)
	}
	raw, ok := obj["value"]
	if !ok {
		return point{}, fmt.Errorf(`object has no "value"`)
	}
	v, msg := dtbase.ParseValueJSON(raw)
	if msg != "" {
		return point{}, fmt.Errorf("value: %s", msg)
	}
	p := point{value: v, ts: now, stamped: true}
	if rawTS, ok := obj["timestamp"]; ok && string(rawTS) != "null" {
		t, err := decodeTimestamp(rawTS)
		if err != nil {
			return point{}, err
		}
		p.ts, p.stamped = t, false
	}
	return p, nil
}

// decodeTimestamp reads an ISO 8601 string or a number of Unix seconds (or
// milliseconds, when very large), as the HTTP API does.
func decodeTimestamp(raw json.RawMessage) (time.Time, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, fmt.Errorf("timestamp: %v", err)
		}
		t, ok := dtbase.ParseTime(s)
		if !ok {
			return time.Time{}, fmt.Errorf("timestamp: cannot parse %q", s)
		}
		return t, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp: want a string or a number, got %s", quoteShort(raw))
	}
	t, ok := dtbase.UnixNumber(f)
	if !ok {
		return time.Time{}, fmt.Errorf("timestamp: %s out of range", raw)
	}
	return t, nil
}

func quoteShort(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "…"
	}
	return strconv.Quote(string(b))
}
