package client

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dtbase/dtbase"
)

// Value is a reading, a model value or a coordinate: a string, an integer, a
// float or a boolean that keeps its JSON type (291.0 stays a float).
// Build values with dtbase.FloatValue, dtbase.IntValue, dtbase.StringValue
// and dtbase.BoolValue, or with the Floats, Ints, Strings and Bools helpers.
type Value = dtbase.Value

// Datatype is one of "string", "integer", "float", "boolean".
type Datatype = dtbase.Datatype

// Role is one of "admin", "editor", "viewer".
type Role = dtbase.Role

// The datatypes and roles, re-exported so callers need only this package.
const (
	String  = dtbase.String
	Integer = dtbase.Integer
	Float   = dtbase.Float
	Boolean = dtbase.Boolean

	RoleViewer = dtbase.RoleViewer
	RoleEditor = dtbase.RoleEditor
	RoleAdmin  = dtbase.RoleAdmin
)

// valuesOf makes a value of each of xs.
func valuesOf[T any](xs []T, value func(T) Value) []Value {
	out := make([]Value, len(xs))
	for i, x := range xs {
		out[i] = value(x)
	}
	return out
}

// Floats returns float values.
func Floats(fs ...float64) []Value { return valuesOf(fs, dtbase.FloatValue) }

// Ints returns integer values.
func Ints(is ...int64) []Value { return valuesOf(is, dtbase.IntValue) }

// Strings returns string values.
func Strings(ss ...string) []Value { return valuesOf(ss, dtbase.StringValue) }

// Bools returns boolean values.
func Bools(bs ...bool) []Value { return valuesOf(bs, dtbase.BoolValue) }

// Str returns a pointer to s, for nullable string fields.
func Str(s string) *string { return &s }

// TimePtr returns a pointer to t, for optional time fields.
func TimePtr(t time.Time) *time.Time { return &t }

// decodeValue reads one JSON literal as a Value.
func decodeValue(raw json.RawMessage) (Value, error) {
	v, msg := dtbase.ParseValueJSON(raw)
	if msg != "" {
		return v, fmt.Errorf("dtbase client: value %s: %s", raw, msg)
	}
	return v, nil
}

// decodeTime reads a wire timestamp.
func decodeTime(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, fmt.Errorf("dtbase client: timestamp %s: %w", raw, err)
	}
	t, ok := dtbase.ParseTime(s)
	if !ok {
		return time.Time{}, fmt.Errorf("dtbase client: bad timestamp %q", s)
	}
	return t, nil
}

// Reading is one (value, timestamp) point of a sensor series or a model
// run.
type Reading struct {
	Value     Value     `json:"value"`
	Timestamp time.Time `json:"timestamp"`
}

// UnmarshalJSON keeps the value's JSON type.
func (r *Reading) UnmarshalJSON(b []byte) error {
	var raw struct {
		Value     json.RawMessage `json:"value"`
		Timestamp json.RawMessage `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	v, err := decodeValue(raw.Value)
	if err != nil {
		return err
	}
	t, err := decodeTime(raw.Timestamp)
	if err != nil {
		return err
	}
	r.Value, r.Timestamp = v, t
	return nil
}

// MarshalJSON writes the wire form.
func (r Reading) MarshalJSON() ([]byte, error) {
	b := append([]byte(`{"value":`), r.Value.AppendJSON(nil)...)
	b = append(b, `,"timestamp":"`...)
	b = dtbase.AppendTime(b, r.Timestamp)
	return append(b, `"}`...), nil
}

// Coordinates are the values of a location's identifiers, by name.
type Coordinates map[string]Value

// UnmarshalJSON keeps each value's JSON type.
func (c *Coordinates) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out, err := decodeCoordinates(raw)
	if err != nil {
		return err
	}
	*c = out
	return nil
}

// decodeCoordinates reads identifier values, keeping each one's JSON type.
func decodeCoordinates(raw map[string]json.RawMessage) (Coordinates, error) {
	out := make(Coordinates, len(raw))
	for k, r := range raw {
		v, err := decodeValue(r)
		if err != nil {
			return nil, fmt.Errorf("coordinate %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

// wireTimes renders timestamps in the wire format (UTC, microseconds).
type wireTimes []time.Time

func (ts wireTimes) MarshalJSON() ([]byte, error) {
	if ts == nil {
		return []byte("[]"), nil
	}
	b := make([]byte, 0, 2+len(ts)*30)
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = dtbase.AppendTime(b, t)
		b = append(b, '"')
	}
	return append(b, ']'), nil
}

// wireValues renders values with their JSON types; nil is an empty list.
type wireValues []Value

func (vs wireValues) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(vs)*12)
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = v.AppendJSON(b)
	}
	return append(b, ']'), nil
}

// wireTime is an optional timestamp in the wire format.
type wireTime struct{ t *time.Time }

func (w wireTime) MarshalJSON() ([]byte, error) {
	if w.t == nil {
		return []byte("null"), nil
	}
	b := append([]byte{'"'}, dtbase.AppendTime(nil, *w.t)...)
	return append(b, '"'), nil
}
