package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// This file binds request bodies the way the original's FastAPI/pydantic
// stack does, so that clients see the same acceptance and the same 422
// shapes: str fields reject numbers, int fields accept "5" and 5.0, a
// nullable field without a default is still required, extra keys are
// ignored. Struct tags drive it:
//
//	json:"name"          the key
//	dt:"optional"        the key may be absent (the zero value, or the
//	                     pointer left nil, is the default)
//	dt:"max=name"        a string's (or each string of a list's) maximum
//	                     length in characters: the dtbase.TextLimits entry
//	dt:"range=timeout"   a number's bounds, which the handler checks, for
//	                     /openapi.json: the numberRanges entry
//
// A pointer field accepts null. Every other field is required and non-null.

// JSONObject is any JSON object, kept byte for byte.
type JSONObject json.RawMessage

// MarshalJSON writes the object as received.
func (o JSONObject) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return []byte("null"), nil
	}
	return o, nil
}

// JSONValue is any JSON value, kept byte for byte.
type JSONValue json.RawMessage

// MarshalJSON writes the value as received.
func (v JSONValue) MarshalJSON() ([]byte, error) {
	if len(v) == 0 {
		return []byte("null"), nil
	}
	return v, nil
}

// setGiven sets *dst to *opt when an optional field was given (opt is not
// nil); otherwise *dst keeps its default.
func setGiven[T any](dst, opt *T) {
	if opt != nil {
		*dst = *opt
	}
}

// fieldError is one entry of a 422 body, in the original's shape.
type fieldError struct {
	Type  string          `json:"type"`
	Loc   []any           `json:"loc"`
	Msg   string          `json:"msg"`
	Input json.RawMessage `json:"input"`
	Ctx   map[string]any  `json:"ctx,omitempty"`
}

// maxErrors bounds a 422 body: a 100k-element list of wrong values reports
// its first errors, not all of them.
const maxErrors = 20

type binder struct {
	errs []fieldError
}

func (b *binder) fail(loc []any, typ, msg string, input []byte, ctx map[string]any) {
	if len(b.errs) >= maxErrors {
		return
	}
	if len(input) == 0 {
		input = []byte("null")
	}
	if len(input) > 200 { // echo a prefix of huge inputs, not the whole thing
		input, _ = json.Marshal(string(input[:200]) + "…")
	}
	b.errs = append(b.errs, fieldError{Type: typ, Loc: append([]any(nil), loc...), Msg: msg, Input: input, Ctx: ctx})
}

// bindBody decodes a JSON body into dst, a pointer to a struct. It returns
// the validation errors, none on success.
func bindBody(body []byte, dst any) []fieldError {
	b := &binder{}
	raw := bytes.TrimSpace(body)
	if len(raw) == 0 || string(raw) == "null" {
		b.fail([]any{"body"}, "missing", "Field required", nil, nil)
		return b.errs
	}
	b.bind([]any{"body"}, raw, reflect.ValueOf(dst).Elem())
	return b.errs
}

var (
	timeType   = reflect.TypeOf(time.Time{})
	valueType  = reflect.TypeOf(dtbase.Value{})
	objectType = reflect.TypeOf(JSONObject{})
	anyType    = reflect.TypeOf(JSONValue{})
)

