package dtbase

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Datatype is the declared type of a measure or a location identifier.
type Datatype string

// The four datatypes of the original.
const (
	String  Datatype = "string"
	Integer Datatype = "integer"
	Float   Datatype = "float"
	Boolean Datatype = "boolean"
)

// Datatypes lists the valid datatypes in a stable order.
var Datatypes = []Datatype{String, Integer, Float, Boolean}

// Valid reports whether d is one of the four datatypes.
func (d Datatype) Valid() bool {
	switch d {
	case String, Integer, Float, Boolean:
		return true
	}
	return false
}

// Kind is the JSON type a value arrived with. Numbers are classified by their
// lexical form: a literal with '.' or an exponent is a float.
type Kind uint8

// Value kinds.
const (
	KindString Kind = iota + 1
	KindInteger
	KindFloat
	KindBoolean
)

// Value is a reading, a model value or a coordinate: one of a string, a
// 64-bit integer, a float or a boolean, keeping the JSON type it was sent as.
type Value struct {
	Kind Kind
	S    string
	I    int64
	F    float64
	B    bool
}

// StringValue, IntValue, FloatValue and BoolValue build values.
func StringValue(s string) Value { return Value{Kind: KindString, S: s} }

// IntValue returns an integer value.
func IntValue(i int64) Value { return Value{Kind: KindInteger, I: i} }

// FloatValue returns a float value.
func FloatValue(f float64) Value { return Value{Kind: KindFloat, F: f} }

// BoolValue returns a boolean value.
func BoolValue(b bool) Value { return Value{Kind: KindBoolean, B: b} }

// Coerce checks v against datatype d and returns it in that datatype's
// representation. A float measure accepts integer literals (stored as
// floats); an integer measure rejects booleans and values outside 32 bits,
// the range of the original's integer columns. The returned message says
// what is wrong and is empty on success.
func (v Value) Coerce(d Datatype) (Value, string) {
	switch d {
	case String:
		if v.Kind == KindString {
			return v, ""
		}
	case Integer:
		if v.Kind == KindInteger {
			if v.I < math.MinInt32 || v.I > math.MaxInt32 {
				return v, "integer out of the 32-bit range"
			}
			return v, ""
		}
	case Float:
		switch v.Kind {
		case KindFloat:
			return v, ""
		case KindInteger:
			return FloatValue(float64(v.I)), ""
		}
	case Boolean:
		if v.Kind == KindBoolean {
			return v, ""
		}
	default:
		return v, "unknown datatype " + strconv.Quote(string(d))
	}
	return v, "expected " + article(string(d)) + " value, got " + article(v.Kind.String())
}

// article prefixes a datatype or kind name with "a" or "an".
func article(name string) string {
	if name == "integer" {
		return "an " + name
	}
	return "a " + name
}

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInteger:
		return "integer"
	case KindFloat:
		return "float"
	case KindBoolean:
		return "boolean"
	}
	return "invalid"
}

// ParseValueJSON classifies one JSON literal. It rejects null, arrays,
// objects, NaN and infinities; the returned message says why.
func ParseValueJSON(raw []byte) (Value, string) {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return Value{}, "value is empty"
	}
	switch s[0] {
	case '"':
		if plainJSONString(s) {
			return StringValue(s[1 : len(s)-1]), ""
		}
		var out string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return Value{}, "invalid string"
		}
		return StringValue(out), ""
	case 't':
		if s == "true" {
			return BoolValue(true), ""
		}
	case 'f':
		if s == "false" {
			return BoolValue(false), ""
		}
	case 'n':
		return Value{}, "value must not be null"
	case '[', '{':
		return Value{}, "value must be a string, number or boolean"
	}
	return ParseNumber(s)
}

// plainJSONString reports whether s is a quoted JSON string that needs no
// unescaping: the fast path of ParseValueJSON.
func plainJSONString(s string) bool {
	if len(s) < 2 || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// ParseNumber classifies a JSON number literal by its lexical form.
func ParseNumber(s string) (Value, string) {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return Value{}, "number out of range or not finite"
		}
		return FloatValue(f), ""
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return Value{}, "integer out of range"
		}
		return Value{}, "invalid number " + strconv.Quote(s)
	}
	return IntValue(i), ""
}

// MarshalJSON writes the value with its kind visible: floats always show a
// fraction or exponent, as Python's json does, so a client reads back a
// float.
func (v Value) MarshalJSON() ([]byte, error) {
	return v.AppendJSON(nil), nil
}

// AppendJSON appends the JSON form of v to b.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.Kind {
	case KindString:
		return appendJSONString(b, v.S)
	case KindInteger:
		return strconv.AppendInt(b, v.I, 10)
	case KindFloat:
		return AppendFloat(b, v.F)
	case KindBoolean:
		return strconv.AppendBool(b, v.B)
	}
	return append(b, "null"...)
}

// Float reads a numeric or boolean value as a float, booleans as 0 and 1,
// as a plot draws them; ok is false for a string or no value.
func (v Value) Float() (f float64, ok bool) {
	if v.Kind == KindBoolean {
		if v.B {
			return 1, true
		}
		return 0, true
	}
	return v.Number()
}

// Number reads a float or integer value as a float, as statistics and
// models use them; ok is false for any other value.
func (v Value) Number() (f float64, ok bool) {
	switch v.Kind {
	case KindFloat:
		return v.F, true
	case KindInteger:
		return float64(v.I), true
	}
	return 0, false
}

// String renders the value as text, as CSV output uses it.
func (v Value) String() string {
	if v.Kind == KindString {
		return v.S
	}
	return string(v.AppendJSON(nil))
}

// AppendFloat appends f as Python's repr writes it: the shortest digits that
// round-trip, positional for exponents in [-4, 16), scientific otherwise, and
// always recognisable as a float ("291.0", "1e+16", "1e-05"). It does not
// allocate: a 100k-point read writes 100k of these.
func AppendFloat(b []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if a := math.Abs(f); a < 1e-4 || a >= 1e16 {
		// Go's shortest 'e' form is Python's: "1e+16", "1.5e-07".
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, c := range b[n:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

// appendJSONString appends s as a JSON string without HTML escaping, as the
// original writes non-ASCII and markup characters verbatim.
func appendJSONString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
}