func (b *binder) bind(loc []any, raw []byte, v reflect.Value) {
	if isNull(raw) {
		if v.Kind() == reflect.Pointer {
			v.SetZero()
			return
		}
		if v.Type() == anyType {
			v.SetBytes(append([]byte(nil), raw...))
			return
		}
		b.fail(loc, typeErrorFor(v.Type()), typeMessageFor(v.Type()), raw, nil)
		return
	}
	switch v.Type() {
	case timeType:
		t, ok := bindTime(raw)
		if !ok {
			b.fail(loc, "datetime_parsing", "Input should be a valid datetime", raw, nil)
			return
		}
		v.Set(reflect.ValueOf(t))
		return
	case valueType:
		val, msg := dtbase.ParseValueJSON(raw)
		if msg != "" {
			b.fail(loc, "value_type", "Input should be a string, a finite number or a boolean: "+msg, raw, nil)
			return
		}
		if val.Kind == dtbase.KindString && hasNUL(val.S) {
			b.fail(loc, "value_error", msgNUL, raw, nil)
			return
		}
		v.Set(reflect.ValueOf(val))
		return
	case objectType:
		if raw[0] != '{' {
			b.fail(loc, "dict_type", "Input should be a valid dictionary", raw, nil)
			return
		}
		v.SetBytes(append([]byte(nil), raw...))
		return
	case anyType:
		v.SetBytes(append([]byte(nil), raw...))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		b.bind(loc, raw, nv.Elem())
		v.Set(nv)
	case reflect.Struct:
		b.bindStruct(loc, raw, v)
	case reflect.Slice:
		b.bindSlice(loc, raw, v)
	case reflect.Map:
		b.bindMap(loc, raw, v)
	case reflect.String:
		if raw[0] != '"' {
			b.fail(loc, "string_type", "Input should be a valid string", raw, nil)
			return
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			b.fail(loc, "string_type", "Input should be a valid string", raw, nil)
			return
		}
		if hasNUL(s) {
			b.fail(loc, "value_error", msgNUL, raw, nil)
			return
		}
		v.SetString(s)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, typ, msg := laxInt(raw)
		if typ != "" {
			b.fail(loc, typ, msg, raw, nil)
			return
		}
		if v.OverflowInt(i) {
			b.fail(loc, "int_parsing", "Input should be a valid integer, number out of range", raw, nil)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, ok := laxFloat(raw)
		if !ok {
			b.fail(loc, "float_parsing", "Input should be a valid number", raw, nil)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		x, ok := laxBool(raw)
		if !ok {
			b.fail(loc, "bool_parsing", "Input should be a valid boolean", raw, nil)
			return
		}
		v.SetBool(x)
	default:
		panic(fmt.Sprintf("api: cannot bind %s", v.Type()))
	}
}

func (b *binder) bindStruct(loc []any, raw []byte, v reflect.Value) {
	var fields map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		b.fail(loc, "model_attributes_type", "Input should be a valid dictionary or object to extract fields from", raw, nil)
		return
	}
	for _, f := range wireFields(v.Type()) {
		opts := parseDTTag(f.Tag.Get("dt"))
		floc := append(loc, f.key)
		fraw, ok := fields[f.key]
		if !ok {
			if !opts.optional {
				b.fail(floc, "missing", "Field required", raw, nil)
			}
			continue
		}
		fv := v.FieldByIndex(f.Index)
		b.bind(floc, fraw, fv)
		if opts.max > 0 {
			b.checkLength(floc, fraw, fv, opts.max)
		}
	}
}

// checkLength reports a string over max characters in pydantic's words,
// with loc naming the field and ctx the limit.
func (b *binder) checkLength(loc []any, raw []byte, v reflect.Value, max int) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		if dtbase.TooLong(v.String(), max) {
			b.fail(loc, "string_too_long", fmt.Sprintf("String should have at most %d characters", max), raw, map[string]any{"max_length": max})
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return
		}
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil || len(elems) != v.Len() {
			return
		}
		for i := 0; i < v.Len(); i++ {
			b.checkLength(append(loc, i), elems[i], v.Index(i), max)
		}
	}
}

func (b *binder) bindSlice(loc []any, raw []byte, v reflect.Value) {
	if raw[0] != '[' {
		b.fail(loc, "list_type", "Input should be a valid list", raw, nil)
		return
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		b.fail(loc, "list_type", "Input should be a valid list", raw, nil)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
	// Fast paths for the big lists of readings and timestamps.
	switch out := s.Interface().(type) {
	case []dtbase.Value:
		for i, e := range elems {
			val, msg := dtbase.ParseValueJSON(e)
			if msg != "" {
				b.fail(append(loc, i), "value_type", "Input should be a string, a finite number or a boolean: "+msg, e, nil)
				continue
			}
			out[i] = val
		}
	case []time.Time:
		for i, e := range elems {
			t, ok := bindTime(e)
			if !ok {
				b.fail(append(loc, i), "datetime_parsing", "Input should be a valid datetime", e, nil)
				continue
			}
			out[i] = t
		}
	default:
		for i, e := range elems {
			b.bind(append(loc, i), e, s.Index(i))
		}
	}
	v.Set(s)
}

func (b *binder) bindMap(loc []any, raw []byte, v reflect.Value) {
	var fields map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		b.fail(loc, "dict_type", "Input should be a valid dictionary", raw, nil)
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(fields))
	for k, fraw := range fields {
		if hasNUL(k) {
			b.fail(append(loc, k), "value_error", "Keys "+strings.ToLower(msgNUL[:1])+msgNUL[1:], fraw, nil)
			continue
		}
		ev := reflect.New(v.Type().Elem()).Elem()
		b.bind(append(loc, k), fraw, ev)
		m.SetMapIndex(reflect.ValueOf(k), ev)
	}
	v.Set(m)
}

// msgNUL rejects text with a NUL character at binding, on both engines
// alike: PostgreSQL cannot store one (SQLSTATE 22021), so such a name could
// never be found and such a row never written. The big lists of readings
// take their own path and are checked where they are stored.
const msgNUL = "String should not contain NUL characters"

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// numberRanges are the bounds handlers check on numbers, named for
// dt:"range=…" tags so that /openapi.json states the same constants.
var numberRanges = map[string]map[string]any{
	"timeout":         {"minimum": 1, "maximum": maxTimeoutSeconds},
	"timeout_or_zero": {"minimum": 0, "maximum": maxTimeoutSeconds}, // 0 restores the default
	"max_points":      {"minimum": 2, "maximum": maxDownsamplePoints},
	"non_negative":    {"minimum": 0},
	"retention_days":  {"minimum": 0, "maximum": dtbase.MaxRetentionDays},
}

// wireField is a struct field that has a JSON key.
type wireField struct {
	reflect.StructField
	key string
}

// wireFields lists the fields of struct type t that have a JSON key, in
// order. As in encoding/json, the fields of an embedded struct without a
// key of its own stand in its place, so requests can share a group of
// fields.
func wireFields(t reflect.Type) []wireField {
	var out []wireField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && key == "" && f.Type.Kind() == reflect.Struct {
			for _, inner := range wireFields(f.Type) {
				inner.Index = append([]int{i}, inner.Index...)
				out = append(out, inner)
			}
			continue
		}
		if key != "" && key != "-" && f.IsExported() {
			out = append(out, wireField{f, key})
		}
	}
	return out
}

type dtTag struct {
	optional bool
	max      int
	rng      map[string]any // minimum and maximum of a number
}

func parseDTTag(tag string) dtTag {
	var t dtTag
	for _, part := range strings.Split(tag, ",") {
		switch {
		case part == "optional":
			t.optional = true
		case strings.HasPrefix(part, "max="):
			name := strings.TrimPrefix(part, "max=")
			max, ok := dtbase.TextLimits[name]
			if !ok {
				panic("api: unknown text limit " + name) // a typo in a struct tag; the OpenAPI test finds it
			}
			t.max = max
		case strings.HasPrefix(part, "range="):
			name := strings.TrimPrefix(part, "range=")
			r, ok := numberRanges[name]
			if !ok {
				panic("api: unknown number range " + name)
			}
			t.rng = r
		}
	}
	return t
}

func isNull(raw []byte) bool { return string(raw) == "null" }

func typeErrorFor(t reflect.Type) string {
	switch t {
	case timeType:
		return "datetime_type"
	case valueType:
		return "value_type"
	case objectType:
		return "dict_type"
	}
	switch t.Kind() {
	case reflect.String:
		return "string_type"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "int_type"
	case reflect.Float64:
		return "float_type"
	case reflect.Bool:
		return "bool_type"
	case reflect.Slice:
		return "list_type"
	case reflect.Map:
		return "dict_type"
	}
	return "model_attributes_type"
}

func typeMessageFor(t reflect.Type) string {
	switch typeErrorFor(t) {
	case "datetime_type":
		return "Input should be a valid datetime"
	case "value_type":
		return "Input should be a string, a finite number or a boolean"
	case "string_type":
		return "Input should be a valid string"
	case "int_type":
		return "Input should be a valid integer"
	case "float_type":
		return "Input should be a valid number"
	case "bool_type":
		return "Input should be a valid boolean"
	case "list_type":
		return "Input should be a valid list"
	case "dict_type":
		return "Input should be a valid dictionary"
	}
	return "Input should be a valid dictionary or object to extract fields from"
}

// laxInt reads an integer as pydantic's lax mode does: integer literals,
// floats with no fraction, numeric strings, and booleans.
func laxInt(raw []byte) (int64, string, string) {
	s := string(raw)
	switch {
	case s == "true":
		return 1, "", ""
	case s == "false":
		return 0, "", ""
	case raw[0] == '"':
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return 0, "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
		}
		s = strings.TrimSpace(str)
		if s == "" {
			return 0, "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
		}
	case raw[0] == '[' || raw[0] == '{':
		return 0, "int_type", "Input should be a valid integer"
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, "", ""
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
	}
	if f != math.Trunc(f) {
		return 0, "int_from_float", "Input should be a valid integer, got a number with a fractional part"
	}
	if f > math.MaxInt64 || f < math.MinInt64 {
		return 0, "int_parsing", "Input should be a valid integer, number out of range"
	}
	return int64(f), "", ""
}

func laxFloat(raw []byte) (float64, bool) {
	s := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

func laxBool(raw []byte) (bool, bool) {
	s := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return false, false
		}
		s = strings.ToLower(strings.TrimSpace(s))
	}
	switch s {
	case "true", "1", "yes", "on", "t", "y", "1.0":
		return true, true
	case "false", "0", "no", "off", "f", "n", "0.0":
		return false, true
	}
	return false, false
}

func bindTime(raw []byte) (time.Time, bool) {
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return time.Time{}, false
		}
		return dtbase.ParseTime(s)
	}
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return time.Time{}, false
		}
		return dtbase.UnixNumber(f)
	}
	return time.Time{}, false
}
